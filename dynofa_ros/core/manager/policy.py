"""
The runtime manager's policy: an inner loop on every frame and an outer loop per control period.

Inner loop (`on_frame`, rules in inner_loop.py): updates the application's latency correction
and switches sub-network when the measured latency leaves the band [target x band_low, target].
A down-switch asks for an early outer step, which then keeps to sub-networks no more accurate
than the inner loop's for a while (no tug of war between the loops).
Outer loop (`step`): per DVFS domain, a joint search (joint_search.py) over its frequencies and the
sub-networks of every application on it, under the power budget and a thermal frequency cap.
Task mapping (thread_mapping.py; policy dynofa, apps with max_threads > 0): per frame, the
intra-op thread count. Stale system telemetry holds the current decision. The baselines are
modes of the same class (`policy` setting): Linux governors with a fixed sub-network,
algorithm_only (pinned maximum frequency), hardware_only (fixed sub-network, DVFS search).
"""

import math

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.common import paths
from dynofa_ros.core.manager.config import GOVERNOR_POLICIES
from dynofa_ros.core.manager.data import (Decisions, DvfsDecision, MappingDecision,
                                          SubnetDecision)
from dynofa_ros.core.manager.inner_loop import AppState, inner_step, NEVER, update_rate
from dynofa_ros.core.manager.joint_search import AppInput, DomainSearch
from dynofa_ros.core.manager.latency_model import LatencyModel
from dynofa_ros.core.manager.thread_controller import ThreadController
from dynofa_ros.core.platforms.power_law import PowerModel
import numpy as np

THERMAL_HYSTERESIS_C = 5.0


def load_catalog(path):
    return catalog_mod.load(paths.resolve(path, 'catalog'))


class ManagerPolicy:
    """Hierarchical sub-network + DVFS control, and the baselines as modes of it."""

    def __init__(self, config, domains, catalog_loader=load_catalog, power_model=None):
        self.domains = {d.name: d for d in domains}
        self.default_domain = domains[0].name
        self.loader = catalog_loader
        self._catalogs = {}
        self.power = power_model or PowerModel(domains)
        self.apps = {}
        self.cap = {d.name: len(d.frequencies_khz) - 1 for d in domains}
        self.commanded = {}
        self.system = None
        self.power_snapshot = None
        self.last_outer = -math.inf
        self.stale_note = 'no system telemetry yet'
        self.config = None
        self.configure(config)

    # ----------------------------------------------------------------- configuration
    def configure(self, config):
        """Apply a validated ManagerConfig; targets take effect at the next outer step."""
        old = self.config
        self.config = config
        policy = config.policy
        self.governor = policy if policy in GOVERNOR_POLICIES else ''
        self.switch_subnets = policy in ('dynofa', 'algorithm_only')
        self.scale_frequency = policy in ('dynofa', 'hardware_only')
        if old is not None and old.policy != policy:
            self.commanded = {}
            for app in self.apps.values():
                app.current = -1
        for app_id, target in config.apps.items():
            state = self.apps.get(app_id)
            domain = self.domains[target.domains[0] if target.domains else self.default_domain]
            before = old.apps.get(app_id) if old else None
            rebuild = state is None or before is None or (
                before.catalog, before.domains, before.profile_key) != (
                target.catalog, target.domains, target.profile_key)
            if rebuild:
                model = LatencyModel(self._catalog(target.catalog), domain, target.profile_key,
                                     sensitivity=config.frequency_sensitivity,
                                     gain=config.correction_gain)
                state = self.apps[app_id] = AppState(domain, model)
            state.model.sensitivity = config.frequency_sensitivity
            state.model.gain = config.correction_gain
            if rebuild or before.baseline_subnet != target.baseline_subnet:
                state.fixed = self._baseline_index(state, target)
            if before is not None and before != target:
                state.need_outer = True
            if before is not None and (before.latency_target_ms, before.min_accuracy) != (
                    target.latency_target_ms, target.min_accuracy):
                # A new target is new information: what the inner loop learnt about which
                # sub-networks fit (its hold after a down-switch, its backoff) no longer holds.
                state.backoff, state.since_down, state.over, state.under = 1, NEVER, 0, 0
            self._configure_mapping(state, target)
        for app_id in set(self.apps) - set(config.apps):
            del self.apps[app_id]

    def _configure_mapping(self, state, target):
        if self.config.policy != 'dynofa' or target.max_threads <= 0:
            state.mapping = None
            return
        limits = (target.min_threads, target.max_threads, self.config.mapping_probe_s)
        old = state.mapping
        if old is None or (old.min_threads, old.max_threads, old.probe_s) != limits:
            state.mapping = ThreadController(*limits, current=old.current if old else 0)

    def _catalog(self, path):
        if path not in self._catalogs:
            self._catalogs[path] = self.loader(path)
        return self._catalogs[path]

    def _baseline_index(self, state, target):
        if target.baseline_subnet:
            return state.model.catalog.get(target.baseline_subnet).index
        fits = state.model.solo(state.domain.f_max) <= (
            target.latency_target_ms * self.config.latency_margin)
        return int(np.flatnonzero(fits)[-1]) if fits.any() else 0

    # ----------------------------------------------------------------- telemetry
    def on_system(self, snapshot):
        self.system = snapshot

    def on_power(self, snapshot):
        self.power_snapshot = snapshot
        if snapshot.measured and self.system is not None:
            self.power.observe(snapshot.total_w, self._freqs(), self._loads())

    def _thermal(self, temp):
        limit = self.config.temperature_limit_c
        for name, d in self.domains.items():
            if temp >= limit:
                self.cap[name] = max(0, self.cap[name] - 1)
            elif temp < limit - THERMAL_HYSTERESIS_C:
                self.cap[name] = min(len(d.frequencies_khz) - 1, self.cap[name] + 1)

    def _fresh(self, now):
        stale = self.config.stale_after_s
        if self.system is None:
            self.stale_note = 'no system telemetry yet'
            return False
        if now - self.system.t > stale:
            self.stale_note = f'system telemetry {now - self.system.t:.1f} s old (> {stale} s)'
            return False
        self.stale_note = ''
        return True

    def freq_of(self, name, now=None):
        """Return the frequency the domain runs at: measured, else commanded, else maximum."""
        fresh = self.system is not None and (
            now is None or now - self.system.t <= self.config.stale_after_s)
        if fresh and name in self.system.cur_khz:
            return self.system.cur_khz[name]
        pin = self.commanded.get(name)
        if pin is not None and pin.mode == 'pin':
            return pin.frequency_khz
        return self.domains[name].f_max

    def _freqs(self):
        return {name: self.freq_of(name) for name in self.domains}

    def _loads(self):
        """Return busy shares: measured where SystemState has them, else 1 for app domains."""
        loads = {a.domain.name: 1.0 for a in self.apps.values()}
        if self.system is not None:
            loads.update(self.system.utilization)
        return loads

    def _demand(self, state, f_khz, index=None):
        index = state.current if index is None else index
        if index < 0 or state.rate_hz <= 0:
            return 1.0
        return min(1.0, state.model.predict(index, f_khz) * state.rate_hz / 1000.0)

    def _slowdown(self, app_id, f_khz):
        me = self.apps[app_id]
        return 1.0 + sum(self._demand(s, f_khz) for a, s in self.apps.items()
                         if a != app_id and s.domain.name == me.domain.name)

    # ----------------------------------------------------------------- inner loop
    def on_frame(self, stats):
        """Handle one PerceptionStats; return the Decisions it causes (possibly none)."""
        state = self.apps.get(stats.app_id)
        if state is None:
            return Decisions()
        update_rate(state, stats)
        index = stats.subnet_index
        if not 0 <= index < len(state.model.base):
            index = state.current
        f = self.freq_of(state.domain.name, stats.t)
        slowdown = self._slowdown(stats.app_id, f)
        out = Decisions()
        if state.mapping is not None and index >= 0:
            out.extend(self._map(stats, state, index, f, slowdown))
            if state.mapping.current and stats.num_threads != state.mapping.current:
                state.last_t, state.measured_ms = stats.t, stats.inference_latency_ms
                return out     # ran with the previous mapping: says nothing about the new one
        state.model.set_threads(stats.num_threads)
        if index >= 0:
            state.model.observe(index, f, stats.inference_latency_ms, slowdown)
        state.last_t = stats.t
        state.measured_ms = stats.inference_latency_ms
        if state.current < 0 and index >= 0:
            state.current = index
        if self.switch_subnets and index == state.current >= 0:
            out.extend(self._inner(stats.app_id, state, f, slowdown))
        elif not self.switch_subnets and not self.governor:
            if stats.inference_latency_ms > self.config.apps[stats.app_id].latency_target_ms:
                state.need_outer = True
        if any(a.need_outer for a in self.apps.values()) and (
                stats.t - self.last_outer >= 0.25 * self.config.control_period_s):
            out.extend(self.step(stats.t))
        return out

    def _map(self, stats, state, index, f, slowdown):
        """Feed the thread controller one frame; on a change switch the model's profile."""
        mapping, threads = state.mapping, stats.num_threads
        counts = {n for n in (threads, mapping.probe_from) if n > 0}
        predicted = {n: state.model.profiled(index, f, n, slowdown) for n in counts}
        change = mapping.observe(stats.t, threads, stats.inference_latency_ms, predicted,
                                 self._fresh(stats.t))
        if change is None:
            return Decisions()
        threads, reason = change
        state.model.set_threads(threads)
        # Start the correction from what is known of that count rather than the old one's.
        state.model.ratio = state.model.scale * mapping.slowdown.get(threads, 1.0)
        state.need_outer = True
        return Decisions(mappings=[MappingDecision(stats.app_id, threads, reason=reason)])

    def _inner(self, app_id, state, f, slowdown):
        index, reason = inner_step(state, self.config.apps[app_id], self.config, f, slowdown,
                                   may_go_up=not self._shares_domain(app_id))
        if index is None:
            return Decisions()
        return self._switch(app_id, state, index, f, slowdown, reason)

    def _shares_domain(self, app_id):
        """Return True when another managed application runs on this one's domain."""
        name = self.apps[app_id].domain.name
        return any(a != app_id and s.domain.name == name for a, s in self.apps.items())

    def _switch(self, app_id, state, index, f, slowdown, reason):
        state.current = index
        state.over = state.under = state.since_switch = 0
        state.predicted_ms = state.model.predict(index, f, slowdown)
        return Decisions(subnets=[self._subnet_decision(app_id, state, reason)])

    def _subnet_decision(self, app_id, state, reason):
        s = state.model.catalog.subnets[state.current]
        return SubnetDecision(app_id, s.index, s.id, round(state.predicted_ms, 3), s.top1, reason)

    # ----------------------------------------------------------------- outer loop
    def step(self, now):
        """Run the outer loop once; return the Decisions that changed."""
        out = Decisions()
        if self.governor:
            return self._governor_step()
        if not self._fresh(now):
            return out
        self.last_outer = now
        temp = self.system.max_temperature_c
        if self.config.temperature_limit_c > 0 and math.isfinite(temp):
            self._thermal(temp)
        groups = {}
        for app_id, state in self.apps.items():
            groups.setdefault(state.domain.name, []).append(app_id)
            state.need_outer = False
        caps = dict(self.cap)
        for _ in range(sum(len(d.frequencies_khz) for d in self.domains.values())):
            plans = {name: self._plan(name, ids, caps[name]) for name, ids in groups.items()}
            if not self._over_budget(plans):
                break
            name = max(plans, key=lambda n: plans[n][2])
            if caps[name] == 0:
                break
            caps[name] -= 1
        for name, (f, choice, _) in plans.items():
            out.extend(self._apply(name, groups[name], f, choice))
        return out

    def _plan(self, name, app_ids, cap):
        d = self.domains[name]
        cfg = self.config
        if self.scale_frequency:
            freqs = np.array(d.frequencies_khz[:cap + 1], dtype=float)
        else:
            freqs = np.array([d.frequencies_khz[cap]], dtype=float)
        inputs = []
        for app_id in app_ids:
            state, target = self.apps[app_id], cfg.apps[app_id]
            solo = state.model.base[None, :] * (
                state.model.freq_factor(freqs)[:, None] * state.model.ratio)
            inputs.append(AppInput(app_id, solo, state.model.accuracy, target.latency_target_ms,
                                   target.min_accuracy, target.priority, state.rate_hz,
                                   self._allowed(state)))
        leak = self.power.domain_power(name, freqs, 0.0)
        power = (self.power.static_w, leak, self.power.domain_power(name, freqs, 1.0) - leak)
        search = DomainSearch(freqs, power, inputs, cfg.latency_margin)
        choice = search.solve(cfg.accuracy_slack)
        current = self._current_index(name, app_ids, freqs)
        if current is not None and choice.feasible:
            keep = min(1.0 / cfg.latency_margin, (1.0 + cfg.latency_margin) / (
                2.0 * cfg.latency_margin))
            valid, energy, score = search.evaluate(current, keep)
            if valid and score >= float(search.score[(choice.freq_index,) + choice.subnets]) - (
                    cfg.accuracy_slack) and energy <= choice.energy_mj * (
                    1 + cfg.energy_hysteresis):
                choice = search.choice(current, True, 'all targets met (kept: within hysteresis)')
        f = int(freqs[choice.freq_index])
        power = self.power.domain_power(name, f, 1.0)
        return f, choice, float(power)

    def _allowed(self, state):
        """Return the sub-networks the outer loop may choose for an application (None: all)."""
        if not self.switch_subnets:
            return (state.fixed,)
        if state.current >= 0 and state.since_down < 2 * self.config.up_frames * state.backoff:
            # The inner loop just measured that more accurate ones do not fit: respect it.
            return tuple(range(state.current + 1))
        return None

    def _current_index(self, name, app_ids, freqs):
        pin = self.commanded.get(name)
        subnets = [self.apps[a].current for a in app_ids]
        if pin is None or pin.mode != 'pin' or min(subnets) < 0:
            return None
        hits = np.flatnonzero(freqs == pin.frequency_khz)
        return (int(hits[0]), *subnets) if hits.size else None

    def _over_budget(self, plans):
        budget = self.config.power_budget_w
        if budget <= 0:
            return False
        return self.power.static_w + sum(p for _, _, p in plans.values()) > budget

    def _apply(self, name, app_ids, f, choice):
        out = Decisions()
        reason = (f'outer: {f / 1000:.0f} MHz, {choice.note}, predicted '
                  + ', '.join(f'{a} {lat:.1f} ms' for a, lat in zip(app_ids, choice.latency_ms)))
        decision = DvfsDecision(name, 'pin', f, '', reason)
        if not decision.same_setting(self.commanded.get(name)):
            self.commanded[name] = decision
            out.dvfs.append(decision)
        for app_id, index, latency, met in zip(app_ids, choice.subnets, choice.latency_ms,
                                               choice.met):
            state = self.apps[app_id]
            state.feasible = met
            state.note = choice.note
            state.predicted_ms = latency
            if index != state.current:
                if index > state.current >= 0:
                    state.since_up = 0
                state.current = index
                state.over = state.under = state.since_switch = 0
                out.subnets.append(self._subnet_decision(app_id, state, reason))
        return out

    def _governor_step(self):
        out = Decisions()
        for state in self.apps.values():
            name = state.domain.name
            decision = DvfsDecision(name, 'governor', 0, self.governor,
                                    f'baseline: {self.governor} governor, fixed sub-network')
            if not decision.same_setting(self.commanded.get(name)):
                self.commanded[name] = decision
                out.dvfs.append(decision)
        for app_id, state in self.apps.items():
            state.note = 'baseline: targets not managed'
            if state.current != state.fixed:
                state.current = state.fixed
                state.predicted_ms = state.model.predict(state.fixed, state.domain.f_max)
                out.subnets.append(self._subnet_decision(
                    app_id, state, f'baseline {self.governor}: fixed sub-network'))
        return out

    # ----------------------------------------------------------------- reporting
    def status(self, now):
        """Return the current decision and model state for diagnostics."""
        fresh = self.governor or self._fresh(now)
        return {
            'policy': self.config.policy,
            'stale': '' if fresh else self.stale_note,
            'frequencies_khz': {n: d.frequency_khz for n, d in self.commanded.items()},
            'power_scale': self.power.scale,
            'apps': {a: {
                'subnet': s.model.ids[s.current] if s.current >= 0 else '',
                'predicted_ms': s.predicted_ms, 'measured_ms': s.measured_ms,
                'correction': s.model.ratio, 'feasible': s.feasible, 'note': s.note,
                'model': s.model.source,
                'threads': s.mapping.current if s.mapping else s.model.threads,
                'mapping': s.mapping.note if s.mapping else 'not managed',
                'frames_stale': s.last_t is None or now - s.last_t > self.config.stale_after_s,
            } for a, s in self.apps.items()},
        }
