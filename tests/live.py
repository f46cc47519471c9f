"""A Flask app served for real on 127.0.0.1, and the page helpers the browser tests share (offline pages,
signing in through the form)."""

import threading
import time
from contextlib import contextmanager
from urllib.parse import urlsplit

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
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


def wait_until(page, expression, arg=None, timeout=30_000):
    """Wait until ``expression`` (JavaScript, or a function of ``arg``) is truthy in the page, and return its value.

    Playwright's ``page.wait_for_function`` polls with ``eval()`` inside the page, which the app's
    Content-Security-Policy (no 'unsafe-eval') refuses; ``page.evaluate`` goes through DevTools, which no page's
    policy governs, so this polls with that instead.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            value = page.evaluate(expression, arg)
        except PlaywrightError as error:  # the page navigated meanwhile: ask the new one
            if "context was destroyed" not in str(error) and "navigat" not in str(error):
                raise
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise PlaywrightTimeoutError(f"{expression} was still false after {timeout} ms")
        page.wait_for_timeout(50)
