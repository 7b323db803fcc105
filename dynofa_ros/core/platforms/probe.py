"""
What the kernel really offers for a profile's domains under a sysfs root.

`probe_domains` (the hardware node) reads each domain's available frequencies and governors and
the settings found at start; `planning_domains` (the manager, the simulator) returns the domains
with a frequency table to plan over, discovering cpufreq policies the same way when the profile
asks for it (docs/platform_profiles.md, "Discovered domains").
"""

from dataclasses import dataclass, replace
import glob
import os

from dynofa_ros.core.hardware.sysfs import Sysfs, SysfsError
from dynofa_ros.core.platforms.profiles import Domain, HZ_PER_UNIT, ProfileError


@dataclass
class ProbedDomain:
    """A DVFS domain as found in sysfs at start: what it accepts and what it was set to."""

    spec: Domain
    available_khz: tuple
    governors: tuple
    raw_by_khz: dict           # kHz -> the exact text sysfs lists (Hz for devfreq)
    original: dict             # attr -> text read at start
    frequency_source: str      # 'sysfs' or 'profile'
    writable: bool = False

    @property
    def name(self):
        return self.spec.name

    @property
    def kind(self):
        return self.spec.kind


def parse_cpus(text):
    """Parse '0 1' or '0-3,6' into a tuple of ints."""
    cpus = []
    for part in text.replace(',', ' ').split():
        lo, _, hi = part.partition('-')
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return tuple(cpus)


def discover_cpufreq(sysfs, rel_dir):
    """Return a Domain per cpufreq policy directory found under rel_dir (cpuN by policy)."""
    found = []
    for full in glob.glob(os.path.join(sysfs.path(rel_dir), 'policy[0-9]*')):
        number = os.path.basename(full)[len('policy'):]
        if not number.isdigit():
            continue
        rel = f'{rel_dir}/policy{number}'
        try:
            cpus = parse_cpus(sysfs.read(rel, 'cpufreq', 'related_cpus'))
        except (SysfsError, ValueError):
            cpus = (int(number),)
        found.append(Domain(f'cpu{number}', 'cpufreq', cpus, path=rel))
    return sorted(found, key=lambda d: int(d.name[3:]))


def domain_specs(profile, sysfs):
    """Return the profile's domains plus the discovered cpufreq policies (profile names win)."""
    specs = list(profile.domains)
    if profile.discover_cpufreq:
        known = {d.name for d in specs} | {d.path for d in specs}
        specs += [d for d in discover_cpufreq(sysfs, profile.discover_cpufreq)
                  if d.name not in known and d.path not in known]
    return specs


ORIGINAL_ATTRS = {
    'cpufreq': ('scaling_governor', 'scaling_min_freq', 'scaling_max_freq', 'scaling_setspeed'),
    'devfreq': ('governor', 'min_freq', 'max_freq'),
}
_AVAILABLE = {
    'cpufreq': ('scaling_available_frequencies', 'scaling_available_governors'),
    'devfreq': ('available_frequencies', 'available_governors'),
}


def _available(sysfs, spec):
    """Return ({khz: raw text}, source) from sysfs, else from the profile's nominal table."""
    attr = _AVAILABLE[spec.kind][0]
    unit = HZ_PER_UNIT[spec.kind]
    try:
        raw = {round(int(v) / unit): v for v in sysfs.read(spec.path, spec.kind, attr).split()}
        if raw:
            return raw, 'sysfs'
    except (SysfsError, ValueError):
        pass
    return {f: str(f * unit) for f in spec.frequencies_khz}, 'profile'


def probe_domain(sysfs, spec):
    """Read a domain's available settings and current (original) ones; raise SysfsError."""
    if not os.path.isdir(sysfs.path(spec.path)):
        raise SysfsError(f'domain {spec.name}: {spec.path} not found under {sysfs.root}')
    raw, source = _available(sysfs, spec)
    try:
        governors = tuple(sysfs.read(spec.path, spec.kind, _AVAILABLE[spec.kind][1]).split())
    except SysfsError:
        governors = ()
    original = {}
    for attr in ORIGINAL_ATTRS[spec.kind]:
        try:
            original[attr] = sysfs.read(spec.path, spec.kind, attr)
        except SysfsError:
            pass
    writable = bool(raw) and all(
        sysfs.writable(spec.path, spec.kind, a) for a in ORIGINAL_ATTRS[spec.kind][:3])
    return ProbedDomain(spec, tuple(sorted(raw)), governors, raw, original, source, writable)


def probe_domains(profile, sysfs):
    """
    Probe every domain of a profile under a sysfs root.

    Return (domains, problems): the domains found and a list of 'name: reason' for the others.
    """
    if not isinstance(sysfs, Sysfs):
        sysfs = Sysfs(sysfs)
    domains, problems = [], []
    for spec in domain_specs(profile, sysfs):
        try:
            domains.append(probe_domain(sysfs, spec))
        except SysfsError as exc:
            problems.append(f'{spec.name}: {exc}')
    return domains, problems


def planning_domains(profile, sysfs_root='/'):
    """
    Return the domains to plan over, each with its ascending frequency table (kHz).

    Listed domains need frequencies_khz. When the profile discovers cpufreq policies (e.g.
    generic_cpufreq), they are probed under sysfs_root as the hardware node does and kept when
    the kernel lists their frequencies. Raise ProfileError when no domain remains.
    """
    missing = [d.name for d in profile.domains if not d.frequencies_khz]
    if missing:
        raise ProfileError(f'platform profile {profile.path or profile.name}: domains {missing} '
                           'need frequencies_khz (the table the manager plans over)')
    domains = list(profile.domains)
    if profile.discover_cpufreq:
        found, _ = probe_domains(replace(profile, domains=[]), Sysfs(sysfs_root))
        listed = {d.name for d in domains} | {d.path for d in domains}
        domains += [replace(p.spec, frequencies_khz=p.available_khz) for p in found
                    if p.frequency_source == 'sysfs' and p.available_khz
                    and p.name not in listed and p.spec.path not in listed]
    if not domains:
        where = os.path.join(sysfs_root, profile.discover_cpufreq)
        raise ProfileError(
            f'platform profile {profile.path or profile.name} lists no domains and no cpufreq '
            f'policy with scaling_available_frequencies was found under {where}: use a profile '
            'that lists the domains (docs/platform_profiles.md), e.g. '
            'config/platforms/jetson_xavier_nx.yaml')
    return domains
