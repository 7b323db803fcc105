"""
The one launch description behind every launch file: dynofa, hardware and application.

Each launch file names the nodes it starts (a group of core/system/bringup.py); the launch
arguments, their mapping to node parameters, the parameter-file check under a namespace and the
package's FastDDS profile are the same for all three, so the two halves of a privilege split
read the same file the same way as the whole system does.
"""

from dynofa_ros.core.system import bringup
from dynofa_ros.core.system import dds_profile
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, OpaqueFunction, SetEnvironmentVariable
from launch.substitutions import LaunchConfiguration
from launch_ros.actions import Node


def nodes(context, specs):
    """Return the Node actions of specs with the parameters the launch arguments give them."""
    values = {a.name: context.perform_substitution(LaunchConfiguration(a.name))
              for a in bringup.LAUNCH_ARGUMENTS}
    params_file = values.pop('params_file') or bringup.default_params_file()
    namespace = values.pop('namespace')  # relative stays relative (under PushRosNamespace)
    log_level = values.pop('log_level')
    problems = bringup.params_file_problems(
        params_file, bringup.absolute_namespace(namespace), {spec.name for spec in specs})
    if problems:  # the nodes would silently run on defaults
        raise RuntimeError('parameter sections that the nodes would drop:\n  ' +
                           '\n  '.join(problems))
    overrides = bringup.node_overrides(values, [params_file],
                                       bringup.absolute_namespace(namespace))
    return [Node(package=bringup.PACKAGE, executable=spec.executable, name=spec.name,
                 namespace=namespace, output='screen', emulate_tty=True,
                 parameters=[params_file, overrides.get(spec.name, {})],
                 ros_arguments=['--log-level', log_level])
            for spec in specs]


def launch_description(group):
    """Return the LaunchDescription that starts a node group ('all', 'hardware', 'application')."""
    specs = bringup.group_nodes(group)
    # The package's FastDDS profile for every process of this launch (unless the user set one).
    return LaunchDescription(
        [SetEnvironmentVariable(name, value)
         for name, value in dds_profile.environment().items()]
        + [DeclareLaunchArgument(a.name, default_value=a.default, description=a.description)
           for a in bringup.LAUNCH_ARGUMENTS]
        + [OpaqueFunction(function=lambda context: nodes(context, specs))])
