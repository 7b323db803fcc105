"""
Counters, frame rate and the health summary of one perception node, without ROS.

The node feeds it from two threads (rejections from the subscription, processed frames from the
inference worker) and reads it from a third (the diagnostics timer), so every method locks.
"""

from collections import Counter, deque
from dataclasses import dataclass
import threading

# diagnostic_msgs/DiagnosticStatus levels, as plain numbers.
OK, WARN, ERROR = 0, 1, 2


class RateMeter:
    """Count events over a sliding window: rate() is events in the last window_s / window_s."""

    def __init__(self, window_s=1.0):
        if window_s <= 0:
            raise ValueError(f'window_s must be positive, got {window_s}')
        self.window_s = float(window_s)
        self._times = deque()

    def tick(self, now):
        self._times.append(now)
        self._trim(now)

    def rate(self, now):
        self._trim(now)
        return len(self._times) / self.window_s

    def _trim(self, now):
        while self._times and self._times[0] <= now - self.window_s:
            self._times.popleft()


@dataclass(frozen=True)
class FrameCounts:
    """What the node publishes about one processed frame (besides subnet, device, threads)."""

    frames_processed: int
    frames_dropped: int
    frames_rejected: int
    frame_rate_hz: float


class PerceptionStats:
    """Thread-safe totals since start: processed, dropped, rejected (by kind) and frame rate."""

    def __init__(self, window_s=1.0):
        self._lock = threading.Lock()
        self._rate = RateMeter(window_s)
        self._processed = 0
        self._rejected = Counter()

    def reject(self, kind):
        """Count one refused frame of this kind (see image_decode.REJECT_KINDS)."""
        with self._lock:
            self._rejected[kind] += 1

    def processed(self, now, dropped):
        """Count one processed frame at monotonic time now; dropped is the queue's total."""
        with self._lock:
            self._processed += 1
            self._rate.tick(now)
            return FrameCounts(self._processed, int(dropped), sum(self._rejected.values()),
                               self._rate.rate(now))

    def snapshot(self, now, dropped):
        """Return the current totals without counting a frame."""
        with self._lock:
            return FrameCounts(self._processed, int(dropped), sum(self._rejected.values()),
                               self._rate.rate(now))

    def rejected_by_kind(self):
        with self._lock:
            return dict(self._rejected)


def health(snapshot, active_subnet, random_weights, rejected_recently=0):
    """
    Summarise a node's state as (level, message) for its diagnostics.

    WARN when running on random weights (results are meaningless) or when frames were refused
    since the previous report (rejected_recently), OK otherwise.
    """
    if random_weights:
        return WARN, (f'running {active_subnet} on RANDOM weights (no checkpoint): '
                      'classifications are meaningless')
    if rejected_recently:
        return WARN, f'running {active_subnet}; {rejected_recently} malformed frames refused'
    return OK, f'running {active_subnet} at {snapshot.frame_rate_hz:.1f} Hz'
