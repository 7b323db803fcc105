"""
Scenarios of the simulated evaluation: who runs where, what targets, what happens when.

(1) one model with target changes; (2) a second program taking cores mid-run; (3) two concurrent
models sharing the GPU. `Scenario.scaled` compresses one (same events, same order) for the tests
and `evaluate --duration`.
"""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class AppSpec:
    """One simulated perception application."""

    app_id: str
    domain: str
    camera_hz: float
    latency_target_ms: float
    priority: int = 1
    min_accuracy: float = 0.0


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

    def scaled(self, duration_s):
        """Return the same scenario compressed to duration_s (events keep their order)."""
        k = duration_s / self.duration_s
        return Scenario(self.name, self.description, duration_s, self.apps,
                        tuple(Event(e.t * k, e.kind, e.name, e.value) for e in self.events))


SCENARIOS = {
    'target_changes': Scenario(
        'target_changes', 'one model on the GPU, camera 20 Hz, latency target 60 -> 45 -> 80 '
        '-> 50 ms', 40.0,
        (AppSpec('cam', 'gpu', 20.0, 60.0),),
        (Event(10.0, 'param', 'apps.cam.latency_target_ms', 45.0),
         Event(20.0, 'param', 'apps.cam.latency_target_ms', 80.0),
         Event(30.0, 'param', 'apps.cam.latency_target_ms', 50.0))),
    'contention': Scenario(
        'contention', 'one model on CPU cluster cpu0 (2 cores), camera 5 Hz, target 300 ms; '
        'another program takes one of the two cores from 15 s to 30 s', 40.0,
        (AppSpec('cam', 'cpu0', 5.0, 300.0),),
        (Event(15.0, 'load', 'cpu0', 0.5), Event(30.0, 'load', 'cpu0', 0.0))),
    'two_models': Scenario(
        'two_models', 'two models share the GPU, cameras 15 Hz, targets 110 ms (priority 2) and '
        '150 ms (priority 1); the second target drops to 100 ms at 20 s', 40.0,
        (AppSpec('front', 'gpu', 15.0, 110.0, priority=2),
         AppSpec('rear', 'gpu', 15.0, 150.0, priority=1)),
        (Event(20.0, 'param', 'apps.rear.latency_target_ms', 100.0),)),
}
