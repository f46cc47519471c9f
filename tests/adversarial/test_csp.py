"""Issue #11, findings 3 and 8: the Content-Security-Policy in real Chromium.

Every page the app serves (every GET rule of the URL map whose answer is HTML, found with the test client, so a new
page cannot be forgotten) is opened signed in as an administrator, in the demo-loaded hostile world
(tests/adversarial/conftest.py), and must log no CSP violation and no script error while its map and scripts work:
inline scripts carry the answer's nonce, vendor files and tiles are allowed, and nothing else is. An inline script
without the nonce is refused. With ``ASSETS = "cdn"`` the unpkg scripts and styles are allowed too.
"""

import re

import pytest

from mapper import create_app
from tests.adversarial.conftest import HOSTILE, PASSWORD, ZONE, fill, real_values, rules
from tests.browser.conftest import browser_type_launch_args  # noqa: F401 (Debian's Chromium, as the browser tests)
from tests.helpers import sign_in_form
from tests.live import offline, serving, wait_until

pytestmark = pytest.mark.browser

GET_RULES = [(rule, endpoint) for rule, endpoint, methods in rules() if "GET" in methods]
# Each map page's map, and what shows that its script has run (a page with no data for a map has no map to wait for).
READY = {
    "pages.zone_map": (".folium-map", ".leaflet-control-layers"),
    "repairs.repairs_page": ("#repair-map", "#repair-map[data-ready=true]"),
    "report.report_page": ("#report-map", "#report-map .leaflet-tile-pane"),
    "analysts.hotspots_page": ("#hotspots-map", "#hotspots-map[data-ready=true]"),
    "community_payback.planning_page": ("#cp-map", "#cp-map .leaflet-tile-pane"),
    "audits.walk_page": ("#walk-map", "#walk-map .leaflet-tile-pane"),
}


def ready(endpoint):
    container, done = READY[endpoint]
    return f"!document.querySelector({container!r}) || document.querySelector({done!r}) !== null"


def sign_in_client(client):
    assert sign_in_form(client, "admin", PASSWORD).status_code == 303
    return client


def html_pages(world):
    """``[(endpoint, url)]`` of every GET rule answering an administrator with an HTML page, in both zones."""
    client = sign_in_client(world.client())
    pages = []
    for zone in (ZONE, HOSTILE):
        for rule, endpoint in GET_RULES:
            url = fill(rule, real_values(world, zone, rule))
            response = client.get(url)
            if response.mimetype == "text/html" and response.status_code == 200 and endpoint != "auth.logout":
                pages.append((endpoint, url))
    return pages


def watch(page):
    """``page.csp``: every CSP violation (Chromium's 'Refused to' console messages and the securitypolicyviolation
    events); ``page.errors``: script errors."""
    page.csp = []
    page.on("console", lambda message: page.csp.append(message.text) if "Refused to" in message.text else None)
    page.add_init_script("""document.addEventListener('securitypolicyviolation', function (event) {
        console.error('Refused to (event) ' + event.violatedDirective + ' ' + event.blockedURI); });""")
    return offline(page)


def sign_in_page(page):
    page.goto("/login")
    page.get_by_label("Name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r".*/(account)?$"))
    return page


@pytest.fixture(scope="module")
def server(world):
    with serving(world.app, "csp-server") as url:
        yield url


@pytest.fixture
def admin_page(browser, server):
    context = browser.new_context(base_url=server, locale="en-GB")
    yield sign_in_page(watch(context.new_page()))
    context.close()


def test_every_page_runs_with_no_csp_violation(world, admin_page):
    page = admin_page
    pages = html_pages(world)
    endpoints = {endpoint for endpoint, _ in pages}
    assert {"pages.index", "pages.zone_map", "repairs.repairs_page", "report.report_page", "auth.account",
            "analysts.hotspots_page", "community_payback.planning_page", "moderation.moderation_page",
            "audits.walk_page", "progress.progress_page", "report.tracking_page"} <= endpoints, endpoints
    for endpoint, url in pages:
        page.goto(url)
        if endpoint in READY:
            wait_until(page, ready(endpoint), timeout=15_000)
        page.wait_for_load_state("networkidle")
        assert page.csp == [], (url, page.csp)
        assert page.errors == [], (url, page.errors)
        assert page.evaluate("window.__xss") is None, url


def test_the_zone_maps_inline_script_runs_by_its_nonce_and_no_other_does(world, server, browser):
    client = world.client()
    first, second = client.get(f"/zones/{ZONE}"), client.get(f"/zones/{ZONE}")
    nonces = [re.search(r"'nonce-([^']+)'", r.headers["Content-Security-Policy"]).group(1) for r in (first, second)]
    assert nonces[0] != nonces[1]  # per answer, even though the page's HTML is cached
    for response, nonce in zip((first, second), nonces):
        scripts = re.findall(r"<script([^>]*)>", response.get_data(as_text=True))
        inline = [attributes for attributes in scripts if "src=" not in attributes and "application/json" not in
                  attributes]
        assert inline == [f' nonce="{nonce}"']

    context = browser.new_context(base_url=server)
    page = watch(context.new_page())
    page.goto(f"/zones/{ZONE}")
    wait_until(page, ready("pages.zone_map"))
    # A script the page did not send (as an injection would add it) is refused, with or without a guessed nonce.
    page.evaluate("""() => { for (const nonce of [null, 'guessed']) {
        const script = document.createElement('script');
        if (nonce) { script.setAttribute('nonce', nonce); }
        script.textContent = 'window.__xss = 1';
        document.body.appendChild(script); } }""")
    page.wait_for_timeout(200)
    assert page.evaluate("window.__xss") is None
    assert len([message for message in page.csp if "script" in message]) >= 2, page.csp
    context.close()


def test_cdn_assets_are_allowed_in_cdn_mode(tmp_path, browser):
    app = create_app({"DATA_DIR": tmp_path, "TESTING": True, "ASSETS": "cdn"})
    policy = app.test_client().get("/").headers["Content-Security-Policy"]
    assert "https://unpkg.com" in re.search(r"script-src ([^;]+)", policy).group(1)
    with serving(app, "cdn-server") as url:
        context = browser.new_context(base_url=url)
        page = watch(context.new_page())  # offline: unpkg is unreachable, but CSP must not be what stops it
        for path in ("/zones/new-parks", "/report"):
            page.goto(path)
            page.wait_for_load_state("networkidle")
            assert page.csp == [], (path, page.csp)
        context.close()
