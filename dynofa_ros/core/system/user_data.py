"""
Where tools write what they produce: never into a shipped or tracked file of the package.

A profiled or calibrated catalog made from a shipped one goes to the user data directory,
$ROS_HOME/dynofa_ros (~/.ros/dynofa_ros when ROS_HOME is unset), and is given to the nodes by
their catalog parameter (catalog:= at launch). The package's config/ folder, in the install
space (share/dynofa_ros/config, which the next build overwrites) or in a source checkout (tracked
files), is read-only to the tools.
"""

import os
import re

from dynofa_ros.core.system.bringup import PACKAGE

_NAME = re.compile(r'<name>\s*' + PACKAGE + r'\s*</name>')


def data_dir():
    """Return the user data directory of the package (not created here)."""
    ros_home = os.environ.get('ROS_HOME') or os.path.join(os.path.expanduser('~'), '.ros')
    return os.path.join(os.path.expanduser(ros_home), PACKAGE)


def _package_root(path):
    """Return the nearest folder above path whose package.xml is this package's, or None."""
    folder = os.path.dirname(path)
    while True:
        manifest = os.path.join(folder, 'package.xml')
        if os.path.isfile(manifest):
            try:
                with open(manifest) as f:
                    if _NAME.search(f.read()):
                        return folder
            except OSError:
                pass
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def is_shipped(path):
    """Return True for a file in the package's config/ folder (installed or in a checkout)."""
    real = os.path.realpath(os.path.abspath(os.path.expanduser(path)))
    root = _package_root(real)
    return root is not None and os.path.relpath(real, root).split(os.sep)[0] == 'config'


def writable_output(path, what):
    """Return path, absolute, or raise ValueError when it is a shipped file."""
    path = os.path.abspath(os.path.expanduser(path))
    if is_shipped(path):
        raise ValueError(f'will not write {what} {path}: it is a file shipped with {PACKAGE} '
                         f'(a tracked source file, or one the next build overwrites); write '
                         f'to a new file (--output), by default in {data_dir()}')
    return path


def new_copy_of(shipped_path):
    """
    Return where a changed copy of a shipped file goes: the data directory, same file name.

    Raise ValueError when it exists (an earlier run): updating it is asked for by naming it.
    """
    out = os.path.join(data_dir(), os.path.basename(shipped_path))
    if os.path.exists(out):
        raise ValueError(f'{out} exists (from an earlier run): update it with --catalog {out}, '
                         'or write a new file with --output')
    return out
