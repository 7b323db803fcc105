"""`topic echo` of a camera image over DDS prints a short text, as `ros2 topic echo` does."""

import subprocess
import time

from sensor_msgs.msg import Image
from support.ros import executable
import yaml


def _echo(ros_probe, topic, *options):
    proc = subprocess.Popen(
        [executable('topic'), 'echo', topic, 'sensor_msgs/msg/Image', '--count', '1',
         '--timeout', '60', *options, '--ros-args', '-r', f'__node:=echo_{topic}'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pub = ros_probe.publisher(Image, topic)
    image = Image(height=480, width=640, encoding='rgb8', step=1920,
                  data=bytes(range(256)) * 3600)
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            if pub.get_subscription_count():
                pub.publish(image)  # until echo has printed it: one send can be lost
            time.sleep(0.2)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    return out


def test_echo_of_an_image_prints_128_bytes_and_no_arr_a_summary(ros_probe):
    out = _echo(ros_probe, 'echo_image')
    assert len(out) < 2000, f'{len(out)} characters printed for one image'
    printed = yaml.safe_load(out.split('---')[0])
    assert printed['data'] == list(range(128)) + ['...'] and printed['width'] == 640
    printed = yaml.safe_load(_echo(ros_probe, 'echo_image_no_arr', '--no-arr').split('---')[0])
    assert printed['data'] == '<sequence type: uint8, length: 921600>'
