"""The lamp-column picker on the resident's report page, in real Chromium as a 360 px phone with GPS.

A small inventory of three columns stands around the phone's position in Bell Foundry (one with hostile location
text); New Parks has none. The phone, the app and its server are those of tests/browser/test_report.py.
"""

import json
import re

import pytest

from mapper.crs import from_british_national_grid, to_british_national_grid
from mapper.importers.columns import import_columns
from tests.browser.conftest import XSS
from tests.browser.test_report import (  # noqa: F401 (fixtures)
    axe_violations, open_report, phone, report_app, server, stored, submitted_ref, use_gps)
from tests.helpers import INSIDE, point_feature
from tests.live import wait_until

pytestmark = pytest.mark.browser

# Metres east and north of the phone's GPS position: C1 is the nearest, so the automatic link would choose it.
COLUMNS = {"C1": (8, 0, "Bell Street o/s 4"), "C2": (-20, 0, "Bell Street o/s 11"), "C3": (0, 30, XSS)}


@pytest.fixture
def columns(report_app, tmp_path):
    """The three columns imported into Bell Foundry from a GeoJSON inventory; returns unit id -> (lon, lat)."""
    easting, northing = (float(v) for v in to_british_national_grid(*INSIDE["bell-foundry"]))
    positions = {unit: tuple(round(float(v), 7) for v in from_british_national_grid(easting + east, northing + north))
                 for unit, (east, north, _) in COLUMNS.items()}
    path = tmp_path / "columns.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        point_feature(*positions[unit], unit_id=unit, location=location)
        for unit, (_, _, location) in COLUMNS.items()]}), encoding="utf-8")
    resources = report_app.extensions["mapper"]
    assert import_columns(path, "bell-foundry", schema=resources.schema, zones=resources.zones(),
                          store=resources.store).added == 3
    return positions


def picker_ready(page, count=3):
    page.locator("#column-picker").wait_for(state="visible")
    wait_until(page, "(count) => document.querySelectorAll('.column-marker').length === count", arg=count)


def pin_position(page):
    return float(page.locator("#lon").input_value()), float(page.locator("#lat").input_value())


def test_tapping_a_column_on_the_map_selects_it_and_the_report_carries_it(phone, report_app, columns):
    page = open_report(phone())
    use_gps(page)
    picker_ready(page)
    values = page.locator("#column-choices input").evaluate_all("radios => radios.map(radio => radio.value)")
    assert values == ["", "C1", "C2", "C3"]  # nearest first, after "not sure"
    for name in ("Not sure: link the nearest column for me", "Column C1, 8 m away, Bell Street o/s 4",
                 "Column C2, 20 m away, Bell Street o/s 11", f"Column C3, 30 m away, {XSS}"):
        assert page.get_by_role("radio", name=name, exact=True).count() == 1, name
    assert page.locator("#column-choices .column-badge").all_inner_texts() == ["1", "2", "3"]
    assert "Lamp columns near your pin: 3" in page.locator("#column-status").inner_text()
    for box in (marker.bounding_box() for marker in page.locator(".column-marker").all()):
        assert box["width"] >= 44 and box["height"] >= 44

    page.locator('.column-marker[title="Lamp column C2"]').tap()  # not the nearest: the resident knows better
    assert page.locator("#column-status").inner_text() == "Column C2 selected."
    assert page.get_by_role("radio", name=re.compile("Column C2")).is_checked()
    assert page.locator(".column-marker--chosen").get_attribute("title") == "Lamp column C2"
    assert pin_position(page) == pytest.approx(columns["C2"], abs=2e-6)
    assert page.get_by_role("button", name="Clear the column").is_visible()

    posted = []
    page.on("request", lambda request: posted.append(request.post_data) if request.method == "POST" else None)
    page.get_by_role("button", name="Send the report").click()
    submitted_ref(page)
    # The pin sits on C2, so intake alone would link C2 too: the form must have named it.
    assert len(posted) == 1 and re.search(r'name="column"\r\n\r\nC2\r\n', posted[0])
    (feature,) = stored(report_app, "bell-foundry")
    assert feature["properties"]["column"] == "C2"
    assert feature["geometry"]["coordinates"] == pytest.approx(list(columns["C2"]), abs=2e-6)
    assert page.errors == []


def test_the_list_works_from_the_keyboard_and_hostile_location_text_stays_text(phone, report_app, columns):
    page = open_report(phone())
    use_gps(page)
    picker_ready(page)
    label = page.locator("#column-choices label").filter(has_text="Column C3")
    assert XSS in label.inner_text()
    assert page.locator("#column-picker img").count() == 0 and page.evaluate("() => window.__xss") is None
    page.locator("#column-pick-none").focus()
    page.keyboard.press("ArrowDown")  # C1
    page.keyboard.press("ArrowDown")  # C2
    page.keyboard.press("ArrowDown")  # C3
    assert page.locator("#column-status").inner_text() == "Column C3 selected."
    assert pin_position(page) == pytest.approx(columns["C3"], abs=2e-6)
    assert axe_violations(page) == []

    page.get_by_role("button", name="Clear the column").click()
    assert page.locator("#column-status").inner_text().startswith("No column chosen")
    assert page.locator("#column-pick-none").is_checked() and page.locator("#column").input_value() == ""
    assert page.evaluate("() => document.activeElement.id") == "column-pick-none"
    assert page.locator(".column-marker--chosen").count() == 0
    page.get_by_role("button", name="Use my location").click()  # the pin back where the phone is
    wait_until(page, "() => document.getElementById('lat').value === '52.770000'")
    page.get_by_role("button", name="Send the report").click()
    submitted_ref(page)
    (feature,) = stored(report_app, "bell-foundry")
    assert feature["properties"]["column"] == "C1"  # none chosen: intake links the nearest to the pin
    assert page.errors == []


def test_moving_the_pin_away_from_the_chosen_column_unselects_it(phone, columns):
    page = open_report(phone())
    use_gps(page)
    picker_ready(page)
    page.get_by_label(re.compile("Column C1")).check()
    assert page.locator("#column").input_value() == "C1"
    lon, lat = columns["C1"]
    page.locator("#by-hand summary").click()
    page.get_by_label("Latitude").fill(str(round(lat + 60 / 111_320, 6)))  # 60 m north: beyond 25 m
    page.get_by_label("Latitude").dispatch_event("change")
    status = page.locator("#column-status")
    status.filter(has_text="no longer selected").wait_for()
    assert "Column C1" in status.inner_text() and "25 m" in status.inner_text()
    assert page.locator("#column").input_value() == "" and page.locator("#column-pick-none").is_checked()


def test_a_chosen_column_goes_with_an_offline_draft(phone, report_app, columns):
    page = open_report(phone())
    use_gps(page)
    picker_ready(page)
    page.get_by_label(re.compile("Column C2")).check()
    page.context.set_offline(True)
    page.get_by_role("button", name="Send the report").click()
    page.locator("#report-status").filter(has_text="Saved on this phone").wait_for()
    fields = page.evaluate("() => window.reportPage.drafts().then(all => all[0].fields)")
    assert ["column", "C2"] in fields and not any(name == "column_pick" for name, _ in fields)
    page.context.set_offline(False)
    submitted_ref(page)
    (feature,) = stored(report_app, "bell-foundry")
    assert feature["properties"]["column"] == "C2"


def test_a_zone_without_columns_shows_no_picker(phone, report_app, columns):
    page = open_report(phone(zone="new-parks"))
    asked = []
    page.on("request", lambda request: asked.append(request.url) if "/columns/" in request.url else None)
    use_gps(page)
    page.locator("#by-hand summary").click()
    assert page.locator("#column-picker").is_hidden() and page.locator("#column-by-hand").is_hidden()
    assert page.locator(".column-marker").count() == 0 and page.locator("#column-status").inner_text() == ""
    page.get_by_role("button", name="Send the report").click()
    submitted_ref(page)
    assert asked == []
    (feature,) = stored(report_app, "new-parks")
    assert "column" not in feature["properties"]


def test_without_any_inventory_the_page_has_no_trace_of_the_picker(phone):
    page = open_report(phone())
    use_gps(page)
    assert page.locator("#column-picker, #column, #column-status, .column-marker").count() == 0


def test_without_javascript_the_number_on_the_plate_is_enough(phone, report_app, columns):
    page = phone(java_script_enabled=False)
    page.goto("/report")
    page.get_by_label("Lamp column number (optional)").fill("C9")
    page.get_by_role("button", name="Send the report").click()
    assert "We can't find lamp column C9" in page.locator("#error-summary").inner_text()
    assert stored(report_app, "bell-foundry") == []
    page.get_by_label("Lamp column number (optional)").fill("C3")
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(re.compile(r"/r/[A-Z]{2,3}-[0-9A-Z]+$"))
    (feature,) = stored(report_app, "bell-foundry")
    assert feature["properties"]["column"] == "C3"
    assert feature["geometry"]["coordinates"] == pytest.approx(list(columns["C3"]), abs=2e-6)


def test_with_no_pin_the_typed_column_number_says_where(phone, report_app, columns):
    page = open_report(phone())
    page.locator("#by-hand summary").click()
    page.get_by_label("Lamp column number (optional)").fill("C2")
    page.get_by_role("button", name="Send the report").click()
    submitted_ref(page)
    (feature,) = stored(report_app, "bell-foundry")
    assert feature["properties"]["column"] == "C2" and "location_approximate" not in feature["properties"]
    assert feature["geometry"]["coordinates"] == pytest.approx(list(columns["C2"]), abs=2e-6)


def test_320_pixels_wide_the_picker_needs_no_horizontal_scrolling_and_its_targets_are_44_pixels(phone, columns):
    page = open_report(phone(viewport={"width": 320, "height": 640}))
    use_gps(page)
    picker_ready(page)
    page.get_by_label(re.compile("Column C3")).check()  # the longest label, and the Clear button shown
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 320
    small = page.evaluate("""() => [...document.querySelectorAll(
            '#column-choices label, #column-clear, .column-marker')]
        .filter(el => el.offsetParent !== null || el.classList.contains('column-marker'))
        .map(el => { const r = el.getBoundingClientRect(); return {what: el.outerHTML.slice(0, 60),
                                                                  width: r.width, height: r.height}; })
        .filter(box => box.width < 44 || box.height < 44)""")
    assert small == []
