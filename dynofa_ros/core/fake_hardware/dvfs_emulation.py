"""
Simulated hardware: make a fake sysfs tree's CPU frequency slow inference down as a real one would.

On a robot DVFS acts on the silicon. On a workstation driving a fake sysfs tree (tests, the demo),
the frequency the hardware node sets has no physical effect, so the manager's frequency decisions
could not be judged. With emulation on, the perception node stretches each inference by

    factor = sensitivity * f_ref / f_cur + (1 - sensitivity)

where f_cur is read from the tree's current-frequency file and f_ref is the frequency at which this
machine is taken to run (the domain's maximum by default); `sensitivity` is the share of latency
that scales with 1/f (compute-bound work: close to 1). Never enable it on a robot.
"""

import os
import time


class DvfsEmulation:
    """Read a cpufreq/devfreq current-frequency file and turn it into a latency factor."""

    def __init__(self, cur_freq_path, ref_khz=0, sensitivity=0.9, refresh_s=0.05, clock=None):
        if not 0.0 <= sensitivity <= 1.0:
            raise ValueError(f'sensitivity {sensitivity} outside [0, 1]')
        self.path = cur_freq_path
        self.sensitivity = sensitivity
        self.refresh_s = refresh_s
        self.clock = clock or time.monotonic
        self.ref_khz = ref_khz or self._read(self._max_path())
        if self.ref_khz <= 0:
            raise ValueError(f'reference frequency {self.ref_khz} kHz must be positive')
        self._cur = self._read(self.path)
        self._when = self.clock()
        self.error = ''

    def _max_path(self):
        folder = os.path.dirname(self.path)
        for name in ('cpuinfo_max_freq', 'scaling_max_freq', 'max_freq'):
            candidate = os.path.join(folder, name)
            if os.path.exists(candidate):
                return candidate
        raise ValueError(f'no maximum frequency file next to {self.path}; give ref_khz')

    @staticmethod
    def _read(path):
        with open(path) as f:
            return int(f.read().split()[0])

    def current_khz(self):
        """Return the current frequency, re-read at most every refresh_s; the last one on error."""
        now = self.clock()
        if now - self._when >= self.refresh_s:
            self._when = now
            try:
                value = self._read(self.path)
                if value <= 0:
                    raise ValueError(f'non-positive frequency {value}')
                self._cur, self.error = value, ''
            except (OSError, ValueError, IndexError) as exc:
                self.error = f'{self.path}: {exc}'
        return self._cur

    def factor(self):
        """Return how much longer inference takes at the current frequency than at f_ref."""
        cur = self.current_khz()
        return self.sensitivity * self.ref_khz / cur + (1.0 - self.sensitivity)
