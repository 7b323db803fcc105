"""The bag tools: record and replay through real processes over DDS; make_camera_bag's CLI."""

import signal
import subprocess
import time

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


def test_offered_qos_is_recorded_and_replayed(tmp_path, node_processes, ros_probe):
    """A latched command topic replays latched; a best-effort one best-effort (as rosbag2)."""
    from rclpy.qos import DurabilityPolicy, ReliabilityPolicy
    out = str(tmp_path / 'recorded')
    recorder = node_processes('bag', 'record', out, '-t', 'subnet_command', '-t', 'sensor_cmd')
    node_processes('topic', 'pub', 'subnet_command', 'SubnetCommand', '{app_id: cam}',
                   '--rate', '10')
    node_processes('topic', 'pub', 'sensor_cmd', 'SubnetCommand', '{app_id: cam}',
                   '--rate', '10', '--qos', 'sensor')
    ros_probe.wait_until(lambda: all(n in recorder.output() for n in (
        'recording /subnet_command', 'recording /sensor_cmd')), timeout=30,
        what=recorder.output)
    time.sleep(1.0)  # a few messages of each
    assert recorder.stop(signal.SIGINT) == 0, recorder.output()
    recorded = rosbag.topic_qos(out)
    assert rosbag.playback_qos(recorded['/subnet_command']) == (True, True)
    assert rosbag.playback_qos(recorded['/sensor_cmd']) == (False, False)

    player = node_processes('bag', 'play', out, '--loop', '--ros-args', '-r',
                            '__node:=qos_player')

    def offered(topic):
        return [i.qos_profile for i in ros_probe.node.get_publishers_info_by_topic(topic)
                if i.node_name == 'qos_player']

    ros_probe.wait_until(lambda: offered('/subnet_command') and offered('/sensor_cmd'),
                         timeout=30, what=player.output)
    (command,), (sensor,) = offered('/subnet_command'), offered('/sensor_cmd')
    assert command.durability == DurabilityPolicy.TRANSIENT_LOCAL
    assert command.reliability == ReliabilityPolicy.RELIABLE
    assert sensor.durability == DurabilityPolicy.VOLATILE
    assert sensor.reliability == ReliabilityPolicy.BEST_EFFORT
