"""Coverage of audit walks (mapper.analysis.coverage) against cases computed by hand in metres.

Zones and walks are drawn in British National Grid metres near Thringstone (E 443,000, N 316,000) and converted to
lon/lat, as the store holds them, so every figure below also checks that the module measures in EPSG:27700.
"""

import math

import pytest
from shapely.geometry import LineString, box

from mapper.analysis.coverage import (REACH_M, coverage_share, faults_per_km, length_within, uncovered,
                                      walk_figures, walked_metres, zone_figures)
from mapper.crs import geometry_from_metres, geometry_to_metres

E, N = 443_000, 316_000  # a corner of the test zone, in metres
CAP = math.pi * REACH_M ** 2  # two half-circle ends make one circle: 1,963.5 m²
SQUARE = 1_000 * 1_000


def lonlat(geometry):
    return geometry_from_metres(geometry)


@pytest.fixture
def zone():
    """A 1 km square zone, in lon/lat."""
    return lonlat(box(E, N, E + 1_000, N + 1_000))


def walk(*points):
    """A lon/lat walk through points given in metres from the zone's corner."""
    return lonlat(LineString([(E + x, N + y) for x, y in points]))


def test_a_straight_800_m_walk_covers_a_50_m_strip_plus_round_ends(zone):
    straight = walk((100, 500), (900, 500))
    assert walked_metres([straight])[0] == pytest.approx(800, abs=0.01)
    covered = 800 * 2 * REACH_M + CAP  # 40,000 + 1,963.5 m²
    assert coverage_share(zone, [straight]) == pytest.approx(covered / SQUARE, rel=2e-3)
    assert geometry_to_metres(uncovered(zone, [straight])).area == pytest.approx(SQUARE - covered, rel=1e-4)


def test_a_walk_along_the_edge_covers_only_the_half_inside(zone):
    edge = walk((100, 0), (900, 0))
    covered = 800 * REACH_M + CAP / 2  # 20,000 + 981.7 m²
    assert coverage_share(zone, [edge]) == pytest.approx(covered / SQUARE, rel=2e-3)


def test_walking_the_same_street_twice_covers_it_once_but_counts_the_metres_twice(zone):
    there_and_back = walk((100, 500), (900, 500), (100, 500))
    assert walked_metres([there_and_back])[0] == pytest.approx(1_600, abs=0.01)
    assert coverage_share(zone, [there_and_back]) == pytest.approx(coverage_share(zone, [walk((100, 500), (900, 500))]))
    figures = zone_figures(zone, [there_and_back], faults=4)
    assert figures["metres_walked"] == pytest.approx(1_600, abs=0.1)  # an overlay would have dissolved it to 800
    assert figures["faults_per_km"] == 2.5


def test_two_walks_far_apart_add_up(zone):
    walks = [walk((100, 200), (900, 200)), walk((100, 800), (900, 800))]
    assert coverage_share(zone, walks) == pytest.approx(2 * (40_000 + CAP) / SQUARE, rel=2e-3)


def test_zone_figures_count_only_the_metres_inside_the_zone(zone):
    half_out = walk((500, 500), (1_500, 500))  # 500 m inside, 500 m beyond the east edge
    figures = zone_figures(zone, [half_out], faults=1)
    assert figures["metres_walked"] == pytest.approx(500, abs=0.1)
    assert figures["faults_per_km"] == 2.0
    covered = 500 * 2 * REACH_M + CAP / 2  # the strip to the edge and the round end at the start
    assert figures["coverage_share"] == pytest.approx(covered / SQUARE, abs=1e-4)
    assert figures["zone_m2"] == pytest.approx(SQUARE, rel=1e-6)
    assert figures["uncovered_m2"] == pytest.approx(SQUARE - covered, rel=1e-3)
    assert walk_figures(half_out, zone, faults=1)["metres_walked"] == pytest.approx(1_000, abs=0.1)


def test_no_walk_leaves_the_whole_zone_uncovered(zone):
    assert coverage_share(zone, []) == 0.0
    assert uncovered(zone, []) is zone
    assert zone_figures(zone, [], faults=0)["faults_per_km"] is None


def test_a_walk_everywhere_leaves_nothing_uncovered(zone):
    lawnmower = walk(*[(x, y) for row in range(0, 1_001, 40)
                       for x, y in (((0, row), (1_000, row)) if row % 80 == 0 else ((1_000, row), (0, row)))])
    assert coverage_share(zone, [lawnmower]) == pytest.approx(1.0, abs=1e-6)
    assert geometry_to_metres(uncovered(zone, [lawnmower])).area < 1


def test_the_buffer_is_25_metres_on_the_ground_not_degrees(zone):
    # 25 m is ~0.00037° of longitude here but ~0.00022° of latitude: a buffer in degrees would be lopsided.
    north_south, east_west = walk((500, 100), (500, 900)), walk((100, 500), (900, 500))
    assert coverage_share(zone, [north_south]) == pytest.approx(coverage_share(zone, [east_west]), rel=1e-3)


def test_length_within_and_faults_per_km_edge_cases():
    assert length_within([], box(0, 0, 1, 1)) == 0.0
    assert length_within([LineString([(0, 5), (20, 5)]), LineString([(5, 0), (5, 20)])], box(0, 0, 10, 10)) == 20.0
    assert faults_per_km(0, 0.0) is None
    assert faults_per_km(3, 1_500) == 2.0
