"""Helpers the tests share: repository path, engine fixtures, fake hardware, ROS processes."""

import os

# The repository root (this file is test/support/__init__.py).
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
