"""Issue #11, finding 7: a write carrying the session cookie must come from this site (Origin, else Referer), as well
as carry its CSRF token. A sibling site (another port or subdomain: same site, so SameSite=Lax cookies go along)
that has learnt a token cannot use it. Bearer-token clients and cookie-less anonymous API posts are not checked.
"""

import re

import pytest

import mapper.accounts as accounts_module
from mapper import create_app
from mapper.accounts import Accounts
from tests.helpers import INSIDE, light
from tests.live import serving

ZONE = "bell-foundry"
PASSWORD = "correct horse battery"
NEW_PASSWORD = "a much longer new password"
EVIL = "https://evil.example"
SITE = "https://zones.example.gov.uk"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(accounts_module, "PASSWORD_METHOD", "scrypt:1024:8:1")


def make_app(data_dir, **settings):
    return create_app({"DATA_DIR": data_dir, "TESTING": True, "WTF_CSRF_ENABLED": True, **settings})


@pytest.fixture
def app(data_dir):
    return make_app(data_dir)


@pytest.fixture
def token(app, data_dir):
    accounts = Accounts(data_dir)
    accounts.add("alice", "officer", [ZONE], PASSWORD)
    return accounts.new_token("alice")


@pytest.fixture
def report(app):
    created = app.test_client().post(f"/api/zones/{ZONE}/lights", json=light(ZONE, description="Out since Friday"))
    assert created.status_code == 201
    return created.get_json()


def csrf_of(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def signed_in(app):
    """A browser signed in as alice, and its CSRF token."""
    client = app.test_client()
    csrf = csrf_of(client, "/login")
    assert client.post("/login", data={"csrf_token": csrf, "name": "alice", "password": PASSWORD}).status_code == 303
    return client, csrf


def patch_status(client, report, csrf, **headers):
    return client.patch(f"/api/zones/{ZONE}/lights/{report['id']}", json={"status": "confirmed"},
                        headers={"X-CSRFToken": csrf, **headers})


def status_of(app, report):
    return app.test_client().get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]["status"]


def change_password(client, csrf, **headers):
    return client.post("/account/password", data={"csrf_token": csrf, "current_password": PASSWORD,
                                                  "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                       headers=headers)


def test_a_token_valid_officer_write_from_another_site_is_refused_and_changes_nothing(app, token, report):
    client, csrf = signed_in(app)
    refused = patch_status(client, report, csrf, Origin=EVIL)
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "cross_origin"
    assert status_of(app, report) == "open"
    assert patch_status(client, report, csrf, Origin="http://localhost").status_code == 200
    assert status_of(app, report) == "confirmed"


def test_a_form_from_another_site_gets_a_page_and_the_password_stays(app, token, data_dir):
    client, csrf = signed_in(app)
    for origin in (EVIL, "null", "http://localhost:8080", "https://localhost"):  # other site, sandbox, port, scheme
        refused = change_password(client, csrf, Origin=origin)
        assert refused.status_code == 403 and refused.mimetype == "text/html", origin
        assert "another site" in refused.get_data(as_text=True)
    assert Accounts(data_dir).authenticate("alice", PASSWORD) is not None
    assert change_password(client, csrf, Origin="http://localhost").status_code == 303
    assert Accounts(data_dir).authenticate("alice", NEW_PASSWORD) is not None


def test_without_origin_the_referer_decides_and_without_either_the_token_does(app, token, report):
    client, csrf = signed_in(app)
    assert patch_status(client, report, csrf, Referer=f"{EVIL}/page").status_code == 403
    assert status_of(app, report) == "open"
    assert patch_status(client, report, csrf, Referer="http://localhost/zones/bell-foundry/repairs").status_code == 200
    assert client.patch(f"/api/zones/{ZONE}/lights/{report['id']}", json={"status": "in-progress"}).status_code == 400


def test_the_residents_report_form_from_another_site_stores_nothing(app):
    client = app.test_client()
    csrf = client.get("/report/token").get_json()["csrf_token"]  # the session cookie now holds the form's token
    lon, lat = INSIDE[ZONE]
    form = {"csrf_token": csrf, "kind": "light", "category": "out", "lon": str(lon), "lat": str(lat)}
    refused = client.post("/report", data=form, headers={"Origin": EVIL, "Accept": "application/json"})
    assert refused.status_code == 403
    assert app.test_client().get(f"/api/zones/{ZONE}/lights.geojson").get_json()["features"] == []
    assert client.post("/report", data=form, headers={"Origin": "http://localhost",
                                                      "Accept": "application/json"}).status_code == 201


def test_public_url_is_this_site_too(data_dir, token, report):
    app = make_app(data_dir, PUBLIC_URL=SITE)
    client, csrf = signed_in(app)
    assert patch_status(client, report, csrf, Origin=SITE).status_code == 200
    assert patch_status(client, report, csrf, Origin="https://zones.example.gov.uk.evil.example").status_code == 403


def test_bearer_clients_need_no_origin(app, token, report):
    bearer = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.patch(f"/api/zones/{ZONE}/lights/{report['id']}", json={"status": "confirmed"},
                        headers=bearer).status_code == 200
    # A machine client's Origin, whatever it is, gives its token no less and no more.
    assert client.patch(f"/api/zones/{ZONE}/lights/{report['id']}", json={"priority": "short"},
                        headers={**bearer, "Origin": EVIL}).status_code == 200


def test_an_anonymous_api_post_carries_no_cookie_authority_and_is_not_checked(app):
    assert app.test_client().post("/api/reports", json=light(ZONE), headers={"Origin": EVIL}).status_code == 201
    with_cookie = app.test_client()
    with_cookie.get("/report/token")  # now it has a session cookie
    answer = with_cookie.post("/api/reports", json=light(ZONE), headers={"Origin": EVIL})
    assert answer.status_code == 403
    assert len(app.test_client().get(f"/api/zones/{ZONE}/lights.geojson").get_json()["features"]) == 1


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


def test_in_chromium_this_sites_forms_pass_and_a_sibling_origin_with_the_token_is_refused(app, token, page,
                                                                                         data_dir):
    """Real Chromium, whose Origin header follows each page's Referrer-Policy: the reset link's page (no-referrer,
    so its form posts Origin: null), sign-in, and a password change on /account all work; then a page on another
    port of 127.0.0.1 (same site: the Lax cookie goes along) posts "revoke this token" with a leaked CSRF token."""
    from flask import Flask

    reset_to, changed_to = NEW_PASSWORD, "a third password for alice"
    with serving(app) as site:
        page.goto(f"{site}/password-reset/{Accounts(data_dir).new_reset('alice')}")
        page.locator("#password").fill(reset_to)
        page.locator("#confirm").fill(reset_to)
        with page.expect_navigation():
            page.get_by_role("button", name="Set the new password").click()
        assert page.url == f"{site}/login", page.content()
        page.get_by_label("Name").fill("alice")
        page.get_by_label("Password").fill(reset_to)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        assert page.url == f"{site}/"
        page.goto(f"{site}/account")
        password_form = page.locator("form[action='/account/password']")
        password_form.locator("input[name=current_password]").fill(reset_to)
        password_form.locator("input[name=password]").fill(changed_to)
        password_form.locator("input[name=confirm]").fill(changed_to)
        with page.expect_navigation():
            password_form.get_by_role("button").click()
        assert page.url == f"{site}/account" and "Your password has been changed" in page.content()
        assert Accounts(data_dir).authenticate("alice", changed_to) is not None

        leaked = re.search(r'name="csrf_token" value="([^"]+)"', page.content()).group(1)
        token_id = accounts_module.token_id(token)
        sibling = Flask("sibling")
        sibling.add_url_rule("/", "attack", lambda: (
            f'<form method="post" action="{site}/account/tokens/{token_id}/revoke">'
            f'<input type="hidden" name="csrf_token" value="{leaked}"><button>Win a prize</button></form>'))
        with serving(sibling, "sibling") as other:
            assert other != site
            page.goto(other)
            with page.expect_navigation():
                page.get_by_role("button", name="Win a prize").click()
            assert "another site" in page.content()
        assert [entry.id for entry in Accounts(data_dir).get("alice").token_list] == [token_id]
        page.goto(f"{site}/account")  # still signed in, and its own form still works
        with page.expect_navigation():
            page.get_by_role("button", name=f"Revoke the token {token_id}").click()
        assert Accounts(data_dir).get("alice").token_list == []
