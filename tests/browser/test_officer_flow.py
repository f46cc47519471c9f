"""The whole officer flow in real Chromium: an officer account made with mapper.accounts, sign in through the /login
form, open the repairs page, filter by status, change one report's status through the detail panel with a public
note and an internal note, then, signed out in a fresh browser context, the resident's tracking page shows the new
status and the public note and neither the internal note nor the officer's name.

Its own app on a fresh temporary store, served on 127.0.0.1; every other host is unreachable.
"""


import pytest

from mapper import create_app, intake, lifecycle
from mapper.accounts import Accounts
from tests.helpers import INSIDE, point_feature
from tests.live import offline, serving, sign_in, wait_until

pytestmark = pytest.mark.browser

ZONE = "bell-foundry"
OFFICER, PASSWORD = "priya.shah", "lantern-column-4417"
PUBLIC_NOTE = "A crew is booked for Thursday night."
INTERNAL_NOTE = "DNO fault ref 8841; ring Dave before the visit"


@pytest.fixture
def flow_app(tmp_path):
    """Three lighting reports in Bell Foundry (one already confirmed) and an officer for the zone."""
    app = create_app({"DATA_DIR": tmp_path / "store", "TESTING": True})
    resources = app.extensions["mapper"]
    Accounts(app.config["DATA_DIR"]).add(OFFICER, "officer", [ZONE], PASSWORD)
    lon, lat = INSIDE[ZONE]
    made = []
    for offset, category, description in ((0, "out", "Lamp out by the bus stop"), (0.001, "dim", "Very dim"),
                                          (0.002, "flickering", "Flickers all night")):
        made.append(intake.submit(point_feature(lon + offset, lat, category=category, description=description),
                                  "lights", schema=resources.schema, zones=resources.zones(), store=resources.store))
    lights = resources.schema.layer("lights")
    lifecycle.change(resources.store, lights, lifecycle.lifecycle_for(app.config["LAYERS_FILE"], lights), ZONE,
                     made[2]["id"], by="someone.else", status="confirmed")
    return {"app": app, "reports": made}


@pytest.fixture
def server(flow_app):
    with serving(flow_app["app"], "officer-flow-server") as url:
        yield url


def new_page(browser, server):
    context = browser.new_context(base_url=server, locale="en-GB")
    return context, offline(context.new_page())


def test_an_officer_changes_a_status_and_the_resident_sees_it(browser, server, flow_app):
    target, dim, confirmed = flow_app["reports"]
    ref = target["properties"]["ref"]
    officer_context, page = new_page(browser, server)

    # Sign in through the form: the repairs page sends a signed-out visitor there and back.
    sign_in(page, f"/zones/{ZONE}/repairs", OFFICER, PASSWORD)
    assert page.get_by_role("heading", name="Lighting repairs").is_visible()
    assert page.locator("table.worklist tbody tr").count() == 3

    # Filter by status: only the two reports still "Reported" stay, in the list and on the map.
    page.get_by_label("Status", exact=True).select_option(label="Reported")
    page.get_by_role("button", name="Show").click()
    page.wait_for_url("**status=open**")
    page.wait_for_selector("#repair-map[data-ready=true]")
    rows = page.locator("table.worklist tbody tr")
    assert sorted(rows.evaluate_all("rows => rows.map(r => r.dataset.ref)")) == sorted(
        [ref, dim["properties"]["ref"]])
    assert page.locator(".repair-pin").count() == 2

    # Open the report from its row and change it in the panel.
    page.locator(f"#report-{ref} a.report-ref").click()
    panel = page.locator("#repair-panel")
    wait_until(page, "document.querySelector('.repair-panel-change') !== null")
    assert panel.get_by_role("heading", name=f"Report {ref}").is_visible()
    assert "Lamp out by the bus stop" in panel.inner_text()
    panel.get_by_label("New status").select_option(label="Repair scheduled")
    panel.get_by_label("Priority").select_option(label="Short term")
    panel.get_by_label("Public note (on the tracking page)").fill(PUBLIC_NOTE)
    panel.get_by_label("Internal note (officers only)").fill(INTERNAL_NOTE)
    panel.get_by_role("button", name="Save").click()
    page.wait_for_selector(".result .changed")
    assert page.locator(".result .changed").inner_text() == f"1 report changed: {ref}"
    assert page.locator(".counts [data-status=action-scheduled]").inner_text() == "1"
    assert page.locator(f"#report-{ref}").count() == 0  # no longer "Reported": the filter leaves it out now

    # The officer sees who changed it and the internal note in the panel of the same report.
    page.goto(f"/zones/{ZONE}/repairs?status=action-scheduled")
    page.wait_for_selector("#repair-map[data-ready=true]")
    page.locator(f".repair-pin[data-id='{target['id']}']").click()
    wait_until(page, "document.querySelector('.repair-history') !== null")
    history = panel.locator(".repair-history").inner_text()
    assert f"By {OFFICER}" in history and INTERNAL_NOTE in history and PUBLIC_NOTE in history
    assert page.errors == []
    officer_context.close()

    # A resident, signed out, in a new browser context.
    resident_context, resident = new_page(browser, server)
    resident.goto(f"/r/{ref}")
    main = resident.locator("main").inner_text()
    assert "Status: Repair scheduled" in main and PUBLIC_NOTE in main and "Short term" in main
    for hidden in (INTERNAL_NOTE, "DNO", OFFICER, "priya", "someone.else"):
        assert hidden not in resident.content()
    answer = resident.request.get(f"/r/{ref}.json")
    assert answer.json()["status"] == "action-scheduled"
    assert INTERNAL_NOTE not in answer.text() and OFFICER not in answer.text()
    assert resident.request.get(f"/zones/{ZONE}/repairs/{target['id']}.json",
                                headers={"Accept": "application/json"}).status == 401
    assert resident.errors == []
    resident_context.close()
