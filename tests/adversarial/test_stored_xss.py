"""Issue #11, finding 3: stored XSS through Leaflet's string sinks, in real Chromium.

A lamp column's ``unit_id`` comes from a council's inventory file (``mapper import-columns``) and a zone's name from
``mapper zones add``; both reached Leaflet as strings (a column's tooltip on the officers' repair page, the zone
map's layer control), which Leaflet puts in with innerHTML. Each payload below must show as the text it is and run
nothing. Every page here is also served with the app's Content-Security-Policy, so a sink missed by the fix would be
refused too; the pages must log no CSP violation while working normally.
"""

import csv
import json

import pytest
from click.testing import CliRunner

from mapper import create_app, intake
from mapper.accounts import Accounts
from mapper.cli import main
from mapper.crs import from_british_national_grid
from tests.browser.conftest import browser_type_launch_args  # noqa: F401 (Debian's Chromium, as the browser tests)
from tests.columns_helpers import zone_centre
from tests.live import offline, serving, sign_in, wait_until

pytestmark = pytest.mark.browser

ZONE = "bell-foundry"
PASSWORD = "correct horse battery"
# Each sets a different number, so a failure says which one ran. All fit a unit id (64 characters at most).
PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    '<svg onload="window.__xss=2">',
    '<iframe srcdoc="<script>parent.__xss=3</script>">',
    '<details open ontoggle="window.__xss=4">x',
    '<a href="javascript:window.__xss=5">open</a>',
    '</script><img src=x onerror="window.__xss=6">',
]
# One tiny square each, west of the shipped zones, so no two zones overlap.
SQUARE = 0.002


def watch_csp(page):
    """Collect the page's CSP violations (the securitypolicyviolation events and Chromium's 'Refused to' console
    messages) in ``page.csp``."""
    page.csp = []
    page.on("console", lambda message: page.csp.append(message.text) if "Refused to" in message.text else None)
    page.add_init_script("""document.addEventListener('securitypolicyviolation', function (event) {
        console.error('Refused to (event) ' + event.violatedDirective + ' ' + event.blockedURI); });""")
    return page


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    """Bell Foundry with one lamp column per payload (its unit id) and a report 6 m from each; one zone per payload
    (its name); an officer, alice."""
    data = tmp_path_factory.mktemp("xss-store")
    runner = CliRunner()
    app = create_app({"DATA_DIR": data, "TESTING": True})
    Accounts(data).add("alice", "officer", [ZONE], PASSWORD)

    east, north = (round(v) for v in zone_centre(ZONE))
    inventory = tmp_path_factory.mktemp("columns") / "inventory.csv"
    with open(inventory, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["unit_id", "easting", "northing", "location"])
        for number, payload in enumerate(PAYLOADS):
            writer.writerow([payload, east + 60 * number, north, f"Outside {number} Main St"])
    result = runner.invoke(main, ["import-columns", "--zone", ZONE, "--data", str(data), str(inventory)])
    assert result.exit_code == 0, result.output

    resources = app.extensions["mapper"]
    reports = {}
    for number, payload in enumerate(PAYLOADS):
        lon, lat = (round(float(v), 7) for v in from_british_national_grid(east + 60 * number + 6, north))
        raw = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
               "properties": {"category": "out", "description": f"Column {number}"}}
        stored = intake.submit_once(raw, "lights", None, schema=resources.schema, zones=resources.zones(),
                                    store=resources.store, photos_root=data)[0]
        reports[payload] = stored["id"]

    zones = {}
    for number, payload in enumerate(PAYLOADS):
        west, south = -1.40 + number * 0.01, 52.60
        boundary = tmp_path_factory.mktemp("zone") / "boundary.geojson"
        ring = [[west, south], [west + SQUARE, south], [west + SQUARE, south + SQUARE], [west, south + SQUARE],
                [west, south]]
        boundary.write_text(json.dumps({"type": "Feature", "properties": {},
                                        "geometry": {"type": "Polygon", "coordinates": [ring]}}), encoding="utf-8")
        zone_id = f"hostile-{number}"
        result = runner.invoke(main, ["zones", "add", payload, "--id", zone_id, "--boundary", str(boundary),
                                      "--council", payload, "--data", str(data)])
        assert result.exit_code == 0, result.output
        zones[payload] = zone_id
    return {"app": app, "reports": reports, "zones": zones}


@pytest.fixture(scope="module")
def server(hostile_app):
    with serving(hostile_app["app"], "xss-server") as url:
        yield url


@pytest.fixture
def new_page(browser, server):
    contexts = []

    def open_page():
        context = browser.new_context(base_url=server, locale="en-GB")
        contexts.append(context)
        return watch_csp(offline(context.new_page()))

    yield open_page
    for context in contexts:
        context.close()


def test_a_column_unit_id_from_an_inventory_shows_as_text_in_its_tooltip(new_page, hostile_app):
    page = sign_in(new_page(), f"/zones/{ZONE}/repairs", "alice", PASSWORD)
    page.wait_for_selector("#repair-map[data-ready=true]")
    for payload, report_id in hostile_app["reports"].items():
        page.locator(f"a.report-ref[data-id='{report_id}']").click()
        wait_until(page, "document.querySelector('.repair-panel-change') !== null")
        marker = page.locator(".repair-column-marker")
        assert marker.count() == 1
        marker.dispatch_event("mouseover")  # Leaflet opens a path's tooltip on mouseover, wherever the map is panned
        # The previous report's tooltip may still be fading out (a CI flake read two): take this column's own.
        tooltip = page.locator(".leaflet-tooltip", has_text=payload).last
        tooltip.wait_for()
        assert tooltip.inner_text() == payload
        # Text only: no element made from the payload (the fix's own <span> holds nothing but text).
        assert page.locator(".leaflet-tooltip :not(span), .leaflet-tooltip span *").count() == 0
        assert page.locator("#repair-panel .repair-panel-column").inner_text().startswith(payload)
        page.wait_for_timeout(100)  # an onerror/onload/ontoggle handler runs on the next turns of the event loop
        assert page.evaluate("window.__xss") is None, payload
        marker.dispatch_event("mouseout")
        page.keyboard.press("Escape")
    assert page.errors == [] and page.csp == []


def test_a_zone_name_shows_as_text_in_the_zone_maps_layer_control(new_page, hostile_app):
    page = new_page()
    for payload, zone_id in hostile_app["zones"].items():
        page.goto(f"/zones/{zone_id}")
        control = page.locator(".leaflet-control-layers-overlays")
        control.wait_for()
        assert page.locator(".leaflet-control-layers").get_attribute("class").count("expanded") == 1
        labels = control.locator("label").all_inner_texts()
        assert f"{payload} boundary" in [label.strip() for label in labels], labels
        assert control.locator("img, svg, iframe, details, a").count() == 0
        assert page.locator("h1").inner_text().startswith(payload)
        assert page.title().startswith(payload)
        page.wait_for_timeout(100)
        assert page.evaluate("window.__xss") is None, payload
    assert page.errors == [] and page.csp == []


@pytest.mark.parametrize("attribution", [
    '<img src=x onerror="window.__xss=1">',
    '&copy; <a href="javascript:window.__xss=1">OSM</a>',
    '<a href="https://osm.org" onclick="window.__xss=1">OSM</a>',
    '<svg onload="window.__xss=1">',
    '<a href="https://osm.org"><script>window.__xss=1</script></a>',
])
def test_a_tiles_attribution_with_more_than_text_and_links_is_refused_at_start(tmp_path, attribution):
    """Leaflet's attribution control takes HTML (a link to the tiles' licence), which every map page hands it from
    the configuration: anything but text and plain http(s) links stops the app from starting."""
    with pytest.raises(ValueError, match="TILES_ATTRIBUTION"):
        create_app({"DATA_DIR": tmp_path, "TESTING": True, "TILES_ATTRIBUTION": attribution})


def test_an_attribution_of_text_and_links_is_kept(tmp_path):
    text = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors, <b>x</b> & y'
    with pytest.raises(ValueError):
        create_app({"DATA_DIR": tmp_path / "a", "TESTING": True, "TILES_ATTRIBUTION": text})  # <b>: not a link
    kept = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors & Ordnance Survey'
    assert create_app({"DATA_DIR": tmp_path / "b", "TESTING": True,
                       "TILES_ATTRIBUTION": kept}).config["TILES_ATTRIBUTION"] == kept
