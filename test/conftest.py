"""Shared pytest fixtures: an isolated ROS domain per test session and process helpers."""

import os
import random

import pytest


def pytest_configure(config):
    # Keep DDS discovery on this machine and away from other test runs on it.
    os.environ.setdefault('ROS_DOMAIN_ID', str(random.SystemRandom().randint(1, 100)))
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ.setdefault('PYTHONUNBUFFERED', '1')


@pytest.fixture
def ros_probe():
    """Provide an rclpy probe node living in the test process."""
    from rostest_utils import RosProbe
    probe = RosProbe(f'test_probe_{os.getpid()}')
    yield probe
    probe.close()


@pytest.fixture
def node_processes(tmp_path):
    """Start installed executables as processes; all are stopped at the end of the test."""
    from rostest_utils import NodeProcess
    started = []

    def start(exe, *args, ros_args=(), env=None):
        proc = NodeProcess(exe, args, ros_args, log_dir=str(tmp_path), env=env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.alive():
            proc.stop()
