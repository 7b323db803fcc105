"""Thin rclpy nodes translating messages and parameters to and from the core."""

from dynofa_ros.core.system import dds_profile

dds_profile.apply()     # before any participant exists: large camera frames need it
