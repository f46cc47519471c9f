"""Issue #11, finding 7: a deployment behind a TLS proxy.

``HTTPS`` (MAPPER_HTTPS) says the public reaches the site over HTTPS: cookies are Secure, links are https.
``PROXY_HOPS`` (MAPPER_PROXY_HOPS) says how many proxies in front append X-Forwarded-For/-Proto: the address the
sign-in throttle and the rate limits count, and the scheme, come from them. With 0 (the default) those headers are
anybody's to send and change nothing.
"""


import pytest
from flask import request, request_started, url_for

import mapper.accounts as accounts_module
from mapper import create_app
from mapper.accounts import Accounts
from mapper.config import load
from tests.helpers import sign_in_form

PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch):
    monkeypatch.setattr(accounts_module, "PASSWORD_METHOD", "scrypt:1024:8:1")


def make_app(data_dir, **settings):
    return create_app({"DATA_DIR": data_dir, "TESTING": True, "WTF_CSRF_ENABLED": True, **settings})


def seen_by(app):
    """What each request looked like to the app: its address, scheme, host and an external URL built in it."""
    seen = []

    def note(sender, **extra):
        seen.append({"remote_addr": request.remote_addr, "scheme": request.scheme, "host": request.host,
                     "external": url_for("pages.index", _external=True)})

    request_started.connect(note, app, weak=False)
    return seen


def session_cookie_header(response):
    [header] = [value for value in response.headers.getlist("Set-Cookie") if value.startswith("session=")]
    return header


def failed_sign_in(client, address_headers):
    return sign_in_form(client, "alice", "not the password", headers=address_headers).status_code


def test_settings_come_from_the_environment_and_are_checked():
    config = load(environ={"MAPPER_PROXY_HOPS": "2", "MAPPER_HTTPS": "true"})
    assert (config["PROXY_HOPS"], config["HTTPS"]) == (2, True)
    assert (load(environ={})["PROXY_HOPS"], load(environ={})["HTTPS"]) == (0, False)
    assert load(environ={"MAPPER_HTTPS": "0"})["HTTPS"] is False
    for bad in ("-1", "two", "1.5"):
        with pytest.raises(ValueError, match="MAPPER_PROXY_HOPS"):
            load(environ={"MAPPER_PROXY_HOPS": bad})
    with pytest.raises(ValueError, match="MAPPER_HTTPS"):
        load(environ={"MAPPER_HTTPS": "perhaps"})


def test_with_https_the_session_cookie_is_secure_httponly_and_lax(data_dir):
    header = session_cookie_header(make_app(data_dir, HTTPS=True).test_client().get("/login"))
    assert "; Secure" in header and "; HttpOnly" in header and "; SameSite=Lax" in header
    plain = session_cookie_header(make_app(data_dir).test_client().get("/login"))
    assert "; Secure" not in plain and "; HttpOnly" in plain and "; SameSite=Lax" in plain


def test_with_https_links_are_https_even_when_the_proxy_does_not_say(data_dir):
    app = make_app(data_dir, HTTPS=True, SERVER_NAME="zones.example.gov.uk")
    with app.app_context():  # outside a request (emails, the CLI): PREFERRED_URL_SCHEME
        assert url_for("pages.index", _external=True) == "https://zones.example.gov.uk/"
    app = make_app(data_dir, HTTPS=True)
    seen = seen_by(app)
    app.test_client().get("/")  # plain HTTP from the proxy, no X-Forwarded-Proto
    assert seen[-1]["scheme"] == "https" and seen[-1]["external"] == "https://localhost/"
    assert app.config["PREFERRED_URL_SCHEME"] == "https" and app.config["REMEMBER_COOKIE_SECURE"]


def test_with_one_proxy_hop_the_address_and_scheme_come_from_the_proxy(data_dir):
    app = make_app(data_dir, PROXY_HOPS=1)
    seen = seen_by(app)
    client = app.test_client()
    # The client's own X-Forwarded-For comes first; the proxy appends the address it saw, which is the one trusted.
    response = client.get("/", headers={"X-Forwarded-For": "6.6.6.6, 203.0.113.7", "X-Forwarded-Proto": "https",
                                        "X-Forwarded-Host": "evil.example"})
    assert response.status_code == 200
    assert seen[-1] == {"remote_addr": "203.0.113.7", "scheme": "https", "host": "localhost",
                        "external": "https://localhost/"}  # the Host header is the proxy's to pass on, not X-F-H
    assert "; Secure" in session_cookie_header(client.get("/login", headers={"X-Forwarded-Proto": "https"}))


def test_with_two_hops_the_second_address_from_the_right_is_the_client(data_dir):
    app = make_app(data_dir, PROXY_HOPS=2)
    seen = seen_by(app)
    app.test_client().get("/", headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.4, 203.0.113.7"})
    assert seen[-1]["remote_addr"] == "198.51.100.4"


def test_by_default_forwarded_headers_change_nothing(data_dir):
    app = make_app(data_dir)
    seen = seen_by(app)
    app.test_client().get("/", headers={"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https",
                                        "X-Forwarded-Host": "evil.example"})
    assert seen[-1] == {"remote_addr": "127.0.0.1", "scheme": "http", "host": "localhost",
                        "external": "http://localhost/"}


def test_a_spoofed_address_does_not_escape_the_sign_in_throttle(data_dir):
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD)
    client = make_app(data_dir).test_client()
    for attempt in range(5):
        assert failed_sign_in(client, {"X-Forwarded-For": f"203.0.113.{attempt}"}) == 401
    assert failed_sign_in(client, {"X-Forwarded-For": "198.51.100.99"}) == 429


def test_behind_a_proxy_the_throttle_counts_each_client_apart(data_dir):
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD)
    client = make_app(data_dir, PROXY_HOPS=1).test_client()
    for _ in range(5):
        assert failed_sign_in(client, {"X-Forwarded-For": "203.0.113.7"}) == 401
    assert failed_sign_in(client, {"X-Forwarded-For": "203.0.113.7"}) == 429
    # Another resident behind the same proxy is not locked out by the first one's typos.
    assert failed_sign_in(client, {"X-Forwarded-For": "198.51.100.4"}) == 401


def served_by_waitress(app):
    """``app`` behind ``mapper serve``'s own waitress server (mapper.serving) on a free port; yields the port."""
    import threading
    from contextlib import contextmanager

    from mapper.serving import make_server

    @contextmanager
    def running():
        server = make_server(app, host="127.0.0.1", port=0, threads=4)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        try:
            yield server.effective_port
        finally:
            server.task_dispatcher.shutdown()  # before the sockets close, so no worker pulls a closed trigger
            server.close()
            thread.join(timeout=10)

    return running()


@pytest.mark.parametrize("hops", [0, 1])
def test_under_mapper_serve_the_proxy_hops_decide_whose_budget_a_post_spends(data_dir, hops):
    """waitress drops X-Forwarded-* unless told otherwise, so under ``mapper serve`` MAPPER_PROXY_HOPS=1 changed
    nothing: every resident behind the proxy shared one address's budget of reports."""
    import http.client
    import json

    from tests.helpers import light

    app = create_app({"DATA_DIR": data_dir, "PROXY_HOPS": hops, "RATELIMIT_PUBLIC_POSTS": "2 per minute"})
    body = json.dumps(light())

    def post(forwarded_for):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/api/zones/bell-foundry/lights", body=body, headers={
                "Content-Type": "application/json", "X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": "https"})
            return connection.getresponse().status
        finally:
            connection.close()

    with served_by_waitress(app) as port:
        first = [post("203.0.113.7") for _ in range(3)]
        other = post("198.51.100.9")
    assert first == [201, 201, 429]
    # Behind one proxy the second resident has a budget of their own; with no proxy declared the header is anybody's
    # to send, so it must not buy a fresh budget.
    assert other == (201 if hops else 429)


def test_a_password_sprayed_over_many_names_from_one_address_is_throttled(data_dir):
    """Failed sign-ins were counted per address *and name*: 60 names from one address got 60 scrypt checks (~170 ms
    of CPU each) and never a 429 (docs/security.md, found by the sweeps)."""
    Accounts(data_dir).add("alice", "officer", ["bell-foundry"], PASSWORD)
    client = make_app(data_dir).test_client()

    def sign_in(name, password="Summer2026!", address="203.0.113.7"):
        return sign_in_form(client, name, password, environ_base={"REMOTE_ADDR": address}).status_code

    statuses = [sign_in(f"officer{n}") for n in range(30)]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    # The budget is the sprayer's address's, not the account's: alice signs in from her own connection.
    assert sign_in("alice", PASSWORD, address="198.51.100.4") == 303
