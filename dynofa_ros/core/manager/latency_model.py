"""
Latency model of one application: profiled per sub-network, scaled by frequency, corrected online.

predicted(s, f) = base(s) * (k * f_ref / f + (1 - k)) * ratio * slowdown

base(s) comes from the catalog's latency table for the chosen profile key at the reference
frequency f_ref (the domain's maximum: profiles are taken with the performance governor); k is the
share of the work that scales with frequency (core/platforms/scaling_law.py): the setting until
frames measured at two frequencies at least 25 % apart, alone on the domain, give a fit; ratio is
an EWMA of measured / predicted and captures what the profile misses (other programs on the same
cores, a different machine); slowdown accounts for other managed applications sharing the domain
(inner_loop.sharing_slowdowns).
"""

from collections import deque
import math

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.platforms.scaling_law import latency_factor
import numpy as np

RATIO_LIMITS = (0.05, 20.0)
FIT_MIN_FRAMES = 8      # frames at a frequency before it counts for the sensitivity fit
FIT_RECENT = 100        # ... measured within this many frames of the newest
FIT_SPAN = 1.25         # the frequencies fitted span at least this ratio
FIT_GAIN = 0.2          # EWMA gain of the per-frequency measurements
K_LIMITS = (0.5, 1.0)   # a fitted sensitivity outside this is clipped
SPREAD_FRAMES = 100     # measured/predicted ratios kept for the latency margin
SPREAD_MIN = 20         # frames before the margin comes from them


def _complete_keys(catalog):
    keys = None
    for s in catalog.subnets:
        present = {k for k, table in s.latency_ms.items() if table}
        keys = present if keys is None else keys & present
    return sorted(keys or ())


def _pick_threads(table, threads):
    if threads in table:
        return threads
    return max(table)


class LatencyModel:
    """Predict each sub-network's latency at any frequency of the application's domain."""

    def __init__(self, catalog, domain, profile_key='', threads=0, sensitivity=0.9, gain=0.3):
        self.catalog = catalog
        self.domain = domain
        self.sensitivity = sensitivity     # the setting: the prior until a fit exists
        self.learned = None                # sensitivity fitted from frames at 2+ frequencies
        self.by_freq = {}                  # kHz -> [EWMA of measured / profile, frames, last]
        self.last_f = None                 # frequency of the previous frame (None: start over)
        self.gain = gain
        self.f_ref = float(domain.f_max)
        self.ratio = 1.0
        self.samples = 0
        self.requested_key = profile_key
        self.accuracy = np.array([s.top1 for s in catalog.subnets])
        self.ids = [s.id for s in catalog.subnets]
        self.threads = int(threads)
        self.scale = 1.0    # absolute scale of an uncalibrated profile (its first measurement)
        self.spread = deque(maxlen=SPREAD_FRAMES)   # measured / corrected prediction
        self._build()

    def _build(self):
        keys = _complete_keys(self.catalog)
        device = 'cpu' if self.domain.kind == 'cpufreq' else 'gpu'
        machine = catalog_mod.profile_key('cpu') if device == 'cpu' else None
        self.calibrated = True
        if self.requested_key and self.requested_key in keys:
            key, why = self.requested_key, 'requested key'
        elif machine in keys:
            key, why = machine, 'this machine'
        elif keys:
            same = [k for k in keys if k.startswith(device + '/')]
            key = (same or keys)[0]
            self.calibrated = False
            missing = self.requested_key or machine or f'a {device} profile of this machine'
            why = f'no {missing!r} in the catalog: shape of another key, scale learnt online'
        else:
            key = None
        self.key = key
        self._columns = {}
        if key is not None:
            threads = _pick_threads(self.catalog.subnets[0].latency_ms[key], self.threads)
            self.base = self.column(threads)
            self.source = f'{key} @ {threads} threads ({why})'
            return
        self.calibrated = False
        macs = [s.macs_m for s in self.catalog.subnets]
        if all(math.isfinite(m) and m > 0 for m in macs):
            self.base = np.array(macs) / 10.0
            self.source = 'no latency profile: MACs, scale learnt online'
        else:
            self.base = 10.0 * (1.0 + 0.1 * np.arange(len(self.catalog.subnets)))
            self.source = 'no latency profile or MACs: catalog order, scale learnt online'

    def column(self, threads):
        """Return the profiled latencies at a thread count (else the largest one profiled)."""
        if self.key is None:
            return self.base
        if threads not in self._columns:
            tables = [s.latency_ms[self.key] for s in self.catalog.subnets]
            pick = _pick_threads(tables[0], threads)
            self._columns[threads] = np.array(
                [t.get(pick, t[_pick_threads(t, pick)]) for t in tables])
        return self._columns[threads]

    def profiled(self, index, f_khz, threads, slowdown=1.0):
        """Predict from the profile alone (no online correction) at another thread count."""
        return float(self.column(threads)[index] * self.freq_factor(f_khz) * self.scale
                     * slowdown)

    def set_threads(self, threads):
        """Use the profile column of another intra-op thread count (from PerceptionStats)."""
        if threads and int(threads) != self.threads:
            self.threads = int(threads)
            self._build()

    def freq_factor(self, f_khz):
        """Return how much slower than at f_ref the work runs at f_khz (array or scalar)."""
        return latency_factor(f_khz, self.f_ref, self.k)

    @property
    def k(self):
        """Return the share of the work that scales with 1/f: fitted, else the setting."""
        return self.learned if self.learned is not None else self.sensitivity

    def wants_frequency_sample(self):
        """Return True while fewer than two frequencies have recent frames for the fit."""
        return self.learned is None and len(self._fit_points()) < 2

    def sampled_frequency(self):
        """Return the frequency (kHz) with enough recent frames for the fit, or None."""
        ready = self._ready()
        return max(ready, key=lambda f: self.by_freq[f][2]) if ready else None

    def _ready(self):
        """Return the frequencies with FIT_MIN_FRAMES frames, the last within FIT_RECENT."""
        return [f for f, (_, n, last) in self.by_freq.items()
                if n >= FIT_MIN_FRAMES and self.samples - last <= FIT_RECENT]

    def _fit_points(self):
        return [(self.f_ref / f, self.by_freq[f][0]) for f in self._ready()]

    def _fit_sensitivity(self, f_khz):
        """
        Fit k from the measurements per frequency: measured = c x (k f_ref / f + 1 - k).

        Least squares of a line in x = f_ref / f: k = slope / (slope + intercept). The ratio is
        rescaled so that the prediction at the running frequency f_khz does not jump.
        """
        points = self._fit_points()
        xs = np.array([x for x, _ in points])
        if len(points) < 2 or xs.max() / xs.min() < FIT_SPAN:
            return
        slope, intercept = np.polyfit(xs, [m for _, m in points], 1)
        if slope + intercept <= 0:
            return
        before = self.freq_factor(f_khz)
        self.learned = float(min(max(slope / (slope + intercept), K_LIMITS[0]), K_LIMITS[1]))
        self.ratio *= before / self.freq_factor(f_khz)

    def solo(self, f_khz):
        """Return predicted latencies (ms) of every sub-network at f_khz, without sharing."""
        return self.base * (self.freq_factor(f_khz) * self.ratio)

    def predict(self, index, f_khz, slowdown=1.0):
        return float(self.base[index] * self.freq_factor(f_khz) * self.ratio * slowdown)

    def margin(self, quantile, fallback):
        """Return 1 / the quantile of recent measured/predicted ratios, within [0.5, 1]."""
        if quantile <= 0 or len(self.spread) < SPREAD_MIN:
            return fallback
        return float(min(1.0, max(0.5, 1.0 / np.quantile(self.spread, quantile))))

    def observe(self, index, f_khz, measured_ms, slowdown=1.0, tail=0.0):
        """
        Update the measured/predicted ratio with one frame; return the new ratio.

        slowdown: what sharing the domain cost this frame (the ratio learns against it: the
        overlap ledger's measured value, else the mean model's); tail: the slowdown targets are
        checked on (sharing.tail_slowdowns; 0: `slowdown`), which the spread behind the margin
        is measured around.
        """
        if not 0 <= index < len(self.base) or not measured_ms > 0 or not f_khz > 0:
            return self.ratio
        raw = measured_ms / (self.base[index] * self.freq_factor(f_khz) * slowdown)
        raw = min(max(raw, RATIO_LIMITS[0]), RATIO_LIMITS[1])
        if self.samples:
            self.spread.append(raw * slowdown / (tail if tail > 0 else slowdown) / self.ratio)
        if self.samples == 0 and not self.calibrated:
            self.ratio = self.scale = raw
        else:
            self.ratio = math.exp(
                (1 - self.gain) * math.log(self.ratio) + self.gain * math.log(raw))
        self.samples += 1
        settled, self.last_f = self.last_f == int(f_khz), int(f_khz)
        if slowdown > 1.0 or not settled:
            # Shared with other applications (the sharing model's error), or the first frame at
            # a frequency (it may have started at the previous one, or paid for a move).
            return self.ratio
        per_profile = measured_ms / (self.base[index] * self.scale)
        entry = self.by_freq.setdefault(int(f_khz), [per_profile, 0, 0])
        entry[0] += FIT_GAIN * (per_profile - entry[0])
        entry[1] += 1
        entry[2] = self.samples
        if entry[1] % FIT_MIN_FRAMES == 0:
            self._fit_sensitivity(f_khz)
        return self.ratio
