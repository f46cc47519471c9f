"""Keep it closed: cross-site request forgery on every write (issue #11, "Keep it closed").

Generated from the app's URL map: every rule that takes POST, PUT, PATCH or DELETE is sent what a cross-site page
can make a signed-in administrator's browser send (the session cookie; a form, multipart or text/plain body; no
custom header; a foreign ``Origin``), without a CSRF token, with a made-up one, and with a real token of another
session. Every attempt is refused (400, 403, or 415 where only JSON is taken) and stores nothing: every file of the
store is byte-for-byte the same, and the accounts file keeps every password, token, session and reset.
"""

import hashlib
import json

import pytest

from tests.adversarial.conftest import WRITES, ZONE, fill, real_values, rules, signed_in
from tests.web.test_access_control import ACCOUNT_ROUTES, PUBLIC_ROUTES, STAFF_ROUTES

WRITE_RULES = [(rule, endpoint, [m for m in methods if m in WRITES]) for rule, endpoint, methods in rules()
               if set(methods) & set(WRITES)]
REFUSED = (400, 403, 415)
EVIL = "https://attacker.example"


def store_snapshot(data_dir):
    """SHA-256 of every file of the store but the accounts file (compared by :func:`accounts_snapshot`) and lock
    files (a read may record its intent there)."""
    return {str(path.relative_to(data_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(data_dir.rglob("*")) if path.is_file() and path.name != "users.json"
            and not path.name.endswith(".lock")}


def accounts_snapshot(data_dir):
    """What a forged write could change in the accounts file: passwords, session keys, tokens, resets, sessions and
    emails (not when a token or session was last used: reading may record that)."""
    document = json.loads((data_dir / "_private" / "users.json").read_text())
    moments = ("last_used", "last_seen", "seen", "used")
    return [{**{key: user.get(key) for key in ("name", "role", "zones", "email", "password_hash", "session_key")},
             "tokens": sorted(token["sha256"] for token in user.get("tokens", [])),
             "resets": [{k: v for k, v in reset.items() if k not in moments} for reset in user.get("resets", [])],
             "sessions": [{k: v for k, v in session.items() if k not in moments}
                          for session in user.get("sessions", [])]}
            for user in document["users"]]


def bodies(endpoint, method, values):
    """The legitimate body of this request (from the access-control table) as a cross-site page can send it."""
    table = STAFF_ROUTES.get(endpoint) or ACCOUNT_ROUTES.get(endpoint) or PUBLIC_ROUTES.get(endpoint)
    fields = {"id": values["feature_id"], "action": "hide", "status": "fixed", "priority": "short", "reason": "x",
              "password": "a new password 123", "confirm": "a new password 123", "current_password": "whatever",
              "report": values["feature_id"], "check": "1", "name": "admin", "identifier": "admin",
              "kind": "light", "category": "out", "lon": "-1.195", "lat": "52.77"}
    if table and table[0] == method and isinstance(table[2].get("data"), dict):
        fields.update({key: value.format(id=values["feature_id"]) for key, value in table[2]["data"].items()})
    if table and table[0] == method and isinstance(table[2].get("json"), dict):
        fields.update({key: str(value) for key, value in table[2]["json"].items()})
    as_json = json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.195, 52.77]},
                          "properties": {"category": "out"}, **fields})
    return [{"data": fields},  # application/x-www-form-urlencoded
            {"data": {**fields, "file": (__import__("io").BytesIO(b"<gpx/>"), "walk.gpx")},
             "content_type": "multipart/form-data"},
            {"data": as_json, "content_type": "text/plain"}]


@pytest.fixture(scope="module")
def other_session_token(world):
    """A real CSRF token, of another (anonymous) browser's session."""
    return world.client().get("/report/token").get_json()["csrf_token"]


@pytest.mark.parametrize("rule,endpoint,methods", WRITE_RULES, ids=[f"{r[1]}:{r[0]}" for r in WRITE_RULES])
def test_every_cookie_write_needs_its_token(world, other_session_token, rule, endpoint, methods):
    session = signed_in(world, "admin")
    values = real_values(world, ZONE, rule)
    url = fill(rule, values)
    wrong = []
    store_before, accounts_before = store_snapshot(world.data_dir), accounts_snapshot(world.data_dir)
    for method in methods:
        for token in (None, "made-up-token", other_session_token):
            for options in bodies(endpoint, method, values):
                if token is not None and isinstance(options["data"], dict):
                    options = {**options, "data": {**options["data"], "csrf_token": token}}
                answer = session.open(url, method=method, headers={"Origin": EVIL, "Referer": f"{EVIL}/page"},
                                      **options)
                if answer.status_code not in REFUSED:
                    wrong.append(f"{method} {url} token={token} {options.get('content_type', 'form')}: "
                                 f"{answer.status_code}")
    if store_snapshot(world.data_dir) != store_before:
        wrong.append(f"{rule}: the store changed")
    if accounts_snapshot(world.data_dir) != accounts_before:
        wrong.append(f"{rule}: the accounts file changed")
    # the session itself is still signed in (a forged sign-out or password change did nothing)
    if session.get("/account").status_code != 200:
        wrong.append(f"{rule}: the session was signed out")
    assert not wrong, "\n".join(wrong)


def test_the_sweep_sees_a_write_that_goes_through(world):
    """The snapshots notice a real write: the same session with its token changes a report."""
    session = signed_in(world, "admin")
    page = session.get(f"/zones/{ZONE}/repairs").get_data(as_text=True)
    from tests.adversarial.conftest import csrf_token_of

    before = store_snapshot(world.data_dir)
    answer = session.post(f"/zones/{ZONE}/repairs/change", data={
        "csrf_token": csrf_token_of(page), "id": world.features[f"light-{ZONE}"]["id"], "priority": "medium"})
    assert answer.status_code == 200
    assert store_snapshot(world.data_dir) != before
