"""
Launch only the hardware node (DVFS writer + telemetry): the privileged half of the system.

    sudo -E ros2 launch dynofa_ros hardware.launch.py    # as root
    ros2 launch dynofa_ros hardware.launch.py            # as a member of the dynofa group

The dynofa group needs config/udev/99-dynofa-dvfs.rules installed; a systemd unit is in
config/systemd/dynofa-hardware.service (docs/robot_install.md, "Permissions"). Start
perception and manager unprivileged with application.launch.py. Both take the same launch
arguments as dynofa.launch.py (dynofa_ros.core.system.bringup), so the two halves read the same
parameter file and platform profile.
"""

from dynofa_ros import launch_support

GROUP = 'hardware'


def generate_launch_description():
    return launch_support.launch_description(GROUP)
