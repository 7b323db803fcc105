"""The core imports without ROS: every module under dynofa_ros/core, with rclpy unimportable."""

import os
import pkgutil
import subprocess
import sys

from support import REPO

# Run in a fresh interpreter: an import hook refuses rclpy and everything below it, then each
# core module is imported; the first one that pulls rclpy in (directly or not) fails the import.
CHILD = """
import importlib, importlib.abc, sys
class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == 'rclpy' or name.startswith('rclpy.'):
            raise ImportError(f'rclpy is blocked: the core must not import it ({name})')
        return None
sys.meta_path.insert(0, Refuse())
failed = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as exc:
        failed.append(f'{name}: {exc}')
print('\\n'.join(failed))
sys.exit(1 if failed else 0)
"""


def core_modules():
    """Return the dotted names of every module and package under dynofa_ros/core."""
    root = os.path.join(REPO, 'dynofa_ros', 'core')
    names = ['dynofa_ros.core']
    for info in pkgutil.walk_packages([root], 'dynofa_ros.core.'):
        names.append(info.name)
    return names


def test_core_modules_are_found():
    names = core_modules()
    assert 'dynofa_ros.core.perception.engine' in names and len(names) > 40


def test_no_core_module_imports_rclpy_directly_or_indirectly():
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, '-c', CHILD, *core_modules()], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_check_catches_an_indirect_import(tmp_path):
    # A module that reaches rclpy through another module must be reported, not just a direct one.
    (tmp_path / 'middle.py').write_text('import rclpy.node\n')
    (tmp_path / 'leaf.py').write_text('import middle\n')
    env = dict(os.environ,
               PYTHONPATH=str(tmp_path) + os.pathsep + os.environ.get('PYTHONPATH', ''))
    proc = subprocess.run([sys.executable, '-c', CHILD, 'leaf'], env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 1 and 'leaf: rclpy is blocked' in proc.stdout
