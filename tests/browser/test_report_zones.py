"""A faulty light reported from the phone's GPS in each zone, as the issue asks ("geolocation set to a point inside
each zone"): the report is stored in that zone, its reference carries the zone's prefix, and its tracking page
loads. The shared fixtures (a fresh app per test, a 360x740 phone with GPS) are those of test_report.py."""

import re

import pytest

from tests.browser.test_report import (open_report, phone, report_app, server, stored, stored_everywhere,  # noqa: F401
                                       submitted_ref, tracking, use_gps)
from tests.helpers import INSIDE

pytestmark = pytest.mark.browser

PREFIXES = {"bell-foundry": "BF", "new-parks": "NP", "thringstone-whitwick": "TW"}
NAMES = {"bell-foundry": "Bell Foundry", "new-parks": "New Parks", "thringstone-whitwick": "Thringstone & Whitwick"}


def test_every_shipped_zone_is_covered():
    assert set(PREFIXES) == set(INSIDE)


@pytest.mark.parametrize("zone_id", sorted(INSIDE))
def test_a_faulty_light_reported_by_gps_is_stored_in_the_zone_it_is_in(phone, report_app, zone_id):
    lon, lat = INSIDE[zone_id]
    page = open_report(phone(zone=zone_id))
    use_gps(page)
    assert page.locator("#gps-status").inner_text() == "Located to within 12 m."
    page.get_by_label("Light out").check()
    page.get_by_role("button", name="Send the report").click()
    ref = submitted_ref(page)
    assert re.fullmatch(rf"{PREFIXES[zone_id]}-[0-9A-Z]+", ref), ref

    everywhere = stored_everywhere(report_app)
    assert {zone: len(features) for zone, features in everywhere.items()} == {
        zone: int(zone == zone_id) for zone in INSIDE}
    (feature,) = everywhere[zone_id]
    assert feature["properties"]["ref"] == ref and feature["properties"]["category"] == "out"
    assert feature["properties"]["zone"] == zone_id
    assert feature["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert tracking(report_app, ref)["zone"] == zone_id

    page.locator("#done-link").click()
    page.wait_for_url(f"**/r/{ref}")
    main = page.locator("main").inner_text()
    assert ref in main and NAMES[zone_id] in main and "Light out" in main
    assert page.errors == []
