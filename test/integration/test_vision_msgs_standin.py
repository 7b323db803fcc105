"""
With vision_msgs installed, the perception node publishes the standard vision_msgs types.

No vision_msgs wheel exists for this venv, so the test builds a stand-in ament package named
vision_msgs with the four messages the node uses, their fields as in ros-perception/vision_msgs
4.x (Humble, Jazzy), with the same rosidl tool chain; a node with it on its paths must publish
vision_msgs/Classification and vision_msgs/LabelInfo, read by `topic echo` with those types.
"""

import os
import subprocess
import sys
import time

from sensor_msgs.msg import Image
from support.perception import camera_frames, image_msg, write_small_catalog
from support.ros import executable
import yaml

MESSAGES = {
    'Classification': 'std_msgs/Header header\nObjectHypothesis[] results\n',
    'ObjectHypothesis': 'string class_id\nfloat64 score\n',
    'LabelInfo': 'std_msgs/Header header\nVisionClass[] class_map\nfloat64 threshold\n',
    'VisionClass': 'uint16 class_id\nstring class_name\n',
}
PACKAGE_XML = """<?xml version="1.0"?>
<package format="3">
  <name>vision_msgs</name>
  <version>4.1.1</version>
  <description>Test stand-in for vision_msgs: the messages dynofa_ros publishes.</description>
  <maintainer email="dynofa-ros@example.com">dynofa_ros tests</maintainer>
  <license>Apache-2.0</license>
  <buildtool_depend>ament_cmake</buildtool_depend>
  <buildtool_depend>rosidl_default_generators</buildtool_depend>
  <depend>std_msgs</depend>
  <exec_depend>rosidl_default_runtime</exec_depend>
  <member_of_group>rosidl_interface_packages</member_of_group>
  <export><build_type>ament_cmake</build_type></export>
</package>
"""
CMAKE = """cmake_minimum_required(VERSION 3.16)
project(vision_msgs)
find_package(ament_cmake REQUIRED)
find_package(rosidl_default_generators REQUIRED)
find_package(std_msgs REQUIRED)
rosidl_generate_interfaces(${PROJECT_NAME} %s DEPENDENCIES std_msgs)
ament_export_dependencies(rosidl_default_runtime)
ament_package()
"""


def _build_standin(root):
    src = root / 'src' / 'vision_msgs'
    (src / 'msg').mkdir(parents=True)
    (src / 'package.xml').write_text(PACKAGE_XML)
    (src / 'CMakeLists.txt').write_text(CMAKE % ' '.join(f'msg/{n}.msg' for n in MESSAGES))
    for name, text in MESSAGES.items():
        (src / 'msg' / f'{name}.msg').write_text(text)
    install = root / 'install'
    done = subprocess.run(
        ['colcon', '--log-base', str(root / 'log'), 'build', '--merge-install',
         '--base-paths', str(root / 'src'), '--build-base', str(root / 'build'),
         '--install-base', str(install), '--event-handlers', 'console_direct-',
         '--cmake-args', f'-DPython3_EXECUTABLE={sys.executable}', '-DBUILD_TESTING=OFF'],
        capture_output=True, text=True, timeout=600, cwd=str(root))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    env = os.environ.copy()
    site = install / 'lib' / f'python{sys.version_info.major}.{sys.version_info.minor}'
    for var, path in (('PYTHONPATH', site / 'site-packages'), ('AMENT_PREFIX_PATH', install),
                      ('LD_LIBRARY_PATH', install / 'lib')):
        env[var] = os.pathsep.join(p for p in (str(path), env.get(var, '')) if p)
    return env


def _echo(topic, msg_type, env, *options):
    return subprocess.Popen(
        [executable('topic'), 'echo', topic, msg_type, '--count', '1', '--timeout', '120',
         '--truncate-length', '3', *options, '--ros-args', '-r',
         f'__node:=echo_{topic.strip("/").replace("/", "_")}'],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def test_perception_publishes_the_standard_types_when_vision_msgs_is_installed(
        tmp_path, node_processes, ros_probe):
    env = _build_standin(tmp_path / 'standin')
    catalog = write_small_catalog(tmp_path)
    node = node_processes('perception_node', env=env, ros_args=[
        '-p', f'catalog:={catalog}', '-p', 'num_threads:=1', '-p', 'qos_reliability:=reliable',
        '-r', '__ns:=/vm'])
    hypotheses = _echo('/vm/classification/hypotheses', 'vision_msgs/msg/Classification', env)
    labels = _echo('/vm/classification/label_info', 'vision_msgs/msg/LabelInfo', env,
                   '--qos', 'command')  # transient local: the one message sent at start
    camera = ros_probe.publisher(Image, '/vm/camera/image_raw')
    frame = camera_frames()[0]
    try:
        deadline = time.monotonic() + 120
        while hypotheses.poll() is None and time.monotonic() < deadline and node.alive():
            if camera.get_subscription_count():
                camera.publish(image_msg(frame))
            time.sleep(0.5)
        out, err = hypotheses.communicate(timeout=30)
        assert hypotheses.returncode == 0, f'{err}\n{node.output()[-3000:]}'
        printed = yaml.safe_load(out.split('---')[0])
        assert len(printed['results']) == 4 and printed['results'][-1] == '...'  # 5, cut at 3
        assert int(printed['results'][0]['class_id']) in range(1000)
        out, err = labels.communicate(timeout=60)
        assert labels.returncode == 0, err
        printed = yaml.safe_load(out.split('---')[0])
        assert printed['class_map'] == [  # 1000 classes and names, cut at 3 like the names
            {'class_id': 0, 'class_name': 'ten...'}, {'class_id': 1, 'class_name': 'gol...'},
            {'class_id': 2, 'class_name': 'gre...'}, '...']
        assert 'vision_msgs Classification on /vm/classification/hypotheses' in node.output()
    finally:
        for proc in (hypotheses, labels):
            if proc.poll() is None:
                proc.kill()
                proc.wait()
