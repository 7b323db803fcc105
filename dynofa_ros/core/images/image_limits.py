"""
Bound the size of camera frames before any pixel is decoded (decompression bombs).

A 389 kB PNG can declare 20000 x 20000 pixels and make the decoder allocate gigabytes. The
limits here are checked from what a frame says about itself: the message fields of a raw
sensor_msgs/Image, the header of a compressed one (PNG IHDR, JPEG start-of-frame marker), read
without decoding. Compressed data that is neither PNG nor JPEG (the two formats of
image_transport's `compressed` transport) is refused: its size cannot be read before decoding.
"""

import struct

# 8 Mpx: a 4K UHD camera (3840 x 2160) fits; 32 MiB: one such frame in rgba8.
DEFAULT_MAX_PIXELS = 8 * 1024 * 1024
DEFAULT_MAX_BYTES = 32 * 1024 * 1024

PNG_SIGNATURE = b'\x89PNG\r\n\x1a\n'
# JPEG start-of-frame markers (SOF0-SOF15) carry the size; C4, C8 and CC are not frames.
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
# Markers without a length field: TEM, RSTn, SOI (EOI ends the search).
_STANDALONE = frozenset([0x01, *range(0xD0, 0xD9)])


class HeaderError(ValueError):
    """Compressed data whose size cannot be read from its header."""


def compressed_size(data):
    """Return (width, height) from a PNG or JPEG header without decoding; raise HeaderError."""
    head = bytes(data[:len(PNG_SIGNATURE)])
    if head == PNG_SIGNATURE:
        return _png_size(data)
    if head[:2] == b'\xff\xd8':
        return _jpeg_size(data)
    raise HeaderError('neither PNG nor JPEG (the formats of the image_transport compressed '
                      'transport); other formats are refused because their size cannot be '
                      'checked before decoding')


def _png_size(data):
    # Signature, then the IHDR chunk: length (4), type (4), width (4), height (4).
    chunk = bytes(data[8:24])
    if len(chunk) < 16 or chunk[4:8] != b'IHDR':
        raise HeaderError('PNG without an IHDR chunk first')
    return struct.unpack('>II', chunk[8:16])


def _jpeg_size(data):
    try:
        view = memoryview(data).cast('B')  # bytes, array('B'), numpy: no copy
    except TypeError:
        view = memoryview(bytes(data))  # a list of ints
    pos, end = 2, len(view)
    while pos + 4 <= end:
        if view[pos] != 0xFF:
            raise HeaderError(f'JPEG marker expected at byte {pos}')
        marker = view[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in _STANDALONE:
            pos += 2
            continue
        if marker == 0xD9:
            break
        length = (view[pos + 2] << 8) | view[pos + 3]
        if marker in _SOF_MARKERS:
            if length < 7 or pos + 9 > end:
                raise HeaderError('JPEG start-of-frame segment is truncated')
            height = (view[pos + 5] << 8) | view[pos + 6]
            width = (view[pos + 7] << 8) | view[pos + 8]
            return width, height
        if length < 2:
            raise HeaderError(f'JPEG segment length {length} at byte {pos}')
        pos += 2 + length
    raise HeaderError('JPEG without a start-of-frame marker')


def size_refusal(width, height, n_bytes, max_pixels, max_bytes):
    """Return why a frame of this size is refused ('' when it is within the limits)."""
    if n_bytes > max_bytes:
        return f'{n_bytes} bytes, more than max_image_bytes {max_bytes}'
    if width * height > max_pixels:
        return (f'{width}x{height} = {width * height} pixels, more than max_image_pixels '
                f'{max_pixels}')
    return ''
