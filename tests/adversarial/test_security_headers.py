"""Issue #11, finding 8: every answer carries the security headers (CSP, nosniff, no framing, Referrer-Policy,
COOP, Permissions-Policy; HSTS only behind HTTPS).

The URLs come from the app's URL map: every GET rule, with real ids from the demo-loaded hostile world
(tests/adversarial/conftest.py), asked anonymously and by a signed-in administrator, so each blueprint answers pages,
JSON, files, redirects and refusals; then the errors a client can cause (404 page and JSON, 4xx JSON, 405, a
refused CSRF token), static and vendor files, a 304 and a POST.
"""

import re

import pytest

from mapper import create_app
from tests.adversarial.conftest import PASSWORD, ZONE, fill, real_values, rules
from tests.helpers import sign_in_form

GET_RULES = [(rule, endpoint) for rule, endpoint, methods in rules() if "GET" in methods]
ANSWER_KINDS = ("anonymous", "admin")


def sign_in(client):
    assert sign_in_form(client, "admin", PASSWORD).status_code == 303
    return client


def directives(policy):
    """``{directive: [sources]}`` of a Content-Security-Policy header."""
    parsed = {}
    for part in policy.split(";"):
        name, *sources = part.split()
        assert name not in parsed, f"{name} twice in {policy}"
        parsed[name] = sources
    return parsed


def assert_secured(response, what, geolocation=False):
    headers = response.headers
    policy = headers.get("Content-Security-Policy")
    assert policy, f"{what}: no Content-Security-Policy"
    csp = directives(policy)
    assert csp["default-src"] == ["'self'"], what
    assert "'unsafe-inline'" not in csp["script-src"] and "'unsafe-eval'" not in csp["script-src"], what
    assert "*" not in csp["script-src"] and "data:" not in csp["script-src"], what
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"], what
    assert csp["frame-ancestors"] == ["'none'"] and csp["form-action"] == ["'self'"], what
    assert csp["connect-src"] == ["'self'"], what
    assert headers.get("X-Content-Type-Options") == "nosniff", what
    assert headers.get("X-Frame-Options") == "DENY", what
    assert headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "same-origin", "no-referrer"), what
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", what
    permissions = dict(item.strip().split("=", 1) for item in headers.get("Permissions-Policy", "").split(","))
    assert permissions.get("geolocation") == ("(self)" if geolocation else "()"), (what, permissions)
    assert permissions.get("camera") == "()" and permissions.get("microphone") == "()", what
    assert "Strict-Transport-Security" not in headers, f"{what}: HSTS without HTTPS configured"


@pytest.fixture(scope="module")
def clients(world):
    return {"anonymous": world.client(), "admin": sign_in(world.client())}


@pytest.mark.parametrize("rule, endpoint", GET_RULES, ids=[endpoint for _, endpoint in GET_RULES])
def test_every_get_rule_answers_with_the_headers(world, clients, rule, endpoint):
    url = fill(rule, real_values(world, ZONE, rule))
    for kind in ANSWER_KINDS:
        response = clients[kind].get(url)
        assert response.status_code < 500, (kind, url, response.status_code)
        assert_secured(response, f"{kind} GET {url} ({response.status_code})",
                       geolocation=endpoint in ("report.report_page",))


def test_every_blueprint_is_covered():
    endpoints = {endpoint for _, endpoint in GET_RULES}
    blueprints = {endpoint.split(".")[0] for _, endpoint, _ in rules()}
    assert blueprints == {endpoint.split(".")[0] for endpoint in endpoints}


@pytest.mark.parametrize("method, url, options, status", [
    ("GET", "/no-such-page", {}, 404),
    ("GET", "/api/zones/nowhere", {}, 404),
    ("GET", "/api/zones/bell-foundry/nothing.geojson", {}, 404),
    ("GET", "/api/nearby?lon=abc&lat=52.6", {}, 422),
    ("GET", "/vendor/leaflet/package.json", {}, 404),
    ("GET", "/static/../setup.cfg", {}, 404),
    ("DELETE", "/api/zones", {}, 405),
    ("POST", "/api/reports", {"data": "{not json", "content_type": "application/json"}, 400),
    ("POST", "/report", {"data": {"category": "out"}}, 400),  # no CSRF token
    ("GET", f"/api/zones/{ZONE}/moderation", {}, 401),
    ("GET", f"/zones/{ZONE}/repairs", {}, 302),
    ("GET", "/static/js/zone-map.js", {}, 200),
    ("GET", "/vendor/leaflet/dist/leaflet.js", {}, 200),
    ("GET", "/vendor/leaflet/dist/images/marker-icon.png", {}, 200),
])
def test_errors_and_files_carry_the_headers(world, method, url, options, status):
    response = world.client().open(url, method=method, **options)
    assert response.status_code == status, (url, response.status_code, response.get_data(as_text=True)[:300])
    assert_secured(response, f"{method} {url}", geolocation=url == "/report")  # the report form, shown again


def test_a_not_modified_answer_carries_them_too(world):
    client = world.client()
    etag = client.get("/static/css/site.css").headers.get("ETag")
    response = client.get("/static/css/site.css", headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert_secured(response, "304 /static/css/site.css")


def test_a_private_page_keeps_its_stricter_referrer_policy(world):
    response = world.client().get("/password-reset/not-a-real-token")
    assert response.headers["Referrer-Policy"] == "no-referrer"


def test_hsts_only_when_https_is_configured(tmp_path):
    plain = create_app({"DATA_DIR": tmp_path / "plain", "TESTING": True}).test_client().get("/api/layers")
    assert "Strict-Transport-Security" not in plain.headers
    secure = create_app({"DATA_DIR": tmp_path / "tls", "TESTING": True, "HTTPS": True}).test_client()
    for url in ("/", "/api/layers", "/no-such-page"):
        hsts = secure.get(url, base_url="https://localhost").headers.get("Strict-Transport-Security", "")
        assert re.fullmatch(r"max-age=(\d+); includeSubDomains", hsts), (url, hsts)
        assert int(hsts.split("=")[1].split(";")[0]) >= 365 * 24 * 3600
