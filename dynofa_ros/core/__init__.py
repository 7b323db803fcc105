"""ROS-free core of dynofa_ros: nothing under this package imports rclpy."""
