"""
Every custom message crosses between real processes over DDS; parameters set from another process.

The publishing and echoing ends are the package's own `topic` and `param` executables, run as
separate OS processes; the other end is an rclpy node in the test process.
"""

import math
import subprocess
import time

from dynofa_ros.core.common import msg_dict
from support.ros import executable
import yaml

SAMPLES = {
    'SubnetCommand': {'app_id': 'cam', 'subnet_id': 'n7_3', 'subnet_index': 3,
                      'expected_latency_ms': 41.5, 'expected_accuracy': 76.388,
                      'reason': 'latency above band'},
    'DvfsCommand': {'domain': 'cpu0', 'mode': 1, 'frequency_khz': 0, 'min_khz': 422400,
                    'max_khz': 1190400, 'governor': '', 'reason': 'energy'},
    'MappingCommand': {'app_id': 'cam', 'device': 'cpu', 'num_threads': 2,
                       'cpu_affinity': [0, 1], 'reason': 'contention'},
    'PerceptionStats': {'app_id': 'cam', 'subnet_id': 'n7_0', 'subnet_index': 0,
                        'expected_accuracy': 73.178, 'inference_latency_ms': 12.5,
                        'end_to_end_latency_ms': 20.25, 'queue_delay_ms': 1.5,
                        'frame_rate_hz': 29.5, 'frames_processed': 100, 'frames_dropped': 3,
                        'frames_rejected': 1, 'device': 'cpu', 'num_threads': 2},
    'SystemState': {'cpu_utilization': [12.5, 80.0], 'cpu_utilization_total': 46.25,
                    'domains': [{'name': 'cpu0', 'kind': 'cpufreq', 'cur_khz': 1190400,
                                 'min_khz': 115200, 'max_khz': 1907200,
                                 'governor': 'schedutil'},
                                {'name': 'gpu', 'kind': 'devfreq', 'cur_khz': 1109250,
                                 'min_khz': 114750, 'max_khz': 1109250,
                                 'governor': 'nvhost_podgov'}],
                    'thermal_zones': ['CPU-therm'], 'temperatures_c': [45.5],
                    'thermal': [{'name': 'CPU-therm', 'temperature_c': 45.5}],
                    'memory_total_bytes': 8 << 30, 'memory_available_bytes': 5 << 30,
                    'memory_used_percent': 37.5, 'stale_sensors': []},
    'PowerState': {'rail_names': ['VDD_IN', 'VDD_CPU_GPU_CV'], 'rail_power_w': [6.5, 2.25],
                   'rails': [{'name': 'VDD_IN', 'power_w': 6.5},
                             {'name': 'VDD_CPU_GPU_CV', 'power_w': 2.25}],
                   'total_power_w': 6.5, 'energy_j': 1234.5, 'measured': True,
                   'source': 'ina3221'},
    'Classification': {'app_id': 'cam', 'subnet_id': 'n7_6', 'class_ids': [281, 285],
                       'labels': ['tabby', 'Egyptian cat'], 'scores': [0.75, 0.125]},
    'VisionClassification': {'results': [{'class_id': '281', 'score': 0.75},
                                         {'class_id': '285', 'score': 0.125}]},
    'LabelInfo': {'class_map': [{'class_id': 281, 'class_name': 'tabby'}], 'threshold': 0.0},
    'MissionTarget': {'app_id': 'cam', 'latency_target_ms': 40.0, 'min_accuracy': 75.0,
                      'priority': 2},
}


def _same(expected, actual):
    if isinstance(expected, dict):
        return all(_same(v, actual[k]) for k, v in expected.items())
    if isinstance(expected, list):
        return len(expected) == len(actual) and all(map(_same, expected, actual))
    if isinstance(expected, float):
        return math.isclose(expected, actual, rel_tol=1e-6)
    return expected == actual


def test_every_message_crosses_from_a_publisher_process(ros_probe, node_processes):
    received = {}
    for name, values in SAMPLES.items():
        topic = f'crossing/{name.lower()}'
        received[name] = ros_probe.subscribe(msg_dict.message_class(name), topic)
        node_processes('topic', 'pub', topic, f'dynofa_ros/msg/{name}', yaml.safe_dump(values),
                       '--rate', '5', ros_args=('-r', f'__node:=pub_{name.lower()}'))
    for name, values in SAMPLES.items():
        msg = ros_probe.wait_for(received[name], timeout=30)
        assert _same(values, msg_dict.to_dict(msg)), name
        assert msg.header.stamp.sec > 0, f'{name}: header not stamped'


def test_every_message_crosses_to_an_echo_process(ros_probe):
    echoes = {}
    for name in SAMPLES:
        topic = f'echo/{name.lower()}'
        echoes[name] = subprocess.Popen(
            [executable('topic'), 'echo', topic, f'dynofa_ros/msg/{name}', '--count', '1',
             '--timeout', '60', '--ros-args', '-r', f'__node:=echo_{name.lower()}'],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    publishers = {name: ros_probe.publisher(msg_dict.message_class(name), f'echo/{name.lower()}')
                  for name in SAMPLES}
    try:
        # Publish until each echo has printed its message and exited: a subscription matched on
        # the publisher's side may not yet be matched on the subscriber's, so one send can be lost.
        deadline = time.monotonic() + 60
        while any(p.poll() is None for p in echoes.values()) and time.monotonic() < deadline:
            for name, pub in publishers.items():
                if echoes[name].poll() is None and pub.get_subscription_count():
                    pub.publish(msg_dict.fill(msg_dict.message_class(name)(), SAMPLES[name]))
            time.sleep(0.2)
        for name, proc in echoes.items():
            out, err = proc.communicate(timeout=10)
            assert proc.returncode == 0, f'{name}: {err}'
            printed = yaml.safe_load(out.split('---')[0])
            assert _same(SAMPLES[name], printed), name
    finally:
        for proc in echoes.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _param(*args):
    return subprocess.run([executable('param'), '--timeout', '20', *args],
                          capture_output=True, text=True, timeout=60)


def test_parameter_set_from_another_process_takes_effect(ros_probe, node_processes):
    received = ros_probe.subscribe(msg_dict.message_class('MissionTarget'), 'live_target')
    node_processes('topic', 'pub', 'live_target', 'MissionTarget',
                   '{app_id: cam, latency_target_ms: 40.0}', '--rate', '20')
    ros_probe.wait_for(received, lambda m: m.latency_target_ms == 40.0)

    done = _param('set', '/dynofa_pub', 'values', '{app_id: cam, latency_target_ms: 25.0}')
    assert done.returncode == 0, done.stderr
    ros_probe.wait_for(received, lambda m: m.latency_target_ms == 25.0, timeout=10)
    got = _param('get', '/dynofa_pub', 'values')
    assert got.returncode == 0 and '25.0' in got.stdout

    # A value the node cannot use is refused with its reason, and nothing changes.
    refused = _param('set', '/dynofa_pub', 'values', '{app_id: cam, no_such_field: 1}')
    assert refused.returncode == 1
    assert 'no_such_field' in refused.stderr
    count = len(received)
    ros_probe.wait_for(received, lambda m: True, count=count + 5, timeout=10)
    assert all(m.latency_target_ms == 25.0 for m in received[count:])


def test_param_tool_reports_an_absent_node():
    result = subprocess.run([executable('param'), '--timeout', '1', 'get', '/nobody', 'x'],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1 and 'not reachable' in result.stderr
