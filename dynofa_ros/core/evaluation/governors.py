"""
Linux frequency governors as the simulator runs them (the baselines, modelled as the kernel does).

- performance / powersave: highest / lowest frequency.
- ondemand: every 20 ms, load = busy share at the current frequency; above up_threshold (95%,
  the kernel default with idle micro-accounting) jump to the maximum, else the lowest frequency
  at or above f_min + load x (f_max - f_min) (drivers/cpufreq/cpufreq_ondemand.c).
- schedutil: frequency-invariant utilisation tracked like PELT (32 ms half-life); next frequency
  the lowest at or above 1.25 x f_max x util, at most every 10 ms (rate_limit_us).
  devfreq GPUs have no schedutil; the same utilisation-following rule stands in for it.
"""

import math


class SimGovernor:
    """One governor on one simulated domain."""

    def __init__(self, name, domain):
        self.name = name
        self.domain = domain
        self.period_s = {'ondemand': 0.02, 'schedutil': 0.01}.get(name, 1.0)
        self.busy = 0.0
        self.elapsed = 0.0
        self.util = 0.0
        self.freq = self.initial()

    def initial(self):
        return self.domain.f_min if self.name == 'powersave' else self.domain.f_max

    def tick(self, dt, busy_share, f_khz):
        """Account dt seconds at busy_share; return the frequency to run next (kHz)."""
        d = self.domain
        if self.name == 'schedutil':
            invariant = busy_share * f_khz / d.f_max
            self.util += (invariant - self.util) * (1.0 - math.pow(0.5, dt / 0.032))
        self.busy += busy_share * dt
        self.elapsed += dt
        if self.elapsed + 1e-12 < self.period_s:
            return self.freq
        load = self.busy / self.elapsed
        self.busy = self.elapsed = 0.0
        if self.name == 'ondemand':
            if load > 0.95:
                self.freq = d.f_max
            else:
                self.freq = d.nearest_at_least(d.f_min + load * (d.f_max - d.f_min))
        elif self.name == 'schedutil':
            self.freq = d.nearest_at_least(1.25 * d.f_max * self.util)
        return self.freq
