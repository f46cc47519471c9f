"""The officers' repair map and detail panel in real Chromium: pins in the configured status colours with a legend,
filters reduce the pins, a pin or a row's ref opens the panel (photo, lamp column, history with the officer and the
internal note, the status form), hostile text stays text, keyboard and phone width, and the page without JavaScript.

One app for the module on a fresh temporary store (the tests here only read), served on 127.0.0.1; every other host
is unreachable, so base map tiles fail (allowed) and everything else must be local.
"""

import io
import re

import pytest
from PIL import Image

from mapper import create_app, intake, lifecycle
from mapper.accounts import Accounts
from mapper.config import PROJECT_DIR
from mapper.crs import from_british_national_grid
from mapper.importers.columns import import_columns
from tests.browser.conftest import XSS
from tests.columns_helpers import zone_centre
from tests.live import offline, serving, sign_in, wait_until

pytestmark = pytest.mark.browser

ZONE = "bell-foundry"
PAGE = f"/zones/{ZONE}/repairs"
PASSWORD = "correct horse battery"
HOSTILE_NOTE = '<img src=x onerror="window.__xss=2"> DNO ref 8841'
AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"


def a_jpeg():
    out = io.BytesIO()
    Image.new("RGB", (800, 600), "orange").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture(scope="module")
def repairs_app(tmp_path_factory):
    """Two lamp columns and four reports in Bell Foundry, one in each group of statuses: the first (hostile text, a
    photo, 6 m from column LC7) scheduled by alice with a hostile internal note; an officer, alice."""
    app = create_app({"DATA_DIR": tmp_path_factory.mktemp("repairs-store"), "TESTING": True})
    resources = app.extensions["mapper"]
    store, schema, zones = resources.store, resources.schema, resources.zones()
    Accounts(app.config["DATA_DIR"]).add("alice", "officer", [ZONE], PASSWORD)
    e, n = (round(v) for v in zone_centre(ZONE))
    path = tmp_path_factory.mktemp("columns") / "columns.csv"
    path.write_text(f"unit_id,easting,northing,location\nLC7,{e},{n},Outside 4 Main St\n", encoding="utf-8")
    import_columns(path, ZONE, schema=schema, zones=zones, store=store)

    def report(dx, dy, category, photo=None, **properties):
        lon, lat = (round(float(v), 7) for v in from_british_national_grid(e + dx, n + dy))
        raw = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
               "properties": {"category": category, **properties}}
        return intake.submit_once(raw, "lights", None, schema=schema, zones=zones, store=store, photo=photo,
                                  photos_root=app.config["DATA_DIR"])[0]

    lights = schema.layer("lights")
    stages = lifecycle.lifecycle_for(app.config["LAYERS_FILE"], lights)
    hostile = report(6, 0, "out", photo=a_jpeg(), description=f"Out again {XSS}", location_text="By the <b>shop</b>")
    lifecycle.change(store, lights, stages, ZONE, hostile["id"], by="alice", status="action-scheduled",
                     priority="short", public_note="Crew booked", internal_note=HOSTILE_NOTE)
    dim = report(200, 150, "dim", description="Dim by the school")
    fixed = report(-250, 100, "flickering")
    lifecycle.change(store, lights, stages, ZONE, fixed["id"], by="alice", status="fixed", public_note="New lantern")
    closed = report(120, -200, "damaged")
    lifecycle.change(store, lights, stages, ZONE, closed["id"], by="alice", status="closed-not-fixed",
                     public_note="Column to be replaced next year")
    return {"app": app, "hostile": hostile, "dim": dim, "fixed": fixed, "closed": closed,
            "colours": lights.status_colours}


@pytest.fixture(scope="module")
def server(repairs_app):
    with serving(repairs_app["app"], "repairs-server") as url:
        yield url


@pytest.fixture
def officer(browser, server):
    """``officer(**context options)`` -> a page signed in as alice through the /login form; ``page.errors`` collects
    script errors."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=server, locale="en-GB", **options)
        contexts.append(context)
        return sign_in(offline(context.new_page()), PAGE, "alice", PASSWORD)

    yield open_page
    for context in contexts:
        context.close()


def rgb(colour):
    return "rgb({}, {}, {})".format(*(int(colour[i:i + 2], 16) for i in (1, 3, 5)))


def map_ready(page):
    page.wait_for_selector("#repair-map[data-ready=true]")


def pin_colours(page):
    return page.eval_on_selector_all(".repair-pin", """pins => pins.map(pin => [pin.getAttribute('data-status'),
        getComputedStyle(pin.querySelector('.repair-pin-dot')).backgroundColor])""")


def test_pins_are_drawn_in_the_status_colours_with_a_legend(officer, repairs_app):
    page = officer()
    map_ready(page)
    colours = repairs_app["colours"]
    drawn = pin_colours(page)
    assert sorted(status for status, _ in drawn) == sorted(["action-scheduled", "open", "fixed", "closed-not-fixed"])
    assert all(colour == rgb(colours[status]) for status, colour in drawn), drawn
    shapes = dict(page.eval_on_selector_all(".repair-pin", """pins => pins.map(pin => [pin.getAttribute('data-status'),
        getComputedStyle(pin.querySelector('.repair-pin-dot')).borderRadius])"""))
    assert shapes["open"] == "50%" and shapes["fixed"] != "50%" and shapes["closed-not-fixed"] != "50%"
    legend = page.locator("#repair-legend-list li")
    assert legend.count() == len(colours)
    fixed = page.locator("#repair-legend-list li[data-status=fixed]")
    assert fixed.inner_text().replace("\n", "") == "Fixed: 1"
    assert fixed.locator(".status-swatch").evaluate("s => getComputedStyle(s).backgroundColor") == rgb(colours["fixed"])
    assert page.locator("#repair-legend-list li[data-status=confirmed]").inner_text() == "Confirmed by the council: 0"
    assert page.locator("#repair-map-status").inner_text() == "4 reports on the map."
    title = page.locator(f".repair-pin[data-id='{repairs_app['dim']['id']}']").get_attribute("title")
    assert title == f"{repairs_app['dim']['properties']['ref']}: Reported, Dim light, 0 days open"
    assert page.errors == []


def test_a_filter_reduces_the_pins(officer, repairs_app):
    page = officer()
    map_ready(page)
    page.select_option("#f-status", "fixed")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**status=fixed**")
    map_ready(page)
    assert pin_colours(page) == [["fixed", rgb(repairs_app["colours"]["fixed"])]]
    assert page.locator(".repair-pin").get_attribute("data-id") == repairs_app["fixed"]["id"]
    assert page.locator("#repair-legend-list li[data-status=open]").inner_text() == "Reported: 0"
    assert page.locator("#repair-map-status").inner_text() == "1 reports on the map."
    page.goto(f"{PAGE}?category=dim&category=damaged")
    map_ready(page)
    assert sorted(status for status, _ in pin_colours(page)) == ["closed-not-fixed", "open"]


def test_a_pin_opens_the_panel_with_photo_column_history_and_hostile_text_as_text(officer, repairs_app):
    page = officer()
    map_ready(page)
    hostile = repairs_app["hostile"]
    ref = hostile["properties"]["ref"]
    pin = page.locator(f".repair-pin[data-id='{hostile['id']}']")
    pin.click()
    panel = page.locator("#repair-panel")
    heading = page.locator("#repair-panel-heading")
    wait_until(page, "document.querySelector('#repair-panel-heading').textContent.startsWith('Report BF-')")
    assert panel.is_visible() and heading.inner_text() == f"Report {ref}"
    assert page.evaluate("document.activeElement.id") == "repair-panel-heading"

    photo = panel.locator("a.repair-panel-photo")
    assert photo.get_attribute("href") == f"/photos/{ZONE}/{hostile['properties']['photo']}"
    wait_until(page, "document.querySelector('.repair-panel-photo img').naturalWidth > 0")
    assert panel.locator(".repair-panel-photo img").evaluate("i => i.naturalWidth") == 320
    assert panel.locator(".repair-panel-column").inner_text() == "LC7, 6 m from the report – Outside 4 Main St"
    assert panel.locator(".repair-panel-description").inner_text() == f"Out again {XSS}"
    assert "By the <b>shop</b>" in panel.inner_text()
    history = panel.locator(".repair-history li")
    assert history.count() == 1
    entry = history.first.inner_text()
    assert "Reported → Repair scheduled" in entry and "By alice" in entry and "Priority: Short term" in entry
    assert "Crew booked" in entry
    assert panel.locator(".repair-history-internal").inner_text() == HOSTILE_NOTE
    assert panel.locator("a.repair-panel-tracking").get_attribute("href") == f"/r/{ref}"
    # The user's markup stayed text: nothing ran, and no element was made from it.
    assert page.evaluate("window.__xss") is None
    assert page.locator("#repair-panel img[src=x]").count() == 0 and page.locator("#repair-panel b").count() == 0
    # The status form offers only what may follow "action-scheduled", and carries the form token.
    offered = panel.locator("#panel-status option").evaluate_all("os => os.map(o => o.value)")
    assert offered == ["", "investigating", "in-progress", "fixed", "not-responsible", "duplicate",
                       "no-further-action", "closed-not-fixed"]
    assert panel.locator("#panel-priority").input_value() == "short"
    assert len(panel.locator("input[name=csrf_token]").input_value()) > 20
    assert panel.locator("input[name=id]").input_value() == hostile["id"]
    assert page.locator(".repair-column-marker").count() == 1  # where the column stands, on the map
    assert "is-selected" in pin.get_attribute("class")

    page.keyboard.press("Escape")
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.getAttribute('data-id')") == hostile["id"]
    assert page.locator(".repair-column-marker").count() == 0
    page.keyboard.press("Enter")  # the focused pin opens it again from the keyboard
    wait_until(page, "document.querySelector('.repair-panel-change') !== null")
    assert panel.is_visible() and heading.inner_text() == f"Report {ref}"
    assert page.errors == []


def test_a_rows_ref_opens_the_panel_from_the_keyboard(officer, repairs_app):
    page = officer()
    map_ready(page)
    closed = repairs_app["closed"]
    link = page.locator(f"a.report-ref[data-id='{closed['id']}']")
    link.focus()
    page.keyboard.press("Enter")
    wait_until(page, "document.querySelector('.repair-panel-change') !== null")
    assert page.url.endswith(PAGE)  # not the tracking page: the panel opened instead
    panel = page.locator("#repair-panel")
    assert "Closed, not fixed" in panel.locator(".repair-facts").inner_text()
    assert panel.locator("#panel-status option").evaluate_all("os => os.map(o => o.value)") == ["", "open"]
    assert panel.locator(".repair-panel-nophoto").inner_text() == "No photo."
    assert panel.locator(".repair-panel-column").inner_text() == "Not linked to a lamp column."
    page.keyboard.press("Tab")  # from the heading to the close button
    assert page.evaluate("document.activeElement.id") == "repair-panel-close"
    page.keyboard.press("Enter")
    assert not panel.is_visible()
    assert page.evaluate("document.activeElement.getAttribute('data-id')") == closed["id"]


def test_the_panel_fills_a_phone_screen_and_passes_axe(officer, repairs_app):
    page = officer(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    map_ready(page)
    page.locator(f"a.report-ref[data-id='{repairs_app['dim']['id']}']").click()
    wait_until(page, "document.querySelector('.repair-panel-change') !== null")
    box = page.locator("#repair-panel").bounding_box()
    assert (box["x"], box["width"]) == (0, 360)
    close = page.locator("#repair-panel-close").bounding_box()
    assert close["width"] >= 44 and close["height"] >= 44 and close["x"] + close["width"] <= 360
    assert page.evaluate("document.querySelector('#repair-panel').scrollWidth") <= 360
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # the page itself never scrolls sideways
    assert axe_violations(page) == []


def test_without_javascript_the_list_and_forms_work_and_no_empty_map_shows(officer, repairs_app):
    page = officer(java_script_enabled=False)
    assert page.locator("table.worklist tbody tr").count() == 4
    assert not page.locator("#repair-map-section").is_visible() and not page.locator("#repair-panel").is_visible()
    ref = repairs_app["dim"]["properties"]["ref"]
    row = page.locator(f"#report-{ref}")
    assert row.locator("form.change select[name=status]").count() == 1
    assert row.locator("a.report-ref").get_attribute("href") == f"/r/{ref}"  # the plain link still goes somewhere
    assert re.search(r"rgb\(213, 94, 0\)", row.evaluate("r => getComputedStyle(r).borderLeftColor"))


def axe_violations(page):
    """Serious or critical WCAG 2.2 AA failures in the page's main content (the list, map, legend and panel); the
    site header is base.html's, checked where it is owned."""
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script> tag: the page's CSP refuses inline ones
    results = page.evaluate("""() => axe.run({include: [['main']]}, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [node["target"] for node in v["nodes"]][:5]}
            for v in results["violations"] if v["impact"] in ("serious", "critical")]
