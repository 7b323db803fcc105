"""
The hardware node: applies DvfsCommands to sysfs safely and publishes system/power telemetry.

`hardware_node --restore [--state-dir DIR] [--sysfs-root ROOT]` only restores what a run that
ended without restoring left in its state file (systemd ExecStopPost=), without ROS.
"""

import argparse
import sys
import time

from diagnostic_msgs.msg import DiagnosticArray
from dynofa_ros.core.common import param_spec
from dynofa_ros.core.common.errors import ConfigError
from dynofa_ros.core.common.paths import resolve
from dynofa_ros.core.common.untrusted import clip, RefusalThrottle
from dynofa_ros.core.hardware import dvfs_state, recovery
from dynofa_ros.core.hardware import status as status
from dynofa_ros.core.hardware.dvfs_writer import DvfsRequest, DvfsWriter, Watchdog
from dynofa_ros.core.hardware.power_sensors import EnergyCounter, find_sensor
from dynofa_ros.core.hardware.sysfs import Sysfs, SysfsError
from dynofa_ros.core.hardware.telemetry import read_domain, Telemetry
from dynofa_ros.core.platforms.probe import probe_domains
from dynofa_ros.core.platforms.profiles import GOVERNOR_RE, load_profile
from dynofa_ros.core.system import board
from dynofa_ros.msg import (DomainState, DvfsAck, DvfsCapabilities, DvfsCommand,
                            DvfsDomainLimits, PowerState, RailPower, SystemState, ThermalZone)
from dynofa_ros.nodes import node_main
from dynofa_ros.nodes import params as node_params
from dynofa_ros.nodes.diagnostics import diagnostic_array
from dynofa_ros.nodes.qos import COMMAND_QOS, TELEMETRY_QOS
from rclpy.node import Node

SPEC = param_spec.load_node('hardware')


class HardwareNode(Node):
    """Thin shell around the core DVFS writer and telemetry readers."""

    def __init__(self, **kwargs):
        super().__init__('hardware', **kwargs)
        self.spec_params = node_params.SpecParameters(self, SPEC)
        self.p = self.spec_params.declare()
        self.profile = load_profile(resolve(self.p['platform_profile'], 'platform profile'))
        self.sysfs = Sysfs(self.p['sysfs_root'])
        state = dvfs_state.StateFile(self.p['state_dir'] or dvfs_state.default_state_dir(),
                                     self.sysfs.root)
        self.recovery = self._recover(state)
        domains, problems = probe_domains(self.profile, self.sysfs)
        for problem in problems:
            self.get_logger().warning(f'domain not usable: {problem}')
        self.writer = DvfsWriter(self.sysfs, domains, self.p['dry_run'], self.get_logger(),
                                 state, self.p['allow_above_start_max'])
        if self.recovery is not None and not self.recovery.ok:
            self._adopt(self.recovery)
        error = self._check(self.p)
        if error:
            raise ConfigError(error)
        notes = []
        sensor = find_sensor(self.profile, self.sysfs, notes)
        for note in notes:
            self.get_logger().warning(f'power sensor skipped: {note}')
        if sensor is not None and hasattr(sensor, 'start'):
            sensor.start(time.monotonic())
        self.telemetry = Telemetry(self.sysfs, self.profile, domains, sensor)
        self.energy = EnergyCounter()
        self.watchdog = Watchdog(self.p['watchdog_timeout_s'], time.monotonic())
        self.counts = {'accepted': 0, 'rejected': 0, 'failed': 0, 'watchdog_trips': 0}
        self.refusals = RefusalThrottle(5.0)  # refused/failed command logs, per kind
        self.last, self.last_level, self.stale, self.power = '', status.OK, [], None
        self._report_start(domains, sensor)
        self.spec_params.start(check=self._check, apply=self._apply)
        self.sys_pub = self.create_publisher(SystemState, self.p['system_state_topic'],
                                             TELEMETRY_QOS)
        self.power_pub = self.create_publisher(PowerState, self.p['power_state_topic'],
                                               TELEMETRY_QOS)
        self.diag_pub = self.create_publisher(DiagnosticArray, self.p['diagnostics_topic'], 10)
        self.ack_pub = self.create_publisher(DvfsAck, self.p['ack_topic'], TELEMETRY_QOS)
        self.caps_pub = self.create_publisher(DvfsCapabilities, self.p['capabilities_topic'],
                                              COMMAND_QOS)
        self._publish_capabilities()
        self.create_subscription(DvfsCommand, self.p['command_topic'], self._on_command,
                                 COMMAND_QOS)
        self.tick_timer = self.create_timer(1.0 / self.p['publish_rate_hz'], self._tick)
        self.diag_timer = self.create_timer(1.0 / self.p['diagnostics_rate_hz'],
                                            self._publish_diagnostics)

    def _recover(self, state):
        """Restore what a run that did not restore left in the state file; return a Recovery."""
        log = self.get_logger()
        if self.p['dry_run']:
            if state.exists():
                log.warning(f'state file {state.path} left by a run that did not restore; '
                            'dry_run writes nothing: run hardware_node --restore')
            return None
        result = recovery.restore_from_file(self.sysfs, state, log)  # StateFileError: exit
        if result is not None:
            (log.warning if result.ok else log.error)(result.summary())
        return result

    def _adopt(self, result):
        """After a failed recovery keep the saved start settings as the ones to restore."""
        for name, (_, _, original) in result.saved.items():
            domain = self.writer.domains.get(name)
            if domain is not None:
                domain.original = dict(original)
                self.writer.touched.add(name)
        self.writer.saved = True

    def _report_start(self, domains, sensor):
        log = self.get_logger()
        for d in domains:
            log.info(f'domain {d.name} ({d.kind}, {d.spec.path}): {len(d.available_khz)} '
                     f'frequencies from {d.frequency_source}, governors {" ".join(d.governors)}, '
                     f'{"writable" if d.writable else "READ-ONLY"}, '
                     f'max allowed {self.writer.max_allowed_khz(d)} kHz')
        if not any(d.writable for d in domains) and not self.p['dry_run']:
            log.warning('no writable DVFS domain: running telemetry-only')
        log.info(f'platform {self.profile.name}, sysfs_root {self.sysfs.root}, power from '
                 + (f'{sensor.source} sensor' if sensor else 'the model (estimated)')
                 + (', dry_run: nothing will be written' if self.p['dry_run'] else ''))

    def _check(self, values):
        """Return why parameter values do not suit the probed domains, or '' (spec: the rest)."""
        governor = values.get('safe_governor', '')
        if governor:
            missing = [d.name for d in self.writer.domains.values()
                       if d.writable and governor not in d.governors]
            if not GOVERNOR_RE.match(governor) or missing:
                return f'safe_governor {governor!r} is not available in domains {missing}'
        return ''

    def _apply(self, values):
        self.p.update(values)
        self.writer.dry_run = self.p['dry_run']
        self.watchdog.timeout = self.p['watchdog_timeout_s']
        if 'publish_rate_hz' in values:
            self.tick_timer.timer_period_ns = int(1e9 / self.p['publish_rate_hz'])
        if 'diagnostics_rate_hz' in values:
            self.diag_timer.timer_period_ns = int(1e9 / self.p['diagnostics_rate_hz'])

    def _on_command(self, msg):
        # Strings from any participant: clipped (no valid name is that long) before use.
        req = DvfsRequest(clip(msg.domain), msg.mode, msg.frequency_khz, msg.min_khz,
                          msg.max_khz, clip(msg.governor), clip(msg.reason))
        writable = {d.name: d.writable for d in self.writer.domains.values()}
        outcome = self.writer.apply(req)
        self._acknowledge(msg, outcome)
        if writable != {d.name: d.writable for d in self.writer.domains.values()}:
            self._publish_capabilities()
        previous = self.last
        self.last = outcome.message + (f' (reason: {req.reason})' if req.reason else '')
        if outcome.ok:
            self.counts['accepted'] += 1
            self.last_level = status.OK
            self.watchdog.feed(time.monotonic())
            if self.last != previous:
                self.get_logger().info(self.last)
            else:  # the manager's keep-alive repeats its decision every few seconds
                self.get_logger().debug(self.last)
        else:
            key = 'rejected' if outcome.message.startswith('rejected') else 'failed'
            self.counts[key] += 1
            self.last_level = status.WARN if key == 'rejected' else status.ERROR
            log = self.get_logger().warning if key == 'rejected' else self.get_logger().error
            self.refusals(log, key, self.last)
        self._publish_diagnostics()

    def _acknowledge(self, msg, outcome):
        """Publish the DvfsAck of one command: the state read back, or why it was refused."""
        ack = DvfsAck(command_stamp=msg.header.stamp, domain=msg.domain, mode=msg.mode,
                      accepted=outcome.ok, reason=outcome.message)
        domain = self.writer.domains.get(msg.domain)
        if domain is not None:
            ack.max_allowed_khz = self.writer.max_allowed_khz(domain)
            try:
                reading = read_domain(self.sysfs, domain)
                ack.cur_khz, ack.min_khz, ack.max_khz = (
                    reading.cur_khz, reading.min_khz, reading.max_khz)
                ack.governor = reading.governor
            except (SysfsError, ValueError):
                pass
        ack.header.stamp = self.get_clock().now().to_msg()
        self.ack_pub.publish(ack)

    def _publish_capabilities(self):
        msg = DvfsCapabilities(dry_run=self.p['dry_run'])
        msg.header.stamp = self.get_clock().now().to_msg()
        for d in self.writer.domains.values():
            msg.domains.append(DvfsDomainLimits(
                name=d.name, kind=d.kind, writable=d.writable or self.p['dry_run'],
                available_khz=list(d.available_khz),
                max_allowed_khz=self.writer.max_allowed_khz(d),
                reason='' if d.writable else 'no write permission or attributes missing'))
        self.caps_pub.publish(msg)

    def _tick(self):
        now = time.monotonic()
        if self.writer.touched and self.watchdog.check(now):
            self.counts['watchdog_trips'] += 1
            outcomes = self.writer.safe(self.p['safe_governor'])
            self.last = (f'watchdog: no command for {self.watchdog.timeout:g} s, safe settings: '
                         + '; '.join(o.message for o in outcomes))
            self.get_logger().warning(self.last)
        sample = self.telemetry.system()
        power, problems = self.telemetry.power(sample, now)
        self.stale, self.power = sample.stale + problems, power
        stamp = self.get_clock().now().to_msg()
        msg = SystemState(cpu_utilization=sample.cpu_util,
                          cpu_utilization_total=sample.cpu_total,
                          thermal_zones=[name for name, _ in sample.thermal],
                          temperatures_c=[temp for _, temp in sample.thermal],
                          thermal=[ThermalZone(name=name, temperature_c=temp)
                                   for name, temp in sample.thermal],
                          memory_total_bytes=sample.memory_total,
                          memory_available_bytes=sample.memory_available,
                          memory_used_percent=float(sample.memory_percent),
                          stale_sensors=self.stale)
        msg.header.stamp = stamp
        msg.domains = [DomainState(name=d.name, kind=d.kind, cur_khz=d.cur_khz, min_khz=d.min_khz,
                                   max_khz=d.max_khz, governor=d.governor)
                       for d in sample.domains]
        self.sys_pub.publish(msg)
        pmsg = PowerState(rail_names=[n for n, _ in power.rails],
                          rail_power_w=[float(w) for _, w in power.rails],
                          rails=[RailPower(name=n, power_w=float(w)) for n, w in power.rails],
                          total_power_w=float(power.total_w),
                          energy_j=self.energy.add(power.total_w, now),
                          measured=power.measured, source=power.source)
        pmsg.header.stamp = stamp
        self.power_pub.publish(pmsg)

    def _publish_diagnostics(self):
        name = self.get_fully_qualified_name()  # unique per robot, unlike get_name()
        wd = ('off' if self.watchdog.timeout <= 0 else
              'tripped' if self.watchdog.tripped else f'armed {self.watchdog.timeout:g} s')
        rows = [status.domain_status(name, d) for d in self.writer.domains.values()]
        rows.append(status.command_status(name, self.counts, self.last, self.last_level, wd))
        rows.append(status.state_file_status(name, self.writer.state.path, self.recovery,
                                             self.writer.saved))
        if self.power is not None:
            rows.append(status.telemetry_status(name, self.stale, self.power.source,
                                                self.power.measured))
        self.diag_pub.publish(diagnostic_array(self.get_clock().now().to_msg(), rows,
                                               board.hardware_id()))

    def restore(self):
        """Put every domain this node changed back to the settings found at start."""
        for outcome in self.writer.restore():
            log = self.get_logger().info if outcome.ok else self.get_logger().error
            log(f'shutdown: {outcome.message}')


def restore_main(argv):
    """Restore from state files without ROS; return 0 (done or nothing to do), 1 or 2."""
    parser = argparse.ArgumentParser(
        prog='hardware_node --restore',
        description='Restore the DVFS settings a hardware node that did not restore (SIGKILL, '
                    'OOM kill, crash) left in its state file, then remove the file.')
    parser.add_argument('--restore', action='store_true', required=True)
    parser.add_argument('--state-dir', default='',
                        help='directory of the state files (default: the rule of the node, '
                             f'{dvfs_state.SYSTEM_DIR} for root)')
    parser.add_argument('--sysfs-root', action='append', default=[],
                        help='restore only the file of this sysfs_root (repeatable; default: '
                             'every state file in the directory)')
    args, _ = parser.parse_known_args(argv)
    state_dir = args.state_dir or dvfs_state.default_state_dir()
    try:
        results = recovery.restore_all(state_dir, args.sysfs_root)
    except ConfigError as exc:
        print(f'hardware_node --restore: {exc}', file=sys.stderr)
        return 2
    if not results:
        print(f'hardware_node --restore: no state file in {state_dir}: nothing to restore')
        return 0
    code = 0
    for path, result in results:
        if isinstance(result, Exception):
            print(f'hardware_node --restore: {result} (nothing written)', file=sys.stderr)
            code = max(code, 2)
        else:
            print(f'hardware_node --restore: {result.summary()}')
            code = max(code, 0 if result.ok else 1)
    return code


def main(args=None):
    argv = sys.argv[1:] if args is None else list(args)
    own = argv[:argv.index('--ros-args')] if '--ros-args' in argv else argv
    if '--restore' in own:
        return restore_main(own)
    return node_main.run(HardwareNode, 'hardware_node', args=args, startup_exit_code=2,
                         cleanup=HardwareNode.restore)


if __name__ == '__main__':
    sys.exit(main())
