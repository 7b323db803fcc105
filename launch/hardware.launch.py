"""
Launch only the hardware node (DVFS writer + telemetry): the privileged half of the system.

    sudo -E ros2 launch dynofa_ros hardware.launch.py    # as root
    ros2 launch dynofa_ros hardware.launch.py            # as a member of the dynofa group

The dynofa group needs config/udev/99-dynofa-dvfs.rules installed; a systemd unit is in
config/systemd/dynofa-hardware.service (docs/robot_install.md, "Permissions"). Start
perception and manager unprivileged with application.launch.py. Both take the same launch
arguments as dynofa.launch.py (dynofa_ros.core.common.bringup), so the two halves read the same
parameter file and platform profile.
"""

from dynofa_ros.core.common import bringup
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node

GROUP = 'hardware'


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
