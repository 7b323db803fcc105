"""
package.xml names a dependency for every third-party module the package imports.

Every Python file is walked with ast; each top-level module that is neither the standard
library nor this package maps to a rosdep key (checked against ros/rosdistro's
rosdep/python.yaml and the ROS package index when this table was written) or to a pip step of
docs/robot_install.md (torch, torchvision, ofa: their build depends on the board). A module
missing from the table, or a key missing from package.xml, fails with what to add. Code that
runs on the robot (dynofa_ros/, launch/) needs a build, exec or plain depend; tests and
benchmarks may use test_depend.
"""

import ast
import os
import re
import sys
import xml.etree.ElementTree as ElementTree

from support import REPO

PIP = 'pip'  # installed by the pip steps of docs/robot_install.md, not by rosdep
MODULE_KEYS = {
    'ament_index_python': 'ament_index_python', 'builtin_interfaces': 'builtin_interfaces',
    'cv2': 'python3-opencv', 'cv_bridge': 'cv_bridge', 'diagnostic_msgs': 'diagnostic_msgs',
    'launch': 'launch', 'launch_ros': 'launch_ros', 'matplotlib': 'python3-matplotlib',
    'numpy': 'python3-numpy', 'psutil': 'python3-psutil', 'rcl_interfaces': 'rcl_interfaces',
    'rclpy': 'rclpy', 'rosbags': 'python3-rosbags-pip', 'sensor_msgs': 'sensor_msgs',
    'skimage': 'python3-skimage', 'std_msgs': 'std_msgs', 'tqdm': 'python3-tqdm',
    'yaml': 'python3-yaml',
    'ament_flake8': 'ament_flake8', 'ament_pep257': 'ament_pep257', 'pytest': 'python3-pytest',
    '_pytest': 'python3-pytest',
    'ofa': PIP, 'onnxruntime': PIP, 'torch': PIP, 'torchvision': PIP,
}
RUNTIME_DIRS = ('dynofa_ros', 'launch')
TEST_DIRS = ('test', 'bench')
RUN_TAGS = ('depend', 'exec_depend', 'build_export_depend')


def imported_modules(folder):
    """Return {top-level module: first file importing it} for the .py files under folder."""
    found, local = {}, set()
    for base, _, names in os.walk(os.path.join(REPO, folder)):
        if folder in TEST_DIRS:  # tests import sibling test modules by name
            local.update(name[:-3] for name in names if name.endswith('.py'))
        for name in sorted(names):
            if not name.endswith('.py'):
                continue
            path = os.path.join(base, name)
            with open(path) as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    modules = [node.module]
                else:
                    continue
                for module in modules:
                    found.setdefault(module.split('.')[0], os.path.relpath(path, REPO))
    ours = set(sys.stdlib_module_names) | {'dynofa_ros', 'support'} | local
    return {module: path for module, path in found.items() if module not in ours}


def package_keys():
    root = ElementTree.parse(os.path.join(REPO, 'package.xml')).getroot()
    keys = {}
    for element in root:
        keys.setdefault(element.tag, set()).add((element.text or '').strip())
    return keys


def test_every_runtime_import_has_a_run_dependency():
    keys = package_keys()
    run = set().union(*(keys.get(tag, set()) for tag in RUN_TAGS))
    problems = []
    for folder in RUNTIME_DIRS:
        for module, path in sorted(imported_modules(folder).items()):
            key = MODULE_KEYS.get(module)
            if key is None:
                problems.append(f'{path} imports {module}: add its rosdep key to MODULE_KEYS '
                                'here and to package.xml')
            elif key != PIP and key not in run:
                problems.append(f'{path} imports {module}: package.xml needs '
                                f'<exec_depend>{key}</exec_depend>')
    assert not problems, '\n'.join(problems)


def test_every_test_import_has_a_dependency():
    keys = package_keys()
    known = set().union(*keys.values())
    problems = []
    for folder in TEST_DIRS:
        for module, path in sorted(imported_modules(folder).items()):
            key = MODULE_KEYS.get(module)
            if key is None:
                problems.append(f'{path} imports {module}: add it to MODULE_KEYS and package.xml')
            elif key != PIP and key not in known:
                problems.append(f'{path} imports {module}: package.xml needs '
                                f'<test_depend>{key}</test_depend>')
    assert not problems, '\n'.join(problems)


def test_pip_modules_are_installed_by_the_robot_install_steps():
    with open(os.path.join(REPO, 'docs', 'robot_install.md')) as f:
        pip_lines = [line for line in f if 'pip install' in line]
    for module in sorted(m for m, key in MODULE_KEYS.items() if key == PIP):
        assert any(module in line for line in pip_lines), (
            f'docs/robot_install.md installs no {module} with pip')
    ofa_lines = [line for line in pip_lines if re.search(r'\bofa(==|\s|$)', line)]
    assert ofa_lines and all('--no-deps' in line for line in ofa_lines), (
        'ofa must be installed with --no-deps, or pip replaces the torch of the board')
