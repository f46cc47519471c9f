"""The repair work list page and its exports: 401/403/200 on every route, filters, order, single and bulk status
changes through lifecycle.change (history kept, invalid transitions refused and not applied), personal data."""

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

import openpyxl
import pyogrio
import pytest

from mapper.accounts import Accounts
from mapper.export import worklist
from tests.helpers import light

ZONE, OTHER = "bell-foundry", "new-parks"
PASSWORD = "correct horse battery"
PAGE = f"/zones/{ZONE}/repairs"
CHANGE = f"{PAGE}/change"
HOSTILE = "=cmd|' /C calc'!A0"


@pytest.fixture
def tokens(data_dir):
    accounts = Accounts(data_dir)
    accounts.add("alice", "officer", [ZONE], PASSWORD)
    accounts.add("olu", "officer", [OTHER], PASSWORD)
    accounts.add("sam", "steering", [ZONE], PASSWORD)
    accounts.add("boss", "admin", (), PASSWORD)
    return {name: accounts.new_token(name) for name in ("alice", "olu", "sam", "boss")}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def reports(client):
    made = []
    for category, extra in (("out", {"description": HOSTILE, "contact_email": "ann@example.org",
                                     "contact_name": "Ann Resident"}),
                            ("dim", {"description": "Dim by the school"}),
                            ("flickering", {"location_text": "+ corner of Main St"})):
        response = client.post(f"/api/zones/{ZONE}/lights", json=light(ZONE, category=category, **extra))
        assert response.status_code == 201, response.get_json()
        made.append(response.get_json())
    return made


def sign_in(client, name):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORD}).status_code in (
        302, 303)


def form_token(client, url=PAGE):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def history(client, feature):
    return client.get(f"/api/zones/{ZONE}/lights/{feature['id']}").get_json()["properties"]["history"]


def status_of(client, feature):
    return client.get(f"/api/zones/{ZONE}/lights/{feature['id']}").get_json()["properties"]["status"]


ROUTES = [("get", PAGE), ("get", f"{PAGE}/worklist.csv"), ("get", f"{PAGE}/worklist.xlsx"),
          ("get", f"{PAGE}/worklist.geojson"), ("get", f"{PAGE}/worklist.csv?personal=1"), ("post", CHANGE)]


@pytest.mark.parametrize("method, url", ROUTES)
def test_every_route_asks_for_credentials_then_the_zone(client, tokens, reports, method, url):
    call = getattr(client, method)
    body = {"data": {"id": reports[0]["id"], "status": "confirmed"}} if method == "post" else {}
    nobody = call(url, headers={"Accept": "application/json"}, **body)
    assert nobody.status_code == 401
    assert call(url, headers=bearer("mpr_forged"), **body).status_code == 401
    browser = call(url, **body)  # a browser with no session is sent to sign in
    assert browser.status_code in (302, 303) and "/login" in browser.headers["Location"]
    for name in ("olu", "sam"):  # another zone's officer; a steering-group member cannot change repairs
        assert call(url, headers=bearer(tokens[name]), **body).status_code == 403
    assert call(url.replace(ZONE, OTHER), headers=bearer(tokens["alice"]), **body).status_code == 403
    assert call(url, headers=bearer(tokens["alice"]), **body).status_code == 200
    body = {"data": {"id": reports[1]["id"], "priority": "long"}} if method == "post" else {}
    assert call(url, headers=bearer(tokens["boss"]), **body).status_code == 200  # admins see every zone


def test_session_writes_need_the_form_token(client, tokens, reports):
    sign_in(client, "alice")
    assert client.get(PAGE).status_code == 200
    forged = client.post(CHANGE, data={"id": reports[0]["id"], "status": "confirmed"})
    assert forged.status_code == 400 and status_of(client, reports[0]) == "open"


def test_page_lists_oldest_first_with_counts_and_filters(client, tokens, reports):
    sign_in(client, "alice")
    page = client.get(PAGE).get_data(as_text=True)
    refs = [r["properties"]["ref"] for r in reports]
    assert re.findall(r'<tr id="report-([^"]+)"', page) == refs  # oldest first
    assert re.search(r'data-status="open">3<', page) and re.search(r'data-status="fixed">0<', page)
    assert f'href="/r/{refs[0]}"' in page and "worklist.xlsx" in page and "personal=1" in page
    dim = client.get(f"{PAGE}?category=dim").get_data(as_text=True)
    assert re.findall(r'<tr id="report-([^"]+)"', dim) == [refs[1]]
    assert re.findall(r'<tr id="report-([^"]+)"', client.get(f"{PAGE}?older_than_days=5").get_data(
        as_text=True)) == []
    assert client.get(f"{PAGE}?status=mended").status_code == 422


def test_age_filter_and_days_open(client, tokens, reports, monkeypatch):
    monkeypatch.setattr(worklist, "utcnow", lambda: datetime.now(timezone.utc) + timedelta(days=30))
    sign_in(client, "alice")
    page = client.get(f"{PAGE}?older_than_days=28").get_data(as_text=True)
    assert len(re.findall(r'<tr id="report-', page)) == 3 and '<td class="days">30</td>' in page


def test_single_change_through_the_page_keeps_history(client, tokens, reports):
    sign_in(client, "alice")
    page = client.get(PAGE).get_data(as_text=True)
    row = page[page.index(f'id="report-{reports[0]["properties"]["ref"]}"'):]
    row = row[:row.index("</tr>")]
    offered = re.findall(r'<option value="([^"]+)"', row[row.index('name="status"'):row.index('name="priority"')])
    assert offered == ["confirmed", "investigating", "action-scheduled", "in-progress", "fixed", "not-responsible",
                       "duplicate", "no-further-action", "closed-not-fixed"]  # lifecycle's transitions from open
    response = client.post(CHANGE, data={"csrf_token": form_token(client), "id": reports[0]["id"],
                                         "status": "action-scheduled", "priority": "short",
                                         "public_note": "Crew booked", "internal_note": "DNO ref 8841"})
    assert response.status_code == 200 and "1 report changed" in response.get_data(as_text=True)
    [change] = history(client, reports[0])
    assert (change["from"], change["to"], change["public_note"], change["priority"]) == (
        "open", "action-scheduled", "Crew booked", "short")
    private = client.get(f"/api/zones/{ZONE}/lights/{reports[0]['id']}/private", headers=bearer(tokens["alice"]))
    assert private.get_json()["properties"]["history"][0]["by"] == "alice"
    assert private.get_json()["properties"]["history"][0]["internal_note"] == "DNO ref 8841"
    refused = client.post(CHANGE, data={"csrf_token": form_token(client), "id": reports[0]["id"], "status": "open"})
    assert refused.status_code == 409 and "cannot become" in refused.get_data(as_text=True)
    assert status_of(client, reports[0]) == "action-scheduled"


def test_bulk_change_reports_refusals_and_applies_the_rest(client, tokens, reports):
    sign_in(client, "alice")
    first, second, third = reports
    client.post(CHANGE, data={"csrf_token": form_token(client), "id": first["id"], "status": "fixed"})
    assert status_of(client, first) == "fixed"
    response = client.post(CHANGE, data={"csrf_token": form_token(client), "id": [first["id"], second["id"],
                                                                                   third["id"]],
                                         "status": "confirmed", "public_note": "Seen by the council"})
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "2 reports changed" in text and "1 report was not changed" in text
    assert f'data-ref="{first["properties"]["ref"]}"' in text and "cannot become" in text
    assert [status_of(client, r) for r in reports] == ["fixed", "confirmed", "confirmed"]
    assert len(history(client, first)) == 1  # the refused report is untouched: no new history entry
    assert [h["to"] for h in history(client, second)] == ["confirmed"]


def test_exports_without_and_with_personal_data(client, tokens, reports, tmp_path):
    headers = bearer(tokens["alice"])
    plain = client.get(f"{PAGE}/worklist.csv", headers=headers)
    assert "personal-data" not in plain.headers["Content-Disposition"]
    assert plain.headers["Cache-Control"] != "no-store"
    table = list(csv.DictReader(io.StringIO(plain.get_data(as_text=True))))
    assert [r["ref"] for r in table] == [r["properties"]["ref"] for r in reports]
    assert table[0]["description"] == "'" + HOSTILE and table[2]["location_text"] == "'+ corner of Main St"
    assert table[0]["link"].endswith(f"/r/{reports[0]['properties']['ref']}")
    assert "ann@example.org" not in plain.get_data(as_text=True) and "contact_email" not in table[0]

    personal = client.get(f"{PAGE}/worklist.csv?personal=1", headers=headers)
    assert "personal-data" in personal.headers["Content-Disposition"]
    assert personal.headers["Cache-Control"] == "no-store"
    lines = personal.get_data(as_text=True).splitlines()
    assert lines[0] == worklist.PERSONAL_NOTE
    assert next(csv.DictReader(io.StringIO("\n".join(lines[1:]))))["contact_email"] == "ann@example.org"

    book = openpyxl.load_workbook(io.BytesIO(client.get(f"{PAGE}/worklist.xlsx", headers=headers).data))
    header = [c.value for c in book.active[1]]
    description = dict(zip(header, book.active[2]))["description"]
    assert description.value == "'" + HOSTILE and description.data_type == "s"  # guarded as in the CSV
    marked = client.get(f"{PAGE}/worklist.xlsx?personal=1", headers=headers)
    assert "personal-data" in marked.headers["Content-Disposition"] and marked.headers["Cache-Control"] == "no-store"
    assert openpyxl.load_workbook(io.BytesIO(marked.data)).active["A1"].value == worklist.PERSONAL_NOTE

    path = tmp_path / "w.geojson"
    path.write_bytes(client.get(f"{PAGE}/worklist.geojson?category=dim", headers=headers).data)
    frame = pyogrio.read_dataframe(path)
    assert list(frame["category"]) == ["dim"] and "contact_email" not in frame.columns
    path.write_bytes(client.get(f"{PAGE}/worklist.geojson?personal=1", headers=headers).data)
    assert json.loads(path.read_text())["properties"]["note"] == worklist.PERSONAL_NOTE
    assert "ann@example.org" in list(pyogrio.read_dataframe(path)["contact_email"])


def test_export_filters_and_bad_requests(client, tokens, reports):
    headers = bearer(tokens["alice"])
    rows = list(csv.DictReader(io.StringIO(client.get(f"{PAGE}/worklist.csv?category=flickering&status=open",
                                                      headers=headers).get_data(as_text=True))))
    assert [r["category"] for r in rows] == ["flickering"]
    assert client.get(f"{PAGE}/worklist.csv?priority=urgent", headers=headers).status_code == 422
    assert client.get(f"{PAGE}/worklist.csv?older_than_days=soon", headers=headers).status_code == 422
    assert client.get(f"{PAGE}/worklist.pdf", headers=headers).status_code == 404


# -- the map and the detail panel's JSON -------------------------------------------------------------------------

MAP = f"{PAGE}/map.json"
MAP_FIELDS = {"id", "ref", "lon", "lat", "status", "category", "priority", "days_open"}


def detail_url(feature, zone=ZONE):
    return f"/zones/{zone}/repairs/{feature['id']}.json"


def a_jpeg():
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (800, 600), "orange").save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
def column_report(app, resources, tmp_path):
    """Two lamp columns 40 m apart (with location text) and, 6 m from the first, a report with a photo, an email
    address and hostile text; returns the stored Feature."""
    from mapper import intake
    from mapper.crs import from_british_national_grid
    from mapper.importers.columns import import_columns
    from tests.columns_helpers import zone_centre

    e, n = (round(v) for v in zone_centre(ZONE))
    path = tmp_path / "columns.csv"
    path.write_text(f"unit_id,easting,northing,location\nLC7,{e},{n},Outside 4 Main St\nLC8,{e + 40},{n},Park gate\n",
                    encoding="utf-8")
    imported = import_columns(path, ZONE, schema=resources.schema, zones=resources.zones(), store=resources.store)
    assert imported.added == 2
    lon, lat = (round(float(v), 7) for v in from_british_national_grid(e + 6, n))
    raw = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
           "properties": {"category": "out", "description": f"Out again {HOSTILE}",
                          "location_text": "By the <b>shop</b>", "contact_email": "ann@example.org",
                          "contact_name": "Ann Resident"}}
    stored, created = intake.submit_once(raw, "lights", None, schema=resources.schema, zones=resources.zones(),
                                         store=resources.store, photo=a_jpeg(), photos_root=app.config["DATA_DIR"])
    assert created and stored["properties"]["column"] == "LC7"
    return stored


@pytest.mark.parametrize("which", ["map", "detail"])
def test_the_map_and_detail_json_ask_for_credentials_then_the_zone(client, tokens, reports, which):
    url = MAP if which == "map" else detail_url(reports[0])
    nobody = client.get(url, headers={"Accept": "application/json"})
    assert nobody.status_code == 401 and nobody.headers["WWW-Authenticate"].startswith("Bearer")
    assert "error" in nobody.get_json() and reports[0]["properties"]["ref"] not in nobody.get_data(as_text=True)
    assert client.get(url, headers=bearer("mpr_forged")).status_code == 401
    assert "/login" in client.get(url).headers.get("Location", "")  # a browser with no session signs in first
    for name in ("olu", "sam"):  # another zone's officer; a steering-group member
        refused = client.get(url, headers=bearer(tokens[name]))
        assert refused.status_code == 403 and reports[0]["properties"]["ref"] not in refused.get_data(as_text=True)
    assert client.get(url.replace(ZONE, OTHER), headers=bearer(tokens["alice"])).status_code == 403
    for name in ("alice", "boss"):
        answer = client.get(url, headers=bearer(tokens[name]))
        assert answer.status_code == 200 and answer.is_json


def test_a_report_is_answered_only_under_its_own_zone(client, tokens):
    elsewhere = client.post(f"/api/zones/{OTHER}/lights", json=light(OTHER)).get_json()
    assert client.get(detail_url(elsewhere), headers=bearer(tokens["boss"])).status_code == 404
    assert client.get(detail_url(elsewhere, OTHER), headers=bearer(tokens["boss"])).status_code == 200
    assert client.get(f"{PAGE}/no-such-report.json", headers=bearer(tokens["alice"])).status_code == 404


def test_the_map_json_has_the_filtered_pins_and_nothing_private(client, tokens, reports):
    headers = bearer(tokens["alice"])
    client.patch(f"/api/zones/{ZONE}/lights/{reports[1]['id']}", headers=headers,
                 json={"status": "fixed", "public_note": "New lantern", "internal_note": "Crew 4 did it"})
    answer = client.get(MAP, headers=headers)
    body = answer.get_json()
    assert answer.headers["Cache-Control"] == "private, no-cache"
    assert sorted(pin["ref"] for pin in body["reports"]) == sorted(r["properties"]["ref"] for r in reports)
    assert all(set(pin) == MAP_FIELDS for pin in body["reports"])
    first = body["reports"][0]
    assert (first["lon"], first["lat"], first["status"], first["category"], first["days_open"]) == (
        -1.195, 52.77, "open", "out", 0)
    text = answer.get_data(as_text=True)
    for private in ("ann@example.org", "Ann Resident", "contact", "Crew 4 did it", "New lantern", "alice",
                    "Dim by the school", "calc"):
        assert private not in text
    key = {item["id"]: item for item in body["statuses"]}
    assert [item["id"] for item in body["statuses"]] == list(key) and len(key) == 10
    assert (key["open"]["count"], key["fixed"]["count"], key["confirmed"]["count"]) == (2, 1, 0)
    assert (key["open"]["colour"], key["fixed"]["colour"]) == ("#d55e00", "#009e73")  # data/layers.toml
    assert (key["open"]["group"], key["fixed"]["group"], key["duplicate"]["group"]) == ("open", "fixed", "closed")
    assert key["fixed"]["label"] == "Fixed" and body["categories"]["dim"] == "Dim light"

    only = client.get(f"{MAP}?status=fixed", headers=headers).get_json()
    assert [pin["ref"] for pin in only["reports"]] == [reports[1]["properties"]["ref"]]
    assert {item["id"]: item["count"] for item in only["statuses"]}["open"] == 0
    both = client.get(f"{MAP}?category=out&category=flickering", headers=headers).get_json()
    assert [pin["category"] for pin in both["reports"]] == ["out", "flickering"]
    assert client.get(f"{MAP}?older_than_days=3", headers=headers).get_json()["reports"] == []
    bad = client.get(f"{MAP}?status=mended", headers={**headers, "Accept": "application/json"})
    assert bad.status_code == 422 and bad.get_json()["error"]["field"] == "status"


def test_the_detail_json_has_photo_column_and_the_officers_history(client, tokens, column_report):
    sign_in(client, "alice")
    response = client.post(CHANGE, data={"csrf_token": form_token(client), "id": column_report["id"],
                                         "status": "action-scheduled", "priority": "short",
                                         "public_note": "Crew booked", "internal_note": "DNO ref 8841 <script>"})
    assert response.status_code == 200
    answer = client.get(detail_url(column_report))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["ref"] == column_report["properties"]["ref"] and body["description"] == f"Out again {HOSTILE}"
    assert (body["status"], body["status_label"], body["colour"]) == ("action-scheduled", "Repair scheduled", "#cc79a7")
    assert (body["priority"], body["priority_label"], body["category_label"]) == ("short", "Short term", "Light out")
    assert body["location_text"] == "By the <b>shop</b>" and body["confirmations"] == 0 and body["days_open"] == 0
    assert body["tracking_url"] == f"/r/{body['ref']}" and body["resident_emailed"] is True
    column = body["column"]
    assert (column["unit_id"], column["location"], column["in_inventory"]) == ("LC7", "Outside 4 Main St", True)
    assert column["distance_m"] == pytest.approx(6.0, abs=0.2)
    [entry] = body["history"]
    assert (entry["from"], entry["to"], entry["to_label"], entry["by"]) == (
        "open", "action-scheduled", "Repair scheduled", "alice")
    assert (entry["public_note"], entry["internal_note"], entry["priority"]) == (
        "Crew booked", "DNO ref 8841 <script>", "short")
    assert [s["id"] for s in body["next_statuses"]] == ["investigating", "in-progress", "fixed", "not-responsible",
                                                        "duplicate", "no-further-action", "closed-not-fixed"]
    thumbnail = client.get(body["photo"]["thumbnail"])
    assert thumbnail.status_code == 200 and thumbnail.mimetype == "image/jpeg"
    assert client.get(body["photo"]["url"]).status_code == 200
    text = answer.get_data(as_text=True)
    assert "ann@example.org" not in text and "Ann Resident" not in text  # the panel says only that she is emailed
    by_ref = client.get(f"{PAGE}/{body['ref']}.json").get_json()
    assert by_ref["id"] == column_report["id"]
    # What the public sees of the same report: the note, never the officer or the internal note.
    public = client.get(f"/r/{body['ref']}.json").get_data(as_text=True)
    assert "Crew booked" in public and "DNO ref 8841" not in public and "alice" not in public


def test_a_column_the_council_no_longer_lists_is_named_as_such(client, tokens, column_report, resources):
    columns = resources.store.query(ZONE, "columns")
    for feature in columns:
        if feature["properties"]["unit_id"] == "LC7":
            resources.store.update(ZONE, "columns", feature["id"], lambda p: {**p, "status": "removed"})
    column = client.get(detail_url(column_report), headers=bearer(tokens["alice"])).get_json()["column"]
    assert (column["unit_id"], column["in_inventory"], column["distance_m"]) == ("LC7", False, None)


def test_the_page_colours_rows_by_status_and_points_its_map_at_the_same_filters(client, tokens, reports):
    sign_in(client, "alice")
    page = client.get(f"{PAGE}?category=dim").get_data(as_text=True)
    row = page[page.index(f'id="report-{reports[1]["properties"]["ref"]}"'):]
    assert 'style="--status-colour: #d55e00"' in row[:row.index(">")]
    assert f'data-map-url="{MAP}?category=dim"' in page and f'data-detail-url="{PAGE}/__ID__.json"' in page
    assert f'class="report-ref" data-id="{reports[1]["id"]}"' in page
    assert 'id="repair-panel"' in page and "js/repairs.js" in page and "leaflet.js" in page
    assert re.search(r'id="repair-map-section"[^>]*hidden', page)  # shown by the script: no empty box without it
    assert "repairs.js" not in client.get(f"{PAGE}?status=mended").get_data(as_text=True)  # a refused filter: no map
    assert "repairs.js" not in client.get(f"{PAGE}?status=fixed").get_data(as_text=True)  # nothing to show


def test_status_colours_are_configuration_checked_as_strictly_as_input(tmp_path):
    from mapper.config import SHIPPED_DATA_DIR
    from mapper.schema import load_schema

    shipped = (SHIPPED_DATA_DIR / "layers.toml").read_text(encoding="utf-8")
    lights = load_schema(SHIPPED_DATA_DIR / "layers.toml").layer("lights")
    assert set(lights.status_colours) == set(lights.statuses)
    closed = [s for s in lights.statuses if s not in lights.open_statuses and s != "fixed"]
    assert all(len({lights.status_colours[s][i:i + 2] for i in (1, 3, 5)}) == 1 for s in closed)  # greys
    assert len(set(lights.status_colours.values())) == len(lights.statuses)
    for bad in ('open = "red"', 'mended = "#123456"'):
        path = tmp_path / "layers.toml"
        path.write_text(shipped.replace('open = "#d55e00"', bad), encoding="utf-8")
        with pytest.raises(ValueError, match="status_colours"):
            load_schema(path)
