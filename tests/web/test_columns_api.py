"""Reports linked to lamp columns through the API and the form's intake, duplicates matched by column in
/api/nearby, and /api/zones/<zone>/columns/nearest. Bristol's real lights are moved into Bell Foundry
(tests/columns_helpers.py)."""

import json

import numpy as np
import pytest

from mapper import intake
from mapper.crs import from_british_national_grid, to_british_national_grid
from mapper.importers.columns import import_columns
from tests.columns_helpers import ZONE, bristol_shifted_csv, zone_centre
from tests.helpers import point_feature


@pytest.fixture(scope="module")
def bristol_csv(tmp_path_factory):
    return bristol_shifted_csv(tmp_path_factory.mktemp("bristol") / "bristol_bng.csv")[0]


def load_columns(resources, path):
    return import_columns(path, ZONE, schema=resources.schema, zones=resources.zones(), store=resources.store)


@pytest.fixture
def street(resources, tmp_path):
    """Three columns 40 m apart on an east-west street in Bell Foundry; returns their (easting, northing)."""
    e, n = (round(v) for v in zone_centre())
    positions = {"LC1": (e, n), "LC2": (e + 40, n), "LC3": (e + 80, n)}
    path = tmp_path / "street.csv"
    path.write_text("unit_id,easting,northing\n" + "".join(f"{u},{x},{y}\n" for u, (x, y) in positions.items()),
                    encoding="utf-8")
    assert load_columns(resources, path).added == 3
    return positions


def lonlat(easting, northing):
    lon, lat = from_british_national_grid(easting, northing)
    return round(float(lon), 7), round(float(lat), 7)


def post_light(client, easting, northing, **properties):
    body = point_feature(*lonlat(easting, northing), category="out", **properties)
    return client.post(f"/api/zones/{ZONE}/lights", data=json.dumps(body), content_type="application/json")


def test_a_report_at_a_real_column_gets_its_unit_id_and_one_30_m_away_gets_none(client, resources, bristol_csv):
    load_columns(resources, bristol_csv)
    columns = [json.loads(line)["properties"] | {"coordinates": json.loads(line)["geometry"]["coordinates"]}
               for line in resources.store.query(ZONE, "columns").lines]
    easting, northing = to_british_national_grid([c["coordinates"][0] for c in columns],
                                                 [c["coordinates"][1] for c in columns])
    zone = resources.zones().get(ZONE)

    def clear_of_columns(x, y):  # in the zone, and no column within 25 m, by a full scan
        return zone.contains(*lonlat(x, y)) and np.hypot(easting - x, northing - y).min() > 25

    away_from = next((position, dx, dy) for position in range(len(columns))
                     for dx, dy in ((30, 0), (-30, 0), (0, 30), (0, -30))
                     if clear_of_columns(easting[position] + dx, northing[position] + dy))
    position, dx, dy = away_from
    at_column = post_light(client, easting[position], northing[position])
    assert at_column.status_code == 201
    assert at_column.get_json()["properties"]["column"] == columns[position]["unit_id"]
    away = post_light(client, easting[position] + dx, northing[position] + dy)
    assert away.status_code == 201 and "column" not in away.get_json()["properties"]
    stored = resources.store.get(ZONE, "lights", at_column.get_json()["id"])
    assert stored["properties"]["column"] == columns[position]["unit_id"]


def test_the_form_path_links_too(resources, street):
    raw = point_feature(*lonlat(*street["LC2"]), category="out")
    stored, created = intake.submit_once(raw, "lights", "client-abcdef12", schema=resources.schema,
                                         zones=resources.zones(), store=resources.store)
    assert created and stored["properties"]["column"] == "LC2"


def test_a_tapped_column_is_kept_and_an_unknown_or_distant_one_refused(client, resources, street):
    e, n = street["LC2"]
    tapped = post_light(client, e + 18, n, column="LC2")  # LC2 18 m, LC3 22 m
    assert tapped.status_code == 201 and tapped.get_json()["properties"]["column"] == "LC2"
    chosen = post_light(client, e + 22, n, column="LC2")  # LC3 is nearer (18 m); the resident picked LC2
    assert chosen.get_json()["properties"]["column"] == "LC2"
    unknown = post_light(client, e, n, column="LC99")
    assert unknown.status_code == 422 and unknown.get_json()["error"]["field"] == "column"
    assert "LC99" in unknown.get_json()["error"]["message"]
    far = post_light(client, e, n, column="LC3")  # 40 m away
    assert far.status_code == 422 and "40 m" in far.get_json()["error"]["message"]
    assert len(resources.store.query(ZONE, "lights")) == 2


def test_nearby_offers_open_reports_on_the_same_column_beyond_the_radius(client, street):
    e, n = street["LC2"]
    west = post_light(client, e - 10, n + 20).get_json()  # linked to LC2 (22 m), 32 m from the query point
    assert west["properties"]["column"] == "LC2"
    other = post_light(client, e + 35, n).get_json()  # linked to LC3 (5 m), 20 m from the query point
    assert other["properties"]["column"] == "LC3"
    lon, lat = lonlat(e + 15, n)
    answer = client.get(f"/api/nearby?lon={lon}&lat={lat}&radius=30").get_json()
    assert answer["column"] == {"unit_id": "LC2", "distance_m": 15.0}
    offered = {f["properties"]["id"]: f["properties"] for f in answer["features"]}
    assert offered[west["id"]]["same_column"] is True and offered[west["id"]]["distance_m"] > 30
    assert offered[other["id"]]["same_column"] is False
    assert [f["properties"]["id"] for f in answer["features"]] == [other["id"], west["id"]]  # nearest first


def test_nearby_without_a_column_near_the_point_is_as_before(client, street):
    e, n = street["LC1"]
    post_light(client, e - 200, n)
    lon, lat = lonlat(e - 200, n + 10)
    answer = client.get(f"/api/nearby?lon={lon}&lat={lat}").get_json()
    assert "column" not in answer and len(answer["features"]) == 1
    assert "same_column" not in answer["features"][0]["properties"]


def test_nearest_column_route(client, street):
    e, n = street["LC3"]
    lon, lat = lonlat(e + 5, n)
    answer = client.get(f"/api/zones/{ZONE}/columns/nearest?lon={lon}&lat={lat}")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["unit_id"] == "LC3" and body["distance_m"] == 5.0 and body["zone"] == ZONE
    assert body["geometry"]["coordinates"] == list(lonlat(e, n))


@pytest.mark.parametrize("query, status", [
    ("lon=-1.1950&lat=52.7700&x=1", None),  # placeholder replaced below
    ("lon=abc&lat=52.77", 422),
    ("lat=52.77", 422),
    ("lon=-1.19&lat=95", 422),
])
def test_nearest_column_route_errors_are_4xx(client, street, query, status):
    if status is None:
        lon, lat = lonlat(street["LC1"][0] - 100, street["LC1"][1])
        query, status = f"lon={lon}&lat={lat}", 404  # nothing within 25 m
    response = client.get(f"/api/zones/{ZONE}/columns/nearest?{query}")
    assert response.status_code == status
    assert response.get_json()["error"]["message"]


def test_nearest_column_in_an_unknown_zone_or_a_zone_without_columns(client):
    assert client.get("/api/zones/nowhere/columns/nearest?lon=-1.2&lat=52.77").status_code == 404
    response = client.get(f"/api/zones/{ZONE}/columns/nearest?lon=-1.1950&lat=52.7700")
    assert response.status_code == 404 and "No lamp column" in response.get_json()["error"]["message"]


def test_the_inventory_downloads_as_a_layer(client, street):
    body = client.get(f"/api/zones/{ZONE}/columns.geojson").get_json()
    assert sorted(f["properties"]["unit_id"] for f in body["features"]) == ["LC1", "LC2", "LC3"]


# -- /api/zones/<zone>/columns/near: what the report page's picker offers -------------------------------------------


def near(client, easting, northing, zone=ZONE, **params):
    lon, lat = lonlat(easting, northing)
    query = "&".join(f"{key}={value}" for key, value in {"lon": lon, "lat": lat, **params}.items())
    return client.get(f"/api/zones/{zone}/columns/near?{query}")


def test_columns_near_lists_in_service_columns_nearest_first_with_distance_and_location(client, resources, tmp_path,
                                                                                        street):
    e, n = street["LC1"]
    path = tmp_path / "located.csv"
    path.write_text(f"unit_id,easting,northing,location\nLC4,{e + 10},{n + 30},Bell Street o/s 12\n",
                    encoding="utf-8")
    assert load_columns(resources, path).added == 1
    response = near(client, e + 25, n)  # LC2 15 m, LC1 25 m, LC4 ~33.5 m, LC3 55 m (beyond the default 40 m)
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    body = response.get_json()
    assert body["type"] == "FeatureCollection" and body["zone"] == ZONE and body["radius_m"] == 40
    assert body["truncated"] is False
    listed = [(f["properties"]["unit_id"], f["properties"]["distance_m"]) for f in body["features"]]
    assert listed == [("LC2", 15.0), ("LC1", 25.0), ("LC4", pytest.approx(33.5, abs=0.1))]
    lc4 = body["features"][2]
    assert lc4["properties"]["location"] == "Bell Street o/s 12"
    assert lc4["geometry"] == {"type": "Point", "coordinates": list(lonlat(e + 10, n + 30))}
    assert set(lc4["properties"]) == {"unit_id", "distance_m", "location"}  # no status, source or internal ids
    assert [f["properties"]["unit_id"] for f in near(client, e + 25, n, radius=60).get_json()["features"]] == [
        "LC2", "LC1", "LC4", "LC3"]


def test_columns_near_stops_at_the_limit_and_says_so(client, resources, tmp_path):
    e, n = (round(v) for v in zone_centre())
    path = tmp_path / "dense.csv"  # 60 columns 1 m apart on a line: all within 40 m of its middle
    path.write_text("unit_id,easting,northing\n" + "".join(f"D{i:02d},{e - 30 + i},{n}\n" for i in range(60)),
                    encoding="utf-8")
    assert load_columns(resources, path).added == 60
    body = near(client, e, n).get_json()
    assert len(body["features"]) == 50 and body["truncated"] is True
    distances = [f["properties"]["distance_m"] for f in body["features"]]
    assert distances == sorted(distances) and distances[0] == 0.0 and distances[-1] <= 25
    few = near(client, e, n, limit=3).get_json()
    assert [f["properties"]["unit_id"] for f in few["features"]] == ["D30", "D29", "D31"]  # ties: file order


def test_columns_near_radius_is_capped_at_100_metres(client, street):
    e, n = street["LC1"]
    everything = near(client, e - 21, n, radius=100).get_json()  # LC1 21 m, LC2 61 m, LC3 101 m
    assert [f["properties"]["unit_id"] for f in everything["features"]] == ["LC1", "LC2"]
    assert everything["radius_m"] == 100
    too_far = near(client, e - 21, n, radius=101)
    assert too_far.status_code == 422 and too_far.get_json()["error"]["field"] == "radius"
    assert "100" in too_far.get_json()["error"]["message"]


@pytest.mark.parametrize("query, field", [
    ("lat=52.77", "lon"),
    ("lon=-1.195", "lat"),
    ("lon=abc&lat=52.77", "lon"),
    ("lon=-1.195&lat=nan", "lat"),
    ("lon=-1.195&lat=91", "lat"),
    ("lon=inf&lat=52.77", "lon"),
    ("lon=-1.195&lat=52.77&radius=0", "radius"),
    ("lon=-1.195&lat=52.77&radius=-5", "radius"),
    ("lon=-1.195&lat=52.77&radius=ten", "radius"),
    ("lon=-1.195&lat=52.77&limit=0", "limit"),
    ("lon=-1.195&lat=52.77&limit=51", "limit"),
])
def test_columns_near_refuses_bad_parameters_naming_the_field(client, street, query, field):
    response = client.get(f"/api/zones/{ZONE}/columns/near?{query}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == field and error["message"]


def test_columns_near_in_an_unknown_zone_is_404_and_a_zone_without_columns_lists_none(client, street):
    assert client.get("/api/zones/nowhere/columns/near?lon=-1.2&lat=52.77").status_code == 404
    body = client.get("/api/zones/new-parks/columns/near?lon=-1.1855&lat=52.6404").get_json()
    assert body["features"] == [] and body["truncated"] is False and body["zone"] == "new-parks"


def test_columns_near_leaves_out_removed_columns(client, resources, tmp_path, street):
    e, n = street["LC1"]
    path = tmp_path / "replacement.csv"  # the council's new register no longer lists LC2
    path.write_text(f"unit_id,easting,northing\nLC1,{e},{n}\nLC3,{e + 80},{n}\n", encoding="utf-8")
    assert import_columns(path, ZONE, schema=resources.schema, zones=resources.zones(), store=resources.store,
                          replace=True).removed == 1
    listed = [f["properties"]["unit_id"] for f in near(client, e + 40, n, radius=50).get_json()["features"]]
    assert listed == ["LC1", "LC3"]
    assert "LC2" not in near(client, e + 40, n, radius=5).get_data(as_text=True)
