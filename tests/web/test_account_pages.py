"""Forgot your password? (a reset link through a real SMTP server), Your account (password change, other sessions,
API tokens), and what a deleted account's session and tokens get."""

import hashlib
import json
import logging
import re
from datetime import timedelta

import pytest

import mapper.accounts as accounts_module
from mapper import create_app
from mapper.accounts import Accounts, utcnow
from tests.smtp import inbox  # noqa: F401  (a fixture)

PASSWORD = "correct horse battery"
NEW_PASSWORD = "a much longer new password"
SITE = "https://zones.example.gov.uk"
PRIVATE = "/api/zones/bell-foundry/lights/nothing/private"  # an officer route: 401 signed out, 404 signed in
LINK = re.compile(re.escape(SITE) + r"(/password-reset/[A-Za-z0-9_-]{43})\s")


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    """scrypt with a small work factor: still scrypt, still checked, but milliseconds instead of 150 ms a hash."""
    monkeypatch.setattr(accounts_module, "PASSWORD_METHOD", "scrypt:1024:8:1")


def make_app(data_dir, **settings):
    return create_app({"DATA_DIR": data_dir, "TESTING": True, "WTF_CSRF_ENABLED": True, "SMTP_STARTTLS": False,
                       "SMTP_FROM": "People Zones <no-reply@people-zones.example>", **settings})


@pytest.fixture
def app(data_dir, inbox):
    return make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=inbox[1], PUBLIC_URL=SITE)


@pytest.fixture
def accounts(app, data_dir):
    accounts = Accounts(data_dir)
    accounts.add("alice", "officer", ["bell-foundry"], PASSWORD, email="alice@council.example")
    accounts.add("bob", "officer", ["bell-foundry"], PASSWORD)  # no email
    return accounts


def csrf_of(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def sign_in(client, name="alice", password=PASSWORD):
    return client.post("/login", data={"csrf_token": csrf_of(client, "/login"), "name": name, "password": password})


def ask_for_reset(client, identifier):
    return client.post("/password-reset", data={"csrf_token": csrf_of(client, "/password-reset"),
                                                 "identifier": identifier})


def delivered(app, inbox):
    """The messages that arrived once every queued reset request has been handled."""
    app.extensions["reset_mailer"].wait()
    return inbox[0].messages


def set_new_password(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"csrf_token": csrf_of(client, "/password-reset"), "password": password,
                                   "confirm": password if confirm is None else confirm})


# -- forgot your password? -----------------------------------------------------------------------------------------


def test_the_sign_in_page_links_to_forgot_your_password(client):
    page = client.get("/login").get_data(as_text=True)
    assert 'href="/password-reset"' in page and "Forgot your password?" in page


def test_a_reset_link_is_emailed_and_works_once(app, accounts, inbox, data_dir):
    client = app.test_client()
    response = ask_for_reset(client, "alice")
    assert response.status_code == 303 and response.headers["Location"] == "/password-reset/sent"
    assert "Check your email" in client.get("/password-reset/sent").get_data(as_text=True)
    [message] = delivered(app, inbox)
    assert inbox[0].envelopes[0].rcpt_tos == ["alice@council.example"]
    assert message["To"] == "alice@council.example" and "alice" in message["Subject"]
    assert message.get_content_type() == "text/plain"
    path = LINK.search(message.get_content()).group(1)
    token = path.rsplit("/", 1)[1]
    stored = (data_dir / "_private" / "users.json").read_text()
    assert token not in stored and hashlib.sha256(token.encode()).hexdigest() in stored

    form = client.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    assert form.headers["Referrer-Policy"] == "no-referrer" and form.headers["Cache-Control"] == "no-store"
    assert client.get(path).status_code == 200  # opening the link (a mail scanner may) does not use it up
    done = set_new_password(client, path)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Your password has been changed" in client.get("/login").get_data(as_text=True)
    assert sign_in(client, "alice", PASSWORD).status_code == 401
    assert sign_in(client, "alice", NEW_PASSWORD).status_code == 303

    again = client.get(path)
    assert again.status_code == 410 and "used already" in again.get_data(as_text=True)
    other = app.test_client()
    reused = set_new_password(other, path, "yet another password!")
    assert reused.status_code == 410
    assert Accounts(data_dir).authenticate("alice", NEW_PASSWORD) is not None


def test_the_email_address_finds_the_account_whatever_its_case(app, accounts, inbox):
    ask_for_reset(app.test_client(), "  Alice@Council.EXAMPLE ")
    [message] = delivered(app, inbox)
    assert message["To"] == "alice@council.example"


def test_the_answer_is_the_same_for_any_name(app, accounts, inbox):
    """Known with an email, known without one, unknown name, unknown address: one answer, byte for byte."""
    answers = []
    for identifier in ("alice", "bob", "mallory", "mallory@example.org"):
        response = ask_for_reset(app.test_client(), identifier)
        headers = sorted((key, value) for key, value in response.headers.items() if key != "Date")
        answers.append((response.status_code, headers, response.get_data()))
    assert all(answer == answers[0] for answer in answers)
    assert answers[0][0] == 303 and not any(key == "Set-Cookie" for key, _ in answers[0][1])
    assert [message["To"] for message in delivered(app, inbox)] == ["alice@council.example"]


def test_reset_requests_are_throttled_per_name_and_per_address(app, accounts, inbox):
    client = app.test_client()
    for _ in range(3):
        assert ask_for_reset(client, "mallory").status_code == 303
    throttled = ask_for_reset(client, "mallory")
    assert throttled.status_code == 429 and "Too many password reset requests" in throttled.get_data(as_text=True)
    for _ in range(3):
        assert ask_for_reset(client, "alice").status_code == 303
    assert ask_for_reset(client, "alice").status_code == 429  # known names are throttled the same way
    for name in ("a1", "a2", "a3", "a4"):
        assert ask_for_reset(client, name).status_code == 303
    assert ask_for_reset(client, "a5").status_code == 429  # ten from one address in an hour
    assert len(delivered(app, inbox)) == 3


def test_an_expired_link_is_refused_and_an_unknown_one_is_not_found(app, accounts, data_dir):
    client = app.test_client()
    old = accounts.new_reset("alice", now=utcnow() - timedelta(minutes=61))
    fresh = accounts.new_reset("alice", now=utcnow() - timedelta(minutes=59))
    expired = client.get(f"/password-reset/{old}")
    assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    assert 'href="/password-reset"' in expired.get_data(as_text=True)  # ask for a new one
    assert set_new_password(client, f"/password-reset/{old}").status_code == 410
    assert Accounts(data_dir).authenticate("alice", PASSWORD) is not None
    for bad in ("x" * 43, "x", "y" * 500):
        unknown = client.get(f"/password-reset/{bad}")
        assert unknown.status_code == 404 and "not one we sent" in unknown.get_data(as_text=True)
    assert client.get(f"/password-reset/{fresh}").status_code == 200


def test_using_one_link_ends_the_others_and_the_sessions(app, accounts):
    first, second = accounts.new_reset("alice"), accounts.new_reset("alice")
    signed_in = app.test_client()
    assert sign_in(signed_in).status_code == 303
    assert signed_in.get(PRIVATE).status_code == 404
    client = app.test_client()
    assert set_new_password(client, f"/password-reset/{second}").status_code == 303
    assert client.get(f"/password-reset/{first}").status_code == 410
    assert signed_in.get(PRIVATE).status_code == 401


def test_a_new_password_follows_the_rules_and_a_refusal_leaves_the_link_usable(app, accounts, data_dir):
    client = app.test_client()
    path = f"/password-reset/{accounts.new_reset('alice')}"
    short = set_new_password(client, path, "short")
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    mismatch = set_new_password(client, path, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert mismatch.status_code == 422 and "not the same" in mismatch.get_data(as_text=True)
    assert Accounts(data_dir).authenticate("alice", PASSWORD) is not None
    assert set_new_password(client, path).status_code == 303


def test_forms_need_their_csrf_token(app, accounts, data_dir):
    client = app.test_client()
    assert client.post("/password-reset", data={"identifier": "alice"}).status_code == 400
    path = f"/password-reset/{accounts.new_reset('alice')}"
    assert client.post(path, data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 400
    sign_in(client)
    token_id = accounts_module.token_id(accounts.new_token("alice"))
    assert client.post("/account/password", data={"current_password": PASSWORD, "password": NEW_PASSWORD,
                                                   "confirm": NEW_PASSWORD}).status_code == 400
    assert client.post(f"/account/tokens/{token_id}/revoke").status_code == 400
    assert client.post("/account/sessions/end-others").status_code == 400
    after = Accounts(data_dir).get("alice")
    assert len(after.tokens) == 1 and Accounts(data_dir).authenticate("alice", PASSWORD) is not None
    assert client.get(path).status_code == 200


def test_no_link_is_built_from_an_unchecked_host_header(data_dir, inbox, caplog):
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=inbox[1])  # no PUBLIC_URL, no TRUSTED_HOSTS
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD, email="alice@council.example")
    client = app.test_client()
    token = csrf_of(client, "http://evil.example/password-reset")
    with caplog.at_level(logging.WARNING, logger="mapper"):
        response = client.post("http://evil.example/password-reset", data={"csrf_token": token,
                                                                          "identifier": "alice"})
        app.extensions["reset_mailer"].wait()
    assert response.status_code == 303 and inbox[0].envelopes == []
    assert any("no PUBLIC_URL" in record.getMessage() for record in caplog.records)


def test_trusted_hosts_let_the_request_name_the_site(data_dir, inbox):
    app = make_app(data_dir, SMTP_HOST="127.0.0.1", SMTP_PORT=inbox[1], TRUSTED_HOSTS=["zones.example.org"])
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD, email="alice@council.example")
    client = app.test_client()
    token = csrf_of(client, "http://zones.example.org/password-reset")
    client.post("http://zones.example.org/password-reset", data={"csrf_token": token, "identifier": "alice"})
    [message] = delivered(app, inbox)
    assert "http://zones.example.org/password-reset/" in message.get_content()


# -- your account --------------------------------------------------------------------------------------------------


def test_your_account_needs_a_session(app, accounts):
    client = app.test_client()
    response = client.get("/account")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/account"
    token = accounts.new_token("alice")
    answer = client.get("/account", headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"


def test_your_account_lists_tokens_without_their_secrets(app, accounts, data_dir):
    token = accounts.new_token("alice", label="Confirm works system <script>alert(1)</script>")
    accounts.new_token("bob", label="Bob's script")
    client = app.test_client()
    sign_in(client)
    page = client.get("/account")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert "alice@council.example" in body and "bell-foundry" in body
    assert accounts_module.token_id(token) in body and "Confirm works system &lt;script&gt;" in body
    digest = hashlib.sha256(token.encode()).hexdigest()
    assert token not in body and digest not in body and "<script>alert" not in body
    assert "Bob&#39;s script" not in body and "Bob's script" not in body
    assert "never" in body  # not used yet
    assert client.get(PRIVATE, headers={"Authorization": f"Bearer {token}"}).status_code == 404
    [entry] = json.loads((data_dir / "_private" / "users.json").read_text())["users"][0]["tokens"]
    assert entry["last_used"][:13] == utcnow().isoformat()[:13]
    assert entry["last_used"][:16].replace("T", " ") in client.get("/account").get_data(as_text=True)


def test_a_revoked_token_gets_401_at_once(app, accounts):
    kept, revoked = accounts.new_token("alice", label="kept"), accounts.new_token("alice", label="old")
    client = app.test_client()
    sign_in(client)
    token_id = accounts_module.token_id(revoked)
    response = client.post(f"/account/tokens/{token_id}/revoke",
                           data={"csrf_token": csrf_of(client, "/account")})
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    page = client.get("/account").get_data(as_text=True)
    assert f"The API token {token_id} has been revoked." in page and token_id not in page.split("</h2>", 3)[-1]
    answer = app.test_client().get(PRIVATE, headers={"Authorization": f"Bearer {revoked}"})
    assert answer.status_code == 401 and answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert app.test_client().get(PRIVATE, headers={"Authorization": f"Bearer {kept}"}).status_code == 404


def test_another_accounts_token_cannot_be_revoked(app, accounts):
    bobs = accounts.new_token("bob")
    client = app.test_client()
    sign_in(client)
    response = client.post(f"/account/tokens/{accounts_module.token_id(bobs)}/revoke",
                           data={"csrf_token": csrf_of(client, "/account")})
    assert response.status_code == 404
    assert app.test_client().get(PRIVATE, headers={"Authorization": f"Bearer {bobs}"}).status_code == 404


def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return client.post("/account/password", data={"csrf_token": csrf_of(client, "/account"),
                                                  "current_password": current, "password": new,
                                                  "confirm": new if confirm is None else confirm})


def test_a_password_change_ends_the_other_sessions_but_not_this_one(app, accounts, data_dir):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here), sign_in(elsewhere)
    outstanding = accounts.new_reset("alice")
    response = change_password(here)
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert "Your password has been changed" in here.get("/account").get_data(as_text=True)
    assert here.get(PRIVATE).status_code == 404
    assert elsewhere.get(PRIVATE).status_code == 401
    gone = elsewhere.get("/account")
    assert gone.status_code == 302 and gone.headers["Location"].startswith("/login")
    assert Accounts(data_dir).authenticate("alice", NEW_PASSWORD) is not None
    assert app.test_client().get(f"/password-reset/{outstanding}").status_code == 410


def test_a_password_change_needs_the_current_password_and_the_rules(app, accounts, data_dir):
    client = app.test_client()
    sign_in(client)
    wrong = change_password(client, current="not my password")
    assert wrong.status_code == 403 and "current password is not right" in wrong.get_data(as_text=True)
    short = change_password(client, new="short")
    assert short.status_code == 422 and "at least 10 characters" in short.get_data(as_text=True)
    mismatch = change_password(client, confirm="something else entirely")
    assert mismatch.status_code == 422
    assert Accounts(data_dir).authenticate("alice", PASSWORD) is not None
    assert client.get(PRIVATE).status_code == 404  # still signed in


def test_wrong_current_passwords_are_throttled(app, accounts):
    client = app.test_client()
    sign_in(client)
    for _ in range(5):
        assert change_password(client, current="not my password").status_code == 403
    assert change_password(client).status_code == 429


def test_sign_out_my_other_sessions(app, accounts):
    here, elsewhere = app.test_client(), app.test_client()
    sign_in(here), sign_in(elsewhere)
    response = here.post("/account/sessions/end-others", data={"csrf_token": csrf_of(here, "/account")})
    assert response.status_code == 303
    assert here.get(PRIVATE).status_code == 404 and elsewhere.get(PRIVATE).status_code == 401
    assert sign_in(elsewhere).status_code == 303 and elsewhere.get(PRIVATE).status_code == 404


def test_a_deleted_accounts_session_and_tokens_stop_at_once(app, accounts):
    token = accounts.new_token("alice")
    client = app.test_client()
    sign_in(client)
    assert client.get(PRIVATE).status_code == 404
    accounts.delete("alice")
    assert client.get(PRIVATE).status_code == 401
    page = client.get("/account")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    answer = app.test_client().get(PRIVATE, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "unauthorized"
    assert sign_in(app.test_client()).status_code == 401


def test_every_page_header_links_a_signed_in_account_to_its_page_and_to_sign_out(app, accounts):
    client = app.test_client()
    assert "/account" not in client.get("/report").get_data(as_text=True)
    sign_in(client)
    header = client.get("/report").get_data(as_text=True).split("</header>")[0]
    assert 'href="/account"' in header and "Your account (alice)" in header and 'href="/logout"' in header


def test_your_account_lists_the_pages_you_work_from_in_your_zones(app, accounts):
    accounts.add("pat", "probation", ["new-parks"], PASSWORD)
    client = app.test_client()
    sign_in(client)  # alice: an officer
    page = client.get("/account").get_data(as_text=True).split('id="your-work"')[1].split("<h2")[0]
    assert 'href="/zones/bell-foundry/repairs"' in page and 'href="/zones/bell-foundry/moderation"' in page
    assert "new-parks" not in page  # not alice's zone
    for path in ("/zones/bell-foundry/repairs", "/zones/bell-foundry/moderation",
                 "/zones/bell-foundry/community-payback"):
        assert client.get(path).status_code == 200
    probation = app.test_client()
    sign_in(probation, "pat")
    page = probation.get("/account").get_data(as_text=True).split('id="your-work"')[1].split("<h2")[0]
    assert 'href="/zones/new-parks/community-payback"' in page and "/repairs" not in page
    for path in re.findall(r'href="(/zones/[^"]+)"', page):  # every page offered opens for this role
        assert probation.get(path).status_code == 200, path
