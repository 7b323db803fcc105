"""
The manager's parameters: one table (name, type, default, range, meaning) and their validation.

The node turns the table into ROS parameter descriptors; README's parameter table says the same.
`validate` refuses a value with a reason and never changes anything.
"""

from dataclasses import dataclass, field, replace
import math

from dynofa_ros.core.common.catalog import DEFAULT_CATALOG

GOVERNOR_POLICIES = ('performance', 'powersave', 'ondemand', 'schedutil')
POLICIES = ('dynofa', 'algorithm_only', 'hardware_only') + GOVERNOR_POLICIES


@dataclass(frozen=True)
class Param:
    """One parameter: name, ROS type, default, inclusive range (numbers), meaning."""

    name: str
    kind: str                  # 'double' | 'integer' | 'string' | 'string_array'
    default: object
    low: float = None
    high: float = None
    description: str = ''
    read_only: bool = False


GLOBAL_PARAMS = (
    Param('apps', 'string_array', ['default'], description='Application ids managed (the '
          "perception nodes' app_id); each has apps.<id>.* parameters.", read_only=True),
    Param('policy', 'string', 'dynofa', description='dynofa (sub-networks + DVFS), '
          'algorithm_only, hardware_only, or a Linux governor baseline: '
          + ', '.join(GOVERNOR_POLICIES)),
    Param('platform_profile', 'string', 'config/sim/xavier_nx_sim.yaml',
          description='Platform profile YAML giving the DVFS domains.', read_only=True),
    Param('control_period_s', 'double', 1.0, 0.05, 60.0, 'Outer loop (DVFS) period, s.'),
    Param('stale_after_s', 'double', 2.0, 0.1, 60.0,
          'Telemetry older than this is stale: decisions are held.'),
    Param('power_budget_w', 'double', 0.0, 0.0, 10000.0,
          'Board power budget, W (0: none).'),
    Param('temperature_limit_c', 'double', 0.0, 0.0, 150.0,
          'Throttle frequencies above this temperature, deg C (0: none).'),
    Param('latency_margin', 'double', 0.9, 0.5, 1.0,
          'Plan for target x margin, leaving headroom for noise.'),
    Param('band_low', 'double', 0.75, 0.3, 0.95,
          'Inner loop tries a more accurate sub-network below target x band_low.'),
    Param('down_frames', 'integer', 2, 1, 100,
          'Consecutive frames over target before switching to a faster sub-network.'),
    Param('up_frames', 'integer', 10, 1, 1000,
          'Consecutive frames under the band before trying a more accurate sub-network.'),
    Param('accuracy_slack', 'double', 0.5, 0.0, 100.0, 'Outer loop: accept this many '
          'top-1 points below the best feasible accuracy to save energy.'),
    Param('energy_hysteresis', 'double', 0.05, 0.0, 1.0, 'Outer loop keeps a still-valid '
          'configuration unless the new one saves more than this share of energy.'),
    Param('correction_gain', 'double', 0.3, 0.01, 1.0,
          'EWMA gain of the measured/predicted latency ratio.'),
    Param('frequency_sensitivity', 'double', 0.9, 0.0, 1.0, 'Share of latency that scales '
          'with 1/frequency (the rest is memory-bound).'),
    Param('command_refresh_s', 'double', 3.0, 0.0, 3600.0, 'Re-send the current DVFS '
          "decision this often, s (0: only on change); keep it below the hardware node's "
          'watchdog timeout, which otherwise returns the domains to safe settings.'),
    Param('mapping_probe_s', 'double', 15.0, 1.0, 3600.0, 'Task mapping: try one more '
          'intra-op thread this often while the current count runs well, s (doubled after a '
          'worse probe, at most 120 s).'),
    Param('perception_stats_topic', 'string', 'perception_stats', read_only=True,
          description='PerceptionStats input.'),
    Param('system_state_topic', 'string', 'system_state', read_only=True,
          description='SystemState input.'),
    Param('power_state_topic', 'string', 'power_state', read_only=True,
          description='PowerState input.'),
    Param('mission_target_topic', 'string', 'mission_target', read_only=True,
          description='MissionTarget input.'),
    Param('subnet_command_topic', 'string', 'subnet_command', read_only=True,
          description='SubnetCommand output.'),
    Param('dvfs_command_topic', 'string', 'dvfs_command', read_only=True,
          description='DvfsCommand output.'),
    Param('mapping_command_topic', 'string', 'mapping_command', read_only=True,
          description='MappingCommand output.'),
)

APP_PARAMS = (
    Param('latency_target_ms', 'double', 100.0, 0.1, 1e6, 'Maximum inference latency, ms.'),
    Param('min_accuracy', 'double', 0.0, 0.0, 100.0, 'Top-1 floor, percent (0: none).'),
    Param('priority', 'integer', 1, 1, 255, 'Higher wins when targets conflict.'),
    Param('catalog', 'string', DEFAULT_CATALOG, description='Sub-network catalog YAML.'),
    Param('domains', 'string_array', [], description='DVFS domains the application runs '
          "on; the first scales its latency (empty: the profile's first domain)."),
    Param('profile_key', 'string', '', description='Catalog latency key to use (empty: '
          "this machine's, else another key scaled online)."),
    Param('baseline_subnet', 'string', '', description='Fixed sub-network of the baselines '
          '(empty: most accurate one meeting the target at maximum frequency).'),
    Param('max_threads', 'integer', 0, 0, 256, 'Task mapping: most intra-op threads the '
          'manager may give the application (0: mapping not managed).'),
    Param('min_threads', 'integer', 1, 1, 256, 'Task mapping: fewest intra-op threads.'),
)

GLOBAL_BY_NAME = {p.name: p for p in GLOBAL_PARAMS}
APP_BY_NAME = {p.name: p for p in APP_PARAMS}


@dataclass(frozen=True)
class AppTarget:
    """Targets and placement of one application."""

    app_id: str
    latency_target_ms: float = 100.0
    min_accuracy: float = 0.0
    priority: int = 1
    catalog: str = DEFAULT_CATALOG
    domains: tuple = ()
    profile_key: str = ''
    baseline_subnet: str = ''
    max_threads: int = 0
    min_threads: int = 1


@dataclass(frozen=True)
class ManagerConfig:
    """Every setting of the manager core (the parameters without topic names)."""

    apps: dict = field(default_factory=dict)   # app_id -> AppTarget
    policy: str = 'dynofa'
    control_period_s: float = 1.0
    stale_after_s: float = 2.0
    power_budget_w: float = 0.0
    temperature_limit_c: float = 0.0
    latency_margin: float = 0.9
    band_low: float = 0.75
    down_frames: int = 2
    up_frames: int = 10
    accuracy_slack: float = 0.5
    energy_hysteresis: float = 0.05
    correction_gain: float = 0.3
    frequency_sensitivity: float = 0.9
    command_refresh_s: float = 3.0
    mapping_probe_s: float = 15.0


def check_value(spec, value, where=None):
    """Return why value is not acceptable for spec, or None."""
    where = where or spec.name
    if spec.kind == 'double':
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f'{where} must be a number, got {value!r}'
        if not math.isfinite(value):
            return f'{where} must be finite, got {value}'
    elif spec.kind == 'integer':
        if isinstance(value, bool) or not isinstance(value, int):
            return f'{where} must be an integer, got {value!r}'
    elif spec.kind == 'string':
        if not isinstance(value, str):
            return f'{where} must be a string, got {value!r}'
    elif spec.kind == 'string_array':
        if isinstance(value, str) or not all(isinstance(v, str) for v in value):
            return f'{where} must be a list of strings, got {value!r}'
    if spec.low is not None and not spec.low <= value <= spec.high:
        return f'{where} must be in [{spec.low:g}, {spec.high:g}], got {value}'
    if spec.name == 'policy' and value not in POLICIES:
        return f'policy must be one of {", ".join(POLICIES)}; got {value!r}'
    if spec.name == 'apps':
        if not value or len(set(value)) != len(value):
            return 'apps must be a non-empty list of distinct ids'
        bad = [a for a in value if not a.replace('_', 'a').isalnum()]
        if bad:
            return f'app ids must be letters, digits and underscores: {bad}'
    return None


def split_name(name):
    """Return (app_id, key) for 'apps.<id>.<key>', or (None, name) for a global parameter."""
    parts = name.split('.')
    if len(parts) == 3 and parts[0] == 'apps':
        return parts[1], parts[2]
    return None, name


def apply(config, values, domain_names=None, catalog_check=None):
    """
    Return a new config with the {parameter name: value} changes applied.

    Raise ValueError with a reason (and change nothing) when a value is invalid: wrong type,
    out of range, NaN, unknown policy, unknown application or domain, or a catalog that does not
    load (catalog_check(path) raises).
    """
    updates, apps = {}, dict(config.apps)
    for name, value in values.items():
        app_id, key = split_name(name)
        if app_id is None:
            spec = GLOBAL_BY_NAME.get(key)
            if spec is None or spec.name == 'apps' or key not in ManagerConfig.__annotations__:
                raise ValueError(f'{name} is not a manager setting that can change')
            error = check_value(spec, value)
            if error:
                raise ValueError(error)
            updates[key] = value
            continue
        spec = APP_BY_NAME.get(key)
        if spec is None:
            raise ValueError(f'{name}: unknown application setting {key!r}')
        if app_id not in apps:
            raise ValueError(f'{name}: unknown application {app_id!r}; apps are {sorted(apps)}')
        error = check_value(spec, value, name)
        if error:
            raise ValueError(error)
        if key == 'domains':
            value = tuple(value)
            unknown = [d for d in value if domain_names is not None and d not in domain_names]
            if unknown:
                raise ValueError(f'{name}: unknown domains {unknown}; the platform has '
                                 f'{sorted(domain_names)}')
        if key == 'catalog' and catalog_check is not None:
            try:
                catalog_check(value)
            except (OSError, ValueError) as exc:
                raise ValueError(f'{name}: {exc}')
        apps[app_id] = replace(apps[app_id], **{key: value})
    for app_id, target in apps.items():
        if target.max_threads and target.min_threads > target.max_threads:
            raise ValueError(f'apps.{app_id}.min_threads ({target.min_threads}) exceeds '
                             f'apps.{app_id}.max_threads ({target.max_threads})')
    if catalog_check is not None:
        for app_id, target in apps.items():
            if target.baseline_subnet and target != config.apps.get(app_id):
                ids = catalog_check(target.catalog).ids()
                if target.baseline_subnet not in ids:
                    raise ValueError(f'apps.{app_id}.baseline_subnet: '
                                     f'{target.baseline_subnet!r} is not in the catalog {ids}')
    return replace(config, apps=apps, **updates)


def initial(app_ids, values=None, domain_names=None, catalog_check=None):
    """Build a config for these applications from defaults plus {parameter: value} overrides."""
    error = check_value(GLOBAL_BY_NAME['apps'], list(app_ids))
    if error:
        raise ValueError(error)
    config = ManagerConfig(apps={a: AppTarget(a) for a in app_ids})
    return apply(config, values or {}, domain_names, catalog_check)
