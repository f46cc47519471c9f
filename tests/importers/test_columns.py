"""Lamp-column inventories: the real registers' faults (no ids, null ids, repeated ids, duplicate positions), stable
ids, idempotent re-import and --replace. The real files are moved into Bell Foundry (tests/columns_helpers.py)."""

import json

import pytest
import shapely
from click.testing import CliRunner

from mapper.cli import main
from mapper.config import load
from mapper.errors import MalformedInput
from mapper.importers.columns import ALREADY, DUPLICATE_ROW, MOVED, OUTSIDE_ZONE, import_columns, read_inventory
from mapper.web.context import Resources
from tests.columns_helpers import BRISTOL, GRIT_BINS, TRAFFORD, ZONE, bristol_shifted_csv, geojson_shifted


@pytest.fixture(scope="module")
def bristol(tmp_path_factory):
    """Bristol's 49,451 lights as easting/northing, moved so the city centre lies in Bell Foundry."""
    return bristol_shifted_csv(tmp_path_factory.mktemp("bristol") / "bristol_bng.csv")


@pytest.fixture
def resources(tmp_path):
    return Resources(load({"DATA_DIR": tmp_path / "data"}))


def run_import(resources, path, **options):
    return import_columns(path, ZONE, schema=resources.schema, zones=resources.zones(), store=resources.store,
                          **options)


def stored_columns(resources, status=None):
    features = resources.store.query(ZONE, "columns", where={"status": status} if status else None)
    return [json.loads(line)["properties"] for line in features.lines]


def test_bristol_without_ids_gets_stable_generated_ids_and_one_column_per_duplicate_position():
    first, second = read_inventory(BRISTOL), read_inventory(BRISTOL)
    assert len(first.numbers) == 49_451
    assert len(first.duplicates) == 288  # PROVENANCE.md: 49,163 distinct positions
    kept = [unit_id for unit_id in first.unit_ids if unit_id is not None]
    assert len(kept) == first.generated == 49_163 == len(set(kept))
    assert all(unit_id.startswith("GEN-") for unit_id in kept)
    assert first.unit_ids == second.unit_ids
    assert first.repeated == {}  # two generated ids in one square metre are renamed (~2) but not listed
    assert any("~" in unit_id for unit_id in kept)


def test_generated_ids_are_the_position_in_metres():
    inventory = read_inventory(BRISTOL)
    # First row: -2.536601140327318, 51.49049679592616 is 362841 E, 176976 N.
    assert inventory.unit_ids[0] == "GEN-362841-176976"


def test_grit_bins_null_ids_are_generated_a_repeated_row_dropped_and_a_reused_id_suffixed():
    inventory = read_inventory(GRIT_BINS)
    assert inventory.id_column == "feature_id"
    assert inventory.null_ids == 18 and inventory.generated == 18
    assert inventory.duplicates == [418]  # '380' twice at one position with the same location text
    assert inventory.repeated == {"235": [(232, "235"), (313, "235~2")]}
    kept = [unit_id for unit_id in inventory.unit_ids if unit_id is not None]
    assert len(kept) == 441 == len(set(kept))
    assert inventory.features[0]["properties"] == {
        "unit_id": "208", "location": "GBIN: GLOUCESTER RD O/S TURNPIKE COT NR BENNETS RD",
        "source": "banes_grit_bins.geojson"}
    assert read_inventory(GRIT_BINS).unit_ids == inventory.unit_ids


def test_integer_ids_in_a_csv_column_named_camera_id():
    inventory = read_inventory(TRAFFORD)
    assert inventory.id_column == "camera_id"
    assert inventory.unit_ids[:2] == ["1001", "1002"]
    assert inventory.features[0]["properties"]["location"] == "Trafford Wharf Road"


def test_a_named_id_column_that_is_missing_is_refused_with_the_columns_it_has():
    with pytest.raises(MalformedInput, match="no column 'lamp_no'.*camera_id"):
        read_inventory(TRAFFORD, id_column="lamp_no")


def test_id_column_option_picks_another_column():
    inventory = read_inventory(TRAFFORD, id_column="LOCATION")
    assert inventory.unit_ids[0] == "Trafford Wharf Road"


def test_only_columns_inside_the_zone_are_kept_and_reimport_adds_nothing(resources, bristol):
    path, easting, northing = bristol
    zone = resources.zones().get(ZONE)
    from mapper.crs import from_british_national_grid

    lon, lat = from_british_national_grid(easting, northing)
    unique = {(round(float(x), 7), round(float(y), 7)) for x, y in zip(lon, lat)}
    inside = sum(bool(shapely.intersects_xy(zone.boundary, x, y)) for x, y in unique)
    report = run_import(resources, path)
    assert report.added == inside > 1000
    assert report.skipped[OUTSIDE_ZONE] > 40_000 and report.skipped[DUPLICATE_ROW] == 288
    ids = [p["unit_id"] for p in stored_columns(resources)]
    assert len(ids) == len(set(ids)) == inside

    again = run_import(resources, path)
    assert again.added == 0 and again.skipped[ALREADY] == inside
    assert [p["unit_id"] for p in stored_columns(resources)] == ids


def test_the_same_file_in_a_new_data_directory_gives_the_same_ids(tmp_path, bristol):
    path = bristol[0]
    first = Resources(load({"DATA_DIR": tmp_path / "one"}))
    second = Resources(load({"DATA_DIR": tmp_path / "two"}))
    run_import(first, path)
    run_import(second, path)
    assert sorted(p["unit_id"] for p in stored_columns(first)) == sorted(p["unit_id"] for p in stored_columns(second))


def test_grit_bins_moved_into_the_zone_keep_both_bins_that_share_an_id(resources, tmp_path):
    path = geojson_shifted(GRIT_BINS, tmp_path / "grit.geojson", anchor=231)  # the first bin '235'
    report = run_import(resources, path)
    ids = {p["unit_id"] for p in stored_columns(resources)}
    assert {"235", "235~2"} <= ids
    assert report.repeated["235"][1] == (313, "235~2")
    assert any("'235'" in note for note in report.id_notes())


def write_csv(path, rows):
    path.write_text("unit_id,easting,northing,location\n" + "".join(f"{u},{e},{n},{loc}\n" for u, e, n, loc in rows),
                    encoding="utf-8")
    return path


def test_replace_marks_vanished_columns_removed_and_moves_moved_ones(resources, tmp_path):
    from tests.columns_helpers import zone_centre

    e, n = (round(v) for v in zone_centre())
    first = write_csv(tmp_path / "v1.csv", [("LC1", e, n, "Main St"), ("LC2", e + 40, n, "Main St"),
                                           ("LC3", e + 80, n, "Main St")])
    assert run_import(resources, first).added == 3
    second = write_csv(tmp_path / "v2.csv", [("LC1", e, n, "Main St"), ("LC2", e + 40, n + 10, "Main St")])
    without = run_import(resources, second)
    assert without.added == 0 and without.skipped[MOVED] == 1 and without.skipped[ALREADY] == 1
    assert without.removed == 0 and len(stored_columns(resources, "in-service")) == 3

    replaced = run_import(resources, second, replace=True)
    assert replaced.added == 1 and replaced.removed == 2  # LC2's old position and LC3
    in_service = {p["unit_id"] for p in stored_columns(resources, "in-service")}
    assert in_service == {"LC1", "LC2"}
    assert {p["unit_id"] for p in stored_columns(resources, "removed")} == {"LC2", "LC3"}
    assert run_import(resources, second, replace=True).added == 0


def test_rows_the_validator_refuses_are_listed_and_the_rest_stored(resources, tmp_path):
    from tests.columns_helpers import zone_centre

    e, n = (round(v) for v in zone_centre())
    path = write_csv(tmp_path / "bad.csv", [("LC1", e, n, "ok"), ("X" * 80, e + 30, n, "too long an id"),
                                            ("LC3", "north", n, "no easting")])
    report = run_import(resources, path)
    assert report.added == 1
    assert [number for number, _ in report.refusals] == [3, 4]
    assert "'unit_id' is 80 characters long" in report.refusals[0][1]


def test_cli_import_columns(tmp_path, bristol):
    runner = CliRunner()
    data = str(tmp_path / "data")
    result = runner.invoke(main, ["import-columns", "--zone", ZONE, str(GRIT_BINS), "--data", data])
    assert result.exit_code == 0, result.output
    assert "Imported 0 of 442 columns" in result.output and "outside the zone 441" in result.output
    assert "Unit id '235' is on columns at different positions" in result.stderr
    result = runner.invoke(main, ["import-columns", "--zone", "nowhere", str(GRIT_BINS), "--data", data])
    assert result.exit_code == 2 and "nowhere" in result.output
    result = runner.invoke(main, ["import-columns", "--zone", ZONE, "--id-column", "lamp", str(TRAFFORD),
                                  "--data", data])
    assert result.exit_code == 2 and "no column 'lamp'" in result.output


def test_lights_imported_with_mapper_import_are_linked_too(tmp_path):
    from tests.columns_helpers import zone_centre

    e, n = (round(v) for v in zone_centre())
    columns = write_csv(tmp_path / "columns.csv", [("LC1", e, n, "Main St"), ("LC2", e + 60, n, "Main St")])
    lights = tmp_path / "lights.csv"
    lights.write_text(f"easting,northing,category\n{e + 3},{n},out\n{e + 30},{n},dim\n", encoding="utf-8")
    runner, data = CliRunner(), str(tmp_path / "data")
    assert runner.invoke(main, ["import-columns", "--zone", ZONE, str(columns), "--data", data]).exit_code == 0
    result = runner.invoke(main, ["import", "--zone", ZONE, "--layer", "lights", str(lights), "--data", data])
    assert result.exit_code == 0, result.output
    resources = Resources(load({"DATA_DIR": data}))
    linked = [json.loads(line)["properties"].get("column") for line in resources.store.query(ZONE, "lights").lines]
    assert linked == ["LC1", None]  # the second is 30 m from LC1 and 30 m from LC2
