"""
A drop-oldest queue of depth 1: the newest item replaces one that was not taken yet.

The perception node's subscription puts every decoded camera frame here and its inference worker
takes from it, so the worker always starts on the newest frame and never falls behind the camera.
Replaced items are counted as dropped.
"""

import threading
import time


class LatestFrame:
    """Hold at most one item; put() replaces an untaken item and counts it as dropped."""

    def __init__(self):
        self._cond = threading.Condition()
        self._item = None
        self._full = False
        self._closed = False
        self._put_count = 0
        self._dropped = 0

    @property
    def dropped(self):
        """Return how many items were replaced before anyone took them."""
        with self._cond:
            return self._dropped

    @property
    def put_count(self):
        """Return how many items were put since creation."""
        with self._cond:
            return self._put_count

    @property
    def closed(self):
        with self._cond:
            return self._closed

    def put(self, item):
        """Store item, replacing any untaken one; return True when one was replaced (dropped)."""
        with self._cond:
            if self._closed:
                raise RuntimeError('put() on a closed LatestFrame')
            replaced = self._full
            if replaced:
                self._dropped += 1
            self._item = item
            self._full = True
            self._put_count += 1
            self._cond.notify()
            return replaced

    def take(self, timeout=None):
        """
        Return the newest item and empty the queue.

        Block until an item arrives, the queue is closed or timeout seconds passed; return None
        in the last two cases.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._full and not self._closed:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return None
                self._cond.wait(left)
            if not self._full:
                return None
            item, self._item, self._full = self._item, None, False
            return item

    def close(self):
        """Wake every waiting take() with None and refuse further puts; drop any untaken item."""
        with self._cond:
            self._closed = True
            self._item, self._full = None, False
            self._cond.notify_all()
