"""
What the evaluation compares: per-phase figures, the comparison at similar latency, the oracle.

A phase is the time between two events of a scenario (a target change, a load starting or
ending). A policy meets its target in a phase when at most MEET_PCT % of its frames there are over
target. The comparison at similar latency uses only the phases where the baseline (schedutil)
meets its target: energy per frame there, policy vs baseline, and the top-1 difference; a policy
that misses its target in such a phase is flagged. The oracle is the best static configuration
per phase (one frequency per domain, one sub-network per application, each application on one
of its listed domains), found by brute force: every combination is ranked by the simulator's own
physics in steady state (the same power law, scaling law and time slicing), then the cheapest
ones that reach at least the accuracy dynofa reached in that phase are simulated in turn until
one meets the target in simulation too. A lone application slower than its camera may drop
frames, as the dynamic policies may; its energy per frame then counts x arrived / processed.
"""

import dataclasses
import itertools
import math

from dynofa_ros.core.evaluation.scenarios import Event, Scenario
from dynofa_ros.core.evaluation.simulator import cpu_share, Simulator
from dynofa_ros.core.manager import sharing
from dynofa_ros.core.platforms.power_law import domain_power
from dynofa_ros.core.platforms.scaling_law import latency_factor
import numpy as np

MEET_PCT = 5.0
SIMILAR_TOP1 = 1.0  # top-1 points: a larger difference is not a comparison at similar accuracy
ORACLE_TRIES = 8
ORACLE_MAX_S = 8.0
PER_LEVEL = 3       # static configurations kept per accuracy: the cheapest frequencies
LENIENT = 1.15      # the steady-state ranking only pre-filters: simulation decides


def phase_rows(result, scenario):
    """Return one dict per phase: seconds, energy J, frames, dropped, over-target %, top-1."""
    rows = []
    for start, end in scenario.phases():
        frames = [f for fs in result.frames.values() for f in fs if start <= f[0] < end]
        drops = sum(1 for ds in result.drops.values() for t in ds
                    if start <= t < end)
        energy = _energy_between(result.marks, start, end)
        rows.append({'start': start, 'end': end, 'energy_j': energy, 'frames': len(frames),
                     'dropped': drops,
                     'over_pct': 100.0 * float(np.mean([f[1] > f[2] for f in frames]))
                     if frames else math.nan,
                     'top1': float(np.mean([f[4] for f in frames])) if frames else math.nan})
    return rows


def _energy_between(marks, start, end):
    """Return the energy (J) between two phase limits from the run's (t, energy) marks."""
    points = [(0.0, 0.0)] + sorted(marks)

    def at(t):
        return min(points, key=lambda p: abs(p[0] - t))[1]
    return at(end) - at(start)


def meets(row):
    """Return True when a phase's frames are over target at most MEET_PCT % of the time."""
    return row['frames'] > 0 and row['over_pct'] <= MEET_PCT


def similar_latency(rows, base_rows):
    """
    Return (energy per frame change %, top-1 change, policy also meets) over comparable phases.

    Comparable: the baseline meets its target there. None when there is no such phase.
    """
    pairs = [(r, b) for r, b in zip(rows, base_rows) if meets(b) and r['frames']]
    if not pairs:
        return None
    mine = sum(r['energy_j'] for r, _ in pairs) / sum(r['frames'] for r, _ in pairs)
    base = sum(b['energy_j'] for _, b in pairs) / sum(b['frames'] for _, b in pairs)
    top1 = _weighted_top1([r for r, _ in pairs]) - _weighted_top1([b for _, b in pairs])
    return 100.0 * (mine / base - 1.0), top1, all(meets(r) for r, _ in pairs)


def _weighted_top1(rows):
    frames = sum(r['frames'] for r in rows)
    return sum(r['top1'] * r['frames'] for r in rows) / frames if frames else math.nan


def phase_scenario(scenario, start, end, max_s=ORACLE_MAX_S):
    """Return the scenario's state during [start, end) as a scenario of its own, no events."""
    apps = {a.app_id: a for a in scenario.apps}
    loads = {}
    for e in sorted(scenario.events, key=lambda e: e.t):
        if e.t > start:
            break
        if e.kind == 'load':
            loads[e.name] = e.value
        else:
            app_id, key = e.name.split('.')[1:3]
            if key in ('latency_target_ms', 'min_accuracy', 'priority'):
                apps[app_id] = dataclasses.replace(apps[app_id], **{key: type(
                    getattr(apps[app_id], key))(e.value)})
    duration = min(end - start, max_s)
    return Scenario(f'{scenario.name}@{start:g}s', scenario.description, duration,
                    tuple(apps[a.app_id] for a in scenario.apps),
                    tuple(_load_event(d, v) for d, v in loads.items() if v), scenario.label)


def _load_event(domain, value):
    return Event(0.0, 'load', domain, value)


class Oracle:
    """Brute-force best static configuration of a phase, by the simulator's physics."""

    def __init__(self, platform, catalog, simulate):
        """simulate(scenario, (freqs, subnets)) runs a static configuration, returns rows."""
        self.platform = platform
        self.catalog = catalog
        self.simulate = simulate
        self.top1 = np.array([s.top1 for s in catalog.subnets])

    @classmethod
    def simulated(cls, platform, seed):
        """Return the oracle whose candidates run in the simulator on `platform` with `seed`."""
        def simulate(phase, static):
            result = Simulator(phase, 'performance', platform, seed=seed, static=static).run()
            return phase_rows(result, phase)
        return cls(platform, platform.catalog(), simulate)

    def _ref(self, app, domain):
        truth = self.platform.truth[domain]
        return np.array([min(s.latency_ms[truth['latency_key']].values())
                         for s in self.catalog.subnets])

    def candidates(self, scenario, lenient=1.0):
        """
        Return every static configuration, cheapest first.

        [(mJ/frame, top1, freqs, subs, placement)]: each application on one of its listed
        domains (placement: {app_id: domain}), one frequency per domain, one sub-network each.
        """
        out = []
        for combo in itertools.product(*[a.listed for a in scenario.apps]):
            placement = {a.app_id: d for a, d in zip(scenario.apps, combo)}
            out.extend(self._placed(scenario, placement, lenient))
        return sorted(out, key=lambda o: (o[0], -o[1]))

    def _placed(self, scenario, placement, lenient):
        loads = {e.name: e.value for e in scenario.events if e.kind == 'load'}
        domains = sorted(set(placement.values()))
        per_domain = []
        for name in domains:
            d = self.platform.domains[name]
            apps = [a for a in scenario.apps if placement[a.app_id] == name]
            k = self.platform.truth[name].get('sensitivity', 0.9)
            bg = loads.get(name, 0.0)
            options = []
            for f in d.frequencies_khz:
                factor = latency_factor(f, d.f_max, k)
                for subs in itertools.product(range(len(self.catalog.subnets)),
                                              repeat=len(apps)):
                    options.append(self._steady(name, d, apps, subs, f, factor, bg,
                                                lenient))
            per_domain.append([o for o in options if o is not None])
        out = []
        for combo in itertools.product(*[_pareto(o) for o in per_domain]):
            power = self.platform.static_w + sum(c[0] for c in combo)
            fps, arrived = sum(c[1] for c in combo), sum(c[5] for c in combo)
            top1 = sum(c[2] * c[1] for c in combo) / fps
            freqs = {n: c[3] for n, c in zip(domains, combo)}
            subs = {}
            for c in combo:
                subs.update(c[4])
            # Per processed frame x arrived / processed: dropping frames is never a saving.
            out.append((1000.0 * power / fps * arrived / fps, top1, freqs, subs, placement))
        return out

    def _steady(self, name, d, apps, subs, f, factor, bg, lenient):
        """
        Return (domain W, frames/s processed, top-1, kHz, subnets, frames/s arrived), or None.

        None: a latency over its target, or applications sharing the domain that need more
        than all of it. One application slower than its camera drops frames, as a dynamic
        policy may, and pays for them (energy per frame x arrived / processed).
        """
        noise = math.exp(2.0 * self.platform.sim.get('latency_noise', 0.0)) / lenient
        solo, rate = [], []
        for a, s in zip(apps, subs):
            ms = self.platform.true_ms(name, self._ref(a, name)[s], a.threads and 1 or 0)
            if a.threads:   # the best thread count for the load, as the controller would pick
                ms = min(self.platform.true_ms(name, self._ref(a, name)[s], n) / cpu_share(
                    self.platform.sim, d, n, bg) for n in range(1, a.threads + 1))
            else:
                ms /= (1.0 - bg)
            solo.append(ms * factor)
            rate.append(a.camera_hz)
        lat = [float(ms * slow) for ms, slow in zip(solo, sharing.slowdowns(solo, rate))]
        if any(x * noise > a.latency_target_ms or (
                len(apps) > 1 and a.camera_hz > 0 and x * a.camera_hz > 1000)
               for x, a in zip(lat, apps)):
            return None
        fps = [min(a.camera_hz, 1000.0 / x) if a.camera_hz > 0 else 1000.0 / x
               for x, a in zip(lat, apps)]
        arrived = sum(a.camera_hz if a.camera_hz > 0 else 1000.0 / x for x, a in zip(lat, apps))
        demand = sum(s * r / 1000.0 for s, r in zip(solo, fps))
        if demand > 1.0 + 1e-9 and len(apps) > 1 and all(a.camera_hz > 0 for a in apps):
            return None         # the domain cannot keep up with the cameras
        busy = min(1.0, bg + demand)
        watts = float(domain_power(self.platform.power_truth[name], f, d.f_min, d.f_max, busy))
        top1 = sum(self.top1[s] * r for s, r in zip(subs, fps)) / sum(fps)
        return (watts, sum(fps), top1, f, {a.app_id: s for a, s in zip(apps, subs)}, arrived)

    def best(self, scenario, min_top1):
        """Return (phase row, (freqs, subnets, placement)) of the cheapest valid configuration."""
        lenient = [c for c in self.candidates(scenario, LENIENT) if c[1] >= min_top1 - 1e-6]
        strict = [c for c in self.candidates(scenario, 1.0) if c[1] >= min_top1 - 1e-6]
        for _, _, freqs, subs, placement in lenient[:ORACLE_TRIES] + strict[:ORACLE_TRIES]:
            rows = self.simulate(scenario, (freqs, subs, placement))
            if meets(rows[0]) and rows[0]['top1'] >= min_top1 - 1e-6:
                return rows[0], (freqs, subs, placement)
        return None, None


def _pareto(options, keep=PER_LEVEL):
    """
    Keep the options no other beats on both energy per frame and accuracy.

    Of each accuracy on the front the `keep` cheapest are kept (its next frequencies up): the
    cheapest is the likeliest to miss the target in simulation.
    """
    front, best, kept = [], -math.inf, {}
    for o in sorted(options, key=lambda o: (o[0] / o[1] * o[5] / o[1], -o[2])):
        level = round(o[2], 6)
        if o[2] > best + 1e-9:
            best = o[2]
            kept[level] = 0
        if level in kept and kept[level] < keep:
            kept[level] += 1
            front.append(o)
    return front
