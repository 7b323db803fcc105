"""One platform-profile reader, one power law, one frequency-scaling law, one ConfigError."""

from dynofa_ros.core.common import yaml_file
from dynofa_ros.core.common.catalog import CatalogError
from dynofa_ros.core.common.errors import ConfigError, ConfigFileNotFound
from dynofa_ros.core.common.paths import resolve
from dynofa_ros.core.evaluation.simulator import SimFileError, SimPlatform
from dynofa_ros.core.fake_hardware.dvfs_emulation import DvfsEmulation
from dynofa_ros.core.fake_hardware.fake_sysfs import build
from dynofa_ros.core.hardware.power_sensors import estimate
from dynofa_ros.core.hardware.sysfs import Sysfs
from dynofa_ros.core.manager.config import SettingError
from dynofa_ros.core.manager.latency_model import LatencyModel
from dynofa_ros.core.manager.policy import load_catalog
from dynofa_ros.core.platforms.power_law import domain_power, DomainPower, PowerModel
from dynofa_ros.core.platforms.probe import planning_domains, probe_domains
from dynofa_ros.core.platforms.profiles import load_profile, ProfileError
from dynofa_ros.core.platforms.scaling_law import latency_factor
import pytest
from support.hardware import GENERIC_PROFILE, XAVIER_PROFILE


def test_one_profile_names_the_clusters_for_hardware_manager_and_simulator(tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    profile = load_profile(XAVIER_PROFILE)
    probed, problems = probe_domains(profile, Sysfs(tree.root))
    planned = planning_domains(profile)
    sim = SimPlatform()
    assert not problems
    assert [d.name for d in probed] == [d.name for d in planned] == list(sim.domains)
    assert [d.name for d in planned] == ['cpu0', 'cpu2', 'cpu4', 'gpu']
    assert set(sim.truth) <= set(sim.domains)
    assert sim.profile.path == profile.path and sim.static_w == profile.model.static_w


def test_manager_discovers_the_generic_profiles_policies_like_the_hardware_node(tmp_path):
    tree = build(str(tmp_path / 'root'), 'generic_x86')
    profile = load_profile(GENERIC_PROFILE)
    domains = planning_domains(profile, tree.root)
    probed, _ = probe_domains(profile, Sysfs(tree.root))
    names = ['cpu0', 'cpu1', 'cpu2', 'cpu3']
    assert [d.name for d in domains] == [d.name for d in probed] == names
    assert domains[3].frequencies_khz == probed[3].available_khz
    assert domains[3].cpus == (3,) and domains[3].f_max == 3400000
    empty = tmp_path / 'empty'
    empty.mkdir()
    with pytest.raises(ProfileError, match='lists no domains.*jetson_xavier_nx.yaml'):
        planning_domains(profile, str(empty))


@pytest.mark.parametrize('model, error', [
    ('{kinds: {cpufreq: {dynamic_w: 1}}}', 'static_w is required'),
    ('{static_w: 2, exponent: 2.4}', 'unknown keys'),
    ('{static_w: 2, domains: {gpu: {dynamic_w: 1, v_min: 0}}}', 'v_min'),
    ('{static_w: 2, kinds: {npu: {dynamic_w: 1}}}', 'npu'),
])
def test_bad_power_models_are_refused(tmp_path, model, error):
    path = tmp_path / 'p.yaml'
    path.write_text('name: p\ndomains: [{name: gpu, kind: devfreq, path: sys/g}]\n'
                    f'power: {{model: {model}}}\n')
    with pytest.raises(ProfileError, match=error):
        load_profile(str(path))


def test_the_hardware_estimate_and_the_manager_model_evaluate_the_same_law(tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    profile = load_profile(XAVIER_PROFILE)
    probed, _ = probe_domains(profile, Sysfs(tree.root))
    planned = planning_domains(profile)
    model = PowerModel(planned, profile.model)
    freqs = {'cpu0': 1420800, 'cpu2': 1907200, 'cpu4': 115200, 'gpu': 599250}
    loads = {'cpu0': 0.5, 'cpu2': 1.0, 'cpu4': 0.0, 'gpu': 0.25}
    util = [50.0, 50.0, 100.0, 100.0, 0.0, 0.0]
    reading = estimate(profile.model, probed, freqs, util, {'gpu': 0.25})
    assert reading.total_w == pytest.approx(model.total(freqs, loads))
    assert dict(reading.rails)['static'] == model.static_w == 2.1
    gpu = profile.model.coefficients(planned[3])
    assert dict(reading.rails)['gpu'] == pytest.approx(
        float(domain_power(gpu, 599250, 114750, 1109250, 0.25)))


def test_a_profile_without_domains_must_discover_them(tmp_path):
    path = tmp_path / 'p.yaml'
    path.write_text('name: p\ndomains: []\n')
    with pytest.raises(ProfileError, match='needs a "domains" list or discover'):
        load_profile(str(path))


def test_power_law_shape():
    coeff = DomainPower(dynamic_w=2.0, leakage_w=0.5, v_min=0.5)
    assert domain_power(coeff, 1000, 500, 1000, 1.0) == pytest.approx(2.5)
    assert domain_power(coeff, 500, 500, 1000, 0.0) == pytest.approx(0.25)
    # Half the frequency at v_min: dynamic power falls as f * v^2.
    assert domain_power(coeff, 500, 500, 1000, 1.0) == pytest.approx(0.25 + 2.0 * 0.5 * 0.25)


def test_latency_model_and_dvfs_emulation_use_the_one_scaling_law(tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    gpu = planning_domains(load_profile(XAVIER_PROFILE))[3]
    model = LatencyModel(load_catalog('config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml'), gpu,
                         sensitivity=0.7)
    cur = tree.root + '/sys/devices/system/cpu/cpufreq/policy0/scaling_cur_freq'
    with open(cur, 'w') as f:
        f.write('476800\n')
    emulation = DvfsEmulation(cur, ref_khz=1907200, sensitivity=0.7)
    assert latency_factor(476800, 1907200, 0.7) == pytest.approx(0.7 * 4 + 0.3)
    assert emulation.factor() == pytest.approx(latency_factor(476800, 1907200, 0.7))
    assert model.freq_factor(gpu.f_max / 4) == pytest.approx(0.7 * 4 + 0.3)


def test_configuration_errors_share_one_base(tmp_path):
    for error in (CatalogError, ProfileError, SettingError, SimFileError, ConfigFileNotFound):
        assert issubclass(error, ConfigError)
    bad = tmp_path / 'bad.yaml'
    bad.write_text('a: [unclosed')
    with pytest.raises(ConfigError, match='not valid YAML'):
        yaml_file.load(str(bad), 'settings')
    with pytest.raises(ConfigFileNotFound, match='profile not found'):
        resolve(str(tmp_path / 'none.yaml'), 'platform profile')
    with pytest.raises(ConfigError, match='is not a directory'):
        Sysfs(str(tmp_path / 'none'))
    sim = tmp_path / 'sim.yaml'
    sim.write_text('platform: config/platforms/jetson_xavier_nx.yaml\n'
                   'sim: {domains: {cpu1: {dynamic_w: 1}}}\n')
    with pytest.raises(SimFileError, match='cpu1'):
        SimPlatform(str(sim))
