"""The zone registry: shipped zones, point lookup with holes and multipolygons, areas in metres, adding zones."""

import json

import pytest
from pyproj import Geod
from shapely.geometry import MultiPolygon, Polygon, box, mapping

from mapper.errors import MapperError, OutsideZone, ZoneNotFound
from mapper.zones import Zone, ZoneRegistry, add_zone, load_zones, open_registry, place
from tests.helpers import INSIDE, OUTSIDE

SHIPPED = "data/zones.geojson"


@pytest.fixture
def shipped():
    return load_zones(SHIPPED)


def test_the_three_people_zones_are_shipped(shipped):
    assert shipped.ids == ["bell-foundry", "new-parks", "thringstone-whitwick"]
    wards = {zone.id: [w["name"] for w in zone.properties["wards"]] for zone in shipped}
    assert wards == {"bell-foundry": ["Loughborough Hastings"], "new-parks": ["New Parks"],
                     "thringstone-whitwick": ["Thringstone", "Whitwick"]}


@pytest.mark.parametrize("zone_id", list(INSIDE))
def test_zone_for_point_finds_each_zone(shipped, zone_id):
    assert shipped.zone_for_point(*INSIDE[zone_id]).id == zone_id


def test_zone_for_point_outside_everything_is_none(shipped):
    assert shipped.zone_for_point(*OUTSIDE) is None
    assert shipped.zone_for_point(0, 0) is None


def test_areas_are_in_square_metres_and_agree_with_the_ellipsoid(shipped):
    geod = Geod(ellps="WGS84")
    for zone in shipped:
        geodesic = abs(geod.geometry_area_perimeter(zone.boundary)[0])
        assert zone.area_m2 == pytest.approx(geodesic, rel=0.002)  # OSGB36 grid scale error is < 0.1 %


def test_holes_are_outside_and_multipolygon_parts_are_inside():
    donut = Polygon(box(0, 0, 10, 10).exterior.coords, [box(4, 4, 6, 6).exterior.coords])
    islands = MultiPolygon([box(20, 0, 21, 1), box(30, 0, 31, 1)])
    registry = ZoneRegistry([Zone("donut", "Donut", donut), Zone("islands", "Islands", islands)])
    assert registry.zone_for_point(1, 1).id == "donut"
    assert registry.zone_for_point(5, 5) is None  # in the hole
    assert registry.zone_for_point(20.5, 0.5).id == "islands"
    assert registry.zone_for_point(30.5, 0.5).id == "islands"
    assert registry.zone_for_point(25, 0.5) is None  # between the islands
    assert list(registry.zones_for_points([1, 5, 30.5, 25], [1, 5, 0.5, 0.5])) == ["donut", None, "islands", None]


def test_place_checks_the_named_zone_and_explains(shipped):
    assert place(shipped, *INSIDE["new-parks"], "new-parks").id == "new-parks"
    with pytest.raises(OutsideZone, match="outside the New Parks zone"):
        place(shipped, *INSIDE["bell-foundry"], "new-parks")
    with pytest.raises(ZoneNotFound, match="Zones are: bell-foundry"):
        place(shipped, *INSIDE["bell-foundry"], "atlantis")


def test_the_registry_is_seeded_then_zones_are_added_without_code(tmp_path):
    registry = open_registry(tmp_path / "zones.geojson", SHIPPED)
    assert len(registry) == 3
    square = box(-1.50, 52.70, -1.49, 52.71)
    registry = add_zone(registry, "coalville-centre", "Coalville Centre", square, {"council": "NWLDC"})
    assert registry.zone_for_point(-1.495, 52.705).id == "coalville-centre"
    reloaded = load_zones(tmp_path / "zones.geojson")
    assert reloaded.ids[-1] == "coalville-centre" and reloaded.get("coalville-centre").properties["council"] == "NWLDC"
    with pytest.raises(MapperError, match="already exists"):
        add_zone(reloaded, "coalville-centre", "Again", square)
    with pytest.raises(MapperError, match="lower-case"):
        add_zone(reloaded, "Bad Id", "Bad", square)


def test_a_broken_registry_file_is_a_clear_error(tmp_path):
    path = tmp_path / "zones.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "No id"}, "geometry": mapping(box(0, 0, 1, 1))}]}))
    with pytest.raises(MapperError, match="needs a slug 'id'"):
        load_zones(path)
    path.write_text("{")
    with pytest.raises(MapperError, match="Cannot read the zone registry"):
        load_zones(path)


def test_a_new_zone_appears_in_the_api_without_a_restart(client, data_dir):
    assert len(client.get("/api/zones").get_json()["zones"]) == 3
    registry = load_zones(data_dir / "zones.geojson")
    add_zone(registry, "test-zone", "Test Zone", box(-1.50, 52.70, -1.49, 52.71))
    assert [z["id"] for z in client.get("/api/zones").get_json()["zones"]][-1] == "test-zone"
    response = client.post("/api/reports", json={"type": "Feature", "properties": {"category": "out"},
                                                 "geometry": {"type": "Point", "coordinates": [-1.495, 52.705]}})
    assert response.status_code == 201 and response.get_json()["properties"]["zone"] == "test-zone"


def test_add_zone_needs_a_name(tmp_path):
    registry = open_registry(tmp_path / "zones.geojson", SHIPPED)
    with pytest.raises(MapperError, match="needs a name"):
        add_zone(registry, "nameless", "  ", box(-1.50, 52.70, -1.49, 52.71))
    assert len(load_zones(tmp_path / "zones.geojson")) == 3


def test_two_administrators_adding_zones_from_stale_registries_keep_both(tmp_path):
    first = open_registry(tmp_path / "zones.geojson", SHIPPED)
    second = load_zones(tmp_path / "zones.geojson")  # loaded before the first add, as another process would
    add_zone(first, "zone-a", "Zone A", box(-1.50, 52.70, -1.49, 52.71))
    add_zone(second, "zone-b", "Zone B", box(-1.48, 52.70, -1.47, 52.71))
    assert load_zones(tmp_path / "zones.geojson").ids[-2:] == ["zone-a", "zone-b"]
