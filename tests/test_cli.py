"""The ``mapper`` command line (mapper.cli), run with click's CliRunner on real temporary data directories."""

import json
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from click.testing import CliRunner

from mapper.cli import main
from mapper.config import SHIPPED_DATA_DIR
from mapper.crs import to_british_national_grid
from mapper.schema import load_schema
from mapper.store.geojson_files import GeoJSONFileStore
from mapper.zones import load_zones

INSIDE_BELL_FOUNDRY = (-1.187, 52.773)
INSIDE_NEW_PARKS = (-1.177161, 52.646637)


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def mapper(data_dir):
    """``mapper(*args)``: run the CLI on the temporary data directory; returns click's Result."""

    def run(*args, data=True):
        arguments = [str(a) for a in args] + (["--data", str(data_dir)] if data else [])
        return CliRunner().invoke(main, arguments, catch_exceptions=False)

    return run


def stored(data_dir, zone, layer):
    return list(GeoJSONFileStore(data_dir).query(zone, layer))


def write_csv(path, text, encoding="utf-8"):
    path.write_text(text, encoding=encoding)
    return path


def point_feature(lon, lat, **properties):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}


def assert_clean_error(result, code, text):
    assert result.exit_code == code, result.output
    assert text in result.output
    assert "Traceback" not in result.output


# -- import --------------------------------------------------------------------------------------------------------


def test_import_geojson(mapper, data_dir, tmp_path):
    path = tmp_path / "lights.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        point_feature(*INSIDE_BELL_FOUNDRY, category="out", description="Dark by the chapel"),
        point_feature(-1.188, 52.774, category="dim")]}), encoding="utf-8")
    result = mapper("import", "--zone", "bell-foundry", "--layer", "lights", path)
    assert result.exit_code == 0, result.output
    assert "Imported 2 features into bell-foundry/lights." in result.output
    features = stored(data_dir, "bell-foundry", "lights")
    assert [f["properties"]["category"] for f in features] == ["out", "dim"]
    assert features[0]["properties"]["description"] == "Dark by the chapel"
    assert features[0]["properties"]["zone"] == "bell-foundry" and features[0]["properties"]["status"] == "open"


def test_import_csv_with_lon_lat(mapper, data_dir, tmp_path):
    path = write_csv(tmp_path / "assets.csv", "name,category,longitude,latitude,website,phone\n"
                     "The Parks Medical Centre,health,-1.177161,52.646637,http://www.theparksmedicalcentre.com,\n")
    result = mapper("import", "--zone", "new-parks", "--layer", "assets", path)
    assert result.exit_code == 0, result.output
    feature, = stored(data_dir, "new-parks", "assets")
    assert feature["geometry"]["coordinates"] == [-1.177161, 52.646637]
    assert "phone" not in feature["properties"]  # an empty cell is an absent property
    assert feature["properties"]["website"] == "http://www.theparksmedicalcentre.com"


def test_import_csv_with_easting_northing_round_trips(mapper, data_dir, tmp_path):
    easting, northing = to_british_national_grid(*INSIDE_BELL_FOUNDRY)
    path = write_csv(tmp_path / "works.csv", f"easting,northing,category\n{float(easting)!r},{float(northing)!r},out\n")
    assert mapper("import", "--zone", "bell-foundry", "--layer", "lights", path).exit_code == 0
    feature, = stored(data_dir, "bell-foundry", "lights")
    lon, lat = feature["geometry"]["coordinates"]
    assert abs(lon - INSIDE_BELL_FOUNDRY[0]) < 1e-6 and abs(lat - INSIDE_BELL_FOUNDRY[1]) < 1e-6


def test_import_csv_with_semicolons_and_a_byte_order_mark(mapper, data_dir, tmp_path):
    text = "lat;lon;category;description\r\n52.773;-1.187;flickering;Caf\u00e9 corner\r\n"
    path = write_csv(tmp_path / "excel.csv", text, encoding="utf-8-sig")
    assert mapper("import", "--zone", "bell-foundry", "--layer", "lights", path).exit_code == 0
    feature, = stored(data_dir, "bell-foundry", "lights")
    assert feature["properties"]["category"] == "flickering"
    assert feature["properties"]["description"] == "Caf\u00e9 corner"


def test_a_bad_row_stores_nothing_and_names_the_row(mapper, data_dir, tmp_path):
    path = write_csv(tmp_path / "lights.csv", "lon,lat,category,colour\n-1.187,52.773,out,\n-1.188,52.774,dim,red\n"
                     "-1.0,52.0,out,\n")
    result = mapper("import", "--zone", "bell-foundry", "--layer", "lights", path)
    assert result.exit_code == 1
    assert "row 3: Unknown properties for layer 'lights': 'colour'. Allowed: category, description, " in result.output
    assert "row 4: The point (-1.0, 52.0) is outside the Bell Foundry zone (bell-foundry)." in result.output
    assert "Nothing imported: 2 of 3 rows refused." in result.output
    assert stored(data_dir, "bell-foundry", "lights") == []


def test_the_list_of_refused_rows_is_capped(mapper, tmp_path):
    rows = "".join(f"-1.187,52.773,purple{n}\n" for n in range(25))
    result = mapper("import", "--zone", "bell-foundry", "--layer", "lights",
                    write_csv(tmp_path / "lights.csv", "lon,lat,category\n" + rows))
    assert result.exit_code == 1
    assert "row 21: Unknown category 'purple19'" in result.output and "row 22:" not in result.output
    assert "... and 5 more refused." in result.output


def test_skip_invalid_stores_the_good_rows(mapper, data_dir, tmp_path):
    text = "lon,lat,category\n-1.187,52.773,out\nnan,52.774,dim\n-1.188,52.774,dim\n"
    path = write_csv(tmp_path / "lights.csv", text)
    result = mapper("import", "--zone", "bell-foundry", "--layer", "lights", "--skip-invalid", path)
    assert result.exit_code == 0, result.output
    assert "row 3: Coordinates must be finite numbers, got 'nan'." in result.output
    assert "Imported 2 features into bell-foundry/lights; skipped 1 refused row." in result.output
    assert [f["properties"]["category"] for f in stored(data_dir, "bell-foundry", "lights")] == ["out", "dim"]


def test_skip_invalid_with_no_good_rows_is_a_failure(mapper, data_dir, tmp_path):
    path = write_csv(tmp_path / "lights.csv", "lon,lat,category\n-1.187,52.773,blue\n")
    result = mapper("import", "--zone", "bell-foundry", "--layer", "lights", "--skip-invalid", path)
    assert result.exit_code == 1
    assert stored(data_dir, "bell-foundry", "lights") == []


@pytest.mark.parametrize("zone, layer, message", [
    ("nowhere", "lights", "No zone 'nowhere'. Zones are: bell-foundry, new-parks, thringstone-whitwick."),
    ("bell-foundry", "lamps", "No layer 'lamps'. Layers are: lights, assets, audits"),
])
def test_unknown_zone_or_layer(mapper, data_dir, tmp_path, zone, layer, message):
    path = write_csv(tmp_path / "lights.csv", "lon,lat,category\n-1.187,52.773,out\n")
    assert_clean_error(mapper("import", "--zone", zone, "--layer", layer, path), 2, message)
    assert not (data_dir / "bell-foundry").exists()


@pytest.mark.parametrize("name, content, message", [
    ("junk.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "is not UTF-8 text"),
    ("junk.geojson", b'{"type": "FeatureCollection", "features": [', "the file is not valid JSON"),
    ("names.csv", b"name,category\nA,out\n", "no coordinate columns"),
    ("empty.csv", b"", "is empty"),
    ("header.csv", b"lon,lat,category\n", "has no rows to import"),
])
def test_bad_files_are_one_line_and_exit_2(mapper, data_dir, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    result = mapper("import", "--zone", "bell-foundry", "--layer", "lights", path)
    assert_clean_error(result, 2, message)
    assert len(result.output.strip().splitlines()) == 1
    assert stored(data_dir, "bell-foundry", "lights") == []


# -- check ---------------------------------------------------------------------------------------------------------


def test_check_a_clean_store(mapper):
    assert mapper("demo").exit_code == 0
    result = mapper("check")
    assert result.exit_code == 0, result.output
    assert "OK: 3 zones, 6 layer files, 54 features." in result.output
    assert "  new-parks/lights: 14" in result.output


def test_check_reports_a_line_broken_in_the_middle(mapper, data_dir):
    mapper("demo")
    path = data_dir / "new-parks" / "lights.geojson"
    lines = path.read_text(encoding="utf-8").split("\n")
    lines[5] = lines[5][:40]  # line 6 of the file
    path.write_text("\n".join(lines), encoding="utf-8")
    result = mapper("check")
    assert result.exit_code == 1
    assert f"{path}:6: " in result.output


def test_check_reports_features_that_break_the_schema_or_leave_their_zone(mapper, data_dir):
    mapper("demo")
    path = data_dir / "bell-foundry" / "assets.geojson"
    lines = path.read_text(encoding="utf-8").split("\n")
    feature = json.loads(lines[1].rstrip(","))
    feature["properties"]["category"] = "pub"
    feature["geometry"]["coordinates"] = list(INSIDE_NEW_PARKS)
    lines[1] = json.dumps(feature, separators=(",", ":")) + ","
    path.write_text("\n".join(lines), encoding="utf-8")
    result = mapper("check")
    assert result.exit_code == 1
    assert f"{path}:2: Unknown category 'pub' for layer 'assets'." in result.output
    assert f"{path}:2: the point (-1.177161, 52.646637) is outside the Bell Foundry zone" in result.output


def test_check_reports_layers_of_unknown_zones(mapper, data_dir, tmp_path):
    mapper("demo")
    stray = data_dir / "old-zone"
    stray.mkdir()
    (data_dir / "new-parks" / "lights.geojson").rename(stray / "lights.geojson")
    result = mapper("check")
    assert result.exit_code == 1
    assert f"{stray / 'lights.geojson'}:1: zone 'old-zone' is not in the zone registry" in result.output


# -- demo ----------------------------------------------------------------------------------------------------------


def test_demo_populates_every_zone_once(mapper, data_dir):
    result = mapper("demo")
    assert result.exit_code == 0, result.output
    schema = load_schema(SHIPPED_DATA_DIR / "layers.toml")
    registry = load_zones(data_dir / "zones.geojson")
    for zone in registry:
        lights, assets = stored(data_dir, zone.id, "lights"), stored(data_dir, zone.id, "assets")
        assert {f["properties"]["category"] for f in lights} == set(schema.layer("lights").category_ids)
        assert {f["properties"]["category"] for f in assets} == {"health", "welfare-facility"}
        assert all(f["properties"]["status"] == "published" for f in assets)
        # Community Payback planning has something to plan with: two facilities, one open all hours
        from mapper.analysis.catchments import welfare_facilities

        facilities = welfare_facilities(assets)
        assert len(facilities) == 2 and sorted(f.always_open for f in facilities) == [False, True]
        for feature in lights + assets:
            assert registry.zone_for_point(*feature["geometry"]["coordinates"]).id == zone.id
    again = mapper("demo")
    assert again.exit_code == 0
    assert again.output.count("nothing added") == 3
    assert len(stored(data_dir, "new-parks", "lights")) == 14


def test_demo_force_adds_again(mapper, data_dir):
    mapper("demo")
    assert mapper("demo", "--force").exit_code == 0
    assert len(stored(data_dir, "new-parks", "assets")) == 8


def test_demo_files_carry_their_attribution():
    readme = (SHIPPED_DATA_DIR / "demo" / "README.md").read_text(encoding="utf-8")
    assert "Contains public sector information licensed under the Open Government Licence v3.0." in readme
    assert "synthetic" in readme


# -- zones ---------------------------------------------------------------------------------------------------------


SQUARE = {"type": "Polygon", "coordinates": [[[-1.10, 52.60], [-1.09, 52.60], [-1.09, 52.61], [-1.10, 52.61],
                                              [-1.10, 52.60]]]}


def test_zones_list(mapper):
    result = mapper("zones", "list")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == [
        "bell-foundry", "new-parks", "thringstone-whitwick"]


def test_zones_add_from_geojson(mapper, data_dir, tmp_path):
    boundary = tmp_path / "braunstone.geojson"
    boundary.write_text(json.dumps({"type": "Feature", "properties": {}, "geometry": SQUARE}), encoding="utf-8")
    result = mapper("zones", "add", "Braunstone", "--id", "braunstone", "--boundary", boundary, "--council", "LCC")
    assert result.exit_code == 0, result.output
    registry = load_zones(data_dir / "zones.geojson")
    assert registry.zone_for_point(-1.095, 52.605).id == "braunstone"
    assert registry.get("braunstone").properties == {"council": "LCC"}
    duplicate = mapper("zones", "add", "Braunstone again", "--id", "braunstone", "--boundary", boundary)
    assert_clean_error(duplicate, 2, "Zone 'braunstone' already exists.")


def test_zones_add_reprojects_and_joins_polygons(mapper, data_dir, tmp_path):
    import geopandas
    from shapely.geometry import box, shape

    west, east = box(-1.10, 52.60, -1.095, 52.61), box(-1.095, 52.60, -1.09, 52.61)
    path = tmp_path / "halves.gpkg"
    geopandas.GeoDataFrame(geometry=[west, east], crs="EPSG:4326").to_crs("EPSG:27700").to_file(path)
    assert mapper("zones", "add", "Halves", "--id", "halves", "--boundary", path).exit_code == 0
    zone = load_zones(data_dir / "zones.geojson").get("halves")
    assert zone.boundary.geom_type == "Polygon"
    assert zone.boundary.symmetric_difference(shape(SQUARE)).area < 1e-9


@pytest.mark.parametrize("content, message", [
    (json.dumps({"type": "Point", "coordinates": [-1.1, 52.6]}), "a zone boundary must be a polygon, got Point"),
    ("not a map", "Cannot read the boundary file"),
])
def test_zones_add_refuses_bad_boundaries(mapper, data_dir, tmp_path, content, message):
    path = tmp_path / "boundary.geojson"
    path.write_text(content, encoding="utf-8")
    assert_clean_error(mapper("zones", "add", "Bad", "--id", "bad", "--boundary", path), 2, message)
    assert "bad" not in load_zones(data_dir / "zones.geojson")


def test_zones_add_refuses_a_bad_id(mapper, tmp_path):
    path = tmp_path / "boundary.geojson"
    path.write_text(json.dumps(SQUARE), encoding="utf-8")
    assert_clean_error(mapper("zones", "add", "Bad", "--id", "Bad Id", "--boundary", path), 2,
                       "Zone id 'Bad Id' must be lower-case letters, digits and hyphens.")


# -- serve and python -m mapper ------------------------------------------------------------------------------------


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_the_api(data_dir):
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "mapper", "serve", "--port", str(port), "--data", str(data_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline, answer = time.monotonic() + 30, None
        while time.monotonic() < deadline and answer is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/zones", timeout=2) as response:
                    answer = response.status, json.load(response)
            except OSError:
                assert server.poll() is None, server.stdout.read()
                time.sleep(0.2)
        assert answer is not None, "the server did not answer within 30 s"
        status, body = answer
        assert status == 200
        assert [zone["id"] for zone in body["zones"]] == ["bell-foundry", "new-parks", "thringstone-whitwick"]
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=10)
    assert f"http://127.0.0.1:{port}/" in output


def test_python_dash_m_mapper():
    result = subprocess.run([sys.executable, "-m", "mapper", "--help"], capture_output=True, text=True, check=True)
    assert result.stdout.startswith("Usage: mapper ")
