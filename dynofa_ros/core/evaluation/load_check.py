"""
Did a measurement run on an idle machine? CPU time taken by other processes while it ran.

The demo profiles the catalog, then derives its latency targets from the profile. Profiled under
load (others' processes on the same cores), latencies come out several times too high and the
targets so relaxed that the mission is trivial. LoadMeter measures, over the profiling window,
the CPU time every process used (psutil's system-wide counters) minus what the measured child
processes used (getrusage of reaped children): what is left is the load others put on the machine.
"""

from dataclasses import dataclass
import os
import resource
import time

import psutil

# Share of the machine (all cores) others may use before a profile counts as taken under load.
MAX_OTHER_SHARE = 0.25


def _busy_s():
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, 'iowait', 0.0)


def _children_s():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Load:
    """CPU use by processes other than the measured children, as a share of all cores (0-1)."""

    other_share: float
    wall_s: float
    cpus: int
    children_s: float = 0.0   # CPU time of the measured (reaped) child processes

    def verdict(self, limit=MAX_OTHER_SHARE):
        """Return '' when the machine was idle enough, else a sentence saying why not."""
        if self.other_share <= limit:
            return ''
        return (f'other processes used {100 * self.other_share:.0f}% of the {self.cpus} CPU(s) '
                f'while profiling ({self.wall_s:.0f} s; limit {100 * limit:.0f}%): the profiled '
                'latencies are too high and the mission targets derived from them too relaxed')


class LoadMeter:
    """Measure others' CPU load between start() and stop() around child processes."""

    def __init__(self, cpus=None):
        self.cpus = cpus or os.cpu_count() or 1
        self._start = None

    def start(self):
        self._start = (time.monotonic(), _busy_s(), _children_s())
        return self

    def stop(self):
        """Return the Load since start(); call it after the measured children were waited for."""
        t0, busy0, children0 = self._start
        wall = max(time.monotonic() - t0, 1e-6)
        children = _children_s() - children0
        other = max((_busy_s() - busy0) - children, 0.0)
        return Load(min(other / (wall * self.cpus), 1.0), wall, self.cpus, children)
