"""The bag tools: record and replay through real processes over DDS; make_camera_bag's CLI."""

import signal
import subprocess

from dynofa_ros.core.bags import rosbag
import numpy as np
import pytest
from support.bags import images, small_camera_bag
from support.ros import executable


@pytest.fixture(scope='module')
def camera_bag(tmp_path_factory):
    return small_camera_bag(str(tmp_path_factory.mktemp('bags') / 'camera'))


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
    recorded = images(out)
    for sent, got in zip(images(camera_bag), recorded):
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
