"""Unit tests of the manager policy on crafted telemetry (no ROS)."""

import copy
import math
import random

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager.data import FrameStats, PowerSnapshot, SystemSnapshot
from dynofa_ros.core.manager.latency_model import LatencyModel
from dynofa_ros.core.manager.policy import load_catalog, ManagerPolicy
from dynofa_ros.core.platforms.power_law import PowerModel
from dynofa_ros.core.platforms.profiles import Domain
from dynofa_ros.core.platforms.scaling_law import latency_factor
import numpy as np
import pytest

GPU = Domain('gpu', 'devfreq', (), (114750, 306000, 510000, 701250, 905250, 1109250))
CPU = Domain('cpu0', 'cpufreq', (0, 1), (422400, 960000, 1420800, 1907200))
KEY = 'gpu/jetson_xavier_nx/published'


def make(apps=('cam',), domains=(GPU, CPU), **values):
    base = {'frequency_probe': False}    # tested on its own below
    for app in apps:
        base.update({f'apps.{app}.domains': ['gpu'], f'apps.{app}.profile_key': KEY,
                     f'apps.{app}.latency_target_ms': 60.0})
    base.update(values)
    config = manager_config.initial(list(apps), base, {d.name for d in domains})
    return ManagerPolicy(config, list(domains))


def system(t, policy, temp=40.0):
    """Report every domain at the frequency the policy commanded (maximum before that)."""
    freqs = {n: c.frequency_khz for n, c in policy.commanded.items() if c.mode == 'pin'}
    freqs.update({n: d.f_max for n, d in policy.domains.items() if n not in freqs})
    return SystemSnapshot(t, freqs, {}, {}, temp)


def frames(policy, app, t0, count, latency_of, period=0.05, step_every=0):
    """
    Feed `count` frames whose latency is latency_of(subnet index, freq); return decisions.

    With step_every, the outer loop also runs every that many frames (as the node's timer does).
    """
    out = []
    for k in range(count):
        t = t0 + k * period
        policy.on_system(system(t, policy))
        if step_every and k % step_every == step_every - 1:
            out.extend(policy.step(t).subnets)
        state = policy.apps[app]
        f = policy.last_frequency(state.domain.name)
        d = policy.on_frame(FrameStats(app, t, state.current, latency_of(state.current, f),
                                       k + 1, 0))
        out.extend(d.subnets)
    return out


def truth(policy, app, factor=1.0):
    """Return a latency function equal to the catalog model times factor."""
    model = policy.apps[app].model

    def latency(index, f):    # the setting's sensitivity, not a fitted one
        return float(model.base[index] * latency_factor(f, model.f_ref, model.sensitivity)
                     ) * factor
    return latency


def planned_then_slowed(**values):
    """
    Return (policy, state, plan): one outer step, then a 1.6x slowdown for two frames.

    The inner loop has switched down from the outer loop's plan (held).
    """
    policy = make(up_frames=5, **values)
    policy.on_system(system(0.0, policy))
    policy.step(0.0)
    state = policy.apps['cam']
    plan = state.planned
    frames(policy, 'cam', 0.1, 2, truth(policy, 'cam', 1.6))  # contention: switched down
    return policy, state, plan


def test_target_met_with_least_energy_and_no_changes_when_on_model():
    # latency_quantile 0: the fixed margin (a margin from the spread is tested separately).
    policy = make(latency_quantile=0.0, **{'apps.cam.latency_target_ms': 80.0})
    frames(policy, 'cam', 0.0, 20, truth(policy, 'cam'), period=0.1)   # 10 Hz camera
    policy.on_system(system(1.0, policy))
    decisions = policy.step(1.0)
    assert [d.domain for d in decisions.dvfs] == ['gpu']
    (cmd,) = decisions.subnets
    assert cmd.expected_latency_ms <= 80.0 * 0.9
    state = policy.apps['cam']
    assert state.feasible
    # Below the maximum frequency: the target leaves slack to save energy.
    assert decisions.dvfs[0].frequency_khz < GPU.f_max
    # Within accuracy_slack of the most accurate sub-network that fits at any frequency.
    best = int(np.flatnonzero(state.model.solo(GPU.f_max) <= 72.0)[-1])
    assert cmd.expected_accuracy >= state.model.accuracy[best] - policy.config.accuracy_slack
    later = frames(policy, 'cam', 1.1, 200, truth(policy, 'cam'), period=0.1)
    policy.on_system(system(21.0, policy))
    assert later == [] and not policy.step(21.0)


def test_a_probe_one_frequency_down_fits_the_sensitivity_and_then_saves_energy():
    policy = make(frequency_probe=True, latency_quantile=0.0,
                  **{'apps.cam.domains': ['cpu0'], 'apps.cam.latency_target_ms': 250.0})
    model = policy.apps['cam'].model
    assert model.k == 0.9 and model.wants_frequency_sample()

    def true_latency(index, f):         # the board's work scales less with 1/f than assumed
        return float(model.base[index] * latency_factor(f, model.f_ref, 0.6))
    policy.on_system(system(0.0, policy))
    policy.step(0.0)
    reasons = []
    for k in range(15):       # 4 frames a second, an outer step every second
        frames(policy, 'cam', k, 4, true_latency, period=0.25)
        policy.on_system(system(k + 1.0, policy))
        reasons += [d.reason for d in policy.step(k + 1.0).dvfs]
    # 8 frames at the planned frequency, then a probe 25 % away until 8 frames there too.
    assert any('probe' in r for r in reasons), reasons
    assert len(model.by_freq) >= 2 and not model.wants_frequency_sample()
    assert model.k == pytest.approx(0.6, abs=0.05)
    # What it learnt lets the outer loop plan a frequency the prior 0.9 ruled out.
    policy.on_system(system(20.0, policy))
    policy.step(20.0)
    learnt = policy.commanded['cpu0'].frequency_khz
    prior = make(latency_quantile=0.0, **{'apps.cam.domains': ['cpu0'],
                                          'apps.cam.latency_target_ms': 250.0})
    prior.apps['cam'].current = policy.apps['cam'].current
    prior.on_system(system(0.0, prior))
    prior.step(0.0)
    assert learnt <= prior.commanded['cpu0'].frequency_khz
    assert policy.apps['cam'].current >= prior.apps['cam'].current


def test_infeasible_target_runs_fastest_configuration_and_reports_it():
    policy = make(**{'apps.cam.latency_target_ms': 5.0})
    policy.on_system(system(0.0, policy))
    decisions = policy.step(0.0)
    assert decisions.dvfs[0].frequency_khz == GPU.f_max
    assert decisions.subnets[0].subnet_index == 0
    status = policy.status(0.0)['apps']['cam']
    assert status['feasible'] is False and 'infeasible' in status['note']


def test_stale_telemetry_holds_the_decision_and_says_so():
    policy = make()
    policy.on_system(system(0.0, policy))
    assert policy.step(0.0)
    config = manager_config.apply(policy.config, {'apps.cam.latency_target_ms': 40.0})
    policy.configure(config)
    assert not policy.step(5.0), 'stale telemetry must not change the decision'
    assert 'old' in policy.status(5.0)['stale']
    policy.on_system(system(5.1, policy))
    assert policy.step(5.2).subnets, 'fresh telemetry again: the new target applies'
    assert policy.status(5.2)['stale'] == ''


def test_no_telemetry_yet_is_stale():
    policy = make()
    assert not policy.step(0.0)
    assert policy.status(0.0)['stale'] == 'no system telemetry yet'


def test_two_apps_sharing_a_domain_are_decided_jointly():
    policy = make(apps=('a', 'b'), **{'apps.a.latency_target_ms': 110.0,
                                      'apps.b.latency_target_ms': 150.0,
                                      'apps.a.priority': 2})
    policy.on_system(system(0.0, policy))
    decisions = policy.step(0.0)
    assert sorted(d.app_id for d in decisions.subnets) == ['a', 'b']
    by_app = {d.app_id: d for d in decisions.subnets}
    # Jointly predicted latency (each slowed down by the other) within each target x margin.
    assert by_app['a'].expected_latency_ms <= 99.0
    assert by_app['b'].expected_latency_ms <= 135.0
    alone = make(**{'apps.cam.latency_target_ms': 110.0})
    alone.on_system(system(0.0, alone))
    solo = alone.step(0.0).subnets[0]
    # Sharing doubles the busy time: alone, a far larger latency budget per app is left.
    assert solo.expected_latency_ms < by_app['a'].expected_latency_ms


def test_priority_decides_when_targets_conflict():
    policy = make(apps=('hi', 'lo'), **{'apps.hi.latency_target_ms': 90.0,
                                        'apps.lo.latency_target_ms': 40.0,
                                        'apps.hi.priority': 5})
    for app in ('hi', 'lo'):   # both cameras at 10 Hz (as measured): the GPU is not saturated
        policy.apps[app].rate_hz = 10.0
    policy.on_system(system(1.0, policy))
    policy.step(1.0)
    status = policy.status(1.0)['apps']
    assert status['lo']['feasible'] is False and status['hi']['feasible'] is True
    assert "['lo'] dropped" in status['hi']['note']
    assert policy.apps['lo'].current == 0
    assert policy.apps['hi'].predicted_ms <= 90.0 * 0.9


def test_inner_loop_reacts_within_a_few_frames_and_then_holds():
    policy = make()
    policy.on_system(system(0.0, policy))
    policy.step(0.0)
    start = policy.apps['cam'].current
    # Another program slows everything down 1.6x: switch down within down_frames frames.
    slow = frames(policy, 'cam', 0.1, 2, truth(policy, 'cam', 1.6))
    assert len(slow) == 1 and slow[0].subnet_index < start
    assert 'inner' in slow[0].reason
    rng = random.Random(3)
    noisy = truth(policy, 'cam', 1.6)
    after = frames(policy, 'cam', 1.0, 300, lambda i, f: noisy(i, f) * rng.uniform(0.95, 1.05))
    assert len(after) <= 1, f'oscillation: {[d.subnet_id for d in after]}'


def test_up_switch_when_latency_drops_and_backoff_prevents_oscillation():
    policy, state, _ = planned_then_slowed()
    low = state.current
    # Contention ends: latency falls under the band, a more accurate sub-network comes back.
    up = frames(policy, 'cam', 1.0, 40, truth(policy, 'cam', 1.0), step_every=20)
    assert up and up[0].subnet_index > low
    # A measured latency that flips with every sub-network (model wrong in a way the ratio
    # cannot capture) would oscillate; the backoff makes up-switches rarer and rarer.
    model = state.model
    state.planned = len(model.base) - 1    # the outer loop planned the most accurate one

    def adversary(index, f):
        return 62.0 if index > low else float(model.base[index] * model.freq_factor(f)) * 0.7
    switches = frames(policy, 'cam', 5.0, 600, adversary)
    ups = [b for a, b in zip(switches, switches[1:]) if b.subnet_index > a.subnet_index]
    assert state.backoff == 16
    # Without backoff an up-switch would be tried every up_frames (5) frames: 120 times.
    assert len(ups) <= 10, f'{len(ups)} up-switches in 600 frames'


def test_the_inner_loop_climbs_back_to_the_outer_plan_and_no_higher():
    policy, state, plan = planned_then_slowed()
    assert 1 <= plan and state.current < plan
    # Contention over, latency far under the band: the inner loop climbs back to the plan
    # but not above it (the outer loop weighs energy against the more accurate ones).
    frames(policy, 'cam', 1.0, 60, truth(policy, 'cam', 0.5))
    assert state.current == plan


def test_a_new_target_clears_the_backoff_and_the_hold_after_a_down_switch():
    policy, state, _ = planned_then_slowed()
    low = state.current
    state.backoff = 16                                          # after many undone up-switches
    assert policy.mode.allowed(state, policy.config) == tuple(range(low + 1))  # held down
    relaxed = manager_config.apply(policy.config, {'apps.cam.latency_target_ms': 200.0})
    policy.configure(relaxed)
    assert state.backoff == 1 and policy.mode.allowed(state, policy.config) is None
    policy.on_system(system(1.0, policy))
    up = policy.step(1.0).subnets
    assert up and up[0].subnet_index > low


def test_parameter_change_applies_at_the_next_step():
    policy = make()
    policy.on_system(system(0.0, policy))
    first = policy.step(0.0).subnets[0]
    policy.configure(manager_config.apply(policy.config, {'apps.cam.latency_target_ms': 45.0}))
    policy.on_system(system(0.5, policy))
    second = policy.step(0.5).subnets[0]
    assert second.subnet_index < first.subnet_index
    assert second.expected_latency_ms <= 45.0 * 0.9


def test_accuracy_floor_is_respected_when_reachable():
    policy = make(**{'apps.cam.min_accuracy': 77.0, 'apps.cam.latency_target_ms': 80.0,
                     'accuracy_slack': 10.0})
    policy.on_system(system(0.0, policy))
    cmd = policy.step(0.0).subnets[0]
    assert cmd.expected_accuracy >= 77.0


def test_power_budget_lowers_the_frequency():
    free = make(**{'apps.cam.latency_target_ms': 45.0})
    free.on_system(system(0.0, free))
    f_free = free.step(0.0).dvfs[0].frequency_khz
    capped = make(**{'apps.cam.latency_target_ms': 45.0, 'power_budget_w': 6.0})
    capped.on_system(system(0.0, capped))
    f_capped = capped.step(0.0).dvfs[0].frequency_khz
    assert f_capped < f_free
    assert capped.power.static_w + float(capped.power.domain_power('gpu', f_capped, 1.0)) <= 6.0


def test_temperature_limit_caps_the_frequency():
    policy = make(**{'apps.cam.latency_target_ms': 45.0, 'temperature_limit_c': 70.0})
    freqs = []
    for k in range(3):
        policy.on_system(system(k, policy, temp=80.0))
        policy.step(float(k))
        freqs.append(policy.last_frequency('gpu'))
    assert freqs[-1] < GPU.f_max and policy.cap['gpu'] == len(GPU.frequencies_khz) - 4


def test_governor_baseline_hands_domains_to_the_kernel_with_a_fixed_subnet():
    policy = make(policy='schedutil')
    decisions = policy.step(0.0)
    assert [(d.domain, d.mode, d.governor) for d in decisions.dvfs] == [
        ('gpu', 'governor', 'simple_ondemand')]     # devfreq: no schedutil there
    fixed = decisions.subnets[0].subnet_index
    assert fixed == policy.apps['cam'].fixed
    assert not frames(policy, 'cam', 0.1, 50, truth(policy, 'cam', 2.0))
    assert not policy.step(5.0)


def test_governor_baseline_picks_its_fixed_subnet_again_for_a_new_target():
    policy = make(policy='schedutil', **{'apps.cam.latency_target_ms': 40.0})
    first = policy.step(0.0).subnets[0].subnet_index
    policy.configure(manager_config.apply(policy.config, {'apps.cam.latency_target_ms': 80.0}),
                     {'apps.cam.latency_target_ms'})
    relaxed = policy.step(1.0).subnets[0].subnet_index
    assert relaxed > first
    model = policy.apps['cam'].model
    assert model.solo(GPU.f_max)[relaxed] <= 80.0 * policy.config.latency_margin
    pinned = make(policy='schedutil', **{'apps.cam.baseline_subnet': 'n7_2'})
    pinned.configure(manager_config.apply(pinned.config, {'apps.cam.latency_target_ms': 80.0}),
                     {'apps.cam.latency_target_ms'})
    assert pinned.apps['cam'].fixed == pinned.apps['cam'].model.catalog.get('n7_2').index


def test_algorithm_only_pins_the_maximum_and_hardware_only_keeps_the_subnet():
    algo = make(policy='algorithm_only', **{'apps.cam.latency_target_ms': 80.0})
    algo.on_system(system(0.0, algo))
    assert algo.step(0.0).dvfs[0].frequency_khz == GPU.f_max
    hw = make(policy='hardware_only',
              **{'apps.cam.latency_target_ms': 80.0, 'apps.cam.baseline_subnet': 'n7_2'})
    hw.on_system(system(0.0, hw))
    decisions = hw.step(0.0)
    assert [d.subnet_id for d in decisions.subnets] == ['n7_2']
    assert decisions.dvfs[0].frequency_khz < GPU.f_max


def test_policy_change_at_run_time_reissues_decisions():
    policy = make()
    policy.on_system(system(0.0, policy))
    policy.step(0.0)
    policy.configure(manager_config.apply(policy.config, {'policy': 'performance'}))
    decisions = policy.step(0.5)
    assert decisions.dvfs[0].mode == 'governor' and decisions.dvfs[0].governor == 'performance'


def test_latency_model_falls_back_and_learns_the_scale_online():
    cat = load_catalog(manager_config.DEFAULT_CATALOG)
    model = LatencyModel(cat, CPU, profile_key='')
    assert not model.calibrated and 'learnt online' in model.source
    measured = 3.0 * model.base[2] * float(model.freq_factor(960000))
    model.observe(2, 960000, measured)
    assert model.predict(2, 960000) == pytest.approx(measured)
    bare = copy.deepcopy(cat)
    for s in bare.subnets:
        s.latency_ms = {}
    by_macs = LatencyModel(bare, GPU)
    assert 'MACs' in by_macs.source
    assert list(by_macs.base) == sorted(by_macs.base)
    for s in bare.subnets:
        s.macs_m = float('nan')
    order_only = LatencyModel(bare, GPU)
    assert 'catalog order' in order_only.source
    assert list(order_only.base) == sorted(order_only.base)


def test_latency_model_uses_this_machines_profile_when_present():
    cat = copy.deepcopy(load_catalog(manager_config.DEFAULT_CATALOG))
    key = catalog_mod.profile_key('cpu')
    for s in cat.subnets:
        s.latency_ms[key] = {1: 100.0 + s.index, 2: 60.0 + s.index}
    model = LatencyModel(cat, CPU, threads=2)
    assert model.calibrated and model.base[0] == 60.0 and 'this machine' in model.source
    model.set_threads(1)
    assert model.base[0] == 100.0


def test_power_model_fits_a_measured_sensor():
    model = PowerModel([GPU])
    before = model.total({'gpu': GPU.f_max}, {'gpu': 1.0})
    for _ in range(100):
        model.observe(2.0 * before, {'gpu': GPU.f_max}, {'gpu': 1.0})
    assert model.fitted and model.scale > 1.5
    assert math.isclose(model.total({'gpu': GPU.f_max}, {'gpu': 1.0}), 2.0 * before, rel_tol=0.1)


def test_measured_power_feeds_the_policy_model():
    policy = make()
    policy.on_system(system(0.0, policy))
    for k in range(50):
        policy.on_power(PowerSnapshot(k * 0.1, 30.0, True))
    assert policy.power.scale > 1.0
    policy.on_power(PowerSnapshot(6.0, 1.0, False))
    scale = policy.power.scale
    policy.on_power(PowerSnapshot(6.1, 1.0, False))
    assert policy.power.scale == scale, 'estimated power must not fit the model'


def test_a_target_set_again_to_the_same_value_clears_the_hold_and_backoff():
    policy, state, _ = planned_then_slowed()
    state.backoff = 8
    assert policy.mode.allowed(state, policy.config) is not None   # held down
    policy.configure(policy.config)                                # nothing set: nothing new
    assert state.backoff == 8
    policy.configure(policy.config, {'apps.cam.latency_target_ms'})  # the same value set again
    assert state.backoff == 1 and policy.mode.allowed(state, policy.config) is None


def test_the_hold_after_a_down_switch_lasts_seconds_not_backoff_frames():
    policy = make(up_frames=10, hold_after_down_s=1.0)
    policy.on_system(system(0.0, policy))
    policy.step(0.0)
    state = policy.apps['cam']
    frames(policy, 'cam', 0.1, 2, truth(policy, 'cam', 1.6))
    state.backoff = 16              # 2 x 10 x 16 = 320 frames under the old rule
    assert policy.mode.allowed(state, policy.config) is not None
    state.last_t = state.down_t + 1.01
    assert policy.mode.allowed(state, policy.config) is None


def test_end_of_contention_clears_what_was_learnt_under_it():
    policy = make(up_frames=5, hold_after_down_s=60.0)
    policy.on_system(system(0.0, policy))
    policy.step(0.0)
    state = policy.apps['cam']
    frames(policy, 'cam', 0.1, 10, truth(policy, 'cam', 1.8), period=0.1)   # contention
    assert state.contended and policy.mode.allowed(state, policy.config) is not None
    state.backoff = 16
    frames(policy, 'cam', 1.2, 15, truth(policy, 'cam'), period=0.1)        # it ends
    assert not state.contended and state.backoff == 1
    assert policy.mode.allowed(state, policy.config) is None


def test_latency_margin_comes_from_the_measured_spread():
    rng = random.Random(3)
    quiet = make(**{'apps.cam.latency_target_ms': 80.0})
    noisy = make(**{'apps.cam.latency_target_ms': 80.0})
    for policy, noise in ((quiet, 0.01), (noisy, 0.15)):
        policy.on_system(system(0.0, policy))
        policy.step(0.0)
        base = truth(policy, 'cam')
        frames(policy, 'cam', 0.0, 60,
               lambda i, f: base(i, f) * (1.0 + rng.uniform(-noise, noise)), period=0.1)
    m_quiet = quiet.apps['cam'].model.margin(0.95, 0.9)
    m_noisy = noisy.apps['cam'].model.margin(0.95, 0.9)
    assert 0.97 < m_quiet <= 1.0 and 0.8 < m_noisy < 0.9
    fixed = make(latency_quantile=0.0)
    assert fixed.apps['cam'].model.margin(0.0, 0.9) == 0.9
