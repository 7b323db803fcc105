"""Thin rclpy nodes translating messages and parameters to and from the core."""
