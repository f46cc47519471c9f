"""Nearest lamp column: on Bristol's real street lights (tests/data/columns/), against a brute-force scan, and
the per-zone index cache."""

import csv

import numpy as np
import pytest

from mapper.analysis.columns import (ColumnIndex, column_index, index_from_features, nearest_brute_force,
                                     nearest_column, nearest_columns)
from mapper.crs import from_british_national_grid
from mapper.intake import submit
from tests.columns_helpers import BRISTOL, ZONE, zone_centre
from tests.helpers import point_feature


@pytest.fixture(scope="module")
def bristol():
    """An index of every Bristol light, where they really are (ids: their row numbers)."""
    with open(BRISTOL, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    lon = np.array([float(r["longitude"]) for r in rows])
    lat = np.array([float(r["latitude"]) for r in rows])
    return ColumnIndex([f"row-{n}" for n in range(2, len(rows) + 2)], lon, lat)


def isolated(index, count, spacing=60.0):
    """Positions of ``count`` columns whose nearest neighbour is more than ``spacing`` metres away."""
    rng = np.random.default_rng(4)
    found = []
    for position in rng.permutation(len(index)):
        others = np.hypot(index.easting - index.easting[position], index.northing - index.northing[position])
        others[position] = np.inf
        if others.min() > spacing:
            found.append(int(position))
            if len(found) == count:
                return found
    raise AssertionError("Bristol has isolated lights")


def test_a_point_on_a_column_finds_it_and_thirty_metres_away_finds_none(bristol):
    for position in isolated(bristol, 5):
        lon, lat = float(bristol.lon[position]), float(bristol.lat[position])
        found = nearest_column(bristol, lon, lat)
        assert found.unit_id == bristol.unit_ids[position] and found.distance_m == 0.0
        east_30 = from_british_national_grid(bristol.easting[position] + 30, bristol.northing[position])
        assert nearest_column(bristol, *map(float, east_30)) is None
        east_20 = from_british_national_grid(bristol.easting[position] + 20, bristol.northing[position])
        assert nearest_column(bristol, *map(float, east_20)).distance_m == pytest.approx(20, abs=0.1)


def test_the_index_agrees_with_a_brute_force_scan(bristol):
    rng = np.random.default_rng(7)
    picks = rng.integers(0, len(bristol), 300)
    easting = bristol.easting[picks] + rng.uniform(-30, 30, 300)
    northing = bristol.northing[picks] + rng.uniform(-30, 30, 300)
    lon, lat = from_british_national_grid(easting, northing)
    batch = nearest_columns(bristol, lon, lat)
    for i in range(300):
        expected = nearest_brute_force(bristol.easting, bristol.northing, easting[i], northing[i])
        single = nearest_column(bristol, float(lon[i]), float(lat[i]))
        if expected is None:
            assert single is None and batch[i] is None
        else:
            assert single.distance_m == pytest.approx(expected[1], abs=0.06)
            assert batch[i] == single.unit_id


def test_two_columns_on_one_position_resolve_to_the_first_every_time():
    index = ColumnIndex(["B", "A", "C"], [-1.2, -1.2, -1.201], [52.77, 52.77, 52.77])
    assert nearest_column(index, -1.2, 52.77).unit_id == "B"
    assert list(nearest_columns(index, [-1.2, -1.2], [52.77, 52.77])) == ["B", "B"]


def test_an_empty_inventory_finds_nothing():
    index = ColumnIndex([], [], [])
    assert nearest_column(index, -1.2, 52.77) is None
    assert list(nearest_columns(index, [-1.2], [52.77])) == [None]


def column(easting, northing, unit_id):
    lon, lat = from_british_national_grid(easting, northing)
    return point_feature(float(lon), float(lat), unit_id=unit_id)


def test_the_zone_index_is_cached_until_the_columns_layer_changes(resources):
    schema, zones, store = resources.schema, resources.zones(), resources.store
    e, n = zone_centre()
    submit(column(e, n, "LC1"), "columns", zone_id=ZONE, schema=schema, zones=zones, store=store)
    first = column_index(store, ZONE)
    assert column_index(store, ZONE) is first and list(first.unit_ids) == ["LC1"]

    stored = submit(column(e + 50, n, "LC2"), "columns", zone_id=ZONE, schema=schema, zones=zones, store=store)
    second = column_index(store, ZONE)
    assert second is not first and sorted(second.unit_ids) == ["LC1", "LC2"]

    store.update(ZONE, "columns", stored["id"], lambda p: {**p, "status": "removed"})  # same size, same last id
    third = column_index(store, ZONE)
    assert list(third.unit_ids) == ["LC1"]


def test_index_from_features_leaves_out_removed_columns(resources):
    schema, zones, store = resources.schema, resources.zones(), resources.store
    e, n = zone_centre()
    for i, unit_id in enumerate(["A", "B"]):
        submit(column(e + 40 * i, n, unit_id), "columns", zone_id=ZONE, schema=schema, zones=zones, store=store)
    features = store.query(ZONE, "columns")
    store.update(ZONE, "columns", features.columns["id"][0], lambda p: {**p, "status": "removed"})
    assert list(index_from_features(store.query(ZONE, "columns")).unit_ids) == ["B"]
