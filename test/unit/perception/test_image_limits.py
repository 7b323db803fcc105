"""Frames too large are refused from their header or fields, before any pixel is decoded."""

import array

import cv2
from dynofa_ros.core.images import image_limits
from dynofa_ros.core.images.image_decode import ImageDecoder, ImageRejected, REJECT_KINDS
from dynofa_ros.core.perception import params
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image
from support.perception import png_bomb

RGB = np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)


def encoded(ext, pixels=RGB, params_=()):
    ok, buf = cv2.imencode(ext, pixels, list(params_))
    assert ok
    return buf.tobytes()


@pytest.mark.parametrize('ext, flags', [
    ('.png', ()), ('.jpg', ()), ('.jpg', (cv2.IMWRITE_JPEG_PROGRESSIVE, 1)),
])
def test_header_size_matches_the_encoded_image(ext, flags):
    assert image_limits.compressed_size(encoded(ext, params_=flags)) == (64, 48)


def test_jpeg_size_is_found_after_exif_and_tables():
    data = encoded('.jpg')
    app1 = b'\xff\xe1' + (2 + 300).to_bytes(2, 'big') + b'Exif\0\0' + bytes(294)
    assert image_limits.compressed_size(data[:2] + app1 + data[2:]) == (64, 48)


def test_png_bomb_size_is_read_from_its_header_alone():
    bomb = png_bomb(20000, 20000)
    assert len(bomb) < 400_000
    assert image_limits.compressed_size(bomb[:24]) == (20000, 20000)


@pytest.mark.parametrize('data', [
    b'GIF89a' + bytes(40), b'BM' + bytes(60), b'RIFF\0\0\0\0WEBPVP8 ' + bytes(40),
    b'\x89PNG\r\n\x1a\n' + bytes(4) + b'IDAT', b'\xff\xd8 this is not a jpeg' * 20,
    b'\xff\xd8\xff\xe0\x00\x10' + bytes(14),
])
def test_unreadable_headers_are_refused(data):
    with pytest.raises(image_limits.HeaderError):
        image_limits.compressed_size(data)


def test_spec_defaults_are_the_decoders_defaults():
    defaults = params.SPEC.defaults()
    assert defaults['max_image_pixels'] == image_limits.DEFAULT_MAX_PIXELS
    assert defaults['max_image_bytes'] == image_limits.DEFAULT_MAX_BYTES
    assert 3840 * 2160 <= image_limits.DEFAULT_MAX_PIXELS  # a 4K camera fits
    assert 3840 * 2160 * 4 <= image_limits.DEFAULT_MAX_BYTES


def compressed(data):
    msg = CompressedImage(format='png')
    msg.data = data
    return msg


def test_the_png_bomb_is_refused_as_too_large_before_decoding(monkeypatch):
    decoder = ImageDecoder()

    def no_decoding(*args, **kwargs):
        raise AssertionError('the decoder was called')

    monkeypatch.setattr(decoder._bridge, 'compressed_imgmsg_to_cv2', no_decoding)
    with pytest.raises(ImageRejected) as info:
        decoder.decode_compressed(compressed(png_bomb(20000, 20000)))
    assert info.value.kind == 'too_large' and 'too_large' in REJECT_KINDS
    assert '20000x20000' in str(info.value)


@pytest.mark.parametrize('max_pixels, max_bytes, ok', [
    (64 * 48, 10**6, True), (64 * 48 - 1, 10**6, False), (10**6, 100, False),
])
def test_compressed_limits_are_the_decoders_parameters(max_pixels, max_bytes, ok):
    decoder = ImageDecoder(max_pixels, max_bytes)
    msg = compressed(encoded('.png'))
    if ok:
        assert decoder.decode_compressed(msg).shape == (48, 64, 3)
    else:
        with pytest.raises(ImageRejected) as info:
            decoder.decode_compressed(msg)
        assert info.value.kind == 'too_large'


@pytest.mark.parametrize('max_pixels, max_bytes, ok', [
    (64 * 48, 64 * 48 * 3, True), (64 * 48 - 1, 10**6, False), (10**6, 64 * 48 * 3 - 1, False),
])
def test_raw_limits_come_from_the_message_fields(max_pixels, max_bytes, ok):
    msg = Image(height=48, width=64, encoding='rgb8', step=64 * 3)
    msg.data = RGB.tobytes()
    decoder = ImageDecoder(max_pixels, max_bytes)
    if ok:
        np.testing.assert_array_equal(decoder.decode(msg), RGB)
    else:
        with pytest.raises(ImageRejected) as info:
            decoder.decode(msg)
        assert info.value.kind == 'too_large'


def test_raw_fields_claiming_a_huge_image_are_too_large_not_truncated():
    msg = Image(height=30000, width=30000, encoding='rgb8', step=90000)
    msg.data = bytes(16)
    with pytest.raises(ImageRejected) as info:
        ImageDecoder().decode(msg)
    assert info.value.kind == 'too_large'


@pytest.mark.parametrize('convert', [bytes, memoryview, lambda b: array.array('B', b),
                                     lambda b: np.frombuffer(b, np.uint8), list])
def test_header_is_read_from_every_form_message_data_takes(convert):
    for ext in ('.png', '.jpg'):
        assert image_limits.compressed_size(convert(encoded(ext))) == (64, 48)
