"""
Shared pytest set-up: markers by folder, an isolated ROS domain, process fixtures.

The folder a test lives in is its kind, and the marker follows from it:
unit/ (no ROS processes, no build needed), integration/ (real node and tool processes),
system/ (the whole system on simulated hardware), lint/. `pytest -m unit` runs the first alone.
"""

import os
import random
import sys

import pytest

TEST_DIR = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(TEST_DIR)
KINDS = {'unit': 'unit', 'integration': 'integration', 'system': 'system', 'lint': 'linter'}
# Fixtures that start ROS processes or nodes: a unit test that asks for one is in the wrong folder.
ROS_FIXTURES = {'ros_probe', 'node_processes'}

# Without a colcon build, the hand-written package is imported from the source tree; with one,
# the install space (on PYTHONPATH, with the generated messages) comes first.
if REPO not in sys.path:
    sys.path.append(REPO)


def pytest_configure(config):
    # Keep DDS discovery on this machine and away from other test runs on it.
    os.environ.setdefault('ROS_DOMAIN_ID', str(random.SystemRandom().randint(1, 100)))
    os.environ['ROS_AUTOMATIC_DISCOVERY_RANGE'] = 'LOCALHOST'
    os.environ.setdefault('PYTHONUNBUFFERED', '1')
    # Newer generated message classes skip their field type checks unless asked; a wrong type
    # then aborts the process at publish time. Every test (and every process it starts) checks.
    os.environ['ROS_PYTHON_CHECK_FIELDS'] = '1'


def pytest_ignore_collect(collection_path, config):
    """Do not even import a folder whose marker -m deselects (unit tests need no build)."""
    kind = KINDS.get(os.path.relpath(str(collection_path), TEST_DIR).split(os.sep)[0])
    expr = config.getoption('markexpr')
    if kind is None or not expr:
        return None
    from _pytest.mark.expression import Expression
    return not Expression.compile(expr).evaluate(lambda name, **_: name == kind) or None


def pytest_collection_modifyitems(config, items):
    """Mark every test by the folder it lives in; refuse ROS fixtures in unit tests."""
    for item in items:
        rel = os.path.relpath(str(item.path), TEST_DIR).split(os.sep)
        kind = KINDS.get(rel[0])
        if kind is None:
            raise pytest.UsageError(f'{item.nodeid}: tests live in one of {sorted(KINDS)}/')
        item.add_marker(kind)
        if kind == 'unit' and ROS_FIXTURES & set(item.fixturenames):
            raise pytest.UsageError(f'{item.nodeid}: a unit test starts no ROS node; '
                                    'move it to integration/')


@pytest.fixture
def ros_probe():
    """Provide an rclpy probe node living in the test process."""
    from support.ros import RosProbe
    probe = RosProbe(f'test_probe_{os.getpid()}')
    yield probe
    probe.close()


@pytest.fixture
def node_processes(tmp_path):
    """Start installed executables as processes; all are stopped at the end of the test."""
    from support.ros import NodeProcess
    started = []

    def start(exe, *args, ros_args=(), env=None):
        proc = NodeProcess(exe, args, ros_args, log_dir=str(tmp_path), env=env)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.alive():
            proc.stop()
