"""
The manager's inner loop: per-frame sub-network switching with hysteresis, for one application.

Faster after down_frames frames over the target (to the most accurate sub-network predicted, with
this frame's measured ratio, to fit target x margin; at least one step); more accurate after
up_frames x backoff frames under target x band_low, when one is predicted to fit, up to the outer
loop's last choice (the plan: above it the outer loop decides, by energy too). An up-switch
undone within 2 x up_frames x backoff frames doubles backoff (at most 16); 20 x up_frames calm
frames halve it again. Together with the band gap this keeps a noisy latency from oscillating.
Contention (measured/predicted above CONTENDED) that ends (back below RECOVERED) clears the
backoff and the hold after a down-switch (`end_of_contention`): what was learnt under it is stale.
Applications sharing a domain slow each other down by fair time slicing (`sharing_slowdowns`).
"""

from dataclasses import dataclass
import math

from dynofa_ros.core.manager import sharing
from dynofa_ros.core.manager.data import SubnetDecision
from dynofa_ros.core.manager.latency_model import LatencyModel
import numpy as np

MAX_BACKOFF = 16
NEVER = 10 ** 9
CONTENDED = 1.3     # measured / predicted (EWMA, over the profile's scale): slowed by contention
RECOVERED = 1.15    # ... back near 1: the contention is over


@dataclass
class AppState:
    """What the manager tracks for one application."""

    domain: object
    model: LatencyModel
    fixed: int = 0
    current: int = -1
    planned: int = -1           # the outer loop's last free choice: the inner loop climbs to it
    plan_free: bool = False     # the outer loop's last step could choose any sub-network
    over: int = 0
    under: int = 0
    since_switch: int = 0
    since_up: int = NEVER
    since_down: int = NEVER
    down_t: float = -math.inf   # time of the last down-switch by the inner loop
    contended: bool = False
    backoff: int = 1
    calm: int = 0
    last_t: float = None
    measured_ms: float = math.nan
    predicted_ms: float = math.nan
    rate_hz: float = 0.0
    rate_mark: tuple = None
    feasible: bool = True
    note: str = 'no decision yet'
    need_outer: bool = False
    mapping: object = None      # thread_mapping.ThreadController, None: mapping not managed
    placement: object = None    # placement.AppPlacement, None: one domain, never moved


def update_rate(state, stats):
    """Estimate the camera rate from frames processed + dropped (EWMA over >= 0.5 s windows)."""
    arrived = stats.frames_processed + stats.frames_dropped
    if state.rate_mark is None or arrived < state.rate_mark[1]:
        state.rate_mark = (stats.t, arrived)
        return
    dt = stats.t - state.rate_mark[0]
    if dt >= 0.5:
        rate = (arrived - state.rate_mark[1]) / dt
        state.rate_hz = rate if state.rate_hz <= 0 else 0.7 * state.rate_hz + 0.3 * rate
        state.rate_mark = (stats.t, arrived)


def shares_domain(apps, app_id):
    """Return True when another application in `apps` (id -> AppState) runs on app_id's domain."""
    name = apps[app_id].domain.name
    return any(a != app_id and s.domain.name == name for a, s in apps.items())


def sharing_slowdowns(apps, app_id, f_khz, quantile):
    """
    Return app_id's (mean, `quantile`) slowdown from time slicing with the others on its domain.

    sharing.py; the quantile is the tail a deadline is checked on (0: the mean again).
    """
    name = apps[app_id].domain.name
    ids = [a for a, s in apps.items() if s.domain.name == name]
    if len(ids) < 2:
        return 1.0, 1.0
    states = [apps[a] for a in ids]
    solos = [s.model.predict(s.current, f_khz) if s.current >= 0 else 1.0 for s in states]
    rates = [s.rate_hz if s.current >= 0 else 0.0 for s in states]
    mean = sharing.slowdowns(solos, rates)
    tail = sharing.tail_slowdowns(solos, rates, quantile, mean)
    i = ids.index(app_id)
    return float(mean[i]), float(tail[i])


def margin(state, cfg):
    """Return the application's latency margin: from its measured spread, else the setting."""
    return state.model.margin(cfg.latency_quantile, cfg.latency_margin)


def best_fit(state, target, margin, f, slowdown):
    """Return the most accurate sub-network predicted to fit (floor kept if possible), or -1."""
    predicted = state.model.solo(f) * slowdown
    fits = predicted <= target.latency_target_ms * margin
    floor = fits & (state.model.accuracy >= target.min_accuracy)
    fits = floor if floor.any() else fits
    return int(np.flatnonzero(fits)[-1]) if fits.any() else -1


def inner_step(state, target, cfg, f, slowdown, may_go_up=True):
    """
    Account one frame measured on the current sub-network; return (new index or None, reason).

    may_go_up=False (another application shares the domain) leaves up-switches to the outer loop.
    """
    latency, limit = state.measured_ms, target.latency_target_ms
    state.since_switch += 1
    state.since_up += 1
    state.since_down += 1
    state.calm += 1
    if state.calm >= 20 * cfg.up_frames and state.backoff > 1:
        state.backoff //= 2
        state.calm = 0
    state.over = state.over + 1 if latency > limit else 0
    state.under = state.under + 1 if latency < limit * cfg.band_low else 0
    if state.over >= cfg.down_frames:
        # React to what this frame measured, not only to the smoothed correction.
        instant = latency / state.model.predict(state.current, f, slowdown)
        best = best_fit(state, target, margin(state, cfg), f, slowdown * max(1.0, instant))
        choice = min(best, state.current - 1) if best >= 0 else 0
        state.need_outer = True
        if choice < 0 or choice == state.current:
            state.feasible = False
            state.note = 'fastest sub-network over target: outer loop asked'
            state.over = 0
            return None, ''
        if state.since_up < 2 * cfg.up_frames * state.backoff:
            state.backoff = min(MAX_BACKOFF, state.backoff * 2)
            state.calm = 0
        state.since_down = 0
        state.down_t = state.last_t if state.last_t is not None else -math.inf
        return choice, f'inner: {latency:.1f} ms over {limit:g} ms target'
    if state.under >= cfg.up_frames * state.backoff:
        state.under = 0
        best = best_fit(state, target, margin(state, cfg), f, slowdown)
        if state.planned >= 0:
            best = min(best, state.planned)    # up to the plan; above it is the outer's call
        if best > state.current and may_go_up:
            state.since_up = 0
            return best, f'inner: {latency:.1f} ms under {limit * cfg.band_low:.1f} ms band'
    return None, ''


def reset_learning(state):
    """Forget the backoff, the hold after a down-switch and the spread of a past condition."""
    state.backoff, state.since_down, state.down_t = 1, NEVER, -math.inf
    state.model.spread.clear()
    state.model.by_freq.clear()      # frames of a past condition would bias the sensitivity fit
    state.model.last_f = None
    state.over = state.under = state.calm = 0
    state.need_outer = True


def end_of_contention(state):
    """Track contention from the latency model; return True once, when it has just ended."""
    slowed = state.model.ratio / max(state.model.scale, 1e-9)
    if slowed >= CONTENDED:
        state.contended = True
    elif state.contended and slowed <= RECOVERED:
        state.contended = False
        reset_learning(state)
        return True
    return False


def held(state, cfg):
    """Return True while the outer loop must keep below the inner loop's last down-switch."""
    if state.last_t is None or state.current < 0:
        return False
    return state.last_t - state.down_t < cfg.hold_after_down_s


def subnet_decision(app_id, state, reason):
    """Return the SubnetDecision for the application's current sub-network."""
    s = state.model.catalog.subnets[state.current]
    return SubnetDecision(app_id, s.index, s.id, round(state.predicted_ms, 3), s.top1, reason)
