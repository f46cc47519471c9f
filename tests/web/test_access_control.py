"""Access control for every route of the app: with no credentials, with the wrong zone, and with the right zone.

Every rule in the app's URL map must be listed here, as public or as staff-only with the roles that may use it, so a
new route cannot be added without saying who may call it (``test_every_route_is_classified``). Staff routes answer 401
without credentials (or with a forged token), 403 to an account of another zone or of a role that may not, and get
past both for an account of the right zone and role. Public routes answer without credentials and never carry a
resident's contact details.
"""

import tempfile

import pytest

from mapper import create_app
from mapper.accounts import Accounts
from tests.helpers import INSIDE, light, point_feature

ZONE, OTHER = "bell-foundry", "new-parks"
EMAIL, PHONE = "private.person@example.org", "07700 900123"
STAFF = ("officer", "admin")  # may change repairs, see private fields, upload police data
WALKERS = ("officer", "admin", "steering")  # may bring in audit walks
EVERYONE = ("officer", "admin", "steering", "probation")
CP_WRITERS = ("officer", "admin", "probation")  # plan Community Payback sites; steering-group members only look


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An app with a report carrying contact details in ZONE, and one token per role for ZONE (plus an officer of
    OTHER)."""
    app = create_app({"DATA_DIR": tmp_path_factory.mktemp("access") / "store", "TESTING": True})
    client = app.test_client()
    created = client.post(f"/api/zones/{ZONE}/lights", json=light(
        ZONE, description="Out again", contact_email=EMAIL, contact_phone=PHONE, contact_name="Pat Private"))
    assert created.status_code == 201, created.get_json()
    accounts = Accounts(app.config["DATA_DIR"])
    tokens = {}
    for name, role, zones in (("officer", "officer", [ZONE]), ("stranger", "officer", [OTHER]),
                              ("steering", "steering", [ZONE]), ("probation", "probation", [ZONE]),
                              ("admin", "admin", [])):
        accounts.add(name, role, zones)
        tokens[name] = accounts.new_token(name)
    feature = created.get_json()
    return {"app": app, "tokens": tokens, "id": feature["id"], "ref": feature["properties"]["ref"]}


# endpoint -> (method, url, request keyword arguments, roles allowed)
STAFF_ROUTES = {
    "officers.change_feature": ("PATCH", "/api/zones/{zone}/lights/{id}", {"json": {"priority": "long"}}, STAFF),
    "officers.private_fields": ("GET", "/api/zones/{zone}/lights/{id}/private", {}, STAFF),
    "audits.upload_walk": ("POST", "/api/zones/{zone}/audits", {"data": b"", "content_type": "application/gpx+xml"},
                           WALKERS),
    "audits.upload_page": ("GET", "/zones/{zone}/walks/upload", {}, WALKERS),
    "analysts.police_upload": ("GET", "/zones/{zone}/crime/upload", {}, STAFF),
    "repairs.repairs_page": ("GET", "/zones/{zone}/repairs", {}, STAFF),
    "repairs.change": ("POST", "/zones/{zone}/repairs/change", {"data": {"id": "{id}", "priority": "short"}}, STAFF),
    "repairs.worklist_export": ("GET", "/zones/{zone}/repairs/worklist.csv", {}, STAFF),
    "repairs.map_json": ("GET", "/zones/{zone}/repairs/map.json", {}, STAFF),
    "repairs.detail_json": ("GET", "/zones/{zone}/repairs/{id}.json", {}, STAFF),
    "moderation.moderation_page": ("GET", "/zones/{zone}/moderation", {}, STAFF),
    "moderation.act": ("POST", "/zones/{zone}/moderation/approve", {"data": {"id": "{id}"}}, STAFF),
    "moderation.pending_json": ("GET", "/api/zones/{zone}/moderation", {}, STAFF),
    "moderation.moderate_json": ("POST", "/api/zones/{zone}/lights/{id}/moderation", {"json": {"action": "nothing"}},
                                 STAFF),
    "community_payback.planning_page": ("GET", "/zones/{zone}/community-payback", {}, EVERYONE),
    "community_payback.planning_data": ("GET", "/zones/{zone}/community-payback.json", {}, EVERYONE),
    "community_payback.catchments_download": ("GET", "/zones/{zone}/community-payback/catchments.geojson", {},
                                              EVERYONE),
    "community_payback.cp_check": ("POST", "/api/zones/{zone}/cp-check",
                                   {"json": {"geometry": {"type": "Point", "coordinates": [0, 0]}}}, EVERYONE),
    "community_payback.list_sites": ("GET", "/api/zones/{zone}/cp-sites", {}, EVERYONE),
    "community_payback.export_sites": ("GET", "/api/zones/{zone}/cp-sites.csv", {}, EVERYONE),
    "community_payback.get_site": ("GET", "/api/zones/{zone}/cp-sites/{id}", {}, EVERYONE),
    "community_payback.create_site": ("POST", "/api/zones/{zone}/cp-sites", {"json": {}}, CP_WRITERS),
    "community_payback.change_site": ("PATCH", "/api/zones/{zone}/cp-sites/{id}", {"json": {"status": "active"}},
                                      CP_WRITERS),
    "community_payback.recheck_site": ("POST", "/api/zones/{zone}/cp-sites/{id}/check", {}, CP_WRITERS),
    "community_payback.recheck_all": ("POST", "/api/zones/{zone}/cp-sites/check", {}, CP_WRITERS),
    "community_payback.add_from_page": ("POST", "/zones/{zone}/community-payback/sites", {"data": {"report": "{id}"}},
                                        CP_WRITERS),
    "community_payback.change_from_page": ("POST", "/zones/{zone}/community-payback/sites/{id}",
                                           {"data": {"check": "1"}}, CP_WRITERS),
}

# Any signed-in account, whatever its role and zones: its own account page. endpoint -> (method, url, options)
ACCOUNT_ROUTES = {
    "auth.account": ("GET", "/account", {}),
    "auth.change_password": ("POST", "/account/password", {"data": {}}),
    "auth.end_other_sessions": ("POST", "/account/sessions/end-others", {"data": {}}),
    "auth.revoke_token": ("POST", "/account/tokens/nosuchid/revoke", {"data": {}}),
}

# endpoint -> (method, url, request keyword arguments)
PUBLIC_ROUTES = {
    "pages.index": ("GET", "/", {}),
    "pages.zone_map": ("GET", "/zones/{zone}", {}),
    "api.layers": ("GET", "/api/layers", {}),
    "api.zones": ("GET", "/api/zones", {}),
    "api.zone": ("GET", "/api/zones/{zone}", {}),
    "api.nearby": ("GET", "/api/nearby?lon={lon}&lat={lat}", {}),
    "api.layer_default": ("GET", "/api/zones/{zone}/lights", {}),
    "api.layer_download": ("GET", "/api/zones/{zone}/lights.csv", {}),
    "api.feature": ("GET", "/api/zones/{zone}/lights/{id}", {}),
    "api.feature_at": ("GET", "/api/zones/{zone}/lights/at/0?version=stale", {}),
    "api.nearest_column": ("GET", "/api/zones/{zone}/columns/nearest?lon={lon}&lat={lat}", {}),
    "api.columns_near": ("GET", "/api/zones/{zone}/columns/near?lon={lon}&lat={lat}", {}),
    "api.create_report": ("POST", "/api/reports", {"json": "light"}),
    "api.create_in_zone": ("POST", "/api/zones/{zone}/lights", {"json": "light"}),
    "api.confirm": ("POST", "/api/zones/{zone}/lights/{id}/confirm", {"json": {"client_id": "a" * 32}}),
    "audits.zone_coverage": ("GET", "/api/zones/{zone}/audits/coverage.json", {}),
    "audits.findings": ("GET", "/api/zones/{zone}/audits/findings.geojson", {}),
    "audits.uncovered_area": ("GET", "/api/zones/{zone}/audits/uncovered.geojson", {}),
    "audits.lights_gpx": ("GET", "/api/zones/{zone}/lights.gpx", {}),
    "audits.walk_page": ("GET", "/walks/{zone}/no-such-walk", {}),
    "analysts.hotspots_download": ("GET", "/api/zones/{zone}/hotspots.geojson", {}),
    "analysts.targets_download": ("GET", "/api/zones/{zone}/targets.geojson", {}),
    "analysts.hotspots_page": ("GET", "/zones/{zone}/hotspots", {}),
    "progress.progress_page": ("GET", "/zones/{zone}/progress", {}),
    "progress.progress_json": ("GET", "/zones/{zone}/progress.json", {}),
    "report.report_page": ("GET", "/report", {}),
    "report.submit_report": ("POST", "/report", {"data": {}}),
    "report.token": ("GET", "/report/token", {}),
    "report.tracking_page": ("GET", "/r/{ref}", {}),
    "report.reopen_report": ("POST", "/r/{ref}/reopen", {"data": {}}),
    "report.photo": ("GET", "/photos/{zone}/none.jpg", {}),
    "auth.login": ("GET", "/login", {}),
    "auth.logout": ("GET", "/logout", {}),
    "auth.forgot_password": ("GET", "/password-reset", {}),
    "auth.reset_requested": ("GET", "/password-reset/sent", {}),
    "auth.reset_password": ("GET", "/password-reset/not-a-real-token", {}),
    "vendor.file": ("GET", "/vendor/leaflet/dist/leaflet.js", {}),
    "static": ("GET", "/static/css/site.css", {}),
}


def call(client, world, method, url, options, zone=ZONE, token=None, accept="application/json"):
    lon, lat = INSIDE[zone]
    values = {"zone": zone, "id": world["id"], "ref": world["ref"], "lon": lon, "lat": lat}
    options = dict(options)
    if options.get("json") == "light":
        options["json"] = point_feature(lon, lat, category="out")
    if isinstance(options.get("data"), dict):
        options["data"] = {key: value.format(**values) for key, value in options["data"].items()}
    headers = {"Accept": accept}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(url.format(**values), method=method, headers=headers, **options)


def test_every_route_is_classified(world):
    endpoints = {rule.endpoint for rule in world["app"].url_map.iter_rules()}
    listed = [set(STAFF_ROUTES), set(ACCOUNT_ROUTES), set(PUBLIC_ROUTES)]
    unlisted = endpoints - set.union(*listed)
    assert not unlisted, f"say who may call these routes in {__name__}: {sorted(unlisted)}"
    assert sum(map(len, listed)) == len(set.union(*listed)), "a route listed twice"
    assert not set.union(*listed) - endpoints, "routes listed here that the app no longer has"


@pytest.mark.parametrize("endpoint", sorted(STAFF_ROUTES))
def test_staff_route_without_credentials_is_401(world, endpoint):
    method, url, options, _roles = STAFF_ROUTES[endpoint]
    client = world["app"].test_client()
    nobody = call(client, world, method, url, options)
    assert nobody.status_code == 401, (endpoint, nobody.status_code)
    assert nobody.get_json()["error"]["code"] == "unauthorized"
    forged = call(client, world, method, url, options, token="mpr_forged-token")
    assert forged.status_code == 401
    assert EMAIL not in nobody.get_data(as_text=True) + forged.get_data(as_text=True)
    if not url.startswith("/api/") and method == "GET":  # a browser is sent to sign in, and back afterwards
        browser = call(client, world, method, url, options, accept="text/html")
        assert browser.status_code == 302 and "/login?next=" in browser.headers["Location"]


@pytest.mark.parametrize("endpoint", sorted(STAFF_ROUTES))
def test_staff_route_refuses_the_wrong_zone_and_role(world, endpoint):
    method, url, options, roles = STAFF_ROUTES[endpoint]
    client = world["app"].test_client()
    stranger = call(client, world, method, url, options, token=world["tokens"]["stranger"])
    assert stranger.status_code == 403, (endpoint, stranger.status_code)
    assert EMAIL not in stranger.get_data(as_text=True)
    for role in set(EVERYONE) - set(roles):
        refused = call(client, world, method, url, options, token=world["tokens"][role])
        assert refused.status_code == 403, (endpoint, role, refused.status_code)


@pytest.mark.parametrize("endpoint", sorted(STAFF_ROUTES))
def test_staff_route_lets_the_right_zone_in(world, endpoint):
    method, url, options, roles = STAFF_ROUTES[endpoint]
    client = world["app"].test_client()
    for role in roles:
        answer = call(client, world, method, url, options, token=world["tokens"][role])
        assert answer.status_code not in (401, 403) and answer.status_code < 500, (endpoint, role, answer.status_code)
    # the stranger is an officer of OTHER: there, the same route lets them in
    other = call(client, world, method, url, options, zone=OTHER, token=world["tokens"]["stranger"])
    assert other.status_code not in (401, 403) and other.status_code < 500, (endpoint, other.status_code)


@pytest.mark.parametrize("endpoint", sorted(PUBLIC_ROUTES))
def test_public_route_answers_anyone_without_private_fields(world, endpoint):
    method, url, options = PUBLIC_ROUTES[endpoint]
    client = world["app"].test_client()
    answer = call(client, world, method, url, options)
    assert answer.status_code not in (401, 403) and answer.status_code < 500, (endpoint, answer.status_code)
    body = answer.get_data(as_text=True) if not answer.is_streamed else ""
    assert EMAIL not in body and PHONE not in body and "Pat Private" not in body


@pytest.mark.parametrize("endpoint", sorted(ACCOUNT_ROUTES))
def test_account_route_needs_a_signed_in_browser(world, endpoint):
    """An account page acts on the signed-in browser's own account: nobody, a forged token and an API token (the
    account page takes sessions only, so a leaked token cannot change the password) are all refused."""
    method, url, options = ACCOUNT_ROUTES[endpoint]
    client = world["app"].test_client()
    for token in (None, "mpr_forged-token", world["tokens"]["officer"]):
        answer = call(client, world, method, url, options, token=token)
        assert answer.status_code == 401, (endpoint, token, answer.status_code)
    if method == "GET":
        browser = call(client, world, method, url, options, accept="text/html")
        assert browser.status_code == 302 and "/login?next=" in browser.headers["Location"]


def staff_only_layer_urls():
    """Every public GET route that takes a layer (from the URL map, so a new one cannot be missed), with the layer set
    to each staff-only one (``access = "staff"`` in data/layers.toml: crime records); plus /api/nearby's ``layer``."""
    app = create_app({"TESTING": True, "DATA_DIR": tempfile.mkdtemp(prefix="access-layers-")})  # nothing is stored
    layers = [layer.name for layer in app.extensions["mapper"].schema if layer.staff_only]
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if "layer_name" in rule.arguments
                 and "GET" in rule.methods and rule.endpoint in PUBLIC_ROUTES}
    urls = [(endpoint, PUBLIC_ROUTES[endpoint][1].replace("/lights", f"/{layer}"))
            for endpoint in sorted(endpoints) for layer in layers]
    return urls + [("api.nearby", PUBLIC_ROUTES["api.nearby"][1] + f"&layer={layer}") for layer in layers]


@pytest.mark.parametrize("endpoint, url", staff_only_layer_urls())
def test_a_staff_only_layer_is_read_by_staff_of_the_zone_only(world, endpoint, url):
    client = world["app"].test_client()
    assert call(client, world, "GET", url, {}).status_code == 401, endpoint
    for role in set(EVERYONE) - set(STAFF):
        assert call(client, world, "GET", url, {}, token=world["tokens"][role]).status_code == 403, (endpoint, role)
    assert call(client, world, "GET", url, {}, token=world["tokens"]["stranger"]).status_code == 403, endpoint
    for role in STAFF:
        answer = call(client, world, "GET", url, {}, token=world["tokens"][role])
        assert answer.status_code not in (401, 403) and answer.status_code < 500, (endpoint, role, answer.status_code)
