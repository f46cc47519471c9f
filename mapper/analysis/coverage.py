"""Coverage of lighting-audit walks: metres walked, the share of a zone within reach of a walk, faults found per
kilometre, and the parts of a zone no walk has come near, so the next walk can be planned there.

Geometries come in and go out in lon/lat (the store's RFC 7946 order); every length, buffer and area is computed in
EPSG:27700 through :mod:`mapper.crs`, never in degrees. "Within reach" is a buffer of :data:`REACH_M` metres round
each walked line: a rough coverage figure until a street network is loaded.
"""

import numpy as np
import shapely

from mapper.crs import geometry_from_metres, geometry_to_metres

REACH_M = 25  # a street light lights roughly this far either side of the path a walker takes
QUAD_SEGMENTS = 16  # a buffer's round ends are 64-gons: 0.16 % short of a true circle's area


def to_metres(geometries):
    """Lon/lat geometries (one, or an array) in EPSG:27700, as a NumPy array of geometries."""
    return np.array([geometry_to_metres(g) for g in np.atleast_1d(np.asarray(geometries, dtype=object))],
                    dtype=object)


def walked_metres(walks):
    """The length in metres of each lon/lat walk, as a float array.

    >>> from shapely.geometry import LineString
    >>> from mapper.crs import from_british_national_grid
    >>> lon, lat = from_british_national_grid([440000, 441000], [315000, 315000])
    >>> walked_metres([LineString(zip(lon, lat))]).round(3)
    array([1000.])
    """
    return shapely.length(to_metres(walks)).astype(float)


def reach(walks_m, reach_m=REACH_M):
    """One (Multi)Polygon in EPSG:27700: everywhere within ``reach_m`` metres of any of the walks (in metres)."""
    walks_m = np.atleast_1d(np.asarray(walks_m, dtype=object))
    if not len(walks_m):
        return shapely.Polygon()
    return shapely.union_all(shapely.buffer(walks_m, reach_m, quad_segs=QUAD_SEGMENTS))


def coverage_share(boundary, walks, reach_m=REACH_M):
    """The share (0..1) of a lon/lat zone boundary's area within ``reach_m`` metres of any lon/lat walk."""
    zone_m = geometry_to_metres(boundary)
    if zone_m.area == 0:
        return 0.0
    return float(zone_m.intersection(reach(to_metres(walks), reach_m)).area / zone_m.area)


def uncovered(boundary, walks, reach_m=REACH_M):
    """The parts of a lon/lat zone boundary farther than ``reach_m`` metres from every walk, as a lon/lat
    (Multi)Polygon (the whole zone when there is no walk; empty when everything is covered)."""
    walks = list(walks)
    if not walks:
        return boundary  # exactly the zone: no round trip through metres
    remaining = geometry_to_metres(boundary).difference(reach(to_metres(walks), reach_m))
    return geometry_from_metres(remaining)


def length_within(lines_m, area_m):
    """Metres of lines inside an area, both in EPSG:27700, counting a stretch walked twice twice.

    Segment by segment, because an overlay of a whole line dissolves a street walked there and back into one pass.

    >>> from shapely.geometry import LineString, box
    >>> length_within([LineString([(0, 5), (20, 5), (0, 5)])], box(0, 0, 10, 10))
    20.0
    """
    parts = shapely.get_parts(np.atleast_1d(np.asarray(lines_m, dtype=object)))
    if not len(parts):
        return 0.0
    coordinates, index = shapely.get_coordinates(parts, return_index=True)
    same_line = index[:-1] == index[1:]
    segments = shapely.linestrings(np.stack([coordinates[:-1][same_line], coordinates[1:][same_line]], axis=1))
    return float(shapely.length(shapely.intersection(segments, area_m)).sum())


def faults_per_km(faults, metres):
    """Faults found per kilometre walked, or None for a walk of no length (a rate per nothing is not zero).

    >>> faults_per_km(3, 1500.0), faults_per_km(0, 0)
    (2.0, None)
    """
    return round(faults / (metres / 1000), 2) if metres > 0 else None


def walk_figures(walk, boundary, faults, reach_m=REACH_M):
    """A walk's figures: metres walked, the share of the zone within reach of it, and faults per km.

    Parameters
    ----------
    walk : shapely geometry
        The walk's lines in lon/lat.
    boundary : shapely geometry
        The zone's polygon in lon/lat.
    faults : int
        The lighting reports the walk found (its waypoints that became reports).
    """
    metres = float(walked_metres([walk])[0])
    return {"metres_walked": round(metres, 1), "coverage_share": round(coverage_share(boundary, [walk], reach_m), 4),
            "faults": int(faults), "faults_per_km": faults_per_km(faults, metres), "reach_m": reach_m}


def zone_figures(boundary, walks, faults, reach_m=REACH_M):
    """A zone's figures over all its walks: metres walked inside the zone, the share within reach of a walk, the
    area left uncovered (m²) and faults per km.

    >>> from shapely.geometry import box
    >>> zone_figures(box(-1.36, 52.74, -1.35, 52.75), [], 0)["coverage_share"]
    0.0
    """
    walks = list(walks)
    zone_m = geometry_to_metres(boundary)
    walks_m = to_metres(walks) if walks else np.array([], dtype=object)
    inside = length_within(walks_m, zone_m)
    covered = zone_m.intersection(reach(walks_m, reach_m)).area if len(walks_m) else 0.0
    return {"walks": len(walks), "metres_walked": round(inside, 1),
            "coverage_share": round(covered / zone_m.area, 4) if zone_m.area else 0.0,
            "zone_m2": round(zone_m.area, 1), "uncovered_m2": round(zone_m.area - covered, 1),
            "faults": int(faults), "faults_per_km": faults_per_km(faults, inside), "reach_m": reach_m}
