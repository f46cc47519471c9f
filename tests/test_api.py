"""The HTTP API: one test per class of bad input (4xx, nothing stored), then the happy paths and downloads."""

import csv
import io
import json

import pytest

from tests.helpers import INSIDE, OUTSIDE, light, point_feature

URL = "/api/zones/bell-foundry/lights"


def post(client, body, url=URL, content_type="application/json"):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return client.post(url, data=data, content_type=content_type)


def stored_count(client, zone="bell-foundry", layer="lights"):
    return len(client.get(f"/api/zones/{zone}/{layer}.geojson").get_json()["features"])


def assert_error(response, status, code=None, field=None, mentions=()):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "field"}
    if code:
        assert error["code"] == code
    if field:
        assert error["field"] == field
    for text in mentions:
        assert text in error["message"]
    return error


# -- bad input: every class answers 4xx with a usable message, and stores nothing ----------------------------------

BAD_BODIES = [
    pytest.param(b"{not json", 400, "malformed", None, ["not valid JSON"], id="malformed-json"),
    pytest.param(b"", 400, "malformed", None, ["empty"], id="empty-body"),
    pytest.param(b"\xff\xfe{}", 400, "malformed", None, ["UTF-8"], id="not-utf8"),
    pytest.param(b"[" * 100000 + b"]" * 100000, 413, "payload_too_large", None, [], id="deep-and-large"),
    pytest.param(b"[" * 20000 + b"]" * 20000, 400, "malformed", None, ["nested too deeply"], id="nested-too-deep"),
    pytest.param('{"type":"Feature","geometry":{"type":"Point","coordinates":[NaN,52.77]},"properties":{}}',
                 400, "malformed", None, ["NaN"], id="nan"),
    pytest.param('{"type":"Feature","geometry":{"type":"Point","coordinates":[-1.19,Infinity]},"properties":{}}',
                 400, "malformed", None, ["Infinity"], id="infinity"),
    pytest.param('{"type":"Feature","geometry":{"type":"Point","coordinates":[1' + '0' * 400 + ',52.77]},'
                 '"properties":{"category":"out"}}', 422, "invalid", "geometry", [], id="integer-too-big-for-float"),
    pytest.param("1" * 5000, 400, "malformed", None, ["digits"], id="integer-too-long-to-parse"),
    pytest.param('{"type":"Feature","geometry":{"type":"Point","coordinates":[-1.195,52.77]},'
                 '"properties":{"category":"out"},"properties":{"category":"dim"}}', 400, "malformed", None,
                 ["'properties' appears twice"], id="duplicate-keys"),
    pytest.param([1, 2], 422, "invalid", "type", ["Feature"], id="array-not-feature"),
    pytest.param({"type": "FeatureCollection", "features": []}, 422, "invalid", "type", ["FeatureCollection"],
                 id="collection-not-feature"),
    pytest.param({"type": "Feature", "properties": {"category": "out"}}, 422, "invalid", "geometry", [],
                 id="no-geometry"),
    pytest.param({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[-1.19, 52.77]] * 2},
                  "properties": {"category": "out"}}, 422, "invalid", "geometry", ["Point", "LineString"],
                 id="not-a-point"),
    pytest.param(point_feature("-1.19", 52.77, category="out"), 422, "invalid", "geometry", ["'-1.19'"],
                 id="string-coordinate"),
    pytest.param(point_feature(True, 52.77, category="out"), 422, "invalid", "geometry", [], id="bool-coordinate"),
    pytest.param({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.19]},
                  "properties": {"category": "out"}}, 422, "invalid", "geometry", [], id="one-coordinate"),
    pytest.param(point_feature(52.77, -1.195, category="out"), 422, "outside_zone", "geometry", ["Bell Foundry"],
                 id="swapped-lat-lon"),
    pytest.param(point_feature(200, 52.77, category="out"), 422, "invalid", "geometry", ["-180..180"],
                 id="longitude-out-of-range"),
    pytest.param(point_feature(-1.19, 91, category="out"), 422, "invalid", "geometry", ["-90..90"],
                 id="latitude-out-of-range"),
    pytest.param(point_feature(*OUTSIDE, category="out"), 422, "outside_zone", "geometry",
                 ["outside the Bell Foundry zone (bell-foundry)"], id="outside-this-zone"),
    pytest.param(point_feature(*INSIDE["new-parks"], category="out"), 422, "outside_zone", "geometry",
                 ["Bell Foundry"], id="inside-another-zone"),
    pytest.param(light(category="broken"), 422, "invalid", "category", ["'broken'", "dark-spot"],
                 id="unknown-category"),
    pytest.param(point_feature(*INSIDE["bell-foundry"]), 422, "invalid", "category", ["required"],
                 id="missing-category"),
    pytest.param(light(category=7), 422, "invalid", "category", ["text"], id="category-not-text"),
    pytest.param(light(description="x" * 2001), 422, "invalid", "description", ["2001", "2000"],
                 id="description-too-long"),
    pytest.param(light(description=["a"]), 422, "invalid", "description", [], id="description-not-text"),
    pytest.param(light(description="bell\x07"), 422, "invalid", "description", ["control"],
                 id="control-characters"),
    pytest.param(light(colour="red", mood="grim"), 422, "invalid", "colour", ["'colour'", "'mood'"],
                 id="unknown-properties"),
    pytest.param(light(status="fixed"), 422, "invalid", "status", ["set by the server"], id="client-sets-status"),
    pytest.param(light(id="abc", created="2020-01-01"), 422, "invalid", "created", ["created, id"],
                 id="client-sets-id-and-created"),
    pytest.param({**light(), "id": "abc"}, 422, "invalid", "id", ["set by the server"], id="top-level-id"),
    pytest.param({**light(), "style": {}}, 422, "invalid", "style", ["'style'"], id="unknown-member"),
    pytest.param({**light(), "properties": [1]}, 422, "invalid", "properties", [], id="properties-not-object"),
]


@pytest.mark.parametrize("body, status, code, field, mentions", BAD_BODIES)
def test_bad_input_is_refused_clearly_and_nothing_is_stored(client, body, status, code, field, mentions):
    assert_error(post(client, body), status, code, field, mentions)
    assert stored_count(client) == 0


def test_a_lone_surrogate_is_refused_not_a_500(client):
    body = json.dumps(light(description="ok")).replace('"ok"', '"\\ud800"')
    assert_error(post(client, body), 422, "invalid", "description")
    assert stored_count(client) == 0


def test_a_body_over_the_limit_is_413_before_parsing(client, app):
    limit = app.config["MAX_JSON_BYTES"]
    body = json.dumps(light(description="x" * (limit + 10)))
    assert_error(post(client, body), 413, "payload_too_large", mentions=[str(limit)])
    assert stored_count(client) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_media_type_is_415(client, content_type):
    assert_error(post(client, light(), content_type=content_type), 415, "unsupported_media_type",
                 field="Content-Type")
    assert stored_count(client) == 0


def test_geo_json_media_type_is_accepted(client):
    assert post(client, light(), content_type="application/geo+json").status_code == 201


@pytest.mark.parametrize("url, code", [
    ("/api/zones/atlantis/lights", "zone_not_found"),
    ("/api/zones/bell-foundry/crime-scenes", "layer_not_found"),
    ("/api/zones/Bell-Foundry/lights", "zone_not_found"),
])
def test_unknown_zone_or_layer_is_404_naming_what_exists(client, url, code):
    error = assert_error(post(client, light(), url=url), 404, code)
    assert "bell-foundry" in error["message"] or "lights" in error["message"]


def test_path_traversal_in_the_zone_is_a_plain_404(client, data_dir):
    assert_error(post(client, light(), url="/api/zones/..%2F..%2Fetc/lights"), 404)
    assert_error(client.get("/api/zones/..%2F..%2Fetc/lights.geojson"), 404)


def test_unknown_routes_and_methods_answer_json(client):
    assert_error(client.get("/api/nothing-here"), 404)
    assert_error(client.delete(URL), 405)


# -- submitting ----------------------------------------------------------------------------------------------------


def test_post_stores_the_feature_and_answers_201_with_location(client):
    response = post(client, light(description="Light out by the bus stop on Freehold Street"))
    assert response.status_code == 201
    feature = response.get_json()
    properties = feature["properties"]
    assert properties["status"] == "open" and properties["zone"] == "bell-foundry"
    assert properties["category"] == "out" and properties["id"] == feature["id"]
    assert response.headers["Location"] == f"{URL}/{feature['id']}"
    assert client.get(response.headers["Location"]).get_json() == feature
    assert stored_count(client) == 1


def test_text_is_normalised_and_stored_verbatim_not_escaped(client):
    feature = post(client, light(description="  <script>alert(1)</script>\r\nsecond line  ")).get_json()
    assert feature["properties"]["description"] == "<script>alert(1)</script>\nsecond line"


def test_api_reports_finds_the_zone_from_the_point(client):
    for zone, (lon, lat) in INSIDE.items():
        response = post(client, point_feature(lon, lat, category="dark-spot"), url="/api/reports")
        assert response.status_code == 201
        assert response.get_json()["properties"]["zone"] == zone
        assert response.headers["Location"].startswith(f"/api/zones/{zone}/lights/")


def test_api_reports_outside_every_zone_lists_the_zones(client):
    error = assert_error(post(client, point_feature(*OUTSIDE, category="out"), url="/api/reports"), 422,
                         "outside_zone")
    for name in ("Bell Foundry", "New Parks", "Thringstone & Whitwick"):
        assert name in error["message"]


def test_assets_layer_takes_its_own_properties(client):
    asset = point_feature(*INSIDE["new-parks"], category="food-bank", name="New Parks Pantry",
                          website="https://example.org/pantry", phone="0116 000 0000")
    response = post(client, asset, url="/api/zones/new-parks/assets")
    assert response.status_code == 201
    bad = point_feature(*INSIDE["new-parks"], category="food-bank", name="X", website="javascript:alert(1)")
    assert_error(post(client, bad, url="/api/zones/new-parks/assets"), 422, field="website")
    assert_error(post(client, light(zone="new-parks"), url="/api/zones/new-parks/assets"), 422, field="category")


# -- reading -------------------------------------------------------------------------------------------------------


@pytest.fixture
def three_lights(client):
    lon, lat = INSIDE["bell-foundry"]
    features = [point_feature(lon, lat, category="out"), point_feature(lon + 0.002, lat, category="dim"),
                point_feature(lon + 0.004, lat, category="dim", description="=HYPERLINK(\"http://evil\")")]
    return [post(client, f).get_json() for f in features]


def test_zones_list_has_bbox_area_and_counts(client, three_lights):
    zones = {z["id"]: z for z in client.get("/api/zones").get_json()["zones"]}
    assert set(zones) == {"bell-foundry", "new-parks", "thringstone-whitwick"}
    bell = zones["bell-foundry"]
    # crime records are staff-only (access = "staff"), so the public summary does not count them either
    assert bell["counts"] == {"lights": 3, "assets": 0, "audits": 0, "columns": 0, "streets": 0, "cp-sites": 0}
    assert 3.0e6 < bell["area_m2"] < 4.0e6
    min_lon, min_lat, max_lon, max_lat = bell["bbox"]
    assert min_lon < INSIDE["bell-foundry"][0] < max_lon and min_lat < INSIDE["bell-foundry"][1] < max_lat


def test_zone_is_a_feature_with_its_boundary(client):
    zone = client.get("/api/zones/thringstone-whitwick").get_json()
    assert zone["type"] == "Feature" and zone["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert zone["properties"]["name"] == "Thringstone & Whitwick"
    assert_error(client.get("/api/zones/nowhere"), 404, "zone_not_found")


@pytest.mark.parametrize("query, expected", [
    ("", 3), ("?category=dim", 2), ("?category=out,dim", 3), ("?status=open", 3),
    ("?bbox=-1.1960,52.76,-1.1965,52.78", None), ("?bbox=-1.1960,52.76,-1.1940,52.78", 1),
    ("?since=2000-01-01", 3), ("?since=2999-01-01T00:00:00Z", 0),
])
def test_layer_geojson_filters(client, three_lights, query, expected):
    response = client.get(f"{URL}.geojson{query}")
    if expected is None:
        assert_error(response, 422, field="bbox")
        return
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert len(response.get_json()["features"]) == expected


@pytest.mark.parametrize("query, field", [
    ("?bbox=1,2,3", "bbox"), ("?bbox=a,b,c,d", "bbox"), ("?bbox=nan,1,2,3", "bbox"),
    ("?category=broken", "category"), ("?status=lost", "status"), ("?since=yesterday", "since"),
    ("?since=0001-01-01T00:00:00%2B01:00", "since"), ("?since=9999-12-31T23:59:59-05:00", "since"),
])
def test_bad_filters_are_422(client, query, field):
    assert_error(client.get(f"{URL}.geojson{query}"), 422, field=field)


def test_layer_csv_has_position_in_both_systems_and_is_formula_safe(client, three_lights):
    response = client.get(f"{URL}.csv")
    assert response.mimetype == "text/csv"
    assert 'filename="bell-foundry_lights_' in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0]) == ["id", "ref", "lon", "lat", "easting", "northing", "category", "description",
                             "location_text", "seen_after_dark", "seen_at", "source", "walk", "column", "status",
                             "zone", "created", "updated",
                             "confirmations", "location_approximate"]
    assert rows[0]["ref"].startswith("BF-") and len(rows[0]["ref"]) == 8
    first = rows[0]
    assert first["id"] == three_lights[0]["id"] and float(first["lon"]) == INSIDE["bell-foundry"][0]
    assert abs(float(first["easting"]) - 454408.8) < 1 and abs(float(first["northing"]) - 319459.8) < 1
    assert rows[2]["description"] == "'=HYPERLINK(\"http://evil\")"


def test_feature_404_for_unknown_id(client):
    assert_error(client.get(f"{URL}/does-not-exist"), 404, "feature_not_found")


def test_layer_download_is_gzipped_for_clients_that_accept_it(data_dir):
    from mapper import create_app

    # 30 reports from one address: more than its public budget a minute (mapper/web/limits.py), raised here.
    client = create_app({"DATA_DIR": data_dir, "TESTING": True,
                         "RATELIMIT_PUBLIC_POSTS": "100 per minute"}).test_client()
    lon, lat = INSIDE["bell-foundry"]
    for i in range(30):
        post(client, point_feature(lon, lat + i * 1e-5, category="out", description="the same words " * 5))
    response = client.get(f"{URL}.geojson", headers={"Accept-Encoding": "gzip"})
    assert response.headers.get("Content-Encoding") == "gzip"
    import gzip

    assert len(json.loads(gzip.decompress(response.data))["features"]) == 30


def test_layers_lists_categories_from_configuration(client):
    layers = {layer["name"]: layer for layer in client.get("/api/layers").get_json()["layers"]}
    assert [c["id"] for c in layers["lights"]["categories"]] == [
        "out", "dim", "flickering", "day-burning", "damaged", "obscured", "dark-spot"]
    assert len(layers["assets"]["categories"]) == 10


def test_a_damaged_layer_is_a_503_naming_the_layer_and_line_not_the_server_path(client, data_dir):
    post(client, light())
    path = data_dir / "bell-foundry" / "lights.geojson"
    path.write_bytes(path.read_bytes().replace(b'"category":"out"', b'"category":out'))
    before = path.read_bytes()
    for response in (client.get(f"{URL}.geojson"), post(client, light())):
        error = assert_error(response, 503, "corrupt_layer", mentions=["bell-foundry/lights", "line 2", "mapper check"])
        assert str(data_dir) not in error["message"]
    assert path.read_bytes() == before


@pytest.mark.parametrize("layer", ["crime", "columns", "streets", "audits", "cp-sites"])
def test_layers_filled_by_staff_take_no_public_submissions(client, layer):
    lon, lat = INSIDE["bell-foundry"]
    feature = point_feature(lon, lat, category="burglary", unit_id="LC-1", name="x")
    refused = client.post(f"/api/reports?layer={layer}", json=feature)
    assert refused.status_code == 403, refused.get_json()
    error = refused.get_json()["error"]
    assert error["field"] == "layer" and "lights, assets" in error["message"]
    # walks and Community Payback sites have staff routes of their own at that address
    assert client.post(f"/api/zones/bell-foundry/{layer}", json=feature).status_code in (401, 403)
    listed = client.get(f"/api/zones/bell-foundry/{layer}")
    # cp-sites has a staff route there; crime records are staff-only (access = "staff")
    assert listed.status_code == 401 if layer in ("cp-sites", "crime") else listed.get_json()["features"] == []
    assert client.post(f"/api/zones/bell-foundry/{layer}/x/confirm", json={"client_id": "a" * 32}).status_code == 403
