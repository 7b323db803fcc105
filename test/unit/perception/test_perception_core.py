"""Unit tests of the perception node's ROS-free parts: decoding, queue, stats, parameters."""

import os
import re
import threading
import time

import cv2
from dynofa_ros.core.common.latest_frame import LatestFrame
from dynofa_ros.core.images.image_decode import ImageDecoder, ImageRejected, REJECT_KINDS
from dynofa_ros.core.perception import params as params
from dynofa_ros.core.perception.stats import health, OK, PerceptionStats, RateMeter, WARN
import numpy as np
import pytest
from sensor_msgs.msg import CompressedImage, Image
from support import REPO
from support.perception import encoding_cases
import yaml


RGB, GRAY, CASES = encoding_cases(48, 64, seed=7)


def image_msg(pixels, encoding, pad=0):
    """Build an Image with `pad` junk bytes at the end of every row."""
    h, w = pixels.shape[:2]
    rows = pixels.reshape(h, -1)
    if pad:
        rows = np.concatenate([rows, np.full((h, pad), 0xAB, np.uint8)], axis=1)
    msg = Image(height=h, width=w, encoding=encoding, step=rows.shape[1])
    msg.data = np.ascontiguousarray(rows).tobytes()
    return msg


@pytest.fixture(scope='module')
def decoder():
    return ImageDecoder()


@pytest.mark.parametrize('pad', [0, 5])
@pytest.mark.parametrize('encoding', sorted(CASES))
def test_every_accepted_encoding_matches_numpy_reference(decoder, encoding, pad):
    pixels, expected = CASES[encoding]
    out = decoder.decode(image_msg(pixels, encoding, pad))
    assert out.dtype == np.uint8 and out.shape == (48, 64, 3)
    np.testing.assert_array_equal(out, expected)


def test_big_endian_flag_is_irrelevant_for_8_bit(decoder):
    msg = image_msg(*CASES['bgr8'][:1], 'bgr8')
    msg.is_bigendian = 1
    np.testing.assert_array_equal(decoder.decode(msg), RGB)


def _with(msg, **fields):
    for key, value in fields.items():
        setattr(msg, key, value)
    return msg


@pytest.mark.parametrize('kind, msg', [
    ('encoding', _with(image_msg(RGB, 'rgb8'), encoding='yuv422')),
    ('encoding', _with(image_msg(GRAY, 'mono8'), encoding='16UC1')),
    ('encoding', _with(image_msg(RGB, 'rgb8'), encoding='')),
    ('empty', Image(encoding='rgb8')),
    ('empty', _with(image_msg(RGB, 'rgb8'), height=0)),
    ('empty', _with(image_msg(RGB, 'rgb8'), data=b'')),
    ('step', _with(image_msg(RGB, 'rgb8'), step=64 * 3 - 1)),
    ('step', _with(image_msg(RGB, 'rgb8'), width=65)),
    ('truncated', _with(image_msg(RGB, 'rgb8'), data=RGB.tobytes()[:-1])),
    ('truncated', _with(image_msg(RGB, 'rgb8'), height=49)),
    ('size', _with(image_msg(RGB, 'rgb8'), height=47)),
    ('size', _with(image_msg(RGB, 'rgb8'), data=RGB.tobytes() + b'\0')),
])
def test_malformed_images_are_refused_with_their_kind(decoder, kind, msg):
    with pytest.raises(ImageRejected) as info:
        decoder.decode(msg)
    assert info.value.kind == kind and kind in REJECT_KINDS
    assert str(info.value)


def compressed_msg(pixels_bgr, ext):
    ok, buf = cv2.imencode(ext, pixels_bgr)
    assert ok
    msg = CompressedImage(format=ext[1:])
    msg.data = buf.tobytes()
    return msg


@pytest.mark.parametrize('pixels, ext', [
    (RGB[:, :, ::-1], '.png'),
    (GRAY, '.png'),
    (CASES['bgra8'][0], '.png'),
])
def test_lossless_compressed_images_match_numpy_reference(decoder, pixels, ext):
    expected = np.stack([GRAY] * 3, axis=2) if pixels.ndim == 2 else RGB
    np.testing.assert_array_equal(decoder.decode_compressed(compressed_msg(pixels, ext)),
                                  expected)


def test_jpeg_decodes_to_rgb_close_to_the_original(decoder):
    smooth = cv2.GaussianBlur(RGB, (9, 9), 3)
    out = decoder.decode_compressed(compressed_msg(smooth[:, :, ::-1].copy(), '.jpg'))
    assert out.shape == (48, 64, 3)
    assert np.abs(out.astype(int) - smooth).mean() < 6  # channel order right: BGR would be far


@pytest.mark.parametrize('kind, data', [
    ('empty', b''),
    ('undecodable', b'not an image at all' * 10),
    ('undecodable', compressed_msg(RGB, '.jpg').data[:40].tobytes()),
])
def test_bad_compressed_images_are_refused(decoder, kind, data):
    msg = CompressedImage(format='jpeg')
    msg.data = data
    with pytest.raises(ImageRejected) as info:
        decoder.decode_compressed(msg)
    assert info.value.kind == kind


def test_queue_newest_wins_and_replaced_items_are_counted():
    queue = LatestFrame()
    assert queue.put(1) is False
    assert queue.put(2) is True
    assert queue.put(3) is True
    assert queue.take(0) == 3 and queue.dropped == 2 and queue.put_count == 3
    assert queue.take(0.01) is None
    queue.put(4)
    assert queue.take() == 4 and queue.dropped == 2


def test_queue_close_wakes_a_waiting_taker_and_refuses_puts():
    queue = LatestFrame()
    got = []
    taker = threading.Thread(target=lambda: got.append(queue.take()))
    taker.start()
    time.sleep(0.05)
    queue.close()
    taker.join(2)
    assert not taker.is_alive() and got == [None]
    with pytest.raises(RuntimeError):
        queue.put(1)


def test_queue_is_thread_safe_under_a_fast_producer():
    queue, taken, n = LatestFrame(), [], 20000

    def consume():
        while True:
            item = queue.take()
            if item is None:
                return
            taken.append(item)
            if item == n - 1:
                return

    consumer = threading.Thread(target=consume)
    consumer.start()
    for i in range(n):
        queue.put(i)
    consumer.join(10)
    assert not consumer.is_alive()
    assert taken[-1] == n - 1  # the newest item is always delivered
    assert taken == sorted(set(taken))  # never an older item after a newer one, no duplicates
    assert len(taken) + queue.dropped == n  # every item either taken or counted as dropped


def test_rate_meter_counts_events_of_the_last_window():
    meter = RateMeter(1.0)
    for t in (0.0, 0.1, 0.2, 0.3):
        meter.tick(10.0 + t)
    assert meter.rate(10.3) == 4.0
    assert meter.rate(11.15) == 2.0  # 10.0 and 10.1 left the window
    assert meter.rate(20.0) == 0.0
    with pytest.raises(ValueError):
        RateMeter(0)


def test_stats_count_processed_rejected_and_pass_dropped_through():
    stats = PerceptionStats(window_s=1.0)
    stats.reject('step')
    stats.reject('step')
    stats.reject('encoding')
    first = stats.processed(100.0, dropped=0)
    second = stats.processed(100.5, dropped=4)
    assert (first.frames_processed, first.frames_rejected, first.frame_rate_hz) == (1, 3, 1.0)
    assert (second.frames_processed, second.frames_dropped, second.frame_rate_hz) == (2, 4, 2.0)
    assert stats.rejected_by_kind() == {'step': 2, 'encoding': 1}
    later = stats.snapshot(102.0, dropped=4)
    assert later.frames_processed == 2 and later.frame_rate_hz == 0.0


def test_health_warns_on_random_weights_and_recent_rejections():
    snap = PerceptionStats().snapshot(0.0, 0)
    assert health(snap, 'a', random_weights=False)[0] == OK
    level, message = health(snap, 'a', random_weights=True)
    assert level == WARN and 'RANDOM' in message
    level, message = health(snap, 'a', random_weights=False, rejected_recently=3)
    assert level == WARN and '3' in message


def test_parameter_defaults_are_valid_and_bad_values_give_reasons():
    for spec in params.PARAMS:
        assert params.check(spec.name, spec.default) == '', spec.name
        assert spec.description
    bad = {
        'top_k': 11, 'num_threads': -1, 'qos_depth': 0, 'cache_budget_mb': -1.0,
        'qos_reliability': 'sometimes', 'device': 'tpu', 'app_id': ' ',
        'image_topic': 'camera image', 'catalog': '', 'cpu_affinity': [0, 0],
    }
    for name, value in bad.items():
        reason = params.check(name, value)
        assert name in reason or 'must' in reason, (name, reason)
    assert params.check('cpu_affinity', [2000])
    assert params.check('no_such', 1).startswith('unknown parameter')
    assert params.check('device', 'cuda:1') == '' and params.check('top_k', 10) == ''
    assert params.compressed_topic('camera/image_raw') == 'camera/image_raw/compressed'


def test_config_file_sets_and_documents_every_parameter():
    path = os.path.join(REPO, 'config', 'perception.yaml')
    with open(path) as f:
        text = f.read()
    values = yaml.safe_load(text)['/**/perception']['ros__parameters']
    lines = text.splitlines()
    for spec in params.PARAMS:
        # A key line, or (for an unset array) a commented-out one, preceded by a comment.
        index = next((i for i, line in enumerate(lines)
                      if re.match(rf'^\s*#?\s*{spec.name}:', line)), None)
        assert index is not None, f'{spec.name} missing from {path}'
        assert lines[index - 1].strip().startswith('#'), f'{spec.name} has no comment'
        if spec.name in values:
            assert params.check(spec.name, values[spec.name]) == '', spec.name
