"""
Camera bags made from real photos (scikit-image ships them): moving crops, optional bad frames.

The frames are what the demo, the replay tests and `make_camera_bag` feed the perception node.
"""

from dynofa_ros.core.bags.rosbag import open_writer, typestore
import numpy as np

# Photos scikit-image ships (no download); the camera bag pans over them.
PHOTOS = ('astronaut', 'chelsea', 'coffee', 'rocket', 'cat', 'hubble_deep_field')


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
