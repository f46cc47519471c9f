"""Square analysis grids in metres (EPSG:27700) over a zone, and the cell polygons that go back to lon/lat.

Cell corners sit at whole multiples of the cell size, so grids from different runs, layers and zones line up. The
study area is the cells whose centre lies inside the zone boundary.
"""

import math
from dataclasses import dataclass

import numpy as np
import shapely

from mapper.crs import from_british_national_grid, geometry_to_metres, to_british_national_grid
from mapper.errors import ValidationError

MAX_CELLS = 4_000_000  # a 100 km square at 50 m: beyond that someone asked for the wrong cell size


@dataclass(frozen=True, eq=False)
class Grid:
    """A raster of square cells: row 0 is the southernmost, column 0 the westernmost.

    ``west`` and ``south`` are the easting and northing (metres) of the grid's outer corner; ``mask`` is True for
    the study area.
    """

    cell: float
    west: float
    south: float
    mask: np.ndarray

    @property
    def shape(self):
        return self.mask.shape

    @property
    def cell_area(self):
        return self.cell * self.cell

    def centres(self):
        """Easting and northing arrays (shape ``self.shape``) of every cell centre."""
        rows, columns = self.shape
        x = self.west + (np.arange(columns) + 0.5) * self.cell
        y = self.south + (np.arange(rows) + 0.5) * self.cell
        return np.meshgrid(x, y)


def grid_for_zone(zone, cell=50.0):
    """The grid of ``cell``-metre squares covering a zone, its study area the cells centred inside the boundary.

    Parameters
    ----------
    zone : mapper.zones.Zone
    cell : float
        Cell size in metres.

    """
    return grid_for_boundary(geometry_to_metres(zone.boundary), cell)


def grid_for_boundary(boundary, cell=50.0):
    """:func:`grid_for_zone` for a boundary already in EPSG:27700 metres.

    >>> from shapely.geometry import box
    >>> grid = grid_for_boundary(box(454010, 319000, 454200, 319100), cell=50)
    >>> grid.west, grid.south, grid.shape, int(grid.mask.sum())
    (454000.0, 319000.0, (2, 4), 8)
    """
    cell = check_length(cell, "cell")
    min_x, min_y, max_x, max_y = boundary.bounds
    west, south = math.floor(min_x / cell) * cell, math.floor(min_y / cell) * cell
    columns = max(1, math.ceil((max_x - west) / cell))
    rows = max(1, math.ceil((max_y - south) / cell))
    if rows * columns > MAX_CELLS:
        raise ValidationError(f"A {cell:g} m grid over this zone would have {rows * columns:,} cells; the limit is "
                              f"{MAX_CELLS:,}. Use larger cells.", field="cell")
    grid = Grid(float(cell), float(west), float(south), np.zeros((rows, columns), dtype=bool))
    x, y = grid.centres()
    shapely.prepare(boundary)
    mask = shapely.contains_xy(boundary, x, y)
    return Grid(grid.cell, grid.west, grid.south, mask)


def check_length(value, name):
    """A positive, finite length in metres, or a ValidationError naming it."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{name!r} must be a number of metres, got {value!r}.", field=name) from None
    if not math.isfinite(number) or number <= 0:
        raise ValidationError(f"{name!r} must be a positive number of metres, got {value!r}.", field=name)
    return number


def cell_index(grid, x, y):
    """Row and column of the cell each point (metres) falls in, and a mask of the points inside the grid."""
    column = np.floor((np.asarray(x, float) - grid.west) / grid.cell).astype(np.int64)
    row = np.floor((np.asarray(y, float) - grid.south) / grid.cell).astype(np.int64)
    rows, columns = grid.shape
    inside = (row >= 0) & (row < rows) & (column >= 0) & (column < columns)
    return row, column, inside


def bin_points(grid, x, y, weights=None):
    """Count points (metres) per cell: an array of ``grid.shape``; points off the grid are left out.

    >>> from shapely.geometry import box
    >>> grid = grid_for_boundary(box(0, 0, 100, 100), cell=50)
    >>> bin_points(grid, [10, 20, 60], [10, 10, 90]).tolist()
    [[2.0, 0.0], [0.0, 1.0]]
    """
    row, column, inside = cell_index(grid, x, y)
    flat = row[inside] * grid.shape[1] + column[inside]
    chosen = None if weights is None else np.broadcast_to(np.asarray(weights, float), row.shape)[inside]
    counts = np.bincount(flat, weights=chosen, minlength=grid.mask.size)
    return counts.astype(float).reshape(grid.shape)


def points_to_metres(lon, lat):
    """Easting and northing arrays for lon/lat arrays."""
    if len(lon) == 0:
        return np.zeros(0), np.zeros(0)
    x, y = to_british_national_grid(lon, lat)
    return np.asarray(x, float), np.asarray(y, float)


def cell_polygons(grid, rows, columns):
    """Lon/lat Shapely polygons of the given cells: their four corners reprojected from EPSG:27700."""
    rows, columns = np.asarray(rows), np.asarray(columns)
    west = grid.west + columns * grid.cell
    south = grid.south + rows * grid.cell
    corner_x = np.stack([west, west + grid.cell, west + grid.cell, west, west], axis=-1)
    corner_y = np.stack([south, south, south + grid.cell, south + grid.cell, south], axis=-1)
    lon, lat = from_british_national_grid(corner_x.ravel(), corner_y.ravel())
    rings = np.stack([np.round(lon, 7), np.round(lat, 7)], axis=-1).reshape(len(rows), 5, 2)
    return shapely.polygons(rings)


def cell_boxes_in_metres(grid, rows, columns):
    """EPSG:27700 Shapely boxes of the given cells (for areas and unions)."""
    west = grid.west + np.asarray(columns) * grid.cell
    south = grid.south + np.asarray(rows) * grid.cell
    return shapely.box(west, south, west + grid.cell, south + grid.cell)
