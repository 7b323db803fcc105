"""
Launch the dynofa_ros system: hardware, perception and manager nodes.

    ros2 launch dynofa_ros dynofa.launch.py checkpoint:=/path/ofa_w12.pth
    ros2 launch dynofa_ros dynofa.launch.py namespace:=robot1 camera_topic:=/cam/image_raw

The node list, the launch arguments and how they map to node parameters live in
dynofa_ros.core.common.bringup, shared with the `run_system` process runner, so what the tests
start is what this file starts.
"""

from dynofa_ros.core.common import bringup
from dynofa_ros.core.common import dds_profile
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def _nodes(context):
    values = {a.name: context.perform_substitution(LaunchConfiguration(a.name))
              for a in bringup.LAUNCH_ARGUMENTS}
    params_file = values.pop('params_file') or bringup.default_params_file()
    namespace = values.pop('namespace')  # relative stays relative (under PushRosNamespace)
    log_level = values.pop('log_level')
    problems = bringup.params_file_problems(
        params_file, bringup.absolute_namespace(namespace),
        {spec.name for spec in bringup.SYSTEM_NODES})
    if problems:  # the nodes would silently run on defaults
        raise RuntimeError('parameter sections that the nodes would drop:\n  ' +
                           '\n  '.join(problems))
    overrides = bringup.node_overrides(values, [params_file],
                                       bringup.absolute_namespace(namespace))
    return [Node(package=bringup.PACKAGE, executable=spec.executable, name=spec.name,
                 namespace=namespace, output='screen', emulate_tty=True,
                 parameters=[params_file, overrides.get(spec.name, {})],
                 ros_arguments=['--log-level', log_level])
            for spec in bringup.SYSTEM_NODES]


def generate_launch_description():
    # The package's FastDDS profile for every process of this launch (unless the user set one).
    return LaunchDescription(
        [SetEnvironmentVariable(name, value)
         for name, value in dds_profile.environment().items()]
        + [DeclareLaunchArgument(a.name, default_value=a.default, description=a.description)
           for a in bringup.LAUNCH_ARGUMENTS] + [OpaqueFunction(function=_nodes)])
