"""Stopping child processes: SIGINT, then SIGTERM, then SIGKILL, each only when still needed."""

import signal
import subprocess
import sys
import time

from dynofa_ros.core.system.processes import stop_process, stop_processes

# Each child says 'up' once its signal dispositions are set, then waits to be stopped.
_CHILD = ('import signal, sys, time\n'
          '{setup}\n'
          'print("up", flush=True)\n'
          'time.sleep(120)\n')
POLITE = _CHILD.format(setup='signal.signal(signal.SIGINT, lambda *a: sys.exit(0))')
IGNORES_SIGINT = _CHILD.format(setup='signal.signal(signal.SIGINT, signal.SIG_IGN)')
IGNORES_SIGINT_AND_SIGTERM = _CHILD.format(
    setup='signal.signal(signal.SIGINT, signal.SIG_IGN)\n'
          'signal.signal(signal.SIGTERM, signal.SIG_IGN)')


def start(code):
    proc = subprocess.Popen([sys.executable, '-c', code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == 'up'
    return proc


def test_each_child_is_stopped_by_the_first_signal_it_does_not_ignore():
    procs = [start(c) for c in (POLITE, IGNORES_SIGINT, IGNORES_SIGINT_AND_SIGTERM)]
    began = time.monotonic()
    codes = stop_processes(procs, timeout=1.0)
    assert codes == [0, -signal.SIGTERM, -signal.SIGKILL]
    assert time.monotonic() - began < 10     # two waits of 1 s, then the kill
    for proc in procs:
        proc.stdout.close()


def test_a_polite_child_gets_only_sigint_and_no_waiting():
    proc = start(POLITE)
    began = time.monotonic()
    assert stop_process(proc, timeout=30.0) == 0
    assert time.monotonic() - began < 10     # it did not wait for the 30 s timeout
    proc.stdout.close()


def test_escalation_can_start_at_sigterm():
    proc = start(POLITE)        # would exit 0 on SIGINT: it must not get one
    assert stop_process(proc, timeout=5.0, first=signal.SIGTERM) == -signal.SIGTERM
    proc.stdout.close()


def test_a_child_that_already_exited_keeps_its_exit_code():
    proc = subprocess.Popen([sys.executable, '-c', 'raise SystemExit(3)'])
    proc.wait(30)
    assert stop_process(proc) == 3
