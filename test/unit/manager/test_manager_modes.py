"""The manager's modes, outer loop and telemetry reads as separate pieces (no ROS)."""

import math

from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager import modes, telemetry_reads as telemetry
from dynofa_ros.core.manager.data import Decisions, DvfsDecision, FrameStats, SystemSnapshot
from dynofa_ros.core.manager.outer_loop import command, thermal_caps, THERMAL_HYSTERESIS_C
import pytest
from test_manager_policy import GPU, make, system, truth

EXPECTED = {'dynofa': modes.DynOfa, 'algorithm_only': modes.AlgorithmOnly,
            'hardware_only': modes.HardwareOnly, 'performance': modes.GovernorBaseline,
            'powersave': modes.GovernorBaseline, 'ondemand': modes.GovernorBaseline,
            'schedutil': modes.GovernorBaseline}


def test_every_policy_setting_selects_its_mode_object():
    assert set(EXPECTED) == set(manager_config.POLICIES)
    for name, cls in EXPECTED.items():
        policy = make(policy=name)
        assert type(policy.mode) is cls and policy.mode.name == name
        assert policy.mode.maps_threads == (name == 'dynofa')
        if name in manager_config.GOVERNOR_POLICIES:
            assert policy.mode.governor == name
        else:
            assert not hasattr(policy.mode, 'governor')
    with pytest.raises(ValueError, match='unknown policy'):
        modes.select('fastest')


def test_a_policy_change_swaps_the_mode_object_and_a_target_change_keeps_it():
    policy = make()
    dynofa = policy.mode
    policy.configure(manager_config.apply(policy.config, {'apps.cam.latency_target_ms': 40.0}))
    assert policy.mode is dynofa
    policy.configure(manager_config.apply(policy.config, {'policy': 'hardware_only'}))
    assert isinstance(policy.mode, modes.HardwareOnly)
    policy.configure(manager_config.apply(policy.config, {'policy': 'ondemand'}))
    assert isinstance(policy.mode, modes.GovernorBaseline) and policy.mode.governor == 'ondemand'


def test_modes_offer_the_outer_loop_their_frequencies_and_subnets():
    policy = make(**{'apps.cam.baseline_subnet': 'n7_2'})
    state, cfg = policy.apps['cam'], policy.config
    state.current = 5
    assert list(modes.select('dynofa').frequencies(GPU, 3)) == list(GPU.frequencies_khz[:4])
    assert list(modes.select('hardware_only').frequencies(GPU, 3)) == list(
        GPU.frequencies_khz[:4])
    assert list(modes.select('algorithm_only').frequencies(GPU, 3)) == [GPU.frequencies_khz[3]]
    assert modes.select('hardware_only').allowed(state, cfg) == (state.fixed,)
    assert state.fixed == state.model.catalog.get('n7_2').index
    for name in ('dynofa', 'algorithm_only'):
        assert modes.select(name).allowed(state, cfg) is None
        state.down_t, state.last_t = 10.0, 10.0   # just switched down: held below
        assert modes.select(name).allowed(state, cfg) == tuple(range(6))
        state.backoff = 16        # the hold lasts hold_after_down_s whatever the backoff
        state.last_t = 10.0 + cfg.hold_after_down_s
        assert modes.select(name).allowed(state, cfg) is None
        state.backoff = 1


def test_hardware_only_asks_for_an_early_outer_step_when_a_frame_is_over_target():
    policy = make(policy='hardware_only', **{'apps.cam.latency_target_ms': 80.0})
    policy.on_system(system(0.0, policy))
    f_before = policy.step(0.0).dvfs[0].frequency_khz
    state = policy.apps['cam']
    fixed = state.current
    frame = FrameStats('cam', 0.1, fixed, 70.0, 1, 0)
    assert not policy.on_frame(frame) and not state.need_outer
    policy.on_system(system(0.5, policy))
    out = policy.on_frame(FrameStats('cam', 0.5, fixed, 200.0, 2, 0))
    assert not out.subnets, 'hardware_only keeps its sub-network'
    assert out.dvfs and out.dvfs[0].frequency_khz > f_before, 'a faster frequency instead'
    assert not state.need_outer and policy.last_outer == 0.5


def snapshot(policy):
    """Return everything a call could change in the policy (shallow copies, compared by ==)."""
    return (dict(vars(policy)), dict(policy.commanded), dict(policy.cap),
            {a: dict(vars(s)) for a, s in policy.apps.items()})


def test_a_freshness_check_on_stale_telemetry_changes_nothing():
    policy = make()
    policy.on_system(system(0.0, policy))
    policy.step(0.0)
    policy.on_frame(FrameStats('cam', 0.1, policy.apps['cam'].current, 50.0, 1, 0))
    policy.configure(manager_config.apply(policy.config, {'apps.cam.latency_target_ms': 40.0}))
    before = snapshot(policy)
    stale = 0.1 + policy.config.stale_after_s + 1.0
    assert not policy.is_fresh(stale)
    assert 'old' in policy.staleness(stale)
    assert 'old' in policy.status(stale)['stale']
    assert policy.frequency('gpu', stale) == policy.commanded['gpu'].frequency_khz
    assert not policy.step(stale), 'stale telemetry holds the decision'
    assert snapshot(policy) == before
    # The answer does not depend on what was asked before: fresh again, then stale again.
    assert policy.is_fresh(0.5) and policy.staleness(0.5) == '' and policy.step(0.5)
    assert 'old' in policy.status(stale)['stale'] and policy.status(0.5)['stale'] == ''


def test_telemetry_reads_are_pure_functions_of_their_arguments():
    snap = SystemSnapshot(10.0, {'gpu': 306000}, {}, {'gpu': 0.4})
    assert telemetry.staleness(None, 0.0, 2.0) == 'no system telemetry yet'
    assert not telemetry.is_fresh(None, 0.0, 2.0)
    assert telemetry.is_fresh(snap, 12.0, 2.0) and telemetry.staleness(snap, 12.0, 2.0) == ''
    assert not telemetry.is_fresh(snap, 12.5, 2.0)
    assert telemetry.staleness(snap, 12.5, 2.0) == 'system telemetry 2.5 s old (> 2.0 s)'
    pin = DvfsDecision('gpu', 'pin', 510000)
    assert telemetry.running_frequency(GPU, snap, pin) == 306000
    assert telemetry.running_frequency(GPU, None, pin) == 510000
    assert telemetry.running_frequency(GPU, None, DvfsDecision('gpu', 'governor', 0, 'x')) == (
        GPU.f_max)
    assert telemetry.running_frequency(GPU, SystemSnapshot(0.0), None) == GPU.f_max
    assert telemetry.busy_shares(snap, ['gpu', 'cpu0']) == {'gpu': 0.4, 'cpu0': 1.0}
    assert telemetry.busy_shares(None, ['gpu']) == {'gpu': 1.0}


def test_frequency_at_a_time_and_the_last_measured_one_differ_only_when_stale():
    policy = make(**{'apps.cam.latency_target_ms': 80.0})
    policy.on_system(system(0.0, policy))
    f_pin = policy.step(0.0).dvfs[0].frequency_khz
    assert f_pin < GPU.f_max
    policy.on_system(SystemSnapshot(1.0, {'gpu': 306000}))
    assert policy.frequency('gpu', 1.5) == policy.last_frequency('gpu') == 306000
    assert policy.frequency('gpu', 10.0) == f_pin        # stale: what was commanded
    assert policy.last_frequency('gpu') == 306000         # whatever its age
    assert policy.frequency('cpu0', 1.5) == policy.domains['cpu0'].f_max


def test_thermal_caps_step_down_when_hot_and_up_below_the_hysteresis():
    caps = {'gpu': 5}
    domains = {'gpu': GPU}
    hot = thermal_caps(caps, domains, 80.0, 70.0)
    assert hot == {'gpu': 4} and caps == {'gpu': 5}, 'the input is not changed'
    assert thermal_caps(hot, domains, 70.0 - THERMAL_HYSTERESIS_C / 2, 70.0) == hot
    assert thermal_caps(hot, domains, 70.0 - THERMAL_HYSTERESIS_C - 1, 70.0) == {'gpu': 5}
    assert thermal_caps({'gpu': 5}, domains, 40.0, 70.0) == {'gpu': 5}
    assert thermal_caps({'gpu': 0}, domains, 90.0, 70.0) == {'gpu': 0}
    assert thermal_caps({'gpu': 2}, domains, math.nan, 70.0) == {'gpu': 2}


def test_a_command_is_sent_once_until_its_setting_changes():
    commanded, out = {}, Decisions()
    command(commanded, DvfsDecision('gpu', 'pin', 510000, '', 'first'), out)
    command(commanded, DvfsDecision('gpu', 'pin', 510000, '', 'same setting, new reason'), out)
    assert [d.reason for d in out.dvfs] == ['first'] and commanded['gpu'].reason == 'first'
    command(commanded, DvfsDecision('gpu', 'governor', 0, 'schedutil'), out)
    assert [d.mode for d in out.dvfs] == ['pin', 'governor']


def test_governor_baseline_is_never_stale_and_ignores_frames():
    policy = make(policy='performance')
    assert policy.status(100.0)['stale'] == ''
    assert policy.step(0.0).dvfs
    state = policy.apps['cam']
    assert not policy.mode.on_frame(policy, 'cam', state, state.current, GPU.f_max, 1.0)
    before = snapshot(policy)
    latency = truth(policy, 'cam', 3.0)
    for k in range(10):
        assert not policy.on_frame(FrameStats('cam', 1.0 + k * 0.05, state.current,
                                              latency(state.current, GPU.f_max), k + 1, 0))
    assert state.current == state.fixed and not state.need_outer
    assert snapshot(policy)[1:3] == before[1:3]
