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
