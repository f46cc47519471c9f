"""Accounts: hashed passwords, hashed tokens, the users CLI, sign-in and its throttle."""

import hashlib
import json
import re
import stat

import pytest
from click.testing import CliRunner

from mapper.accounts import Accounts
from mapper.cli import main

PASSWORD = "correct horse battery"


@pytest.fixture
def users(data_dir):
    def run(*args, input=None):
        return CliRunner().invoke(main, ["users", *args, "--data", str(data_dir)], input=input)
    return run


def test_password_is_stored_hashed_with_scrypt_in_a_private_file(users, data_dir):
    result = users("add", "alice", "--role", "officer", "--zones", "bell-foundry,new-parks", "--password", PASSWORD)
    assert result.exit_code == 0, result.output
    assert result.output == "Added officer alice (bell-foundry, new-parks).\n"
    path = data_dir / "_private" / "users.json"
    text = path.read_text()
    assert PASSWORD not in text
    [entry] = json.loads(text)["users"]
    assert entry["password_hash"].startswith("scrypt:") and entry["zones"] == ["bell-foundry", "new-parks"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    accounts = Accounts(data_dir)
    assert accounts.authenticate("alice", PASSWORD).name == "alice"
    assert accounts.authenticate("alice", PASSWORD + "x") is None
    assert accounts.authenticate("mallory", PASSWORD) is None


def test_password_from_a_prompt_and_refusals(users):
    assert users("add", "bob", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n").exit_code == 0
    assert "bob  admin  *  0 tokens" in users("list").output
    short = users("add", "carol", "--role", "officer", "--zones", "new-parks", "--password", "short")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    nozone = users("add", "carol", "--role", "officer", "--password", PASSWORD)
    assert nozone.exit_code == 2 and "needs at least one zone" in nozone.output
    unknown = users("add", "carol", "--role", "officer", "--zones", "atlantis", "--password", PASSWORD)
    assert unknown.exit_code == 2 and "atlantis" in unknown.output
    again = users("add", "bob", "--role", "admin", "--password", PASSWORD)
    assert again.exit_code == 2 and "exists already" in again.output


def test_token_is_printed_once_and_stored_as_sha256(users, data_dir):
    users("add", "robot", "--role", "officer", "--zones", "new-parks", "--no-password")
    result = users("token", "robot")
    assert result.exit_code == 0, result.output
    token = result.stdout.strip()
    assert re.fullmatch(r"mpr_[A-Za-z0-9_-]{43}", token)
    text = (data_dir / "_private" / "users.json").read_text()
    assert token not in text and hashlib.sha256(token.encode()).hexdigest() in text
    accounts = Accounts(data_dir)
    assert accounts.for_token(token).name == "robot"
    assert accounts.for_token(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    assert accounts.authenticate("robot", "") is None  # a token-only account cannot sign in
    assert users("token", "nobody").exit_code == 2


def sign_in(client, name, password, **fields):
    return client.post("/login", data={"csrf_token": csrf_of(client), "name": name, "password": password, **fields})


def csrf_of(client, path="/login"):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


@pytest.fixture
def csrf_app(data_dir):
    from mapper import create_app

    app = create_app({"DATA_DIR": data_dir, "TESTING": True, "WTF_CSRF_ENABLED": True})
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD)
    return app


def test_login_sets_an_httponly_lax_cookie_and_logout_ends_it(csrf_app):
    client = csrf_app.test_client()
    token = csrf_of(client)
    response = client.post("/login", data={"csrf_token": token, "name": "alice", "password": PASSWORD,
                                           "next": "/r/XX-00000"})
    assert response.status_code == 303 and response.headers["Location"] == "/r/XX-00000"
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    assert client.get("/api/zones/bell-foundry/lights/nothing/private").status_code == 404  # signed in: past 401
    client.post("/logout", data={"csrf_token": csrf_of(client, "/logout")})
    assert client.get("/api/zones/bell-foundry/lights/nothing/private").status_code == 401


def test_login_without_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    assert client.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 400


def test_cookie_is_secure_over_https(csrf_app):
    client = csrf_app.test_client()
    token = csrf_of(client)
    response = client.post("/login", base_url="https://localhost", headers={"Referer": "https://localhost/login"},
                           data={"csrf_token": token, "name": "alice", "password": PASSWORD})
    assert response.status_code == 303 and "Secure" in response.headers["Set-Cookie"]


def test_next_cannot_leave_the_site(client, data_dir):
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD)
    response = sign_in(client, "alice", PASSWORD, next="//evil.example/x")
    assert response.status_code == 303 and response.headers["Location"] == "/"


def test_failed_logins_are_throttled_per_address_and_name(client, data_dir):
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD)
    for _ in range(5):
        assert sign_in(client, "alice", "wrong password").status_code == 401
    throttled = sign_in(client, "alice", PASSWORD)
    assert throttled.status_code == 429 and "Too many failed sign-ins" in throttled.get_data(as_text=True)
    # Another name from the same address is judged on its own.
    Accounts(data_dir).add("bob", "admin", (), PASSWORD)
    assert sign_in(client, "bob", PASSWORD).status_code == 303


def test_successful_logins_are_not_counted(client, data_dir):
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD)
    for _ in range(7):
        assert sign_in(client, "alice", PASSWORD).status_code == 303


# -- email, tokens, passwords, deletion and reset links from the command line ---------------------------------------


@pytest.fixture
def cheap_hashes(monkeypatch):
    """scrypt with a small work factor for the tests below: the same code path, milliseconds a hash."""
    import mapper.accounts

    monkeypatch.setattr(mapper.accounts, "PASSWORD_METHOD", "scrypt:1024:8:1")


@pytest.fixture
def alice(users, cheap_hashes):
    result = users("add", "alice", "--role", "officer", "--zones", "bell-foundry", "--password", PASSWORD,
                   "--email", "alice@council.example")
    assert result.exit_code == 0, result.output


def test_an_account_has_an_optional_checked_email(users, alice, data_dir):
    assert Accounts(data_dir).get("alice").email == "alice@council.example"
    assert "alice  officer  bell-foundry  0 tokens  alice@council.example" in users("list").output
    bad = users("add", "bob", "--role", "admin", "--password", PASSWORD, "--email", "bob@example.org\nBcc: x@y.z")
    assert bad.exit_code == 2 and "not an email address we can send to" in bad.output
    assert Accounts(data_dir).get("bob") is None
    assert users("email", "alice", "alice.new@council.example").output == \
        "alice: reset links go to alice.new@council.example.\n"
    assert users("email", "alice", "--remove").output == "alice: no email address.\n"
    assert Accounts(data_dir).get("alice").email == ""
    assert users("email", "alice").exit_code == 2
    assert users("email", "nobody", "a@example.org").exit_code == 2


def test_tokens_are_labelled_listed_and_revoked_by_id(users, alice, data_dir):
    first = users("token", "alice", "--label", "Confirm works system")
    second = users("token", "alice")
    tokens = [first.stdout.strip(), second.stdout.strip()]
    ids = [hashlib.sha256(token.encode()).hexdigest()[:8] for token in tokens]
    assert f"Its id is {ids[0]}" in first.stderr
    listing = users("tokens", "alice")
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert [line.split("  ")[0] for line in lines] == ids
    assert lines[0].endswith("  never used  Confirm works system") and tokens[0] not in listing.output
    assert users("revoke-token", "alice", ids[0]).output == f"Revoked token {ids[0]} of alice.\n"
    accounts = Accounts(data_dir)
    assert accounts.for_token(tokens[0]) is None and accounts.for_token(tokens[1]).name == "alice"
    unknown = users("revoke-token", "alice", ids[0])
    assert unknown.exit_code == 2 and f"no API token with the id '{ids[0]}'" in unknown.output
    assert users("revoke-token", "alice").exit_code == 2  # neither an id nor --all
    users("token", "alice")
    assert users("revoke-token", "alice", "--all").output == "Revoked 2 tokens of alice.\n"
    assert Accounts(data_dir).get("alice").tokens == ()
    assert users("tokens", "nobody").exit_code == 2
    long_label = users("token", "alice", "--label", "x" * 101)
    assert long_label.exit_code == 2 and "at most 100" in long_label.output


def test_last_used_is_written_at_most_once_an_hour(alice, data_dir):
    from datetime import timedelta

    from mapper.accounts import utcnow

    accounts = Accounts(data_dir)
    token = accounts.new_token("alice")
    now = utcnow()
    accounts.record_token_use(token, now=now)
    stamp = accounts.get("alice").token_list[0].last_used
    assert stamp.startswith(now.isoformat()[:19])
    mtime = accounts.path.stat().st_mtime_ns
    accounts.record_token_use(token, now=now + timedelta(minutes=59))
    assert accounts.path.stat().st_mtime_ns == mtime and accounts.get("alice").token_list[0].last_used == stamp
    accounts.record_token_use(token, now=now + timedelta(minutes=61))
    assert accounts.get("alice").token_list[0].last_used > stamp


def test_password_is_set_from_a_prompt_and_ends_sessions(users, alice, data_dir):
    before = Accounts(data_dir).get("alice")
    result = users("password", "alice", input="a brand new password\na brand new password\n")
    assert result.exit_code == 0, result.output
    assert "a brand new password" not in result.output  # no echo
    accounts = Accounts(data_dir)
    assert accounts.authenticate("alice", "a brand new password") is not None
    assert accounts.authenticate("alice", PASSWORD) is None
    assert accounts.for_session(before.session_id) is None
    assert accounts.for_session(accounts.get("alice").session_id).name == "alice"
    short = users("password", "alice", input="short\nshort\n")
    assert short.exit_code == 2 and "at least 10 characters" in short.output
    assert users("password", "nobody", input="").exit_code == 2


def test_delete_asks_first_and_the_name_stays_taken(users, alice, data_dir):
    token = users("token", "alice").stdout.strip()
    declined = users("delete", "alice", input="n\n")
    assert declined.exit_code == 1 and "Delete the officer account alice and its 1 API token?" in declined.output
    assert Accounts(data_dir).get("alice") is not None
    session_id = Accounts(data_dir).get("alice").session_id
    assert users("delete", "alice", input="y\n").output.endswith("Deleted alice.\n")
    accounts = Accounts(data_dir)
    assert accounts.get("alice") is None and accounts.for_token(token) is None
    assert accounts.for_session(session_id) is None and accounts.authenticate("alice", PASSWORD) is None
    again = users("add", "alice", "--role", "officer", "--zones", "new-parks", "--password", PASSWORD)
    assert again.exit_code == 2 and "was deleted on" in again.output and "choose another name" in again.output
    assert users("delete", "alice", "--yes").exit_code == 2
    users("add", "bob", "--role", "admin", "--password", PASSWORD)
    assert users("delete", "bob", "--yes").output == "Deleted bob.\n"


def test_reset_link_for_an_admin_to_hand_on(users, alice, data_dir, monkeypatch):
    monkeypatch.delenv("MAPPER_PUBLIC_URL", raising=False)
    refused = users("reset-link", "alice")
    assert refused.exit_code == 2 and "--base-url" in refused.output
    result = users("reset-link", "alice", "--base-url", "https://zones.example.gov.uk/")
    assert result.exit_code == 0 and "works once, for an hour" in result.stderr
    link = result.stdout.strip()
    assert re.fullmatch(r"https://zones\.example\.gov\.uk/password-reset/[A-Za-z0-9_-]{43}", link)
    token = link.rsplit("/", 1)[1]
    accounts = Accounts(data_dir)
    assert accounts.check_reset(token).name == "alice"
    monkeypatch.setenv("MAPPER_PUBLIC_URL", "https://maps.council.example")
    assert users("reset-link", "alice").stdout.startswith("https://maps.council.example/password-reset/")
    assert users("reset-link", "nobody").exit_code == 2


def test_a_reset_is_single_use_expires_and_ends_the_others(alice, data_dir):
    from datetime import timedelta

    from mapper.accounts import ResetLinkExpired, ResetLinkInvalid, ResetLinkUsed, utcnow

    accounts = Accounts(data_dir)
    first, second = accounts.new_reset("alice"), accounts.new_reset("alice")
    old = accounts.new_reset("alice", now=utcnow() - timedelta(hours=2))
    with pytest.raises(ResetLinkExpired):
        accounts.reset_password(old, "a brand new password")
    with pytest.raises(ResetLinkInvalid):
        accounts.check_reset("not a token we made at all")
    session_id = accounts.get("alice").session_id
    assert accounts.reset_password(first, "a brand new password").name == "alice"
    assert accounts.for_session(session_id) is None
    for used in (first, second):
        with pytest.raises(ResetLinkUsed):
            accounts.reset_password(used, "another new password")
    assert accounts.authenticate("alice", "a brand new password") is not None
    # Expired links are forgotten when the next one is made; at most five are kept.
    for _ in range(6):
        accounts.new_reset("alice")
    assert len(accounts.get("alice").resets) == 5


def test_an_account_file_from_before_session_keys_still_signs_in(data_dir, cheap_hashes):
    """users.json written by the first version (no email, session key or labels) is read as it is."""
    from werkzeug.security import generate_password_hash

    path = data_dir / "_private" / "users.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"users": [{"name": "old", "role": "admin", "zones": [],
                                           "password_hash": generate_password_hash(PASSWORD, "scrypt:1024:8:1"),
                                           "tokens": [{"sha256": "ab" * 32, "created": "2026-01-01T00:00:00.000Z"}]}]}))
    accounts = Accounts(data_dir)
    account = accounts.get("old")
    assert accounts.authenticate("old", PASSWORD) == account and account.email == ""
    assert accounts.for_session(account.session_id) == account
    assert account.token_list[0].id == "abababab" and account.token_list[0].label == ""
    accounts.set_password("old", "a brand new password")
    assert accounts.for_session(account.session_id) is None
