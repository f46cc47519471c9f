"""Lamp columns: which column of a zone's inventory a point is at, measured in metres (EPSG:27700).

A :class:`ColumnIndex` holds the in-service columns of one zone in British National Grid with a Shapely STRtree
over them; :func:`nearest_column` answers "which column is this report about?" in microseconds among 50,000
columns (see ``benchmarks/columns.py`` and ``docs/columns.md``). :func:`column_index` builds the index of a zone
from the store once and keeps it until the ``columns`` layer changes.

Plain functions over arrays: nothing here knows Flask or Folium.
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import orjson
import shapely

from mapper.crs import to_british_national_grid

LAYER = "columns"
IN_SERVICE = "in-service"
LINK_DISTANCE_M = 25.0  # a report further than this from every column is about no column (a dark spot, say)
CACHED_ZONES = 64


@dataclass(frozen=True)
class Column:
    """One column found near a point: its unit id, how far it is, and where it stands (lon/lat)."""

    unit_id: str
    distance_m: float
    lon: float
    lat: float


class ColumnIndex:
    """In-service columns of one zone: unit ids, lon/lat, easting/northing, and an STRtree of their points.

    >>> index = ColumnIndex(["A1", "A2"], [-1.2, -1.2005], [52.77, 52.77])
    >>> nearest_column(index, -1.2001, 52.77).unit_id
    'A1'
    """

    def __init__(self, unit_ids, lon, lat):
        self.unit_ids = np.asarray(unit_ids, dtype=object)
        self.lon = np.asarray(lon, dtype=float)
        self.lat = np.asarray(lat, dtype=float)
        easting, northing = to_british_national_grid(self.lon, self.lat)
        self.easting, self.northing = np.atleast_1d(easting), np.atleast_1d(northing)
        self.tree = shapely.STRtree(shapely.points(self.easting, self.northing)) if len(self.unit_ids) else None
        # First position of each unit id: a unit id is unique among in-service columns (the importer sees to it).
        self.positions = {unit_id: i for i, unit_id in reversed(list(enumerate(self.unit_ids)))}

    def __len__(self):
        return len(self.unit_ids)

    def distance_to(self, unit_id, lon, lat):
        """Metres from (lon, lat) to the column ``unit_id``, or None when the zone has no such column."""
        position = self.positions.get(unit_id)
        if position is None:
            return None
        easting, northing = to_british_national_grid(lon, lat)
        return float(np.hypot(self.easting[position] - easting, self.northing[position] - northing))

    def column(self, position, distance):
        return Column(str(self.unit_ids[position]), round(float(distance), 1), float(self.lon[position]),
                      float(self.lat[position]))


def nearest_column(index, lon, lat, max_distance=LINK_DISTANCE_M):
    """The :class:`Column` nearest to (lon, lat) within ``max_distance`` metres, or None.

    Two columns at the same distance (a register listing one position twice under two ids) resolve to the first
    in the layer, so that every report at that spot names the same column.
    """
    if index.tree is None:
        return None
    easting, northing = to_british_national_grid(lon, lat)
    # shapely.Point: for one point, three times faster than shapely.points (no array stacking).
    found, distances = index.tree.query_nearest(shapely.Point(float(easting), float(northing)),
                                                max_distance=max_distance, return_distance=True, all_matches=True)
    if not len(distances):
        return None
    position = int(found.min())  # a single point: the tree indices of every tie
    return index.column(position, distances[0])


def nearest_columns(index, lon, lat, max_distance=LINK_DISTANCE_M):
    """Unit ids (None where no column is within ``max_distance``) for arrays of lon/lat: a batch at once."""
    lon, lat = np.atleast_1d(np.asarray(lon, float)), np.atleast_1d(np.asarray(lat, float))
    result = np.full(len(lon), None, dtype=object)
    if index.tree is None or not len(lon):
        return result
    if len(lon) == 1:  # one report, the usual case: the scalar path avoids the array bookkeeping
        found = nearest_column(index, float(lon[0]), float(lat[0]), max_distance)
        result[0] = found.unit_id if found else None
        return result
    easting, northing = to_british_national_grid(lon, lat)
    found = index.tree.query_nearest(shapely.points(easting, northing), max_distance=max_distance,
                                     all_matches=True)
    if found.shape[1]:
        # all_matches gives every tie; keep the first column per point, as nearest_column does.
        order = np.lexsort((found[1], found[0]))
        points, columns = found[0][order], found[1][order]
        first = np.r_[True, points[1:] != points[:-1]]
        result[points[first]] = index.unit_ids[columns[first]]
    return result


def nearest_brute_force(easting, northing, here_easting, here_northing, max_distance=LINK_DISTANCE_M):
    """Position and distance of the nearest of all points by a full NumPy scan: the baseline the index beats."""
    distances = np.hypot(easting - here_easting, northing - here_northing)
    position = int(np.argmin(distances))
    return (position, float(distances[position])) if distances[position] <= max_distance else None


def index_from_features(features):
    """A :class:`ColumnIndex` of the in-service columns of a columns-layer FeatureSet."""
    in_service = np.flatnonzero(features.columns["status"] == IN_SERVICE)
    unit_ids = [orjson.loads(features.lines[i])["properties"].get("unit_id") for i in in_service]
    return ColumnIndex(unit_ids, features.lon[in_service], features.lat[in_service])


def fingerprint(features):
    """What identifies a columns layer's state when its snapshot is not the very same object: size, last id and
    how many are in service (a ``--replace`` marks columns removed without changing the size)."""
    ids = features.columns["id"]
    return len(features), (ids[-1] if len(ids) else None), int(np.count_nonzero(features.columns["status"]
                                                                                == IN_SERVICE))


class _Entry:
    def __init__(self, columns, key, index):
        self.columns, self.key, self.index = columns, key, index


_cache = OrderedDict()
_cache_lock = threading.Lock()


def column_index(store, zone_id):
    """The zone's :class:`ColumnIndex`, built once and reused until the ``columns`` layer changes.

    FeatureSet snapshots are immutable, and the files store hands out the same column arrays until the layer
    changes, so an unchanged layer is recognised by identity in O(1); any other store is recognised by
    :func:`fingerprint`.
    """
    features = store.query(zone_id, LAYER)
    where = (store.location(zone_id, LAYER), id(store))
    with _cache_lock:
        entry = _cache.get(where)
        if entry is not None and entry.columns is features.columns:
            _cache.move_to_end(where)
            return entry.index
    key = fingerprint(features)
    if entry is not None and entry.key == key:
        index = entry.index
    else:
        index = index_from_features(features)
    with _cache_lock:
        _cache[where] = _Entry(features.columns, key, index)  # holding the arrays keeps their identity unique
        _cache.move_to_end(where)
        while len(_cache) > CACHED_ZONES:
            _cache.popitem(last=False)
    return index
