"""Crimestoppers target areas: the hottest cells up to a share of the zone's area, merged into ranked polygons.

Each area carries its rank, centroid, the street names that the data itself gives for the records in and near it
(police.uk ``location``), its counts by type and its share of the zone's area.
"""

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np
import shapely
from scipy import ndimage

from mapper.analysis.grid import cell_boxes_in_metres, cell_index
from mapper.crs import geometry_from_metres
from mapper.errors import ValidationError

NEAR_M = 25.0  # records this close to an area (in metres) lend it their street names
STREETS = 3  # street names listed per area
ROOK = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]])  # cells sharing an edge merge; corners alone make no polygon


@dataclass
class TargetArea:
    rank: int
    polygon: object  # lon/lat Shapely (Multi)Polygon
    centroid: tuple  # (lon, lat)
    cells: int
    area_m2: float
    zone_share: float
    records: int
    weighted_records: float
    counts: dict  # category -> records inside
    streets: list  # most frequent street names of records in and near the area


def check_share(share):
    try:
        value = float(share)
    except (TypeError, ValueError):
        value = math.nan
    if not 0 < value <= 1:
        raise ValidationError(f"'share' must be a fraction of the zone's area in (0, 1], got {share!r}.",
                              field="share")
    return value


def select_cells(score, eligible, count):
    """Boolean array of the ``count`` eligible cells with the highest score (ties: lower row, then column)."""
    flat_score = np.where(eligible, score, -np.inf).ravel()
    order = np.lexsort((np.arange(flat_score.size), -flat_score))  # stable: highest score first
    chosen = order[:count]
    chosen = chosen[np.isfinite(flat_score[chosen])]
    selected = np.zeros(flat_score.size, dtype=bool)
    selected[chosen] = True
    return selected.reshape(score.shape)


def target_areas(grid, score, weighted, zone_area_m2, layers, share=0.05, eligible=None, near=NEAR_M):
    """Ranked :class:`TargetArea` list from a per-cell ``score`` (e.g. Gi* z or density) on ``grid``.

    Parameters
    ----------
    grid : mapper.analysis.grid.Grid
    score, weighted : ndarray
        Per-cell score that orders cells, and the weighted record count that ranks the merged areas.
    zone_area_m2 : float
        The zone's area; at most ``share`` of it is selected (whole cells, rounded down).
    layers : list of mapper.analysis.hotspots.LayerPoints
        Records whose types and locations describe each area.
    eligible : ndarray of bool, optional
        Cells that may be chosen (default: study-area cells with a positive score).
    """
    share = check_share(share)
    budget = int(math.floor(share * zone_area_m2 / grid.cell_area + 1e-9))
    allowed = grid.mask & (score > 0) if eligible is None else grid.mask & eligible
    selected = select_cells(score, allowed, budget)
    labels, found = ndimage.label(selected, structure=ROOK)
    if not found:
        return []
    x = np.concatenate([p.x for p in layers]) if layers else np.zeros(0)
    y = np.concatenate([p.y for p in layers]) if layers else np.zeros(0)
    weights = np.concatenate([np.full(len(p), p.source.weight) for p in layers]) if layers else np.zeros(0)
    categories = np.concatenate([p.category for p in layers]) if layers else np.zeros(0, object)
    locations = np.concatenate([p.location for p in layers]) if layers else np.zeros(0, object)
    row, column, on_grid = cell_index(grid, x, y)
    point_label = np.zeros(len(x), dtype=np.int64)
    point_label[on_grid] = labels[row[on_grid], column[on_grid]]
    points_m = shapely.points(x, y) if len(x) else np.zeros(0, object)
    areas = []
    for label in range(1, found + 1):
        cell_rows, cell_columns = np.nonzero(labels == label)
        polygon_m = shapely.union_all(cell_boxes_in_metres(grid, cell_rows, cell_columns))
        inside = point_label == label
        close = inside | (shapely.dwithin(polygon_m, points_m, near) if len(x) else inside)
        areas.append(_area(polygon_m, len(cell_rows), zone_area_m2, inside, close, weights, categories,
                           locations))
    areas.sort(key=lambda a: (-a.weighted_records, -a.records, -a.cells, a.centroid))
    for rank, area in enumerate(areas, start=1):
        area.rank = rank
    return areas


def street_name(location):
    """A police.uk location's street, without ``On or near`` (None for a blank one).

    >>> street_name("On or near Freehold Street"), street_name("On or near ")
    ('Freehold Street', None)
    """
    if not isinstance(location, str):
        return None
    text = location.strip()
    text = text[len("On or near"):].strip() if text.startswith("On or near") else text
    return text or None


def _area(polygon_m, cells, zone_area_m2, inside, close, weights, categories, locations):
    centroid = geometry_from_metres(polygon_m.centroid)
    streets = Counter(name for name in (street_name(loc) for loc in locations[close]) if name)
    return TargetArea(
        rank=0, polygon=geometry_from_metres(polygon_m), centroid=(round(centroid.x, 6), round(centroid.y, 6)),
        cells=cells, area_m2=round(polygon_m.area, 1), zone_share=round(polygon_m.area / zone_area_m2, 4),
        records=int(inside.sum()), weighted_records=float(weights[inside].sum()),
        counts=dict(Counter(str(c) for c in categories[inside]).most_common()),
        streets=[name for name, _ in streets.most_common(STREETS)])


def target_features(areas, suppress_below=3):
    """GeoJSON Features of target areas; public outputs (``suppress_below``) withhold small counts.

    A withheld count by type would still show through the area's totals, directly (a total of 2) or by difference
    (a total of 5 beside a shown 3), so wherever a count by type is withheld, or the total itself is small, the
    totals are withheld too (None, with ``suppressed`` true). Every output (CLI, API, page) is built here.
    """
    from shapely.geometry import mapping

    features = []
    for area in areas:
        counts = {k: (None if suppress_below and 0 < v < suppress_below else v) for k, v in area.counts.items()}
        hide_totals = bool(suppress_below) and suppress_below > 1 and (
            None in counts.values() or 0 < area.records < suppress_below)
        properties = {"rank": area.rank, "centroid": list(area.centroid), "streets": area.streets,
                      "records": None if hide_totals else area.records,
                      "weighted_records": None if hide_totals else area.weighted_records, "counts": counts,
                      "cells": area.cells, "area_m2": area.area_m2, "zone_share": area.zone_share}
        if hide_totals:
            properties["suppressed"] = True
        geometry = mapping(shapely.set_precision(area.polygon, 1e-7))
        features.append({"type": "Feature", "geometry": geometry, "properties": properties})
    return features


TARGET_METHODS = ("counts", "gi", "kde")
DEFAULT_TARGET_METHOD = "counts"  # the best predictor of next year's police.uk records here: docs/hotspots.md
TIE_BANDWIDTH = 300.0  # cells with equal counts are ordered by the density of records within 300 m


def target_scores(grid, weighted, method=DEFAULT_TARGET_METHOD, band=200.0, bandwidth=200.0, fdr=True):
    """``(score, eligible)`` per cell for a target-area method.

    ``counts``: the cell's own (weighted) records, ties broken by a 300 m quartic density; cells with none are
    never chosen. ``gi``: Gi* z-scores of hot spots significant at 90 % or more. ``kde``: quartic density.
    """
    from mapper.analysis.hotspots import gi_star_grid, kernel_density

    if method == "counts":
        density = kernel_density(grid, weighted, TIE_BANDWIDTH)
        top = density.max()
        tie_break = 0.5 * density / top if top > 0 else 0.0  # < 1: never lifts a cell past one with more records
        return weighted + tie_break, weighted > 0
    if method == "gi":
        result = gi_star_grid(grid, weighted, band, fdr=fdr)
        return result.z, result.bins > 0
    if method == "kde":
        density = kernel_density(grid, weighted, bandwidth)
        return density, density > 0
    raise ValidationError(f"Unknown target-area method {method!r}; use {', '.join(TARGET_METHODS)}.",
                          field="method")


def target_layer(store, zone, layers, method=DEFAULT_TARGET_METHOD, share=0.05, cell=50.0, band=200.0,
                 bandwidth=200.0, start=None, end=None, suppress_below=3, *, schema):
    """Ranked target areas of a zone as a FeatureCollection dict (what ``mapper targets`` writes)."""
    from mapper.analysis.grid import grid_for_zone
    from mapper.analysis.hotspots import collect_points, count_cells, layer_summaries, withheld_cells

    grid = grid_for_zone(zone, cell)
    points = collect_points(store, zone, schema, layers, start, end)
    counts, total, weighted = count_cells(grid, points)
    score, eligible = target_scores(grid, weighted, method, band, bandwidth)
    areas = target_areas(grid, score, weighted, zone.area_m2, points, share=share, eligible=eligible)
    analysis = {"zone": zone.id, "method": method, "share": check_share(share), "cell_m": grid.cell,
                # the same totals as the hotspot output's, withheld by the same rule (a total less the hotspot cells
                # shown would give the withheld cells away)
                "layers": layer_summaries(points, counts, withheld_cells(counts, total, suppress_below),
                                          suppress_below),
                "from": start, "to": end, "suppress_below": suppress_below or 0}
    return {"type": "FeatureCollection", "name": f"{zone.id}-target-areas-{method}", "analysis": analysis,
            "features": target_features(areas, suppress_below)}
