"""
Start the system's nodes as separate processes, like `ros2 launch` on machines without it.

    run_system                           # hardware, perception, manager; config/system.yaml
    run_system checkpoint:=/data/ofa_w12.pth namespace:=robot1 --duration 60
    run_system --params my.yaml --node perception --node manager
    run_system --app cam_b=camera_b/image_raw   # a second camera, managed too

Positional NAME:=VALUE arguments are the launch file's arguments (see dynofa.launch.py), with the
same meaning, so `run_system X:=Y` starts what `ros2 launch dynofa_ros dynofa.launch.py X:=Y` does
(namespace:=robot1 is made absolute, /robot1, as ros2 launch does). A parameter file section that
names a started node but would not apply to it under the namespace (`perception:` under
/robot1) is refused before anything starts; `/**/perception:` applies in any namespace.

Each node is the executable installed in lib/dynofa_ros, started with the same parameter file the
launch file uses. Ctrl-C or SIGTERM is forwarded to every node (SIGINT, as ros2 launch does;
then SIGTERM and SIGKILL for a node that does not stop in time). If a node exits on its own, the
others are stopped and the runner exits non-zero.
"""

import argparse
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time

from dynofa_ros.core.system import bringup
from dynofa_ros.core.system.processes import stop_processes
import yaml

_PR_SET_PDEATHSIG = 1


def _die_with_parent():
    """Ask the kernel to send SIGTERM to this child when the runner dies (Linux only)."""
    try:
        ctypes.CDLL('libc.so.6', use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass


def node_command(prefix, spec, params_files, namespace='', log_level='', overrides=()):
    """Return the argv that starts one node of the system."""
    exe = bringup.executable(spec.executable, prefix)
    if not os.access(exe, os.X_OK):
        raise FileNotFoundError(f'{exe} is not installed (colcon build the package first)')
    cmd = [exe, '--ros-args', '-r', f'__node:={spec.name}']
    if namespace:
        cmd += ['-r', f'__ns:={namespace}']
    for path in params_files:
        cmd += ['--params-file', path]
    for param in overrides:
        cmd += ['-p', param]
    if log_level:
        cmd += ['--log-level', log_level]
    return cmd


class Runner:
    """Supervise a set of node processes; stop them all when one dies or on request."""

    def __init__(self, commands, out=sys.stdout, stop_timeout=10.0):
        self.commands = commands  # {name: argv}
        self.out = out
        self.stop_timeout = stop_timeout
        self.procs = {}
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def start(self):
        # All forks first: preexec_fn is only safe before the output threads exist.
        for name, cmd in self.commands.items():
            self.procs[name] = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        for name, proc in self.procs.items():
            threading.Thread(target=self._pump, args=(name, proc), daemon=True).start()

    def _pump(self, name, proc):
        for line in iter(proc.stdout.readline, b''):
            with self._lock:
                self.out.write(f'[{name}] {line.decode(errors="replace")}')
                self.out.flush()

    def request_stop(self, *_):
        self._stop.set()

    def wait(self, duration=0.0):
        """Run until stopped, a node exits, or duration passes; return the exit code."""
        deadline = time.monotonic() + duration if duration > 0 else None
        failed = None
        while not self._stop.is_set():
            for name, proc in self.procs.items():
                if proc.poll() is not None:
                    failed = (name, proc.returncode)
                    break
            if failed or (deadline and time.monotonic() > deadline):
                break
            self._stop.wait(0.2)
        codes = self.shutdown()
        if failed:
            self._say(f'node {failed[0]} exited on its own (code {failed[1]}); stopped the rest')
            return failed[1] or 1
        bad = {n: c for n, c in codes.items() if c not in (0, -signal.SIGINT)}
        if bad:
            self._say(f'nodes did not stop cleanly: {bad}')
            return 1
        return 0

    def shutdown(self):
        """Send SIGINT, then SIGTERM, then SIGKILL to nodes still running; return exit codes."""
        codes = stop_processes(self.procs.values(), self.stop_timeout)
        return dict(zip(self.procs, codes))

    def _say(self, text):
        with self._lock:
            self.out.write(f'[run_system] {text}\n')
            self.out.flush()


def _ros_value(value):
    """Format a Python value for a `-p name:=value` ROS argument (YAML, as rcl parses it)."""
    return yaml.safe_dump(value, default_flow_style=True).strip().removesuffix('...').strip()


def build_parser():
    parser = argparse.ArgumentParser(
        prog='run_system', description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('launch_args', nargs='*', metavar='NAME:=VALUE',
                        help='launch arguments: ' + ', '.join(
                            a.name for a in bringup.LAUNCH_ARGUMENTS))
    parser.add_argument('--params', action='append', default=[],
                        help='extra parameter YAML file, applied after params_file (repeatable)')
    parser.add_argument('--node', action='append', default=[],
                        help='NAME or NAME=EXECUTABLE (repeatable; default: all three nodes)')
    parser.add_argument('--app', action='append', default=[], metavar='APP_ID[=CAMERA_TOPIC]',
                        help='one more camera application: a perception_<APP_ID> node like the '
                             'perception node, on CAMERA_TOPIC (default APP_ID/image_raw), '
                             'managed by the manager with the same settings (repeatable)')
    parser.add_argument('--set', action='append', default=[], metavar='NODE:PARAM:=VALUE',
                        help='override one parameter of one node (repeatable)')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='stop every node after this many seconds (0: run until Ctrl-C)')
    parser.add_argument('--prefix', default='', help='install prefix (default: found on path)')
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        values = {a.name: a.default for a in bringup.LAUNCH_ARGUMENTS}
        for item in args.launch_args:
            name, sep, value = item.partition(':=')
            if not sep:
                raise ValueError(f'{item!r}: launch arguments are NAME:=VALUE')
            values[name] = value
        specs = [bringup.parse_node_spec(t) for t in args.node] or list(bringup.SYSTEM_NODES)
        prefix = args.prefix or bringup.install_prefix()
        params = [os.path.abspath(values.pop('params_file') or
                                  bringup.default_params_file(prefix))]
        params += [os.path.abspath(p) for p in args.params]
        for path in params:
            if not os.path.isfile(path):
                raise FileNotFoundError(f'parameter file {path} not found')
        namespace = bringup.absolute_namespace(values.pop('namespace'))
        log_level = values.pop('log_level')
        problems = [problem for path in params for problem in bringup.params_file_problems(
            path, namespace, {s.name for s in specs})]
        if problems:
            raise ValueError('parameter sections that the nodes would drop:\n  ' +
                             '\n  '.join(problems))
        typed = bringup.node_overrides(values, params, namespace)
        for item in args.app:
            app_id, _, topic = item.partition('=')
            specs.append(bringup.add_app(typed, app_id.strip(), topic.strip(), params,
                                         namespace))
        overrides = {node: [f'{k}:={_ros_value(v)}' for k, v in params_.items()]
                     for node, params_ in typed.items()}
        for item in args.set:
            node, sep, param = item.partition(':')
            if not sep or ':=' not in param:
                raise ValueError(f'--set {item!r}: expected NODE:PARAM:=VALUE')
            overrides.setdefault(node, []).append(param)
        unknown = {i.partition(':')[0] for i in args.set} - {s.name for s in specs}
        if unknown:
            raise ValueError(f'--set names nodes that are not started: {sorted(unknown)}')
        commands = {s.name: node_command(prefix, s, params, namespace, log_level,
                                         overrides.get(s.name, ())) for s in specs}
    except (ValueError, FileNotFoundError, LookupError, yaml.YAMLError) as exc:
        print(f'run_system: {exc}', file=sys.stderr)
        return 2
    runner = Runner(commands)
    signal.signal(signal.SIGINT, runner.request_stop)
    signal.signal(signal.SIGTERM, runner.request_stop)
    runner.start()
    return runner.wait(args.duration)


if __name__ == '__main__':
    sys.exit(main())
