"""The moderation page in real Chromium, offline: an officer signs in, approves a pending asset and finds it on the
public zone map, then hides a report's abusive description and the resident's tracking page shows the placeholder."""


import pytest

from mapper import create_app
from mapper.accounts import Accounts
from mapper.moderation import PLACEHOLDER
from tests.browser.conftest import XSS
from tests.helpers import point_feature
from tests.live import serving, sign_in, wait_until
from tests.render.populate import points_inside, submit

pytestmark = pytest.mark.browser

ZONE = "new-parks"
PASSWORD = "correct horse battery"
ABUSE = f"The man at no. 12 is a [slur] {XSS}"


@pytest.fixture
def moderation_server(tmp_path):
    """A pending asset and a lighting report with abusive text in New Parks, an officer of the zone, served live."""
    app = create_app({"DATA_DIR": tmp_path / "store", "TESTING": True})
    Accounts(tmp_path / "store").add("alice", "officer", [ZONE], PASSWORD)
    resources = app.extensions["mapper"]
    lon, lat = points_inside(resources.zones().get(ZONE), 2, seed=5)
    asset = submit(resources, "assets", point_feature(lon[0], lat[0], category="food-bank", name="Parks Pantry",
                                                      description="Tuesdays 10-12", contact_name="Ann Contributor",
                                                      contact_email="ann@example.org"), zone_id=ZONE)
    report = submit(resources, "lights", point_feature(lon[1], lat[1], category="out", description=ABUSE),
                    zone_id=ZONE)
    with serving(app, "moderation") as url:
        yield url, asset, report


def test_an_officer_approves_a_contribution_and_hides_abuse(offline_page, moderation_server, tmp_path):
    page = offline_page
    base_url, asset, report = moderation_server
    sign_in(page, f"{base_url}/zones/{ZONE}/moderation", "alice", PASSWORD)

    card = page.locator(f"article#asset-{asset['properties']['ref']}")
    assert card.locator("h3").inner_text().startswith("Parks Pantry")
    assert card.locator('[data-contact="contact_email"]').inner_text() == "ann@example.org"
    card.locator(".mini-map.leaflet-container").wait_for()  # the small map drew itself (Leaflet, served locally)
    page.screenshot(path=str(tmp_path / "moderation.png"), full_page=True)
    card.locator("button:has-text('Approve')").click()
    page.locator(".result .done").wait_for()
    assert page.locator(".result .done").inner_text() == f"Published Parks Pantry ({asset['properties']['ref']})."
    assert page.locator("article.pending").count() == 0

    page.goto(f"{base_url}/zones/{ZONE}")
    wait_until(page, "() => (document.querySelector('.map-status') || {}).textContent"
                           ".indexOf('Community assets: 1 on the map.') >= 0")
    page.locator(".pz-point--symbol").first.click()
    assert page.locator(".leaflet-popup-content").inner_text().count("Parks Pantry") >= 1

    ref = report["properties"]["ref"]
    page.goto(f"{base_url}/zones/{ZONE}/moderation")
    page.fill("#find-report", ref.lower())
    page.click("form.find button")
    found = page.locator(f'.found[data-ref="{ref}"]')
    assert found.locator('[data-field="description"]').inner_text() == ABUSE  # text, not markup
    found.locator("input[name=field][value=description]").check()
    found.locator("#hide-reason").fill("Abuse of a named neighbour")
    found.locator("button:has-text('Hide the ticked text')").click()
    page.locator(".result .done").wait_for()
    assert page.locator(".result .done").inner_text() == f"The text is hidden on {ref}."
    assert page.locator('[data-hidden="description"]').inner_text() == ABUSE  # staff still see what was hidden

    page.goto(f"{base_url}/r/{ref}")
    assert page.locator(".description").inner_text() == PLACEHOLDER
    assert "Some text was removed by a moderator." in page.locator("ol.history").inner_text()
    assert "[slur]" not in page.content() and "Abuse of a named neighbour" not in page.content()
    assert page.evaluate("window.__xss") is None
    assert page.errors == []
    assert all("127.0.0.1" not in url for url in page.blocked)
