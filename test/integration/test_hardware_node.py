"""The hardware node as a real process on fake sysfs trees, driven over DDS."""

import os
import signal
import sys

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.fake_hardware.fake_sysfs import build, CPU_DIR, GPU_DIR
from dynofa_ros.core.system.board import board_model
from dynofa_ros.msg import DvfsCommand, PowerState, SystemState
from dynofa_ros.nodes.hardware_node import COMMAND_QOS
from support.hardware import (deny_writes, remove_tree, snapshot, wait_until,
                              world_readable_tree, XAVIER_PROFILE)
from support.ros import executable, status_of

CPU0 = f'{CPU_DIR}/cpufreq/policy0'


def node_args(root, **params):
    values = {'platform_profile': XAVIER_PROFILE, 'sysfs_root': root, 'publish_rate_hz': 10.0,
              'diagnostics_rate_hz': 5.0, 'watchdog_timeout_s': 0.0,
              'state_dir': root.rstrip('/') + '_state', **params}
    args = []
    for name, value in values.items():
        args += ['-p', f'{name}:={value}']
    return args


def log_of(node):
    with open(node.log_path) as f:
        return f.read()


def command(domain, mode, **fields):
    return DvfsCommand(domain=domain, mode=mode, **fields)


def values_of(status):
    return {kv.key: kv.value for kv in status.values}


class Rig:
    """A probe with the hardware node's topics wired up."""

    def __init__(self, probe):
        self.probe = probe
        self.system = probe.subscribe(SystemState, 'system_state')
        self.power = probe.subscribe(PowerState, 'power_state')
        self.diag = probe.subscribe(DiagnosticArray, '/diagnostics')
        self.cmd = probe.publisher(DvfsCommand, 'dvfs_command', COMMAND_QOS)

    def send(self, msg):
        self.probe.wait_for_subscribers(self.cmd)
        self.cmd.publish(msg)

    def command_status(self, predicate, timeout=15.0):
        def match(array):
            status = status_of(array, '/hardware: dvfs commands')
            return status is not None and predicate(status)
        return status_of(self.probe.wait_for(self.diag, match, timeout),
                         '/hardware: dvfs commands')


def test_node_applies_refuses_reports_and_restores_on_sigterm(tmp_path, ros_probe,
                                                              node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx', ina='hwmon')
    tree.put(f'{GPU_DIR}/cur_freq', 510000000)
    original = snapshot(tree.root)
    rig = Rig(ros_probe)
    node = node_processes('hardware_node', ros_args=node_args(tree.root))
    state = ros_probe.wait_for(rig.system, lambda m: len(m.domains) == 4)
    gpu = next(d for d in state.domains if d.name == 'gpu')
    assert (gpu.cur_khz, gpu.min_khz, gpu.max_khz) == (510000, 114750, 1109250)
    assert len(state.thermal_zones) == 6 and state.stale_sensors == []
    # Name-keyed entries carry the same values as the parallel arrays.
    assert [(t.name, t.temperature_c) for t in state.thermal] == list(
        zip(state.thermal_zones, state.temperatures_c))
    power = ros_probe.wait_for(rig.power, lambda m: m.measured)
    assert [(r.name, r.power_w) for r in power.rails] == list(
        zip(power.rail_names, power.rail_power_w)) and len(power.rails) >= 1
    assert power.source == 'ina3221' and abs(power.total_power_w - 6.0) < 1e-3
    diag = ros_probe.wait_for(rig.diag, lambda m: status_of(m, '/hardware: dvfs gpu'))
    gpu_values = values_of(status_of(diag, '/hardware: dvfs gpu'))
    # The board the node runs on, not the profile name (two robots share a profile).
    assert {s.hardware_id for s in diag.status} == {board_model()}
    assert gpu_values['available_khz'].split()[:2] == ['114750', '204000']
    assert gpu_values['writable'] == 'true'

    rig.send(command('cpu0', DvfsCommand.MODE_PIN, frequency_khz=1420800, reason='test'))
    rig.send(command('gpu', DvfsCommand.MODE_RANGE, min_khz=306000, max_khz=510000))
    wait_until(lambda: tree.get(f'{GPU_DIR}/max_freq') == '510000000', what='gpu range')
    assert tree.get(f'{CPU0}/scaling_governor') == 'userspace'
    assert tree.get(f'{CPU0}/scaling_setspeed') == '1420800'
    ros_probe.wait_for(rig.system, lambda m: any(
        d.name == 'cpu0' and d.governor == 'userspace' for d in m.domains))

    applied = snapshot(tree.root)
    rig.send(command('gpu', DvfsCommand.MODE_PIN, frequency_khz=12345))
    status = rig.command_status(lambda s: 'rejected' in s.message)
    assert '12345 kHz is not an available frequency of gpu' in status.message
    assert status.level == b'\x01' and values_of(status)['rejected'] == '1'
    assert snapshot(tree.root) == applied
    assert 'rejected pin gpu' in node.output()

    code = node.stop(signal.SIGTERM)
    assert code == 0, log_of(node)
    restored = snapshot(tree.root)
    assert {k for k in original if original[k] != restored[k]} == {f'{CPU0}/scaling_setspeed'}
    assert 'shutdown: applied restore cpu0' in log_of(node)


def test_watchdog_returns_to_safe_governor_then_restore_on_sigint(tmp_path, ros_probe,
                                                                  node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    original = snapshot(tree.root)
    rig = Rig(ros_probe)
    node = node_processes('hardware_node', ros_args=node_args(
        tree.root, watchdog_timeout_s=1.5, safe_governor='performance'))
    rig.send(command('cpu2', DvfsCommand.MODE_RANGE, min_khz=422400, max_khz=729600))
    rel = f'{CPU_DIR}/cpufreq/policy2'
    wait_until(lambda: tree.get(f'{rel}/scaling_max_freq') == '729600', what='range applied')
    wait_until(lambda: tree.get(f'{rel}/scaling_governor') == 'performance', what='watchdog')
    assert tree.get(f'{rel}/scaling_max_freq') == '1420800'
    assert tree.get(f'{rel}/scaling_min_freq') == '115200'
    assert tree.get(f'{GPU_DIR}/governor') == 'nvhost_podgov'       # never touched
    status = rig.command_status(lambda s: values_of(s)['watchdog'] == 'tripped')
    assert status.message.startswith('watchdog: no command for 1.5 s')
    assert node.stop(signal.SIGINT) == 0
    assert snapshot(tree.root) == original


# Run a command with `root` mounted read-only in a private mount namespace (as root).
READ_ONLY = ('mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" "$0" && exec "$@"')


def test_without_write_permission_runs_telemetry_only(ros_probe, node_processes):
    tree = world_readable_tree('jetson_xavier_nx')
    try:
        if os.geteuid() == 0:
            # Modes do not bind root: the node runs with the tree on a read-only bind mount of
            # its own, so its writes would fail for real (EROFS) and access() says so.
            exe = '/usr/bin/unshare'
            args = ['-m', '--propagation', 'private', 'sh', '-c', READ_ONLY, tree.root,
                    executable('hardware_node')]
        else:
            deny_writes(tree.root)
            exe, args = 'hardware_node', []
        original = snapshot(tree.root)
        rig = Rig(ros_probe)
        node = node_processes(exe, *args, ros_args=node_args(tree.root))
        ros_probe.wait_for(rig.system, lambda m: len(m.domains) == 4)
        diag = ros_probe.wait_for(rig.diag, lambda m: status_of(m, '/hardware: dvfs cpu0'))
        status = status_of(diag, '/hardware: dvfs cpu0')
        assert values_of(status)['writable'] == 'false' and 'telemetry-only' in status.message
        rig.send(command('cpu0', DvfsCommand.MODE_PIN, frequency_khz=960000))
        status = rig.command_status(lambda s: 'rejected' in s.message)
        assert 'read-only here' in status.message
        assert 'running telemetry-only' in node.output()
        code = node.stop(signal.SIGTERM)
        assert code == 0, log_of(node)
        assert snapshot(tree.root) == original
    finally:
        remove_tree(tree)


def test_parameters_are_validated_on_set(tmp_path, ros_probe, node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    node_processes('hardware_node', ros_args=node_args(tree.root))
    results = ros_probe.set_parameters('hardware', {'safe_governor': 'nvhost_podgov'})
    assert not results[0].successful and 'not available in domains' in results[0].reason
    results = ros_probe.set_parameters('hardware', {'publish_rate_hz': 1000.0})
    assert not results[0].successful
    results = ros_probe.set_parameters('hardware', {'sysfs_root': '/'})
    assert not results[0].successful and 'read-only' in results[0].reason
    results = ros_probe.set_parameters('hardware', {'watchdog_timeout_s': 5.0,
                                                    'safe_governor': 'performance'})
    assert all(r.successful for r in results)
    assert ros_probe.get_parameters('hardware', ['watchdog_timeout_s']) == [5.0]


def test_bad_start_parameters_exit_with_a_reason(tmp_path, node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    bad = [node_args(tree.root, platform_profile=str(tmp_path / 'none.yaml')),
           node_args(str(tmp_path / 'missing_root')),
           node_args(tree.root, safe_governor='schedutil')]
    expected = ['platform profile not found', 'is not a directory', 'not available in domains']
    for args, text in zip(bad, expected):
        node = node_processes('hardware_node', ros_args=args)
        assert node.proc.wait(30) == 2
        assert text in node.output()


def test_exception_in_the_node_still_restores(tmp_path, ros_probe, node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    original = snapshot(tree.root)
    trigger = tmp_path / 'fail_now'
    script = tmp_path / 'failing_node.py'
    script.write_text(
        'import os, sys\n'
        'from dynofa_ros.core.hardware import telemetry\n'
        'from dynofa_ros.nodes import hardware_node\n'
        'real = telemetry.Telemetry.system\n'
        'def system(self):\n'
        f'    if os.path.exists({str(trigger)!r}):\n'
        "        raise RuntimeError('injected failure in a timer callback')\n"
        '    return real(self)\n'
        'telemetry.Telemetry.system = system\n'
        'sys.exit(hardware_node.main())\n')
    rig = Rig(ros_probe)
    node = node_processes(sys.executable, str(script), ros_args=node_args(tree.root))
    rig.send(command('gpu', DvfsCommand.MODE_PIN, frequency_khz=204000))
    wait_until(lambda: tree.get(f'{GPU_DIR}/max_freq') == '204000000', what='gpu pinned')
    trigger.write_text('')
    assert node.proc.wait(30) != 0
    assert 'injected failure' in node.output()
    assert 'shutdown: applied restore gpu' in node.output()
    assert snapshot(tree.root) == original


def test_generic_profile_discovers_policies_and_reads_rapl(tmp_path, ros_probe,
                                                           node_processes):
    tree = build(str(tmp_path / 'root'), 'generic_x86')
    rig = Rig(ros_probe)
    node = node_processes('hardware_node', ros_args=node_args(
        tree.root, platform_profile='config/platforms/generic_cpufreq.yaml'))
    state = ros_probe.wait_for(rig.system, lambda m: len(m.domains) == 4)
    assert [d.name for d in state.domains] == ['cpu0', 'cpu1', 'cpu2', 'cpu3']
    assert {d.cur_khz for d in state.domains} == {2200000}
    power = ros_probe.wait_for(rig.power)
    assert (power.source, power.measured, list(power.rail_names)) == ('rapl', True, ['package-0'])
    diag = ros_probe.wait_for(rig.diag, lambda m: status_of(m, '/hardware: dvfs cpu3'))
    assert values_of(status_of(diag, '/hardware: dvfs cpu3'))['available_khz'].split() == [
        '800000', '1000000', '1400000', '1800000', '2200000', '2600000', '3000000', '3400000']
    rig.send(command('cpu3', DvfsCommand.MODE_PIN, frequency_khz=3400000))
    rel = f'{CPU_DIR}/cpufreq/policy3'
    wait_until(lambda: tree.get(f'{rel}/scaling_setspeed') == '3400000', what='cpu3 pinned')
    assert node.stop(signal.SIGINT) == 0
    assert tree.get(f'{rel}/scaling_governor') == 'schedutil'


def test_a_bad_platform_profile_stops_the_node_with_one_line(tmp_path, node_processes):
    tree = build(str(tmp_path / 'root'), 'jetson_xavier_nx')
    profile = tmp_path / 'bad.yaml'
    profile.write_text('name: bad\ndomains: [{name: gpu, kind: devfreq, path: /sys/gpu}]\n')
    node = node_processes('hardware_node', ros_args=node_args(tree.root,
                                                              platform_profile=str(profile)))
    assert node.proc.wait(30) == 2
    out = node.output()
    assert f'cannot start: platform profile {profile}: domains[0].path' in out
    assert 'Traceback' not in out
