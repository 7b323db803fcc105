"""
Strings from other participants (message fields, parameter values) made safe to log.

Anyone on the DDS domain can send a 10 kB sub-network id or a 4096-entry core list; copied
as they are, they give 20-47 kB log lines and diagnostics values, and a flood of refusals
floods the log. `clip` bounds a string (and shows control characters escaped, so a newline
cannot forge a log line); `RefusalThrottle` logs the first refusal of each kind at once and
then at most one per period, saying how many it held back.
"""

import threading
import time

LIMIT = 120


def clip(text, limit=LIMIT):
    """Return str(text) escaped and cut to `limit` characters, stating the full length."""
    text = str(text)
    cut = text if len(text) <= limit else text[:limit]
    shown = ''.join(c if c.isprintable() else repr(c)[1:-1] for c in cut)
    if len(text) <= limit:
        return shown
    return f'{shown}... [{len(text)} characters]'


def quote(text, limit=LIMIT):
    """Return clip(text) in quotes, for naming a value inside a message."""
    return f"'{clip(text, limit)}'"


class RefusalThrottle:
    """Log refusals at most once per period per kind, with the count of those held back."""

    def __init__(self, period_s=5.0, clock=time.monotonic):
        if period_s < 0:
            raise ValueError(f'period_s must be >= 0, got {period_s}')
        self.period_s, self._clock = float(period_s), clock
        self._lock = threading.Lock()
        self._last, self._held = {}, {}

    def __call__(self, log, kind, text):
        """Call log(text) unless a refusal of this kind was logged less than a period ago."""
        with self._lock:
            now = self._clock()
            last = self._last.get(kind)
            if last is not None and now - last < self.period_s:
                self._held[kind] = self._held.get(kind, 0) + 1
                return False
            held = self._held.pop(kind, 0)
            self._last[kind] = now
        if held:
            text += f' ({held} more {kind} refusals not logged in the last {self.period_s:g} s)'
        log(text)
        return True
