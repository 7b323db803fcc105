"""
What sharing a domain cost each frame, from the frames' own timing.

Applications time-slicing one domain (sharing.py) each run at 1/n of its speed while n of them
infer. A frame's measured latency therefore mixes its own work with how much it overlapped the
others, and a latency model that learns from it directly cannot tell a sub-network slower than
profiled from a busy neighbour: on a GPU shared by two 8 Hz cameras the ratio learnt 0.88 at
one frequency where the frames overlapped little, under-predicted the next lower frequency by
12 %, and the plan there missed its target (the overlap grew with the latency).

Every frame reports when it ended (the manager's receive time) and how long it ran, so the
ledger knows each application's inference intervals and, once every other application on the
domain has reported a frame ending after it (or SETTLE_S passed), how many ran at each moment of
a frame: its solo time is the integral of 1/n over its interval. Learning from that solo time
separates the profile's error from sharing; the tail model plans for the sharing.
"""

from dataclasses import dataclass

SETTLE_S = 1.0      # a frame's overlap counts as known this long after it ended
KEEP_S = 5.0        # intervals kept for settling later frames


@dataclass
class Frame:
    """One measured frame waiting for its overlap to be known."""

    app_id: str
    domain: str
    start: float
    end: float
    index: int
    f_khz: float
    latency_ms: float
    tail: float
    solo_ms: float = 0.0

    @property
    def slowdown(self):
        """Return measured / solo latency: what sharing cost this frame (at least 1)."""
        ratio = self.latency_ms / self.solo_ms if self.solo_ms > 0 else 1.0
        return ratio if ratio > 1.0 + 1e-6 else 1.0     # alone: exactly 1 (sensitivity fit)


class OverlapLedger:
    """Recent inference intervals per domain; settles frames whose overlap is known."""

    def __init__(self):
        self.intervals = []     # (domain, app_id, start, end)
        self.pending = []       # Frames not yet settled

    def add(self, app_id, domain, end_t, latency_ms, index, f_khz, tail):
        """Record one frame (ended at end_t, s) of app_id on domain."""
        start = end_t - latency_ms / 1000.0
        self.intervals.append((domain, app_id, start, end_t))
        self.pending.append(Frame(app_id, domain, start, end_t, index, f_khz, latency_ms, tail))

    def settle(self, now, on_domain):
        """
        Return the pending Frames whose overlap is now known, each with its solo_ms.

        on_domain: {domain: app ids running there now}. A frame is settled once every other
        application on its domain reported a frame ending at or after it, or SETTLE_S passed.
        """
        last_end = {}
        for domain, app_id, _, end in self.intervals:
            key = (domain, app_id)
            last_end[key] = max(last_end.get(key, end), end)
        done, waiting = [], []
        for frame in self.pending:
            others = [a for a in on_domain.get(frame.domain, ()) if a != frame.app_id]
            if now - frame.end >= SETTLE_S or all(
                    last_end.get((frame.domain, a), -1.0) >= frame.end for a in others):
                frame.solo_ms = 1000.0 * self._solo_s(frame)
                done.append(frame)
            else:
                waiting.append(frame)
        self.pending = waiting
        self.intervals = [i for i in self.intervals if i[3] >= now - KEEP_S]
        return done

    def _solo_s(self, frame):
        """Return the frame's work in seconds alone: its interval, each moment / apps running."""
        others = [(max(s, frame.start), min(e, frame.end))
                  for domain, app_id, s, e in self.intervals
                  if domain == frame.domain and app_id != frame.app_id
                  and s < frame.end and e > frame.start]
        cuts = sorted({frame.start, frame.end} | {t for span in others for t in span})
        solo = 0.0
        for a, b in zip(cuts[:-1], cuts[1:]):
            mid = 0.5 * (a + b)
            running = 1 + sum(1 for s, e in others if s <= mid < e)
            solo += (b - a) / running
        return solo
