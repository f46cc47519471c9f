"""The officers' API: 401 without credentials, 403 outside the officer's zones, and the right zone's answers."""

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from mapper.accounts import Accounts
from tests.helpers import light

ZONE, OTHER = "bell-foundry", "new-parks"
PASSWORD = "correct horse battery"


@pytest.fixture
def tokens(data_dir):
    accounts = Accounts(data_dir)
    accounts.add("alice", "officer", [ZONE], PASSWORD)
    accounts.add("boss", "admin", (), PASSWORD)
    return {name: accounts.new_token(name) for name in ("alice", "boss")}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def report(client):
    created = client.post(f"/api/zones/{ZONE}/lights", json=light(ZONE, description="Out since Friday",
                                                                   contact_email="resident@example.org"))
    assert created.status_code == 201
    return created.get_json()


def patch(client, feature, body, token=None, zone=ZONE):
    return client.patch(f"/api/zones/{zone}/lights/{feature['id']}", json=body,
                        headers=bearer(token) if token else {})


def test_every_officer_route_asks_for_credentials_then_the_zone(client, tokens, report):
    for method, suffix in (("patch", ""), ("get", "/private")):
        call = getattr(client, method)
        url = f"/api/zones/{ZONE}/lights/{report['id']}{suffix}"
        body = {"json": {"status": "confirmed"}} if method == "patch" else {}
        nobody = call(url, **body)
        assert nobody.status_code == 401 and nobody.get_json()["error"]["code"] == "unauthorized"
        assert nobody.headers["WWW-Authenticate"].startswith("Bearer")
        assert call(url, headers=bearer("mpr_forged"), **body).status_code == 401
        other = call(f"/api/zones/{OTHER}/lights/{report['id']}{suffix}", headers=bearer(tokens["alice"]), **body)
        assert other.status_code == 403 and "new-parks" in other.get_json()["error"]["message"]
        assert call(url, headers=bearer(tokens["alice"]), **body).status_code == 200
        body = {"json": {"priority": "long"}} if method == "patch" else {}
        assert call(url, headers=bearer(tokens["boss"]), **body).status_code == 200  # admins see every zone


def test_a_page_visitor_without_credentials_is_sent_to_login(client, report):
    response = client.get(f"/api/zones/{ZONE}/lights/{report['id']}/private", headers={"Accept": "text/html"})
    assert response.status_code == 401  # under /api the answer is always JSON
    assert client.get("/login").status_code == 200


def test_patch_keeps_history_with_public_and_internal_notes(client, tokens, report, data_dir):
    response = patch(client, report, {"status": "action-scheduled", "priority": "short",
                                      "public_note": "A crew is booked for Tuesday.",
                                      "internal_note": "Cable fault, call DNO ref 8841"}, tokens["alice"])
    assert response.status_code == 200, response.get_json()
    feature = response.get_json()
    [change] = feature["properties"]["history"]
    assert (change["from"], change["to"], change["by"], change["public_note"], change["internal_note"]) == (
        "open", "action-scheduled", "alice", "A crew is booked for Tuesday.", "Cable fault, call DNO ref 8841")
    assert feature["properties"]["priority"] == "short"
    assert feature["private"]["contact_email"] == "resident@example.org"

    ref = report["properties"]["ref"]
    public_texts = [
        (data_dir / ZONE / "lights.geojson").read_text(),
        client.get(f"/api/zones/{ZONE}/lights.geojson").get_data(as_text=True),
        client.get(f"/api/zones/{ZONE}/lights.csv").get_data(as_text=True),
        client.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_data(as_text=True),
        client.get(f"/r/{ref}").get_data(as_text=True),
        client.get(f"/r/{ref}.json").get_data(as_text=True),
    ]
    for text in public_texts:
        assert "Cable fault" not in text and "alice" not in text and "resident@example.org" not in text
    assert "A crew is booked for Tuesday." in public_texts[4] and "Short term" in public_texts[4]

    private = client.get(f"/api/zones/{ZONE}/lights/{report['id']}/private", headers=bearer(tokens["alice"]))
    assert private.get_json()["properties"]["history"][0]["internal_note"] == "Cable fault, call DNO ref 8841"
    assert private.headers["Cache-Control"] == "no-store"
    # Reading private fields leaves no trace in the public history.
    assert len(client.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]["history"]) == 1


def test_invalid_transition_is_409_naming_the_allowed_ones(client, tokens, report):
    assert patch(client, report, {"status": "fixed"}, tokens["alice"]).status_code == 200
    refused = patch(client, report, {"status": "confirmed"}, tokens["alice"])
    assert refused.status_code == 409
    assert refused.get_json()["error"]["message"].endswith("From 'fixed' it can become: open, in-progress.")


@pytest.mark.parametrize("body, field", [
    ({"status": "mended"}, "status"),
    ({"priority": "urgent"}, "priority"),
    ({"status": "duplicate"}, "duplicate_of"),
    ({"status": "not-responsible"}, "public_note"),
    ({"status": "confirmed", "colour": "red"}, "colour"),
    ({}, "status"),
])
def test_validation_is_422(client, tokens, report, body, field):
    response = patch(client, report, body, tokens["alice"])
    assert response.status_code == 422 and response.get_json()["error"]["field"] == field


def test_duplicate_links_the_report_that_is_kept(client, tokens, report):
    kept = client.post(f"/api/zones/{ZONE}/lights", json=light(ZONE, category="dim")).get_json()
    ref = kept["properties"]["ref"]
    response = patch(client, report, {"status": "duplicate", "duplicate_of": ref}, tokens["alice"])
    assert response.status_code == 200 and response.get_json()["properties"]["duplicate_of"] == ref
    page = client.get(f"/r/{report['properties']['ref']}").get_data(as_text=True)
    assert f'href="/r/{ref}"' in page
    itself = patch(client, kept, {"status": "duplicate", "duplicate_of": ref}, tokens["alice"])
    assert itself.status_code == 422


def test_residents_cannot_set_priority(client):
    response = client.post(f"/api/zones/{ZONE}/lights", json=light(ZONE, priority="short"))
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "priority"


def test_a_session_write_needs_the_csrf_token(client, tokens, report):
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    client.post("/login", data={"csrf_token": token, "name": "alice", "password": PASSWORD})
    assert patch(client, report, {"status": "confirmed"}).status_code == 400
    response = client.patch(f"/api/zones/{ZONE}/lights/{report['id']}", json={"status": "confirmed"},
                            headers={"X-CSRFToken": token})
    assert response.status_code == 200


def fix_days_ago(store, report, days):
    """Move the 'fixed' entry of the history back in time, through the store."""
    def backdate(properties):
        moment = datetime.now(timezone.utc) - timedelta(days=days)
        history = [dict(h) for h in properties["history"]]
        history[-1]["at"] = moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        properties["history"] = history
        return properties
    store.update(ZONE, "lights", report["id"], backdate)


def test_reopen_within_28_days(client, tokens, report, store):
    ref = report["properties"]["ref"]
    patch(client, report, {"status": "fixed", "public_note": "New lamp fitted."}, tokens["alice"])
    fix_days_ago(store, report, 27)
    page = client.get(f"/r/{ref}").get_data(as_text=True)
    assert "Reopen this report" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = client.post(f"/r/{ref}/reopen", data={"csrf_token": token, "reason": "Out again, my phone 0777"})
    assert response.status_code == 303
    stored = store.get(ZONE, "lights", report["id"])["properties"]
    assert stored["status"] == "open" and stored["history"][-1]["from"] == "fixed"
    page = client.get(f"/r/{ref}").get_data(as_text=True)
    assert "Reopened by a resident" in page and "0777" not in page
    private = client.get(f"/api/zones/{ZONE}/lights/{report['id']}/private", headers=bearer(tokens["alice"]))
    last = private.get_json()["properties"]["history"][-1]
    assert (last["by"], last["internal_note"]) == ("resident", "Out again, my phone 0777")


def test_reopen_after_28_days_is_refused_clearly(client, tokens, report, store):
    ref = report["properties"]["ref"]
    patch(client, report, {"status": "fixed"}, tokens["alice"])
    fix_days_ago(store, report, 29)
    page = client.get(f"/r/{ref}").get_data(as_text=True)
    assert "Reopen this report" not in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/report").get_data(as_text=True)).group(1)
    response = client.post(f"/r/{ref}/reopen", data={"csrf_token": token, "reason": "Out again"})
    assert response.status_code == 409
    assert "fixed more than 28 days ago" in response.get_data(as_text=True)
    assert store.get(ZONE, "lights", report["id"])["properties"]["status"] == "fixed"


def test_reopen_needs_a_csrf_token_and_a_reason(client, tokens, report):
    ref = report["properties"]["ref"]
    patch(client, report, {"status": "fixed"}, tokens["alice"])
    assert client.post(f"/r/{ref}/reopen", data={"reason": "x"}).status_code == 400
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/report").get_data(as_text=True)).group(1)
    assert client.post(f"/r/{ref}/reopen", data={"csrf_token": token, "reason": " "}).status_code == 422
