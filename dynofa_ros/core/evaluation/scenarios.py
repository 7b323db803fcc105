"""
Scenarios of the simulated evaluation: who runs where, what targets, what happens when.

Slack scenarios (the published experiments' setting: frames arrive at the target period, or back
to back with a target the baseline meets): one model on the GPU, one on the CPU, one GPU + one
CPU model, two GPU models below capacity, two GPU models one of which may move to a CPU cluster
(device mapping), a back-to-back run. Overload scenarios (cameras faster
than any sub-network finishes; kept to show behaviour under overload, not energy): target
changes, contention, two models. `recovery` is a CPU model with intra-op threads and a competing
process. Users write their own as YAML (`load_file`, schema in docs/evaluation.md).
`Scenario.scaled` compresses one (same events, same order) for the tests and `evaluate
--duration`.
"""

from dataclasses import dataclass, field

from dynofa_ros.core.common import yaml_file
from dynofa_ros.core.common.errors import ConfigError

LABELS = ('slack', 'overload')


class ScenarioError(ConfigError):
    """A scenario file is malformed."""


@dataclass(frozen=True)
class AppSpec:
    """One simulated perception application."""

    app_id: str
    domain: str
    camera_hz: float
    latency_target_ms: float
    priority: int = 1
    min_accuracy: float = 0.0
    threads: int = 0            # intra-op threads the manager may use (0: not managed)
    domains: tuple = ()         # where it may run, `domain` first (empty: `domain` only)

    @property
    def listed(self):
        """Return the domains the application may run on, the one it starts on first."""
        return self.domains or (self.domain,)


@dataclass(frozen=True)
class Event:
    """At time t: set a manager parameter (kind 'param') or a background load (kind 'load')."""

    t: float
    kind: str
    name: str
    value: float


@dataclass(frozen=True)
class Scenario:
    """A timed run: applications, events, duration."""

    name: str
    description: str
    duration_s: float
    apps: tuple
    events: tuple = field(default_factory=tuple)
    label: str = 'slack'

    def scaled(self, duration_s):
        """Return the same scenario compressed to duration_s (events keep their order)."""
        k = duration_s / self.duration_s
        return Scenario(self.name, self.description, duration_s, self.apps,
                        tuple(Event(e.t * k, e.kind, e.name, e.value) for e in self.events),
                        self.label)

    def phases(self):
        """Return [(start s, end s)]: a new phase at every event time."""
        cuts = sorted({0.0, self.duration_s} | {e.t for e in self.events
                                                if 0 < e.t < self.duration_s})
        return list(zip(cuts[:-1], cuts[1:]))


APP_KEYS = {'app_id': str, 'domain': str, 'camera_hz': float, 'latency_target_ms': float,
            'priority': int, 'min_accuracy': float, 'threads': int}
REQUIRED_APP_KEYS = ('app_id', 'camera_hz', 'latency_target_ms')


def _number(value, kind, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
            kind is int and not float(value).is_integer()):
        raise ScenarioError(f'{where}: expected a {kind.__name__}, got {value!r}')
    return kind(value)


def _app(raw, where):
    if not isinstance(raw, dict):
        raise ScenarioError(f'{where}: expected a mapping')
    unknown = set(raw) - set(APP_KEYS) - {'domains'}
    missing = [k for k in REQUIRED_APP_KEYS if k not in raw]
    if ('domain' in raw) == ('domains' in raw):
        missing.append('domain or domains (one of them)')
    if unknown or missing:
        raise ScenarioError(f'{where}: unknown keys {sorted(unknown)}, missing {missing}')
    values = {}
    if 'domains' in raw:
        listed = raw['domains']
        if not isinstance(listed, list) or not listed or not all(
                isinstance(d, str) and d for d in listed) or len(set(listed)) != len(listed):
            raise ScenarioError(f'{where}.domains: expected a non-empty list of distinct domain '
                                f'names, got {listed!r}')
        values['domain'], values['domains'] = listed[0], tuple(listed) if len(listed) > 1 else ()
    for key, kind in APP_KEYS.items():
        if key in raw:
            values[key] = str(raw[key]) if kind is str else _number(raw[key], kind,
                                                                    f'{where}.{key}')
    if values['camera_hz'] < 0 or values['latency_target_ms'] <= 0 or values.get(
            'threads', 0) < 0:
        raise ScenarioError(f'{where}: need camera_hz >= 0 (0: back to back), '
                            'latency_target_ms > 0, threads >= 0')
    return AppSpec(**values)


def _event(raw, where, duration):
    if not isinstance(raw, dict) or 't' not in raw or 'value' not in raw or (
            ('param' in raw) == ('load' in raw)):
        raise ScenarioError(f'{where}: expected {{t, param: NAME | load: DOMAIN, value}}')
    t = _number(raw['t'], float, f'{where}.t')
    if not 0 <= t < duration:
        raise ScenarioError(f'{where}.t: {t} outside [0, duration_s)')
    value = _number(raw['value'], float, f'{where}.value')
    if 'load' in raw and not 0 <= value < 1:
        raise ScenarioError(f'{where}.value: a load is a share of the domain in [0, 1)')
    kind = 'param' if 'param' in raw else 'load'
    return Event(t, kind, str(raw[kind]), value)


def parse(raw, where='scenario file'):
    """Return the Scenario a parsed YAML mapping describes; ScenarioError says what is wrong."""
    if not isinstance(raw, dict):
        raise ScenarioError(f'{where}: expected a mapping')
    unknown = set(raw) - {'name', 'description', 'duration_s', 'label', 'apps', 'events'}
    if unknown or not raw.get('name') or not raw.get('apps'):
        raise ScenarioError(f'{where}: needs name and apps; unknown keys {sorted(unknown)}')
    duration = _number(raw.get('duration_s'), float, f'{where}.duration_s')
    if duration <= 0:
        raise ScenarioError(f'{where}.duration_s must be positive')
    label = raw.get('label', 'slack')
    if label not in LABELS:
        raise ScenarioError(f'{where}.label: {label!r} is not one of {LABELS}')
    if not isinstance(raw['apps'], list) or not isinstance(raw.get('events', []), list):
        raise ScenarioError(f'{where}: apps and events are lists')
    apps = tuple(_app(a, f'{where}.apps[{i}]') for i, a in enumerate(raw['apps']))
    ids = [a.app_id for a in apps]
    if len(set(ids)) != len(ids):
        raise ScenarioError(f'{where}: app_id values repeat: {ids}')
    events = tuple(_event(e, f'{where}.events[{i}]', duration)
                   for i, e in enumerate(raw.get('events') or []))
    return Scenario(str(raw['name']), str(raw.get('description', '')), duration, apps,
                    events, label)


def load_file(path):
    """Load a user scenario YAML file (schema: docs/evaluation.md)."""
    return parse(yaml_file.load(path, 'scenario file', ScenarioError), f'scenario file {path}')


def check_against(scenario, domains):
    """Raise ScenarioError when the scenario names a domain the platform lacks."""
    names = [d for a in scenario.apps for d in a.listed] + [
        e.name for e in scenario.events if e.kind == 'load']
    unknown = sorted(set(names) - set(domains))
    if unknown:
        raise ScenarioError(f'scenario {scenario.name}: domains {unknown} are not simulated '
                            f'on this platform (it has {sorted(domains)})')


SCENARIOS = {
    'gpu_one': Scenario(
        'gpu_one', 'one model on the GPU, camera 15 Hz, latency target the frame period '
        '(66.7 ms)', 20.0, (AppSpec('cam', 'gpu', 15.0, 66.7),)),
    'cpu_one': Scenario(
        'cpu_one', 'one model on CPU cluster cpu0 (2 threads), camera 4 Hz, latency target the '
        'frame period (250 ms)', 20.0, (AppSpec('cam', 'cpu0', 4.0, 250.0),)),
    'gpu_cpu': Scenario(
        'gpu_cpu', 'one model on the GPU (15 Hz, 66.7 ms) and one on cpu0 (4 Hz, 250 ms), '
        'targets the frame periods', 20.0,
        (AppSpec('front', 'gpu', 15.0, 66.7), AppSpec('rear', 'cpu0', 4.0, 250.0))),
    'gpu_two': Scenario(
        'gpu_two', 'two models share the GPU below its capacity, cameras 8 Hz, targets the '
        'frame period (125 ms)', 20.0,
        (AppSpec('front', 'gpu', 8.0, 125.0, priority=2), AppSpec('rear', 'gpu', 8.0, 125.0))),
    'gpu_two_map': Scenario(
        'gpu_two_map', 'two models on the GPU, front 8 Hz / 125 ms (priority 2), rear 4 Hz / '
        '250 ms; time slicing keeps the GPU clock high, and rear may move to CPU cluster cpu0 '
        '(domains [gpu, cpu0])', 20.0,
        (AppSpec('front', 'gpu', 8.0, 125.0, priority=2),
         AppSpec('rear', 'gpu', 4.0, 250.0, domains=('gpu', 'cpu0')))),
    'back_to_back': Scenario(
        'back_to_back', 'one model on the GPU processing frames back to back, latency target '
        '70 ms', 20.0, (AppSpec('cam', 'gpu', 0.0, 70.0),)),
    'recovery': Scenario(
        'recovery', 'one model on cpu0 with up to 2 intra-op threads, camera 4 Hz, target '
        '250 ms; a competing process takes both cores from 8 s to 16 s', 24.0,
        (AppSpec('cam', 'cpu0', 4.0, 250.0, threads=2),),
        (Event(8.0, 'load', 'cpu0', 0.99), Event(16.0, 'load', 'cpu0', 0.0)), 'slack'),
    'target_changes': Scenario(
        'target_changes', 'one model on the GPU, camera 20 Hz, latency target 60 -> 45 -> 80 '
        '-> 50 ms', 40.0,
        (AppSpec('cam', 'gpu', 20.0, 60.0),),
        (Event(10.0, 'param', 'apps.cam.latency_target_ms', 45.0),
         Event(20.0, 'param', 'apps.cam.latency_target_ms', 80.0),
         Event(30.0, 'param', 'apps.cam.latency_target_ms', 50.0)), 'overload'),
    'contention': Scenario(
        'contention', 'one model on CPU cluster cpu0 (2 cores), camera 5 Hz, target 300 ms; '
        'another program takes one of the two cores from 15 s to 30 s', 40.0,
        (AppSpec('cam', 'cpu0', 5.0, 300.0),),
        (Event(15.0, 'load', 'cpu0', 0.5), Event(30.0, 'load', 'cpu0', 0.0)), 'overload'),
    'two_models': Scenario(
        'two_models', 'two models share the GPU, cameras 15 Hz, targets 110 ms (priority 2) and '
        '150 ms (priority 1); the second target drops to 100 ms at 20 s', 40.0,
        (AppSpec('front', 'gpu', 15.0, 110.0, priority=2),
         AppSpec('rear', 'gpu', 15.0, 150.0, priority=1)),
        (Event(20.0, 'param', 'apps.rear.latency_target_ms', 100.0),), 'overload'),
}
