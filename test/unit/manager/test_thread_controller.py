"""Unit tests of the task-mapping controller and its place in the manager policy (no ROS)."""

import copy
import random

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager.data import FrameStats, SystemSnapshot
from dynofa_ros.core.manager.latency_model import LatencyModel
from dynofa_ros.core.manager.policy import load_catalog
from dynofa_ros.core.manager.thread_controller import MAX_PROBE_S, ThreadController
import pytest
from test_manager_policy import CPU, GPU, make

PROFILE = {1: 80.0, 2: 50.0, 3: 40.0, 4: 35.0}   # ms at each thread count, quiet machine


class Machine:
    """Run a controller on a simulated machine: latency = profile x slowdown(threads)."""

    def __init__(self, controller, threads, slowdown=None):
        self.c, self.threads, self.t = controller, threads, 0.0
        self.slowdown = slowdown or (lambda n: 1.0)
        self.changes = []

    def run(self, seconds, noise=0.0, rng=None, fresh=True):
        end = self.t + seconds
        while self.t < end:
            latency = PROFILE[self.threads] * self.slowdown(self.threads)
            if noise:
                latency *= 1.0 + rng.uniform(-noise, noise)
            change = self.c.observe(self.t, self.threads, latency, PROFILE, fresh)
            if change:
                self.changes.append((self.t,) + change)
                self.threads = change[0]    # the perception node applies it at the next frame
            self.t += latency / 1000.0
        return self.changes


def contended(n):
    """Two threads stall on a busy second core; one thread is barely slower."""
    return 70.0 if n >= 2 else 1.2


def test_contention_drops_to_fewer_threads_within_a_few_frames():
    machine = Machine(ThreadController(1, 2, 15.0, current=2), 2, contended)
    machine.run(12.0)
    (t, threads, reason) = machine.changes[0]
    assert threads == 1 and 'contention' in reason and 'slower than profiled' in reason
    assert t < 3 * 70 * 50 / 1000.0 + 0.01     # on the third slow frame
    machine.run(5.0)
    assert len(machine.changes) == 1    # then it stays (the next probe is 15 s away)


def test_quiet_machine_probes_one_more_thread_later_and_keeps_it():
    machine = Machine(ThreadController(1, 4, 15.0, current=1), 1)
    machine.run(14.0)
    assert machine.changes == []
    machine.run(2.0)
    ((t, threads, reason),) = machine.changes
    assert threads == 2 and 'probe' in reason and 15.0 <= t < 16.0
    machine.run(20.0)
    assert [c[1] for c in machine.changes] == [2, 3]    # kept: the next probe 15 s later
    assert 'probe kept' in machine.c.note or machine.c.probe_from == 3 - 1


def test_worse_probe_reverts_and_backs_off_up_to_the_cap():
    machine = Machine(ThreadController(1, 2, 15.0, current=1), 1, contended)
    machine.run(400.0)
    probes = [t for t, n, _ in machine.changes if n == 2]
    reverts = [(t, r) for t, n, r in machine.changes if n == 1]
    assert len(probes) == len(reverts) >= 4
    assert all('probe reverted' in r for _, r in reverts)
    gaps = [b - a for (a, _), b in zip(reverts, probes[1:])]
    assert gaps[0] >= 30.0 and gaps[1] >= 60.0           # doubled after every worse probe
    assert max(gaps) < MAX_PROBE_S + 5.0                  # and capped


def test_probe_worse_by_less_than_the_keep_gain_reverts():
    machine = Machine(ThreadController(1, 2, 15.0, current=1), 1,
                      lambda n: 80.0 / 50.0 * 0.95 if n == 2 else 1.0)
    machine.run(17.0)
    assert [n for _, n, _ in machine.changes] == [2, 1]


def test_limits_are_respected():
    # Reported above max: brought down at once; never probed above max.
    machine = Machine(ThreadController(1, 3, 15.0), 4)
    machine.run(200.0)
    assert machine.changes[0][1:] == (3, 'mapping: 3 threads: 4 threads outside the allowed '
                                         '[1, 3]')
    assert all(n <= 3 for _, n, _ in machine.changes)
    # Contention never drops below min.
    machine = Machine(ThreadController(2, 4, 15.0, current=4), 4, lambda n: 70.0)
    machine.run(300.0)
    assert machine.changes and all(n >= 2 for _, n, _ in machine.changes)
    assert min(n for _, n, _ in machine.changes) == 2


def test_no_oscillation_under_noise():
    rng = random.Random(3)
    # Quiet machine at the maximum: noisy frames (with rare 2.5x spikes) change nothing.
    spikes = Machine(ThreadController(1, 2, 15.0, current=2), 2,
                     lambda n: 2.5 if rng.random() < 0.05 else 1.0)
    assert spikes.run(300.0, noise=0.3, rng=rng) == []
    # A probe target within noise of the current count: at most one probe per interval.
    flat = Machine(ThreadController(1, 2, 15.0, current=1), 1,
                   lambda n: 80.0 / 50.0 if n == 2 else 1.0)
    flat.run(300.0, noise=0.3, rng=rng)
    probes = [t for t, n, _ in flat.changes if n == 2]
    assert all(b - a >= 15.0 for a, b in zip(probes, probes[1:]))
    assert 1 <= len(probes) <= 5          # 15 + 30 + 60 + 120 s: a handful of probes
    assert len(flat.changes) <= 2 * len(probes)


def test_stale_telemetry_holds():
    machine = Machine(ThreadController(1, 2, 15.0, current=2), 2, contended)
    assert machine.run(30.0, fresh=False) == []
    machine = Machine(ThreadController(1, 4, 15.0, current=1), 1)
    assert machine.run(60.0, fresh=False) == []


def test_frames_from_the_previous_mapping_are_ignored_then_adopted():
    c = ThreadController(1, 2, 15.0, current=2)
    for k in range(3):
        change = c.observe(k * 3.6, 2, 3600.0, PROFILE)
    assert change[0] == 1
    # Frames still run at two threads (queued) and say nothing about one thread.
    for k in range(5):
        assert c.observe(20 + k * 3.6, 2, 3600.0, PROFILE) is None
    assert c.current == 1
    # A command refused for good: after enough frames the reported count is adopted.
    for k in range(30):
        c.observe(60 + k * 0.05, 2, 50.0, PROFILE)
    assert c.current == 2 and 'adopted' in c.note


def system(t):
    return SystemSnapshot(t, {'gpu': GPU.f_max, 'cpu0': 1907200}, {}, {}, 40.0)


def test_policy_emits_a_mapping_decision_and_switches_the_model_profile():
    policy = make(**{'apps.cam.max_threads': 2})
    state = policy.apps['cam']
    decisions = []
    for k in range(6):
        t = k * 3.6
        policy.on_system(system(t))
        d = policy.on_frame(FrameStats('cam', t, 6, 4000.0, k + 1, 0, 2))
        decisions.extend(d.mappings)
    (decision,) = decisions
    assert decision.app_id == 'cam' and decision.num_threads == 1 and decision.device == ''
    assert 'contention' in decision.reason
    assert state.model.threads == 1 and state.mapping.current == 1
    assert policy.status(t)['apps']['cam']['threads'] == 1
    # Stale system telemetry: no mapping decision.
    stale = make(**{'apps.cam.max_threads': 2})
    out = [stale.on_frame(FrameStats('cam', k * 3.6, 6, 4000.0, k + 1, 0, 2)).mappings
           for k in range(6)]
    assert not any(out)


def test_mapping_is_off_by_default_and_for_baselines():
    for values in ({}, {'apps.cam.max_threads': 2, 'policy': 'algorithm_only'},
                   {'apps.cam.max_threads': 2, 'policy': 'performance'}):
        policy = make(**values)
        assert policy.apps['cam'].mapping is None
        for k in range(6):
            policy.on_system(system(k * 3.6))
            assert not policy.on_frame(FrameStats('cam', k * 3.6, 6, 4000.0, k + 1, 0,
                                                  2)).mappings


def test_profiled_prediction_per_thread_count_without_the_online_correction():
    cat = copy.deepcopy(load_catalog(manager_config.DEFAULT_CATALOG))
    key = catalog_mod.profile_key('cpu')
    for s in cat.subnets:
        s.latency_ms[key] = {1: 100.0 + s.index, 2: 60.0 + s.index}
    model = LatencyModel(cat, CPU, threads=2, sensitivity=1.0)
    model.observe(0, CPU.f_max, 600.0)       # contention moves the correction ...
    assert model.ratio > 1.5
    assert model.profiled(0, CPU.f_max, 1) == 100.0     # ... not the profiled prediction
    assert model.profiled(0, CPU.f_max, 2) == 60.0
    assert model.profiled(0, CPU.f_max, 8) == 60.0      # not profiled: the largest count
    assert model.profiled(0, CPU.f_max / 2, 1) == pytest.approx(200.0)
    # Another machine's profile: its absolute scale comes from the first measurement.
    other = LatencyModel(load_catalog(manager_config.DEFAULT_CATALOG), CPU)
    first = other.profiled(3, CPU.f_max, 1)
    other.observe(3, CPU.f_max, 2.5 * first)
    other.observe(3, CPU.f_max, 40.0 * first)
    assert other.profiled(3, CPU.f_max, 1) == pytest.approx(2.5 * first)


def test_probes_again_within_a_few_frames_once_contention_ends():
    state = {'busy': True}

    def slowdown(n):
        if not state['busy']:
            return 1.0
        return 70.0 if n >= 2 else 2.0     # the second program slows even one thread

    machine = Machine(ThreadController(1, 2, 15.0, current=2), 2, slowdown)
    machine.run(14.0)
    assert [c[1] for c in machine.changes] == [1]
    state['busy'] = False
    end = machine.t
    machine.run(3.0)
    (t, threads, reason) = machine.changes[1]
    # Without the end-of-contention rule the next probe would be 30 s after the drop.
    assert threads == 2 and 'probe' in reason and t - end < 10 * PROFILE[1] / 1000.0
    machine.run(5.0)
    assert machine.threads == 2 and machine.c.interval == 15.0
