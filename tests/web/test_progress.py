"""The public progress page and its JSON: hand-made histories (through the store's update) and exact figures."""

import re
from datetime import datetime, timedelta, timezone

import pytest

from mapper.analysis.progress import LOCAL_TIME
from mapper.web import progress as progress_view
from tests.helpers import light

ZONE, OTHER = "bell-foundry", "new-parks"


def stamp(moment):
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def parse(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def set_history(store, zone, feature, status, steps):
    """Give a stored report ``status`` and a history of ``(days after it was made, from, to)``."""
    created = parse(feature["properties"]["created"])

    def change(properties):
        properties["status"] = status
        properties["history"] = [{"at": stamp(created + timedelta(days=days)), "from": old, "to": new,
                                  "public_note": None} for days, old, new in steps]
        return properties

    return store.update(zone, "lights", feature["id"], change)


@pytest.fixture
def reports(client, store, monkeypatch):
    made = [client.post(f"/api/zones/{ZONE}/lights", json=light(ZONE)).get_json() for _ in range(6)]
    set_history(store, ZONE, made[0], "fixed", [(3, "open", "fixed")])
    set_history(store, ZONE, made[1], "fixed", [(1, "open", "confirmed"), (5, "confirmed", "fixed")])
    set_history(store, ZONE, made[2], "fixed", [(2, "open", "fixed"), (4, "fixed", "open"), (12, "open", "fixed")])
    set_history(store, ZONE, made[3], "in-progress", [(1, "open", "in-progress")])
    set_history(store, ZONE, made[4], "not-responsible", [(1, "open", "not-responsible")])
    # made[5] stays open.
    client.post(f"/api/zones/{OTHER}/lights", json=light(OTHER))  # another zone's report is not counted
    first = min(parse(f["properties"]["created"]) for f in made)
    last = max(parse(f["properties"]["created"]) for f in made)
    now = last + timedelta(days=40)
    monkeypatch.setattr(progress_view, "utcnow", lambda: now)
    return made, first, now


def months_between(first, last):
    months, (year, month) = [], (first.year, first.month)
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def uk_month(moment):
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m")


def test_progress_json_figures_exactly(client, reports):
    made, first, now = reports
    body = client.get(f"/zones/{ZONE}/progress.json").get_json()
    assert (body["zone"], body["reported"], body["fixed"], body["open"], body["closed_not_fixed"]) == (
        ZONE, 6, 3, 2, 1)
    assert body["median_days_to_fix"] == 5.0  # 3, 5 and 12 days
    assert body["fixes_timed"] == 3
    assert body["open_over_days"] == 2 and body["overdue_days"] == 28
    assert {item["ref"] for item in body["overdue"]} == {made[3]["properties"]["ref"], made[5]["properties"]["ref"]}
    assert all(item["days_open"] >= 40 for item in body["overdue"])
    expected_fixes = {}
    for feature, days in ((made[0], 3), (made[1], 5), (made[2], 12)):
        key = uk_month(parse(feature["properties"]["created"]) + timedelta(days=days))
        expected_fixes[key] = expected_fixes.get(key, 0) + 1
    months = {m["month"]: (m["reported"], m["fixed"]) for m in body["months"]}
    assert list(months) == months_between(first.astimezone(LOCAL_TIME),
                                          now.astimezone(LOCAL_TIME))
    assert sum(r for r, _ in months.values()) == 6
    assert {m: f for m, (_, f) in months.items() if f} == expected_fixes
    assert months[uk_month(first)][0] >= 1


def test_progress_page_shows_the_figures_chart_and_table(client, reports):
    made, _, _ = reports
    response = client.get(f"/zones/{ZONE}/progress")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for name, value in (("reported", "6"), ("fixed", "3"), ("open", "2"), ("closed", "1"), ("median", "5.0"),
                        ("overdue", "2")):
        assert re.search(rf'id="figure-{name}">{re.escape(value)}</dd>', page), name
    svg = re.search(r"<svg[^>]*>.*?</svg>", page, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="chart-title chart-desc"' in svg
    assert "<title id=\"chart-title\">Lighting reports made and fixed each month</title>" in svg
    assert svg.count('class="reported"') == svg.count('class="fixed"') >= 2
    table = re.search(r'<table class="progress" id="monthly-table">.*?</table>', page, re.S).group(0)
    rows = re.findall(r'<tr data-month="([0-9-]+)"><th scope="row">[^<]+</th><td>(\d+)</td><td>(\d+)</td></tr>',
                      table)
    json_months = client.get(f"/zones/{ZONE}/progress.json").get_json()["months"]
    assert rows == [(m["month"], str(m["reported"]), str(m["fixed"])) for m in json_months]
    for feature in (made[3], made[5]):
        assert f'/r/{feature["properties"]["ref"]}"' in page
    assert "Repair in progress" in page  # the overdue list names each status by its label


def test_progress_is_public_and_an_unknown_zone_is_404(client):
    assert client.get(f"/zones/{OTHER}/progress").status_code == 200
    empty = client.get(f"/zones/{OTHER}/progress.json").get_json()
    assert (empty["reported"], empty["median_days_to_fix"], empty["months"]) == (0, None, [])
    assert "No lighting reports in this zone yet." in client.get(f"/zones/{OTHER}/progress").get_data(as_text=True)
    assert client.get("/zones/nowhere/progress").status_code == 404
    assert client.get("/zones/nowhere/progress.json").status_code == 404


def test_progress_page_is_translatable(client):
    page = client.get(f"/zones/{ZONE}/progress", headers={"Accept-Language": "pl"}).get_data(as_text=True)
    assert "<h1>" in page  # strings go through _(); untranslated ones fall back to English
