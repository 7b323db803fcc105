"""
Device mapping: which of its listed domains each application runs on (policy dynofa).

An application listing several domains (apps.<id>.domains) has one LatencyModel per domain: the
active one learns from every frame, the others keep their profile (and what they learnt when the
application last ran there). Each outer step (outer_loop.py) evaluates the current placement and
up to MAX_PLACEMENTS others (each movable application on each of its candidate domains) with
the usual per-domain joint search, and compares them by predicted board energy per frame
(static power once). A feasible placement is left for a cheaper one only when that saves more
than `mapping_move_saving` and every application it moves has stayed `mapping_dwell_s` where it
is; a placement that cannot meet a target is left at once for one that can.

The perception node reports the device each frame ran on (PerceptionStats.device). Frames from
the previous device after a move are learnt by that device's model; when ADOPT_FRAMES frames in
a row still come from another device, the move was refused (e.g. 'cuda' without CUDA): the
domain is never tried again for that application (until its domains are set again) and the
manager adopts the domain the frames come from.
"""

from dataclasses import dataclass, field
import itertools
import math

from dynofa_ros.core.manager.data import MappingDecision
from dynofa_ros.core.manager.inner_loop import reset_learning

MAX_PLACEMENTS = 64     # placements evaluated per outer step besides the current one
ADOPT_FRAMES = 10       # frames in a row from another device before a move counts as refused


def device_of(domain):
    """Return the MappingCommand device of a domain: 'cuda' for a devfreq GPU, else 'cpu'."""
    return 'cuda' if domain.kind == 'devfreq' else 'cpu'


def _reported(device):
    device = str(device or '').strip().lower()
    return 'cuda' if device.startswith('cuda') else device


@dataclass
class AppPlacement:
    """The domains an application may run on, one latency model each, and its moves."""

    domains: tuple              # listed Domains; the application starts on the first
    models: dict                # domain name -> LatencyModel
    refused: set = field(default_factory=set)   # domains the perception node did not move to
    moved_t: float = -math.inf  # time of the last move
    move_from: str = ''         # domain before the last move until a frame confirms it
    mismatch: int = 0           # frames in a row from a device other than the active domain's
    sent: bool = False          # the active domain's device was commanded
    note: str = 'not placed yet'

    def domain(self, name):
        return next(d for d in self.domains if d.name == name)

    def candidates(self):
        """Return the names of the domains it may be placed on (the first always)."""
        return [d.name for i, d in enumerate(self.domains) if d.name not in self.refused and (
            i == 0 or self.models[d.name].calibrated)]


def activate(state, name):
    """Make `name` the application's active domain and model (learning starts afresh)."""
    p = state.placement
    state.domain, state.model = p.domain(name), p.models[name]
    reset_learning(state)


def frame_model(state, device):
    """
    Check the device a frame ran on; return the LatencyModel that frame teaches (None: none).

    May switch the active domain: after ADOPT_FRAMES frames in a row from another device.
    """
    p, got = state.placement, _reported(device)
    if p is None or not got or got == device_of(state.domain):
        if p is not None and got:
            p.mismatch, p.move_from = 0, ''
        return state.model
    p.mismatch += 1
    back = [n for n in ([p.move_from] if p.move_from else []) + [d.name for d in p.domains]
            if n not in p.refused and device_of(p.domain(n)) == got]
    if p.mismatch < ADOPT_FRAMES:
        return p.models[p.move_from] if p.move_from and back[:1] == [p.move_from] else None
    if p.sent:
        p.refused.add(state.domain.name)
    was = state.domain.name
    p.mismatch, p.move_from = 0, ''
    if not back:
        p.note = f'runs on {got}, which none of its domains uses: kept on {was}'
        return None
    activate(state, back[0])
    p.sent = True
    p.note = (f'on {back[0]}: the perception node kept running on {got}, not on {was}; '
              f'{was} is not tried again')
    return state.model


def movable(apps):
    """
    Return {app_id: candidate domain names} of the applications with a choice of domain.

    Only once its frame rate is measured: before, nothing says the current domain cannot cope.
    """
    out = {}
    for app_id, state in sorted(apps.items()):
        if state.placement is not None and state.rate_hz > 0:   # its frames measured
            names = state.placement.candidates()
            if state.domain.name not in names:
                names.insert(0, state.domain.name)
            if len(names) > 1:
                out[app_id] = names
    return out


def enumerate_placements(apps, choices, now, dwell_s, forced):
    """
    Return up to MAX_PLACEMENTS placements ({app_id: domain name}) other than the current one.

    An application moved less than dwell_s ago stays where it is unless `forced` (the current
    placement cannot meet a target).
    """
    current = {a: s.domain.name for a, s in apps.items()}
    options = []
    for app_id, names in choices.items():
        settled = now - apps[app_id].placement.moved_t >= dwell_s
        options.append(names if settled or forced else [current[app_id]])
    out = []
    for combo in itertools.product(*options):
        placement = dict(current, **dict(zip(choices, combo)))
        if placement != current:
            out.append(placement)
            if len(out) >= MAX_PLACEMENTS:
                break
    return out


@dataclass
class Evaluated:
    """One placement planned by the outer loop."""

    domains: dict               # app_id -> domain name
    plans: dict                 # domain name -> (kHz, joint_search.Choice, domain W at full load)
    energy_mj: float            # predicted board energy per frame
    score: float                # mean top-1 per frame, weighted by priority
    feasible: bool


def board_energy(plans, groups, rates, static_w, idle_w):
    """
    Return predicted board mJ per frame of a placement from its per-domain choices.

    Each domain's choice holds energy per frame = board power / fps x arrived / fps with the
    static power in it; its own power is recovered from that, the static power counted once,
    plus idle_w (the leakage of the listed domains left without applications).
    """
    power, fps, arrived = static_w + idle_w, 0.0, 0.0
    for name, (_, choice, _) in plans.items():
        done = come = 0.0
        for app_id, latency in zip(groups[name], choice.latency_ms):
            rate, most = rates[app_id], 1000.0 / max(latency, 1e-9)
            done += min(rate, most) if rate > 0 else most
            come += rate if rate > 0 else most
        power += choice.energy_mj / 1000.0 * done * done / come - static_w
        fps, arrived = fps + done, arrived + come
    return 1000.0 * power / fps * (arrived / fps)


def choose(current, others, cfg):
    """Return (the placement to run, why) from the current one and the others evaluated."""
    feasible = [e for e in [current] + others if e.feasible]
    if not feasible:
        return current, ''
    if cfg.objective == 'accuracy':
        best_score = max(e.score for e in feasible)
        feasible = [e for e in feasible if e.score >= best_score - cfg.accuracy_slack]
    best = min(feasible, key=lambda e: (e.energy_mj, -e.score))
    if best.domains == current.domains:
        return current, ''
    if any(e is current for e in feasible):
        saving = 1.0 - best.energy_mj / current.energy_mj
        if saving <= cfg.mapping_move_saving:
            return current, ''
        return best, f'saves {100 * saving:.0f}% energy per frame (predicted)'
    if not current.feasible:
        return best, 'the current placement cannot meet every target'
    return best, 'the current placement is less accurate'


def moves(apps, chosen, why, now, mapping_threads):
    """Move applications to the chosen placement; return their MappingDecisions."""
    out = []
    for app_id, state in sorted(apps.items()):
        p = state.placement
        if p is None:
            continue
        name = chosen.domains[app_id]
        if name != state.domain.name:
            was = state.domain.name
            activate(state, name)
            p.moved_t, p.move_from, p.mismatch = now, was, 0
            p.note = f'on {name} (from {was}: {why})'
        elif p.sent:
            continue
        else:
            p.note = f'on {name} (starts there)'
        p.sent = True
        domain = state.domain
        cores = tuple(domain.cpus) if domain.kind == 'cpufreq' else ()
        out.append(MappingDecision(app_id, mapping_threads(state), device_of(domain), cores,
                                   f'placement: {p.note}'))
    return out
