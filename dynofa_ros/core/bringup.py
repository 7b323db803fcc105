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


def default_params_file(prefix=None):
    """Return the full-system parameter file installed with the package."""
    return os.path.join(share_dir(prefix), 'config', 'system.yaml')
