"""The zone map in Polish, in real Chromium on a 360 px phone: the words zone-map.js builds (the legend's status
line, popups, the search summary) come from the page's translated strings, not from English in the script."""


import pytest

from mapper import create_app
from mapper.lifecycle import change_status
from tests.browser.test_report import PHONE
from tests.helpers import point_feature
from tests.render.populate import points_inside, submit
from tests.web.test_i18n import compile_catalogue
from tests.live import offline, serving, wait_until

pytestmark = pytest.mark.browser

POLISH = {
    "Legend and search": "Legenda i wyszukiwanie",
    "Community assets": "Miejsca dla społeczności",
    "Lighting faults and dark spots": "Awarie oświetlenia i ciemne miejsca",
    "Food bank": "Bank żywności",
    "Find by name": "Znajdź po nazwie",
    "{layer}: {count} on the map.": "{layer}: {count} na mapie.",
    "Status": "Stan",
    "On the map": "Na mapie",
    "1 match": "1 wynik",
    "{text}.": "{text}.",
}


@pytest.fixture(scope="module")
def polish_server(tmp_path_factory):
    """An app with a Polish catalogue, one light and one published asset in New Parks, on 127.0.0.1."""
    root = tmp_path_factory.mktemp("zone-map-pl")
    compile_catalogue(root / "translations", "pl", POLISH)
    app = create_app({"DATA_DIR": root / "store", "TESTING": True,
                      "BABEL_TRANSLATION_DIRECTORIES": str(root / "translations")})
    resources = app.extensions["mapper"]
    lon, lat = points_inside(resources.zones().get("new-parks"), 2, seed=4)
    submit(resources, "lights", point_feature(lon[0], lat[0], category="out"))
    asset = submit(resources, "assets", point_feature(lon[1], lat[1], category="food-bank", name="Spiżarnia Nowe Parki"))
    change_status(resources.store, resources.schema.layer("assets"), "new-parks", asset["id"], "published", by="test")
    with serving(app, "zone-map-pl") as url:
        yield url


@pytest.fixture
def polish_phone(browser, polish_server):
    context = browser.new_context(**PHONE, base_url=polish_server)
    yield offline(context.new_page())
    context.close()


def test_script_built_words_are_polish(polish_phone, tmp_path):
    page = polish_phone
    page.goto("/zones/new-parks?lang=pl")
    wait_until(page, "() => document.querySelector('.map-status').textContent"
                           ".indexOf('Miejsca dla społeczności: 1 na mapie.') >= 0")
    assert "Awarie oświetlenia i ciemne miejsca: 1 na mapie." in page.locator(".map-status").text_content()
    assert page.locator("html").get_attribute("lang") == "pl"
    assert page.locator(".leaflet-control-zoom-in").get_attribute("title") == "Zoom in"  # not in the catalogue
    page.screenshot(path=str(tmp_path / "zone-map-pl-360.png"))

    page.locator(".map-legend summary").click()  # folded on a phone
    page.get_by_role("searchbox", name="Znajdź po nazwie").fill("spiż")
    summary = page.locator(".legend-matches-summary")
    summary.filter(has_text="1 wynik.").wait_for()
    page.locator(".legend-matches button").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.locator("dd").first.wait_for()
    assert popup.locator("h3").inner_text() == "Spiżarnia Nowe Parki"
    assert popup.locator(".pz-popup-category").inner_text() == "Bank żywności"
    assert dict(zip(popup.locator("dt").all_inner_texts(), popup.locator("dd").all_inner_texts()))["Stan"] == "Na mapie"
    page.screenshot(path=str(tmp_path / "zone-map-pl-popup-360.png"))
    assert page.errors == []


def test_the_english_map_says_the_same_in_english(polish_phone):
    page = polish_phone
    page.goto("/zones/new-parks?lang=en")
    wait_until(page, "() => document.querySelector('.map-status').textContent"
                           ".indexOf('Community assets: 1 on the map.') >= 0")
    assert page.locator("html").get_attribute("lang") == "en-GB"
    assert "na mapie" not in page.locator(".map-status").text_content()
