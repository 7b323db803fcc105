"""
Power model the manager plans with: static board power plus per-domain leakage and CMOS dynamic.

P = static + sum_d scale * (leak_d * v_d(f) + u_d * dyn_d * (f / f_max) * v_d(f)^2)

with the relative voltage v(f) rising linearly from v_min at the lowest to 1 at the highest
frequency (the usual shape of a DVFS table), u_d the busy share of the domain. The default
coefficients per kind are DEFAULTS (a Xavier-NX-class board); where a power sensor exists the
scale is fitted online from PowerState (measured / predicted, EWMA), so only the shape matters.
"""

import math

import numpy as np

# kind -> (dynamic W at f_max and full load, leakage W at f_max, relative voltage at f_min)
DEFAULTS = {'cpufreq': (1.6, 0.25, 0.6), 'devfreq': (6.0, 0.6, 0.6)}
DEFAULT_STATIC_W = 2.5
SCALE_LIMITS = (0.2, 5.0)


class PowerModel:
    """Predict board power from per-domain frequencies and loads; fit its scale online."""

    def __init__(self, domains, static_w=DEFAULT_STATIC_W, coefficients=None, gain=0.1):
        self.domains = {d.name: d for d in domains}
        self.static_w = static_w
        self.coefficients = {d.name: (coefficients or {}).get(d.name, DEFAULTS[d.kind])
                             for d in domains}
        self.scale = 1.0
        self.gain = gain
        self.fitted = False

    def voltage(self, name, f_khz):
        d = self.domains[name]
        v_min = self.coefficients[name][2]
        span = max(d.f_max - d.f_min, 1)
        return v_min + (1.0 - v_min) * (np.asarray(f_khz, dtype=float) - d.f_min) / span

    def domain_power(self, name, f_khz, load):
        """Return the power (W) of one domain at f_khz with busy share load (arrays broadcast)."""
        dyn, leak, _ = self.coefficients[name]
        v = self.voltage(name, f_khz)
        rel = np.asarray(f_khz, dtype=float) / self.domains[name].f_max
        return self.scale * (leak * v + np.asarray(load) * dyn * rel * v * v)

    def total(self, freqs, loads):
        """Return board power for {domain: kHz} and {domain: busy share} (missing: idle)."""
        return self.static_w + sum(
            float(self.domain_power(n, f, loads.get(n, 0.0))) for n, f in freqs.items())

    def observe(self, measured_w, freqs, loads):
        """Fit the scale to one measured board power; return the new scale."""
        predicted_var = self.total(freqs, loads) - self.static_w
        if not math.isfinite(measured_w) or predicted_var <= 0 or measured_w <= 0:
            return self.scale
        raw = self.scale * max(measured_w - self.static_w, 0.05) / predicted_var
        raw = min(max(raw, SCALE_LIMITS[0]), SCALE_LIMITS[1])
        self.scale = math.exp((1 - self.gain) * math.log(self.scale) + self.gain * math.log(raw))
        self.fitted = True
        return self.scale
