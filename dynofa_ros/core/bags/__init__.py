"""rosbag2 files without ROS: reading, writing, and camera bags made from real photos."""
