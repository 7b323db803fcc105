"""Shared pieces of the perception tests: a small catalog, a checkpoint, camera frames."""

import os
import struct
import zlib

import cv2
import numpy as np
import yaml

SMALL_ID, LARGE_ID = 'tiny_128', 'small_160'


def write_small_catalog(folder):
    """Write a catalog of two cheap sub-networks (128 px and 160 px); return its path."""
    def arch(ks, e, d, r):
        return {'ks': [ks] * 20, 'e': [e] * 20, 'd': [d] * 5, 'r': r}

    catalog = {
        'supernet': 'ofa_mbv3_d234_e346_k357_w1.2',
        'subnets': [
            {'id': SMALL_ID, 'arch': arch(3, 3, 2, 128),
             'accuracy': {'top1': 60.0, 'source': 'test'}, 'macs_m': None},
            {'id': LARGE_ID, 'arch': arch(3, 4, 2, 160),
             'accuracy': {'top1': 65.0, 'source': 'test'}, 'macs_m': None},
        ],
    }
    path = os.path.join(str(folder), 'catalog.yaml')
    with open(path, 'w') as f:
        yaml.safe_dump(catalog, f)
    return path


def write_checkpoint(folder):
    """Save a freshly built supernet in OFA's checkpoint format; return its path."""
    import torch
    from dynofa_ros.core.perception.supernet import build_supernet
    torch.manual_seed(0)
    net = build_supernet('ofa_mbv3_d234_e346_k357_w1.2')
    path = os.path.join(str(folder), 'supernet.pth')
    torch.save({'state_dict': net.state_dict()}, path)
    return path


def camera_frames(width=160, height=120):
    """Return a few real photos (scikit-image, offline) as HxWx3 uint8 RGB camera frames."""
    from skimage import data
    photos = [data.chelsea(), data.astronaut(), data.coffee(), data.rocket()]
    return [cv2.resize(p, (width, height), interpolation=cv2.INTER_AREA) for p in photos]


def image_msg(rgb, encoding='rgb8', frame_id='camera', stamp=None):
    """Build a sensor_msgs/Image from an RGB array, converted to `encoding` with numpy."""
    from sensor_msgs.msg import Image
    pixels = {
        'rgb8': lambda: rgb,
        'bgr8': lambda: rgb[:, :, ::-1],
        'rgba8': lambda: np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)]),
        'bgra8': lambda: np.dstack([rgb[:, :, ::-1], np.full(rgb.shape[:2], 255, np.uint8)]),
        'mono8': lambda: rgb.mean(axis=2).astype(np.uint8),
    }[encoding]()
    pixels = np.ascontiguousarray(pixels)
    msg = Image(height=pixels.shape[0], width=pixels.shape[1], encoding=encoding,
                step=pixels.shape[1] * (pixels.shape[2] if pixels.ndim == 3 else 1))
    msg.data = pixels.tobytes()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    return msg


def compressed_msg(rgb, ext='.jpg', frame_id='camera', stamp=None):
    """Build a sensor_msgs/CompressedImage (JPEG or PNG) from an RGB array."""
    from sensor_msgs.msg import CompressedImage
    ok, buf = cv2.imencode(ext, np.ascontiguousarray(rgb[:, :, ::-1]))
    assert ok
    msg = CompressedImage(format=ext.lstrip('.').replace('jpg', 'jpeg'))
    msg.data = buf.tobytes()
    msg.header.frame_id = frame_id
    if stamp is not None:
        msg.header.stamp = stamp
    return msg


def png_bomb(width=20000, height=20000):
    """
    Return a valid 8-bit grey PNG of width x height black pixels, compressed row by row.

    20000 x 20000 gives about 390 kB that decode to 400 MB of grey (1.2 GB as BGR): the
    decompression bomb of issue 13. Built without ever holding the pixels in memory.
    """
    def chunk(kind, body):
        return (struct.pack('>I', len(body)) + kind + body +
                struct.pack('>I', zlib.crc32(kind + body) & 0xFFFFFFFF))

    packer, row, parts = zlib.compressobj(9), bytes(width + 1), []  # filter byte 0 + pixels
    for _ in range(height):
        parts.append(packer.compress(row))
    parts.append(packer.flush())
    header = struct.pack('>IIBBBBB', width, height, 8, 0, 0, 0, 0)
    return (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', header) +
            chunk(b'IDAT', b''.join(parts)) + chunk(b'IEND', b''))


def encoding_cases(height, width, seed):
    """
    Return (rgb, gray, cases) of seeded random pixels.

    cases maps each encoding the node accepts to (the pixels as a camera sends them, the RGB
    image they mean), both from numpy alone.
    """
    rng = np.random.default_rng(seed)
    rgb = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    alpha = rng.integers(0, 256, (height, width, 1), dtype=np.uint8)
    gray = rng.integers(0, 256, (height, width), dtype=np.uint8)
    return rgb, gray, {
        'rgb8': (rgb, rgb),
        'bgr8': (rgb[:, :, ::-1], rgb),
        'rgba8': (np.concatenate([rgb, alpha], axis=2), rgb),
        'bgra8': (np.concatenate([rgb[:, :, ::-1], alpha], axis=2), rgb),
        'mono8': (gray, np.stack([gray] * 3, axis=2)),
    }
