"""
The manager's inner loop: per-frame sub-network switching with hysteresis, for one application.

Faster after down_frames frames over the target (to the most accurate sub-network predicted, with
this frame's measured ratio, to fit target x margin; at least one step); more accurate after
up_frames x backoff frames under target x band_low, when one is predicted to fit. An up-switch
undone within 2 x up_frames x backoff frames doubles backoff (at most 16); 20 x up_frames calm
frames halve it again. Together with the band gap this keeps a noisy latency from oscillating.
Applications sharing a domain slow each other down by their busy shares (`sharing_slowdown`).
"""

from dataclasses import dataclass
import math

from dynofa_ros.core.manager.data import SubnetDecision
from dynofa_ros.core.manager.latency_model import LatencyModel
import numpy as np

MAX_BACKOFF = 16
NEVER = 10 ** 9


@dataclass
class AppState:
    """What the manager tracks for one application."""

    domain: object
    model: LatencyModel
    fixed: int = 0
    current: int = -1
    over: int = 0
    under: int = 0
    since_switch: int = 0
    since_up: int = NEVER
    since_down: int = NEVER
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


def sharing_slowdown(apps, app_id, f_khz):
    """Return 1 + the busy shares of the other applications on app_id's domain at f_khz."""
    name = apps[app_id].domain.name
    return 1.0 + sum(_demand(s, f_khz) for a, s in apps.items()
                     if a != app_id and s.domain.name == name)


def _demand(state, f_khz):
    if state.current < 0 or state.rate_hz <= 0:
        return 1.0
    return min(1.0, state.model.predict(state.current, f_khz) * state.rate_hz / 1000.0)


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
        best = best_fit(state, target, cfg.latency_margin, f, slowdown * max(1.0, instant))
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
        return choice, f'inner: {latency:.1f} ms over {limit:g} ms target'
    if state.under >= cfg.up_frames * state.backoff:
        state.under = 0
        best = best_fit(state, target, cfg.latency_margin, f, slowdown)
        if best > state.current and may_go_up:
            state.since_up = 0
            return best, f'inner: {latency:.1f} ms under {limit * cfg.band_low:.1f} ms band'
    return None, ''


def subnet_decision(app_id, state, reason):
    """Return the SubnetDecision for the application's current sub-network."""
    s = state.model.catalog.subnets[state.current]
    return SubnetDecision(app_id, s.index, s.id, round(state.predicted_ms, 3), s.top1, reason)
