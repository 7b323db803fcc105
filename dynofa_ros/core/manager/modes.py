"""
The manager's policies as mode objects: what each does on a frame and each control period.

`select(name)` returns the mode for a `policy` setting (config.POLICIES):

| mode | per frame | per period | DVFS | sub-networks | thread / device mapping |
|---|---|---|---|---|---|
| DynOfa (dynofa) | inner loop | outer loop | searched | switched | yes / yes |
| AlgorithmOnly | inner loop | outer loop | thermal cap (maximum) | switched | no / no |
| HardwareOnly | over target: early outer step | outer loop | searched | fixed | no / no |
| GovernorBaseline (performance, ...) | nothing | governor command | kernel | fixed | no / no |

A mode keeps no state of its own: it acts on the ManagerPolicy it is given (`manager`).
"""

import math

from dynofa_ros.core.manager.config import GOVERNOR_POLICIES
from dynofa_ros.core.manager.data import Decisions, DvfsDecision
from dynofa_ros.core.manager.inner_loop import (end_of_contention, held, inner_step,
                                                shares_domain, subnet_decision)
from dynofa_ros.core.manager.outer_loop import command, thermal_caps
import numpy as np


class Mode:
    """One `policy` setting; subclasses say what it does."""

    maps_threads = False       # commands the intra-op thread count (apps with max_threads > 0)
    maps_devices = False       # moves applications between their listed domains (placement.py)

    def __init__(self, name):
        self.name = name

    def on_frame(self, manager, app_id, state, index, f, slowdown):
        """
        React to one frame, already observed by the latency model; return Decisions.

        index: the sub-network it ran, f: the domain's frequency, slowdown: from sharing it.
        """
        return Decisions()

    def on_period(self, manager, now):
        """Run once per control period (and on an early outer step); return Decisions."""
        raise NotImplementedError

    def staleness(self, manager, now):
        """Return why decisions are held at `now` ('' : they are not); changes nothing."""
        return manager.staleness(now)

    def __repr__(self):
        return f'{type(self).__name__}({self.name!r})'


class ManagedMode(Mode):
    """Decides frequencies and sub-networks itself: the outer loop each period."""

    def on_period(self, manager, now):
        if not manager.is_fresh(now):
            return Decisions()
        manager.last_outer = now
        cfg = manager.config
        temp = manager.system.max_temperature_c
        if cfg.temperature_limit_c > 0 and math.isfinite(temp):
            manager.cap.update(thermal_caps(manager.cap, manager.domains, temp,
                                            cfg.temperature_limit_c))
        return manager.outer.step(manager.apps, cfg, self, manager.cap, manager.commanded, now)

    def frequencies(self, domain, cap):
        """Return what the outer loop may choose from, in kHz: indices up to `cap`."""
        return np.array(domain.frequencies_khz[:cap + 1], dtype=float)

    def allowed(self, state, config):
        """Return the sub-networks the outer loop may choose for an application (None: all)."""
        return (state.fixed,)


class SubnetSwitching(ManagedMode):
    """Switches sub-networks: the inner loop on every frame, all of them in the outer loop."""

    def on_frame(self, manager, app_id, state, index, f, slowdown):
        if not index == state.current >= 0:
            return Decisions()
        end_of_contention(state)
        choice, reason = inner_step(state, manager.config.apps[app_id], manager.config, f,
                                    slowdown, may_go_up=not shares_domain(manager.apps, app_id))
        if choice is None:
            return Decisions()
        state.current = choice
        state.over = state.under = state.since_switch = 0
        state.predicted_ms = state.model.predict(choice, f, slowdown)
        return Decisions(subnets=[subnet_decision(app_id, state, reason)])

    def allowed(self, state, config):
        if held(state, config):
            # The inner loop just measured that more accurate ones do not fit: respect it.
            return tuple(range(state.current + 1))
        return None


class DynOfa(SubnetSwitching):
    """Dynamic-OFA: sub-networks, DVFS frequencies, thread and device mapping together."""

    maps_threads = True
    maps_devices = True


class AlgorithmOnly(SubnetSwitching):
    """Sub-networks only: the frequency stays pinned at the thermal cap (the maximum)."""

    def frequencies(self, domain, cap):
        return np.array([domain.frequencies_khz[cap]], dtype=float)


class HardwareOnly(ManagedMode):
    """DVFS only, on a fixed sub-network; a frame over target asks for an early outer step."""

    def on_frame(self, manager, app_id, state, index, f, slowdown):
        if state.measured_ms > manager.config.apps[app_id].latency_target_ms:
            state.need_outer = True
        return Decisions()


class GovernorBaseline(Mode):
    """A Linux governor runs every application domain; each app keeps its fixed sub-network."""

    @property
    def governor(self):
        return self.name

    def on_period(self, manager, now):
        out = Decisions()
        for state in manager.apps.values():
            governor = state.domain.baseline_governor(self.name)
            command(manager.commanded, DvfsDecision(
                state.domain.name, 'governor', 0, governor,
                f'baseline: {governor} governor, fixed sub-network'), out)
        for app_id, state in manager.apps.items():
            state.note = 'baseline: targets not managed'
            if state.current != state.fixed:
                state.current = state.fixed
                state.predicted_ms = state.model.predict(state.fixed, state.domain.f_max)
                out.subnets.append(subnet_decision(
                    app_id, state, f'baseline {self.name}: fixed sub-network'))
        return out

    def staleness(self, manager, now):
        return ''      # nothing is decided from telemetry


MODES = {'dynofa': DynOfa, 'algorithm_only': AlgorithmOnly, 'hardware_only': HardwareOnly}


def select(name):
    """Return the mode object for a `policy` setting."""
    if name in GOVERNOR_POLICIES:
        return GovernorBaseline(name)
    if name not in MODES:
        raise ValueError(f'unknown policy {name!r}')
    return MODES[name](name)
