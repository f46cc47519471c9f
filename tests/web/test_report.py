"""The resident report endpoints without a browser: form posts, exactly-once, photos, privacy, tracking, nearby."""

import csv
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from PIL import Image

from tests.helpers import INSIDE, OUTSIDE, light

LON, LAT = INSIDE["bell-foundry"]
JSON = {"Accept": "application/json"}


def jpeg_with_gps(lon=LON, lat=LAT, size=(3000, 2000)):
    """A photo as a phone takes it: big, with a camera model and GPS position in its EXIF."""
    image = Image.new("RGB", size, "orange")
    exif = Image.Exif()
    exif[0x0110] = "SecretPhone 9"
    exif[0x8825] = {1: "N" if lat >= 0 else "S", 2: _dms(abs(lat)), 3: "E" if lon >= 0 else "W", 4: _dms(abs(lon))}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def _dms(value):
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    return (float(degrees), float(minutes), round((value - degrees - minutes / 60) * 3600, 4))


@pytest.fixture
def token(client):
    return client.get("/report/token").get_json()["csrf_token"]


def send(client, token, headers=JSON, photo=None, **fields):
    data = {"csrf_token": token, "kind": "light", "category": "out", "lon": str(LON), "lat": str(LAT), **fields}
    if photo is not None:
        data["photo"] = (io.BytesIO(photo), "IMG_0001.jpg")
    return client.post("/report", data=data, headers=headers, content_type="multipart/form-data")


def public_layer(client, layer="lights", zone="bell-foundry"):
    return client.get(f"/api/zones/{zone}/{layer}.geojson").get_json()["features"]


def test_a_report_gets_a_short_reference_and_a_tracking_page(client, token):
    response = send(client, token, description="Lamp out by the chip shop", client_id="draft-0001")
    assert response.status_code == 201
    body = response.get_json()
    assert body["ref"].startswith("BF-") and len(body["ref"]) == 8 and body["layer"] == "lights"
    assert body["tracking_url"] == f"/r/{body['ref']}"
    assert body["feature"]["properties"]["ref"] == body["ref"]
    page = client.get(body["tracking_url"]).get_data(as_text=True)
    assert body["ref"] in page and "Lamp out by the chip shop" in page and "Reported" in page
    status = client.get(f"/r/{body['ref']}.json").get_json()
    assert status["status"] == "open" and status["category_label"] == "Light out"


def test_the_same_draft_sent_twice_is_stored_once(client, token):
    first = send(client, token, client_id="draft-0002")
    again = send(client, token, client_id="draft-0002")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.get_json()["ref"] == again.get_json()["ref"]
    assert len(public_layer(client)) == 1


def test_a_draft_sent_from_many_threads_at_once_is_stored_once(app):
    def attempt(_):
        client = app.test_client()
        token = client.get("/report/token").get_json()["csrf_token"]
        return send(client, token, client_id="draft-race-01").status_code

    with ThreadPoolExecutor(8) as pool:
        codes = sorted(pool.map(attempt, range(8)))
    assert codes == [200] * 7 + [201]
    assert len(app.test_client().get("/api/zones/bell-foundry/lights.geojson").get_json()["features"]) == 1


def test_without_javascript_the_form_redirects_to_the_tracking_page(client, token):
    response = send(client, token, headers={"Accept": "text/html"}, description="<script>alert(1)</script>")
    assert response.status_code == 303 and response.headers["Location"].startswith("/r/BF-")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert(1)" not in page


def test_a_form_without_its_token_is_refused(client):
    response = client.post("/report", data={"kind": "light", "category": "out", "lon": LON, "lat": LAT},
                           headers=JSON)
    assert response.status_code == 400 and response.get_json()["error"]["code"] == "csrf"
    page = client.post("/report", data={"kind": "light"}, headers={"Accept": "text/html"})
    assert page.status_code == 400 and "expired" in page.get_data(as_text=True)
    assert public_layer(client) == []


def test_a_photo_is_kept_resized_with_no_metadata(client, token, data_dir):
    original = jpeg_with_gps()
    body = send(client, token, photo=original).get_json()
    name = body["feature"]["properties"]["photo"]
    report = client.get(f"/r/{body['ref']}.json").get_json()
    for url in (report["photo"], report["photo_thumbnail"]):
        response = client.get(url)
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        served = response.data
        assert b"SecretPhone" not in served and b"Exif" not in served
        image = Image.open(io.BytesIO(served))
        assert dict(image.getexif()) == {} and max(image.size) <= 1600
    assert max(Image.open(io.BytesIO(client.get(report["photo_thumbnail"]).data)).size) == 320
    stored = list((data_dir / "_photos" / "bell-foundry").iterdir())
    assert sorted(p.name for p in stored) == sorted([name, name.replace(".jpg", "-thumb.jpg")])
    assert all(b"SecretPhone" not in p.read_bytes() for p in stored)  # the original is never written


def test_the_photos_position_is_used_when_there_is_no_pin(client, token):
    lon, lat = INSIDE["new-parks"]
    body = send(client, token, lon="", lat="", photo=jpeg_with_gps(lon, lat)).get_json()
    assert body["zone"] == "new-parks"
    coordinates = body["feature"]["geometry"]["coordinates"]
    assert coordinates == pytest.approx([lon, lat], abs=1e-5)


@pytest.mark.parametrize("photo, status, field", [
    (b"not an image at all", 422, "photo"),
    (b"GIF89a" + b"\x00" * 100, 422, "photo"),
    (b"\xff\xd8\xff" + b"\x00" * (10 * 1024 * 1024), 413, "photo"),
])
def test_bad_photos_are_refused_and_nothing_is_stored(client, token, photo, status, field):
    response = send(client, token, photo=photo)
    assert response.status_code == status and response.get_json()["error"]["field"] == field
    assert public_layer(client) == []


def test_a_place_in_words_is_placed_approximately_in_the_chosen_zone(client, token):
    body = send(client, token, lon="", lat="", zone="thringstone-whitwick",
                location_text="Outside the Co-op on Silver Street").get_json()
    properties = body["feature"]["properties"]
    assert body["zone"] == "thringstone-whitwick" and properties["location_approximate"] is True
    assert properties["location_text"] == "Outside the Co-op on Silver Street"


def test_no_position_at_all_asks_where(client, token):
    error = send(client, token, lon="", lat="").get_json()["error"]
    assert error["field"] == "lat" and "where" in error["message"]


def test_a_point_outside_every_zone_names_the_zones(client, token):
    response = send(client, token, lon=str(OUTSIDE[0]), lat=str(OUTSIDE[1]))
    error = response.get_json()["error"]
    assert response.status_code == 422 and error["code"] == "outside_zone"
    assert "New Parks" in error["message"] and "Thringstone & Whitwick" in error["message"]
    html = send(client, token, headers={"Accept": "text/html"}, lon="0", lat="0")
    assert html.status_code == 422
    assert public_layer(client) == []


def test_contact_details_never_appear_in_anything_public(client, token, store):
    body = send(client, token, contact_name="Jo Bloggs", contact_email="jo@example.org",
                contact_phone="07700 900123", description="Dark by the garages").get_json()
    feature_id, ref = body["id"], body["ref"]
    public_answers = [
        json.dumps(body),
        client.get("/api/zones/bell-foundry/lights.geojson").get_data(as_text=True),
        client.get("/api/zones/bell-foundry/lights.csv").get_data(as_text=True),
        client.get("/api/zones/bell-foundry/lights.points").get_data(as_text=True),
        client.get(f"/api/zones/bell-foundry/lights/{feature_id}").get_data(as_text=True),
        client.get(f"/api/nearby?lon={LON}&lat={LAT}").get_data(as_text=True),
        client.get(f"/r/{ref}").get_data(as_text=True),
        client.get(f"/r/{ref}.json").get_data(as_text=True),
        client.get("/zones/bell-foundry").get_data(as_text=True),
    ]
    for answer in public_answers:
        for secret in ("Jo Bloggs", "jo@example.org", "07700 900123"):
            assert secret not in answer
    assert store.get_private("bell-foundry", "lights", feature_id) == {
        "contact_name": "Jo Bloggs", "contact_email": "jo@example.org", "contact_phone": "07700 900123"}


@pytest.mark.parametrize("seen_at, expected", [
    ("2026-01-15T21:30", "2026-01-15T21:30:00.000Z"),  # GMT
    ("2026-07-01T23:15", "2026-07-01T22:15:00.000Z"),  # BST: UK wall-clock time is an hour ahead of UTC
])
def test_when_it_was_seen_is_uk_local_time(client, token, seen_at, expected):
    properties = send(client, token, seen_after_dark="yes", seen_at=seen_at).get_json()["feature"]["properties"]
    assert properties["seen_at"] == expected and properties["seen_after_dark"] is True


def test_a_sighting_in_the_future_is_refused(client, token):
    error = send(client, token, seen_at="2999-01-01T20:00").get_json()["error"]
    assert error["field"] == "seen_at" and "future" in error["message"]


def test_a_dark_spot_is_a_lighting_report_of_that_category(client, token):
    properties = send(client, token, kind="dark-spot", category="").get_json()["feature"]["properties"]
    assert properties["category"] == "dark-spot"


def test_an_asset_waits_for_a_moderator(client, token):
    response = send(client, token, kind="asset", category="food-bank", name="Hastings Pantry",
                    address="1 Freehold Street", website="https://example.org", contact_email="me@example.org",
                    description="Tuesdays")
    body = response.get_json()
    assert response.status_code == 201 and body["layer"] == "assets" and body["feature"] is None
    assert public_layer(client, "assets") == []
    status = client.get(f"/r/{body['ref']}.json").get_json()
    assert status["status"] == "pending" and status["status_label"] == "Waiting for a moderator"
    assert status["name"] is None and status["description"] is None and status["lat"] is None
    assert "Hastings Pantry" not in client.get(f"/r/{body['ref']}").get_data(as_text=True)


@pytest.mark.parametrize("ref", ["BF-ZZZZZ", "bf-22222", "../etc", "BF-7K3Q"])
def test_unknown_references_are_404(client, ref):
    assert client.get(f"/r/{ref}").status_code == 404


# -- "is it one of these?" -------------------------------------------------------------------------------------------


@pytest.fixture
def neighbours(client, store):
    """Open reports 10 m and 60 m east of the test point, and a fixed one at 5 m."""
    def at(metres_east, category="out"):
        return client.post("/api/zones/bell-foundry/lights", json=light(category=category) | {
            "geometry": {"type": "Point", "coordinates": [LON + metres_east / 67_400, LAT]}}).get_json()

    near, far, fixed, other = at(10), at(60), at(5), at(8, "dim")
    store.update("bell-foundry", "lights", fixed["id"], lambda p: {**p, "status": "fixed"})
    return near, far, fixed, other


def test_nearby_offers_open_reports_of_the_same_kind_within_30_m(client, neighbours):
    near, far, fixed, other = neighbours
    found = client.get(f"/api/nearby?lon={LON}&lat={LAT}&layer=lights&category=out").get_json()
    assert [f["id"] for f in found["features"]] == [near["id"]]
    assert found["features"][0]["properties"]["distance_m"] == pytest.approx(10, abs=1)
    assert found["features"][0]["properties"]["ref"] == near["properties"]["ref"]
    wider = client.get(f"/api/nearby?lon={LON}&lat={LAT}&radius=100").get_json()
    assert [f["id"] for f in wider["features"]] == [other["id"], near["id"], far["id"]]


@pytest.mark.parametrize("query, field", [
    ("lon=abc&lat=52.77", "lon"), ("lat=52.77", "lon"), ("lon=-1.19&lat=52.77&radius=5000", "radius"),
    ("lon=-1.19&lat=52.77&category=nope", "category"), ("lon=-1.19&lat=52.77&layer=nope", "layer"),
])
def test_nearby_refuses_bad_queries(client, query, field):
    response = client.get(f"/api/nearby?{query}")
    assert 400 <= response.status_code < 500 and response.get_json()["error"]["field"] == field


def test_nearby_outside_every_zone_is_422(client):
    response = client.get(f"/api/nearby?lon={OUTSIDE[0]}&lat={OUTSIDE[1]}")
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "outside_zone"


def test_confirming_counts_once_per_device(client, neighbours):
    near = neighbours[0]
    url = f"/api/zones/bell-foundry/lights/{near['id']}/confirm"
    assert client.post(url, json={"client_id": "phone-aaaa-1"}).get_json()["confirmations"] == 1
    assert client.post(url, json={"client_id": "phone-aaaa-1"}).get_json()["confirmations"] == 1
    answer = client.post(url, json={"client_id": "phone-bbbb-2"}).get_json()
    assert answer["confirmations"] == 2 and answer["tracking_url"] == f"/r/{near['properties']['ref']}"
    assert len(public_layer(client)) == 4  # no new pin


def test_a_closed_report_cannot_be_confirmed(client, neighbours):
    fixed = neighbours[2]
    response = client.post(f"/api/zones/bell-foundry/lights/{fixed['id']}/confirm", json={"client_id": "phone-x-01"})
    assert response.status_code == 409
    assert client.post("/api/zones/bell-foundry/lights/nope/confirm", json={}).status_code == 404
    assert client.post(f"/api/zones/bell-foundry/lights/{fixed['id']}/confirm", data="x").status_code == 415


def test_csv_of_reports_made_by_form_is_formula_safe(client, token):
    send(client, token, description="=cmd|' /C calc'!A0")
    rows = list(csv.DictReader(io.StringIO(client.get("/api/zones/bell-foundry/lights.csv").get_data(as_text=True))))
    assert rows[0]["description"].startswith("'=")


def test_threads_do_not_deadlock_reading_while_writing(data_dir):
    """Readers take the cache lock then the file lock; writers must too, or two threads can wait on each other."""
    from mapper import create_app

    # 40 reports from one address: more than its public budget a minute (mapper/web/limits.py), raised here.
    app = create_app({"DATA_DIR": data_dir, "TESTING": True, "RATELIMIT_PUBLIC_POSTS": "100 per minute"})
    stop = threading.Event()
    errors = []

    def read():
        client = app.test_client()
        while not stop.is_set():
            if client.get("/api/zones/bell-foundry/lights.geojson").status_code != 200:
                errors.append("read")

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    client = app.test_client()
    for _ in range(40):
        assert client.post("/api/zones/bell-foundry/lights", json=light()).status_code == 201
    stop.set()
    for thread in readers:
        thread.join(timeout=10)
        assert not thread.is_alive()
    assert errors == []


def test_tracking_page_shows_uk_local_time(app):
    with app.test_request_context():
        from mapper.web.report import uk_time

        assert uk_time("2026-07-01T22:15:00.000Z") == "1 Jul 2026, 23:15"
        assert uk_time("2026-01-15T21:30:00.000Z", False) == "15 Jan 2026"


def test_a_retried_draft_with_a_photo_keeps_one_photo(client, token, data_dir):
    first = send(client, token, client_id="draft-photo-1", photo=jpeg_with_gps())
    again = send(client, token, client_id="draft-photo-1", photo=jpeg_with_gps())
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["feature"]["properties"]["photo"] == first.get_json()["feature"]["properties"]["photo"]
    assert len(list((data_dir / "_photos" / "bell-foundry").iterdir())) == 2  # one photo and its thumbnail


# -- the lamp column the resident tapped (or read off its plate) ----------------------------------------------------


@pytest.fixture
def columns(resources, tmp_path):
    """Two columns in Bell Foundry: LC-NEAR 10 m north of the test point, LC-FAR 60 m north; returns their lon/lat."""
    from mapper.crs import from_british_national_grid, to_british_national_grid
    from mapper.importers.columns import import_columns

    easting, northing = (float(v) for v in to_british_national_grid(LON, LAT))
    path = tmp_path / "columns.csv"
    path.write_text(f"unit_id,easting,northing,location\nLC-NEAR,{easting},{northing + 10},Bell Street\n"
                    f"LC-FAR,{easting},{northing + 60},Bell Street end\n", encoding="utf-8")
    assert import_columns(path, "bell-foundry", schema=resources.schema, zones=resources.zones(),
                          store=resources.store).added == 2
    return {unit: tuple(float(v) for v in from_british_national_grid(easting, northing + metres))
            for unit, metres in (("LC-NEAR", 10), ("LC-FAR", 60))}


def test_a_form_naming_a_column_stores_it(client, token, columns):
    body = send(client, token, column=" LC-NEAR ").get_json()
    assert body["feature"]["properties"]["column"] == "LC-NEAR"
    assert [f["properties"]["column"] for f in public_layer(client)] == ["LC-NEAR"]


def test_a_form_naming_no_column_is_linked_to_the_nearest(client, token, columns):
    assert send(client, token).get_json()["feature"]["properties"]["column"] == "LC-NEAR"


@pytest.mark.parametrize("column", ["LC-FAR", "LC-NOWHERE"])
def test_a_far_or_unknown_column_is_refused_naming_the_field_and_nothing_is_stored(client, token, columns, column):
    response = send(client, token, column=column, client_id=f"draft-{column}")
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["field"] == "column" and column in error["message"] and "25 m" in error["message"]
    page = send(client, token, headers={"Accept": "text/html"}, column=column)
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'id="column-error"' in html and 'href="#column"' in html and f'value="{column}"' in html
    assert public_layer(client) == []
    # Nothing half-stored: the same draft, corrected, is stored as new.
    assert send(client, token, column="LC-NEAR", client_id=f"draft-{column}").status_code == 201


def test_without_a_position_the_number_on_the_column_places_the_report(client, token, columns):
    body = send(client, token, lon="", lat="", column="LC-FAR").get_json()
    assert body["zone"] == "bell-foundry"
    feature = body["feature"]
    assert feature["geometry"]["coordinates"] == pytest.approx(list(columns["LC-FAR"]), abs=1e-6)
    assert feature["properties"]["column"] == "LC-FAR" and "location_approximate" not in feature["properties"]
    error = send(client, token, lon="", lat="", column="LC-NOWHERE").get_json()["error"]
    assert error["field"] == "column" and "LC-NOWHERE" in error["message"]
    wrong_zone = send(client, token, lon="", lat="", column="LC-FAR", zone="new-parks").get_json()["error"]
    assert wrong_zone["field"] == "column"
    assert len(public_layer(client)) == 1


def test_the_column_field_is_offered_only_for_lights_where_columns_are_loaded(client):
    assert 'name="column"' not in client.get("/report").get_data(as_text=True)


def test_the_column_field_and_picker_are_on_the_light_page_when_columns_are_loaded(client, columns):
    light_page = client.get("/report?kind=light").get_data(as_text=True)
    assert 'name="column"' in light_page and 'id="column-picker"' in light_page
    assert '"columnZones": [{"bbox":' in light_page and '"id": "bell-foundry"' in light_page
    for kind in ("dark-spot", "asset"):
        assert 'name="column"' not in client.get(f"/report?kind={kind}").get_data(as_text=True)
