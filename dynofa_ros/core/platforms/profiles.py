"""
Platform profiles (config/platforms/*.yaml): DVFS domains, power sensors, thermal zones, model.

`load_profile` validates the YAML; `probe_domains` reads what the kernel really offers (available
frequencies and governors, original limits) under a sysfs root. The manager may call both to get
the same view as the hardware node.
"""

from dataclasses import dataclass, field
import glob
import os
import re

from dynofa_ros.core.common import yaml_file
from dynofa_ros.core.hardware.sysfs import check_relative, Sysfs, SysfsError

KINDS = ('cpufreq', 'devfreq')
SENSOR_KINDS = ('ina3221_iio', 'ina3221_hwmon', 'hwmon', 'rapl')
GOVERNOR_RE = re.compile(r'^[a-z0-9_]{1,32}$')
# Devfreq reports Hz; messages and profiles use kHz.
HZ_PER_UNIT = {'cpufreq': 1, 'devfreq': 1000}


class ProfileError(ValueError):
    """A platform profile is missing or malformed."""


@dataclass(frozen=True)
class DomainSpec:
    """One DVFS domain as the profile describes it."""

    name: str
    kind: str
    path: str
    cpus: tuple = ()
    frequencies_khz: tuple = ()
    load: str = ''          # optional file with the domain's load in per mille (devfreq GPUs)


@dataclass(frozen=True)
class SensorSpec:
    """A power sensor layout to look for: a glob relative to the sysfs root."""

    kind: str
    path: str
    total_rail: str = ''


@dataclass(frozen=True)
class PowerModel:
    """Estimated power: static + per domain idle + dynamic * load * (f / f_max) ** exponent."""

    static_w: float = 5.0
    exponent: float = 2.4
    cpu_core: tuple = (0.1, 1.0)            # (idle_w, dynamic_w) per core of cpufreq domains
    domains: dict = field(default_factory=dict)   # name -> (idle_w, dynamic_w), per domain


@dataclass
class PlatformProfile:
    """A validated platform profile."""

    name: str
    domains: list
    sensors: list
    model: PowerModel
    thermal: str = ''
    discover_cpufreq: str = ''
    description: str = ''
    path: str = ''


@dataclass
class Domain:
    """A DVFS domain as found in sysfs at start: what it accepts and what it was set to."""

    spec: DomainSpec
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


def _float(value, where):
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ProfileError(f'{where}: expected a number, got {value!r}') from None


def _path(value, where):
    try:
        return check_relative(value)
    except ValueError as exc:
        raise ProfileError(f'{where}: {exc}') from None


def _domain(raw, i):
    where = f'domains[{i}]'
    if not isinstance(raw, dict):
        raise ProfileError(f'{where}: expected a mapping')
    name = str(raw.get('name') or '')
    if not re.match(r'^[A-Za-z][A-Za-z0-9_]{0,31}$', name):
        raise ProfileError(f'{where}: name {name!r} must be an identifier')
    kind = raw.get('kind')
    if kind not in KINDS:
        raise ProfileError(f'{where} ({name}): kind must be one of {KINDS}, got {kind!r}')
    freqs = raw.get('frequencies_khz') or []
    if not all(isinstance(f, int) and f > 0 for f in freqs):
        raise ProfileError(f'{where} ({name}): frequencies_khz must be positive integers')
    cpus = raw.get('cpus') or []
    if not all(isinstance(c, int) and c >= 0 for c in cpus):
        raise ProfileError(f'{where} ({name}): cpus must be non-negative integers')
    load = _path(raw['load'], f'{where}.load') if raw.get('load') else ''
    return DomainSpec(name, kind, _path(raw.get('path'), f'{where}.path'), tuple(cpus),
                      tuple(sorted(set(freqs))), load)


def _model(raw):
    raw = raw or {}

    def pair(entry, where):
        if not isinstance(entry, dict):
            raise ProfileError(f'{where}: expected {{idle_w, dynamic_w}}')
        return (_float(entry.get('idle_w', 0.0), where), _float(entry.get('dynamic_w'), where))

    return PowerModel(
        static_w=_float(raw.get('static_w', 5.0), 'power.model.static_w'),
        exponent=_float(raw.get('exponent', 2.4), 'power.model.exponent'),
        cpu_core=pair(raw.get('cpu_core', {'idle_w': 0.1, 'dynamic_w': 1.0}),
                      'power.model.cpu_core'),
        domains={name: pair(v, f'power.model.domains.{name}')
                 for name, v in (raw.get('domains') or {}).items()})


def load_profile(path):
    """Load and validate a platform profile; raise ProfileError naming what is wrong."""
    raw = yaml_file.load(path, 'platform profile', ProfileError)
    if not isinstance(raw, dict) or not raw.get('name'):
        raise ProfileError(f'platform profile {path}: expected a mapping with a name')
    domains = [_domain(d, i) for i, d in enumerate(raw.get('domains') or [])]
    names = [d.name for d in domains]
    if len(set(names)) != len(names):
        raise ProfileError(f'platform profile {path}: duplicate domain names {names}')
    discover = raw.get('discover') or {}
    power = raw.get('power') or {}
    sensors = []
    for i, s in enumerate(power.get('sensors') or []):
        if not isinstance(s, dict) or s.get('kind') not in SENSOR_KINDS:
            raise ProfileError(f'power.sensors[{i}]: kind must be one of {SENSOR_KINDS}')
        sensors.append(SensorSpec(s['kind'], _path(s.get('path'), f'power.sensors[{i}].path'),
                                  str(s.get('total_rail') or '')))
    thermal = raw.get('thermal') or {}
    return PlatformProfile(
        name=str(raw['name']), domains=domains, sensors=sensors, model=_model(power.get('model')),
        thermal=_path(thermal['path'], 'thermal.path') if thermal.get('path') else '',
        discover_cpufreq=(_path(discover['cpufreq'], 'discover.cpufreq')
                          if discover.get('cpufreq') else ''),
        description=str(raw.get('description') or ''), path=os.path.abspath(path))


def parse_cpus(text):
    """Parse '0 1' or '0-3,6' into a tuple of ints."""
    cpus = []
    for part in text.replace(',', ' ').split():
        lo, _, hi = part.partition('-')
        cpus.extend(range(int(lo), int(hi or lo) + 1))
    return tuple(cpus)


def discover_cpufreq(sysfs, rel_dir):
    """Return a DomainSpec per cpufreq policy directory found under rel_dir (cpuN by policy)."""
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
        found.append(DomainSpec(f'cpu{number}', 'cpufreq', rel, cpus))
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
    return Domain(spec, tuple(sorted(raw)), governors, raw, original, source, writable)


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
