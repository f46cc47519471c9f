"""The zone map in real Chromium, offline: Leaflet, boundary, clusters, escaped popups, layer control, legend."""

import pytest

from tests.browser.conftest import XSS
from tests.live import wait_until

pytestmark = pytest.mark.browser


def open_map(page, base_url, zone_id):
    page.goto(f"{base_url}/zones/{zone_id}")
    wait_until(page, "() => window.L && L.peopleZones")
    # The legend's live status says when every layer has loaded.
    wait_until(page, "() => (document.querySelector('.map-status') || {}).textContent.split('on the map').length > 2")


def test_offline_zone_map_draws_boundary_clusters_and_legend(offline_page, live_server, tmp_path):
    page = offline_page
    open_map(page, live_server, "bell-foundry")
    assert page.evaluate("typeof window.L.map") == "function"
    assert page.locator("path.leaflet-interactive, .leaflet-overlay-pane svg path").count() >= 1  # the boundary
    clusters = page.locator(".pz-cluster:not(.pz-cluster--legend)")
    assert clusters.count() >= 1
    counts = [int(text.replace("k", "000")) for text in clusters.all_inner_texts() if text.strip().isdigit()]
    assert sum(counts) <= 3000 and counts
    status = page.locator(".map-status").inner_text()
    assert "Lighting faults and dark spots: 3,000 on the map." in status
    assert page.locator(".map-legend").is_visible()
    assert page.locator(".map-legend li[data-category='out']").inner_text().strip() == "Light out"
    page.screenshot(path=str(tmp_path / "bell-foundry.png"))
    assert page.errors == []
    assert all("127.0.0.1" not in url for url in page.blocked)


def test_clicking_a_cluster_zooms_in(offline_page, live_server):
    page = offline_page
    open_map(page, live_server, "bell-foundry")
    before = page.evaluate("() => { for (const k in window) { if (k.startsWith('map_') && window[k] instanceof L.Map) return window[k].getZoom(); } }")
    page.locator(".pz-cluster:not(.pz-cluster--legend)").first.click()
    wait_until(page, f"() => {{ for (const k in window) {{ if (k.startsWith('map_') && window[k] instanceof L.Map) return window[k].getZoom() > {before}; }} }}")


def test_popup_shows_hostile_text_literally(offline_page, live_server, tmp_path):
    page = offline_page
    open_map(page, live_server, "new-parks")
    page.locator(".pz-point--circle").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.locator("dd").first.wait_for()
    assert popup.locator("h3").inner_text() == "Damaged (exposed wiring, door open, column leaning)"
    assert popup.locator("dd").first.inner_text() == XSS
    assert popup.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    page.screenshot(path=str(tmp_path / "popup.png"))


def test_asset_popup_links_only_http_websites(offline_page, live_server):
    page = offline_page
    open_map(page, live_server, "new-parks")
    page.locator(".pz-point--symbol").first.click()
    popup = page.locator(".leaflet-popup-content")
    popup.locator("a[rel]").first.wait_for()
    link = popup.locator("a[rel]").first
    assert link.get_attribute("href") == "https://example.org/pantry?a=1&b=2"
    assert link.get_attribute("rel") == "noopener nofollow"
    assert popup.get_by_text(f"Pantry {XSS}", exact=True).count() == 1
    assert page.evaluate("window.__xss") is None


def test_layer_control_toggles_a_layer(offline_page, live_server):
    page = offline_page
    open_map(page, live_server, "new-parks")
    assert page.locator(".pz-point--symbol").count() == 1
    checkbox = page.get_by_role("checkbox", name="Community assets")
    checkbox.uncheck()
    assert page.locator(".pz-point--symbol").count() == 0
    checkbox.check()
    page.locator(".pz-point--symbol").first.wait_for()
    assert page.locator(".pz-point--circle").count() == 1


def test_audit_walks_are_a_layer_switched_on_from_the_control(offline_page, live_server, map_data):
    from tests.gpx_helpers import shifted_into

    from mapper.accounts import Accounts

    accounts = Accounts(map_data["app"].config["DATA_DIR"])
    accounts.add("walker", "officer", ["thringstone-whitwick"], "correct horse battery")
    client = map_data["app"].test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.new_token('walker')}"
    upload = client.post("/api/zones/thringstone-whitwick/audits", content_type="multipart/form-data",
                         data={"file": (__import__("io").BytesIO(shifted_into("cerknicko-jezero.gpx")), "walk.gpx"),
                               "title": "Silver Street <b>evening</b> walk", "walkers": "3"})
    assert upload.status_code == 201, upload.get_data(as_text=True)
    walk_id = upload.get_json()["walk"]["id"]
    page = offline_page
    page.goto(f"{live_server}/zones/thringstone-whitwick")
    wait_until(page, "() => window.L && L.peopleZones")
    walks = page.get_by_role("checkbox", name="Audit walks")
    assert not walks.is_checked()  # off until asked for: nothing is downloaded for visitors who don't want it
    boundary_paths = page.locator(".leaflet-overlay-pane path").count()
    walks.check()
    wait_until(page, f"() => document.querySelectorAll('.leaflet-overlay-pane path').length > {boundary_paths}")
    # Click on the line itself (a path's bounding-box centre is usually off the stroke).
    x, y = page.evaluate("""() => {
        const path = document.querySelector(".leaflet-overlay-pane path[stroke='#6a3d9a']");
        const point = path.getPointAtLength(path.getTotalLength() / 3).matrixTransform(path.getScreenCTM());
        return [point.x, point.y];
    }""")
    page.mouse.click(x, y)
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Silver Street <b>evening</b> walk" in popup.inner_text()  # shown as text, not markup
    assert popup.locator("b").count() == 0
    assert popup.get_by_role("link").get_attribute("href") == f"/walks/thringstone-whitwick/{walk_id}"
    page.get_by_role("checkbox", name="Not yet walked").check()
    wait_until(page, "() => document.querySelectorAll(\".leaflet-overlay-pane path[stroke='#b35806']\").length > 0")


def test_hotspots_are_an_overlay_with_a_legend(offline_page, live_server, map_data):
    from pathlib import Path

    from mapper.importers.police_uk import import_police

    resources = map_data["app"].extensions["mapper"]
    extract = Path(__file__).resolve().parent.parent / "data" / "police" / \
        "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"
    import_police([extract], "bell-foundry", schema=resources.schema, zones=resources.zones(), store=resources.store)
    page = offline_page
    page.goto(f"{live_server}/zones/bell-foundry")
    wait_until(page, "() => window.L && L.peopleZones")
    hotspots = page.get_by_role("checkbox", name="Anti-social behaviour hotspots")
    assert not hotspots.is_checked()  # off until asked for
    assert page.locator(".pz-class-legend").count() == 0
    hot = ".leaflet-overlay-pane path[fill='#d73027']"
    hotspots.check()
    wait_until(page, f"() => document.querySelectorAll(\"{hot}\").length > 0")
    legend = page.locator(".pz-class-legend")
    assert "Hot spot, 99 % confidence" in legend.inner_text()  # words, not only colours
    assert "Cold spot, 99 % confidence" in legend.inner_text()
    # Cells that are not significant are not drawn: every drawn cell has one of the classes' colours.
    fills = set(page.evaluate("() => [...document.querySelectorAll('.leaflet-overlay-pane path[fill]')]"
                              ".map(p => p.getAttribute('fill'))"))
    assert "#d73027" in fills
    assert fills <= {"#1d3557", "#d73027", "#fc8d59", "#fee090", "#e0f3f8", "#91bfdb", "#4575b4"}  # boundary + classes
    page.evaluate(f"() => document.querySelector(\"{hot}\").dispatchEvent(new MouseEvent('click', {{bubbles: true}}))")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert "Hot spot, 99 % confidence" in popup.inner_text()
    hotspots.uncheck()
    wait_until(page, f"() => document.querySelectorAll(\"{hot}\").length === 0")
    assert page.locator(".pz-class-legend").count() == 0
    assert not page.errors


def click_feature(page, feature):
    """Centre the map on a stored feature at the last zoom and click the marker there; return the popup."""
    lon, lat = feature["geometry"]["coordinates"]
    x, y = page.evaluate(f"""() => {{
        let map;
        for (const k in window) {{ if (k.startsWith('map_') && window[k] instanceof L.Map) map = window[k]; }}
        map.closePopup();  // the last popup fades out for 200 ms: never read it as this click's
        map.setView([{lat}, {lon}], map.getMaxZoom(), {{animate: false}});
        const box = map.getContainer().getBoundingClientRect();
        const at = map.latLngToContainerPoint([{lat}, {lon}]);
        return [box.left + at.x, box.top + at.y];
    }}""")
    page.locator(".pz-point--circle").first.wait_for()
    wait_until(page, "() => document.querySelectorAll('.leaflet-popup').length === 0")
    page.mouse.click(x, y)
    return page.locator(".leaflet-popup-content")


def test_a_pin_among_3000_opens_its_own_feature_fetched_by_position(offline_page, live_server, map_data):
    """3,000 lights' .points carry no ids: the popup asks for the feature at its position in them, with their
    version, and shows that very feature."""
    client = map_data["app"].test_client()
    features = client.get("/api/zones/bell-foundry/lights.geojson").get_json()["features"]
    page = offline_page
    asked = []
    page.on("request", lambda request: asked.append(request.url))
    open_map(page, live_server, "bell-foundry")
    assert page.evaluate("() => fetch('/api/zones/bell-foundry/lights.points').then(r => r.json())"
                         ".then(d => 'id' in d || d.fields.includes('id'))") is False
    for feature in (features[7], features[2345]):
        popup = click_feature(page, feature)
        popup.locator("dd", has_text=feature["properties"]["description"]).wait_for()
        assert popup.locator("dd").first.inner_text() == feature["properties"]["description"]
    assert sum("/api/zones/bell-foundry/lights/at/" in url and "version=" in url for url in asked) == 2
    assert page.errors == []


def test_a_stale_version_reloads_the_points_and_the_next_click_works(offline_page, live_server, map_data):
    from mapper.lifecycle import change_status

    resources = map_data["app"].extensions["mapper"]
    client = map_data["app"].test_client()
    features = client.get("/api/zones/bell-foundry/lights.geojson").get_json()["features"]
    page = offline_page
    loads = []
    page.on("response", lambda response: loads.append(response.status)
            if "/lights.points" in response.url else None)
    open_map(page, live_server, "bell-foundry")
    # An officer moves another light on after the page loaded: the layer's version changes.
    change_status(resources.store, resources.schema.layer("lights"), "bell-foundry", features[11]["id"],
                  "investigating", by="test")
    popup = click_feature(page, features[10])
    popup.get_by_text("The map’s data has changed and is being reloaded: select the feature again.").wait_for()
    wait_until(page, "() => performance.getEntriesByName('pz:lights:drawn').length >= 2")
    assert len(loads) == 2 and loads[-1] == 200
    page.keyboard.press("Escape")
    popup = click_feature(page, features[10])
    popup.locator("dd", has_text=features[10]["properties"]["description"]).wait_for()
    assert popup.locator("dd").first.inner_text() == features[10]["properties"]["description"]
    assert "3,000 on the map" in page.locator(".map-status").inner_text()
    assert page.errors == []
