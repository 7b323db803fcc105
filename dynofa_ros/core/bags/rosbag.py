"""
rosbag2 files without ROS: our message types registered, a writer opened, messages read back.

Uses the `rosbags` library, so bags are written and read here without rosbag2 installed; the
files are ordinary rosbag2 directories (metadata.yaml + mcap or sqlite3) that `ros2 bag` opens.

Bags are written in rosbag2 metadata version 8 by default: Humble's rosbag2 (metadata version
5) reads it, because it ignores the newer fields and reads each topic's offered_qos_profiles as
a YAML string with numeric policies, which is what version 8 holds; Jazzy reads 8 and 9.
Version 9 (QoS as a YAML list with policy names) only opens from Jazzy on.
Each topic records the QoS its publishers offered, and play offers what rosbag2's player
does: the recorded reliability and durability when every publisher offered the same.
"""

import glob
import os

from rosbags.interfaces import (
    Qos, QosDurability, QosHistory, QosLiveliness, QosReliability, QosTime)
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores

PACKAGE = 'dynofa_ros'
VERSIONS = (8, 9)
DEFAULT_VERSION = 8  # readable by Humble and Jazzy (see the module docstring)


def msg_dir():
    """Return the directory holding our .msg files (installed share/, else the source tree)."""
    from dynofa_ros.core.common.paths import package_share
    candidates = [os.path.join(package_share(), 'msg'),
                  os.path.join(os.path.dirname(__file__), '..', '..', '..', 'msg')]
    for path in candidates:
        if glob.glob(os.path.join(path, '*.msg')):
            return os.path.abspath(path)
    raise FileNotFoundError('dynofa_ros msg/ definitions not found: tried '
                            + ', '.join(candidates))


def typestore():
    """Return a ROS 2 kilted typestore with the dynofa_ros message types registered."""
    store = get_typestore(Stores.ROS2_KILTED)
    types = {}
    for path in sorted(glob.glob(os.path.join(msg_dir(), '*.msg'))):
        name = f'{PACKAGE}/msg/{os.path.splitext(os.path.basename(path))[0]}'
        with open(path) as f:
            types.update(get_types_from_msg(f.read(), name))
    store.register(types)
    return store


def open_writer(path, storage='mcap', version=DEFAULT_VERSION):
    """Open a new rosbag2 writer; the path must not exist yet."""
    if version not in VERSIONS:
        raise ValueError(f'bag metadata version {version} is not one of {VERSIONS}')
    plugin = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}[storage]
    writer = Writer(path, version=version, storage_plugin=plugin)
    writer.open()
    # Without an entry rosbags writes `custom_data: null`, which Jazzy's rosbag2 reads as a map
    # (yaml-cpp refuses null: bad conversion) from metadata version 6 on.
    writer.set_custom_data('dynofa_ros.writer', 'dynofa_ros bag tools (rosbags)')
    return writer


def _time(ns):
    ns = max(0, int(ns))
    return QosTime(ns // 1_000_000_000, ns % 1_000_000_000)


def offered_qos(history, depth, reliability, durability, liveliness=1, deadline_ns=0,
                lifespan_ns=0, lease_duration_ns=0, avoid_ros_namespace_conventions=False):
    """
    Return a publisher's QoS as a bag records it; policies are the rmw enum values.

    (history 1 keep-last, 2 keep-all; reliability 1 reliable, 2 best-effort; durability
    1 transient-local, 2 volatile; liveliness 1 automatic, 3 manual by topic.)
    """
    return Qos(QosHistory(int(history)), int(depth), QosReliability(int(reliability)),
               QosDurability(int(durability)), _time(deadline_ns), _time(lifespan_ns),
               QosLiveliness(int(liveliness)), _time(lease_duration_ns),
               bool(avoid_ros_namespace_conventions))


def playback_qos(recorded):
    """
    Return (reliable, transient_local) to publish a topic with, from its recorded QoS.

    As rosbag2's player (adapt_offer_to_recorded_offers): the recorded publishers' reliability
    and durability when they all offered the same, else (and with nothing recorded) rosbag2's
    default offer, reliable and volatile; the history is keep-last 10 either way.
    """
    kinds = {(q.reliability, q.durability) for q in recorded}
    if len(kinds) != 1:
        return True, False
    reliability, durability = kinds.pop()
    return (reliability != QosReliability.BEST_EFFORT,
            durability == QosDurability.TRANSIENT_LOCAL)


def topic_qos(path):
    """Return {topic: [recorded Qos, ...]} from a bag."""
    with Reader(path) as reader:
        out = {}
        for c in reader.connections:
            out.setdefault(c.topic, []).extend(c.ext.offered_qos_profiles)
        return out


def read_messages(path, topics=None):
    """Yield (topic, msgtype, timestamp_ns, deserialized message) from a bag, in time order."""
    store = typestore()
    with Reader(path) as reader:
        conns = [c for c in reader.connections
                 if topics is None or c.topic in topics or c.topic.lstrip('/') in topics]
        for conn, timestamp, raw in reader.messages(connections=conns):
            yield conn.topic, conn.msgtype, timestamp, store.deserialize_cdr(raw, conn.msgtype)


def storage_id(path):
    """Return the storage plugin name recorded in a bag's metadata.yaml ('mcap', 'sqlite3')."""
    import yaml
    with open(os.path.join(path, 'metadata.yaml')) as f:
        return yaml.safe_load(f)['rosbag2_bagfile_information']['storage_identifier']


def topic_counts(path):
    """Return {topic: (msgtype, message count)} from a bag's metadata."""
    with Reader(path) as reader:
        return {c.topic: (c.msgtype, c.msgcount) for c in reader.connections}
