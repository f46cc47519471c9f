"""FeatureSet: an immutable view of some features of one layer, with columns for vectorised filtering.

Features are kept as the exact JSON text the store wrote, so a layer download is a join of byte strings, and only
the features someone asks to see one by one are parsed again.
"""

import json

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
