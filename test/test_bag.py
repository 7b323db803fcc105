"""Camera bag generation, and record/replay through real processes over DDS."""

import os
import signal
import subprocess

import cv2
from dynofa_ros.core.bags import camera_bags, rosbag
import numpy as np
import pytest
from rostest_utils import executable
import yaml


@pytest.fixture(scope='module')
def camera_bag(tmp_path_factory):
    path = str(tmp_path_factory.mktemp('bags') / 'camera')
    camera_bags.write_camera_bag(path, frames=12, rate_hz=10.0, width=160, height=120)
    return path


def _images(path):
    return [m for _, _, _, m in rosbag.read_messages(path, ['/camera/image_raw'])]


def test_camera_bag_holds_distinct_real_frames(camera_bag):
    with open(os.path.join(camera_bag, 'metadata.yaml')) as f:
        meta = yaml.safe_load(f)['rosbag2_bagfile_information']
    assert meta['storage_identifier'] == 'mcap' and meta['message_count'] == 12
    images = _images(camera_bag)
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
    msg = _images(path)[0]
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
    images = _images(path)
    bad = images[1::2]
    assert bad[0].step == 32 * 3 and len(bad[0].data) == 32 * 24 * 3 // 3  # truncated
    assert bad[1].step == 32 * 3 - 7
    assert bad[2].encoding == '32FC1'
    assert bad[3].height == 0 and len(bad[3].data) == 0
    assert all(len(m.data) == 32 * 24 * 3 for m in images[0::2])


def test_make_camera_bag_refuses_existing_output_and_bad_size(tmp_path):
    run = [executable('make_camera_bag'), str(tmp_path)]
    assert subprocess.run(run, capture_output=True).returncode == 2
    bad = subprocess.run([executable('make_camera_bag'), str(tmp_path / 'x'), '--size', 'big'],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and 'WIDTHxHEIGHT' in bad.stderr


@pytest.mark.integration
def test_record_what_replay_and_a_custom_publisher_send(camera_bag, tmp_path, node_processes):
    out = str(tmp_path / 'recorded')
    recorder = node_processes('bag', 'record', out, '-t', 'camera/image_raw',
                              '-t', 'subnet_command')
    node_processes('topic', 'pub', 'subnet_command', 'SubnetCommand',
                   '{app_id: cam, subnet_id: n7_2, reason: test}', '--rate', '10')
    play = subprocess.run(
        [executable('bag'), 'play', camera_bag, '--rate', '2', '--restamp',
         '--wait-for-subscribers', '30'], capture_output=True, text=True, timeout=120)
    assert play.returncode == 0, play.stderr
    assert 'published 12 messages' in play.stdout
    assert recorder.stop(signal.SIGINT) == 0, recorder.output()

    counts = rosbag.topic_counts(out)
    assert counts['/camera/image_raw'] == ('sensor_msgs/msg/Image', 12)
    assert counts['/subnet_command'][0] == 'dynofa_ros/msg/SubnetCommand'
    assert counts['/subnet_command'][1] >= 1
    recorded = _images(out)
    for sent, got in zip(_images(camera_bag), recorded):
        np.testing.assert_array_equal(np.asarray(sent.data), np.asarray(got.data))
        assert got.header.stamp.sec > sent.header.stamp.sec  # restamped at replay time
    times = [t for _, _, t, _ in rosbag.read_messages(out, ['/camera/image_raw'])]
    span = (times[-1] - times[0]) / 1e9
    assert 0.2 < span < 1.2, f'11 frame periods of 0.1 s at rate 2 took {span:.2f} s'
    commands = [m for _, _, _, m in rosbag.read_messages(out, ['/subnet_command'])]
    assert commands[0].subnet_id == 'n7_2' and commands[0].reason == 'test'
    info = subprocess.run([executable('bag'), 'info', out], capture_output=True, text=True)
    assert '/subnet_command  [dynofa_ros/msg/SubnetCommand]' in info.stdout
    assert 'storage: mcap' in info.stdout


@pytest.mark.integration
def test_loop_replays_the_bag_again(camera_bag, ros_probe):
    from sensor_msgs.msg import Image
    received = ros_probe.subscribe(Image, 'looped/image')
    player = subprocess.Popen(
        [executable('bag'), 'play', camera_bag, '--rate', '4', '--loop',
         '--ros-args', '-r', 'camera/image_raw:=looped/image'], stdout=subprocess.PIPE, text=True)
    try:
        ros_probe.wait_for(received, count=20, timeout=60)
    finally:
        player.send_signal(signal.SIGINT)
        player.wait(20)
    assert player.returncode == 0
    assert {(m.width, m.height) for m in received} == {(160, 120)}
