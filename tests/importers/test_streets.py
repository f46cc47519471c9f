"""Street networks (mapper.importers.streets and `mapper import-streets`) on a hand-made OSM-style file with the
quirks of real extracts: ways people may not walk, a MultiLineString, a node, a bad line, a duplicate, a way just
outside the zone and one far away. See tests/data/streets/README.md for what each feature is."""

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from mapper.analysis.catchments import load_network
from mapper.cli import main
from mapper.crs import to_british_national_grid
from mapper.errors import MalformedInput
from mapper.importers.streets import import_streets, osm_tags, source_key, walkable

WAYS = Path(__file__).resolve().parent.parent / "data" / "streets" / "bell-foundry-ways.geojson"
ADDED = {"osm:way/900000001", "osm:way/900000002", "osm:way/900000003", "osm:way/900000006", "osm:way/900000009",
         "osm:relation/900000010", "osm:way/900000016"}  # and Station Path, keyed by a hash


def run(resources, path=WAYS, zone="bell-foundry", **options):
    return import_streets(path, zone, schema=resources.schema, zones=resources.zones(), store=resources.store,
                          **options)


def stored(resources, zone="bell-foundry"):
    return list(resources.store.query(zone, "streets"))


def test_walkable_ways_are_imported_and_the_rest_counted_by_reason(resources):
    report = run(resources, skip_invalid=True)
    assert (report.rows, report.added) == (18, 8)
    assert dict(report.skipped) == {
        "not a line": 1, "no highway tag": 1, "not a way people walk (motorway, trunk, construction ...)": 3,
        "no access on foot (foot=no, access=private ...)": 2, "refused by the validator": 1,
        "outside the zone and its margin": 1, "the same way again in the file": 1}
    assert report.refusals[0][0] == 11 and "at least two positions" in report.refusals[0][1]
    assert report.notes() == ["highway values not known to be walkable, left out: yes (1)."]
    assert report.summary().startswith("Imported 8 of 18 features (")
    features = stored(resources)
    keys = {f["properties"]["source_key"] for f in features}
    assert ADDED < keys and len(keys) == 8
    assert [k for k in keys - ADDED][0].startswith("sha256:")
    names = Counter(f["properties"].get("name") for f in features)
    assert names == Counter({"Freehold Street": 1, "Cobden Street": 1, None: 1, "Derby Road": 1, "Depot Yard": 1,
                             "Market Place": 1, "Beyond The Boundary": 1, "Station Path": 1})
    freehold = next(f for f in features if f["properties"].get("name") == "Freehold Street")
    assert freehold["properties"] | {"id": None, "created": None, "updated": None} == {
        "id": None, "name": "Freehold Street", "highway": "residential", "source": WAYS.name,
        "source_key": "osm:way/900000001", "status": "in-use", "zone": "bell-foundry", "created": None,
        "updated": None}
    assert freehold["geometry"]["type"] == "MultiLineString"
    market = next(f for f in features if f["properties"].get("name") == "Market Place")
    assert len(market["geometry"]["coordinates"]) == 2


def test_reimporting_adds_nothing(resources):
    run(resources, skip_invalid=True)
    again = run(resources, skip_invalid=True)
    assert again.added == 0 and again.skipped["already imported"] == 9  # the 8 ways, and feature 17 (feature 1)
    assert len(stored(resources)) == 8


def test_a_refused_feature_stores_nothing_without_skip_invalid(resources):
    report = run(resources)
    assert report.added == 0 and report.stored_nothing and stored(resources) == []
    assert report.summary() == "Nothing imported into bell-foundry/streets: 1 of 18 features refused."


def test_the_margin_decides_which_ways_outside_the_zone_are_kept(resources):
    report = run(resources, skip_invalid=True, margin_m=100)  # Beyond The Boundary is 358 m out
    assert report.added == 7 and report.skipped["outside the zone and its margin"] == 2


def test_the_imported_ways_are_a_walking_network_joined_at_shared_nodes(resources):
    run(resources, skip_invalid=True)
    network = load_network(stored(resources))
    origin = to_british_national_grid(-1.1865442, 52.7694047)  # the Freehold/Cobden junction
    x, y = float(origin[0]), float(origin[1])
    # From 300 m west along Freehold Street to 300 m north up Cobden Street (its last part bends 10 m east).
    walked = network.distances([(x - 300, y)], [(x, y + 150)])[0, 0]
    assert walked == pytest.approx(300 + 150, abs=0.5)
    assert network.total_m > 1000


@pytest.mark.parametrize("tags, ok", [
    ({"highway": "footway"}, True), ({"highway": "steps"}, True), ({"highway": "motorway", "foot": "yes"}, False),
    ({"highway": "trunk"}, False), ({"highway": "trunk", "foot": "designated"}, True),
    ({"highway": "primary", "foot": "use_sidepath"}, False), ({"highway": "track", "access": "no"}, False),
    ({"highway": "construction"}, False), ({"highway": "Residential"}, True), ({}, False)])
def test_the_walking_table(tags, ok):
    assert walkable(tags)[0] is ok


def test_tags_and_keys_from_other_converters():
    ogr = {"osm_id": "123456", "name": "Moor Lane", "highway": "tertiary", "other_tags": '"foot"=>"no","lit"=>"yes"'}
    assert osm_tags(ogr)["foot"] == "no" and walkable(osm_tags(ogr))[1].startswith("no access on foot")
    assert source_key({"properties": ogr}, osm_tags(ogr)) == "osm:way/123456"
    nested = {"type": "way", "id": 42, "tags": {"highway": "path"}}  # old osmtogeojson
    assert osm_tags(nested)["highway"] == "path" and source_key({"properties": nested}, osm_tags(nested)) == \
        "osm:way/42"
    line = {"type": "LineString", "coordinates": [[-1.19, 52.77], [-1.18, 52.77]]}
    one = source_key({"geometry": line, "properties": {"highway": "path"}}, {"highway": "path"})
    assert one.startswith("sha256:") and one == source_key({"geometry": line, "properties": {}}, {"highway": "path"})


def test_files_that_are_not_geojson_lines_are_refused(resources, write):
    with pytest.raises(MalformedInput, match="not GeoJSON"):
        run(resources, write("ways.csv", "lon,lat,highway\n-1.19,52.77,footway\n"))
    with pytest.raises(MalformedInput, match="no features"):
        run(resources, write("empty.geojson", '{"type": "FeatureCollection", "features": []}'))


def test_the_command_reports_and_exits_like_the_other_imports(tmp_path):
    def mapper(*args):
        return CliRunner().invoke(main, ["import-streets", *map(str, args), "--data", str(tmp_path / "data")],
                                  catch_exceptions=False)

    refused = mapper("--zone", "bell-foundry", WAYS)
    assert refused.exit_code == 1 and "feature 11: Every line needs at least two positions." in refused.output
    assert "Nothing imported into bell-foundry/streets" in refused.output and "--skip-invalid" in refused.output
    result = mapper("--zone", "bell-foundry", "--skip-invalid", WAYS)
    assert result.exit_code == 0, result.output
    assert "Imported 8 of 18 features" in result.output and "highway values not known" in result.output
    again = mapper("--zone", "bell-foundry", "--skip-invalid", WAYS)
    assert "Imported 0 of 18 features" in again.output and "already imported 9" in again.output
    unknown = mapper("--zone", "nowhere", WAYS)
    assert unknown.exit_code == 2 and "No zone 'nowhere'" in unknown.output
    not_json = tmp_path / "ways.txt"
    not_json.write_text("hello", encoding="utf-8")
    assert mapper("--zone", "bell-foundry", not_json).exit_code == 2
    stored_file = json.loads((tmp_path / "data" / "bell-foundry" / "streets.geojson").read_text(encoding="utf-8"))
    assert len(stored_file["features"]) == 8


def test_mapper_check_accepts_ways_kept_by_the_margin_outside_the_zone(tmp_path):
    data = str(tmp_path / "data")
    imported = CliRunner().invoke(main, ["import-streets", "--zone", "bell-foundry", "--skip-invalid", str(WAYS),
                                         "--data", data], catch_exceptions=False)
    assert imported.exit_code == 0, imported.output
    checked = CliRunner().invoke(main, ["check", "--data", data], catch_exceptions=False)
    assert checked.exit_code == 0, checked.output
    assert "bell-foundry/streets: 8" in checked.output
