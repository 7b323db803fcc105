"""
The runtime manager's public front: configuration, telemetry, and the calls of node and simulator.

Each frame (`on_frame`): the latency model learns from the measurement, the thread controller
(thread_controller.py; mode dynofa, apps with max_threads > 0) may change the thread count, then
the mode reacts (modes.py: the inner loop of inner_loop.py for the sub-network switching modes).
A down-switch asks for an early outer step, which then keeps to sub-networks no more accurate
than the inner loop's for a while (no tug of war between the loops).
Each control period (`step`): the mode decides; the managed modes run the outer loop
(outer_loop.py: per DVFS domain a joint search, joint_search.py, over its frequencies and the
sub-networks of every application on it, under the power budget and a thermal frequency cap),
the Linux governor baselines hand the domains to the kernel. Stale system telemetry
(telemetry.py) holds the current decision. An application listing several domains has one
latency model per domain; mode dynofa may move it between them (placement.py), and each frame's
reported device tells whether a move was made.
"""

import math

from dynofa_ros.core.common import catalog as catalog_mod
from dynofa_ros.core.common import paths
from dynofa_ros.core.manager import hardware_limits, modes
from dynofa_ros.core.manager import telemetry_reads as telemetry
from dynofa_ros.core.manager.data import Decisions
from dynofa_ros.core.manager.inner_loop import (AppState, reset_learning, shares_domain,
                                                sharing_slowdowns, update_rate)
from dynofa_ros.core.manager.latency_model import LatencyModel
from dynofa_ros.core.manager.outer_loop import OuterLoop
from dynofa_ros.core.manager.overlap import OverlapLedger
from dynofa_ros.core.manager.placement import AppPlacement, frame_model
from dynofa_ros.core.manager.thread_controller import map_frame, ThreadController
from dynofa_ros.core.platforms.power_law import PowerModel
import numpy as np


def load_catalog(path):
    return catalog_mod.load(paths.resolve(path, 'catalog'))


class ManagerPolicy:
    """Hierarchical sub-network + DVFS control; the `policy` setting selects its mode."""

    def __init__(self, config, domains, catalog_loader=load_catalog, power_model=None):
        self.domains = {d.name: d for d in domains}
        self.profile_domains = tuple(domains)    # full tables; self.domains may be limited
        self.not_commanded = {}                  # domain -> why no DVFS command is sent
        self.default_domain = domains[0].name
        self.loader = catalog_loader
        self._catalogs = {}
        self.power = power_model or PowerModel(domains)
        self.outer = OuterLoop(self.domains, self.power)
        self.ledger = OverlapLedger()
        self.apps = {}
        self.cap = {d.name: len(d.frequencies_khz) - 1 for d in domains}
        self.commanded = {}
        self.system = None
        self.power_snapshot = None
        self.last_outer = -math.inf
        self.config = None
        self.mode = None
        self.configure(config)

    # ----------------------------------------------------------------- configuration
    def configure(self, config, touched=()):
        """
        Apply a validated ManagerConfig; targets take effect at the next outer step.

        touched: the parameter names set since the last call, changed or not (a target set
        again to the same value is still news: the operator wants it met now).
        """
        old = self.config
        self.config = config
        policy = config.policy
        if self.mode is None or self.mode.name != policy:
            self.mode = modes.select(policy)
        if old is not None and old.policy != policy:
            self.commanded = {}
            for app in self.apps.values():
                app.current = -1
        for app_id, target in config.apps.items():
            state = self.apps.get(app_id)
            before = old.apps.get(app_id) if old else None
            rebuild = state is None or before is None or (
                before.catalog, before.domains, before.profile_key, before.profile_keys) != (
                target.catalog, target.domains, target.profile_key, target.profile_keys)
            if rebuild:
                state = self.apps[app_id] = self._new_state(target, config)
            for model in (state.placement.models.values() if state.placement else
                          (state.model,)):
                model.sensitivity = config.frequency_sensitivity
                model.gain = config.correction_gain
            if rebuild or (before.baseline_subnet, before.latency_target_ms) != (
                    target.baseline_subnet, target.latency_target_ms):
                # A static deployment picks its network for the mission's target.
                state.fixed = self._baseline_index(state, target)
            if before is not None and before != target:
                state.need_outer = True
            set_again = {f'apps.{app_id}.latency_target_ms',
                         f'apps.{app_id}.min_accuracy'} & set(touched)
            if before is not None and (set_again or (
                    before.latency_target_ms, before.min_accuracy) != (
                    target.latency_target_ms, target.min_accuracy)):
                # A new target is new information: what the inner loop learnt about which
                # sub-networks fit (its hold after a down-switch, its backoff) no longer holds.
                reset_learning(state)
            self._configure_mapping(state, target)
        for app_id in set(self.apps) - set(config.apps):
            del self.apps[app_id]

    def _new_state(self, target, config):
        """Return a fresh AppState: one latency model per listed domain, on the first."""
        listed = [self.domains[n] for n in target.domains or (self.default_domain,)]
        keys = target.profile_keys or ()
        models = {}
        for i, domain in enumerate(listed):
            key = (keys[i] if i < len(keys) else '') or (target.profile_key if i == 0 else '')
            models[domain.name] = LatencyModel(
                self._catalog(target.catalog), domain, key,
                sensitivity=config.frequency_sensitivity, gain=config.correction_gain)
        state = AppState(listed[0], models[listed[0].name])
        if len(listed) > 1:
            state.placement = AppPlacement(tuple(listed), models)
        return state

    def _configure_mapping(self, state, target):
        if not self.mode.maps_threads or target.max_threads <= 0:
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

    def set_hardware_limits(self, reported):
        """
        Plan only over what the hardware node accepts ({name: hardware_limits.Reported}).

        Domains it cannot write are never commanded; the others are planned up to their cap.
        Return {name: why not commanded}.
        """
        kept, excluded = hardware_limits.limit(self.profile_domains, reported)
        for name, domain in kept.items():
            self.domains[name] = domain      # the outer loop shares this dict
            self.cap[name] = len(domain.frequencies_khz) - 1   # thermal caps re-apply
            pin = self.commanded.get(name)
            if pin is not None and pin.mode == 'pin' and pin.frequency_khz > (
                    domain.frequencies_khz[-1]):
                del self.commanded[name]
        self.not_commanded = excluded
        for name in excluded:
            self.commanded.pop(name, None)
        return excluded

    def _commandable(self, out):
        """Drop DVFS decisions for domains the hardware node reports it cannot write."""
        if self.not_commanded:
            out.dvfs = [d for d in out.dvfs if d.domain not in self.not_commanded]
            for name in self.not_commanded:
                self.commanded.pop(name, None)
        return out

    # ----------------------------------------------------------------- telemetry
    def on_system(self, snapshot):
        """Take one SystemSnapshot; remember what each domain's own governor runs."""
        self.system = snapshot
        for name, khz in snapshot.cur_khz.items():
            pin = self.commanded.get(name)
            if name in self.domains and khz > 0 and (pin is None or pin.mode != 'pin'):
                self.outer.governed[name] = float(khz)

    def on_power(self, snapshot):
        self.power_snapshot = snapshot
        if snapshot.measured and self.system is not None:
            freqs = {name: self.last_frequency(name) for name in self.domains}
            loads = telemetry.busy_shares(self.system, [a.domain.name for a in self.apps.values()])
            self.power.observe(snapshot.total_w, freqs, loads)

    def is_fresh(self, now):
        """Return True when system telemetry is fresh at `now`; changes nothing."""
        return telemetry.is_fresh(self.system, now, self.config.stale_after_s)

    def staleness(self, now):
        """Return why system telemetry is stale at `now` ('' : it is fresh); changes nothing."""
        return telemetry.staleness(self.system, now, self.config.stale_after_s)

    def frequency(self, name, now):
        """Return the domain's frequency at `now`: measured if fresh, else pinned, else maximum."""
        snapshot = self.system if self.is_fresh(now) else None
        return telemetry.running_frequency(self.domains[name], snapshot, self.commanded.get(name))

    def last_frequency(self, name):
        """Return the domain's last measured frequency whatever its age, else pinned, else max."""
        return telemetry.running_frequency(self.domains[name], self.system,
                                           self.commanded.get(name))

    # ----------------------------------------------------------------- decisions
    def _learn(self, stats, state, index, f, slowdown, tail):
        """
        Let the latency models learn from a frame; on a shared domain once its overlap is known.

        Alone on its domain a frame is learnt at once. Sharing it, the frame waits in the
        overlap ledger (overlap.py) until the others' intervals around it are known, and is then
        learnt against what sharing actually cost it, not the mean model's estimate.
        """
        if not shares_domain(self.apps, stats.app_id) and not any(
                f.app_id == stats.app_id for f in self.ledger.pending):
            state.model.observe(index, f, stats.inference_latency_ms, slowdown, tail)
            return
        self.ledger.add(stats.app_id, state.domain.name, stats.t, stats.inference_latency_ms,
                        index, f, tail)
        on_domain = {}
        for app_id, s in self.apps.items():
            on_domain.setdefault(s.domain.name, []).append(app_id)
        for frame in self.ledger.settle(stats.t, on_domain):
            owner = self.apps.get(frame.app_id)
            if owner is not None and owner.domain.name == frame.domain:
                owner.model.observe(frame.index, frame.f_khz, frame.latency_ms, frame.slowdown,
                                    frame.tail)

    def on_frame(self, stats):
        """Handle one PerceptionStats; return the Decisions it causes (possibly none)."""
        state = self.apps.get(stats.app_id)
        if state is None:
            return Decisions()
        update_rate(state, stats)
        index = stats.subnet_index
        if not 0 <= index < len(state.model.base):
            index = state.current
        if state.placement is not None and self.mode.maps_devices:
            learner = frame_model(state, stats.device)
            if learner is not state.model:      # ran where the application was before a move
                if learner is not None and index >= 0:
                    learner.observe(index, self.frequency(learner.domain.name, stats.t),
                                    stats.inference_latency_ms)
                state.last_t, state.measured_ms = stats.t, stats.inference_latency_ms
                return Decisions()
        f = self.frequency(state.domain.name, stats.t)
        slowdown, tail = sharing_slowdowns(self.apps, stats.app_id, f,
                                           self.config.latency_quantile)
        out = Decisions()
        if state.mapping is not None and index >= 0:
            out.extend(map_frame(stats.app_id, state, stats, index, f, slowdown,
                                 self.is_fresh(stats.t)))
            if state.mapping.current and stats.num_threads != state.mapping.current:
                state.last_t, state.measured_ms = stats.t, stats.inference_latency_ms
                return out     # ran with the previous mapping: says nothing about the new one
        state.model.set_threads(stats.num_threads)
        if index >= 0:
            self._learn(stats, state, index, f, slowdown, tail)
        state.last_t = stats.t
        state.measured_ms = stats.inference_latency_ms
        if state.current < 0 and index >= 0:
            state.current = index
        out.extend(self.mode.on_frame(self, stats.app_id, state, index, f, tail))
        if any(a.need_outer for a in self.apps.values()) and (
                stats.t - self.last_outer >= 0.25 * self.config.control_period_s):
            out.extend(self.step(stats.t))
        return out

    def step(self, now):
        """Run the mode's control-period step once; return the Decisions that changed."""
        return self._commandable(self.mode.on_period(self, now))

    # ----------------------------------------------------------------- reporting
    def status(self, now):
        """Return the current decision and model state for diagnostics; changes nothing."""
        return {
            'policy': self.config.policy,
            'stale': self.mode.staleness(self, now),
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
                'domain': s.domain.name,
                'placement': s.placement.note if s.placement else 'one domain',
            } for a, s in self.apps.items()},
        }
