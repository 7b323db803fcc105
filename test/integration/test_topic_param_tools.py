"""
The `topic` and `param` tools as a robot runs them: any field-check setting, Humble's rclpy.

Message classes that skip field checks (ROS_PYTHON_CHECK_FIELDS unset, the default of the
message packages generated here) abort the process on a wrong type at publish time, so the
publishing processes run both with and without the checks.
"""

import os
import subprocess
import sys
import time

from dynofa_ros.core.common import msg_dict
from dynofa_ros.nodes.qos import COMMAND_QOS, TELEMETRY_QOS
import pytest
from support.ros import executable

EXAMPLE = '{app_id: cam, latency_target_ms: 40}'  # the tool's own example: an int for a float


def _env(check_fields):
    env = dict(os.environ)
    env.pop('ROS_PYTHON_CHECK_FIELDS', None)
    if check_fields:
        env['ROS_PYTHON_CHECK_FIELDS'] = '1'
    return env


def _run(*args, env=None, timeout=60):
    return subprocess.run([executable(args[0]), *args[1:]], capture_output=True, text=True,
                          timeout=timeout, env=env)


@pytest.mark.parametrize('check_fields', [False, True], ids=['unchecked', 'checked'])
def test_the_documented_example_publishes_with_yaml_ints(ros_probe, check_fields):
    received = ros_probe.subscribe(msg_dict.message_class('MissionTarget'), 'mission_target',
                                   COMMAND_QOS)
    done = _run('topic', 'pub', 'mission_target', 'dynofa_ros/msg/MissionTarget', EXAMPLE,
                '--count', '1', env=_env(check_fields))
    assert done.returncode == 0, done.stderr[-2000:]
    msg = ros_probe.wait_for(received, timeout=10)
    assert msg.app_id == 'cam' and msg.latency_target_ms == 40.0


def test_a_value_that_does_not_fit_is_refused_naming_the_field():
    done = _run('topic', 'pub', 'mission_target', 'MissionTarget', '{priority: 300}',
                '--count', '1', env=_env(False))
    assert done.returncode == 2 and 'priority: 300 is out of range' in done.stderr


def test_counted_messages_wait_for_a_late_subscriber(ros_probe, node_processes):
    pub = node_processes('topic', 'pub', 'late_target', 'MissionTarget', EXAMPLE,
                         '--count', '3', '--rate', '5', '--qos', 'telemetry')
    ros_probe.wait_until(lambda: ros_probe.node.get_publishers_info_by_topic('/late_target'),
                         timeout=30, what='the pub tool never advertised late_target')
    time.sleep(1.5)  # three messages at 5 Hz would have been sent to nobody by now
    received = ros_probe.subscribe(msg_dict.message_class('MissionTarget'), 'late_target',
                                   TELEMETRY_QOS)
    ros_probe.wait_for(received, count=3, timeout=20)
    assert pub.proc.wait(20) == 0
    assert len(received) == 3


def test_counted_messages_without_a_subscriber_fail_loudly():
    done = _run('topic', 'pub', 'nobody_listens', 'MissionTarget', EXAMPLE, '--count', '1',
                '--wait', '1')
    assert done.returncode == 1
    assert 'no subscriber matched /nobody_listens within 1 s; nothing published' in done.stderr


def _param_without_parameter_client(*args):
    """Run the param tool with rclpy.parameter_client unimportable, as on Humble."""
    code = ('import sys\n'
            "sys.modules['rclpy.parameter_client'] = None\n"
            'from dynofa_ros.tools import param\n'
            'sys.exit(param.main(sys.argv[1:]))\n')
    return subprocess.run([sys.executable, '-c', code, *args], capture_output=True, text=True,
                          timeout=60)


def test_param_answers_like_ros2_param_on_humble_rclpy(ros_probe, node_processes):
    received = ros_probe.subscribe(msg_dict.message_class('MissionTarget'), 'param_target')
    pub = node_processes('topic', 'pub', 'param_target', 'MissionTarget', EXAMPLE,
                         '--rate', '20', env=_env(False))
    ros_probe.wait_for(received, lambda m: m.latency_target_ms == 40.0)

    for name in ('no_such_parameter', 'use_sim_time.x'):
        got = _param_without_parameter_client('get', '/dynofa_pub', name, '--timeout', '20')
        assert (got.returncode, got.stdout, got.stderr) == (1, '', 'Parameter not set\n')

    # Options after the sub-command; an int in YAML for a float field keeps the node alive.
    done = _param_without_parameter_client('set', '/dynofa_pub', 'values',
                                           '{app_id: cam, latency_target_ms: 25}',
                                           '--timeout', '20')
    assert done.returncode == 0, done.stderr
    ros_probe.wait_for(received, lambda m: m.latency_target_ms == 25.0, timeout=10)
    count = len(received)
    ros_probe.wait_for(received, count=count + 5, timeout=10)
    assert pub.alive()
    got = _param_without_parameter_client('--timeout', '20', 'get', '/dynofa_pub', 'values')
    assert got.returncode == 0 and 'latency_target_ms: 25' in got.stdout
    listed = _param_without_parameter_client('list', '/dynofa_pub', '--timeout', '20')
    assert listed.returncode == 0 and 'values' in listed.stdout.split()
