"""
rosbag2 files without ROS: our message types, a camera bag made from real photos, reading back.

Uses the `rosbags` library, so bags are written and read here without rosbag2 installed; the
files are ordinary rosbag2 directories (metadata.yaml + mcap or sqlite3) that `ros2 bag` opens.
"""

import glob
import os

import numpy as np
from rosbags.rosbag2 import Reader, StoragePlugin, Writer
from rosbags.typesys import get_types_from_msg, get_typestore, Stores

PACKAGE = 'dynofa_ros'
# Photos scikit-image ships (no download); the camera bag pans over them.
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'cat', 'hubble_deep_field')


def msg_dir():
    """Return the directory holding our .msg files (installed share/, else the source tree)."""
    from dynofa_ros.core.paths import package_share
    candidates = [os.path.join(package_share(), 'msg'),
                  os.path.join(os.path.dirname(__file__), '..', '..', 'msg')]
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


def camera_frames(count, width=640, height=480, seed=0):
    """
    Yield (rgb uint8 HxWx3, photo name) frames that pan and zoom over scikit-image photos.

    Consecutive frames differ (the crop moves), and the photo changes every 15 frames.
    """
    import cv2
    from skimage import data
    rng = np.random.default_rng(seed)
    photos = []
    for name in PHOTOS:
        img = getattr(data, name)()
        if img.ndim == 2:
            img = np.stack([img] * 3, axis=-1)
        photos.append((name, np.ascontiguousarray(img[..., :3])))
    for i in range(count):
        name, img = photos[(i // 15) % len(photos)]
        h, w = img.shape[:2]
        zoom = 0.55 + 0.35 * (0.5 + 0.5 * np.sin(i / 7.0))
        ch, cw = int(h * zoom), int(w * zoom)
        phase = (i % 15) / 15.0
        y = int((h - ch) * phase)
        x = int((w - cw) * (0.5 + 0.5 * np.cos(i / 5.0 + rng.uniform(0, 0.2))))
        crop = img[y:y + ch, x:x + cw]
        yield np.ascontiguousarray(cv2.resize(crop, (width, height),
                                              interpolation=cv2.INTER_AREA)), name


def image_message(store, rgb, stamp_ns, frame_id='camera', encoding='rgb8'):
    """Build a rosbags sensor_msgs/Image from an RGB array (converted to the given encoding)."""
    import cv2
    conversions = {'rgb8': None, 'bgr8': cv2.COLOR_RGB2BGR, 'mono8': cv2.COLOR_RGB2GRAY,
                   'rgba8': cv2.COLOR_RGB2RGBA, 'bgra8': cv2.COLOR_RGB2BGRA}
    code = conversions[encoding]
    pixels = rgb if code is None else cv2.cvtColor(rgb, code)
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    Image = store.types['sensor_msgs/msg/Image']
    Header = store.types['std_msgs/msg/Header']
    Time = store.types['builtin_interfaces/msg/Time']
    return Image(
        header=Header(stamp=Time(sec=stamp_ns // 10**9, nanosec=stamp_ns % 10**9),
                      frame_id=frame_id),
        height=pixels.shape[0], width=pixels.shape[1], encoding=encoding, is_bigendian=0,
        step=pixels.shape[1] * channels, data=np.frombuffer(pixels.tobytes(), dtype=np.uint8))


CORRUPTIONS = ('truncated', 'bad_step', 'bad_encoding', 'empty')


def corrupt(store, msg, kind):
    """Return a malformed copy of an Image message (for the bad-input tests)."""
    Image = store.types['sensor_msgs/msg/Image']
    fields = {k: getattr(msg, k) for k in ('header', 'height', 'width', 'encoding',
                                           'is_bigendian', 'step', 'data')}
    if kind == 'truncated':
        fields['data'] = fields['data'][:len(fields['data']) // 3]
    elif kind == 'bad_step':
        fields['step'] = fields['step'] - 7
    elif kind == 'bad_encoding':
        fields['encoding'] = '32FC1'
    elif kind == 'empty':
        fields.update(height=0, width=0, step=0, data=np.zeros(0, dtype=np.uint8))
    else:
        raise ValueError(f'unknown corruption {kind!r}; use one of {CORRUPTIONS}')
    return Image(**fields)


def write_camera_bag(path, frames=60, rate_hz=10.0, width=640, height=480,
                     topic='camera/image_raw', encoding='rgb8', corrupt_every=0, start_ns=None,
                     storage='mcap', progress=None):
    """
    Write a camera bag of moving crops over real photos; return the number of frames written.

    With corrupt_every=N, every N-th frame is replaced by a malformed one (cycling through
    CORRUPTIONS). The topic name is stored as given ('/' is prepended, as rosbag2 does).
    """
    if frames < 1 or not rate_hz > 0 or width < 8 or height < 8:
        raise ValueError('frames >= 1, rate_hz > 0 and an image of at least 8x8 are required')
    store = typestore()
    start_ns = start_ns if start_ns is not None else 1_700_000_000 * 10**9
    period_ns = int(1e9 / rate_hz)
    writer = open_writer(path, storage)
    try:
        conn = writer.add_connection('/' + topic.lstrip('/'), 'sensor_msgs/msg/Image',
                                     typestore=store)
        bad = 0
        for i, (rgb, _) in enumerate(camera_frames(frames, width, height)):
            stamp = start_ns + i * period_ns
            msg = image_message(store, rgb, stamp, encoding=encoding)
            if corrupt_every and (i + 1) % corrupt_every == 0:
                msg = corrupt(store, msg, CORRUPTIONS[bad % len(CORRUPTIONS)])
                bad += 1
            writer.write(conn, stamp, store.serialize_cdr(msg, conn.msgtype))
            if progress:
                progress(1)
    finally:
        writer.close()
    return frames


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
