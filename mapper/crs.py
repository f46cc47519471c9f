"""Coordinate reference systems: the store is WGS84 lon/lat (RFC 7946); metres are EPSG:27700.

Anything measured in metres (areas, distances, buffers, grids) goes through these transformers. Buffering in degrees
is a bug. ``always_xy=True`` everywhere: input and output are (lon, lat) and (easting, northing), never (lat, lon).
"""

from functools import lru_cache

import numpy as np
import shapely
from pyproj import Transformer

WGS84 = "EPSG:4326"
BRITISH_NATIONAL_GRID = "EPSG:27700"


@lru_cache(maxsize=None)
def _transformer(source, target):
    return Transformer.from_crs(source, target, always_xy=True)


def to_british_national_grid(lon, lat):
    """Easting and northing in metres for lon/lat (scalars or arrays).

    >>> e, n = to_british_national_grid(-1.2, 52.77)
    >>> round(float(e)), round(float(n))
    (454071, 319456)
    """
    return _transformer(WGS84, BRITISH_NATIONAL_GRID).transform(np.asarray(lon, float), np.asarray(lat, float))


def from_british_national_grid(easting, northing):
    """Lon/lat for easting/northing in metres (scalars or arrays)."""
    return _transformer(BRITISH_NATIONAL_GRID, WGS84).transform(
        np.asarray(easting, float), np.asarray(northing, float)
    )


def geometry_to_metres(geometry):
    """A Shapely geometry in lon/lat, reprojected to EPSG:27700."""
    return shapely.transform(geometry, lambda xy: np.column_stack(to_british_national_grid(xy[:, 0], xy[:, 1])))


def geometry_from_metres(geometry):
    return shapely.transform(geometry, lambda xy: np.column_stack(from_british_national_grid(xy[:, 0], xy[:, 1])))
