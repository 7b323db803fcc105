"""
Turn camera messages into the RGB uint8 HxWx3 arrays the engine takes, or refuse them (why).

Raw images (sensor_msgs/Image fields: height, width, encoding, step, data) are checked against
their header before any pixel is read, then the message itself is converted with CvBridge. Both
bridges work: the ROS 2 one (apt ros-<distro>-cv-bridge, from vision_opencv) reads height, width,
step, encoding, is_bigendian and data; the pip `cv-bridge` port reads the same but step. Where
they would differ (row padding, which the port ignores; the big-endian flag, whose byte swap
fails on numpy 2 and means nothing for 8-bit channels) the bridge gets a packed copy of the
message, of the message's own type, with step = row size and is_bigendian = 0. Compressed images
(sensor_msgs/CompressedImage: format, data) are decoded by CvBridge (OpenCV) whatever their
format field says. Messages are duck-typed, so this module needs no ROS client library.
"""

from array import array
from types import SimpleNamespace

from dynofa_ros.core.images import image_limits
import numpy as np

# encoding -> bytes per pixel; every one of these is converted to rgb8.
ACCEPTED_ENCODINGS = {'rgb8': 3, 'bgr8': 3, 'rgba8': 4, 'bgra8': 4, 'mono8': 1}

# Why a frame can be refused (PerceptionStats counts them all as frames_rejected).
REJECT_KINDS = ('encoding', 'empty', 'step', 'truncated', 'size', 'undecodable', 'too_large')


class ImageRejected(ValueError):
    """A frame that cannot be used; kind is one of REJECT_KINDS, the message says why."""

    def __init__(self, kind, reason):
        super().__init__(reason)
        self.kind = kind


class ImageDecoder:
    """Convert sensor_msgs Image / CompressedImage messages to RGB uint8 arrays with CvBridge."""

    def __init__(self, max_pixels=image_limits.DEFAULT_MAX_PIXELS,
                 max_bytes=image_limits.DEFAULT_MAX_BYTES):
        self.max_pixels, self.max_bytes = int(max_pixels), int(max_bytes)
        import cv2
        from cv_bridge import CvBridge
        self._cv2 = cv2
        self._bridge = CvBridge()

    def decode(self, msg):
        """Return a raw Image message as HxWx3 uint8 RGB; raise ImageRejected if unusable."""
        data = _buffer(msg.data)
        self._check_raw_size(msg, data)
        view = raw_layout(msg.encoding, msg.height, msg.width, msg.step, len(data))
        row = msg.width * ACCEPTED_ENCODINGS[msg.encoding]
        if msg.step != row or msg.is_bigendian or data is not msg.data:
            msg = _packed(msg, data, row)
        rgb = self._bridge.imgmsg_to_cv2(msg, desired_encoding='rgb8')
        return rgb.reshape(view[0], view[1], 3)

    def decode_compressed(self, msg):
        """Return a CompressedImage message as HxWx3 uint8 RGB; raise ImageRejected if unusable."""
        data = _buffer(msg.data)
        if not len(data):
            raise ImageRejected('empty', 'compressed image has no data')
        self._check_compressed_size(data)
        try:
            image = self._bridge.compressed_imgmsg_to_cv2(
                SimpleNamespace(format=msg.format, data=data), desired_encoding='passthrough')
        except self._cv2.error as exc:
            image, why = None, str(exc).strip().splitlines()[-1]
        else:
            why = 'OpenCV cannot decode it'
        if image is None or image.size == 0:
            raise ImageRejected(
                'undecodable', f'compressed image ({msg.format or "no format"}, {len(data)} '
                f'bytes) is not decodable: {why}')
        if image.dtype != np.uint8:
            raise ImageRejected('encoding', f'compressed image is {image.dtype}, not 8 bit')
        channels = 1 if image.ndim == 2 else image.shape[2]
        code = {1: self._cv2.COLOR_GRAY2RGB, 3: self._cv2.COLOR_BGR2RGB,
                4: self._cv2.COLOR_BGRA2RGB}.get(channels)
        if code is None:
            raise ImageRejected('encoding', f'compressed image has {channels} channels')
        return self._cv2.cvtColor(image, code)

    # --- size limits, checked before any pixel is decoded (image_limits.py) ---------------
    def _check_raw_size(self, msg, data):
        why = image_limits.size_refusal(msg.width, msg.height, len(data), self.max_pixels,
                                        self.max_bytes)
        if why:
            raise ImageRejected('too_large', f'raw image refused before decoding: {why}')

    def _check_compressed_size(self, data):
        try:
            width, height = image_limits.compressed_size(data)
        except image_limits.HeaderError as exc:
            raise ImageRejected('undecodable', f'compressed image ({len(data)} bytes): {exc}')
        why = image_limits.size_refusal(width, height, len(data), self.max_pixels,
                                        self.max_bytes)
        if why:
            raise ImageRejected('too_large', f'compressed image refused before decoding: {why}')


def raw_layout(encoding, height, width, step, data_len):
    """
    Check a raw image header against its data length; return (height, width) or raise.

    The ROS convention: `step` bytes per row (at least width * bytes per pixel, more with row
    padding) and exactly step * height bytes of data.
    """
    if encoding not in ACCEPTED_ENCODINGS:
        raise ImageRejected('encoding', f'encoding {encoding!r} is not one of '
                            f'{", ".join(ACCEPTED_ENCODINGS)}')
    if height <= 0 or width <= 0 or data_len == 0:
        raise ImageRejected('empty', f'empty image ({width}x{height}, {data_len} bytes)')
    row = width * ACCEPTED_ENCODINGS[encoding]
    if step < row:
        raise ImageRejected('step', f'step {step} is smaller than width {width} x '
                            f'{ACCEPTED_ENCODINGS[encoding]} bytes ({encoding}) = {row}')
    expected = step * height
    if data_len < expected:
        raise ImageRejected('truncated', f'data has {data_len} bytes, step {step} x height '
                            f'{height} needs {expected}')
    if data_len > expected:
        raise ImageRejected('size', f'data has {data_len} bytes, more than step {step} x '
                            f'height {height} = {expected}: size fields do not match the data')
    return height, width


def _packed(msg, data, row):
    """Return a copy of a raw Image of the same type: rows back to back, little-endian flag."""
    rows = np.frombuffer(data, np.uint8, count=msg.step * msg.height)
    packed = type(msg)()
    for name in ('header', 'height', 'width', 'encoding'):
        setattr(packed, name, getattr(msg, name))
    packed.is_bigendian, packed.step = 0, row
    packed.data = array('B', rows.reshape(msg.height, msg.step)[:, :row].tobytes())
    return packed


def _buffer(data):
    """Return message data as an object with the buffer protocol (bytes, array or memoryview)."""
    if isinstance(data, (bytes, bytearray, memoryview, np.ndarray)) or hasattr(data, 'typecode'):
        return data
    return bytes(data)  # a list of ints, as some message constructors allow
