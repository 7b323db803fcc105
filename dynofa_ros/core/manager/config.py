"""
The manager's settings: defaults and per-value checks from config/params/manager.yaml.

The spec file is the one place each parameter's type, default, range and meaning are written;
this module builds the config dataclasses from it and adds the checks that involve several
values or the platform (domains, catalogs, min_threads <= max_threads).
`apply` refuses a value with a reason and never changes anything.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from dynofa_ros.core.common import param_spec
from dynofa_ros.core.common.errors import ConfigError


class SettingError(ConfigError):
    """A manager setting (parameter) has a wrong value."""


SPEC = param_spec.load_node('manager')
GLOBAL_PARAMS = SPEC.parameters
APP_PARAMS = SPEC.block('apps').parameters
GLOBAL_BY_NAME = {p.name: p for p in GLOBAL_PARAMS}
APP_BY_NAME = {p.name: p for p in APP_PARAMS}
POLICIES = GLOBAL_BY_NAME['policy'].one_of
GOVERNOR_POLICIES = ('performance', 'powersave', 'ondemand', 'schedutil')
assert set(GOVERNOR_POLICIES) <= set(POLICIES), 'manager spec lacks a governor policy'
_GLOBAL = SPEC.defaults()
_APP = {p.name: p.default for p in APP_PARAMS}
DEFAULT_CATALOG = _APP['catalog']


@dataclass(frozen=True)
class AppTarget:
    """Targets and placement of one application."""

    app_id: str
    latency_target_ms: float = _APP['latency_target_ms']
    min_accuracy: float = _APP['min_accuracy']
    priority: int = _APP['priority']
    catalog: str = _APP['catalog']
    domains: tuple = tuple(_APP['domains'])
    profile_key: str = _APP['profile_key']
    profile_keys: tuple = tuple(_APP['profile_keys'])
    baseline_subnet: str = _APP['baseline_subnet']
    max_threads: int = _APP['max_threads']
    min_threads: int = _APP['min_threads']


@dataclass(frozen=True)
class ManagerConfig:
    """Every setting of the manager core (the parameters without topic names)."""

    apps: dict = field(default_factory=dict)   # app_id -> AppTarget
    policy: str = _GLOBAL['policy']
    control_period_s: float = _GLOBAL['control_period_s']
    stale_after_s: float = _GLOBAL['stale_after_s']
    power_budget_w: float = _GLOBAL['power_budget_w']
    temperature_limit_c: float = _GLOBAL['temperature_limit_c']
    latency_margin: float = _GLOBAL['latency_margin']
    latency_quantile: float = _GLOBAL['latency_quantile']
    band_low: float = _GLOBAL['band_low']
    down_frames: int = _GLOBAL['down_frames']
    up_frames: int = _GLOBAL['up_frames']
    accuracy_slack: float = _GLOBAL['accuracy_slack']
    objective: str = _GLOBAL['objective']
    hold_after_down_s: float = _GLOBAL['hold_after_down_s']
    energy_hysteresis: float = _GLOBAL['energy_hysteresis']
    correction_gain: float = _GLOBAL['correction_gain']
    frequency_sensitivity: float = _GLOBAL['frequency_sensitivity']
    frequency_probe: bool = _GLOBAL['frequency_probe']
    command_refresh_s: float = _GLOBAL['command_refresh_s']
    mapping_probe_s: float = _GLOBAL['mapping_probe_s']
    mapping_move_saving: float = _GLOBAL['mapping_move_saving']
    mapping_dwell_s: float = _GLOBAL['mapping_dwell_s']


def check_value(spec, value, where=None):
    """Return why value is not acceptable for spec (a param_spec.Param), or None."""
    return param_spec.check(spec, value, where) or None


def split_name(name):
    """Return (app_id, key) for 'apps.<id>.<key>', or (None, name) for a global parameter."""
    parts = name.split('.')
    if len(parts) == 3 and parts[0] == 'apps':
        return parts[1], parts[2]
    return None, name


def apply(config, values, domain_names=None, catalog_check=None):
    """
    Return a new config with the {parameter name: value} changes applied.

    Raise SettingError with a reason (and change nothing) when a value is invalid: wrong type,
    out of range, NaN, unknown policy, unknown application or domain, or a catalog that does not
    load (catalog_check(path) raises).
    """
    updates, apps = {}, dict(config.apps)
    for name, value in values.items():
        app_id, key = split_name(name)
        if app_id is None:
            spec = GLOBAL_BY_NAME.get(key)
            if spec is None or spec.name == 'apps' or key not in ManagerConfig.__annotations__:
                raise SettingError(f'{name} is not a manager setting that can change')
            error = check_value(spec, value)
            if error:
                raise SettingError(error)
            updates[key] = value
            continue
        spec = APP_BY_NAME.get(key)
        if spec is None:
            raise SettingError(f'{name}: unknown application setting {key!r}')
        if app_id not in apps:
            raise SettingError(f'{name}: unknown application {app_id!r}; apps are {sorted(apps)}')
        error = check_value(spec, value, name)
        if error:
            raise SettingError(error)
        if key in ('domains', 'profile_keys'):
            value = tuple(value)
        if key == 'domains':
            unknown = [d for d in value if domain_names is not None and d not in domain_names]
            if unknown:
                raise SettingError(f'{name}: unknown domains {unknown}; the platform has '
                                   f'{sorted(domain_names)}')
        if key == 'catalog' and catalog_check is not None:
            try:
                catalog_check(value)
            except (OSError, ValueError) as exc:
                raise SettingError(f'{name}: {exc}')
        apps[app_id] = replace(apps[app_id], **{key: value})
    for app_id, target in apps.items():
        if target.max_threads and target.min_threads > target.max_threads:
            raise SettingError(f'apps.{app_id}.min_threads ({target.min_threads}) exceeds '
                               f'apps.{app_id}.max_threads ({target.max_threads})')
    for app_id, target in apps.items():
        if target != config.apps.get(app_id):
            _check_profile_keys(app_id, target, domain_names, catalog_check)
    if catalog_check is not None:
        for app_id, target in apps.items():
            if target.baseline_subnet and target != config.apps.get(app_id):
                ids = catalog_check(target.catalog).ids()
                if target.baseline_subnet not in ids:
                    raise SettingError(f'apps.{app_id}.baseline_subnet: '
                                       f'{target.baseline_subnet!r} is not in the catalog {ids}')
    return replace(config, apps=apps, **updates)


DEVICE_PREFIXES = {'cpufreq': ('cpu/',), 'devfreq': ('gpu/', 'cuda/')}


def _check_profile_keys(app_id, target, domain_names, catalog_check):
    """
    Refuse profile_keys not aligned with domains, absent from the catalog or of a wrong device.

    domain_names may be {name: kind} ('cpufreq' | 'devfreq'): then each key must be of its
    domain's device.
    """
    keys, name = target.profile_keys, f'apps.{app_id}.profile_keys'
    if not keys:
        return
    if len(keys) != max(1, len(target.domains)):
        raise SettingError(f'{name} lists {len(keys)} keys for the {len(target.domains)} '
                           f'domains {list(target.domains)}: one per domain, in order')
    kinds = domain_names if isinstance(domain_names, Mapping) else {}
    for domain, key in zip(target.domains, keys):
        prefixes = DEVICE_PREFIXES.get(kinds.get(domain), ())
        if key and prefixes and not key.startswith(prefixes):
            raise SettingError(f'{name}: {key!r} is not a profile of {domain} '
                               f'({kinds[domain]}: keys start with {" or ".join(prefixes)})')
    if catalog_check is not None:
        present = set.intersection(*(
            {k for k, table in s.latency_ms.items() if table}
            for s in catalog_check(target.catalog).subnets))
        missing = [k for k in keys if k and k not in present]
        if missing:
            raise SettingError(f'{name}: {missing} not in the catalog {target.catalog} '
                               f'(it has {sorted(present)})')


def initial(app_ids, values=None, domain_names=None, catalog_check=None):
    """Build a config for these applications from defaults plus {parameter: value} overrides."""
    error = check_value(GLOBAL_BY_NAME['apps'], list(app_ids))
    if error:
        raise SettingError(error)
    config = ManagerConfig(apps={a: AppTarget(a) for a in app_ids})
    return apply(config, values or {}, domain_names, catalog_check)
