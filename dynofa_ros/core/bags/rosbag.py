"""
rosbag2 files without ROS: our message types registered, a writer opened, messages read back.

Uses the `rosbags` library, so bags are written and read here without rosbag2 installed; the
files are ordinary rosbag2 directories (metadata.yaml + mcap or sqlite3) that `ros2 bag` opens.
"""

import glob
import os

from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores

PACKAGE = 'dynofa_ros'


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


def open_writer(path, storage='mcap'):
    """Open a new rosbag2 writer; the path must not exist yet."""
    plugin = {'mcap': StoragePlugin.MCAP, 'sqlite3': StoragePlugin.SQLITE3}[storage]
    writer = Writer(path, version=9, storage_plugin=plugin)
    writer.open()
    return writer


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
