"""
The outer loop's search over one DVFS domain and the applications sharing it, vectorised.

Every combination (frequency, sub-network of each application) is evaluated at once in one numpy
tensor of shape (frequencies, subnets of app 1, subnets of app 2, ...): predicted latency with
sharing (sharing.py: fair time slicing), accuracy, energy per frame. The choice is the combination
with the least predicted energy among the candidates, ties going to the more accurate one; the
candidates are the combinations that meet every latency target (x margin) and keep every accuracy
floor, and, with objective 'accuracy', are within `slack` top-1 points of the best accuracy
among those (the mean top-1 per processed frame, each application's frames weighted by its
priority). A combination that cannot keep up with its camera drops frames and
pays for them: its energy per frame is counted x frames arrived / frames processed. When nothing
meets every constraint, constraints are relaxed in a fixed order and the relaxation is reported
(`solve`).
"""

from dataclasses import dataclass
import functools

from dynofa_ros.core.manager import sharing
import numpy as np


@dataclass
class AppInput:
    """What the search needs to know about one application on the domain."""

    app_id: str
    solo_ms: np.ndarray        # (frequencies, subnets) predicted latency without sharing
    accuracy: np.ndarray       # (subnets,)
    target_ms: float
    min_accuracy: float
    priority: int
    rate_hz: float = 0.0       # frames arriving per second; 0: unknown (assume saturated)
    allowed: tuple = None      # subnet indices the app may run (None: all)
    margin: float = 0.0        # plan for target x margin (0: the search's margin)


@dataclass
class Choice:
    """The decision for one domain."""

    freq_index: int
    subnets: tuple
    latency_ms: tuple
    energy_mj: float           # predicted energy per inference
    feasible: bool
    note: str
    met: tuple = ()            # per application: its latency target and floor met
    domain_mj: float = 0.0     # energy_mj without the board's static share (this domain's own)
    tail_ms: tuple = ()        # per application: the latency checked against its target


def frame_weight(priority, rate_hz, latency_ms):
    """
    Return an application's weight in the accuracy score: priority x frames it processes per s.

    The score is then the priority-weighted mean top-1 per processed frame, what a mission sees.
    """
    fps = 1000.0 / np.asarray(latency_ms, dtype=float)
    return priority * (np.minimum(rate_hz, fps) if rate_hz > 0 else fps)


def _expand(array, app, n_apps):
    """Return array (frequencies, subnets) reshaped to broadcast along app's axis."""
    shape = [array.shape[0]] + [1] * n_apps
    shape[1 + app] = array.shape[1]
    return array.reshape(shape)


def _all(masks):
    return functools.reduce(np.logical_and, masks)


class DomainSearch:
    """Evaluate all combinations for one domain; `solve` picks one."""

    def __init__(self, freqs_khz, power_w, apps, margin, quantile=0.0):
        """
        Evaluate every combination.

        Latency targets are checked on the `quantile` latency with sharing
        (sharing.tail_slowdowns; 0: the mean), energy on the mean.

        power_w = (static, leakage per frequency, busy dynamic power per frequency), watts.
        Energy per inference = board power at the domain's busy share / frames per second, where
        an application processes min(its camera rate, 1 / its latency) frames per second (an
        unknown rate counts as saturated).
        """
        self.freqs = np.asarray(freqs_khz)
        self.apps = apps
        self.margin = margin
        n = len(apps)
        solos = [_expand(a.solo_ms, i, n) for i, a in enumerate(apps)]
        rates = [a.rate_hz for a in apps]
        total = sum(sharing.busy_shares(solos, rates))
        mean = sharing.slowdowns(solos, rates)
        self.latency = [s * slow for s, slow in zip(solos, mean)]
        self.tail = [s * slow for s, slow in zip(
            solos, sharing.tail_slowdowns(solos, rates, quantile, mean))]
        self.meets = [lat <= a.target_ms * (a.margin or margin)
                      for lat, a in zip(self.tail, apps)]
        self.floor_ok = [_expand(np.broadcast_to(a.accuracy >= a.min_accuracy,
                                                 a.solo_ms.shape), i, n)
                         for i, a in enumerate(apps)]
        allowed = []
        for i, a in enumerate(apps):
            mask = np.zeros(a.solo_ms.shape[1], dtype=bool)
            mask[list(a.allowed) if a.allowed is not None else slice(None)] = True
            allowed.append(_expand(np.broadcast_to(mask, a.solo_ms.shape), i, n))
        self.allowed = _all(allowed)
        weights = [frame_weight(a.priority, a.rate_hz, lat)
                   for a, lat in zip(apps, self.latency)]
        self.score = sum(w * _expand(np.broadcast_to(a.accuracy, a.solo_ms.shape), i, n)
                         for i, (w, a) in enumerate(zip(weights, apps))) / sum(weights)
        static, leak, dyn = power_w
        column = [len(self.freqs)] + [1] * n
        busy = np.minimum(1.0, total)
        power = static + np.reshape(leak, column) + busy * np.reshape(dyn, column)
        fps = sum(np.where(a.rate_hz > 0, np.minimum(a.rate_hz, 1000.0 / lat), 1000.0 / lat)
                  for lat, a in zip(self.latency, apps))
        arrived = sum(a.rate_hz if a.rate_hz > 0 else 1000.0 / lat
                      for lat, a in zip(self.latency, apps))
        # mJ per processed frame x arrived / processed: dropping frames is never a saving.
        self.energy = 1000.0 * power / fps * (arrived / fps)
        # The board's static share of it: what no choice on this domain can save.
        self.static_mj = 1000.0 * static / fps * (arrived / fps)
        shape = tuple([len(self.freqs)] + [a.solo_ms.shape[1] for a in apps])
        full = functools.partial(np.broadcast_to, shape=shape)
        self.latency = [full(x) for x in self.latency]
        self.tail = [full(x) for x in self.tail]
        self.meets = [full(x) for x in self.meets]
        self.floor_ok = [full(x) for x in self.floor_ok]
        self.allowed, self.score, self.energy, self.static_mj = (full(x) for x in (
            self.allowed, self.score, self.energy, self.static_mj))

    def _pick(self, mask, slack, objective='accuracy'):
        """Return the least-energy index in mask (within slack of its best accuracy), or None."""
        if not mask.any():
            return None
        near = mask
        if objective == 'accuracy':
            near = mask & (self.score >= self.score[mask].max() - slack)
        energy = np.where(near, self.energy, np.inf)
        least = energy.min()
        ties = near & (energy <= least * (1.0 + 1e-6))
        score = np.where(ties, self.score, -np.inf)
        return tuple(int(i) for i in np.unravel_index(np.argmax(score), score.shape))

    def choice(self, index, feasible, note):
        """Return the Choice for a full index (frequency, subnet per app)."""
        met = tuple(bool(m[index] and f[index]) for m, f in zip(self.meets, self.floor_ok))
        return Choice(index[0], tuple(index[1:]),
                      tuple(float(lat[index]) for lat in self.latency),
                      float(self.energy[index]), feasible, note, met,
                      float(self.energy[index] - self.static_mj[index]),
                      tuple(float(lat[index]) for lat in self.tail))

    def evaluate(self, index, margin_ratio=1.0):
        """
        Return (meets every constraint, energy, score) of one combination.

        margin_ratio > 1 loosens the latency check (the incumbent keeps its place until its
        predicted latency passes target x margin x margin_ratio: hysteresis).
        """
        ok = self.allowed[index] and all(f[index] for f in self.floor_ok) and all(
            lat[index] <= a.target_ms * (a.margin or self.margin) * margin_ratio
            for lat, a in zip(self.tail, self.apps))
        return bool(ok), float(self.energy[index]), float(self.score[index])

    def solve(self, slack, power_ok=None, objective='accuracy'):
        """
        Return the Choice: all constraints, else without floors, else without low priorities.

        objective: 'accuracy' (within slack of the best accuracy, then least energy) or
        'energy' (least energy above the floors). Relaxation order: (1) every target and floor;
        (2) floors dropped; (3) the latency targets
        of the lowest-priority applications dropped one priority level at a time, those running
        their fastest allowed sub-network; (4) the fastest configuration (highest frequency,
        fastest allowed sub-networks), reported infeasible.
        """
        base = self.allowed
        if power_ok is not None:
            base = base & _expand(np.asarray(power_ok).reshape(-1, 1), 0, len(self.apps))
        pick = functools.partial(self._pick, slack=slack, objective=objective)
        meets, floors = _all(self.meets), _all(self.floor_ok)
        picked = pick(base & meets & floors)
        if picked is not None:
            return self.choice(picked, True, 'all targets met')
        picked = pick(base & meets)
        if picked is not None:
            return self.choice(picked, False, 'accuracy floor unreachable within the target')
        levels = sorted({a.priority for a in self.apps})
        for cut in levels[1:]:
            mask = base.copy()
            dropped = []
            for i, a in enumerate(self.apps):
                if a.priority < cut:
                    fastest = self._fastest(i)
                    keep = np.zeros(mask.shape[1 + i], dtype=bool)
                    keep[fastest] = True
                    sel_shape = [1] * mask.ndim
                    sel_shape[1 + i] = -1
                    mask &= keep.reshape(sel_shape)
                    dropped.append(a.app_id)
                else:
                    mask &= self.meets[i]
            picked = pick(mask)
            if picked is not None:
                return self.choice(picked, False, f'targets of {dropped} dropped (priority)')
        fastest = (len(self.freqs) - 1,) + tuple(self._fastest(i) for i in range(len(self.apps)))
        if power_ok is not None and not np.asarray(power_ok)[-1]:
            allowed_f = np.flatnonzero(power_ok)
            fastest = (int(allowed_f[-1]) if allowed_f.size else 0,) + fastest[1:]
        return self.choice(fastest, False, 'infeasible: running the fastest configuration')

    def _fastest(self, app):
        a = self.apps[app]
        options = list(a.allowed) if a.allowed is not None else range(a.solo_ms.shape[1])
        return min(options, key=lambda s: a.solo_ms[-1, s])
