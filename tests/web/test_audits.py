"""Audit walks on the web (mapper.web.audits): GPX upload, coverage, the uncovered area, GPX for the next walk and
the walk page, through the real Flask test client on a temporary store. Walks are real gpxpy recordings moved into
Thringstone & Whitwick (tests/gpx_helpers.py)."""

import io

import gpxpy
import pytest
from shapely.geometry import shape

from mapper.crs import geometry_to_metres
from tests.gpx_helpers import (BILLION_LAUGHS, BINARY_JUNK, EXTERNAL_ENTITY, NOT_GPX, OVERSIZED, ZONE, shifted_into,
                               zone)

UPLOAD = f"/api/zones/{ZONE}/audits"


@pytest.fixture
def client(app, data_dir):
    """An officer's API client for the zone: uploading walks needs an account that covers it."""
    from mapper.accounts import Accounts

    accounts = Accounts(data_dir)
    accounts.add("walker", "officer", [ZONE], "correct horse battery")
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.new_token('walker')}"
    return client


def test_uploading_needs_an_officer_of_the_zone(app, data_dir):
    from mapper.accounts import Accounts

    anonymous = app.test_client()
    body = {"file": (io.BytesIO(b"<gpx/>"), "a.gpx")}
    assert anonymous.post(UPLOAD, data=body, content_type="multipart/form-data").status_code == 401
    accounts = Accounts(data_dir)
    accounts.add("elsewhere", "officer", ["new-parks"], "correct horse battery")
    other = {"Authorization": f"Bearer {accounts.new_token('elsewhere')}"}
    response = anonymous.post(UPLOAD, data={"file": (io.BytesIO(b"<gpx/>"), "a.gpx")}, headers=other,
                              content_type="multipart/form-data")
    assert response.status_code == 403
    page = anonymous.get("/login").get_data(as_text=True)
    token = __import__("re").search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    anonymous.post("/login", data={"csrf_token": token, "name": "elsewhere", "password": "correct horse battery"})
    forged = anonymous.post("/api/zones/new-parks/audits", data={"file": (io.BytesIO(b"<gpx/>"), "a.gpx")},
                            content_type="multipart/form-data")  # a signed-in session without the form token
    assert forged.status_code == 400 and forged.get_json()["error"]["code"] == "csrf"


def upload(client, data, name="walk.gpx", **fields):
    return client.post(UPLOAD, data={"file": (io.BytesIO(data), name), **fields}, content_type="multipart/form-data")


@pytest.fixture
def walked(client):
    """The cerknicko walk uploaded once; returns the 201 answer's JSON."""
    response = upload(client, shifted_into("cerknicko-jezero.gpx"), "cerknicko.gpx", walkers="3", title="Evening walk")
    assert response.status_code == 201, response.json
    return response.json


def test_an_upload_answers_201_with_the_walk_its_reports_and_what_was_skipped(walked, client):
    walk = walked["walk"]["properties"]
    assert (walk["title"], walk["walkers"], walk["source_file"]) == ("Evening walk", 3, "cerknicko.gpx")
    assert walked["reports"]["added"] == 2 and len(walked["reports"]["refs"]) == 2
    assert len(walked["skipped"]) == 6  # the track beyond the boundary and five waypoints
    assert walked["figures"]["metres_walked"] == walk["length_m"]
    assert walked["figures"]["faults_per_km"] == pytest.approx(2 / (walk["length_m"] / 1000), abs=0.01)
    assert client.get(walked["links"]["walk"]).json["id"] == walked["walk"]["id"]


def test_the_same_upload_again_answers_200_and_stores_nothing(walked, client):
    again = upload(client, shifted_into("cerknicko-jezero.gpx"), "cerknicko.gpx", walkers="3")
    assert again.status_code == 200
    assert again.json["created"] is False and again.json["walk"]["id"] == walked["walk"]["id"]
    assert again.json["reports"] == {"added": 0, "already_imported": 2, "existing": [], "refs": []}
    assert len(client.get(f"/api/zones/{ZONE}/audits.geojson").json["features"]) == 1


@pytest.mark.parametrize("data, status, code, text", [
    (BILLION_LAUGHS, 400, "malformed", "declares a DTD"),
    (EXTERNAL_ENTITY, 400, "malformed", "declares a DTD"),
    (NOT_GPX, 400, "malformed", "not a GPX file"),
    (BINARY_JUNK, 400, "malformed", "not XML text"),
    (OVERSIZED, 413, "payload_too_large", "5,242,880 bytes"),
], ids=["billion-laughs", "external-entity", "not-gpx", "binary-junk", "oversized"])
def test_hostile_uploads_are_4xx_json_with_nothing_stored(client, data, status, code, text):
    response = upload(client, data)
    assert response.status_code == status
    assert response.json["error"]["code"] == code and text in response.json["error"]["message"]
    assert client.get(f"/api/zones/{ZONE}/audits.geojson").json["features"] == []
    assert client.get(f"/api/zones/{ZONE}/lights.geojson").json["features"] == []


@pytest.mark.parametrize("fields, status, field", [
    ({"walkers": "lots"}, 422, "walkers"), ({"walkers": "-1"}, 422, "walkers"), ({"date": "yesterday"}, 422, "date"),
    ({"keep_outside": "maybe"}, 422, "keep_outside"), ({"title": "a\u0000b"}, 422, "title"),
    ({"title": "x" * 201}, 200, None),
])
def test_bad_form_fields_are_refused_by_name(client, fields, status, field):
    response = upload(client, shifted_into("Mojstrovka.gpx"), **fields)
    if status == 200:  # an over-long title is shortened, not refused
        assert response.status_code == 201 and len(response.json["walk"]["properties"]["title"]) == 200
        return
    assert response.status_code == status and response.json["error"]["field"] == field


def test_requests_that_are_not_uploads_are_4xx(client):
    as_json = client.post(UPLOAD, json={"type": "Feature"})
    assert as_json.status_code == 415 and "multipart/form-data" in as_json.json["error"]["message"]
    no_file = client.post(UPLOAD, data={"title": "x"}, content_type="multipart/form-data")
    assert no_file.status_code == 422 and no_file.json["error"]["field"] == "file"
    text_field = client.post(UPLOAD, data={"file": "<gpx/>"}, content_type="multipart/form-data")
    assert text_field.status_code == 422
    assert upload(client, b"").status_code == 400
    unknown_zone = client.post("/api/zones/atlantis/audits", data={"file": (io.BytesIO(b"<gpx/>"), "a.gpx")},
                               content_type="multipart/form-data")
    assert unknown_zone.status_code == 404 and unknown_zone.json["error"]["code"] == "zone_not_found"


@pytest.mark.parametrize("name", ["../../etc/passwd", "C:\\walks\\night.gpx", "\u202ewalk.gpx", "", "x" * 500])
def test_odd_file_names_are_kept_safely(client, name):
    response = upload(client, shifted_into("Mojstrovka.gpx"), name)
    assert response.status_code == 201
    kept = response.json["walk"]["properties"]["source_file"]
    assert "/" not in kept and "\\" not in kept and len(kept) <= 200 and kept


def test_uncovered_shrinks_by_what_a_walk_covers(client):
    before = client.get(f"/api/zones/{ZONE}/audits/uncovered.geojson")
    assert before.status_code == 200 and before.mimetype == "application/geo+json"
    whole = geometry_to_metres(shape(before.json["geometry"])).area
    assert whole == pytest.approx(zone().area_m2, rel=1e-6) and before.json["properties"]["coverage_share"] == 0
    upload(client, shifted_into("Mojstrovka.gpx"), walkers="2")
    after = client.get(f"/api/zones/{ZONE}/audits/uncovered.geojson").json
    left = geometry_to_metres(shape(after["geometry"])).area
    assert left < whole
    assert after["properties"]["coverage_share"] == pytest.approx(1 - left / whole, abs=1e-4)
    assert after["properties"]["walks"] == 1 and after["properties"]["reach_m"] == 25


def test_coverage_json_gives_the_zone_and_each_walk(walked, client):
    figures = client.get(f"/api/zones/{ZONE}/audits/coverage.json").json
    assert figures["walks"][0]["id"] == walked["walk"]["id"]
    assert figures["faults"] == 2 and figures["walks"][0]["faults"] == 2
    assert figures["metres_walked"] == pytest.approx(walked["walk"]["properties"]["length_m"], abs=0.5)
    assert 0 < figures["coverage_share"] < 0.05


def test_findings_are_the_audit_reports_only(walked, client):
    client.post(f"/api/zones/{ZONE}/lights", json={"type": "Feature", "properties": {"category": "out"},
                                                   "geometry": {"type": "Point", "coordinates": [-1.355, 52.745]}})
    findings = client.get(f"/api/zones/{ZONE}/audits/findings.geojson").json["features"]
    assert len(findings) == 2 and {f["properties"]["walk"] for f in findings} == {walked["walk"]["id"]}


def test_lights_gpx_gives_open_faults_as_waypoints_and_uncovered_areas_as_routes(walked, client):
    response = client.get(f"/api/zones/{ZONE}/lights.gpx?status=open")
    assert response.status_code == 200 and response.mimetype == "application/gpx+xml"
    gpx = gpxpy.parse(response.data.decode())
    assert sorted(w.name.split()[0] for w in gpx.waypoints) == sorted(walked["reports"]["refs"])
    assert gpx.routes == []
    with_routes = gpxpy.parse(client.get(f"/api/zones/{ZONE}/lights.gpx?status=open&uncovered=1").data.decode())
    assert len(with_routes.waypoints) == 2 and 1 <= len(with_routes.routes) <= 50
    assert with_routes.routes[0].name.startswith("Not yet walked 1 (")
    assert client.get(f"/api/zones/{ZONE}/lights.gpx?status=nonsense").status_code == 422
    assert client.get(f"/api/zones/{ZONE}/lights.gpx?uncovered=perhaps").status_code == 422


def test_walks_export_as_gpx_tracks_through_the_format_registry(walked, client):
    response = client.get(f"/api/zones/{ZONE}/audits.gpx")
    assert response.status_code == 200
    track = gpxpy.parse(response.data.decode()).tracks[0]
    assert track.name == "Evening walk"
    assert track.length_2d() == pytest.approx(walked["walk"]["properties"]["length_m"], rel=5e-3)


def test_the_walk_page_shows_route_findings_and_figures(walked, client):
    page = client.get(walked["links"]["page"])
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<h1>Evening walk</h1>" in html and "Distance walked" in html
    assert all(ref in html for ref in walked["reports"]["refs"])
    assert "/vendor/leaflet/dist/leaflet.js" in html and "js/walk.js" in html
    assert 'id="walk-data"' in html and "</script><" not in html.split('id="walk-data"')[1].split("</script>")[0]
    assert client.get("/static/js/walk.js").status_code == 200


def test_an_unknown_walk_is_a_404_page(client):
    response = client.get(f"/walks/{ZONE}/no-such-walk", headers={"Accept": "text/html"})
    assert response.status_code == 404 and "Sorry" in response.get_data(as_text=True)
    assert client.get("/walks/atlantis/x", headers={"Accept": "text/html"}).status_code == 404


def test_a_walk_title_cannot_inject_markup_into_the_page(client):
    hostile = shifted_into("Mojstrovka.gpx")
    response = upload(client, hostile, title='</script><script>alert(1)</script>')
    html = client.get(response.json["links"]["page"]).get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html
