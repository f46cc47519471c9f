"""The analysts' commands: import-police, hotspots, targets and evaluate, on real temporary data directories."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from mapper.cli import main

POLICE = Path(__file__).resolve().parent / "data" / "police"
BELL_FOUNDRY = POLICE / "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"
SAMPLE = POLICE / "2024-12-leicestershire-street-sample.csv"


@pytest.fixture
def mapper(tmp_path):
    def run(*args):
        return CliRunner().invoke(main, [str(a) for a in args] + ["--data", str(tmp_path / "data")],
                                  catch_exceptions=False)

    return run


def test_import_police_reports_what_it_skipped(mapper):
    result = mapper("import-police", "--zone", "bell-foundry", SAMPLE)
    assert result.exit_code == 0, result.output
    assert ("Imported 8 of 17 rows into bell-foundry/crime; skipped 9: no location 3, outside the force area 3, "
            "outside the zone 3.") in result.output
    again = mapper("import-police", "--zone", "bell-foundry", SAMPLE)
    assert "Imported 0 of 17 rows" in again.output and "already imported 8" in again.output


def test_import_police_refuses_an_unknown_zone(mapper):
    result = mapper("import-police", "--zone", "nowhere", SAMPLE)
    assert result.exit_code == 2 and "No zone 'nowhere'" in result.output


def test_hotspots_targets_and_evaluate(mapper, tmp_path):
    assert mapper("import-police", "--zone", "bell-foundry", BELL_FOUNDRY).exit_code == 0
    out = tmp_path / "bell-foundry-asb-gi.geojson"
    result = mapper("hotspots", "--zone", "bell-foundry", "--layer", "crime:anti-social-behaviour", "--method", "gi",
                    "--cell", "50", "--band", "200", "--from", "2024-01", "--to", "2024-12", "-o", out)
    assert result.exit_code == 0, result.output
    collection = json.loads(out.read_text(encoding="utf-8"))
    assert collection["type"] == "FeatureCollection" and collection["analysis"]["band_m"] == 200
    assert f"Wrote {len(collection['features'])} cells" in result.output
    assert any(f["properties"]["suppressed"] for f in collection["features"])
    kde = tmp_path / "kde.geojson"
    result = mapper("hotspots", "--zone", "bell-foundry", "--layer", "crime", "--method", "kde", "--bandwidth", "150",
                    "--no-suppression", "-o", kde)
    assert result.exit_code == 0, result.output
    assert "suppressed" not in json.loads(kde.read_text())["features"][0]["properties"]
    areas = tmp_path / "targets.geojson"
    result = mapper("targets", "--zone", "bell-foundry", "--layer", "crime:anti-social-behaviour", "--share", "0.05",
                    "-o", areas)
    assert result.exit_code == 0, result.output
    assert "  1. " in result.output and json.loads(areas.read_text())["features"][0]["properties"]["rank"] == 1
    result = mapper("evaluate", "--zone", "bell-foundry", "--layer", "crime:anti-social-behaviour",
                    "--train", "2023-01..2023-12", "--test", "2024-01..2024-12", "--share", "0.05")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[1].split()[:3] == ["method", "cells", "area"] and lines[2].startswith("counts")


@pytest.mark.parametrize("args, message", [
    (["--layer", "crime:asb"], "Unknown filter 'asb'"),
    (["--layer", "crime", "--from", "last year"], "'from' must be YYYY-MM"),
    (["--layer", "crime", "--cell", "-5"], "'cell' must be a positive number"),
    (["--layer", "crime", "-o", "out.shp"], "Cannot tell the format of"),
    (["--layer", "crime", "--crs", "27700", "-o", "out.kml"], "KML is always EPSG:4326"),
])
def test_hotspots_refuses_bad_input(mapper, tmp_path, args, message):
    arguments = ["hotspots", "--zone", "bell-foundry"] + args
    if "-o" not in args:
        arguments += ["-o", tmp_path / "out.geojson"]
    result = mapper(*arguments)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
