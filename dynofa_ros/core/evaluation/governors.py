"""
Linux frequency governors as the simulator runs them (the baselines, modelled as the kernel does).

- performance / powersave: highest / lowest frequency.
- ondemand: every 20 ms, load = busy share at the current frequency; above up_threshold (95%,
  the kernel default with idle micro-accounting) jump to the maximum, else the lowest frequency
  at or above f_min + load x (f_max - f_min) (drivers/cpufreq/cpufreq_ondemand.c).
- schedutil: frequency-invariant utilisation tracked like PELT (32 ms half-life); next frequency
  the lowest at or above 1.25 x f_max x util, at most every 10 ms (rate_limit_us).
- nvhost_podgov: L4T's devfreq governor for the Xavier GPU, as read in its source
  (drivers/devfreq/governor_pod_scaling.c, L4T 32/35; nvgpu scale.c polls every 25 ms). Every
  25 ms, with busy cycles f x load smoothed 10:1: no change within 50 ms of the last one; a
  window over 90 % busy steps up by f_max / 3, undamped; otherwise the step is
  0.8 x f x (smoothed load - 70 %) / 70 % (at most f_max / 3), mixed 7:3 with a 10:1 average of
  the requests, then rounded up to the table. Baselines named schedutil or ondemand run it on
  a devfreq domain whose profile names it as default_governor (Domain.baseline_governor).
- simple_ondemand: Linux devfreq's generic governor (drivers/devfreq/
  governor_simpleondemand.c), run by those baselines on a devfreq domain whose profile names
  no default governor. Every polling period (driver-set; 50 ms assumed): load over the up
  threshold (90 %) -> the maximum; over 90 - 5 (the down differential) -> keep; else
  f x load / (90 - 5 / 2) %, rounded up to the table.
"""

import math

PODGOV = 'nvhost_podgov'
SIMPLE = 'simple_ondemand'
DFSO_UP = 0.90          # DFSO_UPTHRESHOLD 90
DFSO_DOWN = 0.05        # DFSO_DOWNDIFFERENCTIAL 5
POD_LOAD_TARGET = 0.7   # load_target 700 per mille
POD_LOAD_MAX = 0.9      # load_max 900 per mille
POD_BIAS = 0.8          # bias 80 %
POD_SMOOTH = 10         # smooth: 10:1 averages
POD_DAMP = 0.7          # damp 7 of 10
POD_BLOCK_S = 0.05      # block_window 50 ms


class SimGovernor:
    """One governor on one simulated domain, within the floor its power mode leaves it."""

    def __init__(self, name, domain, floor_khz=0.0):
        self.name = name
        self.domain = domain
        self.floor = domain.nearest_at_least(floor_khz) if floor_khz else domain.f_min
        self.period_s = {'ondemand': 0.02, 'schedutil': 0.01, PODGOV: 0.025,
                         SIMPLE: 0.05}.get(name, 1.0)
        self.busy = 0.0
        self.elapsed = 0.0
        self.util = 0.0
        self.freq = self.initial()
        self.pod = {'cycles': None, 'request': None, 'since_change': math.inf}

    def initial(self):
        return self.floor if self.name == 'powersave' else self.domain.f_max

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
        elif self.name == PODGOV:
            self._podgov(load, f_khz)
        elif self.name == SIMPLE:
            if load > DFSO_UP:
                self.freq = d.f_max
            elif load > DFSO_UP - DFSO_DOWN:
                self.freq = f_khz
            else:
                self.freq = d.nearest_at_least(f_khz * load / (DFSO_UP - DFSO_DOWN / 2))
        self.freq = max(self.freq, self.floor)      # scaling_min_freq bounds every governor
        return self.freq

    def _podgov(self, load, f_khz):
        d, pod = self.domain, self.pod
        pod['since_change'] += self.period_s
        cycles = f_khz * load
        pod['cycles'] = cycles if pod['cycles'] is None else (
            POD_SMOOTH * pod['cycles'] + cycles) / (POD_SMOOTH + 1)
        if pod['since_change'] + 1e-9 < POD_BLOCK_S:
            return
        damp = True
        if load > POD_LOAD_MAX:
            boost = d.f_max / 3.0
            damp = False
        else:
            smoothed = pod['cycles'] / f_khz
            boost = min(POD_BIAS * f_khz * (smoothed - POD_LOAD_TARGET) / POD_LOAD_TARGET,
                        d.f_max / 3.0)
        request = f_khz + boost
        pod['request'] = request if pod['request'] is None else (
            POD_SMOOTH * pod['request'] + request) / (POD_SMOOTH + 1)
        if damp:
            request = POD_DAMP * request + (1.0 - POD_DAMP) * pod['request']
        new = d.nearest_at_least(min(max(request, d.f_min), d.f_max))
        if new != self.freq:
            self.freq = new
            pod['since_change'] = 0.0
