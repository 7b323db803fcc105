"""
The node list and parameter files of the whole system, shared by the launch file and runner.

Keeping them here (and not in launch/ or in the runner) means what the tests start is what
`ros2 launch dynofa_ros dynofa.launch.py` starts on a robot.
"""

from dataclasses import dataclass
import os
import re

import yaml

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


def absolute_namespace(namespace):
    """Return a namespace as ros2 launch makes it: 'robot1' and '/robot1/' are '/robot1'."""
    parts = [p for p in str(namespace or '').strip().split('/') if p]
    return '/' + '/'.join(parts) if parts else ''


def section_key(node):
    """Return the parameter-file key of a node's section that applies in any namespace."""
    return f'/**/{node}'


def _sections(doc, prefix=''):
    """Yield the node keys of a ROS 2 parameter file, nested keys joined with '/' as rcl does."""
    if not isinstance(doc, dict):
        return
    for key, value in doc.items():
        name = f'{prefix}/{key}' if prefix else str(key)
        if isinstance(value, dict) and 'ros__parameters' in value:
            yield name
        elif isinstance(value, dict):
            yield from _sections(value, name)


def key_applies(key, node_fqn):
    """
    Return True when a parameter-file node key applies to a node's fully qualified name.

    The rule of rclpy (and rclcpp): a key without a leading slash is absolute, '/*' matches one
    namespace level or name and '/**' any number of levels, zero included.
    """
    key = key if key.startswith('/') else '/' + key
    pattern = re.escape(key).replace(re.escape('/**'), r'(/\w+)*')
    pattern = pattern.replace(re.escape('/*'), r'(/\w+)')
    return re.fullmatch(pattern, node_fqn) is not None


def params_file_problems(path, namespace, node_names):
    """
    Return why sections of a parameter file would be dropped by the nodes they name.

    A section for `perception` applies to /perception only; under namespace /robot1 the node is
    /robot1/perception and silently gets none of it. Such sections are reported, with the key
    that works in any namespace (section_key).
    """
    with open(path) as f:
        doc = yaml.safe_load(f) or {}
    namespace = absolute_namespace(namespace)
    problems = []
    for key in _sections(doc):
        name = key.rstrip('/').rsplit('/', 1)[-1]
        if name not in node_names:
            continue
        fqn = f'{namespace}/{name}'
        if not key_applies(key, fqn):
            problems.append(f'{path}: section {key!r} does not apply to node {fqn}; name it '
                            f'{section_key(name)!r} (any namespace) or {fqn!r}')
    return problems


@dataclass(frozen=True)
class LaunchArgument:
    """A launch argument: its default, its description, and the node parameters it sets."""

    name: str
    default: str
    description: str
    sets: tuple = ()  # ((node name, parameter name), ...)


APP = 'apps.<app_id>'  # the manager's per-app parameters of the perception node's application

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
    LaunchArgument('catalog', '', 'Sub-network catalog YAML of the perception node and of its '
                   'application in the manager, whose latency model it is (empty: from '
                   'params_file).', (('perception', 'catalog'), ('manager', APP + '.catalog'))),
    LaunchArgument('app_id', '', 'Application id of the perception node (empty: from '
                   'params_file); the manager manages it in place of the perception app of '
                   'params_file, with the apps.<id>.* settings of that app.',
                   (('perception', 'app_id'), ('manager', 'apps'))),
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


def file_parameters(paths, namespace, node):
    """Return the parameters a node gets from parameter files (later files win), by name."""
    fqn = f'{absolute_namespace(namespace)}/{node}'
    values = {}
    for path in paths:
        with open(path) as f:
            doc = yaml.safe_load(f) or {}
        for key in _sections(doc):
            if key_applies(key, fqn):
                section = doc
                for part in _key_parts(doc, key):
                    section = section[part]
                values.update(section['ros__parameters'] or {})
    return values


def _key_parts(doc, key):
    """Return the nested mapping keys that _sections joined into key."""
    if key in doc:
        return [key]
    for first in doc:
        if isinstance(doc[first], dict) and key.startswith(f'{first}/'):
            return [first] + _key_parts(doc[first], key[len(first) + 1:])
    raise KeyError(key)


def node_overrides(values, params_files=(), namespace=''):
    """
    Map launch-argument values to per-node parameter overrides: {node name: {param: value}}.

    Empty values mean "keep what the parameter file says" and are left out. The manager's
    settings follow the perception node's application: app_id:=X makes the manager manage X in
    place of the files' perception app_id, with that app's apps.<id>.* values, and catalog:= is
    that application's catalog in the manager too (its latency model).
    """
    known = {a.name: a for a in LAUNCH_ARGUMENTS}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f'unknown launch arguments {unknown}; known: {sorted(known)}')
    given = {n: _typed(str(v)) for n, v in values.items() if v != '' and v is not None}
    perception = file_parameters(params_files, namespace, 'perception')
    manager = file_parameters(params_files, namespace, 'manager')
    old_app = perception.get('app_id', 'cam')
    app = given.get('app_id', old_app)
    out = {}
    if app != old_app:  # the renamed application keeps its settings in the manager
        prefix = f'apps.{old_app}.'
        out['manager'] = {f'apps.{app}.{k[len(prefix):]}': v
                          for k, v in manager.items() if k.startswith(prefix)}
    for name, value in given.items():
        for node, param in known[name].sets:
            if param == 'apps':
                value = [app if a == old_app else a for a in manager.get('apps') or [old_app]]
                value += [] if app in value else [app]
            out.setdefault(node, {})[param.replace('<app_id>', str(app))] = value
    return out


def add_app(overrides, app_id, camera_topic, params_files=(), namespace=''):
    """
    Add a perception node for another camera application to overrides; return its NodeSpec.

    The node, perception_<app_id>, gets the perception node's parameters (files, then launch
    arguments) with its own app_id and image_topic (default <app_id>/image_raw), and the
    manager lists the application, with the apps.<id>.* settings of the perception node's app.
    overrides is node_overrides' result and is changed in place.
    """
    if not app_id.isidentifier():
        raise ValueError(f'application id {app_id!r}: letters, digits and underscores only')
    spec = NodeSpec('perception_node', f'perception_{app_id}')
    perception = file_parameters(params_files, namespace, 'perception')
    perception.update(overrides.get('perception', {}))
    manager = file_parameters(params_files, namespace, 'manager')
    manager.update(overrides.get('manager', {}))
    main_app = perception.get('app_id', 'cam')
    apps = list(manager.get('apps') or [main_app])
    if app_id in apps or app_id == main_app:
        raise ValueError(f'application {app_id!r} is already managed')
    node = dict(perception, app_id=app_id,
                image_topic=camera_topic or f'{app_id}/image_raw')
    overrides[spec.name] = node
    prefix = f'apps.{main_app}.'
    out = overrides.setdefault('manager', {})
    out['apps'] = apps + [app_id]
    out.update({f'apps.{app_id}.{k[len(prefix):]}': v
                for k, v in manager.items() if k.startswith(prefix)})
    return spec
