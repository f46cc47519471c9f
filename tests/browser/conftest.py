"""Browser fixtures: Debian's Chromium through Playwright, and the app served for real on 127.0.0.1 with data.

Every request that is not to 127.0.0.1 is aborted, so a passing test proves the page works with no internet
(base map tiles fail, which is allowed; everything else must be local).
"""

from urllib.parse import urlsplit

import pytest

from mapper import create_app
from mapper.lifecycle import change_status
from tests.helpers import point_feature
from tests.render.populate import fill_lights, points_inside, submit
from tests.live import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
XSS = '<img src=x onerror="window.__xss=1">'


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the system Chromium (never `playwright install`)."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


@pytest.fixture(scope="session")
def map_data(tmp_path_factory):
    """A store with 3,000 lights in Bell Foundry (clusters), and in New Parks one light and one asset alone (single
    markers), whose text is hostile HTML."""
    app = create_app({"DATA_DIR": tmp_path_factory.mktemp("browser-store"), "TESTING": True})
    resources = app.extensions["mapper"]
    fill_lights(resources, "bell-foundry", 3000, seed=7)
    lon, lat = points_inside(resources.zones().get("new-parks"), 2, seed=1)
    hostile_light = submit(resources, "lights", point_feature(lon[0], lat[0], category="damaged", description=XSS))
    asset = submit(resources, "assets", point_feature(lon[1], lat[1], category="food-bank", name=f"Pantry {XSS}",
                                                      description="Line one\nLine two",
                                                      website="https://example.org/pantry?a=1&b=2"))
    # Contributed assets wait as pending; only a moderator's approval puts them on the public map.
    asset = change_status(resources.store, resources.schema.layer("assets"), "new-parks", asset["id"], "published",
                          by="test")
    return {"app": app, "hostile_light": hostile_light, "asset": asset}


@pytest.fixture(scope="session")
def live_server(map_data):
    """The app on a free port of 127.0.0.1, in a thread, for the whole session; yields its base URL."""
    with serving(map_data["app"], "live-server") as url:
        yield url


@pytest.fixture
def offline_page(page):
    """A Playwright page that can reach only 127.0.0.1; ``page.blocked`` lists what it tried to reach elsewhere."""
    page.blocked = []
    page.errors = []

    def route(request_route):
        host = urlsplit(request_route.request.url).hostname
        if host == "127.0.0.1":
            request_route.continue_()
        else:
            page.blocked.append(request_route.request.url)
            request_route.abort("internetdisconnected")

    page.route("**/*", route)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page
