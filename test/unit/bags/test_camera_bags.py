"""Camera bags made from real photos: distinct frames, every encoding, each malformation."""

import os

import cv2
from dynofa_ros.core.bags import camera_bags
import numpy as np
import pytest
from support.bags import images as bag_images, small_camera_bag
import yaml


@pytest.fixture(scope='module')
def camera_bag(tmp_path_factory):
    return small_camera_bag(str(tmp_path_factory.mktemp('bags') / 'camera'))


def test_camera_bag_holds_distinct_real_frames(camera_bag):
    with open(os.path.join(camera_bag, 'metadata.yaml')) as f:
        meta = yaml.safe_load(f)['rosbag2_bagfile_information']
    assert meta['storage_identifier'] == 'mcap' and meta['message_count'] == 12
    images = bag_images(camera_bag)
    assert len(images) == 12
    stamps = [m.header.stamp.sec * 10**9 + m.header.stamp.nanosec for m in images]
    assert np.allclose(np.diff(stamps), 1e8)
    frames = [np.asarray(m.data).reshape(120, 160, 3) for m in images]
    for a, b in zip(frames, frames[1:]):
        assert np.abs(a.astype(int) - b.astype(int)).mean() > 1.0, 'consecutive frames equal'
    assert all(f.std() > 20 for f in frames), 'frames should be photos, not flat colour'


@pytest.mark.parametrize('encoding', ['bgr8', 'mono8', 'rgba8', 'bgra8'])
def test_camera_bag_encodings_match_numpy_reference(tmp_path, encoding):
    path = str(tmp_path / encoding)
    camera_bags.write_camera_bag(path, frames=1, width=32, height=24, encoding=encoding)
    msg = bag_images(path)[0]
    rgb, _ = next(camera_bags.camera_frames(1, 32, 24))
    channels = {'bgr8': 3, 'mono8': 1, 'rgba8': 4, 'bgra8': 4}[encoding]
    assert msg.encoding == encoding and msg.step == 32 * channels
    data = np.asarray(msg.data).reshape(24, 32, channels)
    if encoding == 'bgr8':
        np.testing.assert_array_equal(data, rgb[..., ::-1])
    elif encoding == 'mono8':
        np.testing.assert_array_equal(data[..., 0], cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY))
    else:
        order = [0, 1, 2] if encoding == 'rgba8' else [2, 1, 0]
        np.testing.assert_array_equal(data[..., :3], rgb[..., order])
        assert (data[..., 3] == 255).all()


def test_corrupt_bag_cycles_through_every_malformation(tmp_path):
    path = str(tmp_path / 'corrupt')
    camera_bags.write_camera_bag(path, frames=8, width=32, height=24, corrupt_every=2)
    images = bag_images(path)
    bad = images[1::2]
    assert bad[0].step == 32 * 3 and len(bad[0].data) == 32 * 24 * 3 // 3  # truncated
    assert bad[1].step == 32 * 3 - 7
    assert bad[2].encoding == '32FC1'
    assert bad[3].height == 0 and len(bad[3].data) == 0
    assert all(len(m.data) == 32 * 24 * 3 for m in images[0::2])
