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
    assert description.value == HOSTILE and description.data_type == "s"
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
