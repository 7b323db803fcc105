"""Resolve file parameters: absolute, relative to the working directory, or to the package."""

import os

from dynofa_ros.core.common.errors import ConfigFileNotFound
from dynofa_ros.core.system.bringup import PACKAGE

# The repository root when running from a source checkout (this file is core/common/paths.py).
SOURCE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def package_share():
    """Return share/dynofa_ros of the installed package, or the source tree when not installed."""
    try:
        from ament_index_python.packages import get_package_share_directory
        return get_package_share_directory(PACKAGE)
    except (ImportError, LookupError, ValueError, OSError):  # OSError: AMENT_PREFIX_PATH unset
        return SOURCE_ROOT


def resolve(path, kind='file'):
    """
    Return an existing path for a file parameter, or raise ConfigFileNotFound naming the tries.

    Absolute paths are used as given; a relative path is looked up in the working directory and
    then in the package's share directory (so 'config/catalogs/x.yaml' works installed or not).
    """
    if not path:
        raise ConfigFileNotFound(f'no {kind} path given')
    path = os.path.expanduser(path)
    if os.path.isabs(path):
        tried = [path]
    else:
        tried = [os.path.abspath(path), os.path.join(package_share(), path)]
    for candidate in tried:
        if os.path.exists(candidate):
            return candidate
    raise ConfigFileNotFound(f'{kind} not found: tried ' + ', '.join(tried))
