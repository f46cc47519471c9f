"""The resident report page in real Chromium, as a 360 px phone with GPS: a faulty light with a photo, duplicates,
offline drafts, the page without JavaScript, a point outside every zone, accessibility (axe-core), width, tap
targets and the weight of the first screen.

Each test gets its own app on a fresh temporary store, served on 127.0.0.1; every other host is unreachable, so
base map tiles fail (allowed) and everything else must be local.
"""

import io
import json
import re
from urllib.parse import urlsplit

import pytest
from PIL import Image

from mapper import create_app
from mapper.config import PROJECT_DIR
from tests.helpers import INSIDE, OUTSIDE, point_feature
from tests.render.populate import submit
from tests.live import offline, serving, wait_until

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 360, "height": 740}, "device_scale_factor": 1, "is_mobile": True, "has_touch": True,
         "locale": "en-GB"}
AXE = PROJECT_DIR / "node_modules" / "axe-core" / "axe.min.js"
REF = re.compile(r"^[A-Z]{2,3}-[0-9A-Z]{4,8}$")
ZONE_NAMES = ("Bell Foundry", "New Parks", "Thringstone")
METRE_IN_DEGREES_LAT = 1 / 111_320


# -- fixtures ------------------------------------------------------------------------------------------------------


@pytest.fixture
def report_app(tmp_path):
    return create_app({"DATA_DIR": tmp_path / "store", "TESTING": True})


@pytest.fixture
def server(report_app):
    """``report_app`` on a free port of 127.0.0.1 for one test; yields its base URL."""
    with serving(report_app, "report-server") as url:
        yield url


@pytest.fixture
def phone(browser, server):
    """``phone(zone=..., accuracy=..., **context options)`` -> a page on a phone-sized context whose GPS says it is
    inside ``zone`` (or at ``at=(lon, lat)``). ``page.errors`` collects script errors."""
    contexts = []

    def open_phone(zone="bell-foundry", at=None, accuracy=12, **options):
        lon, lat = at or INSIDE[zone]
        settings = {**PHONE, "geolocation": {"latitude": lat, "longitude": lon, "accuracy": accuracy},
                    "permissions": ["geolocation"], "base_url": server, **options}
        context = browser.new_context(**settings)
        contexts.append(context)
        return offline(context.new_page())

    yield open_phone
    for context in contexts:
        context.close()



# -- helpers -------------------------------------------------------------------------------------------------------


def stored(app, zone_id, layer="lights"):
    """The public features of a layer, read back through the API."""
    response = app.test_client().get(f"/api/zones/{zone_id}/{layer}.geojson")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["features"]


def stored_everywhere(app, layer="lights"):
    return {zone: stored(app, zone, layer) for zone in INSIDE}


def tracking(app, ref):
    response = app.test_client().get(f"/r/{ref}.json")
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def jpeg_with_gps(lon, lat):
    """A small JPEG whose EXIF says it was taken at (lon, lat), as a phone camera writes it."""
    image = Image.new("RGB", (96, 64), (230, 190, 40))
    exif = Image.Exif()
    gps = exif.get_ifd(0x8825)  # GPSInfo

    def dms(degrees):
        whole = int(degrees)
        minutes_float = (degrees - whole) * 60
        minutes = int(minutes_float)
        seconds = (minutes_float - minutes) * 60
        return (float(whole), float(minutes), round(seconds, 4))  # Pillow writes each as an EXIF RATIONAL

    gps.update({0: b"\x02\x03\x00\x00", 1: "N" if lat >= 0 else "S", 2: dms(abs(lat)),
                3: "E" if lon >= 0 else "W", 4: dms(abs(lon))})
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, quality=85)
    return buffer.getvalue()


def open_report(page, kind="light"):
    page.goto(f"/report?kind={kind}")
    wait_until(page, "() => window.reportPage && window.L")
    return page


def use_gps(page):
    page.get_by_role("button", name="Use my location").click()
    page.locator("#gps-status").filter(has_text=re.compile("accurate|Located")).wait_for()


def submitted_ref(page):
    done = page.locator("#report-done")
    done.wait_for(state="visible")
    ref = page.locator("#done-ref").inner_text().strip()
    assert REF.match(ref), ref
    assert page.locator("#done-link").get_attribute("href").endswith(f"/r/{ref}")
    return ref


# -- a faulty light with a photo -----------------------------------------------------------------------------------


def test_light_with_photo_uses_the_photos_location_and_appears_on_map_and_tracking_page(
        phone, report_app, server, tmp_path):
    lon, lat = INSIDE["bell-foundry"]
    photo_lon, photo_lat = lon + 0.0003, lat + 0.0002
    page = open_report(phone())
    page.get_by_label("Flickering").check()
    page.get_by_label("Yes").check()
    page.get_by_label("Date and time").fill("2026-11-20T21:30")
    page.get_by_label(re.compile("Anything else")).fill("Flickers every few seconds, next to the bus stop.")
    page.get_by_label("Photo (optional)").set_input_files(
        {"name": "light.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps(photo_lon, photo_lat)})
    page.get_by_role("button", name="Use the photo's location").click()
    assert float(page.locator("#lat").input_value()) == pytest.approx(photo_lat, abs=1e-5)
    assert float(page.locator("#lon").input_value()) == pytest.approx(photo_lon, abs=1e-5)
    assert "Pin placed" in page.locator("#pin-status").inner_text()
    page.get_by_label("Your name").fill("Pat Resident")
    page.get_by_label("Your email address").fill("pat@example.org")
    page.get_by_role("button", name="Send the report").click()
    ref = submitted_ref(page)
    page.screenshot(path=str(tmp_path / "done.png"), full_page=True)

    features = stored(report_app, "bell-foundry")
    assert len(features) == 1
    properties = features[0]["properties"]
    assert properties["ref"] == ref and properties["category"] == "flickering"
    assert features[0]["geometry"]["coordinates"] == pytest.approx([photo_lon, photo_lat], abs=1e-5)
    public_text = json.dumps(features)
    assert "pat@example.org" not in public_text and "Pat Resident" not in public_text
    assert tracking(report_app, ref)["ref"] == ref

    page.goto(f"/zones/bell-foundry")
    page.locator(".pz-point").first.wait_for()
    assert page.locator(".pz-point").count() == 1

    page.goto(f"/r/{ref}")
    assert ref in page.locator("main").inner_text()
    photo = page.locator("main img")
    assert photo.count() >= 1
    assert page.evaluate("img => img.complete && img.naturalWidth > 0", photo.first.element_handle())
    assert page.errors == []


def test_gps_shows_accuracy_and_warns_when_worse_than_50_metres(phone):
    page = open_report(phone(zone="new-parks", accuracy=8))
    use_gps(page)
    assert page.locator("#gps-status").inner_text() == "Located to within 8 m."
    assert float(page.locator("#lat").input_value()) == pytest.approx(INSIDE["new-parks"][1], abs=1e-6)

    page = open_report(phone(zone="new-parks", accuracy=120))
    use_gps(page)
    status = page.locator("#gps-status")
    assert "Warning" in status.inner_text() and "120 m" in status.inner_text()


def test_dragging_or_tapping_the_map_moves_the_pin(phone):
    page = open_report(phone())
    use_gps(page)
    before = float(page.locator("#lat").input_value())
    pin = page.locator(".report-pin")
    box = pin.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] - 60, steps=8)
    page.mouse.up()
    assert float(page.locator("#lat").input_value()) > before
    # Keyboard users: pan the map, then put the pin in its middle.
    page.get_by_role("button", name="Put the pin in the middle of the map").click()
    assert "Pin placed" in page.locator("#pin-status").inner_text()


# -- duplicates ----------------------------------------------------------------------------------------------------


def test_an_open_report_10_metres_away_is_offered_and_confirming_it_adds_no_pin(phone, report_app):
    lon, lat = INSIDE["bell-foundry"]
    resources = report_app.extensions["mapper"]
    existing = submit(resources, "lights", point_feature(lon, lat + 10 * METRE_IN_DEGREES_LAT, category="out",
                                                         description="Dark since Tuesday"))
    ref = existing["properties"]["ref"]
    before = tracking(report_app, ref)["confirmations"]

    page = open_report(phone())
    use_gps(page)
    page.get_by_role("button", name="Send the report").click()
    candidates = page.locator("#duplicates")
    candidates.wait_for(state="visible")
    assert page.get_by_role("heading", name="Is it one of these?").is_visible()
    candidate = page.locator("#duplicates-list li")
    assert candidate.count() == 1
    text = candidate.inner_text()
    assert "Light out" in text and "Dark since Tuesday" in text and "10 m away" in text and "reported" in text
    candidate.get_by_role("button", name="Yes, this is it").click()
    page.wait_for_url(f"**/r/{ref}")
    assert tracking(report_app, ref)["confirmations"] == before + 1
    assert len(stored(report_app, "bell-foundry")) == 1
    assert page.errors == []


def test_none_of_these_sends_a_new_report(phone, report_app):
    lon, lat = INSIDE["bell-foundry"]
    submit(report_app.extensions["mapper"], "lights",
           point_feature(lon, lat + 10 * METRE_IN_DEGREES_LAT, category="out"))
    page = open_report(phone())
    use_gps(page)
    page.get_by_role("button", name="Send the report").click()
    page.locator("#duplicates").wait_for(state="visible")
    page.get_by_role("button", name="None of these: send my report").click()
    submitted_ref(page)
    assert len(stored(report_app, "bell-foundry")) == 2


def published_asset(report_app, lon, lat, **properties):
    """A community asset a moderator has approved (`mapper moderate approve`), so it is on the map."""
    from mapper.lifecycle import change_status

    resources = report_app.extensions["mapper"]
    feature = submit(resources, "assets", point_feature(lon, lat, **properties))
    return change_status(resources.store, resources.schema.layer("assets"), feature["properties"]["zone"],
                         feature["id"], "published", by="test")


def all_assets(report_app, zone_id):
    """Every asset of the zone, pending ones too, read from the store."""
    return list(report_app.extensions["mapper"].store.query(zone_id, "assets"))


def test_a_published_asset_of_the_same_kind_nearby_is_offered_and_opening_it_adds_nothing(phone, report_app):
    lon, lat = INSIDE["new-parks"]
    existing = published_asset(report_app, lon, lat + 12 * METRE_IN_DEGREES_LAT, category="food-bank",
                               name="New Parks Pantry", address="Aikman Avenue")
    # Not offered: another kind of place at the same spot, one still waiting for a moderator, and one 60 m away.
    published_asset(report_app, lon, lat + 5 * METRE_IN_DEGREES_LAT, category="youth-service", name="Youth Club")
    submit(report_app.extensions["mapper"], "assets",
           point_feature(lon, lat + 8 * METRE_IN_DEGREES_LAT, category="food-bank", name="Pending Pantry"))
    published_asset(report_app, lon, lat + 60 * METRE_IN_DEGREES_LAT, category="food-bank", name="Far Pantry")
    before = len(all_assets(report_app, "new-parks"))

    page = open_report(phone(zone="new-parks"), "asset")
    page.get_by_label("Name", exact=True).fill("Pantry on Aikman Avenue")
    page.get_by_label("What kind of place is it?").select_option("food-bank")
    use_gps(page)
    page.get_by_role("button", name="Add the community asset").click()
    page.locator("#duplicates").wait_for(state="visible")
    assert page.get_by_role("heading", name="Is it already on the map?").is_visible()
    assert page.locator("#report-form").is_hidden()
    candidates = page.locator("#duplicates-list li")
    assert candidates.count() == 1
    text = candidates.inner_text()
    assert "New Parks Pantry" in text and "Food bank" in text and "Aikman Avenue" in text and "12 m away" in text
    assert axe_violations(page) == []
    link = candidates.get_by_role("link", name="Yes, this is it: open its page")
    link.click()
    ref = existing["properties"]["ref"]
    page.wait_for_url(f"**/r/{ref}")
    assert ref in page.locator("main").inner_text() and "New Parks Pantry" in page.locator("main").inner_text()
    assert len(all_assets(report_app, "new-parks")) == before  # nothing added, not even a pending contribution
    assert page.errors == []


def test_an_asset_that_is_not_one_of_those_nearby_is_added(phone, report_app):
    lon, lat = INSIDE["new-parks"]
    published_asset(report_app, lon, lat + 12 * METRE_IN_DEGREES_LAT, category="community-hub", name="The Hub")
    page = open_report(phone(zone="new-parks"), "asset")
    page.get_by_label("Name", exact=True).fill("New Parks Library Hub")
    page.get_by_label("What kind of place is it?").select_option("community-hub")
    use_gps(page)
    page.get_by_role("button", name="Add the community asset").click()
    page.locator("#duplicates").wait_for(state="visible")
    page.get_by_role("button", name="None of these: add mine").click()
    ref = submitted_ref(page)
    assert tracking(report_app, ref)["status"] == "pending"
    assert len(all_assets(report_app, "new-parks")) == 2


# -- offline -------------------------------------------------------------------------------------------------------


def test_offline_report_is_kept_on_the_phone_and_sent_exactly_once(phone, report_app):
    lon, lat = INSIDE["new-parks"]
    page = open_report(phone(zone="new-parks"))
    use_gps(page)
    page.get_by_label("Dim light").check()
    page.get_by_label(re.compile("Anything else")).fill("Very dim, hard to see the path.")
    page.get_by_label("Photo (optional)").set_input_files(
        {"name": "dim.jpg", "mimeType": "image/jpeg", "buffer": jpeg_with_gps(lon, lat)})
    page.context.set_offline(True)
    page.get_by_role("button", name="Send the report").click()
    page.get_by_text("Saved on this phone — it will be sent when you're back online").wait_for()
    drafts = page.evaluate("""() => window.reportPage.drafts().then(all => all.map(d => ({
        client_id: d.client_id, photo: d.photo instanceof Blob ? d.photo.size : null})))""")
    assert len(drafts) == 1 and drafts[0]["photo"] > 0
    assert stored(report_app, "new-parks") == []

    page.context.set_offline(False)
    ref = submitted_ref(page)
    assert "has been sent" in page.locator("#report-status").inner_text()
    wait_until(page, "() => window.reportPage.drafts().then(all => all.length === 0)")
    features = stored(report_app, "new-parks")
    assert [f["properties"]["ref"] for f in features] == [ref]
    assert tracking(report_app, ref)["photo"]  # the Blob kept on the phone went with it

    page.reload()
    wait_until(page, "() => window.reportPage")
    page.evaluate("() => window.reportPage.flush()")
    assert len(stored(report_app, "new-parks")) == 1
    assert page.errors == []


def test_a_draft_left_on_the_phone_is_sent_on_next_page_load_and_the_server_dedupes_it(phone, report_app):
    page = open_report(phone(zone="thringstone-whitwick"))
    use_gps(page)
    page.context.set_offline(True)
    page.get_by_role("button", name="Send the report").click()
    page.locator("#report-status").filter(has_text="Saved on this phone").wait_for()
    client_id = page.locator("#client_id").input_value()
    page.context.set_offline(False)
    submitted_ref(page)
    # The same draft comes back (the answer was lost, say): the server answers with the same report, nothing new.
    page.evaluate("""(id) => new Promise((resolve, reject) => {
        const open = indexedDB.open('mapper-reports', 1);
        open.onsuccess = () => {
          const db = open.result;
          const form = document.getElementById('report-form');
          const fields = [];
          new FormData(form).forEach((v, k) => { if (typeof v === 'string') fields.push([k, v]); });
          const tx = db.transaction('drafts', 'readwrite');
          tx.objectStore('drafts').put({client_id: id, action: form.action, fields, photo: null, photoName: ''});
          tx.oncomplete = () => { db.close(); resolve(); };
          tx.onerror = () => reject(tx.error);
        };
      })""", client_id)
    page.reload()
    wait_until(page, "() => window.reportPage && window.reportPage.drafts().then(all => all.length === 0)")
    assert len(stored(report_app, "thringstone-whitwick")) == 1


def test_an_expired_csrf_token_is_renewed_once(phone, report_app):
    page = open_report(phone())
    use_gps(page)
    page.evaluate("() => { document.querySelector('[name=csrf_token]').value = 'stale'; }")
    page.get_by_role("button", name="Send the report").click()
    submitted_ref(page)
    assert len(stored(report_app, "bell-foundry")) == 1


# -- without JavaScript --------------------------------------------------------------------------------------------


def test_without_javascript_the_form_posts_and_lands_on_the_tracking_page(phone, report_app):
    page = phone(java_script_enabled=False)
    page.goto("/report")
    assert page.locator("#report-map").is_hidden()
    page.get_by_label("Damaged (exposed wiring, door open, column leaning)").check()
    page.get_by_label("Street or landmark").fill("Alley behind the Bell Foundry museum")
    page.get_by_label("Area").select_option("bell-foundry")
    page.get_by_label(re.compile("Anything else")).fill("Door open on the column.")
    page.get_by_label("Your phone number").fill("07700 900123")
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(re.compile(r"/r/[A-Z]{2,3}-[0-9A-Z]+$"))
    ref = page.url.rsplit("/", 1)[1]
    assert ref in page.locator("main").inner_text()
    features = stored(report_app, "bell-foundry")
    assert [f["properties"]["ref"] for f in features] == [ref]
    assert "07700 900123" not in json.dumps(features)


def test_without_javascript_coordinates_work_and_errors_are_shown_next_to_the_fields(phone, report_app):
    lon, lat = INSIDE["new-parks"]
    page = phone(java_script_enabled=False)
    page.goto("/report")
    page.get_by_role("button", name="Send the report").click()  # no location at all
    assert page.locator("#error-summary").is_visible()
    assert stored(report_app, "new-parks") == []
    page.get_by_label("Latitude").fill(str(lat))
    page.get_by_label("Longitude").fill(str(lon))
    page.get_by_role("button", name="Send the report").click()
    page.wait_for_url(re.compile(r"/r/[A-Z]{2,3}-[0-9A-Z]+$"))
    assert len(stored(report_app, "new-parks")) == 1


def test_without_javascript_an_asset_is_added(phone, report_app):
    lon, lat = INSIDE["thringstone-whitwick"]
    page = phone(java_script_enabled=False)
    page.goto("/report?kind=asset")
    assert "once a moderator has checked it" in page.locator("main").inner_text()
    page.get_by_label("Name", exact=True).fill("Whitwick Community Pantry")
    page.get_by_label("What kind of place is it?").select_option("food-bank")
    page.get_by_label("Opening hours (optional)").fill("Tuesday 10am to 2pm")
    page.get_by_label("Latitude").fill(str(lat))
    page.get_by_label("Longitude").fill(str(lon))
    page.get_by_role("button", name="Add the community asset").click()
    page.wait_for_url(re.compile(r"/r/[A-Z]{2,3}-[0-9A-Z]+$"))


# -- outside every zone --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["light", "asset"])
def test_a_point_outside_every_zone_gets_a_friendly_message_naming_the_zones(phone, report_app, kind):
    page = open_report(phone(at=OUTSIDE), kind)
    if kind == "asset":
        page.get_by_label("Name", exact=True).fill("Somewhere in London")
        page.get_by_label("What kind of place is it?").select_option("community-hub")
    use_gps(page)
    page.get_by_role("button", name=re.compile("Send the report|Add the community asset")).click()
    alert = page.get_by_role("alert").filter(has_text="Bell Foundry")
    alert.wait_for()
    for name in ZONE_NAMES:
        assert name in alert.inner_text()
    assert page.locator("#report-done").is_hidden()
    layer = "assets" if kind == "asset" else "lights"
    assert all(features == [] for features in stored_everywhere(report_app, layer).values())
    assert page.evaluate("() => window.reportPage.drafts().then(all => all.length)") == 0


# -- community asset with JavaScript -------------------------------------------------------------------------------


def test_a_community_asset_is_added_and_waits_for_a_moderator(phone, report_app):
    page = open_report(phone(zone="new-parks"), "asset")
    page.get_by_label("Name", exact=True).fill("New Parks Youth Club")
    page.get_by_label("What kind of place is it?").select_option("youth-service")
    page.get_by_label("Address (optional)").fill("Aikman Avenue, Leicester")
    page.get_by_label("Website (optional)").fill("https://example.org/youth")
    use_gps(page)
    page.get_by_role("button", name="Add the community asset").click()
    ref = submitted_ref(page)
    assert page.locator("#done-moderation").is_visible()
    assert stored(report_app, "new-parks", "assets") == []  # pending until a moderator publishes it
    assert tracking(report_app, ref)["ref"] == ref


# -- the description counter ---------------------------------------------------------------------------------------


def test_description_counter_counts_down(phone):
    page = open_report(phone())
    counter = page.locator("#description-counter")
    assert counter.inner_text() == "2000 characters left"
    page.get_by_label(re.compile("Anything else")).fill("x" * 1990)
    assert counter.inner_text() == "10 characters left"


# -- inclusion, width and weight -----------------------------------------------------------------------------------


def axe_violations(page):
    page.evaluate(AXE.read_text(encoding="utf-8"))  # not a <script> tag: the page's CSP refuses inline ones
    results = page.evaluate("""() => axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']}})""")
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "nodes": [node["target"] for node in v["nodes"]][:5]}
            for v in results["violations"] if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_or_critical_violations(phone, report_app):
    lon, lat = INSIDE["bell-foundry"]
    ref = submit(report_app.extensions["mapper"], "lights",
                 point_feature(lon, lat, category="out", description="Out since Monday"))["properties"]["ref"]
    page = phone()
    found = {}
    for kind in ("light", "dark-spot", "asset"):
        open_report(page, kind)
        use_gps(page)
        found[f"/report?kind={kind}"] = axe_violations(page)
    # The duplicates panel, as a resident sees it.
    open_report(page, "light")
    use_gps(page)
    page.get_by_role("button", name="Send the report").click()
    page.locator("#duplicates").wait_for(state="visible")
    found["/report duplicates"] = axe_violations(page)
    page.goto(f"/r/{ref}")
    found[f"/r/{ref}"] = axe_violations(page)
    page.goto("/zones/bell-foundry")
    page.locator(".pz-point").first.wait_for()
    found["/zones/bell-foundry"] = axe_violations(page)
    assert {url: v for url, v in found.items() if v} == {}


def test_axe_on_the_page_without_javascript_and_with_errors(phone):
    page = phone(java_script_enabled=False)
    page.goto("/report")
    page.get_by_role("button", name="Send the report").click()
    page.locator("#error-summary").wait_for()
    # axe needs script: the no-script page's HTML, without its own scripts, into a page that allows script.
    html = re.sub(r"<script src=[^>]*></script>", "", page.content())
    scripted = phone()
    scripted.route("**/nojs", lambda route: route.fulfill(body=html, content_type="text/html"))
    scripted.goto("/nojs")
    assert axe_violations(scripted) == []


@pytest.mark.parametrize("kind", ["light", "dark-spot", "asset"])
def test_320_pixels_wide_needs_no_horizontal_scrolling_and_targets_are_44_pixels(phone, kind):
    page = open_report(phone(viewport={"width": 320, "height": 640}), kind)
    use_gps(page)
    page.locator("#by-hand summary").click()  # open everything there is
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 320
    small = page.evaluate("""() => {
        const selector = 'button, select, textarea, summary, .kinds a, a.button, .choice label, ' +
          'input:not([type=hidden]):not([type=radio]):not([type=checkbox]), .leaflet-control-zoom a';
        return [...document.querySelectorAll(selector)]
          .filter(el => el.offsetParent !== null)
          .map(el => { const r = el.getBoundingClientRect();
                       return {what: el.outerHTML.slice(0, 80), width: r.width, height: r.height}; })
          .filter(box => box.width < 44 || box.height < 44);
    }""")
    assert small == []


def test_first_screen_weighs_under_300_kb_before_map_tiles(phone, report_app):
    page = phone()
    requests = []
    page.on("requestfinished", lambda request: requests.append(request))
    page.goto("/report", wait_until="networkidle")
    wait_until(page, "() => window.reportPage && window.L")
    tile_host = urlsplit(report_app.config["TILES_URL"]).hostname
    total, seen = 0, []
    for request in requests:
        if urlsplit(request.url).hostname == tile_host:
            continue
        sizes = request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"] + sizes["requestHeadersSize"]
        seen.append(request.url)
    assert any("leaflet.js" in url for url in seen) and any("report.js" in url for url in seen)
    assert not any("exifr" in url for url in seen)  # loaded only when a photo is chosen
    print(f"first screen: {total:,} bytes in {len(seen)} requests")
    assert total < 300 * 1024, (total, seen)


# -- keyboard only -------------------------------------------------------------------------------------------------


def tab_to(page, element_id, limit=80):
    """Press Tab until the element with ``element_id`` has focus, as a keyboard user would; check focus shows."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == element_id:
            style = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
                return {outline: s.outlineStyle, width: parseFloat(s.outlineWidth), shadow: s.boxShadow}; }""")
            assert style["outline"] != "none" and style["width"] >= 2 or style["shadow"] != "none", style
            return
    raise AssertionError(f"#{element_id} was not reached with Tab")


def test_a_dark_spot_can_be_reported_with_the_keyboard_alone(phone, report_app):
    page = open_report(phone(zone="thringstone-whitwick"), "dark-spot")
    tab_to(page, "use-gps")
    page.keyboard.press("Enter")
    page.locator("#gps-status").filter(has_text="Located").wait_for()
    tab_to(page, "seen_after_dark-unsure")  # a radio group is one Tab stop; arrows choose within it
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    assert page.locator("#seen_after_dark-yes").is_checked()
    tab_to(page, "description")
    page.keyboard.type("No light at all along the footpath to the park.")
    tab_to(page, "submit")
    page.keyboard.press("Enter")
    ref = submitted_ref(page)
    assert page.evaluate("() => document.activeElement.id") == "report-done"
    (feature,) = stored(report_app, "thringstone-whitwick")
    assert feature["properties"]["ref"] == ref
    assert feature["properties"]["category"] == "dark-spot"
    assert feature["properties"]["seen_after_dark"] is True
