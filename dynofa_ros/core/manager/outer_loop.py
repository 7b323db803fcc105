"""
The manager's outer loop: once per control period, a joint search per DVFS domain.

Per domain, joint_search.DomainSearch evaluates its frequencies (up to the thermal cap; the mode
may allow only the cap) x the sub-networks of every application on it (those the mode allows).
Under a power budget the most power-hungry domain's cap is lowered until the plans fit. A still
valid current configuration is kept unless the new one is better by more than the hysteresis.
With modes that map devices, applications listing several domains may also move: the current
placement and others are planned alike and compared by board energy (placement.py); a domain
left without applications is restored.
"""

import math

from dynofa_ros.core.manager import placement
from dynofa_ros.core.manager.data import Decisions, DvfsDecision
from dynofa_ros.core.manager.inner_loop import subnet_decision
from dynofa_ros.core.manager.joint_search import AppInput, DomainSearch, frame_weight
from dynofa_ros.core.manager.latency_model import FIT_SPAN
import numpy as np

THERMAL_HYSTERESIS_C = 5.0
# The incumbent stays valid up to 2 % past its planned latency (target x its margin): more than
# the ratio's own jitter (about 1.3 % with 3 % noise and gain 0.3), less than the margin, which
# is what keeps 95 % of frames within the target.
INCUMBENT_SLACK = 1.02
# A saving the model keeps predicting is real: when the incumbent stayed (hysteresis) over a
# choice saving more than PERSIST_MIN of the domain's own energy per frame at PERSIST_STEPS
# outer steps in a row, the choice is taken. Flapping needs the reverse to be predicted as many
# times, and the old incumbent, now the dearer one, is not. Only on a domain with one
# application: on a shared one a move changes how the applications overlap, which is what the
# margin learnt from (in gpu_two it flapped between three frequencies and missed 6 % of frames).
PERSIST_STEPS = 3
PERSIST_MIN = 0.01


def thermal_caps(caps, domains, temp, limit):
    """Return the caps (highest frequency index per domain) after one reading of `temp`."""
    out = dict(caps)
    for name, d in domains.items():
        if temp >= limit:
            out[name] = max(0, caps[name] - 1)
        elif temp < limit - THERMAL_HYSTERESIS_C:
            out[name] = min(len(d.frequencies_khz) - 1, caps[name] + 1)
    return out


def command(commanded, decision, out):
    """Record a DvfsDecision in `commanded` and `out` unless it is the setting already sent."""
    if not decision.same_setting(commanded.get(decision.domain)):
        commanded[decision.domain] = decision
        out.dvfs.append(decision)


class OuterLoop:
    """The joint frequency x sub-network search of one manager over its domains."""

    def __init__(self, domains, power):
        self.domains = domains
        self.power = power
        self.now = 0.0
        self.kept = {}      # domain -> (last step, steps kept over a cheaper choice)
        self.governed = {}  # domain -> kHz its own governor ran last (the manager not pinning)

    def step(self, apps, config, mode, caps, commanded, now=0.0):
        """Decide every domain with applications; return the Decisions that changed."""
        for state in apps.values():
            state.need_outer = False
        self.now = now
        current = self._evaluate({a: s.domain.name for a, s in apps.items()}, apps, config,
                                 mode, caps, commanded)
        chosen, why = current, ''
        choices = placement.movable(apps) if mode.maps_devices else {}
        if choices:
            others = [self._evaluate(p, apps, config, mode, caps, commanded)
                      for p in placement.enumerate_placements(
                          apps, choices, now, config.mapping_dwell_s, not current.feasible)]
            chosen, why = placement.choose(current, others, config)
        out = Decisions()
        if mode.maps_devices:
            out.mappings.extend(placement.moves(
                apps, chosen, why, now, lambda s: s.mapping.current if s.mapping else 0))
        groups = _groups(chosen.domains)
        for name in sorted(set(current.plans) - set(chosen.plans)):
            # No application left on it: back to what it did before the manager pinned it.
            command(commanded, DvfsDecision(name, 'restore', reason=(
                f'no application left on {name}: restored to its own governor')), out)
        for name, (f, choice, _) in chosen.plans.items():
            out.extend(self._apply(name, groups[name], f, choice, apps, commanded))
        return out

    def _evaluate(self, domains, apps, config, mode, caps, commanded):
        """Plan one placement ({app_id: domain name}) under the power budget; an Evaluated."""
        groups = _groups(domains)
        caps = dict(caps)
        for _ in range(sum(len(d.frequencies_khz) for d in self.domains.values())):
            plans = {name: self._plan(name, ids, caps[name], apps, config, mode, commanded)
                     for name, ids in groups.items()}
            if not self._over_budget(plans, config.power_budget_w):
                break
            name = max(plans, key=lambda n: plans[n][2])
            if caps[name] == 0:
                break
            caps[name] -= 1
        feasible = all(c.feasible for _, c, _ in plans.values())
        if not any(s.placement is not None for s in apps.values()):
            return placement.Evaluated(domains, plans, math.nan, math.nan, feasible)
        listed = {d.name for s in apps.values() if s.placement is not None
                  for d in s.placement.domains}
        # A listed domain left without applications goes back to its own governor: priced at
        # what that ran last (a stock power mode keeps a CPU cluster far above its minimum).
        idle = sum(self.power.domain_power(n, self.governed.get(n, self.domains[n].f_min), 0.0)
                   for n in listed - set(plans))
        energy = placement.board_energy(plans, groups, {a: s.rate_hz for a, s in apps.items()},
                                        self.power.static_w, idle)
        weights = score = 0.0
        for name, (_, choice, _) in plans.items():
            for app_id, index, ms in zip(groups[name], choice.subnets, choice.latency_ms):
                w = float(frame_weight(config.apps[app_id].priority, apps[app_id].rate_hz, ms))
                weights += w
                score += w * float(apps[app_id].model.accuracy[index])
        return placement.Evaluated(domains, plans, energy, score / weights, feasible)

    def _plan(self, name, app_ids, cap, apps, cfg, mode, commanded):
        freqs = mode.frequencies(self.domains[name], cap)
        inputs = []
        for app_id in app_ids:
            state, target = apps[app_id], cfg.apps[app_id]
            model = _model(state, name)
            allowed = mode.allowed(state, cfg)
            state.plan_free = allowed is None     # a held step is no new plan to climb to
            solo = model.base[None, :] * (model.freq_factor(freqs)[:, None] * model.ratio)
            inputs.append(AppInput(app_id, solo, model.accuracy, target.latency_target_ms,
                                   target.min_accuracy, target.priority, state.rate_hz,
                                   allowed,
                                   model.margin(cfg.latency_quantile, cfg.latency_margin)))
        leak = self.power.domain_power(name, freqs, 0.0)
        power = (self.power.static_w, leak, self.power.domain_power(name, freqs, 1.0) - leak)
        search = DomainSearch(freqs, power, inputs, cfg.latency_margin, cfg.latency_quantile)
        choice = search.solve(cfg.accuracy_slack, objective=cfg.objective)
        current = None
        here = all(apps[a].domain.name == name for a in app_ids)
        if here:   # else it runs elsewhere now
            current = _current_index(commanded.get(name), [apps[a].current for a in app_ids],
                                     freqs)
        if current is not None and keeps_incumbent(search, current, choice, cfg) and (
                len(app_ids) > 1 or not self._persists(name, search, current, choice)):
            choice = search.choice(current, True, 'all targets met (kept: within hysteresis)')
        if cfg.frequency_probe and here and choice.feasible and len(app_ids) == 1:
            learner = apps[app_ids[0]].model      # alone on the domain: no sharing error
            anchor = learner.sampled_frequency() if learner.wants_frequency_sample() else None
            if anchor is not None:
                choice = _probe(search, choice, freqs, anchor) or choice
        f = int(freqs[choice.freq_index])
        power = self.power.domain_power(name, f, 1.0)
        return f, choice, float(power)

    def _persists(self, name, search, current, choice):
        """Count a kept incumbent against a cheaper choice; True once it is PERSIST_STEPS."""
        saving = float(search.energy[current]) - choice.energy_mj
        if saving <= PERSIST_MIN * choice.domain_mj:
            self.kept.pop(name, None)
            return False
        last, steps = self.kept.get(name, (None, 0))
        if last != self.now:        # placements sharing this domain plan it more than once
            steps += 1
        if steps >= PERSIST_STEPS:
            self.kept.pop(name, None)
            return True
        self.kept[name] = (self.now, steps)
        return False

    def _over_budget(self, plans, budget):
        if budget <= 0:
            return False
        return self.power.static_w + sum(p for _, _, p in plans.values()) > budget

    def _apply(self, name, app_ids, f, choice, apps, commanded):
        out = Decisions()
        reason = (f'outer: {f / 1000:.0f} MHz, {choice.note}, predicted '
                  + ', '.join(f'{a} {lat:.1f} ms' for a, lat in zip(app_ids, choice.tail_ms)))
        command(commanded, DvfsDecision(name, 'pin', f, '', reason), out)
        for app_id, index, latency, met in zip(app_ids, choice.subnets, choice.tail_ms,
                                               choice.met):
            state = apps[app_id]
            state.feasible = met
            state.note = choice.note
            state.predicted_ms = latency
            if state.plan_free:
                state.planned = index
            if index != state.current:
                if index > state.current >= 0:
                    state.since_up = 0
                state.current = index
                state.over = state.under = state.since_switch = 0
                out.subnets.append(subnet_decision(app_id, state, reason))
        return out


def keeps_incumbent(search, current, choice, cfg):
    """
    Return True when the running configuration `current` stays instead of the new `choice`.

    It must still be valid within INCUMBENT_SLACK, within the accuracy slack of the choice, not
    be beaten by the choice on both accuracy and energy (hysteresis guards against flapping
    between trade-offs, and a dominated incumbent is none), and cost at most energy_hysteresis of
    the domain's own energy per frame more: the choice is the least energy, so the incumbent is
    never worse by more than that (the board's static share, the same for every choice, would
    dilute the rule).
    """
    if not choice.feasible:
        return False
    valid, energy, score = search.evaluate(current, INCUMBENT_SLACK)
    best = float(search.score[(choice.freq_index,) + choice.subnets])
    if score < best - 1e-6 and energy > choice.energy_mj:
        return False
    accurate = cfg.objective == 'energy' or score >= best - cfg.accuracy_slack
    return valid and accurate and energy <= choice.energy_mj + (
        cfg.energy_hysteresis * choice.domain_mj)


def _probe(search, choice, freqs, anchor):
    """
    Return a Choice at a frequency >= FIT_SPAN from `anchor` that keeps every target, or None.

    anchor: the frequency the models already have frames at. The highest such frequency below
    it, else the lowest above it (costlier, always in time), each only if every predicted
    latency stays within what an incumbent may keep (target x margin x INCUMBENT_SLACK). Frames
    there let the latency models fit their frequency sensitivity (latency_model.py).
    """
    lower = np.flatnonzero(freqs * FIT_SPAN <= anchor)
    higher = np.flatnonzero(freqs >= anchor * FIT_SPAN)
    for candidate in ([int(lower[-1])] if lower.size else []) + (
            [int(higher[0])] if higher.size else []):
        index = (candidate,) + tuple(choice.subnets)
        if search.evaluate(index, INCUMBENT_SLACK)[0]:
            return search.choice(index, True, 'probe: another frequency, to learn how latency '
                                 'scales')
    return None


def _groups(domains):
    """Return {domain name: [app_id, ...]} of a placement {app_id: domain name}."""
    groups = {}
    for app_id, name in domains.items():
        groups.setdefault(name, []).append(app_id)
    return groups


def _model(state, name):
    """Return the application's latency model on domain `name` (the active one by default)."""
    if state.placement is None or name == state.domain.name:
        return state.model
    return state.placement.models[name]


def _current_index(pin, subnets, freqs):
    """Return the search index of what runs now (pinned frequency, sub-networks), or None."""
    if pin is None or pin.mode != 'pin' or min(subnets) < 0:
        return None
    hits = np.flatnonzero(freqs == pin.frequency_khz)
    return (int(hits[0]), *subnets) if hits.size else None
