"""
The node list and parameter files of the whole system, shared by the launch file and runner.

Keeping them here (and not in launch/ or in the runner) means what the tests start is what
`ros2 launch dynofa_ros dynofa.launch.py` starts on a robot.
"""

from dataclasses import dataclass
import os

PACKAGE = 'dynofa_ros'


@dataclass(frozen=True)
class NodeSpec:
    """One node of the system: the executable in lib/dynofa_ros and the node's name."""

    executable: str
    name: str


SYSTEM_NODES = (
    NodeSpec('hardware_node', 'hardware'),
    NodeSpec('perception_node', 'perception'),
    NodeSpec('manager_node', 'manager'),
)

EXECUTABLES = frozenset(spec.executable for spec in SYSTEM_NODES)

# The privilege split (docs/robot_install.md, "Permissions"): launch/hardware.launch.py starts the
# one node that writes sysfs (as root, or as a user of the dynofa group), and
# launch/application.launch.py the others, unprivileged. dynofa.launch.py starts all of them.
NODE_GROUPS = {
    'all': tuple(spec.name for spec in SYSTEM_NODES),
    'hardware': ('hardware',),
    'application': ('perception', 'manager'),
}


def group_nodes(group):
    """Return the NodeSpecs of a node group ('all', 'hardware', 'application')."""
    names = NODE_GROUPS[group]
    return tuple(spec for spec in SYSTEM_NODES if spec.name in names)


def parse_node_spec(text):
    """Parse 'name=executable' or a bare standard node name into a NodeSpec."""
    if '=' in text:
        name, executable = (part.strip() for part in text.split('=', 1))
    else:
        name = text.strip()
        matches = [spec for spec in SYSTEM_NODES if spec.name == name]
        if not matches:
            known = ', '.join(spec.name for spec in SYSTEM_NODES)
            raise ValueError(f'unknown node {name!r}: use one of {known} or NAME=EXECUTABLE')
        return matches[0]
    if executable not in EXECUTABLES:
        raise ValueError(
            f'unknown executable {executable!r}: expected one of {sorted(EXECUTABLES)}')
    if not name.isidentifier():
        raise ValueError(f'node name {name!r} is not a valid ROS node name')
    return NodeSpec(executable, name)


def share_dir(prefix=None):
    """Return share/dynofa_ros of an install prefix, or of the package found on the path."""
    if prefix is None:
        from ament_index_python.packages import get_package_share_directory
        return get_package_share_directory(PACKAGE)
    return os.path.join(prefix, 'share', PACKAGE)


def install_prefix():
    """Return the install prefix this package was found in (the parent of share/)."""
    return os.path.dirname(os.path.dirname(share_dir()))


def executable(name, prefix=None):
    """Return the path of an executable of lib/dynofa_ros in an install prefix."""
    return os.path.join(prefix or install_prefix(), 'lib', PACKAGE, name)


def default_params_file(prefix=None):
    """Return the full-system parameter file installed with the package."""
    return os.path.join(share_dir(prefix), 'config', 'system.yaml')


@dataclass(frozen=True)
class LaunchArgument:
    """A launch argument: its default, its description, and the node parameters it sets."""

    name: str
    default: str
    description: str
    sets: tuple = ()  # ((node name, parameter name), ...)


LAUNCH_ARGUMENTS = (
    LaunchArgument('namespace', '', 'Namespace of every node; topics are relative, so it moves '
                   'the whole system.'),
    LaunchArgument('params_file', '', 'Parameter YAML for every node (empty: the installed '
                   'config/system.yaml).'),
    LaunchArgument('log_level', 'info', 'ROS log level of every node (debug, info, warn, error).'),
    LaunchArgument('camera_topic', '', 'Camera image topic of the perception node (empty: from '
                   'params_file, camera/image_raw).', (('perception', 'image_topic'),)),
    LaunchArgument('checkpoint', '', 'OFA supernet checkpoint, {"state_dict": ...} (empty: from '
                   'params_file; none at all runs random weights and warns).',
                   (('perception', 'checkpoint'),)),
    LaunchArgument('catalog', '', 'Sub-network catalog YAML (empty: from params_file).',
                   (('perception', 'catalog'),)),
    LaunchArgument('app_id', '', 'Application id of the perception node (empty: from '
                   'params_file). The manager must list the same id in its apps parameter.',
                   (('perception', 'app_id'),)),
    LaunchArgument('platform_profile', '', 'Platform profile YAML for the hardware node and the '
                   'manager (empty: from params_file).',
                   (('hardware', 'platform_profile'), ('manager', 'platform_profile'))),
    LaunchArgument('sysfs_root', '', 'Root of the sysfs tree the hardware node reads and writes: '
                   '"/" on a robot, a fake tree for simulated hardware (empty: from params_file).',
                   (('hardware', 'sysfs_root'),)),
    LaunchArgument('dry_run', '', 'true: the hardware node logs DVFS writes instead of making '
                   'them (empty: from params_file).', (('hardware', 'dry_run'),)),
)


def _typed(text):
    lowered = text.strip().lower()
    if lowered in ('true', 'false'):
        return lowered == 'true'
    return text


def node_overrides(values):
    """
    Map launch-argument values to per-node parameter overrides: {node name: {param: value}}.

    Empty values mean "keep what the parameter file says" and are left out.
    """
    known = {a.name: a for a in LAUNCH_ARGUMENTS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f'unknown launch arguments {unknown}; known: {sorted(known)}')
    out = {}
    for name, value in values.items():
        if value == '' or value is None:
            continue
        for node, param in known[name].sets:
            out.setdefault(node, {})[param] = _typed(str(value))
    return out
