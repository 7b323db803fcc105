"""
The package's FastDDS profile (config/dds/fastdds_profiles.xml) and when to use it.

The profile gives every participant a shared-memory transport whose segment holds whole camera
frames; without it best-effort subscribers lose most large frames (docs/nodes.md, "Frame
delivery"). The nodes, the tools and the launch file use it unless the user chose otherwise:
a profiles file of their own, another RMW than FastDDS, or DYNOFA_DDS_PROFILE=off.
"""

import os

from dynofa_ros.core.common import paths

PROFILE = os.path.join('config', 'dds', 'fastdds_profiles.xml')
PROFILE_VARS = ('FASTDDS_DEFAULT_PROFILES_FILE', 'FASTRTPS_DEFAULT_PROFILES_FILE')
# FastDDS 2.x (Humble, Iron) reads only the FASTRTPS_ name; 3.x prefers FASTDDS_ and warns
# that FASTRTPS_ is deprecated.
OLD_NAME_DISTROS = ('humble', 'iron')


def profile_path():
    """Return the absolute path of the shipped profile (installed share, else the source)."""
    return paths.resolve(PROFILE, 'FastDDS profile')


def environment(environ=None):
    """Return the variables to set so FastDDS loads the package profile ({} to leave as is)."""
    env = os.environ if environ is None else environ
    rmw = env.get('RMW_IMPLEMENTATION', '')
    if env.get('DYNOFA_DDS_PROFILE', '').lower() in ('off', '0', 'false', 'no'):
        return {}
    if rmw and not rmw.startswith('rmw_fastrtps'):
        return {}
    if any(env.get(var) for var in PROFILE_VARS):
        return {}
    distro = env.get('ROS_DISTRO', '').lower()
    name = PROFILE_VARS[1] if distro in OLD_NAME_DISTROS else PROFILE_VARS[0]
    return {name: profile_path()}


def apply(environ=None):
    """Set the profile variables in this process's environment (before rclpy.init)."""
    env = os.environ if environ is None else environ
    added = environment(env)
    env.update(added)
    return added
