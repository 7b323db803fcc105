"""The manager plans with what the hardware node reports: writable domains, power-mode caps."""

from dynofa_ros.core.common import param_spec
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager.data import SystemSnapshot
from dynofa_ros.core.manager.hardware_limits import cluster_affinity, limit, Reported
from dynofa_ros.core.manager.policy import ManagerPolicy
from dynofa_ros.core.platforms.profiles import Domain, load_profile
from support import REPO
from support.hardware import XAVIER_PROFILE

GPU = Domain('gpu', 'devfreq', (), (114750, 306000, 510000, 701250, 905250, 1109250))
CPU = Domain('cpu0', 'cpufreq', (0, 1), (422400, 960000, 1420800, 1907200))
KEY = 'gpu/jetson_xavier_nx/published'


def make(domain='cpu0', target=5.0):
    config = manager_config.initial(['cam'], {
        'apps.cam.domains': [domain], 'apps.cam.profile_key': KEY,
        'apps.cam.latency_target_ms': target}, {'gpu', 'cpu0'})
    return ManagerPolicy(config, [GPU, CPU])


def system(t, policy):
    freqs = {n: c.frequency_khz for n, c in policy.commanded.items() if c.mode == 'pin'}
    freqs.update({n: d.f_max for n, d in policy.domains.items() if n not in freqs})
    return SystemSnapshot(t, freqs, {}, {}, 40.0)


def test_limit_keeps_what_the_node_accepts_and_says_why_not_the_rest():
    kept, excluded = limit([GPU, CPU], {
        'cpu0': Reported(True, CPU.frequencies_khz, 1420800)})
    assert kept['cpu0'].frequencies_khz == (422400, 960000, 1420800)
    assert excluded == {'gpu': 'the hardware node does not have this domain'}
    kept, excluded = limit([GPU, CPU], {
        'cpu0': Reported(False, CPU.frequencies_khz, 1420800, 'no write permission'),
        'gpu': Reported(True, (114750, 510000), 1109250)})
    assert 'cannot write it (no write permission)' in excluded['cpu0']
    assert kept['gpu'].frequencies_khz == (114750, 510000)   # only what the kernel lists
    _, excluded = limit([CPU], {'cpu0': Reported(True, (100,), 100)})
    assert 'no frequency of the profile' in excluded['cpu0']


def test_the_policy_pins_no_higher_than_the_reported_cap():
    policy = make(target=5.0)                    # infeasible: the fastest frequency is wanted
    policy.on_system(system(0.0, policy))
    assert policy.step(0.0).dvfs[0].frequency_khz == 1907200       # without a report
    policy.set_hardware_limits({'cpu0': Reported(True, CPU.frequencies_khz, 1420800),
                                'gpu': Reported(True, GPU.frequencies_khz, 1109250)})
    policy.on_system(system(1.0, policy))
    (pin,) = policy.step(1.0).dvfs
    assert pin.domain == 'cpu0' and pin.frequency_khz == 1420800


def test_the_policy_never_commands_a_domain_the_node_cannot_write():
    policy = make(target=5.0)
    excluded = policy.set_hardware_limits({
        'cpu0': Reported(False, CPU.frequencies_khz, 1420800, 'read-only')})
    assert set(excluded) == {'cpu0', 'gpu'}
    for t in range(5):
        policy.on_system(system(float(t), policy))
        decisions = policy.step(float(t))
        assert decisions.dvfs == []
    assert 'cpu0' not in policy.commanded
    policy.set_hardware_limits({'cpu0': Reported(True, CPU.frequencies_khz, 1907200),
                                'gpu': Reported(True, GPU.frequencies_khz, 1109250)})
    policy.on_system(system(9.0, policy))
    assert [d.domain for d in policy.step(9.0).dvfs] == ['cpu0']      # writable again


def test_inference_is_pinned_to_the_managed_cluster_on_multi_cluster_profiles():
    listed = load_profile(XAVIER_PROFILE).domains
    assert cluster_affinity(listed, 'cpu2') == (2, 3)
    assert cluster_affinity(listed, 'gpu') == ()
    assert cluster_affinity([CPU], 'cpu0') == ()                  # one cluster: keep


def test_manager_and_hardware_node_default_to_the_same_platform_profile():
    defaults = {node: param_spec.load_node(node, REPO).find('platform_profile')[0].default
                for node in ('manager', 'hardware')}
    assert defaults['manager'] == defaults['hardware'], defaults
