"""
Strict stand-ins for what a robot has and this machine has not: apt cv_bridge and an Image.

`Ros2CvBridge` follows `imgmsg_to_cv2` and `compressed_imgmsg_to_cv2` of the ROS 2 cv_bridge
(ros-perception/vision_opencv, cv_bridge/python/cv_bridge/core.py, humble and rolling branches,
which Jazzy's release shares): it reads encoding, is_bigendian, data, height, step and width of
the message (nothing else), sizes the pixel buffer by `step`, byte-swaps when the message's byte
order differs from the machine's (`byteswap().newbyteorder()`, which numpy 2 no longer has) and
converts colours with cvtColor2, whose failures it raises as CvBridgeError. The pip `cv-bridge`
port in the venv reads height and width but no step, so it accepts what the ROS 2 one refuses.

`StrictImage` has exactly the fields of sensor_msgs/msg/Image; reading or setting any other
attribute raises AttributeError, as the generated message class does.
"""

import sys

import cv2
import numpy as np


class CvBridgeError(TypeError):
    """The error type of cv_bridge (a TypeError subclass there too)."""


# encoding -> (dtype, channels): the 8-bit part of cv_bridge's encoding table.
_TYPES = {'rgb8': ('uint8', 3), 'bgr8': ('uint8', 3), 'rgba8': ('uint8', 4),
          'bgra8': ('uint8', 4), 'mono8': ('uint8', 1)}
_TO_RGB = {'rgb8': None, 'bgr8': cv2.COLOR_BGR2RGB, 'rgba8': cv2.COLOR_RGBA2RGB,
           'bgra8': cv2.COLOR_BGRA2RGB, 'mono8': cv2.COLOR_GRAY2RGB}


def _cvt_color2(image, source, target):
    """cv_bridge_boost.cvtColor2 for the conversions to rgb8; anything else raises."""
    if target != 'rgb8' or source not in _TO_RGB:
        raise RuntimeError(f'Unsupported conversion from [{source}] to [{target}]')
    code = _TO_RGB[source]
    return image.copy() if code is None else cv2.cvtColor(image, code)


class Ros2CvBridge:
    """The ROS 2 CvBridge's message-to-array conversions, strict about the message it reads."""

    reads = []  # attribute names read from messages, in order (for the tests)

    def encoding_to_dtype_with_channels(self, encoding):
        if encoding not in _TYPES:
            raise CvBridgeError(f'Unrecognized image encoding [{encoding}]')
        return _TYPES[encoding]

    def _get(self, msg, name):
        self.reads.append(name)
        return getattr(msg, name)

    def imgmsg_to_cv2(self, img_msg, desired_encoding='passthrough'):
        encoding = self._get(img_msg, 'encoding')
        dtype, n_channels = self.encoding_to_dtype_with_channels(encoding)
        dtype = np.dtype(dtype)
        bigendian = self._get(img_msg, 'is_bigendian')
        dtype = dtype.newbyteorder('>' if bigendian else '<')
        data = self._get(img_msg, 'data')
        img_buf = np.asarray(data, dtype=dtype) if isinstance(data, list) else data
        height, step = self._get(img_msg, 'height'), self._get(img_msg, 'step')
        if n_channels == 1:
            im = np.ndarray(shape=(height, int(step / dtype.itemsize)), dtype=dtype,
                            buffer=img_buf)
            im = np.ascontiguousarray(im[:height, :self._get(img_msg, 'width')])
        else:
            im = np.ndarray(shape=(height, int(step / dtype.itemsize / n_channels), n_channels),
                            dtype=dtype, buffer=img_buf)
            im = np.ascontiguousarray(im[:height, :self._get(img_msg, 'width'), :])
        if bigendian == (sys.byteorder == 'little'):
            im = im.byteswap().newbyteorder()  # AttributeError on numpy 2, as upstream
        if desired_encoding == 'passthrough':
            return im
        try:
            return _cvt_color2(im, encoding, desired_encoding)
        except RuntimeError as exc:
            raise CvBridgeError(exc)

    def compressed_imgmsg_to_cv2(self, cmprs_img_msg, desired_encoding='passthrough'):
        data = self._get(cmprs_img_msg, 'data')
        buf = np.ndarray(shape=(1, len(data)), dtype=np.uint8, buffer=data)
        im = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        if desired_encoding == 'passthrough':
            return im
        try:
            return _cvt_color2(im, 'bgr8', desired_encoding)
        except RuntimeError as exc:
            raise CvBridgeError(exc)


class StrictImage:
    """sensor_msgs/msg/Image's fields and nothing else."""

    __slots__ = ('header', 'height', 'width', 'encoding', 'is_bigendian', 'step', 'data')

    def __init__(self, **fields):
        self.header, self.height, self.width, self.encoding = None, 0, 0, ''
        self.is_bigendian, self.step, self.data = 0, 0, b''
        for name, value in fields.items():
            setattr(self, name, value)
