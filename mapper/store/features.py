"""FeatureSet: an immutable view of some features of one layer, with columns for vectorised filtering.

Features are kept as the exact JSON text the store wrote, so a layer download is a join of byte strings, and only
the features someone asks to see one by one are parsed again.
"""

import itertools
import json
import threading
import weakref

import numpy as np


class FeatureSet:
    """Selected features of a layer: raw JSON lines plus aligned NumPy columns.

    ``columns`` holds at least ``id``, ``lon``, ``lat`` (a point on the feature), ``min_lon`` ... ``max_lat`` (its
    bounds), ``category``, ``status`` and ``created`` arrays, aligned with
    ``lines``. Filtering returns a new FeatureSet; nothing here mutates.
    """

    def __init__(self, name, lines, columns):
        self.name = name
        self.lines = lines
        self.columns = columns

    def __len__(self):
        return len(self.lines)

    def __iter__(self):
        return (json.loads(line) for line in self.lines)

    @property
    def lon(self):
        return self.columns["lon"]

    @property
    def lat(self):
        return self.columns["lat"]

    def select(self, mask):
        """The features where the boolean ``mask`` is true."""
        positions = np.flatnonzero(mask)
        if len(positions) == len(self.lines):
            return self
        lines = [self.lines[i] for i in positions]
        return FeatureSet(self.name, lines, {key: values[positions] for key, values in self.columns.items()})

    def filter(self, bbox=None, where=None, since=None):
        mask = np.ones(len(self), dtype=bool)
        if bbox is not None:
            min_lon, min_lat, max_lon, max_lat = bbox
            columns = self.columns  # a feature matches if its bounds overlap the box (a point: if it lies in it)
            mask &= ((columns["max_lon"] >= min_lon) & (columns["min_lon"] <= max_lon)
                     & (columns["max_lat"] >= min_lat) & (columns["min_lat"] <= max_lat))
        if since is not None:
            mask &= self.columns["created"] >= since
        for key, wanted in (where or {}).items():
            wanted = [wanted] if isinstance(wanted, str) or not hasattr(wanted, "__iter__") else list(wanted)
            if key in self.columns:
                mask &= np.isin(self.columns[key], wanted)
            else:
                values = [json.loads(line)["properties"].get(key) for line in self.lines]
                mask &= np.array([value in wanted for value in values], dtype=bool)
        return self.select(mask)

    def to_geojson_bytes(self):
        """The RFC 7946 FeatureCollection, one feature per line, as the store writes it."""
        head = b'{"type":"FeatureCollection","name":' + json.dumps(self.name).encode() + b',"features":[\n'
        return head + b",\n".join(self.lines) + b"\n]}\n"


class SnapshotMemo:
    """Values worked out from one snapshot of a layer, kept while the store hands out that snapshot.

    The store's FeatureSets of an unchanged layer share one immutable ``id`` column until the layer changes, so
    that column's identity names the snapshot; an entry goes as soon as the column is freed, so nothing stale is
    ever served and nothing piles up. ``.points`` bodies and the analysis cache's layer revisions both use one.

    >>> memo = SnapshotMemo()
    >>> features = FeatureSet("lights", ["{}"], {"id": np.array(["a"])})
    >>> memo.get(features, "x", lambda: 1), memo.get(features, "x", lambda: 2)
    (1, 1)
    """

    def __init__(self):
        self._entries = {}
        self._lock = threading.RLock()  # re-entrant: a weakref callback can run inside a locked block during GC

    def get(self, features, name, compute):
        """The value kept for ``features``' snapshot under ``name``, else ``compute()`` kept and returned."""
        column = features.columns["id"]
        key = (id(column), name)
        with self._lock:
            kept = self._entries.get(key)
        if kept is not None and kept[0]() is column:
            return kept[1]
        value = compute()
        reference = weakref.ref(column, lambda dead: self._forget(key, dead))
        with self._lock:
            self._entries[key] = (reference, value)
        return value

    def _forget(self, key, reference):
        with self._lock:
            if key in self._entries and self._entries[key][0] is reference:
                del self._entries[key]


_revisions = SnapshotMemo()
_serials = itertools.count(1)


def revision(features):
    """A number naming this snapshot of a layer: the same while the store hands out the same snapshot, never
    reused for another one (0 for an empty layer)."""
    return _revisions.get(features, "revision", lambda: next(_serials)) if len(features) else 0
