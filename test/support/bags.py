"""Helpers for bag tests: a small camera bag and its images read back."""

from dynofa_ros.core.bags import camera_bags, rosbag


def small_camera_bag(path, frames=12):
    """Write a 160x120 camera bag at 10 Hz to path and return the path."""
    camera_bags.write_camera_bag(path, frames=frames, rate_hz=10.0, width=160, height=120)
    return path


def images(path, topic='/camera/image_raw'):
    """Return the Image messages of one topic of a bag, in time order."""
    return [m for _, _, _, m in rosbag.read_messages(path, [topic])]
