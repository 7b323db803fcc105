"""Crash safety, power-mode caps and acknowledgements of the hardware node as a real process."""

import os
import signal
import subprocess

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.fake_hardware.fake_sysfs import build, CPU_DIR, GPU_DIR
from dynofa_ros.core.hardware import dvfs_state
from dynofa_ros.msg import DvfsAck, DvfsCapabilities, DvfsCommand
from dynofa_ros.nodes.qos import COMMAND_QOS
from support.hardware import snapshot as full_snapshot, wait_until, XAVIER_PROFILE
from support.ros import executable, status_of

CPU0 = f'{CPU_DIR}/cpufreq/policy0'


def snapshot(root):
    """Return the tree without scaling_setspeed (a kernel hides it outside userspace)."""
    return {k: v for k, v in full_snapshot(root).items() if not k.endswith('scaling_setspeed')}


def node_args(root, state_dir, **params):
    values = {'platform_profile': XAVIER_PROFILE, 'sysfs_root': root, 'state_dir': state_dir,
              'publish_rate_hz': 10.0, 'diagnostics_rate_hz': 5.0, 'watchdog_timeout_s': 0.0,
              **params}
    args = []
    for name, value in values.items():
        args += ['-p', f'{name}:={value}']
    return args


def pin_and_kill(tmp_path, ros_probe, node_processes):
    """Start the node, pin cpu0 and the GPU, SIGKILL it; return (tree, pristine, state)."""
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    pristine = snapshot(tree.root)
    state_dir = str(tmp_path / 'state')
    state = dvfs_state.StateFile(state_dir, tree.root)
    cmd = ros_probe.publisher(DvfsCommand, 'dvfs_command', COMMAND_QOS)
    node = node_processes('hardware_node', ros_args=node_args(tree.root, state_dir))
    ros_probe.wait_for_subscribers(cmd)
    cmd.publish(DvfsCommand(domain='cpu0', mode=DvfsCommand.MODE_PIN, frequency_khz=1420800))
    cmd.publish(DvfsCommand(domain='gpu', mode=DvfsCommand.MODE_PIN, frequency_khz=1109250))
    wait_until(lambda: tree.get(f'{GPU_DIR}/min_freq') == '1109250000', what='gpu pinned')
    wait_until(lambda: tree.get(f'{CPU0}/scaling_governor') == 'userspace', what='cpu0 pinned')
    assert state.exists()
    node.proc.send_signal(signal.SIGKILL)
    node.proc.wait(15)
    ros_probe.node.destroy_publisher(cmd)       # no latched pin for the next start
    assert snapshot(tree.root) != pristine and state.exists()
    return tree, pristine, state


def test_sigkill_then_start_again_then_stop_leaves_the_pristine_tree(
        tmp_path, ros_probe, node_processes):
    tree, pristine, state = pin_and_kill(tmp_path, ros_probe, node_processes)
    diag = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    node = node_processes('hardware_node', ros_args=node_args(tree.root, state.dir))
    array = ros_probe.wait_for(diag, lambda m: status_of(m, '/hardware: dvfs state'))
    status = status_of(array, '/hardware: dvfs state')
    assert status.level == b'\x01' and 'did not restore DVFS' in status.message
    assert 'restored cpu0, cpu2, cpu4, gpu, state file removed' in status.message
    assert snapshot(tree.root) == pristine            # before this run wrote anything
    assert 'did not restore DVFS' in node.output()
    assert not state.exists()
    assert node.stop(signal.SIGTERM) == 0
    assert snapshot(tree.root) == pristine


def test_sigkill_then_the_restore_entry_point_leaves_the_pristine_tree(
        tmp_path, ros_probe, node_processes):
    tree, pristine, state = pin_and_kill(tmp_path, ros_probe, node_processes)
    run = subprocess.run([executable('hardware_node'), '--restore', '--state-dir', state.dir,
                          '--sysfs-root', tree.root], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert 'restored cpu0, cpu2, cpu4, gpu, state file removed' in run.stdout
    assert snapshot(tree.root) == pristine and not state.exists()
    again = subprocess.run([executable('hardware_node'), '--restore', '--state-dir', state.dir],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and 'nothing to restore' in again.stdout


def test_a_corrupt_state_file_stops_the_node_and_changes_nothing(tmp_path, node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    tree.put(f'{CPU0}/scaling_governor', 'userspace')
    before = full_snapshot(tree.root)
    state = dvfs_state.StateFile(str(tmp_path / 'state'), tree.root)
    os.makedirs(state.dir)
    with open(state.path, 'w') as f:
        f.write('{"format": "dynofa_ros/dvfs_state", "version": 1, "sysf')
    node = node_processes('hardware_node', ros_args=node_args(tree.root, state.dir))
    assert node.proc.wait(30) == 2
    assert 'not valid JSON' in node.output() and 'Traceback' not in node.output()
    run = subprocess.run([executable('hardware_node'), '--restore', '--state-dir', state.dir],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and 'nothing written' in run.stderr
    assert full_snapshot(tree.root) == before and state.exists()


def test_commands_are_acknowledged_and_the_power_mode_cap_is_reported(tmp_path, ros_probe,
                                                                      node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    caps = ros_probe.subscribe(DvfsCapabilities, 'dvfs_capabilities', COMMAND_QOS)
    acks = ros_probe.subscribe(DvfsAck, 'dvfs_ack')
    cmd = ros_probe.publisher(DvfsCommand, 'dvfs_command', COMMAND_QOS)
    node_processes('hardware_node', ros_args=node_args(tree.root, str(tmp_path / 'state')))
    report = {d.name: d for d in ros_probe.wait_for(caps).domains}
    assert report['cpu0'].writable and report['cpu0'].max_allowed_khz == 1420800
    assert list(report['cpu0'].available_khz)[-1] == 1907200
    assert report['gpu'].max_allowed_khz == 1109250
    ros_probe.wait_for_subscribers(cmd)
    above = DvfsCommand(domain='cpu0', mode=DvfsCommand.MODE_PIN, frequency_khz=1907200)
    above.header.stamp.sec = 41
    cmd.publish(above)
    ack = ros_probe.wait_for(acks, lambda a: a.command_stamp.sec == 41)
    assert not ack.accepted and 'power-mode cap of cpu0, 1420800 kHz' in ack.reason
    assert ack.max_allowed_khz == 1420800 and ack.max_khz == 1420800
    assert tree.get(f'{CPU0}/scaling_governor') == 'schedutil'
    ok = DvfsCommand(domain='cpu0', mode=DvfsCommand.MODE_PIN, frequency_khz=1420800)
    ok.header.stamp.sec = 42
    cmd.publish(ok)
    ack = ros_probe.wait_for(acks, lambda a: a.command_stamp.sec == 42)
    assert ack.accepted and ack.governor == 'userspace' and ack.max_khz == 1420800
    assert 'applied pin cpu0' in ack.reason


def test_allow_above_start_max_reports_and_applies_the_full_range(tmp_path, ros_probe,
                                                                  node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    caps = ros_probe.subscribe(DvfsCapabilities, 'dvfs_capabilities', COMMAND_QOS)
    cmd = ros_probe.publisher(DvfsCommand, 'dvfs_command', COMMAND_QOS)
    node = node_processes('hardware_node', ros_args=node_args(
        tree.root, str(tmp_path / 'state'), allow_above_start_max='true'))
    report = {d.name: d for d in ros_probe.wait_for(caps).domains}
    assert report['cpu0'].max_allowed_khz == 1907200
    ros_probe.wait_for_subscribers(cmd)
    cmd.publish(DvfsCommand(domain='cpu0', mode=DvfsCommand.MODE_PIN, frequency_khz=1907200))
    wait_until(lambda: tree.get(f'{CPU0}/scaling_max_freq') == '1907200', what='cap lifted')
    assert node.stop(signal.SIGINT) == 0
    assert tree.get(f'{CPU0}/scaling_max_freq') == '1420800'
