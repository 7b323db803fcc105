"""
An LRU cache of extracted static sub-networks, filled by a background builder thread.

Extracting a sub-network takes tens to hundreds of milliseconds, far too long for a frame
boundary, but the extracted network then runs faster than the supernet's dynamic path. The
engine asks for a build after a switch and keeps running the dynamic path until the static
network is ready. The cache's contents never exceed a memory budget: least recently used
networks are evicted first, and a network larger than the whole budget is not kept.
"""

from collections import OrderedDict
import os
import threading


class SubnetCache:
    """Thread-safe LRU of built networks keyed by any hashable, bounded by bytes."""

    def __init__(self, budget_bytes, build, size_of, on_error=None, nice=10):
        """
        Create an empty cache.

        build(key) returns the network for a key (runs on the builder thread); size_of(net)
        its bytes; on_error(key, exc) is told about failed builds; nice raises the builder
        thread's niceness so it yields the CPU to inference.
        """
        self.budget_bytes = int(budget_bytes)
        self._build, self._size_of = build, size_of
        self._on_error = on_error or (lambda key, exc: None)
        self._nice = nice
        self._entries = OrderedDict()   # key -> (net, bytes), least recently used first
        self._pending = []              # keys waiting for the builder, oldest first
        self._building = None
        self._cond = threading.Condition()
        self._thread = None
        self._closed = False
        self.evictions = 0

    def get(self, key):
        """Return the cached network for key (marking it most recently used) or None."""
        with self._cond:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def request(self, key):
        """Ask the background builder for key unless it is cached, queued or being built."""
        with self._cond:
            if (self._closed or self.budget_bytes <= 0 or key in self._entries
                    or key in self._pending or key == self._building):
                return
            self._pending.append(key)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name='subnet-cache-builder',
                                                daemon=True)
                self._thread.start()
            self._cond.notify_all()

    def put(self, key, net):
        """Insert a network, evicting LRU entries to stay in budget; False if it cannot fit."""
        size = self._size_of(net)
        with self._cond:
            if size > self.budget_bytes:
                return False
            self._entries.pop(key, None)
            while self._entries and self.used_bytes_locked() + size > self.budget_bytes:
                self._entries.popitem(last=False)
                self.evictions += 1
            self._entries[key] = (net, size)
            self._cond.notify_all()
            return True

    def used_bytes_locked(self):
        return sum(size for _, size in self._entries.values())

    def used_bytes(self):
        with self._cond:
            return self.used_bytes_locked()

    def keys(self):
        """Return the cached keys, least recently used first."""
        with self._cond:
            return list(self._entries)

    def clear(self):
        """Drop every cached network and pending build."""
        with self._cond:
            self._entries.clear()
            self._pending.clear()

    def wait_idle(self, timeout=None):
        """Block until no build is pending or running; return False on timeout."""
        with self._cond:
            return self._cond.wait_for(
                lambda: not self._pending and self._building is None, timeout)

    def close(self):
        """Stop the builder thread (after the build in progress, if any)."""
        with self._cond:
            self._closed = True
            self._pending.clear()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self):
        try:
            import torch
            torch.set_num_threads(1)    # per thread in torch: leaves inference's setting alone
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), self._nice)
        except (ImportError, OSError, AttributeError):
            pass
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._pending or self._closed)
                if self._closed:
                    return
                key = self._building = self._pending.pop(0)
            try:
                self.put(key, self._build(key))
            except Exception as exc:  # noqa: B902 - reported, the engine keeps the dynamic path
                self._on_error(key, exc)
            finally:
                with self._cond:
                    self._building = None
                    self._cond.notify_all()
