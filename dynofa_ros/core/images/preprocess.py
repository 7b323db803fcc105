"""Image preprocessing as OFA evaluates (resize, centre crop, ImageNet normalisation) and I/O."""

import os

import cv2
import numpy as np

IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
CROP_FRACTION = 0.875
IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp', '.ppm', '.pgm', '.tif', '.tiff', '.webp')


def preprocess(rgb, resolution):
    """
    Turn an HxWx3 uint8 RGB image into a 1x3xRxR float32 array normalised for ImageNet.

    The shorter side is resized to resolution / 0.875 and the centre is cropped, as OFA's
    evaluation transform does.
    """
    check_rgb(rgb)
    h, w = rgb.shape[:2]
    short = int(round(resolution / CROP_FRACTION))
    scale = short / min(h, w)
    new_w, new_h = max(resolution, round(w * scale)), max(resolution, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (new_w, new_h), interpolation=interp)
    top, left = (new_h - resolution) // 2, (new_w - resolution) // 2
    crop = resized[top:top + resolution, left:left + resolution]
    out = (crop.astype(np.float32) / 255.0 - IMAGENET_MEAN) / IMAGENET_STD
    return np.ascontiguousarray(out.transpose(2, 0, 1)[None])


def check_rgb(rgb):
    """Raise ValueError unless rgb is a non-empty HxWx3 uint8 array."""
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3 or not rgb.size:
        shape = getattr(rgb, 'shape', None)
        raise ValueError(f'expected a non-empty HxWx3 RGB image, got shape {shape}')
    if rgb.dtype != np.uint8:
        raise ValueError(f'expected a uint8 image, got {rgb.dtype}')


def list_images(folder, max_images=0):
    """Return the sorted image files in a folder (recursively), at most max_images if > 0."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f'image folder {folder} not found')
    found = []
    for root, _, files in os.walk(folder):
        found.extend(os.path.join(root, f) for f in files
                     if f.lower().endswith(IMAGE_EXTENSIONS))
    found.sort()
    return found[:max_images] if max_images > 0 else found


def read_rgb(path):
    """Read an image file as HxWx3 uint8 RGB; raise ValueError if it cannot be decoded."""
    bgr = cv2.imread(path, cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f'cannot decode image {path}')
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
