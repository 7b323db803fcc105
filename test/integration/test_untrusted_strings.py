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


def flood(publisher, make):
    for _ in range(FLOOD):
        publisher.publish(make())
        time.sleep(0.01)  # pacing, so that the node's history of 10 keeps every command


def test_perception_node_clips_and_throttles(node_processes, ros_probe, tmp_path):
    catalog = write_small_catalog(tmp_path)
    node = node_processes('perception_node', ros_args=[
        '-p', f'catalog:={catalog}', '-p', 'num_threads:=1'])
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    subnet = ros_probe.publisher(SubnetCommand, 'subnet_command', FLOOD_QOS)
    mapping = ros_probe.publisher(MappingCommand, 'mapping_command', FLOOD_QOS)
    ros_probe.wait_for_subscribers(subnet, timeout=60)
    ros_probe.wait_for_subscribers(mapping, timeout=60)
    flood(subnet, lambda: SubnetCommand(app_id='cam', subnet_id=HUGE, reason=HUGE))
    flood(mapping, lambda: MappingCommand(app_id='cam', cpu_affinity=list(range(4096)),
                                          reason=HUGE))

    def handled_all(array):
        return any(kv.key == 'commands_handled' and kv.value == str(2 * FLOOD)
                   for s in array.status for kv in s.values)

    array = ros_probe.wait_for(diagnostics, handled_all, timeout=60)
    assert diagnostics_ok(array)
    out = node.output()
    assert '[10000 characters]' in out
    assert longest_line(out) < LONGEST_LINE
    # Once per kind and period (twice at most, should the node take over 5 s for the flood).
    assert out.count('subnet refused') in (1, 2) and out.count('mapping refused') in (1, 2)


def test_hardware_node_clips_and_throttles(node_processes, ros_probe, tmp_path):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    node = node_processes('hardware_node', ros_args=[
        '-p', f'platform_profile:={XAVIER_PROFILE}', '-p', f'sysfs_root:={tree.root}',
        '-p', 'watchdog_timeout_s:=0.0', '-p', 'diagnostics_rate_hz:=5.0'])
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    cmd = ros_probe.publisher(DvfsCommand, 'dvfs_command', FLOOD_QOS)
    ros_probe.wait_for_subscribers(cmd, timeout=60)
    flood(cmd, lambda: DvfsCommand(domain=HUGE, mode=DvfsCommand.MODE_PIN, frequency_khz=1,
                                   governor=HUGE, reason=HUGE))

    def rejected_all(array):
        return any(kv.key == 'rejected' and kv.value == str(FLOOD)
                   for s in array.status for kv in s.values)

    array = ros_probe.wait_for(diagnostics, rejected_all, timeout=60)
    assert diagnostics_ok(array)
    out = node.output()
    assert '[10000 characters]' in out
    assert longest_line(out) < LONGEST_LINE
    assert out.count('unknown domain') in (1, 2)


def test_manager_node_clips_and_throttles(node_processes, ros_probe):
    node = node_processes('manager_node', ros_args=[
        '-p', 'apps:=[cam]', '-p', 'apps.cam.domains:=[gpu]',
        '-p', 'apps.cam.profile_key:=gpu/jetson_xavier_nx/published'])
    target = ros_probe.publisher(MissionTarget, 'mission_target')
    ros_probe.wait_for_subscribers(target, timeout=60)
    flood(target, lambda: MissionTarget(app_id=HUGE, latency_target_ms=40.0))
    wait_for_text(node, '[10000 characters]')
    time.sleep(1.0)  # the rest of the flood arrives
    out = node.output()
    assert longest_line(out) < LONGEST_LINE
    assert out.count('unknown application') in (1, 2)
