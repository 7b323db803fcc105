"""
Stopping child processes politely, then firmly: SIGINT, wait, SIGTERM, wait, SIGKILL.

SIGINT is what Ctrl-C and `ros2 launch` send and what an rclpy node exits cleanly on; SIGTERM is
for one that ignores it; SIGKILL for one that ignores both. Used by run_system, the simulated
system harness and the tests' node processes.
"""

import signal
import subprocess
import time

ESCALATION = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)


def stop_processes(procs, timeout=10.0, first=signal.SIGINT):
    """
    Stop subprocess.Popen objects together; return their exit codes in the same order.

    Each step of ESCALATION from `first` on is sent to those still running, which then get
    `timeout` seconds to exit before the next step. Processes that already exited get nothing.
    """
    procs = list(procs)
    for sig in ESCALATION[ESCALATION.index(first):]:
        running = [p for p in procs if p.poll() is None]
        if not running:
            break
        for proc in running:
            proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        for proc in running:
            try:
                proc.wait(max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                pass    # the next step sends it a firmer signal
    return [p.wait() for p in procs]


def stop_process(proc, timeout=10.0, first=signal.SIGINT):
    """Stop one subprocess.Popen as stop_processes does; return its exit code."""
    return stop_processes([proc], timeout, first)[0]
