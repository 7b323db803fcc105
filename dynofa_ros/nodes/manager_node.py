"""
The runtime manager node: telemetry in, SubnetCommand / DvfsCommand out, targets as parameters.

All decisions are made by dynofa_ros.core.manager.policy; this node converts messages and
parameters. Parameter changes are validated at once (refused with a reason) and applied at the
next control step; a MissionTarget sets the same parameters.
"""

import math
import time

from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus
from dynofa_ros.core.common import paths
from dynofa_ros.core.common.untrusted import clip, quote, RefusalThrottle
from dynofa_ros.core.manager import config as manager_config
from dynofa_ros.core.manager import hardware_limits
from dynofa_ros.core.manager.data import FrameStats, PowerSnapshot, SystemSnapshot
from dynofa_ros.core.manager.policy import load_catalog, ManagerPolicy
from dynofa_ros.core.platforms.power_law import PowerModel
from dynofa_ros.core.platforms.probe import planning_domains
from dynofa_ros.core.platforms.profiles import load_profile
from dynofa_ros.core.system import board
from dynofa_ros.msg import (DvfsAck, DvfsCapabilities, DvfsCommand, MappingCommand,
                            MissionTarget, PerceptionStats, PowerState, SubnetCommand,
                            SystemState)
from dynofa_ros.nodes import node_main
from dynofa_ros.nodes import params as node_params
from dynofa_ros.nodes.diagnostics import diagnostic_array
from dynofa_ros.nodes.qos import COMMAND_QOS, TELEMETRY_QOS
from rclpy.node import Node
from rclpy.parameter import Parameter

MODES = {'pin': DvfsCommand.MODE_PIN, 'governor': DvfsCommand.MODE_GOVERNOR,
         'restore': DvfsCommand.MODE_RESTORE}


class ManagerNode(Node):
    """Hierarchical sub-network and DVFS manager."""

    def __init__(self):
        super().__init__('manager')
        self.spec_params = node_params.SpecParameters(self, manager_config.SPEC)
        start = self.spec_params.declare()
        profile = paths.resolve(start['platform_profile'], 'platform profile')
        platform = load_profile(profile)
        self.domains = planning_domains(platform)
        self.domain_names = {d.name: d.kind for d in self.domains}   # kinds check profile_keys
        apps = list(start['apps'])
        first_domain = {'domains': [self.domains[0].name]}  # the spec's default: empty
        values = self.spec_params.declare_mapped('apps', apps, first_domain)
        for name in manager_config.ManagerConfig.__annotations__:
            if name != 'apps':
                values[name] = start[name]
        config = manager_config.initial(apps, values, self.domain_names, load_catalog)
        self.policy = ManagerPolicy(config, self.domains,
                                    power_model=PowerModel(self.domains, platform.model))
        self.pending = None
        self.unmanaged_seen = set()
        self.refusals = RefusalThrottle(5.0)
        self.touched = set()       # parameter names set since the last configure (re-sets too)
        self.last_dvfs, self.last_dvfs_time = {}, 0.0
        self.acks, self.excluded = {}, {}
        self.affinity = {app: hardware_limits.cluster_affinity(
            platform.domains, state.domain.name) for app, state in self.policy.apps.items()}
        self.affinity_sent = False
        self.spec_params.start(check=self._check, apply=self._apply)
        self.subnet_pub = self.create_publisher(
            SubnetCommand, start['subnet_command_topic'], COMMAND_QOS)
        self.dvfs_pub = self.create_publisher(
            DvfsCommand, start['dvfs_command_topic'], COMMAND_QOS)
        self.mapping_pub = self.create_publisher(
            MappingCommand, start['mapping_command_topic'], COMMAND_QOS)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_subscription(PerceptionStats, start['perception_stats_topic'],
                                 self._on_stats, TELEMETRY_QOS)
        self.create_subscription(SystemState, start['system_state_topic'],
                                 self._on_system, TELEMETRY_QOS)
        self.create_subscription(PowerState, start['power_state_topic'],
                                 self._on_power, TELEMETRY_QOS)
        self.create_subscription(MissionTarget, start['mission_target_topic'],
                                 self._on_mission, TELEMETRY_QOS)
        self.create_subscription(DvfsAck, start['dvfs_ack_topic'], self._on_ack, TELEMETRY_QOS)
        self.create_subscription(DvfsCapabilities, start['dvfs_capabilities_topic'],
                                 self._on_capabilities, COMMAND_QOS)
        self.period = config.control_period_s
        self.timer = self.create_timer(self.period, self._on_timer)
        self.get_logger().info(
            f'managing {apps} with policy {config.policy} on {sorted(self.domain_names)} '
            f'(profile {profile}); latency models: ' + '; '.join(
                f'{a}: {s.model.source}' for a, s in self.policy.apps.items()))

    def _changed(self, values):
        """Return the config with values applied to the pending one (ValueError if invalid)."""
        return manager_config.apply(self.pending or self.policy.config, values,
                                    self.domain_names, load_catalog)

    def _check(self, values):
        try:
            self._changed(values)
        except ValueError as exc:
            self.refusals(self.get_logger().warning, 'parameter',
                          f'refused parameter change: {clip(exc, 300)}')
            return clip(exc, 300)
        return ''

    def _apply(self, values):
        try:
            self.pending = self._changed(values)
            self.touched.update(values)
        except ValueError as exc:  # checked on set: only a file changed since gets here
            self.get_logger().error(f'parameter change not applied: {exc}')

    def _on_timer(self):
        if self.pending is not None:
            self.policy.configure(self.pending, self.touched)
            self.pending, self.touched = None, set()
            if self.policy.config.control_period_s != self.period:
                self.period = self.policy.config.control_period_s
                self.timer.cancel()
                self.destroy_timer(self.timer)
                self.timer = self.create_timer(self.period, self._on_timer)
        now = time.monotonic()
        if not self.affinity_sent:
            self._pin_clusters()
        self._publish(self.policy.step(now))
        refresh = self.policy.config.command_refresh_s
        if refresh > 0 and self.last_dvfs and now - self.last_dvfs_time >= refresh:
            for msg in self.last_dvfs.values():  # keep-alive for the hardware watchdog
                msg.header.stamp = self.get_clock().now().to_msg()
                self.dvfs_pub.publish(msg)
            self.last_dvfs_time = now
        self._diagnostics(now)

    def _on_stats(self, msg):
        if msg.app_id not in self.policy.config.apps:
            self._unmanaged(msg.app_id)
            return
        stats = FrameStats(msg.app_id, time.monotonic(), msg.subnet_index,
                           msg.inference_latency_ms, msg.frames_processed, msg.frames_dropped,
                           msg.num_threads, msg.device)
        self._publish(self.policy.on_frame(stats))

    def _unmanaged(self, app_id):
        """Say once per application that its stats arrive but it is not managed."""
        if app_id in self.unmanaged_seen or len(self.unmanaged_seen) >= 32:
            return
        self.unmanaged_seen.add(app_id)
        self.get_logger().warning(
            f'perception stats from application {quote(app_id)}, which this manager does not '
            f'manage (apps: {list(self.policy.config.apps)}); list it in the apps parameter (or '
            'start the system with app_id:=) to manage it')

    def _on_system(self, msg):
        util = {}
        for d in self.domains:
            cores = [msg.cpu_utilization[c] for c in d.cpus if c < len(msg.cpu_utilization)]
            if cores:
                util[d.name] = sum(cores) / len(cores) / 100.0
        temps = [t for t in msg.temperatures_c if math.isfinite(t)]
        self.policy.on_system(SystemSnapshot(
            time.monotonic(), {d.name: d.cur_khz for d in msg.domains},
            {d.name: d.governor for d in msg.domains}, util, max(temps, default=math.nan)))

    def _on_capabilities(self, msg):
        """Plan only over what the hardware node reports it can write, up to its caps."""
        reported = {d.name: hardware_limits.Reported(d.writable, tuple(d.available_khz),
                                                     d.max_allowed_khz, d.reason)
                    for d in msg.domains}
        excluded = self.policy.set_hardware_limits(reported)
        for name, reason in excluded.items():
            if self.excluded.get(name) != reason:
                self.get_logger().warning(f'not commanding DVFS domain {name}: {reason}')
            self.last_dvfs.pop(name, None)
        for name in set(self.excluded) - set(excluded):
            self.get_logger().info(f'DVFS domain {name} is writable again: commanding it')
        self.excluded = dict(excluded)
        caps = {d.name: d.frequencies_khz[-1] for d in self.policy.domains.values()
                if d.name not in excluded}
        self.get_logger().info('hardware limits: ' + ', '.join(
            f'{n} up to {f} kHz' for n, f in sorted(caps.items())) or 'no writable domain')

    def _on_ack(self, msg):
        """Read the hardware node's answer to a DvfsCommand; log a refusal once per reason."""
        previous = self.acks.get(msg.domain)
        self.acks[msg.domain] = msg
        if msg.accepted:
            return
        if previous is None or previous.accepted or previous.reason != msg.reason:
            self.get_logger().warning(f'hardware node refused {msg.domain}: {msg.reason}')

    def _pin_clusters(self):
        """Once: pin each application to the cores of the cluster whose frequency it manages."""
        self.affinity_sent = True
        stamp = self.get_clock().now().to_msg()
        for app_id, cores in sorted(self.affinity.items()):
            if not cores:
                continue
            domain = self.policy.apps[app_id].domain.name
            msg = MappingCommand(app_id=app_id, cpu_affinity=list(cores),
                                 reason=f'pin to the managed cluster {domain}')
            msg.header.stamp = stamp
            self.mapping_pub.publish(msg)
            self.get_logger().info(f'{app_id} -> cores {list(cores)} (cluster {domain})')

    def _on_power(self, msg):
        self.policy.on_power(PowerSnapshot(time.monotonic(), msg.total_power_w, msg.measured))

    def _on_mission(self, msg):
        if msg.app_id not in self.policy.config.apps:
            self.refusals(self.get_logger().warning, 'mission_app',
                          f'mission target for unknown application {quote(msg.app_id)}')
            return
        prefix = f'apps.{msg.app_id}.'
        params = []
        if msg.latency_target_ms != 0:
            params.append(Parameter(prefix + 'latency_target_ms',
                                    value=float(msg.latency_target_ms)))
        if not math.isnan(msg.min_accuracy):
            params.append(Parameter(prefix + 'min_accuracy', value=float(msg.min_accuracy)))
        if msg.priority:
            params.append(Parameter(prefix + 'priority', value=int(msg.priority)))
        for param, result in zip(params, self.set_parameters(params)):
            if not result.successful:
                self.refusals(self.get_logger().warning, 'mission_target',
                              f'mission target {param.name} refused: {clip(result.reason)}')

    def _publish(self, decisions):
        stamp = self.get_clock().now().to_msg()
        for d in decisions.subnets:
            msg = SubnetCommand(app_id=d.app_id, subnet_id=d.subnet_id,
                                subnet_index=d.subnet_index,
                                expected_latency_ms=float(d.expected_latency_ms),
                                expected_accuracy=float(d.expected_accuracy), reason=d.reason)
            msg.header.stamp = stamp
            self.subnet_pub.publish(msg)
            self.get_logger().info(f'{d.app_id} -> {d.subnet_id}: {d.reason}')
        for d in decisions.dvfs:
            msg = DvfsCommand(domain=d.domain, mode=MODES[d.mode],
                              frequency_khz=int(d.frequency_khz), governor=d.governor,
                              reason=d.reason)
            msg.header.stamp = stamp
            self.dvfs_pub.publish(msg)
            self.last_dvfs[d.domain], self.last_dvfs_time = msg, time.monotonic()
            self.get_logger().info(f'{d.domain} -> {d.mode} {d.frequency_khz or d.governor}')

        for d in decisions.mappings:
            cores = d.cpu_affinity or self.affinity.get(d.app_id, ())
            msg = MappingCommand(app_id=d.app_id, device=d.device, num_threads=d.num_threads,
                                 cpu_affinity=list(cores), reason=d.reason)
            msg.header.stamp = stamp
            self.mapping_pub.publish(msg)
            self.get_logger().info(f'{d.app_id} -> {d.device or "same device"}, '
                                   f'{d.num_threads or "same"} threads: {d.reason}')

    def _diagnostics(self, now):
        status = self.policy.status(now)
        rows = []
        for app_id, app in status['apps'].items():
            level = DiagnosticStatus.OK if app['feasible'] else DiagnosticStatus.WARN
            if status['stale']:
                level = DiagnosticStatus.STALE
            values = {k: f'{v:.2f}' if isinstance(v, float) else v for k, v in app.items()}
            values['policy'] = status['policy']
            values.update((f'frequency_khz.{n}', f) for n, f in status['frequencies_khz'].items())
            values.update((f'dvfs_ack.{n}',
                           ('applied: ' if a.accepted else 'refused: ') + a.reason)
                          for n, a in self.acks.items())
            values.update((f'not_commanded.{n}', r) for n, r in self.excluded.items())
            rows.append((level, f'{self.get_fully_qualified_name()}: {app_id}',
                         status['stale'] or app['note'], values))
        self.diag_pub.publish(diagnostic_array(self.get_clock().now().to_msg(), rows,
                                               board.hardware_id()))


def main(args=None):
    return node_main.run(ManagerNode, 'manager', args=args)
