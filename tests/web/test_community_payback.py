"""Community Payback planning on the web: cp-check, the staff-only cp-sites layer, sites from obscured reports, the
planning page's data and its catchments download.

Welfare facilities are hand-placed in Bell Foundry at metre offsets (EPSG:27700) from a point inside the zone, so each
answer can be worked out by hand: circles of 4.8 km/h x 10 min / 1.3 = 615.38 m, a walk of straight line x 1.3 at
80 m a minute.

    Hub   (0, 0)        toilets, water, shelter   Mo-Fr 09:00-17:00 (limited hours)
    Tap   (1250, -200)  toilets, water            24/7
"""

import json
import re

import pytest
from shapely.geometry import shape

from mapper import create_app
from mapper.accounts import Accounts
from mapper.crs import from_british_national_grid, to_british_national_grid
from mapper.lifecycle import change_status
from mapper.validate import validate_feature
from mapper.web.api import public
from tests.helpers import INSIDE, OUTSIDE, point_feature

ZONE, OTHER = "bell-foundry", "new-parks"
PASSWORD = "correct horse battery"
ORIGIN = tuple(float(v) for v in to_british_national_grid(*INSIDE[ZONE]))
CHECK, SITES, PAGE = f"/api/zones/{ZONE}/cp-check", f"/api/zones/{ZONE}/cp-sites", f"/zones/{ZONE}/community-payback"
HOSTILE = '<img src=x onerror="window.__xss=1">'


def at(dx, dy):
    """[lon, lat] of the point dx metres east and dy metres north of ORIGIN."""
    lon, lat = from_british_national_grid(ORIGIN[0] + dx, ORIGIN[1] + dy)
    return [round(float(lon), 7), round(float(lat), 7)]


def point(dx, dy):
    return {"type": "Point", "coordinates": at(dx, dy)}


def square(dx, dy, half):
    """A square Polygon of side 2 x half metres centred dx, dy metres from ORIGIN (anticlockwise)."""
    ring = [at(dx - half, dy - half), at(dx + half, dy - half), at(dx + half, dy + half), at(dx - half, dy + half)]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def add_facility(resources, name, dx, dy, hours=None, **offers):
    layer = resources.schema.layer("assets")
    properties = {"category": "welfare-facility", "name": name, **offers}
    if hours:
        properties["opening_hours"] = hours
    submission = validate_feature({"type": "Feature", "geometry": point(dx, dy), "properties": properties}, layer,
                                  status="published")
    return resources.store.append(ZONE, "assets", [submission])[0]


@pytest.fixture
def resources(app):
    return app.extensions["mapper"]


def place_facilities(resources):
    return {"hub": add_facility(resources, "Hub", 0, 0, "Mo-Fr 09:00-17:00", toilets=True, water=True, shelter=True),
            "tap": add_facility(resources, "Tap", 1250, -200, "24/7", toilets=True, water=True)}


def make_tokens(data_dir):
    """A token for each account; only pat has a password (signs in), since hashing one takes a while on purpose."""
    accounts = Accounts(data_dir)
    for name, role, zones in (("pat", "probation", [ZONE]), ("olu", "officer", [ZONE]), ("sam", "steering", [ZONE]),
                              ("far", "probation", [OTHER]), ("boss", "admin", [])):
        accounts.add(name, role, zones, PASSWORD if name == "pat" else None)
    return {name: accounts.new_token(name) for name in ("pat", "olu", "sam", "far", "boss")}


@pytest.fixture
def facilities(resources):
    return place_facilities(resources)


@pytest.fixture
def tokens(data_dir):
    return make_tokens(data_dir)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """``(client, tokens, facilities)`` of one app shared by the tests that only check answers and access (writes
    there add sites that those tests never count)."""
    app = create_app({"DATA_DIR": tmp_path_factory.mktemp("community-payback") / "store", "TESTING": True})
    return app.test_client(), make_tokens(app.config["DATA_DIR"]), place_facilities(app.extensions["mapper"])


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def check(client, token, geometry, **settings):
    return client.post(CHECK, json={"geometry": geometry, **settings}, headers=bearer(token))


def new_site(client, token, geometry, name="Rec ground verge", kind="litter", **extra):
    return client.post(SITES, json={"type": "Feature", "geometry": geometry,
                                    "properties": {"name": name, "kind": kind, **extra}}, headers=bearer(token))


def obscured(client, dx, dy, **properties):
    lon, lat = at(dx, dy)
    response = client.post(f"/api/zones/{ZONE}/lights", json=point_feature(lon, lat, category="obscured",
                                                                           **properties))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sign_in(client, name):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORD}).status_code in (
        302, 303)


def page_token(client):
    return re.search(r'data-csrf-token="([^"]+)"', client.get(PAGE).get_data(as_text=True)).group(1)


# -- who may ---------------------------------------------------------------------------------------------------------


READS = [("get", PAGE, None), ("get", f"{PAGE}.json", None), ("get", f"{PAGE}/catchments.geojson", None),
         ("get", SITES, None), ("get", f"{SITES}.csv", None), ("post", CHECK, {"geometry": point(0, 0)})]
WRITES = [("post", SITES, {"type": "Feature", "geometry": point(100, 0), "properties": {"name": "A", "kind": "other"}}),
          ("post", f"{SITES}/check", {})]


@pytest.mark.parametrize("method, url, body", READS + WRITES)
def test_strangers_are_told_to_sign_in_and_other_zones_are_refused(world, method, url, body):
    client, tokens, facilities = world
    call = getattr(client, method)
    options = {"json": body} if body is not None else {}
    nobody = call(url, headers={"Accept": "application/json"}, **options)
    assert nobody.status_code == 401 and nobody.get_json()["error"]["code"] == "unauthorized"
    assert call(url, headers=bearer("mpr_forged"), **options).status_code == 401
    refused = call(url, headers={**bearer(tokens["far"]), "Accept": "application/json"}, **options)
    assert refused.status_code == 403 and refused.get_json()["error"]["field"] == "zone"


@pytest.mark.parametrize("method, url, body", READS)
def test_probation_officers_admins_and_the_steering_group_may_look(world, method, url, body):
    client, tokens, facilities = world
    options = {"json": body} if body is not None else {}
    for name in ("pat", "olu", "sam", "boss"):
        answer = getattr(client, method)(url, headers=bearer(tokens[name]), **options)
        assert answer.status_code == 200, (name, url, answer.get_data(as_text=True)[:300])


@pytest.mark.parametrize("method, url, body", WRITES)
def test_the_steering_group_may_not_change_sites(world, method, url, body):
    client, tokens, facilities = world
    refused = getattr(client, method)(url, json=body, headers=bearer(tokens["sam"]))
    assert refused.status_code == 403 and refused.get_json()["error"]["field"] == "role"
    for name in ("pat", "olu", "boss"):
        assert getattr(client, method)(url, json=body, headers=bearer(tokens[name])).status_code in (200, 201)


def test_a_browser_without_a_session_is_sent_to_sign_in(world):
    client = world[0]
    answer = client.get(PAGE, headers={"Accept": "text/html"})
    assert answer.status_code == 302 and "/login?next=" in answer.headers["Location"]


# -- cp-check --------------------------------------------------------------------------------------------------------


def test_a_site_near_the_hub_is_within_reach_with_the_walk_worked_out(world):
    client, tokens, facilities = world
    answer = check(client, tokens["pat"], point(300, 0))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["zone"] == ZONE and body["within_reach"] is True and body["missing"] == []
    assert body["method"] == "circle" and body["settings"]["detour"] == 1.3
    hub, tap = body["nearest"]
    assert (hub["name"], hub["offers"], hub["within_reach"]) == ("Hub", ["toilets", "water", "shelter"], True)
    assert hub["distance_m"] == pytest.approx(390, abs=0.5)  # 300 m in a straight line x 1.3
    assert body["minutes"] == pytest.approx(390 / 80, abs=0.01)
    assert tap["name"] == "Tap" and tap["within_reach"] is False
    assert body["limited_hours"] is True  # only the Hub, open on weekdays, serves it


def test_the_edge_of_ten_minutes(world):
    client, tokens, facilities = world
    inside = check(client, tokens["pat"], point(0, 615)).get_json()  # 615 x 1.3 = 799.5 m
    outside = check(client, tokens["pat"], point(0, 616)).get_json()  # 800.8 m
    assert inside["within_reach"] is True and inside["minutes"] < 10
    assert outside["within_reach"] is False and outside["minutes"] > 10
    assert outside["missing"] == ["toilets", "water", "shelter"] and outside["reachable"] == []


def test_what_is_missing_is_named(world):
    client, tokens, facilities = world
    body = check(client, tokens["pat"], point(1300, -200)).get_json()  # 100 m from the Tap, 1.3 km from the Hub
    assert body["within_reach"] is False and body["missing"] == ["shelter"]
    assert body["reachable"] == [facilities["tap"]["id"]] and body["limited_hours"] is False


def test_minutes_speed_and_detour_change_the_answer(world):
    client, tokens, facilities = world
    assert check(client, tokens["pat"], point(0, 700)).get_json()["within_reach"] is False
    assert check(client, tokens["pat"], point(0, 700), minutes=15).get_json()["within_reach"] is True
    assert check(client, tokens["pat"], point(0, 700), detour=1.1).get_json()["within_reach"] is True
    slow = check(client, tokens["pat"], point(300, 0), speed_kmh=2).get_json()  # 390 m at 33.3 m a minute
    assert slow["minutes"] == pytest.approx(390 / (2000 / 60), abs=0.01) and slow["settings"]["speed_kmh"] == 2


def test_a_polygon_site_is_measured_at_its_farthest_corner(world):
    client, tokens, facilities = world
    small = check(client, tokens["pat"], square(200, 200, 50)).get_json()  # far corner 354 m away: 460 m walked
    assert small["within_reach"] is True
    # Its near edge is 400 m from the Hub (within reach), its far corners 716 m (931 m walked): not all of it is.
    wide = check(client, tokens["pat"], square(550, 0, 150)).get_json()
    assert wide["within_reach"] is False and wide["nearest"][0]["distance_m"] == pytest.approx(715.9 * 1.3, abs=1)


@pytest.mark.parametrize("body, field, words", [
    ({"geometry": {"type": "LineString", "coordinates": [[-1.19, 52.77], [-1.191, 52.771]]}}, "geometry",
     "Point or a Polygon"),
    ({"geometry": {"type": "Point", "coordinates": [-1.19, 95]}}, "geometry", "Latitude 95"),
    ({"geometry": None}, "geometry", "needs a geometry"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[-1.195, 52.77], [-1.194, 52.77], [-1.194, 52.771]]]}},
     "geometry", "at least four"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[-1.195, 52.77], [-1.194, 52.77], [-1.194, 52.771],
                                                       [-1.1945, 52.7711]]]}}, "geometry", "not closed"),
    ({"geometry": {"type": "Polygon", "coordinates": [[[-1.195, 52.77], [-1.194, 52.771], [-1.194, 52.77],
                                                       [-1.195, 52.771], [-1.195, 52.77]]]}}, "geometry",
     "crossing edges"),
    ({"geometry": {"type": "Point", "coordinates": list(OUTSIDE)}}, "geometry", "outside the Bell Foundry zone"),
    ({"geometry": "point"}, "geometry", "needs a geometry"),
    ({"geometry": {"type": "Point", "coordinates": [-1.195, 52.77]}, "minutes": 90}, "minutes", "from 1 to 60"),
    ({"geometry": {"type": "Point", "coordinates": [-1.195, 52.77]}, "speed_kmh": "fast"}, "speed_kmh", "fast"),
    ({"geometry": {"type": "Point", "coordinates": [-1.195, 52.77]}, "detour": 0.5}, "detour", "from 1 to 3"),
    ({"geometry": {"type": "Point", "coordinates": [-1.195, 52.77]}, "radius": 5}, "radius", "Unknown fields"),
    (["not", "an", "object"], "geometry", "JSON object"),
])
def test_bad_checks_are_422_naming_the_field(world, body, field, words):
    client, tokens, facilities = world
    answer = client.post(CHECK, json=body, headers=bearer(tokens["pat"]))
    assert answer.status_code == 422, answer.get_json()
    error = answer.get_json()["error"]
    assert error["field"] == field and words in error["message"]


def test_a_site_reaching_out_of_the_zone_is_refused(world):
    client, tokens, facilities = world
    answer = check(client, tokens["pat"], square(-600, 0, 150))  # the zone's edge is ~460 m west of ORIGIN
    assert answer.status_code == 422 and "partly outside the Bell Foundry zone" in answer.get_json()["error"]["message"]


def test_unparseable_requests_and_unknown_zones(world):
    client, tokens, facilities = world
    assert client.post(CHECK, data="{", content_type="application/json", headers=bearer(tokens["pat"])).status_code \
        == 400
    assert client.post(CHECK, data="geometry=1", headers=bearer(tokens["pat"])).status_code == 415
    unknown = client.post("/api/zones/atlantis/cp-check", json={"geometry": point(0, 0)},
                          headers=bearer(tokens["boss"]))
    assert unknown.status_code == 404 and unknown.get_json()["error"]["code"] == "zone_not_found"


def test_with_a_street_network_the_walk_follows_the_streets(client, tokens, facilities, resources):
    assert check(client, tokens["pat"], point(700, 0)).get_json()["within_reach"] is False  # 700 x 1.3 = 910 m
    street = validate_feature({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
        at(0, 0), at(500, 0), at(1000, 0)]}, "properties": {"name": "Brook Street", "highway": "residential"}},
        resources.schema.layer("streets"))
    resources.store.append(ZONE, "streets", [street])
    body = check(client, tokens["pat"], point(700, 0)).get_json()  # 700 m along Brook Street from the Hub
    assert body["method"] == "network" and body["within_reach"] is True
    walks = {item["name"]: item["distance_m"] for item in body["nearest"]}
    assert walks["Hub"] == pytest.approx(700, abs=1) and body["settings"]["detour"] is None
    assert walks["Tap"] == pytest.approx(300 + (250 ** 2 + 200 ** 2) ** 0.5, abs=1)  # to the street's end, then along
    # A kiosk on a lane that joins no other street: no walk reaches it, and the answers say so.
    lane = validate_feature({"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
        at(0, -800), at(300, -800)]}, "properties": {"name": "Dead End Lane"}}, resources.schema.layer("streets"))
    resources.store.append(ZONE, "streets", [lane])
    add_facility(resources, "Kiosk", 300, -800, "24/7", water=True)
    body = check(client, tokens["pat"], point(700, 0)).get_json()
    assert body["nearest"][2]["name"] == "Kiosk" and body["nearest"][2]["minutes"] is None
    site = new_site(client, tokens["pat"], point(700, 0)).get_json()
    assert site["properties"]["nearest"].endswith("; Kiosk (no walk)")
    html = client.get(PAGE, headers=bearer(tokens["pat"])).get_data(as_text=True)
    assert "Catchments follow the zone's street network" in html and "50 m either side" in html
    assert "Kiosk (no walk along the streets; drinking water)" in html


def test_with_no_facilities_nothing_is_within_reach(client, tokens):
    body = check(client, tokens["pat"], point(0, 0)).get_json()
    assert body["within_reach"] is False and body["nearest"] == [] and body["minutes"] is None
    assert body["missing"] == ["toilets", "water", "shelter"]


# -- cp-sites --------------------------------------------------------------------------------------------------------


def test_a_new_site_is_stored_with_its_check_and_no_public_reference(client, tokens, facilities, store):
    made = new_site(client, tokens["pat"], point(300, 0), description="Litter along the brook")
    assert made.status_code == 201, made.get_json()
    site = made.get_json()
    properties = site["properties"]
    assert properties["status"] == "candidate" and properties["kind"] == "litter"
    assert properties["within_reach"] is True and properties["minutes"] == pytest.approx(4.9, abs=0.05)
    assert properties["nearest"] == "Hub (4.9 min); Tap (15.8 min)" and "missing" not in properties
    assert properties["limited_hours"] is True and properties["checked_at"].endswith("Z")
    assert "ref" not in properties  # no tracking page can find a CP site
    assert made.headers["Location"].endswith(f"{SITES}/{properties['id']}")
    assert client.get(made.headers["Location"], headers=bearer(tokens["sam"])).get_json()["id"] == properties["id"]
    assert store.get(ZONE, "cp-sites", properties["id"])["properties"]["within_reach"] is True


def test_a_site_can_be_an_area(client, tokens, facilities):
    made = new_site(client, tokens["olu"], square(1300, -200, 40), name="Allotment hedges", kind="vegetation-clearance")
    assert made.status_code == 201, made.get_json()
    site = made.get_json()
    assert site["geometry"]["type"] == "Polygon" and len(site["geometry"]["coordinates"][0]) == 5
    assert site["properties"]["within_reach"] is False and site["properties"]["missing"] == "shelter"
    listed = client.get(SITES, headers=bearer(tokens["pat"])).get_json()
    assert [f["geometry"]["type"] for f in listed["features"]] == ["Polygon"]


@pytest.mark.parametrize("properties, field", [
    ({"name": "A", "kind": "other", "within_reach": True}, "within_reach"),
    ({"name": "A", "kind": "other", "status": "active"}, "status"),
    ({"kind": "other"}, "name"),
    ({"name": "A", "kind": "burglary"}, "kind"),
    ({"name": "A\nB", "kind": "other"}, "name"),
])
def test_a_site_sends_only_its_own_fields(client, tokens, facilities, store, properties, field):
    answer = client.post(SITES, json={"type": "Feature", "geometry": point(0, 0), "properties": properties},
                         headers=bearer(tokens["pat"]))
    assert answer.status_code == 422 and answer.get_json()["error"]["field"] == field
    assert len(store.query(ZONE, "cp-sites")) == 0


def test_a_site_outside_the_zone_is_not_stored(client, tokens, facilities, store):
    answer = new_site(client, tokens["pat"], {"type": "Point", "coordinates": list(INSIDE[OTHER])})
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "outside_zone"
    assert len(store.query(ZONE, "cp-sites")) == 0


def test_status_changes_follow_the_transitions_and_keep_history(client, tokens, facilities):
    site = new_site(client, tokens["pat"], point(300, 0)).get_json()
    url = f"{SITES}/{site['id']}"
    active = client.patch(url, json={"status": "active", "public_note": "Agreed with the parks team"},
                          headers=bearer(tokens["pat"]))
    assert active.status_code == 200 and active.get_json()["properties"]["status"] == "active"
    history = active.get_json()["properties"]["history"]
    assert history[-1]["from"] == "candidate" and history[-1]["to"] == "active"
    assert client.patch(url, json={"status": "closed"}, headers=bearer(tokens["olu"])).status_code == 200
    refused = client.patch(url, json={"status": "active"}, headers=bearer(tokens["pat"]))
    assert refused.status_code == 409 and "candidate" in refused.get_json()["error"]["message"]
    assert client.patch(url, json={"status": "finished"}, headers=bearer(tokens["pat"])).status_code == 422
    assert client.patch(url, json={"colour": "red"}, headers=bearer(tokens["pat"])).status_code == 422
    assert client.patch(url, json={"status": "candidate"}, headers=bearer(tokens["sam"])).status_code == 403
    assert client.patch(f"{SITES}/nope", json={"status": "active"}, headers=bearer(tokens["pat"])).status_code == 404
    elsewhere = client.patch(f"/api/zones/{OTHER}/cp-sites/nope", json={"status": "active"},
                             headers=bearer(tokens["boss"]))  # a zone with no site yet
    assert elsewhere.status_code == 404


def test_the_listing_filters_by_status_and_exports_for_gis(client, tokens, facilities):
    first = new_site(client, tokens["pat"], point(300, 0), name="=HYPERLINK(1)").get_json()
    new_site(client, tokens["pat"], square(200, 200, 50), name="Square")
    client.patch(f"{SITES}/{first['id']}", json={"status": "active"}, headers=bearer(tokens["pat"]))
    active = client.get(f"{SITES}?status=active", headers=bearer(tokens["pat"])).get_json()
    assert [f["properties"]["name"] for f in active["features"]] == ["=HYPERLINK(1)"]
    assert client.get(f"{SITES}?status=done", headers=bearer(tokens["pat"])).status_code == 422
    csv_text = client.get(f"{SITES}.csv", headers=bearer(tokens["pat"])).get_data(as_text=True)
    assert csv_text.startswith("WKT,") and "POLYGON ((" in csv_text and "POINT (" in csv_text
    assert "'=HYPERLINK(1)" in csv_text  # a spreadsheet shows it as text
    gpkg = client.get(f"{SITES}.gpkg", headers=bearer(tokens["pat"]))
    assert gpkg.status_code == 200 and gpkg.data[:16] == b"SQLite format 3\x00"
    assert client.get(f"{SITES}.gpx", headers=bearer(tokens["pat"])).status_code == 404


def test_nothing_of_the_layer_is_public(client, tokens, facilities, resources, store):
    site = new_site(client, tokens["pat"], point(300, 0)).get_json()
    client.patch(f"{SITES}/{site['id']}", json={"status": "active"}, headers=bearer(tokens["pat"]))
    layer = resources.schema.layer("cp-sites")
    assert layer.public_statuses == () and layer.open_statuses == () and not layer.on_map
    assert len(store.query(ZONE, "cp-sites")) == 1 and len(public(store.query(ZONE, "cp-sites"), layer)) == 0
    for url in (SITES, f"{SITES}.geojson", f"{SITES}.csv", f"{SITES}.kml", f"{SITES}/{site['id']}"):
        assert client.get(url).status_code == 401, url
    assert client.get(f"/api/zones/{ZONE}/cp-sites/{site['id']}/private").status_code == 401
    counts = {zone["id"]: zone["counts"] for zone in client.get("/api/zones").get_json()["zones"]}
    assert counts[ZONE]["cp-sites"] == 0
    lon, lat = at(300, 0)
    near = client.get(f"/api/nearby?layer=cp-sites&lon={lon}&lat={lat}&radius=200").get_json()
    assert near["features"] == []
    confirm = client.post(f"/api/zones/{ZONE}/cp-sites/{site['id']}/confirm", json={"client_id": "a" * 32})
    assert confirm.status_code == 403 and "confirmations" not in store.get(ZONE, "cp-sites", site["id"])["properties"]
    public_page = client.get(f"/zones/{ZONE}").get_data(as_text=True) + client.get("/").get_data(as_text=True)
    assert "cp-sites" not in public_page and "Rec ground verge" not in public_page


def test_nobody_adds_a_site_through_the_public_api(client, tokens, facilities, store):
    feature = {"type": "Feature", "geometry": point(300, 0),
               "properties": {"name": "Mine", "kind": "other", "within_reach": True}}
    found_zone = client.post("/api/reports?layer=cp-sites", json=feature)
    assert found_zone.status_code == 403 and found_zone.get_json()["error"]["field"] == "layer"
    assert client.post(SITES, json=feature).status_code == 401  # the zone's own route is the staff one
    assert len(store.query(ZONE, "cp-sites")) == 0
    assert client.post("/api/reports", json=point_feature(*at(300, 0), category="out")).status_code == 201


# -- candidates from residents' obscured reports ---------------------------------------------------------------------


def test_an_obscured_report_becomes_a_candidate_site_once(client, tokens, facilities, resources):
    report = obscured(client, 300, 0, description="Hedge covers the lamp", location_text="Brook Street footpath")
    offered = client.get(f"{PAGE}.json", headers=bearer(tokens["pat"])).get_json()["offers"]
    assert [offer["ref"] for offer in offered] == [report["properties"]["ref"]]
    assert offered[0]["check"]["within_reach"] is True
    made = client.post(SITES, json={"report": report["properties"]["ref"]}, headers=bearer(tokens["pat"]))
    assert made.status_code == 201, made.get_json()
    properties = made.get_json()["properties"]
    assert (properties["name"], properties["kind"], properties["source_report"], properties["description"]) == (
        "Brook Street footpath", "vegetation-clearance", report["properties"]["ref"], "Hedge covers the lamp")
    assert made.get_json()["geometry"] == report["geometry"] and properties["within_reach"] is True
    assert client.get(f"{PAGE}.json", headers=bearer(tokens["pat"])).get_json()["offers"] == []
    again = client.post(SITES, json={"report": report["id"]}, headers=bearer(tokens["pat"]))
    assert again.status_code == 409 and "Brook Street footpath" in again.get_json()["error"]["message"]


def test_only_open_obscured_reports_of_the_zone_are_offered(client, tokens, facilities, resources):
    out = client.post(f"/api/zones/{ZONE}/lights", json=point_feature(*at(100, 0), category="out")).get_json()
    fixed = obscured(client, 200, 0)
    change_status(resources.store, resources.schema.layer("lights"), ZONE, fixed["id"], "fixed", by="test")
    named = obscured(client, 250, 0)
    offers = client.get(f"{PAGE}.json", headers=bearer(tokens["pat"])).get_json()["offers"]
    assert [offer["id"] for offer in offers] == [named["id"]]
    wrong = client.post(SITES, json={"report": out["properties"]["ref"]}, headers=bearer(tokens["pat"]))
    assert wrong.status_code == 422 and "obscured" in wrong.get_json()["error"]["message"]
    done = client.post(SITES, json={"report": fixed["id"]}, headers=bearer(tokens["pat"]))
    assert done.status_code == 409 and "Fixed" in done.get_json()["error"]["message"]
    assert client.post(SITES, json={"report": "BF-ZZZZZ"}, headers=bearer(tokens["pat"])).status_code == 404
    assert client.post(SITES, json={"report": named["id"], "colour": 1}, headers=bearer(tokens["pat"])).status_code \
        == 422
    custom = client.post(SITES, json={"report": named["id"], "name": "Alley", "kind": "litter"},
                         headers=bearer(tokens["pat"])).get_json()
    assert custom["properties"]["name"] == "Alley" and custom["properties"]["kind"] == "litter"


# -- gaps, re-checks, the page and the catchments --------------------------------------------------------------------


def test_gaps_rank_places_by_the_sites_a_new_facility_would_open_up(client, tokens, facilities):
    first, second = obscured(client, 900, 600), obscured(client, 1000, 500)  # 1.1 km and 0.95 km walks: blocked
    lonely = new_site(client, tokens["pat"], point(200, -900), name="Lonely corner").get_json()
    new_site(client, tokens["pat"], point(300, 0), name="Near the hub")  # within reach: never in a gap
    data = client.get(f"{PAGE}.json", headers=bearer(tokens["pat"])).get_json()
    assert data["candidates"] == 4 and data["blocked"] == 3
    gaps = data["gaps"]
    assert [(gap["rank"], gap["unlocks"]) for gap in gaps] == [(1, 2), (2, 1)]
    assert sorted(gaps[0]["sites"]) == sorted([f"report:{first['id']}", f"report:{second['id']}"])
    assert gaps[1]["sites"] == [f"site:{lonely['id']}"] and gaps[1]["names"] == ["Lonely corner"]
    x, y = (float(v) for v in to_british_national_grid(gaps[0]["lon"], gaps[0]["lat"]))
    for dx, dy in ((900, 600), (1000, 500)):  # the place is within a 10-minute walk of both
        assert ((ORIGIN[0] + dx - x) ** 2 + (ORIGIN[1] + dy - y) ** 2) ** 0.5 * 1.3 <= 800.01
    html = client.get(PAGE, headers=bearer(tokens["pat"])).get_data(as_text=True)
    table = html[html.index('id="gaps-table"'):html.index("</table>", html.index('id="gaps-table"'))]
    assert '<tr data-rank="1">' in table and '<td class="unlocks">2</td>' in table and "Lonely corner" in table


def test_rechecking_stores_the_new_answer(client, tokens, facilities, resources):
    site = new_site(client, tokens["pat"], point(0, 700)).get_json()
    assert site["properties"]["within_reach"] is False
    add_facility(resources, "Pavilion", 0, 900, "24/7", toilets=True, water=True, shelter=True)
    everything = client.post(f"{SITES}/check", headers=bearer(tokens["pat"]))
    assert everything.get_json() == {"zone": ZONE, "checked": 1, "changed": [site["id"]]}
    one = client.post(f"{SITES}/{site['id']}/check", headers=bearer(tokens["olu"])).get_json()
    assert one["properties"]["within_reach"] is True and "missing" not in one["properties"]
    assert one["properties"]["nearest"].startswith("Pavilion (3.2 min)")


def test_the_catchments_download_marks_limited_hours(client, tokens, facilities):
    answer = client.get(f"{PAGE}/catchments.geojson", headers=bearer(tokens["sam"]))
    assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
    assert "attachment" in answer.headers["Content-Disposition"]
    collection = answer.get_json()
    assert collection["analysis"]["detour"] == 1.3 and collection["analysis"]["radius_m"] == pytest.approx(615.38)
    by_names = {tuple(f["properties"]["names"]): f["properties"] for f in collection["features"]}
    assert set(by_names) == {("Hub",), ("Tap",)}  # 1.27 km apart: the circles do not meet
    assert by_names[("Hub",)]["limited_hours"] is True and by_names[("Tap",)]["limited_hours"] is False
    hub = shape(next(f["geometry"] for f in collection["features"] if f["properties"]["names"] == ["Hub"]))
    assert hub.contains(shape(point(0, 600))) and not hub.contains(shape(point(0, 630)))
    wider = client.get(f"{PAGE}/catchments.geojson?minutes=20", headers=bearer(tokens["sam"])).get_json()
    assert {tuple(f["properties"]["names"]) for f in wider["features"]} == {("Hub",), ("Tap",), ("Hub", "Tap")}
    assert client.get(f"{PAGE}/catchments.geojson?minutes=0", headers=bearer(tokens["sam"])).status_code == 422


def test_the_page_tables_show_facilities_sites_and_offers_as_text(client, tokens, resources):
    add_facility(resources, f"Hall {HOSTILE}", 0, 0, "Sa 10:00-12:00", toilets=True)
    obscured(client, 300, 0, description=f"Ivy {HOSTILE}")
    new_site(client, tokens["pat"], point(100, 0), name=f"Verge {HOSTILE}")
    html = client.get(PAGE, headers=bearer(tokens["pat"])).get_data(as_text=True)
    assert HOSTILE not in html and "Hall &lt;img src=x" in html and "Verge &lt;img" in html and "Ivy &lt;img" in html
    facilities_table = html[html.index('id="facilities-table"'):]
    assert "Sa 10:00-12:00" in facilities_table and "limited hours" in facilities_table
    assert "Missing: drinking water, shelter" in html  # only toilets at the hall
    assert "radius = speed × time ÷ detour factor" in html and "615 m" in html
    steering = client.get(PAGE, headers=bearer(tokens["sam"])).get_data(as_text=True)
    assert 'name="report"' not in steering and "Check again" not in steering and "<select" not in steering
    bad = client.get(f"{PAGE}?minutes=abc", headers=bearer(tokens["pat"]))
    assert bad.status_code == 422 and "must be a number from 1 to 60" in bad.get_data(as_text=True)


def test_the_page_forms_need_their_token_and_then_add_and_change_sites(client, tokens, facilities, store):
    report = obscured(client, 300, 0)
    sign_in(client, "pat")
    assert client.post(f"{PAGE}/sites", data={"report": report["id"]}).status_code == 400  # no CSRF token
    assert len(store.query(ZONE, "cp-sites")) == 0
    token = page_token(client)
    added = client.post(f"{PAGE}/sites?minutes=12", data={"csrf_token": token, "report": report["properties"]["ref"]})
    assert added.status_code == 303 and added.headers["Location"].endswith(f"{PAGE}?minutes=12#sites")
    [site] = list(store.features(ZONE, "cp-sites"))
    assert site["properties"]["source_report"] == report["properties"]["ref"]
    page = client.get(PAGE).get_data(as_text=True)
    assert "Added the candidate site" in page
    clicked = client.post(f"{PAGE}/sites", data={"csrf_token": token, "lon": at(0, 650)[0], "lat": at(0, 650)[1],
                                                 "name": "Clicked on the map", "kind": "litter"})
    assert clicked.status_code == 303
    changed = client.post(f"{PAGE}/sites/{site['id']}", data={"csrf_token": token, "status": "active"})
    assert changed.status_code == 303 and store.get(ZONE, "cp-sites", site["id"])["properties"]["status"] == "active"
    refused = client.post(f"{PAGE}/sites/{site['id']}", data={"csrf_token": token, "status": "active"})
    assert refused.status_code == 409 and "already" in refused.get_data(as_text=True)
    bad = client.post(f"{PAGE}/sites", data={"csrf_token": token, "lon": "west", "lat": "1", "name": "X"})
    assert bad.status_code == 422 and "lon must be a number" in bad.get_data(as_text=True)
    assert client.post(f"{PAGE}/sites/{site['id']}", data={"csrf_token": token, "check": "1"}).status_code == 303


def test_session_json_writes_need_the_csrf_header(client, tokens, facilities):
    sign_in(client, "pat")
    body = {"type": "Feature", "geometry": point(0, 0), "properties": {"name": "A", "kind": "other"}}
    assert client.post(SITES, json=body).status_code == 400
    token = page_token(client)
    assert client.post(SITES, json=body, headers={"X-CSRFToken": token}).status_code == 201
    assert client.post(CHECK, json={"geometry": point(0, 0)}, headers={"X-CSRFToken": token}).status_code == 200
    assert json.loads(client.get(f"{PAGE}.json").get_data())["zone"]["id"] == ZONE
