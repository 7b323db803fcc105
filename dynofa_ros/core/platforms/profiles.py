"""
Platform profiles (config/platforms/*.yaml): the one schema and reader, docs/platform_profiles.md.

`load_profile` validates a profile for every reader: the hardware node (which then probes sysfs,
probe.py), the manager and the simulator (which plan over the domains' frequency tables).
"""

from dataclasses import dataclass
import os
import re

from dynofa_ros.core.common import yaml_file
from dynofa_ros.core.common.errors import ConfigError
from dynofa_ros.core.hardware.sysfs import check_relative
from dynofa_ros.core.platforms.power_law import DomainPower, KIND_DEFAULTS, PowerParams

KINDS = ('cpufreq', 'devfreq')
SENSOR_KINDS = ('ina3221_iio', 'ina3221_hwmon', 'hwmon', 'rapl')
GOVERNOR_RE = re.compile(r'^[a-z0-9_]{1,32}$')
NAME_RE = re.compile(r'^[A-Za-z][A-Za-z0-9_]{0,31}$')
# Devfreq reports Hz; messages and profiles use kHz.
UTILISATION_GOVERNORS = ('schedutil', 'ondemand')   # cpufreq-only governors
DEVFREQ_GENERIC = 'simple_ondemand'   # drivers/devfreq/governor_simpleondemand.c
HZ_PER_UNIT = {'cpufreq': 1, 'devfreq': 1000}


class ProfileError(ConfigError):
    """A platform profile is missing, malformed or lacks what its reader needs."""


@dataclass(frozen=True)
class Domain:
    """One DVFS domain: name, kind, cores, ascending frequency table (kHz), sysfs paths."""

    name: str
    kind: str
    cpus: tuple = ()
    frequencies_khz: tuple = ()
    path: str = ''          # relative to the hardware node's sysfs_root
    load: str = ''          # optional file with the domain's load in per mille (devfreq GPUs)
    default_governor: str = ''   # the board's own governor of a devfreq domain (nvhost_podgov)

    @property
    def f_min(self):
        return self.frequencies_khz[0]

    @property
    def f_max(self):
        return self.frequencies_khz[-1]

    def baseline_governor(self, name):
        """
        Return the governor a baseline named `name` runs on this domain.

        cpufreq governors (schedutil, ondemand) do not exist in devfreq: a devfreq domain runs
        its board's default governor for them, or, when the profile names none, devfreq's own
        generic one (simple_ondemand), so a baseline never asks for what is not there.
        """
        if self.kind == 'devfreq' and name in UTILISATION_GOVERNORS:
            return self.default_governor or DEVFREQ_GENERIC
        return name

    def nearest_at_least(self, khz):
        """Return the lowest table frequency >= khz, or the maximum."""
        for f in self.frequencies_khz:
            if f >= khz:
                return f
        return self.f_max


@dataclass(frozen=True)
class SensorSpec:
    """A power sensor layout to look for: a glob relative to the sysfs root."""

    kind: str
    path: str
    total_rail: str = ''


@dataclass
class PlatformProfile:
    """A validated platform profile."""

    name: str
    domains: list
    sensors: list
    model: PowerParams
    thermal: str = ''
    discover_cpufreq: str = ''
    description: str = ''
    path: str = ''


def _float(value, where):
    if isinstance(value, bool):
        raise ProfileError(f'{where}: expected a number, got {value!r}')
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
    if not NAME_RE.match(name):
        raise ProfileError(f'{where}: name {name!r} must be an identifier')
    kind = raw.get('kind')
    if kind not in KINDS:
        raise ProfileError(f'{where} ({name}): kind must be one of {KINDS}, got {kind!r}')
    freqs = raw.get('frequencies_khz') or []
    if not isinstance(freqs, list) or not all(
            isinstance(f, int) and not isinstance(f, bool) and f > 0 for f in freqs):
        raise ProfileError(f'{where} ({name}): frequencies_khz must be positive integers')
    cpus = raw.get('cpus') or []
    if not isinstance(cpus, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in cpus):
        raise ProfileError(f'{where} ({name}): cpus must be non-negative integers')
    load = _path(raw['load'], f'{where}.load') if raw.get('load') else ''
    governor = str(raw.get('default_governor') or '')
    if governor and (kind != 'devfreq' or not GOVERNOR_RE.match(governor)):
        raise ProfileError(f'{where} ({name}): default_governor is for a devfreq domain and '
                           f'must be a governor name, got {governor!r}')
    return Domain(name, kind, tuple(cpus), tuple(sorted(set(freqs))),
                  _path(raw.get('path'), f'{where}.path'), load, governor)


def _coefficients(raw, where, fallback):
    if not isinstance(raw, dict):
        raise ProfileError(f'{where}: expected {{dynamic_w, leakage_w, v_min[, f_floor_khz]}}')
    unknown = set(raw) - {'dynamic_w', 'leakage_w', 'v_min', 'f_floor_khz'}
    if unknown:
        raise ProfileError(f'{where}: unknown keys {sorted(unknown)}')
    values = {k: _float(raw.get(k, getattr(fallback, k)), f'{where}.{k}')
              for k in ('dynamic_w', 'leakage_w', 'v_min', 'f_floor_khz')}
    if values['dynamic_w'] < 0 or values['leakage_w'] < 0 or not 0 < values['v_min'] <= 1 or (
            values['f_floor_khz'] < 0):
        raise ProfileError(f'{where}: need dynamic_w, leakage_w, f_floor_khz >= 0 and '
                           '0 < v_min <= 1')
    return DomainPower(**values)


def _model(raw, domains):
    if raw is None:
        return PowerParams()
    if not isinstance(raw, dict):
        raise ProfileError('power.model: expected a mapping')
    unknown = set(raw) - {'static_w', 'kinds', 'domains'}
    if unknown:
        raise ProfileError(f'power.model: unknown keys {sorted(unknown)} '
                           '(see docs/platform_profiles.md)')
    if 'static_w' not in raw:
        raise ProfileError('power.model.static_w is required when power.model is given')
    static_w = _float(raw['static_w'], 'power.model.static_w')
    kinds = dict(KIND_DEFAULTS)
    for kind, entry in (raw.get('kinds') or {}).items():
        if kind not in KINDS:
            raise ProfileError(f'power.model.kinds: {kind!r} is not one of {KINDS}')
        kinds[kind] = _coefficients(entry, f'power.model.kinds.{kind}', KIND_DEFAULTS[kind])
    by_name = {d.name: d for d in domains}
    named = {}
    for name, entry in (raw.get('domains') or {}).items():
        where = f'power.model.domains.{name}'
        if name not in by_name and not NAME_RE.match(str(name)):
            raise ProfileError(f'{where}: not a domain name')
        kind = by_name[name].kind if name in by_name else 'cpufreq'
        named[name] = _coefficients(entry, where, KIND_DEFAULTS[kind])
    return PowerParams(static_w, kinds, named)


def parse_profile(raw, where='platform profile'):
    """Validate a parsed profile mapping; raise ProfileError naming what is wrong."""
    if not isinstance(raw, dict) or not raw.get('name'):
        raise ProfileError(f'{where}: expected a mapping with a name')
    try:
        domains = [_domain(d, i) for i, d in enumerate(raw.get('domains') or [])]
        names = [d.name for d in domains]
        if len(set(names)) != len(names):
            raise ProfileError(f'duplicate domain names {names}')
        discover = raw.get('discover') or {}
        power = raw.get('power') or {}
        sensors = []
        for i, s in enumerate(power.get('sensors') or []):
            if not isinstance(s, dict) or s.get('kind') not in SENSOR_KINDS:
                raise ProfileError(f'power.sensors[{i}]: kind must be one of {SENSOR_KINDS}')
            sensors.append(SensorSpec(s['kind'], _path(s.get('path'), f'power.sensors[{i}].path'),
                                      str(s.get('total_rail') or '')))
        if not domains and not discover.get('cpufreq'):
            raise ProfileError('needs a "domains" list or discover.cpufreq')
        thermal = raw.get('thermal') or {}
        return PlatformProfile(
            name=str(raw['name']), domains=domains, sensors=sensors,
            model=_model(power.get('model'), domains),
            thermal=_path(thermal['path'], 'thermal.path') if thermal.get('path') else '',
            discover_cpufreq=(_path(discover['cpufreq'], 'discover.cpufreq')
                              if discover.get('cpufreq') else ''),
            description=str(raw.get('description') or ''))
    except ProfileError as exc:
        raise ProfileError(f'{where}: {exc}') from None


def load_profile(path):
    """Load and validate a platform profile file; raise ProfileError naming what is wrong."""
    raw = yaml_file.load(path, 'platform profile', ProfileError)
    profile = parse_profile(raw, f'platform profile {path}')
    profile.path = os.path.abspath(path)
    return profile
