"""
Simulated hardware: make a fake sysfs tree's CPU frequency slow inference down as a real one would.

On a robot DVFS acts on the silicon. On a workstation driving a fake sysfs tree (tests, the demo),
the frequency the hardware node sets has no physical effect, so the manager's frequency decisions
could not be judged. With emulation on, the perception node stretches each inference by the
frequency-scaling law (core/platforms/scaling_law.py)

    factor = sensitivity * f_ref / f_cur + (1 - sensitivity)

where f_cur is read from the tree's current-frequency file and f_ref is the frequency at which this
machine is taken to run (the domain's maximum by default); `sensitivity` is the share of latency
that scales with 1/f (compute-bound work: close to 1). Never enable it on a robot.

Read failures: a failed read (the writer may be mid-write) keeps the last frequency for at most
max_stale_s and is logged once, with its reason (also in `error`); after that `factor()` raises
EmulationError, so each inference fails loudly rather than being stretched by a stale frequency,
until the file reads again (logged once too).
"""

import os
import time

from dynofa_ros.core.common.errors import ConfigError, ConfigFileNotFound
from dynofa_ros.core.platforms.scaling_law import check_sensitivity, latency_factor


class EmulationError(RuntimeError):
    """The current frequency has been unreadable for longer than max_stale_s."""


class DvfsEmulation:
    """Read a cpufreq/devfreq current-frequency file and turn it into a latency factor."""

    def __init__(self, cur_freq_path, ref_khz=0, sensitivity=0.9, refresh_s=0.05, clock=None,
                 max_stale_s=1.0, log=None):
        self.sensitivity = check_sensitivity(sensitivity)
        self.path = cur_freq_path
        self.refresh_s = refresh_s
        self.max_stale_s = max_stale_s
        self.clock = clock or time.monotonic
        self.log = log or (lambda text: None)
        self.ref_khz = ref_khz or self._read_setting(self._max_path())
        if self.ref_khz <= 0:
            raise ConfigError(f'reference frequency {self.ref_khz} kHz must be positive')
        self._cur = self._read_setting(self.path)
        self._when = self.clock()
        self._failing_since = None
        self.error = ''

    def _max_path(self):
        folder = os.path.dirname(self.path)
        for name in ('cpuinfo_max_freq', 'scaling_max_freq', 'max_freq'):
            candidate = os.path.join(folder, name)
            if os.path.exists(candidate):
                return candidate
        raise ConfigError(f'no maximum frequency file next to {self.path}; give ref_khz')

    @classmethod
    def _read_setting(cls, path):
        """Read a frequency at start: an unreadable file is a configuration error."""
        try:
            return cls._read(path)
        except FileNotFoundError:
            raise ConfigFileNotFound(f'DVFS emulation: {path} not found') from None
        except (OSError, ValueError, IndexError) as exc:
            raise ConfigError(f'DVFS emulation: cannot read a frequency from {path}: {exc}') \
                from None

    @staticmethod
    def _read(path):
        with open(path) as f:
            return int(f.read().split()[0])

    def current_khz(self):
        """Return the current frequency, re-read at most every refresh_s (see read failures)."""
        now = self.clock()
        if now - self._when >= self.refresh_s:
            self._when = now
            self._refresh(now)
        if self._failing_since is not None and now - self._failing_since >= self.max_stale_s:
            raise EmulationError(
                f'DVFS emulation: {self.error}; unreadable for {now - self._failing_since:.1f} s, '
                f'the last frequency ({self._cur} kHz) is stale')
        return self._cur

    def _refresh(self, now):
        try:
            value = self._read(self.path)
            if value <= 0:
                raise ValueError(f'non-positive frequency {value}')
        except (OSError, ValueError, IndexError) as exc:
            self.error = f'{self.path}: {exc}'
            if self._failing_since is None:
                self._failing_since = now
                self.log(f'DVFS emulation cannot read the frequency ({self.error}); keeping '
                         f'{self._cur} kHz for at most {self.max_stale_s:g} s')
            return
        if self._failing_since is not None:
            self.log(f'DVFS emulation reads {self.path} again: {value} kHz')
        self._cur, self.error, self._failing_since = value, '', None

    def factor(self):
        """Return how much longer inference takes at the current frequency than at f_ref."""
        return latency_factor(self.current_khz(), self.ref_khz, self.sensitivity)
