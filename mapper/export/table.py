"""Any GeoJSON FeatureCollection (a stored layer or an analysis result) as a table for GIS formats: one geometry
array and typed, flat columns, in EPSG:4326 or EPSG:27700.

GIS formats hold flat, typed fields, so nested properties are flattened here once for every writer: a mapping of
plain values becomes one column per key (``counts`` -> ``counts_burglary``), a list of plain values one
``"; "``-joined text, and anything deeper its JSON text. Column types come from the values: all booleans, all
integers, all numbers, else text; ``None`` is a null (``mask``).
"""

import json
import re
from dataclasses import dataclass, field

import numpy as np
import orjson
import shapely

from mapper.crs import BRITISH_NATIONAL_GRID, WGS84, geometry_to_metres, to_british_national_grid
from mapper.errors import ValidationError

CRS_CHOICES = {"4326": WGS84, "27700": BRITISH_NATIONAL_GRID}
PLAIN = (str, int, float, bool)
POINT_PROPERTIES = ("centroid",)  # [lon, lat] properties, written in the table's CRS like its geometry


def parse_crs(value):
    """``4326``/``27700`` (or ``EPSG:...``) as ``"EPSG:4326"``/``"EPSG:27700"``; None or "" is EPSG:4326.

    >>> parse_crs("27700"), parse_crs("epsg:4326"), parse_crs(None)
    ('EPSG:27700', 'EPSG:4326', 'EPSG:4326')
    """
    if value is None or value == "":
        return WGS84
    text = str(value).strip().upper().removeprefix("EPSG:")
    if text not in CRS_CHOICES:
        raise ValidationError(f"'crs' must be 4326 (lon/lat) or 27700 (British National Grid), got "
                              f"{str(value)[:40]!r}.", field="crs")
    return CRS_CHOICES[text]


@dataclass
class Column:
    name: str
    kind: str  # "bool", "int", "float" or "text"
    values: np.ndarray
    mask: np.ndarray  # True where the value is null


@dataclass
class Table:
    """Flat features: ``geometry`` is an array of Shapely geometries in ``crs``; ``metadata`` is the collection's
    ``analysis`` member (or None for a stored layer)."""

    name: str
    geometry: np.ndarray
    columns: list
    crs: str = WGS84
    metadata: dict = field(default=None)

    def __len__(self):
        return len(self.geometry)


def table_from_collection(collection, crs=WGS84):
    """A :class:`Table` of a FeatureCollection dict (lon/lat, RFC 7946), reprojected to ``crs``.

    >>> table = table_from_collection({"type": "FeatureCollection", "name": "x", "features": [
    ...     {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.2, 52.77]},
    ...      "properties": {"rank": 1, "counts": {"burglary": 4}, "streets": ["A Road", "B Street"]}}]},
    ...     crs="EPSG:27700")
    >>> [(c.name, c.kind, c.values.tolist()) for c in table.columns]
    [('rank', 'int', [1]), ('counts_burglary', 'int', [4]), ('streets', 'text', ['A Road; B Street'])]
    >>> [round(v) for v in shapely.get_coordinates(table.geometry)[0]]
    [454071, 319456]
    """
    features = collection.get("features") or []
    geometry = geometries(features)
    analysis = collection.get("analysis") or {}
    if crs == BRITISH_NATIONAL_GRID:
        # One transformation of every coordinate of every geometry at once (shapely.transform is vectorised).
        geometry = geometry_to_metres(geometry)
        if analysis.get("cell_m"):
            # Analysis cells (and target areas, unions of cells) have corners at whole multiples of the cell size
            # in EPSG:27700; the round trip through lon/lat moves them by a centimetre, so put them back exactly.
            geometry = shapely.set_precision(geometry, float(analysis["cell_m"]))
    elif crs != WGS84:
        raise ValueError(f"unknown CRS {crs!r}")
    rows = [flatten(point_properties(feature.get("properties") or {}, crs)) for feature in features]
    names = list(dict.fromkeys(name for row in rows for name in row))
    columns = [typed_column(name, [row.get(name) for row in rows]) for name in names]
    return Table(str(collection.get("name") or "features"), geometry, columns, crs, collection.get("analysis"))


def geometries(features):
    """Shapely geometries of GeoJSON features, parsed in one vectorised call (None where a feature has none)."""
    texts = np.array([orjson.dumps(f["geometry"]) if f.get("geometry") else None for f in features], dtype=object)
    parsed = np.full(len(features), None, dtype=object)
    present = np.array([text is not None for text in texts], dtype=bool)
    if present.any():
        parsed[present] = shapely.from_geojson(texts[present])
    return parsed


def point_properties(properties, crs):
    """Properties with each ``[lon, lat]`` of :data:`POINT_PROPERTIES` as two numbers in ``crs``:
    ``centroid_lon``/``centroid_lat``, or ``centroid_easting``/``centroid_northing`` in EPSG:27700."""
    if not any(name in properties for name in POINT_PROPERTIES):
        return properties
    result = {}
    for name, value in properties.items():
        if name in POINT_PROPERTIES and isinstance(value, list) and len(value) == 2:
            lon, lat = value
            if crs == BRITISH_NATIONAL_GRID:
                easting, northing = to_british_national_grid(lon, lat)
                result[f"{name}_easting"] = round(float(easting), 2)
                result[f"{name}_northing"] = round(float(northing), 2)
            else:
                result[f"{name}_lon"], result[f"{name}_lat"] = lon, lat
        else:
            result[name] = value
    return result


def flatten(properties):
    """One feature's properties as flat ``{column: plain value or None}``."""
    row = {}
    for name, value in properties.items():
        if isinstance(value, dict) and all(v is None or isinstance(v, PLAIN) for v in value.values()):
            for key, inner in value.items():
                row[f"{name}_{field_name(key)}"] = inner
        elif isinstance(value, list) and all(isinstance(v, PLAIN) for v in value):
            row[name] = "; ".join(str(v) for v in value)
        elif value is None or isinstance(value, PLAIN):
            row[name] = value
        else:
            row[name] = json.dumps(value, ensure_ascii=False, sort_keys=True)
    return row


def field_name(key):
    """A key as part of a field name: letters, digits and underscores (``anti-social-behaviour`` ->
    ``anti_social_behaviour``)."""
    return re.sub(r"[^0-9A-Za-z]+", "_", str(key)).strip("_") or "value"


def typed_column(name, values):
    """A :class:`Column` whose kind is the narrowest that holds every non-null value."""
    mask = np.array([v is None for v in values], dtype=bool)
    present = [v for v in values if v is not None]
    if present and all(isinstance(v, bool) for v in present):
        kind, fill, dtype = "bool", False, bool
    elif present and all(isinstance(v, int) and not isinstance(v, bool) and abs(v) < 2**63 for v in present):
        kind, fill, dtype = "int", 0, np.int64
    elif present and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in present):
        kind, fill, dtype = "float", np.nan, np.float64
    else:
        kind, fill, dtype = "text", "", object
        # GDAL's strings end at a NUL, so one would cut the rest of the text off silently: drop it instead.
        values = [None if v is None else (v if isinstance(v, str) else json.dumps(v)).replace("\x00", "")
                  for v in values]
    data = np.array([fill if v is None else v for v in values], dtype=dtype)
    return Column(name, kind, data, mask)
