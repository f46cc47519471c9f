"""The compact columnar points format (``.points``) the zone map loads: one array per column, not one object per feature.

Example for two lights::

    {"layer": "lights", "count": 2, "fields": ["id", "lon", "lat", "category", "status"],
     "categories": ["out", "dim", ...], "statuses": ["open"],
     "id": ["3f2a...", "9b1c..."], "lon": [-1.187123, -1.186001], "lat": [52.773001, 52.774312],
     "category": [0, 1], "status": [0, 0]}

A layer whose schema has a public ``name`` property (community assets) also carries a ``name`` column of the
features' names (``""`` where a feature has none), so that the map can search them without a request per feature;
``fields`` then ends with ``"name"``. Names are untrusted text: the map shows them with ``textContent`` only.

``lon``/``lat`` are WGS84 degrees in GeoJSON's order of meaning (not Leaflet's [lat, lon]), rounded to 6 decimals
(about 10 cm). ``category`` and ``status`` hold positions in the ``categories`` and ``statuses`` lists: the layer's
schema order first, then any value found in the data that the schema no longer lists. A 100,000-feature layer is
built from the store's NumPy columns without parsing a single feature, and the map fetches each feature's details
only when someone clicks it.
"""

import json
import threading
import weakref

import numpy as np
import orjson
import pandas

FIELDS = ["id", "lon", "lat", "category", "status"]
DECIMALS = 6


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
    """The columnar document of a FeatureSet as a dict of plain lists; rows without a finite point are left out."""
    columns = features.columns
    lon = np.asarray(columns["lon"], dtype=float)
    lat = np.asarray(columns["lat"], dtype=float)
    drawable = np.isfinite(lon) & np.isfinite(lat)
    categories, category_codes = encode_labels(columns["category"][drawable], layer.category_ids)
    statuses, status_codes = encode_labels(columns["status"][drawable], layer.statuses)
    named = carries_names(layer)
    document = {
        "layer": layer.name,
        "count": int(drawable.sum()),
        "fields": FIELDS + ["name"] if named else FIELDS,
        "categories": categories,
        "statuses": statuses,
        "id": [str(value) for value in columns["id"][drawable].tolist()],
        "lon": np.round(lon[drawable], DECIMALS).tolist(),
        "lat": np.round(lat[drawable], DECIMALS).tolist(),
        "category": category_codes.tolist(),
        "status": status_codes.tolist(),
    }
    if named:
        document["name"] = feature_names(features)[drawable].tolist()
    return document


# Bodies of whole, unchanged layers, keyed by the identity of their (immutable) id column: the store hands out the
# same arrays until the layer changes, and an entry goes as soon as its arrays are freed, so nothing stale is served.
_bodies = {}
_bodies_lock = threading.RLock()  # re-entrant: the weakref callback can run inside a locked block during GC


def write_points(features, layer):
    """The ``.points`` body as compact UTF-8 JSON bytes."""
    ids = features.columns["id"]
    key = (id(ids), layer.name)
    with _bodies_lock:
        cached = _bodies.get(key)
    if cached is not None and cached[0]() is ids:
        return cached[1]
    document = points_document(features, layer)
    body = json.dumps(document, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")
    reference = weakref.ref(ids, lambda dead: _forget(key, dead))
    with _bodies_lock:
        _bodies[key] = (reference, body)
    return body


def _forget(key, reference):
    with _bodies_lock:
        if key in _bodies and _bodies[key][0] is reference:
            del _bodies[key]
