"""The manager node as a real process: telemetry from the test, parameters set at run time."""

import math
import sys
import threading
import time

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.system.board import board_model
from dynofa_ros.msg import (DomainState, DvfsAck, DvfsCapabilities, DvfsCommand,
                            DvfsDomainLimits, MappingCommand, MissionTarget, PerceptionStats,
                            SubnetCommand, SystemState)
from dynofa_ros.nodes.qos import COMMAND_QOS
from rcl_interfaces.msg import ParameterEvent


ARGS = ['-p', 'apps:=[cam]', '-p', 'apps.cam.domains:=[gpu]',
        '-p', 'apps.cam.profile_key:=gpu/jetson_xavier_nx/published',
        '-p', 'apps.cam.latency_target_ms:=80.0', '-p', 'control_period_s:=0.2',
        '-p', 'command_refresh_s:=0.5']


class FakePlatform:
    """Publish SystemState and PerceptionStats that follow the manager's last commands."""

    def __init__(self, probe, commands, dvfs):
        self.commands, self.dvfs = commands, dvfs
        self.system = probe.publisher(SystemState, 'system_state')
        self.stats = probe.publisher(PerceptionStats, 'perception_stats')
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        frames = 0
        while self.running:
            frames += 1
            khz = self.dvfs[-1].frequency_khz if self.dvfs else 1109250
            domain = DomainState(name='gpu', kind='devfreq', cur_khz=khz, min_khz=114750,
                                 max_khz=1109250, governor='userspace')
            self.system.publish(SystemState(domains=[domain], cpu_utilization=[50.0] * 6))
            cmd = self.commands[-1] if self.commands else None
            self.stats.publish(PerceptionStats(
                app_id='cam', subnet_id=cmd.subnet_id if cmd else 'n7_6',
                subnet_index=cmd.subnet_index if cmd else 6,
                inference_latency_ms=cmd.expected_latency_ms if cmd else 59.1,
                frames_processed=frames, frame_rate_hz=20.0, device='cuda'))
            time.sleep(0.05)    # pacing, not synchronisation: a 20 Hz camera

    def stop(self):
        self.running = False
        self.thread.join(2)


def _changed(node, name, value):
    """Return a predicate: a ParameterEvent saying `node` set `name` to the double `value`."""
    return lambda event: event.node == node and any(
        p.name == name and p.value.double_value == value for p in event.changed_parameters)


def test_parameter_change_on_the_running_manager_gives_a_new_subnet_command(
        node_processes, ros_probe):
    proc = node_processes('manager_node', ros_args=ARGS)
    events = ros_probe.subscribe(ParameterEvent, '/parameter_events')
    commands = ros_probe.subscribe(SubnetCommand, 'subnet_command', COMMAND_QOS)
    dvfs = ros_probe.subscribe(DvfsCommand, 'dvfs_command', COMMAND_QOS)
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    platform = FakePlatform(ros_probe, commands, dvfs)
    try:
        first = ros_probe.wait_for(commands, lambda m: m.app_id == 'cam', timeout=30)
        assert first.expected_latency_ms <= 80.0 * 0.9 and 'outer' in first.reason
        assert ros_probe.wait_for(dvfs).domain == 'gpu'
        results = ros_probe.set_parameters('manager', {'apps.cam.latency_target_ms': 45.0})
        assert results[0].successful, results[0].reason
        faster = ros_probe.wait_for(
            commands, lambda m: m.subnet_index < first.subnet_index, timeout=15)
        assert faster.expected_latency_ms <= 45.0 * 0.9
        out_of_range = 'latency_target_ms out of range Min: 0.1, Max: 1000000.0, value: '
        for name, value, reason in (('apps.cam.latency_target_ms', math.nan, out_of_range + 'nan'),
                                    ('apps.cam.latency_target_ms', -1.0, out_of_range + '-1.0'),
                                    ('policy', 'turbo', 'policy must be one of')):
            (result,) = ros_probe.set_parameters('manager', {name: value})
            assert not result.successful and reason in result.reason, result.reason
        assert ros_probe.get_parameters('manager', ['apps.cam.latency_target_ms']) == [45.0]
        status = ros_probe.wait_for(diagnostics, lambda m: any(
            s.name.endswith('cam') for s in m.status), timeout=10)
        # Named by the fully qualified node name, so namespaced robots do not collide.
        assert [(s.name, s.hardware_id) for s in status.status] == [('/manager: cam',
                                                                     board_model())]
        keys = {kv.key for s in status.status for kv in s.values}
        assert {'predicted_ms', 'measured_ms', 'feasible', 'subnet'} <= keys
        mission = ros_probe.publisher(MissionTarget, 'mission_target')
        ros_probe.wait_for_subscribers(mission)
        mission.publish(MissionTarget(app_id='cam', latency_target_ms=70.0,
                                      min_accuracy=math.nan, priority=0))
        ros_probe.wait_for(events, _changed('/manager', 'apps.cam.latency_target_ms', 70.0),
                           timeout=10)
        assert ros_probe.get_parameters('manager', ['apps.cam.latency_target_ms']) == [70.0]
        # The DVFS decision is re-sent as a keep-alive for the hardware watchdog.
        ros_probe.wait_for(dvfs, count=len(dvfs) + 3, timeout=10)
        assert any((a.domain, a.mode, a.frequency_khz) == (b.domain, b.mode, b.frequency_khz)
                   for a, b in zip(dvfs, dvfs[1:]))
        assert proc.alive()
    finally:
        platform.stop()
    assert proc.stop() == 0, proc.output()


GPU_KHZ = [114750, 204000, 306000, 408000, 510000, 599250, 701250, 752250, 803250, 854250,
           905250, 956250, 1007250, 1058250, 1109250]


def _gpu_limits(writable, cap):
    return DvfsCapabilities(domains=[DvfsDomainLimits(
        name='gpu', kind='devfreq', writable=writable, available_khz=GPU_KHZ,
        max_allowed_khz=cap, reason='' if writable else 'no write permission')])


def _ack_values(array):
    return {kv.key: kv.value for s in array.status if s.name.endswith('cam') for kv in s.values}


def test_the_manager_plans_within_reported_caps_reads_acks_and_drops_unwritable_domains(
        node_processes, ros_probe):
    caps = ros_probe.publisher(DvfsCapabilities, 'dvfs_capabilities', COMMAND_QOS)
    caps.publish(_gpu_limits(True, 510000))        # latched, as the hardware node's
    proc = node_processes('manager_node',
                          ros_args=ARGS + ['-p', 'apps.cam.latency_target_ms:=5.0'])
    ros_probe.wait_until(lambda: 'hardware limits: gpu up to 510000 kHz' in proc.output(),
                         what='capabilities read')
    commands = ros_probe.subscribe(SubnetCommand, 'subnet_command', COMMAND_QOS)
    dvfs = ros_probe.subscribe(DvfsCommand, 'dvfs_command', COMMAND_QOS)
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    acks = ros_probe.publisher(DvfsAck, 'dvfs_ack')
    platform = FakePlatform(ros_probe, commands, dvfs)
    try:
        pin = ros_probe.wait_for(dvfs, lambda m: m.domain == 'gpu', timeout=30)
        assert pin.frequency_khz == 510000          # infeasible target: the fastest allowed
        ros_probe.wait_for_subscribers(acks)
        for _ in range(3):
            acks.publish(DvfsAck(domain='gpu', accepted=False,
                                 reason='failed pin gpu: device busy'))
        ros_probe.wait_for(diagnostics, lambda m: _ack_values(m).get('dvfs_ack.gpu') ==
                           'refused: failed pin gpu: device busy', timeout=10)
        assert proc.output().count('hardware node refused gpu: failed pin gpu') == 1
        caps.publish(_gpu_limits(False, 1109250))
        ros_probe.wait_until(lambda: 'not commanding DVFS domain gpu: the hardware node '
                             'cannot write it' in proc.output(), what='unwritable read')
        sent = len(dvfs)
        ros_probe.wait_for(diagnostics, lambda m: _ack_values(m).get('not_commanded.gpu'),
                           count=8, timeout=15)          # 8 control periods, 3 refreshes
        assert len(dvfs) == sent and max(m.frequency_khz for m in dvfs) == 510000
        assert proc.output().count('not commanding DVFS domain gpu') == 1
    finally:
        platform.stop()
    assert proc.stop() == 0, proc.output()


def test_the_manager_pins_inference_to_its_cluster_on_a_multi_cluster_profile(
        node_processes, ros_probe):
    mappings = ros_probe.subscribe(MappingCommand, 'mapping_command', COMMAND_QOS)
    proc = node_processes('manager_node', ros_args=[
        '-p', 'apps:=[cam]', '-p', 'apps.cam.domains:=[cpu2]', '-p', 'control_period_s:=0.2'])
    cmd = ros_probe.wait_for(mappings, timeout=30)
    assert (cmd.app_id, list(cmd.cpu_affinity), cmd.num_threads) == ('cam', [2, 3], 0)
    assert 'cluster cpu2' in cmd.reason
    assert proc.stop() == 0, proc.output()


class ContendedPlatform(FakePlatform):
    """Two intra-op threads stall (a busy core next to them); one runs normally."""

    def __init__(self, probe, mappings):
        self.mappings = mappings
        super().__init__(probe, [], [])

    def _run(self):
        frames = 0
        while self.running:
            frames += 1
            threads = self.mappings[-1].num_threads if self.mappings else 2
            domain = DomainState(name='gpu', kind='devfreq', cur_khz=1109250, min_khz=114750,
                                 max_khz=1109250, governor='userspace')
            self.system.publish(SystemState(domains=[domain], cpu_utilization=[50.0] * 6))
            self.stats.publish(PerceptionStats(
                app_id='cam', subnet_id='n7_6', subnet_index=6,
                inference_latency_ms=3600.0 if threads == 2 else 60.0,
                frames_processed=frames, frame_rate_hz=20.0, device='cpu',
                num_threads=threads))
            time.sleep(0.05)    # pacing, not synchronisation: a 20 Hz camera


def test_contention_makes_the_manager_map_the_application_to_fewer_threads(
        node_processes, ros_probe):
    proc = node_processes('manager_node', ros_args=ARGS + ['-p', 'apps.cam.max_threads:=2'])
    mappings = ros_probe.subscribe(MappingCommand, 'mapping_command', COMMAND_QOS)
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    platform = ContendedPlatform(ros_probe, mappings)
    try:
        cmd = ros_probe.wait_for(mappings, timeout=30)
        assert (cmd.app_id, cmd.num_threads, cmd.device) == ('cam', 1, '')
        assert 'contention' in cmd.reason
        # Let ten control periods pass (one /diagnostics each) with the manager on one thread,
        # which runs well: no further command may come (the mapping probe is 15 s away).
        ros_probe.wait_for(diagnostics, lambda m: any(
            s.name.endswith('cam') and {kv.key: kv.value for kv in s.values}['threads'] == '1'
            for s in m.status), count=10, timeout=30)
        assert len(mappings) == 1
        (result,) = ros_probe.set_parameters('manager', {'apps.cam.min_threads': 3})
        assert not result.successful and 'exceeds' in result.reason
        assert proc.alive()
    finally:
        platform.stop()
    assert proc.stop() == 0, proc.output()


class NoCudaPlatform(FakePlatform):
    """A board without CUDA: every frame still runs on the CPU, whatever the manager sends."""

    def _run(self):
        frames = 0
        while self.running:
            frames += 1
            cpu = DomainState(name='cpu0', kind='cpufreq', cur_khz=1907200, min_khz=115200,
                              max_khz=1907200, governor='userspace')
            gpu = DomainState(name='gpu', kind='devfreq', cur_khz=1109250, min_khz=114750,
                              max_khz=1109250, governor='userspace')
            self.system.publish(SystemState(domains=[cpu, gpu], cpu_utilization=[50.0] * 6))
            self.stats.publish(PerceptionStats(
                app_id='cam', subnet_id='n7_0', subnet_index=0, inference_latency_ms=120.0,
                frames_processed=frames, frame_rate_hz=10.0, device='cpu'))
            time.sleep(0.1)    # pacing, not synchronisation: a 10 Hz camera


def test_a_device_move_the_perception_node_refuses_is_not_tried_again(
        node_processes, ros_probe, tmp_path):
    import yaml
    from dynofa_ros.core.common import paths
    raw = yaml.safe_load(open(paths.resolve('config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml')))
    for subnet in raw['subnets']:   # a CPU profile: 3.2x the GPU's published latencies
        gpu_ms = subnet['latency_ms']['gpu/jetson_xavier_nx/published'][0]
        subnet['latency_ms']['cpu/test/cluster'] = {2: 3.2 * gpu_ms}
    catalog = tmp_path / 'catalog.yaml'
    catalog.write_text(yaml.safe_dump(raw))
    # 100 ms at 10 Hz: no sub-network fits on the cluster (120 ms and more), all on the GPU.
    proc = node_processes('manager_node', ros_args=[
        '-p', 'apps:=[cam]', '-p', 'apps.cam.domains:=[cpu0, gpu]',
        '-p', 'apps.cam.profile_keys:=[cpu/test/cluster, gpu/jetson_xavier_nx/published]',
        '-p', f'apps.cam.catalog:={catalog}', '-p', 'apps.cam.latency_target_ms:=100.0',
        '-p', 'control_period_s:=0.2'])
    mappings = ros_probe.subscribe(MappingCommand, 'mapping_command', COMMAND_QOS)
    diagnostics = ros_probe.subscribe(DiagnosticArray, '/diagnostics')
    platform = NoCudaPlatform(ros_probe, [], [])
    try:
        cmd = ros_probe.wait_for(mappings, lambda m: m.device == 'cuda', timeout=30)
        assert cmd.app_id == 'cam' and 'cannot meet every target' in cmd.reason
        # The frames keep reporting 'cpu': after ten of them the manager takes cam back to
        # cpu0, says so, and sends 'cuda' no more (ten control periods, one status each).
        ros_probe.wait_for(diagnostics, lambda m: any(
            s.name.endswith('cam') and 'not tried again' in {
                kv.key: kv.value for kv in s.values}['placement'] for s in m.status),
            timeout=30)
        sent = sum(m.device == 'cuda' for m in mappings)
        ros_probe.wait_for(diagnostics, count=len(diagnostics) + 10, timeout=30)
        assert sum(m.device == 'cuda' for m in mappings) == sent == 1
        assert proc.alive()
    finally:
        platform.stop()
    assert proc.stop() == 0, proc.output()


def test_invalid_startup_parameters_stop_the_node_with_a_reason(node_processes):
    proc = node_processes('manager_node', ros_args=['-p', 'policy:=turbo'])
    assert proc.proc.wait(30) == 1
    assert 'policy must be one of' in proc.output()


def test_a_bad_platform_profile_stops_the_node_with_one_line(node_processes, tmp_path):
    profile = tmp_path / 'bad.yaml'
    profile.write_text('name: bad\ndomains: [{name: gpu, kind: magic, path: sys/gpu}]\n')
    proc = node_processes('manager_node', ros_args=['-p', f'platform_profile:={profile}'])
    assert proc.proc.wait(30) == 1
    out = proc.output()
    assert f'manager: cannot start: platform profile {profile}: domains[0] (gpu): kind' in out
    assert 'Traceback' not in out


def test_a_bug_at_start_keeps_its_traceback(node_processes, tmp_path):
    script = tmp_path / 'buggy_manager.py'
    script.write_text(
        'import sys\n'
        'from dynofa_ros.nodes import manager_node\n'
        'def broken(*args, **kwargs):\n'
        "    raise KeyError('injected bug')\n"
        'manager_node.planning_domains = broken\n'
        'sys.exit(manager_node.main())\n')
    proc = node_processes(sys.executable, str(script))
    assert proc.proc.wait(30) != 0
    out = proc.output()
    assert 'Traceback' in out and "KeyError: 'injected bug'" in out
    assert 'cannot start' not in out
