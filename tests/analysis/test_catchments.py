"""Walking catchments, site checks and gaps (mapper.analysis.catchments) against cases computed by hand in metres.

Facilities and streets are drawn in British National Grid metres in Loughborough (E 454,000, N 319,000) and
converted to lon/lat, as the store holds them, so every figure below also checks that the module measures in
EPSG:27700. Defaults: 4.8 km/h for 10 minutes is 800 m; a circle is 800 / 1.3 = 615.38 m.
"""

import doctest
import json
import math

import pytest
from click.testing import CliRunner
from shapely.geometry import LineString, Point, box, shape

import mapper.analysis.catchments as module
from mapper.analysis.catchments import (OFFERS, Settings, catchment_collection, catchment_parts, catchments,
                                        check_site, gaps, load_network, welfare_facilities)
from mapper.cli import main
from mapper.crs import from_british_national_grid, geometry_from_metres, to_british_national_grid
from mapper.errors import ValidationError

E, N = 454_000, 319_000
RADIUS = 800 / 1.3


def asset(identifier, x, y, offers=OFFERS, hours=None, category="welfare-facility", **extra):
    """A stored asset feature (lon/lat) at (x, y) metres from (E, N)."""
    lon, lat = from_british_national_grid(E + x, N + y)
    properties = {"id": identifier, "name": f"Facility {identifier}", "category": category, "status": "published",
                  **{offer: True for offer in offers}, **extra}
    if hours is not None:
        properties["opening_hours"] = hours
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
            "properties": properties}


def facilities(*features):
    return welfare_facilities(features)


def street(*points):
    """A streets-layer feature (lon/lat) through points in metres from (E, N)."""
    line = geometry_from_metres(LineString([(E + x, N + y) for x, y in points]))
    return {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [list(c) for c in line.coords]},
            "properties": {"highway": "residential"}}


def at(x, y):
    return Point(E + x, N + y)


def every(step, start, stop, y):
    """Vertices every ``step`` metres along y, so that junctions (gap candidates) are that close."""
    return [(x, y) for x in range(start, stop + 1, step)]


@pytest.fixture
def straight_street():
    """One straight 1 km street from (E, N) eastwards, with vertices only at its ends."""
    return load_network([street((0, 0), (1000, 0))])


@pytest.fixture
def river():
    """Two 2 km streets on either bank of a river 200 m wide, and one bridge at x = 500 m."""
    return load_network([street((-1000, 100), (500, 100), (1000, 100)),
                         street((-1000, -100), (500, -100), (1000, -100)),
                         street((500, -100), (500, 100))])


# -- settings and facilities -----------------------------------------------------------------------------------------


def test_default_settings_reach_800_m_and_a_circle_of_615_38_m():
    settings = Settings()
    assert settings.reach_m == 800 and settings.radius_m == pytest.approx(615.3846, abs=1e-4)
    assert Settings.parse({"minutes": "15", "speed": "4", "detour": 1.5}).radius_m == pytest.approx(666.6667)
    assert Settings.parse({"minutes": "", "required": "water, toilets"}).required == ("water", "toilets")
    assert Settings.parse(None) == settings


@pytest.mark.parametrize("args, field", [({"minutes": "0"}, "minutes"), ({"minutes": "61"}, "minutes"),
                                         ({"speed_kmh": "fast"}, "speed_kmh"), ({"detour": "nan"}, "detour"),
                                         ({"detour": True}, "detour"), ({"speed": "11"}, "speed_kmh"),
                                         ({"required": "toilets,beds"}, "required"), ({"buffer": "0"},
                                                                                      "network_buffer_m")])
def test_bad_settings_are_refused_naming_the_field(args, field):
    with pytest.raises(ValidationError) as raised:
        Settings.parse(args)
    assert raised.value.field == field and raised.value.status == 422


def test_welfare_facilities_are_published_welfare_assets_with_what_they_offer():
    found = facilities(
        asset("w1", 0, 0, offers=("toilets", "water"), hours="24/7"),
        asset("hub", 10, 0, offers=("shelter",), category="community-hub", welfare=True, hours="Mo-Fr 09:00-17:00"),
        asset("plain-hub", 20, 0, category="community-hub"),  # not marked as a welfare facility
        asset("pending", 30, 0, status="pending"),
        asset("none-known", 40, 0, offers=()),
    )
    assert [f.id for f in found] == ["w1", "hub", "none-known"]
    w1, hub, unknown = found
    assert w1.offers == {"toilets", "water"} and w1.always_open and not hub.always_open
    assert hub.offers == {"shelter"} and unknown.offers == frozenset() and not unknown.always_open
    assert (w1.x, w1.y) == (pytest.approx(E, abs=0.001), pytest.approx(N, abs=0.001))


# -- circles ---------------------------------------------------------------------------------------------------------


def test_a_circle_catchment_has_radius_615_38_m_round_the_facility():
    [circle] = catchments(facilities(asset("w1", 0, 0)))
    assert circle.method == "circle"
    vertices = [math.hypot(x - E, y - N) for x, y in circle.geometry.exterior.coords]
    assert min(vertices) == pytest.approx(RADIUS, abs=0.001) and max(vertices) == pytest.approx(RADIUS, abs=0.001)
    sides = len(circle.geometry.exterior.coords) - 1  # a 128-gon inscribed in the circle
    assert circle.geometry.area == pytest.approx(sides / 2 * RADIUS ** 2 * math.sin(2 * math.pi / sides), rel=1e-6)
    assert circle.geometry.area == pytest.approx(math.pi * RADIUS ** 2, rel=5e-4)  # 1.19 km², 0.04 % short
    assert circle.geometry.contains(at(610, 0)) and not circle.geometry.contains(at(620, 0))


def test_overlapping_circles_are_cut_into_parts_and_the_lens_belongs_to_both():
    found = facilities(asset("a", 0, 0, offers=("toilets", "water"), hours="24/7"),
                       asset("b", 800, 0, offers=("shelter",), hours="Mo-Sa 08:00-18:00"))
    parts = catchment_parts(catchments(found))
    by_ids = {tuple(part["facilities"]): part for part in parts}
    assert set(by_ids) == {("a",), ("b",), ("a", "b")}
    lens = by_ids[("a", "b")]
    d = 800
    expected = 2 * RADIUS ** 2 * math.acos(d / (2 * RADIUS)) - d / 2 * math.sqrt(4 * RADIUS ** 2 - d ** 2)
    assert lens["geometry"].area == pytest.approx(expected, rel=2e-3)  # 237,600 m²
    assert lens["geometry"].contains(at(400, 0)) and not lens["geometry"].contains(at(100, 0))
    assert lens["offers"] == ["toilets", "water", "shelter"] and lens["names"] == ["Facility a", "Facility b"]
    # b alone has limited hours; wherever a (24/7) serves, the part is always served.
    assert [by_ids[k]["limited_hours"] for k in (("a",), ("b",), ("a", "b"))] == [False, True, False]
    total = sum(part["geometry"].area for part in parts)
    assert total == pytest.approx(catchments(found)[0].geometry.union(catchments(found)[1].geometry).area, rel=1e-5)


def test_unknown_hours_are_limited_hours():
    [part] = catchment_parts(catchments(facilities(asset("a", 0, 0))))
    assert part["limited_hours"] is True and part["method"] == "circle"


def test_the_catchment_collection_is_lon_lat_geojson_stating_the_detour():
    parts = catchment_parts(catchments(facilities(asset("a", 0, 0), asset("b", 800, 0))))
    collection = catchment_collection(parts, Settings())
    json.dumps(collection, allow_nan=False)
    assert len(collection["features"]) == 3 and collection["analysis"]["detour"] == 1.3
    properties = collection["features"][0]["properties"]
    assert properties["method"] == "circle" and properties["detour"] == 1.3 and properties["network_buffer_m"] is None
    assert properties["minutes"] == 10 and properties["speed_kmh"] == 4.8
    lon, lat = collection["features"][0]["geometry"]["coordinates"][0][0]
    assert -1.3 < lon < -1.1 and 52.7 < lat < 52.8


def test_circle_site_checks_at_the_boundary_615_m_in_616_m_out():
    found = facilities(asset("a", 0, 0))
    inside = check_site(at(615, 0), found)
    outside = check_site(at(0, -616), found)
    assert inside["within_reach"] is True and inside["reachable"] == ["a"] and inside["missing"] == []
    assert inside["minutes"] == pytest.approx(615 * 1.3 / 80, abs=0.01)  # 9.99 minutes
    assert inside["nearest"][0]["straight_line_m"] == 615 and inside["nearest"][0]["distance_m"] == 799.5
    assert outside["within_reach"] is False and outside["reachable"] == [] and outside["missing"] == list(OFFERS)
    assert outside["nearest"][0]["within_reach"] is False and outside["minutes"] == pytest.approx(10.01, abs=0.01)
    assert inside["settings"] == {"minutes": 10, "speed_kmh": 4.8, "detour": 1.3, "network_buffer_m": None,
                                  "required": list(OFFERS)}


def test_a_polygon_site_is_measured_at_its_farthest_point():
    found = facilities(asset("a", 0, 0))
    # Its near edge is 100 m away and its centre 350 m, but its far corners are 600 and ~641 m away.
    partly = check_site(box(E + 100, N - 175, E + 600, N + 175), found)
    assert partly["within_reach"] is False
    assert partly["nearest"][0]["straight_line_m"] == pytest.approx(math.hypot(600, 175), abs=0.1)
    wholly = check_site(box(E + 100, N - 100, E + 500, N + 100), found)
    assert wholly["within_reach"] is True


def test_missing_offers_are_named_and_the_nearest_listed_with_what_they_offer():
    found = facilities(asset("near", 100, 0, offers=("toilets", "water"), hours="Mo-Fr 09:00-17:00"),
                       asset("far", 2000, 0, offers=("shelter",), hours="24/7"),
                       asset("farther", 3000, 0, offers=("shelter",)))
    answer = check_site(at(0, 0), found, nearest=2)
    assert answer["within_reach"] is False and answer["missing"] == ["shelter"]
    assert answer["reachable"] == ["near"] and answer["offers"] == ["toilets", "water"]
    assert answer["limited_hours"] is True and answer["minutes"] == pytest.approx(130 / 80, abs=0.01)
    assert [(f["id"], f["within_reach"], f["offers"]) for f in answer["nearest"]] == [
        ("near", True, ["toilets", "water"]), ("far", False, ["shelter"])]
    assert answer["nearest"][1]["opening_hours"] == "24/7" and answer["nearest"][1]["always_open"] is True
    # A site that only needs water is fine there.
    assert check_site(at(0, 0), found, Settings(required=("water",)))["within_reach"] is True


def test_no_facilities_means_nothing_within_reach():
    answer = check_site(at(0, 0), [])
    assert answer["within_reach"] is False and answer["minutes"] is None and answer["nearest"] == []
    assert answer["missing"] == list(OFFERS) and answer["limited_hours"] is False


# -- street networks -------------------------------------------------------------------------------------------------


def test_a_straight_street_799_m_is_within_10_minutes_and_801_m_is_not(straight_street):
    found = facilities(asset("a", 0, 0))
    inside = check_site(at(799, 0), found, network=straight_street)
    outside = check_site(at(801, 0), found, network=straight_street)
    assert inside["within_reach"] is True and inside["method"] == "network"
    assert inside["nearest"][0]["distance_m"] == pytest.approx(799, abs=0.01)
    assert outside["within_reach"] is False and outside["minutes"] == pytest.approx(801 / 80, abs=0.01)
    assert inside["settings"]["detour"] is None and inside["settings"]["network_buffer_m"] == 50
    # On a straight street the network reaches farther than the circle, which allows for detours.
    assert check_site(at(700, 0), found)["within_reach"] is False
    assert check_site(at(700, 0), found, network=straight_street)["within_reach"] is True


def test_the_walk_to_the_street_counts(straight_street):
    door = facilities(asset("a", 0, 30))  # 30 m off the street
    assert check_site(at(765, 0), door, network=straight_street)["within_reach"] is True  # 30 + 765 = 795 m
    answer = check_site(at(775, 0), door, network=straight_street)  # 805 m
    assert answer["within_reach"] is False and answer["nearest"][0]["distance_m"] == pytest.approx(805, abs=0.01)
    site_off_street = check_site(at(700, -40), door, network=straight_street)  # 30 + 700 + 40 = 770 m
    assert site_off_street["nearest"][0]["distance_m"] == pytest.approx(770, abs=0.01)


def test_across_the_river_is_near_in_a_straight_line_but_far_by_the_bridge(river):
    found = facilities(asset("a", 0, 100))  # on the north bank, 500 m west of the bridge
    opposite = at(0, -100)  # 200 m away across the water
    assert check_site(opposite, found)["within_reach"] is True  # the circle cannot see the river
    answer = check_site(opposite, found, network=river)
    assert answer["within_reach"] is False
    assert answer["nearest"][0]["distance_m"] == pytest.approx(500 + 200 + 500, abs=0.01)  # 15 minutes
    assert answer["minutes"] == pytest.approx(15, abs=0.01)


def test_the_network_reaches_partial_streets_beyond_the_bridge(river):
    [facility] = facilities(asset("a", 0, 100))
    lines = river.reachable_streets((facility.x, facility.y), 800)
    # North bank 800 m both ways (x -800..800), the whole 200 m bridge, and 100 m either side of its south foot.
    assert lines.length == pytest.approx(1600 + 200 + 200, abs=0.01)
    [catchment] = catchments([facility], network=river)
    area = catchment.geometry
    assert catchment.method == "network"
    for x, y in [(-790, 100), (790, 100), (0, 140), (500, 0), (590, -100), (410, -100)]:
        assert area.contains(at(x, y)), (x, y)
    for x, y in [(0, -100), (300, -100), (700, -100), (-900, 100), (0, 200)]:
        assert not area.contains(at(x, y)), (x, y)
    assert area.area < catchments([facility])[0].geometry.area


def test_every_street_point_within_the_walk_is_inside_the_catchment_and_walks_are_two_way(river):
    [facility] = facilities(asset("a", -200, 100))
    [catchment] = catchments([facility], network=river)
    points = [(E + x, N + y) for y in (100, -100) for x in range(-1000, 1001, 10)] + \
             [(E + 500, N + y) for y in range(-100, 101, 10)]
    walked = river.distances([(facility.x, facility.y)], points)[0]
    assert (walked <= 800).sum() > 150
    for (x, y), distance in zip(points, walked):
        if distance <= 800:
            assert catchment.geometry.contains(Point(x, y)), (x - E, y - N, distance)
        if distance > 800 + 50:  # no other street runs within 50 m of these
            assert not catchment.geometry.contains(Point(x, y)), (x - E, y - N, distance)
    back = river.distances(points, [(facility.x, facility.y)])[:, 0]
    assert back == pytest.approx(walked, abs=1e-6)


def test_network_parts_and_collection_state_the_buffer_not_the_detour(river):
    found = facilities(asset("a", 0, 100, hours="24/7"), asset("b", 0, -100))
    parts = catchment_parts(catchments(found, network=river))
    assert {tuple(p["facilities"]) for p in parts} == {("a",), ("b",), ("a", "b")}
    collection = catchment_collection(parts)
    properties = collection["features"][0]["properties"]
    assert properties["method"] == "network" and properties["detour"] is None
    assert properties["network_buffer_m"] == 50 and collection["analysis"]["radius_m"] is None


def test_a_polygon_site_on_a_network_is_measured_at_its_farthest_point(straight_street):
    found = facilities(asset("a", 0, 0))
    assert check_site(box(E + 700, N - 10, E + 760, N + 10), found, network=straight_street)["within_reach"]
    answer = check_site(box(E + 760, N - 20, E + 790, N + 20), found, network=straight_street)  # 790 + 20
    assert answer["within_reach"] is False
    assert answer["nearest"][0]["distance_m"] == pytest.approx(810, abs=0.01)


def test_a_facility_on_another_network_island_is_out_of_reach():
    network = load_network([street((0, 0), (300, 0)), street((0, 50), (300, 50))])  # not joined
    found = facilities(asset("island", 0, 50))
    answer = check_site(at(0, 0), found, network=network)
    assert answer["within_reach"] is False and answer["minutes"] is None
    assert answer["nearest"][0]["distance_m"] is None


# -- gaps ------------------------------------------------------------------------------------------------------------


def test_gaps_rank_the_place_that_unlocks_the_cluster_first():
    found = facilities(asset("a", 0, 0))
    sites = [("served", at(100, 0)), ("c1", at(3000, 0)), ("c2", at(3080, 40)), ("c3", at(3040, -60)),
             ("lone", at(-3000, 0))]
    ranked = gaps(sites, found)
    assert [(g["rank"], g["unlocks"], sorted(g["sites"])) for g in ranked] == [
        (1, 3, ["c1", "c2", "c3"]), (2, 1, ["lone"])]
    best = ranked[0]
    assert math.hypot(best["x"] - (E + 3040), best["y"] - N) < 60  # the middle of the cluster, within a grid step
    assert (best["x"] - E) % 50 == 0 and to_british_national_grid(best["lon"], best["lat"])[0] == pytest.approx(
        best["x"], abs=0.01)


def test_gaps_are_greedy_sites_unlocked_once_no_longer_count():
    # One place covers A, B and C; another C and D: once the first is chosen, the second unlocks only D.
    sites = [("A", at(0, 0)), ("B", at(400, 0)), ("C", at(800, 0)), ("D", at(1900, 0))]
    ranked = gaps(sites, [], top=5)
    assert [(g["unlocks"], g["sites"]) for g in ranked] == [(3, ["A", "B", "C"]), (1, ["D"])]


def test_network_gaps_are_junctions_on_the_same_bank():
    network = load_network([street(*every(50, -1000, 1000, 100)), street(*every(50, -1000, 1000, -100)),
                            street((500, -100), (500, 100))])
    found = facilities(asset("a", 800, 100))
    sites = [("s1", at(-800, -100)), ("s2", at(-600, -100)), ("served", at(700, 100))]
    [best] = gaps(sites, found, network=network, top=1)
    assert best["unlocks"] == 2 and sorted(best["sites"]) == ["s1", "s2"]
    assert best["y"] == pytest.approx(N - 100, abs=0.01) and -800 <= best["x"] - E <= -600
    # The circle method, blind to the river, may as well put it on the north bank: different answers.
    assert gaps(sites, found)[0]["unlocks"] == 2


def test_no_blocked_sites_no_gaps():
    assert gaps([("s", at(10, 0))], facilities(asset("a", 0, 0))) == []
    with pytest.raises(ValidationError):
        gaps([("s", at(10, 0))], [], spacing_m=0)


def test_module_examples_run():
    assert doctest.testmod(module).failed == 0


# -- the command -----------------------------------------------------------------------------------------------------


def test_mapper_catchments_writes_the_layer_circles_then_network(tmp_path):
    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args] + ["--data", str(tmp_path / "data")],
                                  catch_exceptions=False)

    x, y = 454_980, 319_400  # inside Bell Foundry
    assets = tmp_path / "assets.geojson"
    features = [asset(f"w{i}", x - E + dx, y - N, hours="24/7" if i == 0 else None) for i, dx in enumerate((0, 500))]
    for feature in features:
        del feature["properties"]["id"], feature["properties"]["status"]
    assets.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")
    assert run("import", "--zone", "bell-foundry", "--layer", "assets", assets).exit_code == 0
    out = tmp_path / "catchments.geojson"
    result = run("catchments", "--zone", "bell-foundry", "-o", out)
    assert result.exit_code == 0, result.output
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert len(collection["features"]) == 3 and collection["analysis"]["method"] == "circle"
    assert "2 welfare facilities" in result.output and "circles of 615 m" in result.output
    streets = tmp_path / "streets.geojson"
    streets.write_text(json.dumps({"type": "FeatureCollection", "features": [
        street((x - E - 900, y - N), (x - E + 900, y - N))]}), encoding="utf-8")
    assert run("import-streets", "--zone", "bell-foundry", streets).exit_code == 0
    result = run("catchments", "--zone", "bell-foundry", "--minutes", "5", "-o", out)
    assert result.exit_code == 0, result.output
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["analysis"]["method"] == "network" and collection["analysis"]["minutes"] == 5
    lens = next(f for f in collection["features"] if len(f["properties"]["facilities"]) == 2)
    # 5 minutes is 400 m each way along the street: the two reaches meet 250 m from each facility.
    assert shape(lens["geometry"]).is_valid
    bad = run("catchments", "--zone", "bell-foundry", "--minutes", "90", "-o", out)
    assert bad.exit_code == 2 and "'minutes' must be a number from 1 to 60" in bad.output
