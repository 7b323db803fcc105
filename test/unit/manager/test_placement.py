"""Unit tests of device mapping: the manager moving an application between its domains."""

import copy
import math

from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager import placement
from dynofa_ros.core.manager.data import Decisions, FrameStats, SystemSnapshot
from dynofa_ros.core.manager.inner_loop import sharing_slowdowns
from dynofa_ros.core.manager.joint_search import Choice
from dynofa_ros.core.manager.policy import load_catalog, ManagerPolicy
from dynofa_ros.core.platforms.profiles import Domain
import pytest

GPU = Domain('gpu', 'devfreq', (), (114750, 306000, 510000, 701250, 905250, 1109250))
CPU = Domain('cpu0', 'cpufreq', (0, 1), (422400, 960000, 1420800, 1907200))
KINDS = {'gpu': 'devfreq', 'cpu0': 'cpufreq'}
GPU_KEY, CPU_KEY = 'gpu/jetson_xavier_nx/published', 'cpu/test/cluster'


def catalog(path):
    """Return the default catalog with a CPU profile: 3.2 x the GPU's latencies, 2 threads."""
    cat = copy.deepcopy(load_catalog(path))
    for s in cat.subnets:
        s.latency_ms[CPU_KEY] = {2: 3.2 * s.latency_ms[GPU_KEY][0]}
    return cat


def settings(rear_domains=('gpu', 'cpu0'), front_ms=125.0, **values):
    """Front on the GPU (8 Hz, 125 ms, priority 2); rear (4 Hz, 250 ms) may move to cpu0."""
    base = {'apps.front.domains': ['gpu'], 'apps.front.profile_key': GPU_KEY,
            'apps.front.latency_target_ms': front_ms, 'apps.front.priority': 2,
            'apps.rear.domains': list(rear_domains), 'apps.rear.latency_target_ms': 250.0,
            'apps.rear.profile_key': GPU_KEY, 'frequency_probe': False}
    if len(rear_domains) > 1:
        base['apps.rear.profile_keys'] = [{'gpu': GPU_KEY, 'cpu0': CPU_KEY}[d]
                                          for d in rear_domains]
    base.update(values)
    return base


def make(rear_domains=('gpu', 'cpu0'), front_ms=125.0, **values):
    config = manager_config.initial(['front', 'rear'], settings(rear_domains, front_ms, **values),
                                    KINDS, catalog)
    return ManagerPolicy(config, [GPU, CPU], catalog_loader=catalog)


def run(policy, t0, t1, device=None, factor=None, governed=None):
    """
    Feed both cameras' frames from t0 to t1, outer steps every second; return all Decisions.

    Each frame's latency is the policy's own model (profile x frequency x sharing), x
    factor(app) when given; its device is the active domain's unless `device` says otherwise.
    A domain the policy does not pin runs at its maximum, or at governed[name].
    """
    rates = {'front': 8.0, 'rear': 4.0}
    out = Decisions()
    frames = sorted((t0 + k / r, a) for a, r in rates.items() for k in range(int((t1 - t0) * r)))
    for t, app in frames:
        freqs = {n: c.frequency_khz for n, c in policy.commanded.items() if c.mode == 'pin'}
        freqs.update({n: (governed or {}).get(n, d.f_max) for n, d in policy.domains.items()
                      if n not in freqs})
        policy.on_system(SystemSnapshot(t, freqs, {}, {}, 40.0))
        if t - policy.last_outer >= 1.0:
            out.extend(policy.step(t))
        state = policy.apps[app]
        f = policy.last_frequency(state.domain.name)
        index = max(state.current, 0)
        shared, _ = sharing_slowdowns(policy.apps, app, f, 0.0)
        latency = float(state.model.base[index] * state.model.freq_factor(f) * shared) * (
            factor(app) if factor else 1)
        ran_on = device or placement.device_of(state.domain)
        count = int(round((t - t0) * rates[app])) + 1
        out.extend(policy.on_frame(FrameStats(app, t, index, latency, count, 0, 0, ran_on)))
    return out


def moves(decisions, app='rear'):
    return [m for m in decisions.mappings if m.app_id == app and m.device]


def test_rear_moves_to_the_cluster_when_that_costs_less_board_energy():
    policy = make()
    out = run(policy, 0.0, 3.0)
    first, moved = moves(out)
    assert (first.device, first.cpu_affinity) == ('cuda', ())     # starts where listed first
    assert (moved.device, moved.cpu_affinity) == ('cpu', (0, 1))
    assert 'saves' in moved.reason and 'energy' in moved.reason
    assert policy.apps['rear'].domain.name == 'cpu0'
    assert policy.apps['rear'].model.key == CPU_KEY
    assert 'cpu0' in {d.domain for d in out.dvfs if d.mode == 'pin'}
    status = policy.status(3.0)['apps']['rear']
    assert status['domain'] == 'cpu0' and 'saves' in status['placement']
    # The same mission with rear listing the GPU only: nothing moves, no device is sent.
    single = make(rear_domains=('gpu',))
    assert not moves(run(single, 0.0, 3.0))
    assert single.apps['rear'].domain.name == 'gpu'


def test_a_cluster_left_to_its_governor_is_priced_at_what_that_runs():
    # Rear on the GPU leaves cpu0 to its own governor: a stock power mode keeps it high, and
    # that is what moving rear there (and pinning the cluster) saves, not its lowest step.
    saving = {}
    for khz in (CPU.f_min, CPU.f_max):
        policy = make(mapping_move_saving=0.0)
        moved = moves(run(policy, 0.0, 3.0, governed={'cpu0': khz}))[-1]
        assert policy.outer.governed['cpu0'] == khz and moved.device == 'cpu'
        saving[khz] = float(moved.reason.split('saves ')[1].split('%')[0])
    assert saving[CPU.f_max] > saving[CPU.f_min]
    # Once the manager pins the cluster, its pins are not what the governor runs.
    assert policy.outer.governed['cpu0'] == CPU.f_max


def test_a_saving_below_the_move_threshold_keeps_the_placement():
    policy = make(mapping_move_saving=0.5)
    assert [m.device for m in moves(run(policy, 0.0, 3.0))] == ['cuda']
    assert policy.apps['rear'].domain.name == 'gpu'


def test_a_placement_that_cannot_meet_a_target_is_left_at_once():
    # front 45 ms: with rear sharing the GPU even the fastest sub-network misses it; alone it
    # fits. No energy saving is enough (threshold 1) but infeasible moves anyway.
    policy = make(front_ms=45.0, mapping_move_saving=1.0)
    out = run(policy, 0.0, 2.0)
    assert [m.device for m in moves(out)] == ['cuda', 'cpu']
    assert 'cannot meet every target' in moves(out)[-1].reason
    assert policy.apps['front'].feasible


def test_dwell_time_delays_a_move_back():
    # After rear moved to the cluster (at 1.5 s) the cluster runs it 1.5x slower than
    # profiled: its most accurate sub-networks no longer fit there, the GPU placement is the
    # more accurate one (the cluster still meets the target with smaller ones: not forced).
    # Rear's frames weigh 4 Hz x priority 1 against front's 8 Hz x 2 in the score.
    slow = lambda app: 1.5 if app == 'rear' else 1.0   # noqa: E731
    back = {}
    for dwell in (0.0, 10.0):
        policy = make(mapping_dwell_s=dwell)
        run(policy, 0.0, 3.0)
        assert policy.apps['rear'].domain.name == 'cpu0'
        back[dwell] = moves(run(policy, 3.0, 11.4, factor=slow))
    assert [m.device for m in back[0.0]] == ['cuda']
    assert 'less accurate' in back[0.0][0].reason
    assert back[10.0] == []        # held on the cluster until 1.5 + 10 s


def test_a_move_the_perception_node_does_not_make_is_not_tried_again():
    policy = make()
    run(policy, 0.0, 3.0)
    assert policy.apps['rear'].domain.name == 'cpu0'
    # Frames keep coming from the GPU (the node refused the move): after ADOPT_FRAMES the
    # manager puts rear back on the GPU and never moves it to cpu0 again.
    out = run(policy, 3.0, 8.0, device='cuda')
    state = policy.apps['rear']
    assert state.domain.name == 'gpu' and state.placement.refused == {'cpu0'}
    assert 'not tried again' in state.placement.note
    assert not [m for m in moves(out) if m.device == 'cpu']
    assert not moves(run(policy, 8.0, 12.0))


def test_frames_from_the_previous_device_teach_that_devices_model():
    policy = make()
    run(policy, 0.0, 3.0)
    state = policy.apps['rear']
    assert state.domain.name == 'cpu0'
    gpu_model, cpu_model = state.placement.models['gpu'], state.placement.models['cpu0']
    before = (gpu_model.samples, cpu_model.samples)
    # Just moved (the next frames may still run where it was): a GPU frame teaches the GPU's
    # model and nothing else happens; the first frame from the cluster confirms the move.
    state.placement.move_from = 'gpu'
    assert not policy.on_frame(FrameStats('rear', 3.01, state.current, 90.0, 13, 0, 0, 'cuda'))
    assert (gpu_model.samples, cpu_model.samples) == (before[0] + 1, before[1])
    policy.on_frame(FrameStats('rear', 3.26, state.current, 200.0, 14, 0, 0, 'cpu'))
    assert (gpu_model.samples, cpu_model.samples) == (before[0] + 1, before[1] + 1)
    assert state.placement.move_from == '' and state.domain.name == 'cpu0'


def test_a_domain_left_without_applications_is_restored():
    # rear alone, listing the cluster first: the GPU costs about 7 % less (above the 5 %
    # threshold set here), so rear moves and leaves cpu0 empty.
    config = manager_config.initial(['rear'], {
        'apps.rear.domains': ['cpu0', 'gpu'], 'apps.rear.profile_keys': [CPU_KEY, GPU_KEY],
        'apps.rear.latency_target_ms': 250.0, 'mapping_move_saving': 0.05}, KINDS, catalog)
    policy = ManagerPolicy(config, [GPU, CPU], catalog_loader=catalog)
    out = Decisions()
    for k in range(16):
        t = k * 0.25
        policy.on_system(SystemSnapshot(t, {'gpu': GPU.f_max, 'cpu0': CPU.f_max}, {}, {}, 40.0))
        if k % 4 == 0:
            out.extend(policy.step(t))
        state = policy.apps['rear']
        f = policy.last_frequency(state.domain.name)
        index = max(state.current, 0)
        out.extend(policy.on_frame(FrameStats(
            'rear', t, index, state.model.predict(index, f), k + 1, 0, 0,
            placement.device_of(state.domain))))
    assert [m.device for m in moves(out)] == ['cpu', 'cuda']
    pins = [d for d in out.dvfs if d.domain == 'cpu0']
    assert pins[0].mode == 'pin' and pins[-1].mode == 'restore'
    assert policy.commanded['cpu0'].mode == 'restore'
    assert policy.commanded['gpu'].mode == 'pin'


def test_least_energy_placement_among_feasible_ones_and_the_accuracy_slack():
    cfg = manager_config.ManagerConfig(mapping_move_saving=0.1, accuracy_slack=0.5)

    def ev(domain, energy, score=77.0, feasible=True):
        return placement.Evaluated({'rear': domain}, {}, energy, score, feasible)
    current = ev('gpu', 100.0)
    cheap = ev('cpu0', 80.0)
    assert placement.choose(current, [cheap], cfg)[0] is cheap
    assert placement.choose(current, [ev('cpu0', 95.0)], cfg)[0] is current   # 5 % < 10 %
    assert placement.choose(ev('gpu', 50.0, feasible=False), [cheap], cfg)[0] is cheap
    assert placement.choose(current, [ev('cpu0', 80.0, feasible=False)], cfg)[0] is current
    # objective accuracy: a cheaper placement 1 point less accurate is not a candidate ...
    assert placement.choose(current, [ev('cpu0', 50.0, score=76.0)], cfg)[0] is current
    # ... with objective energy it is.
    energy = manager_config.ManagerConfig(mapping_move_saving=0.1, objective='energy')
    assert placement.choose(current, [ev('cpu0', 50.0, score=76.0)], energy)[0].domains == {
        'rear': 'cpu0'}


def test_board_energy_counts_static_power_once():
    # Two domains, each 10 frames/s at 4 W board power with 2 W static: 400 mJ/frame each.
    each = Choice(0, (0,), (50.0,), 400.0, True, '')
    plans = {'gpu': (0, each, 0), 'cpu0': (0, each, 0)}
    energy = placement.board_energy(plans, {'gpu': ['a'], 'cpu0': ['b']},
                                    {'a': 10.0, 'b': 10.0}, 2.0, 0.5)
    # Board: 2 W static + 2 x 2 W + 0.5 W idle = 6.5 W for 20 frames/s.
    assert energy == pytest.approx(325.0)


def test_enumeration_is_capped_and_respects_the_dwell():
    policy = make()
    run(policy, 0.0, 1.0)
    rear = policy.apps['rear']
    choices = placement.movable(policy.apps)
    assert choices == {'rear': ['gpu', 'cpu0']}
    assert placement.enumerate_placements(policy.apps, choices, 1.0, 5.0, False) == [
        {'front': 'gpu', 'rear': 'cpu0'}]
    rear.placement.moved_t = 0.5
    assert placement.enumerate_placements(policy.apps, choices, 1.0, 5.0, False) == []
    assert placement.enumerate_placements(policy.apps, choices, 1.0, 5.0, True) == [
        {'front': 'gpu', 'rear': 'cpu0'}]
    many = {f'a{i}': ['gpu', 'cpu0'] for i in range(8)}
    apps = {a: _Stub() for a in many}
    assert len(placement.enumerate_placements(apps, many, 10.0, 0.0, False)) == (
        placement.MAX_PLACEMENTS)


class _Stub:
    domain = GPU
    placement = placement.AppPlacement((GPU, CPU), {}, moved_t=-math.inf)


@pytest.mark.parametrize('values, words', [
    ({'apps.rear.profile_keys': [GPU_KEY]}, 'lists 1 keys for the 2 domains'),
    ({'apps.rear.profile_keys': [GPU_KEY, 'cpu/not/profiled']}, 'not in the catalog'),
    ({'apps.rear.profile_keys': [GPU_KEY, GPU_KEY]}, 'is not a profile of cpu0'),
    ({'apps.rear.domains': ['gpu', 'gpu']}, 'distinct'),
    ({'apps.rear.domains': ['gpu', 'cpu9']}, 'unknown domains'),
])
def test_bad_mapping_settings_are_refused_and_change_nothing(values, words):
    policy = make()
    before = policy.config
    with pytest.raises(manager_config.SettingError, match=words):
        manager_config.apply(before, values, KINDS, catalog)
    assert policy.config is before and policy.config.apps['rear'].profile_keys == (
        GPU_KEY, CPU_KEY)


def test_a_domain_without_a_calibrated_profile_is_no_placement_candidate():
    def gpu_only(path):
        cat = copy.deepcopy(load_catalog(path))
        for s in cat.subnets:
            s.latency_ms = {GPU_KEY: s.latency_ms[GPU_KEY]}
        return cat
    config = manager_config.initial(['rear'], {
        'apps.rear.domains': ['gpu', 'cpu0'], 'apps.rear.profile_key': GPU_KEY}, KINDS,
        gpu_only)
    policy = ManagerPolicy(config, [GPU, CPU], catalog_loader=gpu_only)
    rear = policy.apps['rear']
    assert not rear.placement.models['cpu0'].calibrated
    assert rear.placement.candidates() == ['gpu']


def test_baselines_never_move_an_application():
    policy = make(policy='schedutil')
    out = run(policy, 0.0, 3.0)
    assert not out.mappings and policy.apps['rear'].domain.name == 'gpu'
    policy = make(policy='algorithm_only')
    assert not run(policy, 0.0, 3.0).mappings
