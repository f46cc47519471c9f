"""A Flask app served for real on 127.0.0.1, and the page helpers the browser tests share (offline pages,
signing in through the form)."""

import threading
from contextlib import contextmanager
from urllib.parse import urlsplit

from werkzeug.serving import make_server


@contextmanager
def serving(app, name="live-server"):
    """Serve ``app`` on a free port of 127.0.0.1 in a thread; yields the base URL, then stops the server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def local_only(route):
    """A Playwright route handler: requests to 127.0.0.1 go through, anything else fails as if offline (a passing
    test proves the page needs nothing from the internet but map tiles)."""
    if urlsplit(route.request.url).hostname == "127.0.0.1":
        route.continue_()
    else:
        route.abort("internetdisconnected")


def offline(page):
    """``page``, reaching only 127.0.0.1, with its script errors collected in ``page.errors``."""
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.route("**/*", local_only)
    return page


def sign_in(page, path, name, password):
    """Open ``path`` signed out, sign in on the page it sends to, and come back to ``path``: the way a person does."""
    page.goto(path)
    page.wait_for_url("**/login?next=**")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{path}")
    return page
