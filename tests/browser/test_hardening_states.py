"""The states issue #11 (hardening) added, as a resident meets them in real Chromium: the report refused by the rate
limit (with and without JavaScript), a photo with too many pixels, too many failed sign-ins, the account page signed
in, and the hotspot page refusing a grid too fine for an anonymous caller or refusing its map's data. Each says what
happened in words, where the person is looking, and axe-core (WCAG 2 A and AA) finds nothing on it.

Each test serves its own app on a fresh temporary store on 127.0.0.1; every other host is unreachable.
"""

import io
import re
from contextlib import contextmanager

import pytest
from click.testing import CliRunner
from PIL import Image

from mapper import create_app
from mapper.accounts import Accounts
from mapper.cli import main as cli
from mapper.config import PROJECT_DIR
from tests.helpers import INSIDE, light
from tests.live import offline, serving, wait_until

pytestmark = pytest.mark.browser

AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True,
         "locale": "en-GB"}
PASSWORD = "correct horse battery staple 9"
LON, LAT = INSIDE["bell-foundry"]


@pytest.fixture
def open_app(browser, tmp_path):
    """``open_app(demo=False, **config)`` -> (app, page(**context options)): the app served on 127.0.0.1, with the
    demo data set loaded when asked; pages are 360 px phones that reach only the app."""
    stack, contexts = [], []

    def start(demo=False, **config):
        store = tmp_path / f"store{len(stack)}"
        if demo:
            result = CliRunner().invoke(cli, ["demo", "--data", str(store)])
            assert result.exit_code == 0, result.output
        app = create_app({"DATA_DIR": store, "TESTING": True, **config})
        serve = serving(app, "hardening-states")
        url = serve.__enter__()
        stack.append(serve)

        def page(**options):
            context = browser.new_context(**{**PHONE, "base_url": url, **options})
            contexts.append(context)
            return offline(context.new_page())
        return app, page

    yield start
    for context in contexts:
        context.close()
    for serve in reversed(stack):
        serve.__exit__(None, None, None)


def axe_violations(page):
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script> tag: the page's CSP refuses inline ones
    results = page.evaluate("() => axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa']}})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results["violations"]]


def axe_without_script(page, open_page):
    """axe on a page shown without JavaScript: its HTML (minus its scripts) in a page that may run axe."""
    html = re.sub(r"<script src=[^>]*></script>", "", page.content())
    scripted = open_page()
    scripted.route("**/nojs", lambda route: route.fulfill(body=html, content_type="text/html"))
    scripted.goto("/nojs")
    return axe_violations(scripted)


def in_view(page, selector):
    """Whether the element's whole box is inside the viewport (a person sees it without scrolling)."""
    return page.evaluate("""(selector) => { const box = document.querySelector(selector).getBoundingClientRect();
        return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight; }""", selector)


def giant_png():
    """8,000 x 8,000 pixels of one colour: ~200 KB of file, 64 megapixels to decode (the limit for PNG is 16)."""
    buffer = io.BytesIO()
    Image.new("RGB", (8000, 8000), (200, 60, 60)).save(buffer, "PNG")
    return {"name": "big.png", "mimeType": "image/png", "buffer": buffer.getvalue()}


def report_without_script(page, photo=None):
    page.goto("/report?kind=light")
    page.get_by_label("Latitude").fill(str(LAT))
    page.get_by_label("Longitude").fill(str(LON))
    if photo:
        page.set_input_files("#photo", files=[photo])
    with page.expect_navigation() as navigation:
        page.get_by_role("button", name="Send the report").click()
    return navigation.value.status


def report_with_pin(page):
    """The report form with JavaScript, the pin placed by the phone's GPS."""
    page.goto("/report?kind=light")
    wait_until(page, "() => window.reportPage && window.L")
    page.get_by_role("button", name="Use my location").click()
    page.locator("#gps-status").filter(has_text=re.compile("accurate|Located")).wait_for()
    return page


GPS = {"geolocation": {"latitude": LAT, "longitude": LON, "accuracy": 10}, "permissions": ["geolocation"]}


# -- 1. the rate limit refuses a report ----------------------------------------------------------------------------


def test_without_javascript_a_refused_report_says_why_and_when_in_words_and_links_back(open_app):
    _, open_page = open_app(RATELIMIT_PUBLIC_POSTS="1 per minute")
    page = open_page(java_script_enabled=False)
    assert report_without_script(page) == 200
    assert report_without_script(page) == 429
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading == "Please wait before trying again"  # was "Sorry: 429"
    text = page.locator("main").inner_text()
    assert "Too many reports have been sent from your connection" in text
    assert re.search(r"Try again in \d+ seconds", text)
    assert page.get_by_role("link", name="Back to the page you were on").get_attribute("href").endswith(
        "/report?kind=light")
    assert "429" not in page.title()
    assert axe_without_script(page, open_page) == []


def test_with_javascript_a_refused_report_is_shown_at_the_top_and_taken_to(open_app):
    app, open_page = open_app(RATELIMIT_PUBLIC_POSTS="1 per minute")
    # The connection's one report a minute is used up (the test client is 127.0.0.1 too), in another zone so that
    # no duplicate is offered first.
    assert app.test_client().post("/api/reports", json=light("new-parks")).status_code == 201
    page = report_with_pin(open_page(**GPS))
    page.get_by_role("button", name="Send the report").click()  # at the foot of a long form
    alert = page.locator("#report-alert")
    alert.filter(has_text="Too many reports").wait_for()
    assert re.search(r"^We couldn't send your report: Too many reports .* Try again in \d+ seconds\.$",
                     alert.inner_text())
    # The alert is at the top of the form, ~2,000 px above the button: the resident is taken to it.
    assert page.evaluate("() => document.activeElement.id") == "report-alert"
    assert in_view(page, "#report-alert")
    assert page.locator("#report-done").is_hidden()
    assert axe_violations(page) == []
    assert page.errors == []


# -- 2. a photo with too many pixels -------------------------------------------------------------------------------


def test_a_photo_with_too_many_pixels_is_named_next_to_the_photo_field_in_view(open_app):
    _, open_page = open_app()
    page = report_with_pin(open_page(**GPS))
    page.set_input_files("#photo", files=[giant_png()])
    page.get_by_role("button", name="Send the report").click()
    note = page.locator("#photo-error")
    note.wait_for()
    assert "Please choose a smaller photo" in note.inner_text()
    assert "Please choose a smaller photo" in page.locator("#report-alert").inner_text()
    assert page.evaluate("() => document.activeElement.id") == "photo"
    assert in_view(page, "#photo-error")
    assert axe_violations(page) == []
    assert page.errors == []


def test_without_javascript_a_photo_with_too_many_pixels_is_explained_in_the_error_summary(open_app):
    _, open_page = open_app()
    page = open_page(java_script_enabled=False)
    assert report_without_script(page, photo=giant_png()) == 413
    summary = page.locator("#error-summary")
    assert "8,000 x 8,000 pixels" in summary.inner_text()
    assert "the limit is 16 megapixels" in summary.inner_text()
    assert in_view(page, "#error-summary")
    assert axe_without_script(page, open_page) == []


# -- 3. the zone map's popup ---------------------------------------------------------------------------------------


def test_a_popup_on_the_zone_map_is_wide_enough_to_read_on_a_phone(open_app):
    _, open_page = open_app(demo=True)
    page = open_page()
    page.goto("/zones/bell-foundry")
    page.locator(".pz-point").first.wait_for()
    page.locator(".pz-point").first.click(force=True)
    details = page.locator(".leaflet-popup .pz-popup-details dd").first
    details.wait_for()
    # Leaflet sized the popup to its content unwrapped, where a description counted one letter wide: ~10 px.
    assert details.bounding_box()["width"] > 100
    assert page.locator(".leaflet-popup-content").bounding_box()["width"] <= 360 - 40
    assert axe_violations(page) == []
    assert page.errors == []


# -- 4. signing in -------------------------------------------------------------------------------------------------


def test_too_many_failed_sign_ins_say_so_in_words_then_the_account_page_signed_in(open_app):
    app, open_page = open_app()
    accounts = Accounts(app.config["DATA_DIR"])
    accounts.add("olive", "officer", ["bell-foundry"], PASSWORD)
    accounts.add("oscar", "officer", ["bell-foundry"], PASSWORD)
    page = open_page()
    statuses = []
    for _ in range(6):
        page.goto("/login")
        page.get_by_label("Name").fill("olive")
        page.get_by_label("Password").fill("not the password at all")
        with page.expect_navigation() as navigation:
            page.get_by_role("button", name="Sign in").click()
        statuses.append(navigation.value.status)
    assert statuses[-1] == 429 and 429 not in statuses[:-1]
    assert page.get_by_role("heading", level=1).inner_text() == "Please wait before trying again"
    assert "Too many failed sign-ins. Wait a minute and try again." in page.locator("main").inner_text()
    assert page.get_by_role("link", name="Back to the page you were on").get_attribute("href").endswith("/login")
    assert axe_violations(page) == []

    page = open_page()
    page.goto("/login")
    page.get_by_label("Name").fill("oscar")
    page.get_by_label("Password").fill(PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.goto("/account")
    assert page.get_by_role("heading", level=1).inner_text() == "Your account"
    assert page.get_by_role("button", name="Sign out my other sessions").is_visible()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 360
    assert axe_violations(page) == []


# -- 5. the hotspot page refuses ----------------------------------------------------------------------------------


def test_an_anonymous_grid_too_fine_is_refused_naming_the_smallest_cell(open_app):
    _, open_page = open_app(demo=True)
    page = open_page()
    page.goto("/zones/bell-foundry/hotspots?use=lights&method=gi&cell=10&band=200")
    summary = page.locator("#error-summary")
    assert "A 10 m grid over Bell Foundry would have" in summary.inner_text()
    assert "Use cells of at least 26 m." in summary.inner_text()
    assert in_view(page, "#error-summary")
    assert page.get_by_label("Cell size (metres)").get_attribute("aria-invalid") == "true"
    assert axe_violations(page) == []


def test_the_hotspot_map_shows_the_servers_words_when_its_data_is_refused(open_app):
    # One analysis a minute: the page's own is answered, its map's grid and targets are refused (429 JSON).
    _, open_page = open_app(demo=True, RATELIMIT_ANALYSIS="1 per minute")
    page = open_page()
    page.goto("/zones/bell-foundry/hotspots?use=lights&method=gi&cell=50&band=200")
    status = page.locator("#map-status.map-status--error")
    status.wait_for()
    assert re.search(r"^Too many analysis requests from your connection in a short time\. Try again in \d+ seconds\. "
                     r"The map could not be loaded; the tables below have the same results\.$", status.inner_text())
    assert page.locator("#legend").is_visible()
    assert axe_violations(page) == []
    assert page.errors == []
