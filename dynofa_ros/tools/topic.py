"""
Publish or print messages on a topic (`ros2 topic pub/echo` for machines without ros2cli).

    topic echo perception_stats dynofa_ros/msg/PerceptionStats --count 5
    topic pub mission_target dynofa_ros/msg/MissionTarget "{app_id: cam, latency_target_ms: 40}"

`pub` runs a node named `dynofa_pub` whose `values` parameter (YAML text) can be changed while it
runs, e.g. `param set /dynofa_pub values "{app_id: cam, latency_target_ms: 25}"`; a header, if the
type has one, is stamped with the publish time. `pub` offers reliable, transient-local QoS like
the system's command topics; `echo` asks for reliable, volatile QoS, which matches every publisher
(add `--qos command` to also get the last command published before echo started). Numbers are
converted to the field's type as `ros2 topic pub` does (40 into a float field is 40.0); a value
that does not fit is refused, naming the field. With `--count N`, pub waits for a matched
subscriber before the first message (`--wait`, default 10 s; exit 1 when none comes) and, after
the last one, for every reliable subscriber to acknowledge it, so no counted message is lost.
Like `ros2 topic echo`, `echo` prints the first 128 elements of an array, then `...`
(`--truncate-length N`, `--full-length`, `--no-arr`, `--no-str`).
"""

import argparse
import sys
import time

from dynofa_ros.core.common import msg_dict
from dynofa_ros.core.common.echo_format import echo_dict, TRUNCATE_LENGTH
from dynofa_ros.nodes.qos import COMMAND_QOS, SENSOR_QOS, TELEMETRY_QOS
from rcl_interfaces.msg import ParameterDescriptor, SetParametersResult
import rclpy
from rclpy.duration import Duration
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
import yaml


QOS = {'command': COMMAND_QOS, 'telemetry': TELEMETRY_QOS, 'sensor': SENSOR_QOS}


class PublisherNode(Node):
    """Publish one message type at a fixed rate from a YAML `values` parameter."""

    def __init__(self, topic, msg_type, values, rate_hz, count, qos, wait_s=10.0):
        super().__init__('dynofa_pub')
        self.msg_class = msg_dict.message_class(msg_type)
        self.message = self._build(values)  # raises ValueError before anything is published
        self.declare_parameter('values', values, ParameterDescriptor(
            description='field values of the published message, YAML mapping'))
        self.add_on_set_parameters_callback(self._on_set)
        self.publisher = self.create_publisher(self.msg_class, topic, QOS[qos])
        self.remaining = count
        self.wait_s = wait_s
        self.waiting_since = None
        self.timer = self.create_timer(1.0 / rate_hz, self._tick)
        if count > 0 and wait_s > 0:
            self.waiting_since = time.monotonic()

    def _build(self, text):
        values = yaml.safe_load(text) if text.strip() else {}
        return msg_dict.fill(self.msg_class(), values or {})

    def _on_set(self, params):
        for p in params:
            if p.name == 'values':
                try:
                    self.message = self._build(p.value)
                except (ValueError, yaml.YAMLError) as exc:
                    return SetParametersResult(successful=False, reason=str(exc))
        return SetParametersResult(successful=True)

    def _matched(self):
        """With --count, hold messages back until a subscriber matched or the wait ran out."""
        if self.waiting_since is None:
            return True
        if self.publisher.get_subscription_count() > 0:
            self.waiting_since = None
            return True
        if time.monotonic() - self.waiting_since >= self.wait_s:
            print(f'error: no subscriber matched {self.publisher.topic_name} within '
                  f'{self.wait_s:g} s; nothing published', file=sys.stderr)
            raise SystemExit(1)
        return False

    def _tick(self):
        if not self._matched():
            return
        if hasattr(self.message, 'header'):
            self.message.header.stamp = self.get_clock().now().to_msg()
        self.publisher.publish(self.message)
        if self.remaining > 0:
            self.remaining -= 1
            if self.remaining == 0:
                # Reliable subscribers acknowledge; exiting before that can lose the message.
                if not self.publisher.wait_for_all_acked(Duration(seconds=5)):
                    print('warning: not every subscriber acknowledged the last message',
                          file=sys.stderr)
                raise SystemExit(0)


class EchoNode(Node):
    """Print every message received on a topic as YAML documents."""

    def __init__(self, topic, msg_type, count, qos, out, **shorten):
        super().__init__('dynofa_echo')
        self.remaining = count
        self.out = out
        self.shorten = shorten  # truncate_length, no_arr, no_str of echo_format.echo_dict
        self.create_subscription(msg_dict.message_class(msg_type), topic, self._on_msg,
                                 QOS[qos])

    def _on_msg(self, msg):
        self.out.write(yaml.safe_dump(echo_dict(msg, **self.shorten), default_flow_style=None,
                                      sort_keys=False, width=100) + '---\n')
        self.out.flush()
        if self.remaining > 0:
            self.remaining -= 1
            if self.remaining == 0:
                raise SystemExit(0)


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog='topic', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    echo = sub.add_parser('echo', help='print messages as YAML')
    pub = sub.add_parser('pub', help='publish a message repeatedly')
    for p in (echo, pub):
        p.add_argument('topic')
        p.add_argument('type', help='message type, e.g. dynofa_ros/msg/SubnetCommand')
        p.add_argument('--count', type=int, default=0, help='stop after N messages (0: never)')
        p.add_argument('--qos', choices=('command', 'telemetry', 'sensor'),
                       default='command' if p is pub else 'telemetry',
                       help='command: reliable, transient-local (pub default); telemetry: '
                            'reliable, volatile (echo default); sensor: best-effort')
        p.add_argument('--timeout', type=float, default=0.0,
                       help='exit with code 1 after this many seconds (0: never)')
    echo.add_argument('--truncate-length', '-l', type=int, default=TRUNCATE_LENGTH,
                      help='print at most this many elements of an array or characters of a '
                           f'string, then ... (default: {TRUNCATE_LENGTH}, as ros2 topic echo)')
    echo.add_argument('--full-length', '-f', action='store_true',
                      help='print arrays and strings whole')
    echo.add_argument('--no-arr', action='store_true', help='print arrays as type and length')
    echo.add_argument('--no-str', action='store_true', help='print strings as their length')
    pub.add_argument('values', nargs='?', default='', help='field values, YAML mapping')
    pub.add_argument('--rate', type=float, default=1.0, help='messages per second')
    pub.add_argument('--wait', type=float, default=10.0,
                     help='with --count: seconds to wait for a matched subscriber before the '
                          'first message; exit 1 if none (0: publish at once)')
    argv = sys.argv if argv is None else [parser.prog, *argv]
    args = parser.parse_args(rclpy.utilities.remove_ros_args(argv)[1:])
    if args.command == 'pub' and not args.rate > 0:
        parser.error('--rate must be positive')
    rclpy.init(args=argv)
    try:
        if args.command == 'pub':
            node = PublisherNode(args.topic, args.type, args.values, args.rate, args.count,
                                 args.qos, args.wait)
        else:
            node = EchoNode(args.topic, args.type, args.count, args.qos, sys.stdout,
                            truncate_length=0 if args.full_length else args.truncate_length,
                            no_arr=args.no_arr, no_str=args.no_str)
    except (ValueError, yaml.YAMLError) as exc:
        print(f'error: {exc}', file=sys.stderr)
        rclpy.try_shutdown()
        return 2
    code = 0
    if args.timeout > 0:
        def on_timeout():
            raise TimeoutError
        node.create_timer(args.timeout, on_timeout)
    try:
        rclpy.spin(node)
    except SystemExit as done:
        code = done.code or 0
    except TimeoutError:
        print(f'error: timed out after {args.timeout:g} s', file=sys.stderr)
        code = 1
    except (KeyboardInterrupt, ExternalShutdownException):
        code = 0
    finally:
        node.destroy_node()
        rclpy.try_shutdown()
    return code


if __name__ == '__main__':
    sys.exit(main())
