"""``mapper import-gpx`` and ``mapper export-gpx`` with click's CliRunner on real temporary data directories.

The GPX files are the real gpxpy recordings moved into Thringstone & Whitwick (tests/gpx_helpers.py)."""

import gpxpy
import pytest
from click.testing import CliRunner

from mapper.cli import main
from mapper.store.geojson_files import GeoJSONFileStore
from tests.gpx_helpers import BILLION_LAUGHS, ZONE, shifted_into


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def mapper(data_dir):
    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args] + ["--data", str(data_dir)], catch_exceptions=False)

    return run


@pytest.fixture
def walk_file(tmp_path):
    path = tmp_path / "cerknicko.gpx"
    path.write_bytes(shifted_into("cerknicko-jezero.gpx"))
    return path


def stored(data_dir, layer):
    return list(GeoJSONFileStore(data_dir).query(ZONE, layer))


def test_import_gpx_stores_the_walk_and_its_reports(mapper, data_dir, walk_file):
    result = mapper("import-gpx", "--zone", ZONE, "--walkers", 3, "--title", "Whitwick, 20 Nov", "--date",
                    "2024-11-20", walk_file)
    assert result.exit_code == 0, result.output
    assert "Imported the walk 'Whitwick, 20 Nov' (4,019 m, 119 min) into thringstone-whitwick/audits" in result.output
    assert "2 lighting reports added (TW-" in result.output and "; 6 skipped." in result.output
    assert "is outside the Thringstone & Whitwick zone" in result.output  # the skipped waypoints, on stderr
    walk = stored(data_dir, "audits")[0]["properties"]
    assert (walk["walkers"], walk["walked_on"]) == (3, "2024-11-20")
    assert len(stored(data_dir, "lights")) == 2


def test_import_gpx_twice_adds_nothing(mapper, data_dir, walk_file):
    mapper("import-gpx", "--zone", ZONE, walk_file)
    again = mapper("import-gpx", "--zone", ZONE, walk_file)
    assert again.exit_code == 0
    assert "This file was imported before" in again.output and "0 lighting reports added; 2 already imported" in \
        again.output
    assert len(stored(data_dir, "audits")) == 1 and len(stored(data_dir, "lights")) == 2


def test_keep_outside(mapper, data_dir, walk_file):
    result = mapper("import-gpx", "--zone", ZONE, "--keep-outside", walk_file)
    assert "7 lighting reports added" in result.output
    assert len(stored(data_dir, "lights")) == 7


def test_a_hostile_file_is_one_line_and_exit_2_with_nothing_stored(mapper, data_dir, tmp_path):
    path = tmp_path / "laughs.gpx"
    path.write_bytes(BILLION_LAUGHS)
    result = mapper("import-gpx", "--zone", ZONE, path)
    assert result.exit_code == 2
    assert "Error: laughs.gpx declares a DTD" in result.output and "Traceback" not in result.output
    assert stored(data_dir, "audits") == []


def test_bad_options_are_usage_errors(mapper, walk_file):
    assert mapper("import-gpx", "--zone", "atlantis", walk_file).exit_code == 2
    assert mapper("import-gpx", "--zone", ZONE, "--walkers", 0, walk_file).exit_code == 2
    bad_date = mapper("import-gpx", "--zone", ZONE, "--date", "20/11/2024", walk_file)
    assert bad_date.exit_code == 2 and "date must be YYYY-MM-DD" in bad_date.output


def test_export_gpx_then_import_gives_back_the_same_points(mapper, data_dir, walk_file, tmp_path):
    mapper("import-gpx", "--zone", ZONE, walk_file)
    out = tmp_path / "next-walk.gpx"
    result = mapper("export-gpx", "--zone", ZONE, "-o", out, "--uncovered")
    assert result.exit_code == 0 and "Wrote 2 waypoints and" in result.output
    gpx = gpxpy.parse(out.read_text(encoding="utf-8"))
    reports = stored(data_dir, "lights")
    assert sorted((w.longitude, w.latitude) for w in gpx.waypoints) == sorted(
        tuple(r["geometry"]["coordinates"]) for r in reports)
    assert gpx.routes
    # The walker's phone sends the same waypoints back: recognised by their refs, nothing is reported twice.
    back = mapper("import-gpx", "--zone", ZONE, out)
    assert back.exit_code == 0 and "2 waypoints already reported" in back.output
    assert len(stored(data_dir, "lights")) == 2


def test_export_gpx_status_filter(mapper, walk_file, tmp_path):
    mapper("import-gpx", "--zone", ZONE, walk_file)
    out = tmp_path / "fixed.gpx"
    assert "Wrote 0 waypoints" in mapper("export-gpx", "--zone", ZONE, "-o", out, "--status", "fixed").output
    bad = mapper("export-gpx", "--zone", ZONE, "-o", out, "--status", "broken")
    assert bad.exit_code == 2 and "Unknown status 'broken'" in bad.output


def test_mapper_check_survives_a_stored_walk(mapper, walk_file):
    mapper("import-gpx", "--zone", ZONE, walk_file)
    result = CliRunner().invoke(main, ["check", "--data", str(walk_file.parent / "data")])
    assert result.exception is None, repr(result.exception)
    assert result.exit_code == 0 and result.output.startswith("OK"), result.output
