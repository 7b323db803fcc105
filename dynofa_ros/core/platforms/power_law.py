"""
The one power law of a platform: static board power plus per-domain leakage and CMOS dynamic.

    P = static_w + sum_d  leakage_w_d * v_d(f) + load_d * dynamic_w_d * (f / f_max) * v_d(f)^2

with the relative voltage v(f) flat at v_min up to the voltage floor f_floor (the lowest voltage
the rail runs at: below it only the clock slows, as in a DVFS table whose low entries share one
voltage), then rising linearly to 1 at the highest frequency, and load the busy share 0..1 of
the domain: an idle domain draws leakage only (its clock is gated). The
hardware node's estimate (no sensor), the manager's model and the simulator's ground truth all
evaluate `domain_power`; their coefficients come from a platform profile's power.model
(docs/platform_profiles.md) or, for the simulator's truth, from its simulation file.

`PowerModel` is the manager's use of the law: it also fits a scale online from measured power
(measured / predicted, EWMA), so only the shape of the coefficients matters where a sensor exists.
"""

from dataclasses import dataclass, field
import math

import numpy as np


@dataclass(frozen=True)
class DomainPower:
    """
    Coefficients of one domain: W at f_max and full load, leakage W at f_max, v at f_min.

    f_floor_khz: the voltage floor (v = v_min at and below it; 0: v rises from f_min).
    """

    dynamic_w: float
    leakage_w: float
    v_min: float
    f_floor_khz: float = 0.0


# Placeholders for a profile without power.model (hand-made profiles, tests). They are no board's
# measured figures: a Xavier-NX-class shape; cpufreq figures are per core, devfreq per domain.
KIND_DEFAULTS = {'cpufreq': DomainPower(0.8, 0.125, 0.6), 'devfreq': DomainPower(6.0, 0.6, 0.6)}
DEFAULT_STATIC_W = 2.5
SCALE_LIMITS = (0.2, 5.0)


@dataclass(frozen=True)
class PowerParams:
    """
    A platform's power-law parameters.

    kinds: defaults per domain kind (cpufreq: per core, multiplied by the domain's cores;
    devfreq: per domain); domains: coefficients of named domains (whole domain), which win.
    """

    static_w: float = DEFAULT_STATIC_W
    kinds: dict = field(default_factory=lambda: dict(KIND_DEFAULTS))
    domains: dict = field(default_factory=dict)

    def coefficients(self, domain):
        """Return the DomainPower of a domain (anything with name, kind and cpus)."""
        if domain.name in self.domains:
            return self.domains[domain.name]
        per = self.kinds.get(domain.kind, KIND_DEFAULTS[domain.kind])
        if domain.kind != 'cpufreq':
            return per
        cores = max(len(domain.cpus), 1)
        return DomainPower(per.dynamic_w * cores, per.leakage_w * cores, per.v_min)


def relative_voltage(v_min, f_khz, f_min, f_max, f_floor=0.0):
    """Return the relative voltage at f_khz: v_min up to max(f_min, f_floor), then up to 1."""
    low = min(max(f_min, f_floor), f_max)
    span = max(f_max - low, 1)
    f = np.maximum(np.asarray(f_khz, dtype=float), low)
    return v_min + (1.0 - v_min) * (f - low) / span


def domain_power(coeff, f_khz, f_min, f_max, load):
    """Return one domain's power (W) at f_khz with busy share load (arrays broadcast)."""
    v = relative_voltage(coeff.v_min, f_khz, f_min, f_max, coeff.f_floor_khz)
    rel = np.asarray(f_khz, dtype=float) / f_max
    return coeff.leakage_w * v + np.asarray(load, dtype=float) * coeff.dynamic_w * rel * v * v


class PowerModel:
    """The manager's power model: the law with a profile's parameters and a fitted scale."""

    def __init__(self, domains, params=None, gain=0.1):
        params = params or PowerParams()
        self.domains = {d.name: d for d in domains}
        self.static_w = params.static_w
        self.coefficients = {d.name: params.coefficients(d) for d in domains}
        self.scale = 1.0
        self.gain = gain
        self.fitted = False

    def domain_power(self, name, f_khz, load):
        """Return the power (W) of one domain at f_khz with busy share load (arrays broadcast)."""
        d = self.domains[name]
        return self.scale * domain_power(self.coefficients[name], f_khz, d.f_min, d.f_max, load)

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
