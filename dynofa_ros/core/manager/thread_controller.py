"""
Task mapping of one application: its intra-op thread count, chosen from measured slowdowns.

Per frame the controller gets the measured inference latency, the thread count the frame ran
with and the profiled prediction of that frame's sub-network and frequency at every allowed
thread count. It keeps an EWMA of slowdown = measured / predicted per thread count and:
- drops to fewer threads (half, at least min_threads) after `slow_frames` consecutive frames
  slower than `slow` x predicted, frame and EWMA alike (other programs on the same cores stall
  OpenMP barriers), and doubles the probe interval;
- when the count it dropped to was itself slowed under the contention (EWMA over `calm` after
  probe_frames frames) and then runs near its profile again (EWMA <= `calm` and at most 0.8 x
  what it ran at under contention), the contention is over: it probes again at once, with the
  interval back at probe_s (a count the contention did not slow gives no such signal; the
  doubled interval then stands);
- probes one more thread every probe interval (from probe_s, doubled after a probe that was
  worse, at most MAX_PROBE_S) while the current count runs well, and after `probe_frames`
  frames keeps whichever count has the lower expected latency (slowdown x prediction);
- changes nothing on stale telemetry or while frames still run with the previous count (after
  ADOPT_FRAMES such frames, e.g. a refused command, it adopts the count the frames report).
Changes therefore come at most one drop per `slow_frames` frames or one probe per interval.
"""

from dataclasses import dataclass, field
import math

from dynofa_ros.core.manager.data import Decisions, MappingDecision

MAX_PROBE_S = 120.0
ADOPT_FRAMES = 20   # frames at another count (command refused, set by hand) before adopting it
NEVER = math.inf


@dataclass
class ThreadController:
    """Choose the intra-op thread count of one application."""

    min_threads: int = 1
    max_threads: int = 1
    probe_s: float = 15.0
    slow: float = 2.0
    slow_frames: int = 3
    probe_frames: int = 5
    gain: float = 0.3
    keep_gain: float = 0.1          # a probe is kept only when it is this share faster
    calm: float = 1.25              # slowdown at most this: the count runs as profiled
    after_contention: bool = False  # dropped for contention, waiting for it to end
    contended: float = 0.0          # slowdown of the fewer threads under it (0: not measured)
    current: int = 0                # commanded (or adopted) thread count, 0: none yet
    slowdown: dict = field(default_factory=dict)   # threads -> EWMA of measured / predicted
    over: int = 0
    settled: int = 0                # frames at the current count since it was set
    probe_from: int = 0             # count before the running probe, 0: not probing
    interval: float = 0.0
    next_probe: float = NEVER
    last_t: float = -NEVER
    mismatch: int = 0               # frames in a row at a count other than the commanded one
    note: str = 'no frame yet'

    def __post_init__(self):
        self.interval = self.probe_s

    def observe(self, t, threads, measured_ms, predicted, fresh=True):
        """
        Handle one frame; return (new thread count, reason), or None to keep the mapping.

        predicted maps each allowed thread count to the profiled latency (ms) of this frame's
        sub-network and frequency; fresh is False when the telemetry behind it is stale.
        """
        if not fresh or t < self.last_t or threads <= 0 or not measured_ms > 0:
            self.over = 0
            return None
        self.last_t = t
        if self.current == 0:
            self.current = threads
        if self.next_probe == NEVER:
            self.next_probe = t + self.interval
        clamped = min(max(threads, self.min_threads), self.max_threads)
        if threads == self.current and clamped != threads:
            return self._set(t, clamped, f'{threads} threads outside the allowed '
                                         f'[{self.min_threads}, {self.max_threads}]')
        if threads != self.current:
            self.mismatch += 1
            if self.mismatch < ADOPT_FRAMES:
                return None     # the last command is not applied yet
            self.note = f'runs {threads} threads, not the commanded {self.current}: adopted'
            self.current, self.probe_from, self.settled = threads, 0, 0
        self.mismatch = 0
        base = predicted.get(threads, 0.0)
        if not base > 0:
            return None
        raw = measured_ms / base
        old = self.slowdown.get(threads)
        self.slowdown[threads] = raw if old is None else math.exp(
            (1 - self.gain) * math.log(old) + self.gain * math.log(raw))
        self.settled += 1
        self.over = self.over + 1 if min(raw, self.slowdown[threads]) > self.slow else 0
        if self.probe_from:
            return self._judge_probe(t, predicted)
        if self.over >= self.slow_frames and self.current > self.min_threads:
            fewer = max(self.min_threads, self.current // 2)
            self.interval = min(2 * self.interval, MAX_PROBE_S)   # more threads were bad
            self.after_contention, self.contended = True, 0.0
            return self._set(t, fewer, f'{self.current} threads run {raw:.1f}x slower than '
                                       f'profiled for {self.over} frames (contention)')
        if self.after_contention and self.settled >= self.probe_frames:
            now = self.slowdown[threads]
            if not self.contended:
                self.contended = now
                self.after_contention = now > self.calm   # unaffected: no end to wait for
            elif now <= min(self.calm, 0.8 * self.contended):
                # The count chosen under contention runs as profiled again: it is over.
                self.after_contention, self.contended = False, 0.0
                self.interval = self.probe_s
                self.next_probe = t
        if (self.current < self.max_threads and t >= self.next_probe and self.over == 0
                and self.settled >= self.probe_frames
                and self.slowdown[threads] <= self.slow):
            self.probe_from = self.current
            self.slowdown.pop(self.current + 1, None)   # judge the probe on fresh frames only
            return self._set(t, self.current + 1, f'probe: {self.current} threads run at '
                                                  f'{self.slowdown[threads]:.2f}x profiled')
        return None

    def _judge_probe(self, t, predicted):
        new, old = self.current, self.probe_from
        if self.over < self.slow_frames and self.settled < self.probe_frames:
            return None
        self.probe_from = 0
        mine = self.slowdown[new] * predicted.get(new, 0.0)
        before = self.slowdown.get(old, math.inf) * predicted.get(old, 0.0)
        detail = f'{new} threads ~{mine:.1f} ms vs {old} threads ~{before:.1f} ms'
        if mine < before * (1 - self.keep_gain):
            self.interval = self.probe_s
            self.next_probe = t + self.interval
            self.note = f'probe kept, {detail}'
            return None
        self.interval = min(2 * self.interval, MAX_PROBE_S)
        return self._set(t, old, f'probe reverted, {detail}; next probe in '
                                 f'{self.interval:.0f} s')

    def _set(self, t, threads, why):
        self.current = threads
        self.over = self.settled = 0
        self.next_probe = t + self.interval
        self.note = f'{threads} threads: {why}'
        return threads, f'mapping: {self.note}'


def map_frame(app_id, state, stats, index, f, slowdown, fresh):
    """Feed an application's controller one frame; on a change switch its model's profile."""
    mapping, threads = state.mapping, stats.num_threads
    counts = {n for n in (threads, mapping.probe_from) if n > 0}
    predicted = {n: state.model.profiled(index, f, n, slowdown) for n in counts}
    change = mapping.observe(stats.t, threads, stats.inference_latency_ms, predicted, fresh)
    if change is None:
        return Decisions()
    threads, reason = change
    state.model.set_threads(threads)
    # Start the correction from what is known of that count rather than the old one's.
    state.model.ratio = state.model.scale * mapping.slowdown.get(threads, 1.0)
    state.model.spread.clear()      # the spread measured at the other count says nothing here
    state.need_outer = True
    return Decisions(mappings=[MappingDecision(app_id, threads, reason=reason)])
