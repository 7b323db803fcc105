"""
Launch the dynofa_ros system: hardware, perception and manager nodes.

    ros2 launch dynofa_ros dynofa.launch.py checkpoint:=/path/ofa_w12.pth
    ros2 launch dynofa_ros dynofa.launch.py namespace:=robot1 camera_topic:=/cam/image_raw

The node list, the launch arguments and how they map to node parameters live in
dynofa_ros.core.system.bringup, shared with the `run_system` process runner, so what the tests
start is what this file starts.
"""

from dynofa_ros import launch_support

GROUP = 'all'


def generate_launch_description():
    return launch_support.launch_description(GROUP)
