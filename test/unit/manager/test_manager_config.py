"""Validation of the manager's parameters and of how it reads a platform profile (no ROS)."""

from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager.policy import load_catalog
from dynofa_ros.core.platforms.probe import planning_domains
from dynofa_ros.core.platforms.profiles import load_profile, parse_profile, ProfileError
import pytest

DOMAINS = {'cpu0', 'gpu'}


def config():
    return manager_config.initial(['cam'], {'apps.cam.domains': ['gpu']}, DOMAINS)


@pytest.mark.parametrize('name, value, reason', [
    ('apps.cam.latency_target_ms', float('nan'), 'finite'),
    ('apps.cam.latency_target_ms', -5.0, 'must be in'),
    ('apps.cam.latency_target_ms', 'fast', 'must be a number'),
    ('apps.cam.min_accuracy', 101.0, 'must be in'),
    ('apps.cam.priority', 0, 'must be in'),
    ('apps.cam.priority', 1.5, 'integer'),
    ('apps.cam.domains', ['npu'], 'unknown domains'),
    ('apps.cam.catalog', '/nonexistent/catalog.yaml', 'catalog not found'),
    ('apps.cam.baseline_subnet', 'n99', 'not in the catalog'),
    ('apps.ghost.latency_target_ms', 50.0, 'unknown application'),
    ('apps.cam.colour', 'red', 'unknown application setting'),
    ('policy', 'turbo', 'policy must be one of'),
    ('control_period_s', 0.0, 'must be in'),
    ('power_budget_w', float('inf'), 'finite'),
    ('stale_after_s', -1.0, 'must be in'),
    ('apps', ['a'], 'not a manager setting'),
    ('apps.cam.max_threads', 257, 'must be in'),
    ('apps.cam.max_threads', 1.5, 'integer'),
    ('apps.cam.min_threads', 0, 'must be in'),
    ('mapping_probe_s', 0.0, 'must be in'),
    ('mapping_probe_s', float('nan'), 'finite'),
])
def test_invalid_values_are_refused_with_a_reason_and_change_nothing(name, value, reason):
    before = config()
    with pytest.raises(ValueError, match=reason):
        manager_config.apply(before, {name: value}, DOMAINS, load_catalog)
    assert before == config()


def test_valid_changes_apply_together():
    after = manager_config.apply(config(), {
        'apps.cam.latency_target_ms': 45.0, 'policy': 'schedutil', 'power_budget_w': 9.0,
        'apps.cam.catalog': 'config/catalogs/ofa_mbv3_w12_dynamic_ofa_nets6.yaml'},
        DOMAINS, load_catalog)
    assert after.apps['cam'].latency_target_ms == 45.0
    assert (after.policy, after.power_budget_w) == ('schedutil', 9.0)
    assert config().apps['cam'].latency_target_ms == 100.0


def test_one_bad_value_refuses_the_whole_change():
    with pytest.raises(ValueError, match='min_accuracy'):
        manager_config.apply(config(), {'apps.cam.latency_target_ms': 45.0,
                                        'apps.cam.min_accuracy': float('nan')}, DOMAINS)


def test_thread_limits_must_be_ordered():
    before = manager_config.apply(config(), {'apps.cam.max_threads': 2}, DOMAINS)
    with pytest.raises(ValueError, match='min_threads .3. exceeds'):
        manager_config.apply(before, {'apps.cam.min_threads': 3}, DOMAINS)
    after = manager_config.apply(before, {'apps.cam.min_threads': 2}, DOMAINS)
    assert (after.apps['cam'].min_threads, after.apps['cam'].max_threads) == (2, 2)
    assert config().apps['cam'].max_threads == 0     # default: mapping not managed


@pytest.mark.parametrize('apps, reason', [([], 'non-empty'), (['a', 'a'], 'distinct'),
                                          (['bad id'], 'letters')])
def test_bad_application_lists_are_refused(apps, reason):
    with pytest.raises(ValueError, match=reason):
        manager_config.initial(apps)


def test_every_parameter_is_documented_with_a_range_where_numeric():
    for spec in manager_config.GLOBAL_PARAMS + manager_config.APP_PARAMS:
        assert spec.description
        if spec.numeric:
            assert spec.bounds is not None and spec.bounds[0] <= spec.default <= spec.bounds[1]


def test_manager_reads_the_hardware_profile_with_the_one_reader():
    domains = planning_domains(load_profile('config/platforms/jetson_xavier_nx.yaml'))
    assert [d.name for d in domains] == ['cpu0', 'cpu2', 'cpu4', 'gpu']
    gpu = [d for d in domains if d.name == 'gpu'][0]
    assert gpu.kind == 'devfreq' and gpu.f_max == 1109250 and len(gpu.frequencies_khz) == 15
    assert gpu.nearest_at_least(1000000) == 1007250
    with pytest.raises(ProfileError, match='kind'):
        parse_profile({'name': 'p', 'domains': [
            {'name': 'x', 'kind': 'magic', 'path': 'sys/x', 'frequencies_khz': [1]}]})
    no_table = parse_profile({'name': 'p', 'domains': [
        {'name': 'x', 'kind': 'cpufreq', 'path': 'sys/x'}]})
    with pytest.raises(ProfileError, match='frequencies_khz'):
        planning_domains(no_table)
    with pytest.raises(ProfileError, match='cannot read'):
        load_profile('/nonexistent.yaml')
