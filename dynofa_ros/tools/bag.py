"""
Record, replay and describe rosbag2 files (mcap or sqlite3) without rosbag2 installed.

    bag record out_bag -t classification -t perception_stats --duration 30
    bag play camera_bag --rate 1.0 --loop --restamp
    bag info camera_bag

`record` subscribes to each topic with the QoS its publishers offer (best-effort publishers get a
best-effort subscription, as rosbag2 does) and writes the serialized messages as they arrive, so
the bag holds exactly what crossed DDS, and the offered QoS of each publisher. Bags are written in
rosbag2 metadata version 8, which Humble's and Jazzy's `ros2 bag` both read (--bag-version 9:
Jazzy and newer only). `play` publishes the stored messages with their original
timing divided by --rate, with the recorded reliability and durability when every recorded
publisher offered the same (else reliable, volatile), as rosbag2 plays: a latched command topic
replays latched; --restamp sets header.stamp to the publish time (so latency measured from
the image stamp is meaningful); rename topics the ROS way, `--ros-args -r OLD:=NEW`. Our message
types are read from the package's msg/ definitions, so bags carrying them open in `ros2 bag`.
"""

import argparse
import os
import signal
import sys
import time

from dynofa_ros.core.bags import rosbag
from dynofa_ros.core.common import msg_dict
import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from rclpy.qos import DurabilityPolicy, QoSProfile, ReliabilityPolicy
from rclpy.serialization import deserialize_message, serialize_message
from rclpy.signals import SignalHandlerOptions


def _subscription_qos(infos):
    """Return a QoS that matches every publisher described by get_publishers_info_by_topic."""
    best_effort = any(i.qos_profile.reliability == ReliabilityPolicy.BEST_EFFORT for i in infos)
    latched = infos and all(
        i.qos_profile.durability == DurabilityPolicy.TRANSIENT_LOCAL for i in infos)
    return QoSProfile(
        depth=100,
        reliability=ReliabilityPolicy.BEST_EFFORT if best_effort else ReliabilityPolicy.RELIABLE,
        durability=DurabilityPolicy.TRANSIENT_LOCAL if latched else DurabilityPolicy.VOLATILE)


def _ns(duration):
    return duration.nanoseconds


def _recorded(info):
    """Return a publisher's offered QoS (from the graph) as the bag records it."""
    q = info.qos_profile
    return rosbag.offered_qos(
        q.history, q.depth, q.reliability, q.durability, q.liveliness, _ns(q.deadline),
        _ns(q.lifespan), _ns(q.liveliness_lease_duration), q.avoid_ros_namespace_conventions)


class Recorder(Node):
    """Write every message of the chosen topics to a rosbag2 file as it arrives."""

    def __init__(self, path, topics, storage='mcap', version=rosbag.DEFAULT_VERSION):
        super().__init__('dynofa_bag_recorder')
        self.store = rosbag.typestore()
        self.writer = rosbag.open_writer(path, storage, version)
        self.wanted = {self.resolve_topic_name(t) for t in topics}
        self.connections = {}
        self.counts = {}
        self.create_timer(0.25, self._discover)
        self._discover()

    def _discover(self):
        for topic, types in self.get_topic_names_and_types():
            if topic in self.connections or topic not in self.wanted or not types:
                continue
            infos = self.get_publishers_info_by_topic(topic)
            if not infos:
                continue
            msgtype = types[0]
            try:
                cls = msg_dict.message_class(msgtype)
            except ValueError:
                self.get_logger().error(f'cannot record {topic}: type {msgtype} not importable')
                self.connections[topic] = None
                continue
            conn = self.writer.add_connection(topic, msgtype, typestore=self.store,
                                              offered_qos_profiles=[_recorded(i) for i in infos])
            self.connections[topic] = conn
            self.counts[topic] = 0
            self.create_subscription(cls, topic, lambda raw, c=conn: self._write(c, raw),
                                     _subscription_qos(infos), raw=True)
            self.get_logger().info(f'recording {topic} [{msgtype}]')

    def _write(self, conn, raw):
        self.writer.write(conn, self.get_clock().now().nanoseconds, raw)
        self.counts[conn.topic] += 1

    def close(self):
        self.writer.close()
        return dict(self.counts)


class Player(Node):
    """Publish a bag's messages with their original timing (scaled by rate)."""

    def __init__(self, path, topics=None, rate=1.0, loop=False, restamp=False):
        super().__init__('dynofa_bag_player')
        self.path, self.topics, self.rate, self.loop = path, topics, rate, loop
        self.restamp = restamp
        self.publishers_ = {}
        self.classes = {}
        self.published = 0
        self.recorded_qos = rosbag.topic_qos(path)

    def _publisher(self, topic, msgtype):
        key = (topic, msgtype)
        if key not in self.publishers_:
            cls = msg_dict.message_class(msgtype)
            self.classes[key] = cls
            reliable, latched = rosbag.playback_qos(self.recorded_qos.get(topic, []))
            self.publishers_[key] = self.create_publisher(cls, topic, QoSProfile(
                depth=10,
                reliability=(ReliabilityPolicy.RELIABLE if reliable
                             else ReliabilityPolicy.BEST_EFFORT),
                durability=(DurabilityPolicy.TRANSIENT_LOCAL if latched
                            else DurabilityPolicy.VOLATILE)))
        return self.publishers_[key], self.classes[key]

    def wait_for_subscribers(self, timeout):
        """Create every publisher, then wait until each has a subscriber (or timeout)."""
        for topic, (msgtype, _) in rosbag.topic_counts(self.path).items():
            if self.topics is None or topic in self.topics or topic.lstrip('/') in self.topics:
                self._publisher(topic, msgtype)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(p.get_subscription_count() for p in self.publishers_.values()):
                return True
            time.sleep(0.05)
        return False

    def play(self):
        """Publish the bag (again and again with loop); return the number of messages sent."""
        while rclpy.ok(context=self.context):
            start_wall, first = time.monotonic(), None
            with rosbag.Reader(self.path) as reader:
                conns = [c for c in reader.connections if self.topics is None
                         or c.topic in self.topics or c.topic.lstrip('/') in self.topics]
                for conn, stamp, raw in reader.messages(connections=conns):
                    first = stamp if first is None else first
                    delay = start_wall + (stamp - first) / 1e9 / self.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    if not rclpy.ok(context=self.context):
                        return self.published
                    pub, cls = self._publisher(conn.topic, conn.msgtype)
                    if self.restamp:
                        msg = deserialize_message(bytes(raw), cls)
                        if hasattr(msg, 'header'):
                            msg.header.stamp = self.get_clock().now().to_msg()
                            raw = serialize_message(msg)
                    pub.publish(bytes(raw))
                    self.published += 1
            if not self.loop:
                return self.published


DRAIN_S = 0.3   # after a stop request the recorder still takes what reached it meanwhile


def _spin_until(node, stop):
    while rclpy.ok() and not stop():
        rclpy.spin_once(node, timeout_sec=0.1)


def _record_until_asked(node, deadline):
    """
    Record until SIGINT/SIGTERM or the deadline, then drain for DRAIN_S.

    rclpy's own handler would shut the context down at once and lose the messages already
    delivered to this process but not yet taken; here a signal only asks to stop.
    """
    asked = []
    previous = {s: signal.signal(s, lambda signum, frame: asked.append(signum))
                for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        _spin_until(node, lambda: asked or (deadline is not None
                                            and time.monotonic() > deadline))
        end = time.monotonic() + DRAIN_S
        while rclpy.ok() and time.monotonic() < end:
            rclpy.spin_once(node, timeout_sec=0.02)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def _info(path, out):
    counts = rosbag.topic_counts(path)
    with rosbag.Reader(path) as reader:
        duration = reader.duration / 1e9 if reader.message_count else 0.0
        out.write(f'bag: {path}\nstorage: {rosbag.storage_id(path)}\n'
                  f'messages: {reader.message_count}\nduration: {duration:.3f} s\n')
    for topic, (msgtype, count) in sorted(counts.items()):
        out.write(f'  {topic}  [{msgtype}]  {count}\n')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='bag', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='command', required=True)
    rec = sub.add_parser('record', help='record topics to a new bag')
    rec.add_argument('output', help='bag directory to create (must not exist)')
    rec.add_argument('-t', '--topic', action='append', required=True, help='topic (repeatable)')
    rec.add_argument('--duration', type=float, default=0.0, help='stop after S seconds')
    rec.add_argument('--storage', choices=('mcap', 'sqlite3'), default='mcap')
    rec.add_argument('--bag-version', type=int, choices=rosbag.VERSIONS,
                     default=rosbag.DEFAULT_VERSION,
                     help='rosbag2 metadata version: 8 (default) opens in Humble and Jazzy, '
                          '9 from Jazzy on')
    play = sub.add_parser('play', help='publish a bag to the live graph')
    play.add_argument('bag')
    play.add_argument('-t', '--topic', action='append', help='only these topics')
    play.add_argument('--rate', type=float, default=1.0, help='speed factor (2 = twice as fast)')
    play.add_argument('--loop', action='store_true', help='start again at the end')
    play.add_argument('--restamp', action='store_true', help='set header.stamp to publish time')
    play.add_argument('--wait-for-subscribers', type=float, default=0.0, metavar='S',
                      help='wait up to S seconds for a subscriber on every topic first')
    info = sub.add_parser('info', help='print topics, types, counts and duration')
    info.add_argument('bag')
    return parser


def main(argv=None):
    parser = build_parser()
    argv = sys.argv if argv is None else [parser.prog, *argv]
    args = parser.parse_args(rclpy.utilities.remove_ros_args(argv)[1:])
    if args.command == 'info':
        try:
            _info(args.bag, sys.stdout)
        except Exception as exc:  # noqa: B902 - rosbags raises several unrelated types
            print(f'bag: cannot read {args.bag}: {exc}', file=sys.stderr)
            return 2
        return 0
    if args.command == 'record' and os.path.exists(args.output):
        print(f'bag: {args.output} already exists', file=sys.stderr)
        return 2
    if args.command == 'play':
        if not args.rate > 0:
            parser.error('--rate must be positive')
        if not os.path.exists(args.bag):
            print(f'bag: {args.bag} not found', file=sys.stderr)
            return 2
    record = args.command == 'record'
    rclpy.init(args=argv, signal_handler_options=SignalHandlerOptions.NO if record else None)
    try:
        if record:
            node = Recorder(args.output, args.topic, args.storage, args.bag_version)
            deadline = time.monotonic() + args.duration if args.duration > 0 else None
            try:
                _record_until_asked(node, deadline)
            except (KeyboardInterrupt, ExternalShutdownException):
                pass
            counts = node.close()
            print('recorded: ' + ', '.join(f'{t} {n}' for t, n in sorted(counts.items())))
        else:
            node = Player(args.bag, args.topic, args.rate, args.loop, args.restamp)
            if args.wait_for_subscribers > 0 and not node.wait_for_subscribers(
                    args.wait_for_subscribers):
                node.get_logger().warning('not every topic has a subscriber; playing anyway')
            try:
                print(f'published {node.play()} messages')
            except (KeyboardInterrupt, ExternalShutdownException):
                pass
        node.destroy_node()
    finally:
        rclpy.try_shutdown()
    return 0


if __name__ == '__main__':
    sys.exit(main())
