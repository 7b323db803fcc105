"""The process runner: starts commands, forwards stop requests, fails when a node dies."""

import io
import signal
import sys
import threading
import time

from dynofa_ros.core.system import bringup
from dynofa_ros.tools import run_system
import pytest

# A child that exits 0 on SIGINT (as an rclpy node does) and says so.
POLITE = ('import signal, sys, time\n'
          'signal.signal(signal.SIGINT, lambda *a: (print("got SIGINT", flush=True), '
          'sys.exit(0)))\n'
          'print("up", flush=True)\n'
          'time.sleep(120)\n')
# A child that ignores SIGINT, so the runner must escalate.
STUBBORN = ('import signal, time\n'
            'signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
            'print("up", flush=True)\n'
            'time.sleep(120)\n')


def _runner(children, stop_timeout=5.0):
    out = io.StringIO()
    runner = run_system.Runner({n: [sys.executable, '-c', c] for n, c in children.items()},
                               out=out, stop_timeout=stop_timeout)
    runner.start()
    deadline = time.monotonic() + 20
    while out.getvalue().count('up') < len(children) and time.monotonic() < deadline:
        time.sleep(0.05)
    return runner, out


def test_stop_request_is_forwarded_as_sigint_and_exit_is_clean():
    runner, out = _runner({'a': POLITE, 'b': POLITE})
    threading.Timer(0.5, runner.request_stop).start()
    assert runner.wait() == 0
    assert out.getvalue().count('got SIGINT') == 2
    assert '[a] up' in out.getvalue() and '[b] up' in out.getvalue()


def test_a_node_that_ignores_sigint_is_terminated_and_reported():
    runner, out = _runner({'a': POLITE, 'stubborn': STUBBORN}, stop_timeout=1.0)
    threading.Timer(0.3, runner.request_stop).start()
    assert runner.wait() == 1
    assert runner.procs['stubborn'].returncode == -signal.SIGTERM
    assert 'did not stop cleanly' in out.getvalue()


def test_a_node_dying_stops_the_others_and_fails_the_run():
    runner, out = _runner({'a': POLITE, 'crash': 'print("up", flush=True); raise SystemExit(3)'})
    assert runner.wait() == 3
    assert runner.procs['a'].returncode == 0
    assert 'node crash exited on its own (code 3)' in out.getvalue()


def test_duration_stops_the_run():
    runner, _ = _runner({'a': POLITE})
    start = time.monotonic()
    assert runner.wait(duration=1.0) == 0
    assert time.monotonic() - start < 10


def test_node_command_uses_installed_executable_and_parameter_file(tmp_path):
    lib = tmp_path / 'lib' / 'dynofa_ros'
    lib.mkdir(parents=True)
    exe = lib / 'manager_node'
    exe.write_text('#!/bin/sh\n')
    exe.chmod(0o755)
    cmd = run_system.node_command(str(tmp_path), bringup.parse_node_spec('manager'),
                                  ['/p/system.yaml'], '/robot', 'debug', ['policy:=dynofa'])
    assert cmd == [str(exe), '--ros-args', '-r', '__node:=manager', '-r', '__ns:=/robot',
                   '--params-file', '/p/system.yaml', '-p', 'policy:=dynofa',
                   '--log-level', 'debug']
    with pytest.raises(FileNotFoundError, match='perception_node is not installed'):
        run_system.node_command(str(tmp_path), bringup.parse_node_spec('perception'), [])


@pytest.mark.parametrize('text, error', [
    ('camera', 'unknown node'),
    ('x=not_a_node', 'unknown executable'),
    ('bad-name=perception_node', 'not a valid ROS node name'),
])
def test_bad_node_specs_are_refused(text, error):
    with pytest.raises(ValueError, match=error):
        bringup.parse_node_spec(text)


def test_launch_arguments_map_to_node_parameters():
    overrides = bringup.node_overrides({'checkpoint': '/w.pth', 'catalog': '', 'dry_run': 'True',
                                        'platform_profile': 'config/platforms/x.yaml'})
    assert overrides == {
        'perception': {'checkpoint': '/w.pth'},
        'hardware': {'dry_run': True, 'platform_profile': 'config/platforms/x.yaml'},
        'manager': {'platform_profile': 'config/platforms/x.yaml'},
    }
    with pytest.raises(ValueError, match='unknown launch arguments'):
        bringup.node_overrides({'chekpoint': 'x'})


def test_every_launch_argument_is_described_and_targets_a_system_node():
    names = {s.name for s in bringup.SYSTEM_NODES}
    for arg in bringup.LAUNCH_ARGUMENTS:
        assert len(arg.description) > 20, arg.name
        assert all(node in names for node, _ in arg.sets), arg.name
