"""What analysis may cost: answers kept for reuse, a bound on how many are computed at once, and the size of a
request's grid (no Flask here).

A hotspot grid at 10 m over a zone costs seconds and tens of megabytes; the same request again should cost nothing.
:class:`ResultCache` keeps recent answers in a least-recently-used table bounded by entries and by bytes, keyed by
everything the answer depends on: the zone, each input layer's *revision* and every parameter. A layer's
revision (:func:`mapper.store.features.revision`) changes whenever the store hands out a new snapshot of it (an
append, an update, another process's write), so a new report makes the next request compute afresh: nothing is
ever invalidated by hand.
Identical requests that arrive together compute once; the others wait for that answer.

:class:`ComputeGate` bounds the computations running at once in this process, so a burst of expensive requests
cannot take every core from the residents' requests. :func:`grid_cells` is what a request's grid costs (time and
answer size grow with its cells; the band is convolved by FFT and hardly matters), and :func:`smallest_cell` the
finest grid within a bound, which the web layer names when it refuses one.

>>> cache = ResultCache(max_entries=2, max_bytes=10)
>>> cache.get_or_compute("a", lambda: b"12345")
b'12345'
>>> cache.get_or_compute("a", lambda: b"other"), cache.computed, cache.hits
(b'12345', 1, 1)
>>> cache.get_or_compute("b", lambda: b"123456789"), len(cache), cache.bytes  # over 10 bytes: "a" goes
(b'123456789', 1, 9)
"""

import math
import threading
from collections import OrderedDict

from mapper.crs import geometry_to_metres
from mapper.errors import MapperError


class ResultCache:
    """A thread-safe LRU of bytes answers, bounded by ``max_entries`` and ``max_bytes``; an answer larger than
    ``max_bytes`` is returned but not kept. ``computed`` and ``hits`` count what it did (figures and tests)."""

    def __init__(self, max_entries=64, max_bytes=128 * 1024 * 1024):
        self.max_entries, self.max_bytes = int(max_entries), int(max_bytes)
        self._entries = OrderedDict()
        self._pending = {}  # key -> Event of a computation under way
        self._lock = threading.Lock()
        self.bytes = 0
        self.computed = 0
        self.hits = 0

    def __len__(self):
        return len(self._entries)

    def get_or_compute(self, key, compute):
        """The answer kept under ``key``, else ``compute()`` (bytes) kept and returned. While one thread computes a
        key, others asking for it wait and then take its answer (or compute it themselves if it failed)."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key]
                waiting = self._pending.get(key)
                if waiting is None:
                    self._pending[key] = threading.Event()
                    break
            waiting.wait()
        try:
            value = compute()
            with self._lock:
                self.computed += 1
                self._keep(key, value)
            return value
        finally:
            with self._lock:
                self._pending.pop(key).set()

    def _keep(self, key, value):
        size = len(value)
        if size > self.max_bytes or self.max_entries <= 0:
            return
        self._entries[key] = value
        self.bytes += size
        while len(self._entries) > self.max_entries or self.bytes > self.max_bytes:
            _, dropped = self._entries.popitem(last=False)
            self.bytes -= len(dropped)

    def clear(self):
        with self._lock:
            self._entries.clear()
            self.bytes = 0


class Busy(MapperError):
    """Every analysis slot is taken: try again shortly (503 with Retry-After)."""

    status = 503
    code = "busy"

    def __init__(self, message, retry_after=5, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ComputeGate:
    """At most ``slots`` computations at once in this process, and at most as many callers again waiting (up to
    ``wait_seconds``) for a slot; anyone else hears :class:`Busy` at once. Every waiter holds a server thread that a
    resident's request needs, so the queue is as short as the work in hand.

    >>> gate = ComputeGate(slots=1, wait_seconds=0)
    >>> gate.run(lambda: gate.running)
    1
    """

    def __init__(self, slots=1, wait_seconds=2.0, retry_after=5):
        self.slots, self.wait_seconds, self.retry_after = max(1, int(slots)), float(wait_seconds), int(retry_after)
        self._semaphore = threading.BoundedSemaphore(self.slots)
        self._lock = threading.Lock()
        self.running = 0
        self.waiting = 0

    def run(self, compute, message="The analysis server is busy. Try again in a few seconds."):
        acquired = self._semaphore.acquire(blocking=False)
        if not acquired and self.wait_seconds > 0:
            with self._lock:
                may_wait = self.waiting < self.slots
                self.waiting += may_wait
            if may_wait:
                try:
                    acquired = self._semaphore.acquire(timeout=self.wait_seconds)
                finally:
                    with self._lock:
                        self.waiting -= 1
        if not acquired:
            raise Busy(message, retry_after=self.retry_after)
        with self._lock:
            self.running += 1
        try:
            return compute()
        finally:
            with self._lock:
                self.running -= 1
            self._semaphore.release()


# -- cost ----------------------------------------------------------------------------------------------------------


def zone_bounds(zone):
    """The zone's bounds in EPSG:27700 metres, as the analysis grid is laid over them."""
    return geometry_to_metres(zone.boundary).bounds


def grid_cells(bounds, cell):
    """Cells (rows x columns) of the ``cell``-metre grid over ``bounds`` (metres), as
    :func:`mapper.analysis.grid.grid_for_boundary` lays it: corners at whole multiples of the cell size.

    >>> grid_cells((454010, 319000, 454200, 319100), 50)
    8
    """
    min_x, min_y, max_x, max_y = bounds
    west, south = math.floor(min_x / cell) * cell, math.floor(min_y / cell) * cell
    return max(1, math.ceil((max_x - west) / cell)) * max(1, math.ceil((max_y - south) / cell))


def smallest_cell(bounds, max_cells, low=10, high=500):
    """The smallest whole number of metres (from ``low``) whose grid over ``bounds`` has at most ``max_cells``
    cells, or None if even ``high`` has more.

    >>> smallest_cell((0, 0, 1000, 1000), 100)
    100
    >>> smallest_cell((0, 0, 1000, 1000), 121)
    91
    """
    min_x, min_y, max_x, max_y = bounds
    start = max(int(low), math.floor(math.sqrt(max(max_x - min_x, 1) * max(max_y - min_y, 1) / max_cells)))
    for cell in range(start, int(high) + 1):
        if grid_cells(bounds, cell) <= max_cells:
            return cell
    return None
