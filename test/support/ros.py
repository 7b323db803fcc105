"""Helpers for integration tests: real node processes and an in-test rclpy probe node."""

import os
import signal
import subprocess
import threading
import time

from dynofa_ros.core.system import bringup
from dynofa_ros.core.system.processes import stop_process
import rclpy
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from rclpy.parameter import Parameter, parameter_value_to_python
from rclpy.parameter_client import AsyncParameterClient
from support import REPO


def install_prefix():
    """Return the colcon install prefix the tests run against."""
    return os.environ.get('DYNOFA_INSTALL', os.path.join(REPO, 'install'))


def executable(name):
    """Return the path of an installed executable of lib/dynofa_ros."""
    path = bringup.executable(name, install_prefix())
    if not os.access(path, os.X_OK):
        raise FileNotFoundError(f'{path} is not installed: run scripts/test (it builds first)')
    return path


class NodeProcess:
    """A dynofa_ros executable started as its own OS process, output captured to a file."""

    def __init__(self, exe, args=(), ros_args=(), log_dir=None, env=None):
        self.name = os.path.basename(exe)
        log_dir = log_dir or os.environ.get('DYNOFA_TEST_LOG_DIR', '/tmp')
        self.log_path = os.path.join(log_dir, f'{self.name}-{os.getpid()}-{id(self)}.log')
        self._log = open(self.log_path, 'w')
        cmd = [executable(exe) if not os.path.isabs(exe) else exe, *args]
        if ros_args:
            cmd += ['--ros-args', *ros_args]
        self.proc = subprocess.Popen(
            cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env or os.environ.copy(),
            start_new_session=True)

    def output(self):
        """Return everything the process printed so far."""
        if not self._log.closed:
            self._log.flush()
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGINT, timeout=15.0):
        """Send sig (SIGINT or SIGTERM) and wait; escalate after timeout. Return the exit code."""
        code = stop_process(self.proc, timeout, first=sig)
        self._log.close()
        return code


class RosProbe:
    """An rclpy node inside the test process, spun in a background thread."""

    def __init__(self, name='test_probe'):
        self.context = rclpy.Context()
        rclpy.init(context=self.context)
        self.node = Node(name, context=self.context)
        self.executor = SingleThreadedExecutor(context=self.context)
        self.executor.add_node(self.node)
        self._lock = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._spin, daemon=True)
        self._thread.start()

    def _spin(self):
        while self.context.ok() and not self._closing:
            try:
                self.executor.spin_once(timeout_sec=0.05)
            except Exception:  # noqa: B902 - context shut down mid-spin
                if self.context.ok():
                    raise

    def subscribe(self, msg_type, topic, qos=50):
        """Subscribe and return the list that collects every message received."""
        received = []

        def on_msg(msg):
            with self._lock:
                received.append(msg)
                self._lock.notify_all()

        self.node.create_subscription(msg_type, topic, on_msg, qos)
        return received

    def publisher(self, msg_type, topic, qos=10):
        return self.node.create_publisher(msg_type, topic, qos)

    def wait_for(self, received, predicate=lambda msg: True, timeout=20.0, count=1):
        """Wait until `count` received messages satisfy predicate; return the last of them."""
        def hits():
            return [m for m in received if predicate(m)]

        matched = self.wait_until(lambda: len(hits()) >= count and hits(), timeout, lambda: (
            f'{len(hits())}/{count} matching messages after {timeout:.0f} s '
            f'({len(received)} received)'))
        return matched[count - 1]

    def wait_until(self, condition, timeout=20.0, what='condition not met'):
        """
        Wait until condition() is true, checked at every message received; return its value.

        On timeout raise TimeoutError(what), or what() when it is callable.
        """
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                value = condition()
                if value:
                    return value
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(what() if callable(what) else what)
                self._lock.wait(min(left, 0.1))

    def wait_for_subscribers(self, publisher, count=1, timeout=20.0):
        deadline = time.monotonic() + timeout
        while publisher.get_subscription_count() < count:
            if time.monotonic() > deadline:
                raise TimeoutError(f'no subscriber on {publisher.topic_name}')
            time.sleep(0.05)

    def parameter_client(self, node_name, timeout=20.0):
        client = AsyncParameterClient(self.node, node_name)
        if not client.wait_for_services(timeout_sec=timeout):
            raise TimeoutError(f'parameter services of {node_name} not available')
        return client

    def set_parameters(self, node_name, values, timeout=20.0):
        """Set parameters on another node; return the list of SetParametersResult."""
        client = self.parameter_client(node_name, timeout)
        params = [Parameter(name, value=value) for name, value in values.items()]
        future = client.set_parameters(params)
        return self._wait_future(future, timeout).results

    def get_parameters(self, node_name, names, timeout=20.0):
        client = self.parameter_client(node_name, timeout)
        future = client.get_parameters(list(names))
        values = self._wait_future(future, timeout).values
        return [parameter_value_to_python(value) for value in values]

    def _wait_future(self, future, timeout):
        deadline = time.monotonic() + timeout
        while not future.done():
            if time.monotonic() > deadline:
                raise TimeoutError('service call timed out')
            time.sleep(0.01)
        return future.result()

    def close(self):
        self._closing = True
        self._thread.join(5)
        self.executor.shutdown()
        self.node.destroy_node()
        self.context.try_shutdown()


def status_of(array, name):
    """Return the DiagnosticStatus named name in a DiagnosticArray, or None."""
    return next((s for s in array.status if s.name == name), None)
