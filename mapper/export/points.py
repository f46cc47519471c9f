"""The compact columnar points format (``.points``) the zone map loads: one array per column, not one object per feature.

Example for two lights::

    {"layer": "lights", "count": 2, "version": "4f0c2a9d1b7e3a55", "fields": ["id", "lon", "lat", "category", "status"],
     "categories": ["out", "dim", ...], "statuses": ["open"],
     "id": ["3f2a...", "9b1c..."], "lon": [-1.187123, -1.186001], "lat": [52.773001, 52.774312],
     "category": [0, 1], "status": [0, 0]}

``version`` names this exact list of features (a hash of their ids, in order, and of the rest of the document): a
feature's details can be asked for by its position, ``GET /api/zones/<zone>/<layer>/at/<index>?version=<version>``
(with the same filters as the ``.points`` request), which answers 409 when the layer has changed since, so the map
reloads its data instead of showing the wrong feature.

The ``id`` column is there only for layers of at most ``IDS_UP_TO`` features (``fields`` then starts with ``"id"``).
A larger layer leaves it out: 100,000 ids of 32 characters were 3.5 MB of a 5.9 MB body (1.7 of its 2.5 gzipped
MB, since hex barely compresses), and the map needs an id only for the one feature someone clicks.

A layer whose schema has a public ``name`` property (community assets) also carries a ``name`` column of the
features' names (``""`` where a feature has none), so that the map can search them without a request per feature;
``fields`` then ends with ``"name"``. Names are untrusted text: the map shows them with ``textContent`` only.

``lon``/``lat`` are WGS84 degrees in GeoJSON's order of meaning (not Leaflet's [lat, lon]), rounded to 6 decimals
(about 10 cm). ``category`` and ``status`` hold positions in the ``categories`` and ``statuses`` lists: the layer's
schema order first, then any value found in the data that the schema no longer lists. A 100,000-feature layer is
built from the store's NumPy columns without parsing a single feature, and the map fetches each feature's details
only when someone clicks it.

A whole, unchanged layer's body is built once and kept (with its gzip-compressed bytes, made on the first request
that accepts gzip) until the store's columns change: compressing 5.9 MB took ~200 ms of every map load.
"""

import gzip
import hashlib
import json
import threading

import numpy as np
import orjson
import pandas

from mapper.store.features import SnapshotMemo

FIELDS = ["id", "lon", "lat", "category", "status"]
DECIMALS = 6
IDS_UP_TO = 1000  # a larger layer's .points leave the id column out; popups ask by position and version instead
GZIP_LEVEL = 5  # as the app's COMPRESS_LEVEL


def encode_labels(values, known):
    """``(labels, codes)``: every distinct value as a position in ``labels``, ``known`` labels first.

    >>> labels, codes = encode_labels(np.array(["dim", "out", None, "dim"], dtype=object), ["out", "dim"])
    >>> labels, codes.tolist()
    (['out', 'dim', ''], [1, 0, 2, 1])
    """
    # pandas' hash-based factorize is ~10x faster than sorting 100,000 strings with np.unique.
    found_codes, found = pandas.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    labels = list(known)
    position = {label: index for index, label in enumerate(labels)}
    found = ["" if pandas.isna(value) else str(value) for value in found]
    for value in found:
        if value not in position:
            position[value] = len(labels)
            labels.append(value)
    remap = np.array([position[value] for value in found], dtype=np.int64)
    return labels, remap[found_codes] if len(found_codes) else np.zeros(0, dtype=np.int64)


def carries_names(layer):
    """True when a layer's ``.points`` include a ``name`` column: its schema has a public ``name`` property."""
    prop = layer.properties.get("name")
    return prop is not None and not prop.private


def feature_names(features):
    """Every feature's ``name`` property as text (``""`` where it has none), aligned with the FeatureSet.

    Taken from the store's ``name`` column when it has one; otherwise read from the feature lines in one orjson
    call (named layers are directories of places: hundreds of features, not the 100,000 of a lights layer).
    """
    if "name" in features.columns:
        values = features.columns["name"]
    else:
        values = [(feature.get("properties") or {}).get("name")
                  for feature in orjson.loads(b"[" + b",".join(features.lines) + b"]")]
    return np.array(["" if value is None else str(value) for value in values], dtype=object)


def points_document(features, layer):
    """The columnar document of a FeatureSet as a dict of plain lists (``version`` included); rows without a finite
    point are left out."""
    return _document_and_ids(features, layer)[0]


def _document_and_ids(features, layer):
    """(document, ids of its rows in order): the ids stay on the server when the document leaves them out."""
    columns = features.columns
    lon = np.asarray(columns["lon"], dtype=float)
    lat = np.asarray(columns["lat"], dtype=float)
    drawable = np.isfinite(lon) & np.isfinite(lat)
    categories, category_codes = encode_labels(columns["category"][drawable], layer.category_ids)
    statuses, status_codes = encode_labels(columns["status"][drawable], layer.statuses)
    ids = [str(value) for value in columns["id"][drawable].tolist()]
    with_ids = len(ids) <= IDS_UP_TO
    named = carries_names(layer)
    fields = (FIELDS if with_ids else FIELDS[1:]) + (["name"] if named else [])
    document = {"layer": layer.name, "count": len(ids), "version": None, "fields": fields,
                "categories": categories, "statuses": statuses}
    if with_ids:
        document["id"] = ids
    document.update({"lon": np.round(lon[drawable], DECIMALS).tolist(),
                     "lat": np.round(lat[drawable], DECIMALS).tolist(),
                     "category": category_codes.tolist(), "status": status_codes.tolist()})
    if named:
        document["name"] = feature_names(features)[drawable].tolist()
    document["version"] = version_of(ids, document)
    return document, ids


def version_of(ids, document):
    """16 hex digits that change whenever the features' ids, order, places, categories, statuses or names do."""
    digest = hashlib.blake2b(digest_size=8)
    digest.update("\n".join(ids).encode("utf-8"))
    digest.update(orjson.dumps({key: value for key, value in document.items() if key != "version"}))
    return digest.hexdigest()


class PointsBody:
    """One ``.points`` answer: its JSON bytes, its ``version``, the ids of its rows (for a lookup by position) and,
    made once on first use, its gzip-compressed bytes."""

    def __init__(self, document, ids):
        self.version = document["version"]
        self.ids = ids
        self.raw = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
        self._gzipped = {}
        self._lock = threading.Lock()

    def gzipped(self, level=GZIP_LEVEL):
        """The body compressed with gzip at ``level``, compressed once and kept."""
        with self._lock:
            if level not in self._gzipped:
                # mtime=0: the same body always gives the same bytes, whichever process compressed it.
                self._gzipped[level] = gzip.compress(self.raw, compresslevel=level, mtime=0)
            return self._gzipped[level]

    def id_at(self, index):
        """The id of the feature at ``index``, or None when there is no such row."""
        return self.ids[index] if 0 <= index < len(self.ids) else None


# Bodies of whole, unchanged layers, kept while the store hands out the same snapshot (see SnapshotMemo).
_bodies = SnapshotMemo()


def points_body(features, layer):
    """The :class:`PointsBody` of a FeatureSet, reused while the store hands out the same columns."""
    return _bodies.get(features, layer.name, lambda: PointsBody(*_document_and_ids(features, layer)))


def write_points(features, layer):
    """The ``.points`` body as compact UTF-8 JSON bytes."""
    return points_body(features, layer).raw

