"""
Launch the perception and manager nodes: the unprivileged half of the system.

    ros2 launch dynofa_ros application.launch.py checkpoint:=/path/ofa_w12.pth

The hardware node runs separately with hardware.launch.py (as root or as a dynofa group member,
docs/robot_install.md); the manager learns what it may command from its DvfsCapabilities. Same
launch arguments as dynofa.launch.py (dynofa_ros.core.common.bringup).
"""

from dynofa_ros.core.common import bringup
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

GROUP = 'application'


def _nodes(context):
    values = {a.name: context.perform_substitution(LaunchConfiguration(a.name))
              for a in bringup.LAUNCH_ARGUMENTS}
    params_file = values.pop('params_file') or bringup.default_params_file()
    namespace = values.pop('namespace')
    log_level = values.pop('log_level')
    overrides = bringup.node_overrides(values)
    return [Node(package=bringup.PACKAGE, executable=spec.executable, name=spec.name,
                 namespace=namespace, output='screen', emulate_tty=True,
                 parameters=[params_file, overrides.get(spec.name, {})],
                 ros_arguments=['--log-level', log_level])
            for spec in bringup.group_nodes(GROUP)]


def generate_launch_description():
    return LaunchDescription(
        [DeclareLaunchArgument(a.name, default_value=a.default, description=a.description)
         for a in bringup.LAUNCH_ARGUMENTS] + [OpaqueFunction(function=_nodes)])
