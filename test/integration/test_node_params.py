"""The parameter specs' ROS adapter in-process: descriptors, on-set checks, post-set apply."""

from dynofa_ros.core.common import param_spec
from dynofa_ros.nodes import params as node_params
import pytest
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter
from support import REPO

# The public names as they were before the specs (names are an interface: they never change).
NAMES = {
    'perception': 'checkpoint catalog initial_subnet backend onnx_cache_dir device num_threads '
                  'cpu_affinity top_k app_id image_topic compressed max_image_pixels '
                  'max_image_bytes classification_topic stats_topic subnet_command_topic '
                  'mapping_command_topic qos_reliability qos_depth cache_budget_mb '
                  'dvfs_emulation.cur_freq_file dvfs_emulation.sensitivity',
    'manager': 'apps policy platform_profile control_period_s stale_after_s power_budget_w '
               'temperature_limit_c latency_margin latency_quantile band_low down_frames '
               'up_frames accuracy_slack objective hold_after_down_s '
               'energy_hysteresis correction_gain frequency_sensitivity frequency_probe '
               'command_refresh_s '
               'mapping_probe_s mapping_move_saving mapping_dwell_s perception_stats_topic '
               'system_state_topic power_state_topic '
               'mission_target_topic subnet_command_topic dvfs_command_topic '
               'mapping_command_topic dvfs_ack_topic dvfs_capabilities_topic',
    'hardware': 'platform_profile sysfs_root publish_rate_hz diagnostics_rate_hz '
                'watchdog_timeout_s dry_run safe_governor command_topic system_state_topic '
                'power_state_topic diagnostics_topic state_dir allow_above_start_max ack_topic '
                'capabilities_topic',
}
APP_KEYS = ('latency_target_ms min_accuracy priority catalog domains profile_key profile_keys '
            'baseline_subnet max_threads min_threads')


@pytest.fixture
def context():
    ctx = rclpy.Context()
    rclpy.init(context=ctx)
    yield ctx
    rclpy.try_shutdown(context=ctx)


def make(context, node, overrides=()):
    ros_node = Node(f'spec_{node}', context=context, parameter_overrides=list(overrides))
    return ros_node, node_params.SpecParameters(ros_node, param_spec.load_node(node, REPO))


@pytest.mark.parametrize('node', sorted(NAMES))
def test_every_spec_parameter_is_declared_with_its_descriptor(context, node):
    ros_node, params = make(context, node)
    values = params.declare()
    if node == 'manager':
        values.update(params.declare_mapped('apps', values['apps'], {'domains': ['gpu']}))
        expected = NAMES[node].split() + [f'apps.default.{k}' for k in APP_KEYS.split()]
    else:
        expected = NAMES[node].split()
    assert list(values) == expected
    for name, descriptor in zip(expected, ros_node.describe_parameters(expected)):
        param = params.spec.find(name)[0]
        assert descriptor.type == node_params.KINDS[param.kind].value, name
        assert descriptor.read_only == param.read_only, name
        assert descriptor.description == param.description
        if param.bounds is not None:
            span = (descriptor.floating_point_range or descriptor.integer_range)[0]
            assert (span.from_value, span.to_value) == param.bounds, name
        if name == 'cpu_affinity':
            assert values[name] is None and 'distinct' in descriptor.additional_constraints
        elif name == 'apps.default.domains':
            assert values[name] == ['gpu']
        else:
            assert values[name] == param.default, name
    ros_node.destroy_node()


def test_a_bad_start_value_is_a_value_error_naming_the_parameter(context):
    ros_node, params = make(context, 'hardware', [Parameter('command_topic', value='')])
    with pytest.raises(ValueError, match='command_topic.*must not be empty'):
        params.declare()
    ros_node.destroy_node()


def test_on_set_only_validates_and_post_set_applies(context):
    ros_node, params = make(context, 'hardware')
    params.declare()
    applied, checked = [], []

    def check(values):
        checked.append(values)
        return 'no governors here' if values.get('safe_governor') else ''

    params.start(check=check, apply=applied.append)
    results = ros_node.set_parameters([Parameter('publish_rate_hz', value=500.0)])
    assert not results[0].successful and checked == [] and applied == []
    results = ros_node.set_parameters([Parameter('safe_governor', value='performance')])
    assert not results[0].successful and results[0].reason == 'no governors here'
    assert applied == [] and ros_node.get_parameter('safe_governor').value == ''
    results = ros_node.set_parameters([Parameter('publish_rate_hz', value=5.0)])
    assert results[0].successful and applied == [{'publish_rate_hz': 5.0}]
    ros_node.destroy_node()


def test_array_values_reach_the_node_as_lists(context):
    ros_node, params = make(context, 'perception', [Parameter('cpu_affinity', value=[0, 1])])
    assert params.declare()['cpu_affinity'] == [0, 1]
    applied = []
    params.start(apply=applied.append)
    results = ros_node.set_parameters([Parameter('cpu_affinity', value=[1, 1])])
    assert not results[0].successful and 'twice' in results[0].reason
    assert ros_node.set_parameters([Parameter('cpu_affinity', value=[1])])[0].successful
    assert applied == [{'cpu_affinity': [1]}]
    ros_node.destroy_node()
