"""
Launch the perception and manager nodes: the unprivileged half of the system.

    ros2 launch dynofa_ros application.launch.py checkpoint:=/path/ofa_w12.pth

The hardware node runs separately with hardware.launch.py (as root or as a dynofa group member,
docs/robot_install.md); the manager learns what it may command from its DvfsCapabilities. Same
launch arguments as dynofa.launch.py (dynofa_ros.core.system.bringup).
"""

from dynofa_ros import launch_support

GROUP = 'application'


def generate_launch_description():
    return launch_support.launch_description(GROUP)
