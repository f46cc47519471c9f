"""The analysts' hotspot page in real Chromium: the real New Parks police.uk extract imported into a live app's
store; run Gi*, see the overlay, its legend and the target table, toggle the overlay, download the GeoPackage and
read it with pyogrio; axe-core finds no serious or critical violations; it fits 360 px and a desktop.

Every request that is not to 127.0.0.1 is aborted (base map tiles fail, which is allowed).
"""

import tempfile
from pathlib import Path

import pyogrio
import pytest


from mapper import create_app
from mapper.config import PROJECT_DIR
from mapper.importers.police_uk import import_police
from tests.live import offline, serving

pytestmark = pytest.mark.browser

NEW_PARKS = Path(__file__).resolve().parent.parent / "data" / "police" / "new_parks_leicester_2023-01_to_2024-12.csv"
AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True}
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
SCREENSHOTS = Path(tempfile.gettempdir()) / "mapper-screenshots"  # for a person to look at; not kept


@pytest.fixture(scope="module")
def analyst_server(tmp_path_factory):
    app = create_app({"DATA_DIR": tmp_path_factory.mktemp("hotspot-store"), "TESTING": True})
    resources = app.extensions["mapper"]
    report = import_police([NEW_PARKS], "new-parks", schema=resources.schema, zones=resources.zones(),
                           store=resources.store)
    assert report.added > 6000
    with serving(app, "hotspot-server") as url:
        yield url


@pytest.fixture
def analyst(browser, analyst_server):
    """``analyst(**context options)`` -> a page that can reach only the live app; ``page.errors`` has script errors."""
    contexts = []

    def open_page(**options):
        context = browser.new_context(base_url=analyst_server, locale="en-GB", accept_downloads=True, **options)
        contexts.append(context)
        return offline(context.new_page())

    yield open_page
    for context in contexts:
        context.close()


def run_gi(page):
    page.goto("/zones/new-parks/hotspots")
    page.get_by_label("Police-recorded crime and anti-social behaviour (police.uk)").check()
    page.get_by_label("Getis-Ord Gi* (hot and cold spots, with confidence)").check()
    page.get_by_label("From", exact=True).fill("2024-01")
    page.get_by_label("To", exact=True).fill("2024-12")
    page.get_by_role("button", name="Run the analysis").click()
    page.locator("#hotspots-map[data-ready='true']").wait_for()
    return page


def axe_violations(page):
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script> tag: the page's CSP refuses inline ones
    results = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def test_gi_overlay_legend_targets_toggle_and_geopackage(analyst, tmp_path):
    page = run_gi(analyst(**DESKTOP))
    cells = page.locator("path.hotspot-cell")
    hot = page.locator("path.hotspot-class-3")
    assert cells.count() > 10 and hot.count() > 0
    assert page.locator("path.target-area").count() > 0
    assert "Hot Spot with 99% Confidence" in page.locator("#legend").inner_text()
    first_row = page.locator("#targets-table tbody tr").first
    assert first_row.locator("th").inner_text() == "1" and "Anti-social behaviour" in first_row.inner_text()
    assert "hotspot cells" in page.locator("#map-status").inner_text()

    # The overlay goes and comes back from its checkbox, by keyboard.
    toggle = page.get_by_label("Hotspot cells")
    toggle.focus()
    page.keyboard.press("Space")
    assert not toggle.is_checked() and cells.count() == 0
    assert page.locator("path.target-area").count() > 0
    page.keyboard.press("Space")
    assert cells.count() > 10

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Hotspot cells, GeoPackage, EPSG:27700").click()
    download = download_info.value
    assert download.suggested_filename.startswith("new-parks_hotspots-gi-crime-anti-social-behaviour_")
    assert download.suggested_filename.endswith("_27700.gpkg")
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    info = pyogrio.read_info(path)
    assert info["features"] > 1000 and "27700" in info["crs"] and "GiZScore" in info["fields"]
    meta, _, _, fields = pyogrio.raw.read(path, columns=["Gi_Bin"])
    assert (fields[0] == 3).sum() == hot.count()  # the map draws exactly the 99 % hot cells the file has
    assert page.errors == []


@pytest.mark.parametrize("size, name", [(PHONE, "360"), (DESKTOP, "desktop")])
def test_axe_width_and_screenshots(analyst, size, name):
    page = run_gi(analyst(**size))
    assert axe_violations(page) == []
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= size["viewport"]["width"]  # wide tables scroll inside their own region, not the page
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"hotspots-{name}.png"), full_page=True)
    assert page.errors == []


def test_the_page_without_javascript_still_gives_the_table_and_links(analyst):
    page = analyst(java_script_enabled=False, **PHONE)
    page.goto("/zones/new-parks/hotspots?use=crime&filter-crime=anti-social-behaviour&method=gi")
    assert page.locator("#targets-table tbody tr").count() > 3
    assert not page.locator("#map-panel").is_visible()  # no empty map where there is no script
    assert page.get_by_role("link", name="Target areas, KML, EPSG:4326").count() == 1
