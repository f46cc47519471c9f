"""The zone map's asset filters and name search in real Chromium, offline: category checkboxes hide markers, the
search lists matches and opens their popups, hostile names stay text, and the controls fit a 360 px phone."""


import pytest

from mapper import create_app
from tests.helpers import point_feature
from tests.render.populate import points_inside, submit
from tests.live import offline, serving, wait_until

pytestmark = pytest.mark.browser

ZONE = "thringstone-whitwick"
HOSTILE = "<img src=x onerror=window.__xss=1>"
ASSETS = [  # (name, category)
    ("St Mary's Pantry", "food-bank"),
    ("Café Léon Food Share", "food-bank"),
    ("Whitwick Youth Club", "youth-service"),
    ("Thringstone Community Centre", "community-hub"),
    (f"Hub {HOSTILE}", "community-hub"),
]
PENDING = "Unmoderated Pantry"


def publish(resources, feature):
    """Approve a contribution, as a moderator would (`mapper moderate approve`)."""
    from mapper.lifecycle import change_status

    return change_status(resources.store, resources.schema.layer("assets"), ZONE, feature["id"], "published",
                         by="test")


@pytest.fixture(scope="module")
def asset_server(tmp_path_factory):
    """Five published assets and one pending one in Thringstone & Whitwick, served on 127.0.0.1."""
    app = create_app({"DATA_DIR": tmp_path_factory.mktemp("asset-filters"), "TESTING": True})
    resources = app.extensions["mapper"]
    lon, lat = points_inside(resources.zones().get(ZONE), len(ASSETS) + 1, seed=11)
    for position, (name, category) in enumerate(ASSETS):
        stored = submit(resources, "assets", point_feature(lon[position], lat[position], category=category, name=name,
                                                           description=f"About {name}"), zone_id=ZONE)
        publish(resources, stored)
    submit(resources, "assets", point_feature(lon[-1], lat[-1], category="food-bank", name=PENDING), zone_id=ZONE)
    with serving(app, "asset-filters") as url:
        yield url


def open_map(page, base_url):
    page.goto(f"{base_url}/zones/{ZONE}")
    wait_until(page, "() => (document.querySelector('.map-status') || {}).textContent"
                           ".indexOf('Community assets: 5 on the map.') >= 0")
    legend = page.locator(".map-legend")
    if not legend.evaluate("box => box.open"):
        page.locator(".map-legend summary").click()
    return legend


def assets_shown(page):
    """Asset features drawn on the map: single markers plus the counts on clusters."""
    return page.evaluate("""() => {
        let total = document.querySelectorAll('.leaflet-marker-pane .pz-point--symbol').length;
        for (const cluster of document.querySelectorAll('.leaflet-marker-pane .pz-cluster--symbol')) {
            total += parseInt(cluster.textContent, 10);
        }
        return total;
    }""")


def map_zoom(page):
    return page.evaluate("() => { for (const k in window) { if (k.startsWith('map_') && window[k] instanceof L.Map) "
                         "return window[k].getZoom(); } }")


def search_box(page):
    return page.get_by_role("searchbox", name="Find by name")


def test_unticking_a_category_hides_its_markers(offline_page, asset_server):
    page = offline_page
    open_map(page, asset_server)
    assert assets_shown(page) == 5
    food_banks = page.get_by_role("checkbox", name="Food bank")
    assert food_banks.is_checked()
    food_banks.uncheck()
    wait_until(page, "() => document.querySelector('.map-status').textContent"
                           ".indexOf('Community assets: 3 of 5 on the map.') >= 0")
    assert assets_shown(page) == 3
    titles = page.locator(".leaflet-marker-pane .pz-point--symbol").evaluate_all("els => els.map(e => e.title)")
    assert not any(title.endswith("Food bank") for title in titles)
    page.get_by_role("button", name="Hide all").click()
    wait_until(page, "() => document.querySelectorAll('.leaflet-marker-pane [class*=--symbol]').length === 0")
    page.get_by_role("button", name="Show all").click()
    wait_until(page, "() => document.querySelector('.map-status').textContent"
                           ".indexOf('Community assets: 5 on the map.') >= 0")
    assert assets_shown(page) == 5 and food_banks.is_checked()
    assert page.errors == []


def test_typing_part_of_a_name_lists_the_match_and_hides_the_rest(offline_page, asset_server):
    page = offline_page
    open_map(page, asset_server)
    search_box(page).fill("youth")
    matches = page.locator(".legend-matches button")
    matches.first.wait_for()
    assert matches.all_inner_texts() == ["Whitwick Youth Club\nYouth service"]
    assert page.locator(".legend-matches-summary").inner_text() == "1 match."
    assert assets_shown(page) == 1
    # Case and accents are ignored; names starting with the text come first.
    search_box(page).fill("cafe LEON")
    wait_until(page, "() => document.querySelector('.legend-matches button .legend-match-name')"
                           "?.textContent === 'Café Léon Food Share'")
    # A pending contribution is not in the public payload, so it can never be found.
    search_box(page).fill("unmoderated")
    wait_until(page, "() => document.querySelector('.legend-matches-summary').textContent"
                           ".startsWith('No name matches')")
    assert matches.count() == 0 and assets_shown(page) == 0
    # Matches in unticked categories are counted, not listed.
    page.get_by_role("checkbox", name="Food bank").uncheck()
    search_box(page).fill("pantry")
    wait_until(page, "() => document.querySelector('.legend-matches-summary').textContent"
                           " === 'No name matches “pantry” (1 more in categories not shown).'")
    search_box(page).press("Escape")
    assert search_box(page).input_value() == ""
    wait_until(page, "() => document.querySelector('.map-status').textContent"
                           ".indexOf('Community assets: 3 of 5 on the map.') >= 0")


def test_choosing_a_match_zooms_to_it_and_opens_its_popup(offline_page, asset_server):
    page = offline_page
    open_map(page, asset_server)
    before = map_zoom(page)
    search_box(page).fill("mary")
    page.locator(".legend-matches button").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.locator("dd").first.wait_for()
    assert popup.locator("h3").inner_text() == "St Mary's Pantry"
    assert popup.locator(".pz-popup-category").inner_text() == "Food bank"
    assert "About St Mary's Pantry" in popup.locator("dl").inner_text()
    assert map_zoom(page) >= max(before, 17)


def test_search_works_from_the_keyboard_alone(offline_page, asset_server):
    page = offline_page
    open_map(page, asset_server)
    search_box(page).focus()
    page.keyboard.type("community")
    page.locator(".legend-matches button").first.wait_for()
    page.keyboard.press("ArrowDown")
    assert page.evaluate("document.activeElement.textContent") == "Thringstone Community CentreCommunity hub"
    page.keyboard.press("Enter")
    heading = page.locator(".leaflet-popup-content h3")
    heading.wait_for()
    assert heading.inner_text() == "Thringstone Community Centre"
    assert page.evaluate("document.activeElement.tagName") == "H3"  # focus went into the popup
    page.keyboard.press("Escape")
    wait_until(page, "() => !document.querySelector('.leaflet-popup')")
    assert page.evaluate("document.activeElement.classList.contains('legend-match-name') || "
                         "document.activeElement.closest('.legend-matches') !== null")
    # Enter in the box opens the first match directly; every focused control shows a visible outline.
    search_box(page).fill("whitwick")
    page.locator(".legend-matches button").first.wait_for()
    search_box(page).press("Enter")
    page.locator(".leaflet-popup-content h3").wait_for()
    assert page.locator(".leaflet-popup-content h3").inner_text() == "Whitwick Youth Club"
    page.keyboard.press("Escape")
    search_box(page).focus()
    page.keyboard.press("Tab")
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") == "solid"


def test_a_hostile_name_is_shown_literally(offline_page, asset_server):
    page = offline_page
    open_map(page, asset_server)
    search_box(page).fill("hub")
    name = page.locator(".legend-matches .legend-match-name")
    name.first.wait_for()
    assert name.all_inner_texts() == [f"Hub {HOSTILE}"]
    page.locator(".legend-matches button").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.locator("dd").first.wait_for()
    assert popup.locator("h3").inner_text() == f"Hub {HOSTILE}"
    titles = page.locator(".leaflet-marker-pane .pz-point--symbol").evaluate_all("els => els.map(e => e.title)")
    assert f"Hub {HOSTILE} – Community hub" in titles
    assert page.locator(".map-legend img, .leaflet-popup img, .leaflet-marker-pane img").count() == 0
    assert page.evaluate("window.__xss") is None


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2, has_touch=True,
                                  is_mobile=True)
    yield offline(context.new_page())
    context.close()


def test_on_a_360px_phone_the_filters_start_folded_and_have_44px_targets(phone_page, asset_server, tmp_path):
    page = phone_page
    page.goto(f"{asset_server}/zones/{ZONE}")
    wait_until(page, "() => (document.querySelector('.map-status') || {}).textContent"
                           ".indexOf('Community assets: 5 on the map.') >= 0")
    legend = page.locator(".map-legend")
    assert legend.evaluate("box => box.open") is False  # folded: the map is not covered
    folded = legend.bounding_box()
    assert folded["height"] < 80 and folded["width"] < 250
    page.screenshot(path=str(tmp_path / "phone-folded.png"))
    summary = page.locator(".map-legend summary")
    assert summary.bounding_box()["height"] >= 44
    summary.tap()
    search_box(page).fill("pantry")
    page.locator(".legend-matches button").first.wait_for()
    targets = [search_box(page), page.locator(".legend-matches button").first,
               page.locator(".legend-filters label").first, page.get_by_role("button", name="Show all")]
    for target in targets:
        box = target.bounding_box()
        assert box["height"] >= 44, target
        assert 0 <= box["x"] and box["x"] + box["width"] <= 360, target
    page.screenshot(path=str(tmp_path / "phone-filters.png"))
    # Choosing a match folds the legend again so the popup is not hidden under it.
    page.locator(".legend-matches button").first.tap()
    page.locator(".leaflet-popup-content h3").wait_for()
    assert legend.evaluate("box => box.open") is False
    assert page.locator(".leaflet-popup-content h3").inner_text() == "St Mary's Pantry"
    page.screenshot(path=str(tmp_path / "phone-popup.png"))


def test_down_arrow_straight_after_typing_reaches_the_matches_of_everything_typed(offline_page, asset_server):
    page = offline_page
    open_map(page, asset_server)
    search_box(page).focus()
    page.keyboard.type("community centre")
    page.keyboard.press("ArrowDown")  # before the search delay has run out: no list drawn later steals the focus
    assert page.evaluate("document.activeElement.textContent") == "Thringstone Community CentreCommunity hub"
    page.wait_for_timeout(600)  # past the search delay: the focus stays where the keyboard put it
    assert page.evaluate("document.activeElement.textContent") == "Thringstone Community CentreCommunity hub"
