"""
Long strings from other participants reach no log line or diagnostics value at full length.

Each real node gets a flood of refused commands carrying a 10 kB name (and the perception node
a 4096-entry core list): every log line stays short, the full length is stated, and each kind
of refusal is logged once per period instead of once per message.
"""

import time

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.fake_hardware.fake_sysfs import build
from dynofa_ros.msg import DvfsCommand, MappingCommand, MissionTarget, SubnetCommand
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from support.hardware import XAVIER_PROFILE
from support.perception import write_small_catalog

# Deep enough that no command of the flood is overwritten before it is sent.
FLOOD_QOS = QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE,
                       durability=DurabilityPolicy.TRANSIENT_LOCAL)
HUGE = 'n' * 10_000
FLOOD = 20
LONGEST_LINE = 600  # a clipped value is 120 characters; the rest of a line is the node's own


def longest_line(text):
    return max(len(line) for line in text.splitlines())


def diagnostics_ok(array):
    texts = [text for s in array.status for text in (s.message, *(kv.value for kv in s.values))]
    return max(len(text) for text in texts) < LONGEST_LINE


def wait_for_text(node, text, timeout=30.0):
    deadline = time.monotonic() + timeout
    while text not in node.output():
        assert time.monotonic() < deadline, f'{text!r} not logged:\n{node.output()[-2000:]}'
        time.sleep(0.1)


def counter(array, key):
    """Return the largest value of a numeric diagnostics key in the array (0 when absent)."""
    return max([int(kv.value) for s in array.status for kv in s.values if kv.key == key] + [0])


def flood(probe, publisher, make, diagnostics, key, start=0):
    """
    Send FLOOD commands, each after the node's diagnostics counted the one before.

    Return the seconds it took: refusal logs may repeat once per 5 s of it.
    """
    began = time.monotonic()
    for i in range(start, start + FLOOD):
        publisher.publish(make())
        probe.wait_for(diagnostics, lambda a, n=i + 1: counter(a, key) >= n, timeout=60)
    return time.monotonic() - began


def at_most(seconds):
    """Return the most log lines of one kind of refusal allowed over that many seconds."""
    return 1 + int(seconds // 5.0)


def test_perception_node_clips_and_throttles(node_processes, ros_probe, tmp_path):
    catalog = write_small_catalog(tmp_path)
    node = node_processes('perception_node', ros_args=[
        '-p', f'catalog:={catalog}', '-p', 'num_threads:=1'])
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    subnet = ros_probe.publisher(SubnetCommand, 'subnet_command', FLOOD_QOS)
    mapping = ros_probe.publisher(MappingCommand, 'mapping_command', FLOOD_QOS)
    ros_probe.wait_for_subscribers(subnet, timeout=60)
    ros_probe.wait_for_subscribers(mapping, timeout=60)
    took = flood(ros_probe, subnet, lambda: SubnetCommand(
        app_id='cam', subnet_id=HUGE, reason=HUGE), diagnostics, 'commands_handled')
    took_mapping = flood(ros_probe, mapping, lambda: MappingCommand(
        app_id='cam', cpu_affinity=list(range(4096)), reason=HUGE), diagnostics,
        'commands_handled', start=FLOOD)
    assert all(diagnostics_ok(array) for array in list(diagnostics))
    out = node.output()
    assert '[10000 characters]' in out
    assert longest_line(out) < LONGEST_LINE
    # Each kind once per 5 s, not once per command.
    assert 1 <= out.count('subnet refused') <= at_most(took) < FLOOD
    assert 1 <= out.count('mapping refused') <= at_most(took_mapping) < FLOOD


def test_hardware_node_clips_and_throttles(node_processes, ros_probe, tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    node = node_processes('hardware_node', ros_args=[
        '-p', f'platform_profile:={XAVIER_PROFILE}', '-p', f'sysfs_root:={tree.root}',
        '-p', 'watchdog_timeout_s:=0.0', '-p', 'diagnostics_rate_hz:=5.0'])
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    cmd = ros_probe.publisher(DvfsCommand, 'dvfs_command', FLOOD_QOS)
    ros_probe.wait_for_subscribers(cmd, timeout=60)
    took = flood(ros_probe, cmd, lambda: DvfsCommand(
        domain=HUGE, mode=DvfsCommand.MODE_PIN, frequency_khz=1, governor=HUGE, reason=HUGE),
        diagnostics, 'rejected')
    assert all(diagnostics_ok(array) for array in list(diagnostics))
    out = node.output()
    assert '[10000 characters]' in out
    assert longest_line(out) < LONGEST_LINE
    assert 1 <= out.count('unknown domain') <= at_most(took) < FLOOD


def test_manager_node_clips_and_throttles(node_processes, ros_probe):
    node = node_processes('manager_node', ros_args=[
        '-p', 'apps:=[cam]', '-p', 'apps.cam.domains:=[gpu]',
        '-p', 'apps.cam.profile_key:=gpu/jetson_xavier_nx/published'])
    target = ros_probe.publisher(MissionTarget, 'mission_target')
    ros_probe.wait_for_subscribers(target, timeout=60)
    began = time.monotonic()
    for _ in range(FLOOD):
        target.publish(MissionTarget(app_id=HUGE, latency_target_ms=40.0))
        time.sleep(0.01)
    wait_for_text(node, '[10000 characters]')
    time.sleep(1.0)  # the rest of the flood arrives
    out = node.output()
    assert longest_line(out) < LONGEST_LINE
    assert 1 <= out.count('unknown application') <= at_most(time.monotonic() - began) < FLOOD
