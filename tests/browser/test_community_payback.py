"""The Community Payback planning page in real Chromium, signed in as a probation officer: it draws the welfare
facilities, the catchments (limited hours hatched), candidate sites coloured by their check, the offered overgrowth
reports and the gaps; the table lists the gaps; selecting a place checks it; an offered report becomes a site from
its popup; hostile names stay text; axe-core finds no serious or critical problem; it works without JavaScript.

Facilities are hand-placed in Bell Foundry at metre offsets (EPSG:27700): the Hub (limited hours, all three offers)
at the origin, the Tap (24/7, no shelter) 1.25 km east. Every request that is not to 127.0.0.1 is aborted.
"""


import pytest

from mapper import create_app
from mapper.accounts import Accounts
from mapper.crs import from_british_national_grid, to_british_national_grid
from mapper.validate import validate_feature
from tests.browser.test_hotspots import AXE, DESKTOP, PHONE, SCREENSHOTS
from tests.helpers import INSIDE, point_feature
from tests.live import offline, sign_in, serving
from tests.render.populate import submit

pytestmark = pytest.mark.browser

ZONE = "bell-foundry"
PAGE = f"/zones/{ZONE}/community-payback"
PASSWORD = "correct horse battery"
XSS = '<img src=x onerror="window.__xss=1">'
ORIGIN = tuple(float(v) for v in to_british_national_grid(*INSIDE[ZONE]))


def at(dx, dy):
    lon, lat = from_british_national_grid(ORIGIN[0] + dx, ORIGIN[1] + dy)
    return round(float(lon), 7), round(float(lat), 7)


def facility(resources, name, dx, dy, hours, **offers):
    raw = point_feature(*at(dx, dy), category="welfare-facility", name=name, opening_hours=hours, **offers)
    submission = validate_feature(raw, resources.schema.layer("assets"), status="published")
    return resources.store.append(ZONE, "assets", [submission])[0]


@pytest.fixture(scope="module")
def planning_server(tmp_path_factory):
    app = create_app({"DATA_DIR": tmp_path_factory.mktemp("cp-browser") / "store", "TESTING": True})
    resources = app.extensions["mapper"]
    facility(resources, f"Hub {XSS}", 0, 0, "Mo-Fr 09:00-17:00", toilets=True, water=True, shelter=True)
    facility(resources, "Tap", 1250, -200, "24/7", toilets=True, water=True)
    reports = [submit(resources, "lights", point_feature(*at(dx, dy), category="obscured", description=text))
               for dx, dy, text in ((900, 600, f"Brambles {XSS}"), (1000, 500, "Ivy over the lamp"),
                                    (-200, -300, "Hedge by the Hub"))]
    site = validate_feature({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
        list(at(150, -450)), list(at(250, -450)), list(at(250, -350)), list(at(150, -350)), list(at(150, -450))]]},
        "properties": {"name": f"Allotment {XSS}", "kind": "vegetation-clearance"}}, resources.schema.layer("cp-sites"))
    resources.store.append(ZONE, "cp-sites", [site])
    Accounts(app.config["DATA_DIR"]).add("pat", "probation", [ZONE], PASSWORD)
    with serving(app, "community-payback-server") as url:
        yield {"url": url, "reports": reports}


@pytest.fixture
def probation(browser, planning_server):
    """``probation(**context options)`` -> a page signed in as a probation officer of the zone, on the planning
    page; ``page.errors`` has script errors."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=planning_server["url"], locale="en-GB", **options)
        contexts.append(context)
        return sign_in(offline(context.new_page()), PAGE, "pat", PASSWORD)

    yield open_page
    for context in contexts:
        context.close()


def ready(page):
    page.locator("#cp-map[data-ready='true']").wait_for()
    return settled(page)


def settled(page):
    """The page once the map has stopped panning: a popup opening near the edge pans the map, and a click computed
    before the pan ends lands on the map beside its target (a check of some other place)."""
    page.locator("#cp-map[data-ready='true']:not([data-moving])").wait_for()
    return page


def test_the_map_draws_facilities_catchments_sites_offers_and_gaps(probation):
    page = ready(probation(**DESKTOP))
    assert page.locator("path.cp-facility").count() == 2
    assert page.locator("path.cp-catchment").count() == 2
    limited = page.locator("path.cp-catchment--limited")
    assert limited.count() == 1 and limited.get_attribute("fill") == "url(#cp-hatch-full)"  # the Hub's, hatched
    assert page.locator("path.cp-catchment--partial").count() == 1  # the Tap has no shelter
    assert page.locator("path.cp-site--area.cp-site--ok").count() == 1  # the allotment, 500 m from the Hub
    assert page.locator("path.cp-offer").count() == 3
    gaps = page.locator(".cp-gap")
    assert gaps.count() == 1 and gaps.first.inner_text() == "1"
    row = page.locator("#gaps-table tbody tr").first
    assert row.locator("th").inner_text() == "1" and row.locator("td.unlocks").inner_text() == "2"
    assert gaps.first.get_attribute("title").endswith("would open up: 2")
    assert "welfare facilities 2; sites 1; offered reports 3; gaps 1" in page.locator("#cp-map-status").inner_text()
    assert "detour factor" in page.locator("#cp-method").inner_text()
    assert page.errors == []


def test_selecting_a_place_checks_it_and_hostile_names_stay_text(probation):
    page = ready(probation(**DESKTOP))
    page.locator("#cp-map").scroll_into_view_if_needed()
    hub = page.locator("path.cp-facility").first.bounding_box()
    page.mouse.click(hub["x"] + hub["width"] / 2 + 40, hub["y"] + hub["height"] / 2)  # ~100-250 m east of the Hub
    page.locator("#cp-map[data-checked]").wait_for()
    assert page.locator("#cp-map").get_attribute("data-checked") == "within"
    answer = page.locator("#cp-answer")
    assert answer.is_visible() and "Within reach: toilets, water and shelter within 10 minutes." in answer.inner_text()
    assert f"Hub {XSS}" in answer.inner_text() and "Only facilities with limited opening hours" in answer.inner_text()
    popup = page.locator(".cp-check-popup")
    assert popup.get_by_label("Name of the site").is_visible()
    settled(page).locator("path.cp-site--area").click()
    assert "Vegetation clearance" in page.locator(".leaflet-popup-content", has_text=f"Allotment {XSS}").inner_text()
    assert f"Hub {XSS}" in page.locator("#facilities-table").inner_text()
    assert page.evaluate("() => window.__xss") is None and page.locator(".leaflet-container img[src='x']").count() == 0
    assert page.errors == []


def test_an_offered_report_becomes_a_candidate_site_from_its_popup(probation, planning_server):
    page = ready(probation(**DESKTOP))
    ref = planning_server["reports"][2]["properties"]["ref"]
    marker = page.locator("path.cp-offer").nth(2)
    marker.click()
    popup = page.locator(".leaflet-popup-content", has_text=ref)
    assert ref in popup.inner_text() and "Hedge by the Hub" in popup.inner_text()
    settled(page)
    popup.get_by_role("button", name="Add as a candidate site").click()
    page.wait_for_url(f"**{PAGE}#sites")
    assert "Added the candidate site" in page.locator(".result").inner_text()
    row = page.locator("#sites-table tbody tr", has_text=ref)
    assert "Candidate site" in row.inner_text() and "Within reach" in row.inner_text()
    ready(page)
    assert page.locator("path.cp-offer").count() == 2 and page.locator("path.cp-site").count() == 2
    assert page.errors == []


def test_minutes_re_query_the_map(probation):
    page = ready(probation(**DESKTOP))
    page.get_by_label("Minutes on foot").fill("20")
    page.get_by_role("button", name="Show", exact=True).click()
    ready(page)
    assert page.locator("path.cp-catchment").count() == 3  # 1.23 km circles: the Hub's and the Tap's now overlap
    assert page.locator(".cp-gap").count() == 0 and "No gaps" in page.locator("#gaps-table").inner_text()
    assert "1231 m" in page.locator("#cp-method").inner_text()


@pytest.mark.parametrize("size", [PHONE, DESKTOP])
def test_axe_and_width(probation, size):
    page = ready(probation(**size))
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script> tag: the page's CSP refuses inline ones
    results = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    serious = [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in results["violations"]
               if v["impact"] in ("serious", "critical")]
    assert serious == []
    assert page.evaluate("() => document.documentElement.scrollWidth") <= size["viewport"]["width"]
    SCREENSHOTS.mkdir(exist_ok=True)  # for a person to look at; not kept
    page.screenshot(path=str(SCREENSHOTS / f"community-payback-{size['viewport']['width']}.png"), full_page=True)
    assert page.errors == []


def test_without_javascript_the_tables_and_forms_work(probation):
    page = probation(java_script_enabled=False, **PHONE)
    assert not page.locator("#cp-map-panel").is_visible()
    assert page.locator("#gaps-table tbody tr").count() >= 1
    assert page.locator("#offers-table").get_by_role("button", name="Add as a candidate site").count() >= 1
    page.get_by_label("Minutes on foot").fill("20")
    page.get_by_role("button", name="Show", exact=True).click()
    assert "No gaps" in page.locator("#gaps-table").inner_text()
