"""Keep it closed: no live spreadsheet formula in any CSV or XLSX the app serves (issue #11, "Keep it closed").

The hostile world puts formula payloads (``=1+1``, ``+``, ``-``, ``@``, leading tab and carriage return,
``a;=1+1``, ``a,=1+1``, ``a<tab>=1+1``, ``=HYPERLINK(…)``, DDE) into every text field: public reports and assets,
a moderator's edit, an officer's public and internal notes, Community Payback sites, and every import (lamp columns,
council asset sheets, streets, police.uk CSVs, a GPX walk).

Every CSV and XLSX download is found in the app's URL map (rules with an ``<extension>`` part, or ending in .csv or
.xlsx), fetched for every zone and layer by an administrator (who may download everything), and every cell is read:
none starts with = + - @ tab or carriage return, nor does any part of it split at ``;``, ``,`` or tab (a sheet
opened in a locale that separates with semicolons splits there), numbers and coordinates apart.
"""

import csv
import io
import re

import openpyxl
import pytest

from tests.adversarial.conftest import FORMULA_PAYLOADS, HOSTILE, OTHER, ZONE, fill, real_values, rules

STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBERS = re.compile(r"^[\s(]*-?\d+(\.\d+)?([eE][-+]?\d+)?(\s+-?\d+(\.\d+)?)*[\s)]*$")  # 1.5, -1.19 52.7, (-1 2))
ZONES = (HOSTILE, ZONE, OTHER)
ANALYSIS = "?layer=crime:anti-social-behaviour&cell=100&band=200"
SPREADSHEET_RULES = [(rule, endpoint) for rule, endpoint, methods in rules()
                     if "GET" in methods and ("<extension>" in rule or rule.endswith((".csv", ".xlsx")))]


def spreadsheet_urls(world):
    layers = [layer.name for layer in world.app.extensions["mapper"].schema]
    urls = []
    for rule, endpoint in SPREADSHEET_RULES:
        for zone in ZONES:
            values = real_values(world, zone, rule)
            for extension in ("csv", "xlsx") if "<extension>" in rule else ("",):
                for layer in layers if "<layer_name>" in rule else ("lights",):
                    url = fill(rule, {**values, "extension": extension, "layer_name": layer})
                    urls.append(url + (ANALYSIS if endpoint.startswith("analysts.") else ""))
    return list(dict.fromkeys(urls))


def cells(answer):
    """Every cell of a CSV or XLSX answer, as text."""
    data = answer.get_data()
    if data[:4] == b"PK\x03\x04":
        book = openpyxl.load_workbook(io.BytesIO(data))
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        yield f"=<formula> {cell.value}"
                    elif isinstance(cell.value, str):
                        yield cell.value
        return
    yield from (cell for row in csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")) for cell in row)


def live(cell):
    """Why a spreadsheet might run this cell (or a part of it), or None."""
    for part in [cell] + re.split(r"[;,\t]", cell)[1:]:
        if part.startswith(STARTS) and not NUMBERS.match(part):
            return part
        if part.lstrip(" ").startswith(STARTS) and not NUMBERS.match(part):
            return part
    return None


@pytest.fixture(scope="module")
def downloads(world):
    """``{url: answer}`` of every CSV and XLSX download, fetched by the administrator."""
    client = world.client()
    headers = {"Authorization": f"Bearer {world.token('admin')}"}
    return {url: client.get(url, headers=headers) for url in spreadsheet_urls(world)}


def test_every_download_answers(downloads):
    failed = [f"{url}: {answer.status_code}" for url, answer in downloads.items() if answer.status_code >= 500]
    assert not failed, "\n".join(failed)


def test_no_cell_is_a_live_formula(downloads):
    wrong, seen = [], 0
    for url, answer in downloads.items():
        if answer.status_code != 200:
            continue
        for cell in cells(answer):
            seen += 1
            part = live(cell)
            if part is not None:
                wrong.append(f"{url}: {cell!r} (part {part!r})")
    assert seen > 1000, seen
    assert not wrong, "\n".join(wrong[:60]) + f"\n({len(wrong)} live of {seen} cells)"


def test_the_payloads_reached_the_downloads(downloads):
    """The sweep means something only if the planted payloads are in the files it reads (escaped or not)."""
    found = {payload: 0 for payload in FORMULA_PAYLOADS}
    kinds = set()
    for url, answer in downloads.items():
        if answer.status_code != 200:
            continue
        for cell in cells(answer):
            for payload in found:  # the guard may have put an apostrophe before any piece
                if payload.strip("\t\r").replace("'", "") in cell.replace("'", ""):
                    found[payload] += 1
                    kinds.add(url.split("?")[0].rsplit("/", 1)[-1])
    assert all(found.values()), found
    for expected in ("lights.csv", "assets.csv", "columns.csv", "worklist.csv", "worklist.xlsx", "cp-sites.csv"):
        assert expected in kinds, (expected, sorted(kinds))
