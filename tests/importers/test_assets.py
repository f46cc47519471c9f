"""Community assets and welfare facilities (mapper.importers.assets, ``mapper import-assets``) on the real files in
tests/data/community-assets/ and tests/data/osm/, with their quirks.

Only a few GP practices lie in a People Zone; for the other files each test adds a temporary zone around (part of)
the data with ``mapper.zones.add_zone`` and says which.
"""

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from shapely.geometry import box

from mapper.cli import main
from mapper.config import load
from mapper.errors import MalformedInput, ValidationError
from mapper.importers.assets import import_assets, load_sources, phone, postcode, shorten
from mapper.web.context import Resources
from mapper.zones import add_zone

DATA = Path(__file__).parent.parent / "data"
GP = DATA / "community-assets" / "nhs_gp_practices_GP_sample.csv"  # 183 practices, ¬-separated Windows-1252
TOILETS = DATA / "community-assets" / "bristol_public_toilets_community.csv"  # ;-separated, geometry as JSON text
FOOD_BANKS = DATA / "community-assets" / "gm_food_banks.geojson"  # 171 points, 6 null opening times
SHEFFIELD = DATA / "community-assets" / "sheffield_foodbank_coords.csv"  # multi-line quoted cells
HUBS = DATA / "community-assets" / "trafford_community_hubs.csv"  # plain lon/lat
RUTLAND = DATA / "osm" / "rutland_amenity_nodes.geojson"  # 322 OSM nodes
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")

ZONES = {  # temporary zones (lon/lat boxes) around the real data
    "bristol-centre": box(-2.62, 51.44, -2.56, 51.47),  # 34 of Bristol's 102 community toilets
    "oakham": box(-0.76, 52.65, -0.70, 52.69),  # 114 of Rutland's 322 nodes
    "greater-manchester": box(-2.75, 53.30, -1.90, 53.70),  # every GM food bank and Trafford hub
    "sheffield": box(-1.70, 53.25, -1.30, 53.55),
    "england": box(-7.0, 49.8, 2.0, 56.0),
}


@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "data"


@pytest.fixture
def resources(data_dir):
    resources = Resources(load({"DATA_DIR": data_dir}))
    for zone_id, boundary in ZONES.items():
        add_zone(resources.zones(), zone_id, zone_id.replace("-", " ").title(), boundary)
    return resources


@pytest.fixture
def run(resources):
    """``run(path, zone, **options)``: import a file; returns the AssetImport report."""

    def run_import(path, zone_id, **options):
        return import_assets(path, zone_id, schema=resources.schema, zones=resources.zones(), store=resources.store,
                             **options)

    return run_import


def assets(resources, zone_id):
    return {f["properties"]["name"]: f for f in resources.store.query(zone_id, "assets")}


def by_key(resources, zone_id):
    return {f["properties"]["source_key"]: f["properties"] for f in resources.store.query(zone_id, "assets")}


# -- NHS GP.csv: ¬-separated Windows-1252 --------------------------------------------------------------------------


def test_gp_practices_land_in_the_real_people_zones(run, resources):
    report = run(GP, "new-parks")
    assert report.rows == 183
    assert report.added == 2
    assert dict(report.skipped) == {"outside the zone": 180, "no location": 1}  # Homeless Healthcare Team, no point
    found = assets(resources, "new-parks")
    assert sorted(found) == ["Oakmeadow Surgery - Ra Leach", "The Parks Medical Centre (B Hainsworth)"]
    parks = found["The Parks Medical Centre (B Hainsworth)"]
    assert parks["geometry"]["coordinates"] == [-1.177161, 52.646637]  # the validator's 7 decimals
    assert parks["properties"]["category"] == "health" and parks["properties"]["status"] == "published"
    assert parks["properties"]["address"] == "340 Aikman Avenue, Leicester, Leicestershire, LE3 9PW"
    assert parks["properties"]["source_key"] == "nhs-gp:C82610"
    assert parks["properties"]["website"] == "http://www.theparksmedicalcentre.com"
    notes = report.notes()
    assert "CSV: Windows-1252, separated by '¬'; points from Longitude/Latitude." in notes
    assert "The column 'Email' is not imported: organisation email addresses have no public field." in notes
    assert sorted(assets(resources, "thringstone-whitwick")) == []
    assert run(GP, "thringstone-whitwick").added == 2  # Dr Lewis' and Drs Virmani & Bedi, Whitwick Health Centre


def test_windows_1252_names_are_decoded_and_cleaned(run, resources):
    report = run(GP, "england")
    assert report.added == 182 and report.refusals == []
    names = assets(resources, "england")
    assert "St Martin\u2019s Practice" in names  # byte 0x92: a C1 control in Latin-1, a right quote in Windows-1252
    assert "The De Parys Group \u2013 Goldington Branch" in names  # byte 0x96: an en dash
    assert "Mckenzie Group Practice" in names  # a trailing non-breaking space trimmed
    assert not [name for name in names if any("\x80" <= c <= "\x9f" or c == "\xa0" for c in name)]
    sydenham = names["Sydenham Group Practice"]["properties"]
    assert sydenham["phone"] == "01482335533"  # "01482335533 (ext. 1)": the schema holds no extension
    assert report.fixes["phone extensions left out"] == 32
    assert names["Bankhouse Surgery"]["properties"]["website"] == "http://www.bankhousesurgery.co.uk"
    emails = [f for f in names.values() if EMAIL.search(json.dumps(f["properties"]))]
    assert emails == []  # the Email column is not imported, and never into the private contact fields
    assert ("row 26", "website 'http://www.thedovecotsurgery@nhs.uk' is an email address, not a web address; "
                      "left out") in report.dropped
    assert not list((resources.config["DATA_DIR"] / "_private").rglob("*.jsonl"))


# -- Bristol: ;-separated, geometry as a JSON string, multi-line addresses ------------------------------------------


def test_bristol_toilets_are_welfare_facilities_from_a_geometry_string(run, resources):
    report = run(TOILETS, "bristol-centre")
    assert (report.rows, report.added, dict(report.skipped)) == (102, 34, {"outside the zone": 68})
    assert report.profile.name == "bristol-toilets" and report.detected
    found = assets(resources, "bristol-centre")
    assert {f["properties"]["category"] for f in found.values()} == {"welfare-facility"}
    assert all(f["properties"]["toilets"] is True for f in found.values())
    assert report.welfare == {"toilets": 34}
    lounge = found["The Lounge"]
    assert lounge["geometry"]["coordinates"] == [-2.6121372, 51.4411417]  # from geo_shape, the JSON text
    assert lounge["properties"]["opening_hours"] == "Monday-Sunday 9am to 11pm"  # "Toilet opening hours"
    assert lounge["properties"]["address"] == "227-231 North Street, Bedminster, Bristol, BS3 1JJ"
    assert lounge["properties"]["source_key"] == "bristol-toilets:5171"
    barton = found["Barton Hill Settlement"]["properties"]
    assert barton["address"] == "41-43 Ducie Road, BS5 0AX"  # a line break in a quoted cell; postcode not repeated
    assert barton["description"].splitlines() == [
        "Accessible toilets: 2",
        "Accessibility: YES- toilet height 48cm, cubicle size 150cmx 210cm, contrasting walls and floor, hand rails, "
        "mirror", "Radar key: no", "Baby change: yes", "Changing Place: no", "Family toilet: no"]


def test_an_empty_geometry_cell_falls_back_to_the_lat_lon_pair(run, resources, tmp_path):
    text = TOILETS.read_text(encoding="utf-8")
    geometry = '"{""type"": ""Point"", ""coordinates"": [-2.612137190925094, 51.44114172692029]}"'
    assert text.count(geometry) == 1
    path = tmp_path / "toilets.csv"
    path.write_text(text.replace(geometry, ""), encoding="utf-8", newline="")
    run(path, "bristol-centre")
    assert assets(resources, "bristol-centre")["The Lounge"]["geometry"]["coordinates"] == [-2.6121372, 51.4411417]


def test_reimporting_adds_nothing(run, resources):
    assert run(TOILETS, "bristol-centre").added == 34
    again = run(TOILETS, "bristol-centre")
    assert again.added == 0 and dict(again.skipped) == {"outside the zone": 68, "already imported": 34}
    assert len(assets(resources, "bristol-centre")) == 34


def test_a_rejected_asset_is_not_brought_back(run, resources):
    run(HUBS, "greater-manchester")
    feature = assets(resources, "greater-manchester")["Sale"]
    resources.store.update("greater-manchester", "assets", feature["properties"]["id"],
                           lambda properties: {**properties, "status": "rejected"})
    assert run(HUBS, "greater-manchester").skipped["already imported"] == 6


# -- Sheffield: multi-line quoted cells ------------------------------------------------------------------------------


def test_sheffield_multi_line_cells_stay_intact(run, resources):
    report = run(SHEFFIELD, "sheffield")
    assert (report.rows, report.added) == (36, 36)
    found = assets(resources, "sheffield")
    hillsborough = found["Hillsborough"]["properties"]
    assert hillsborough["opening_hours"] == "Tuesday 11.00 \u2013 13.00\nFriday 11.00 \u2013 13.00"
    assert hillsborough["description"] == ("Type: foodbank\nReferral needed: yes\nDelivery: no\nSupport available:\n"
                                           "Ambassador\nCitizens Advice\nIDAS\nCouncil Housing Team (Monday)\n"
                                           "Shelter(Friday)\nSamaritans (Friday)\nGood Work (Friday)")
    assert hillsborough["address"] == "66 Cross Bedford Street Sheffield, S6 3BS"  # S63BS given its space
    assert hillsborough["website"] == "http://sheffields6.foodbank.org.uk"
    assert hillsborough["source_key"] == "sheffield-food-banks:0"
    upperthorpe = found["Food Works Upperthorpe"]["properties"]["opening_hours"]
    assert upperthorpe == "Tuesday 09.00 - 14.00\nWednesday to Friday 09.00 - 15.00"  # spaces collapsed, line kept
    assert found["Stannington"]["properties"]["phone"] == "07706 285280"  # two numbers on two lines: the first
    everything = json.dumps([f["properties"] for f in found.values()])
    assert "Bryony" not in everything and not EMAIL.search(everything)  # the compilers' notes and emails stay out
    assert "The column 'info' is not imported: not for a public map (see docs/assets-import.md)." in report.notes()


def test_bad_rows_are_reported_with_their_row_and_line(run, resources, tmp_path):
    text = SHEFFIELD.read_text(encoding="utf-8")
    assert text.count(",53.3784,-1.4873\n") == 2  # Broomhall and FoodCycle Broomhall: rows 5 and 31
    path = tmp_path / "food.csv"
    path.write_text(text.replace(",53.3784,-1.4873\n", ",53.3784,west\n", 1), encoding="utf-8")
    report = run(path, "sheffield")
    assert report.refusals == [("row 5 (line 16)", "Coordinates must be finite numbers, got 'west'.")]
    assert report.added == 0 and assets(resources, "sheffield") == {}  # nothing stored without skip_invalid
    report = run(path, "sheffield", skip_invalid=True)
    assert report.added == 35 and report.skipped["refused"] == 1


def test_a_row_with_too_many_cells_is_refused_by_its_number(run, write):
    path = write("hubs.csv", "name,category,lon,lat\nHall,community-hub,-2.3,53.4\nShed,other,-2.3,53.4,extra\n")
    report = run(path, "greater-manchester", skip_invalid=True)
    assert report.refusals == [("row 3", "it has 5 cells but the header has 4 columns")]
    assert report.added == 1


# -- Greater Manchester food banks: GeoJSON with NA/null values ------------------------------------------------------


def test_gm_food_banks_geojson(run, resources):
    report = run(FOOD_BANKS, "greater-manchester")
    assert (report.rows, report.added, report.profile.name) == (171, 171, "gm-food-banks")
    found = list(resources.store.query("greater-manchester", "assets"))
    # 6 null, 10 "Not known" and 1 "N/A" opening times: no value, so no opening_hours property
    assert sum(1 for f in found if "opening_hours" not in f["properties"]) == 17
    by_name = {f["properties"]["name"]: f["properties"] for f in found}
    brass = by_name["BRASS Bolton"]
    assert brass["opening_hours"] == "Wednesday 10am - 4pm" and brass["category"] == "food-bank"
    assert "description" not in brass  # its referral method is "Not known": no value
    assert by_name["Mustard Tree"]["description"].startswith("Referral: ")
    assert by_name["Salvation Army Farnworth"]["address"] == "54 - 56 Brackley Street, Farnworth, Bolton, BL4 9DR"
    assert not [p for p in by_name.values() if EMAIL.search(json.dumps(p))]  # Contact's email addresses left out
    assert report.fixes["email addresses in a contact column left out"] == 135
    assert ("feature 52", "phone 'Information will be posted asap' is not a phone number; left out") in report.dropped
    assert all(p["source_key"].startswith("gm-food-banks:sha256:") for p in by_name.values())
    assert run(FOOD_BANKS, "greater-manchester").skipped["already imported"] == 171  # the hash key is stable


# -- OpenStreetMap-style tagged points -------------------------------------------------------------------------------


def test_osm_amenities_are_mapped_and_the_rest_counted(run, resources):
    report = run(RUTLAND, "oakham")
    assert report.profile.name == "osm"
    assert report.rows == 322 and report.added == 18
    assert dict(report.skipped) == {"outside the zone": 208, "no mapping for its tags": 96}
    assert report.categories == {"faith": 6, "health": 7, "education": 2, "welfare-facility": 2, "sport-leisure": 1}
    assert report.excluded["no mapping for its tags", "amenity=pub"] == 8
    assert report.excluded["no mapping for its tags", "highway=bus_stop"] == 1
    keys = by_key(resources, "oakham")
    toilets = keys["osm:node/862119962"]
    assert (toilets["category"], toilets["toilets"], toilets["name"]) == ("welfare-facility", True, "Public toilets")
    assert "water" not in toilets and "shelter" not in toilets
    assert toilets["source"] == "\u00a9 OpenStreetMap contributors, ODbL; rutland_amenity_nodes.geojson"
    assert keys["osm:node/1170882271"]["name"] == "Oakham Medical Practice"
    assert keys["osm:node/1170882271"]["category"] == "health"
    assert keys["osm:node/472658308"]["address"] == "Melton Road, LE15 6AY"
    notes = report.notes()
    assert any(line.startswith("No mapping (data/asset_sources.toml): amenity=fast_food 16,") for line in notes)


def tagged(features):
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": f"node/{osm_id}", "properties": {"osm_id": osm_id, **tags},
         "geometry": {"type": "Point", "coordinates": [-2.30 + osm_id / 10000, 53.45]}}
        for osm_id, tags in features]})


def test_water_shelter_and_bus_shelters(run, resources, write):
    path = write("osm.geojson", tagged([
        (1, {"amenity": "drinking_water"}),
        (2, {"amenity": "shelter", "shelter_type": "picnic_shelter", "name": "Park shelter"}),
        (3, {"amenity": "shelter", "shelter_type": "public_transport"}),
        (4, {"amenity": "toilets", "access": "private"}),
        (5, {"amenity": "community_centre", "name": "Hub", "toilets": "yes", "drinking_water": "yes",
             "opening_hours": "Mo-Fr 09:00-17:00"}),
        (6, {"amenity": "drinking_water", "drinking_water": "no"}),
        (7, {"highway": "bus_stop", "shelter": "yes"}),
    ]))
    report = run(path, "greater-manchester")
    keys = by_key(resources, "greater-manchester")
    assert sorted(keys) == ["osm:node/1", "osm:node/2", "osm:node/5"]
    assert (keys["osm:node/1"]["category"], keys["osm:node/1"]["water"], keys["osm:node/1"]["name"]) == (
        "welfare-facility", True, "Drinking water")
    assert (keys["osm:node/2"]["shelter"], keys["osm:node/2"]["name"]) == (True, "Park shelter")
    hub = keys["osm:node/5"]
    assert (hub["category"], hub["toilets"], hub["water"], hub["opening_hours"]) == (
        "community-hub", True, True, "Mo-Fr 09:00-17:00")
    assert "welfare" not in hub  # offering toilets does not make a hub a welfare facility; --welfare does
    assert report.excluded == {
        ("excluded by the mapping table", "bus shelter (shelter_type=public_transport): not a welfare shelter"): 1,
        ("excluded by the mapping table", "toilets not open to the public (access=private/no)"): 1,
        ("excluded by the mapping table", "water point marked drinking_water=no"): 1,
        ("no mapping for its tags", "highway=bus_stop"): 1}


# -- options, other layouts, refusals --------------------------------------------------------------------------------


def test_welfare_and_category_options(run, resources):
    report = run(HUBS, "greater-manchester", welfare=True)
    assert report.added == 6 and report.welfare == {"welfare": 6}
    hubs = assets(resources, "greater-manchester")
    altrincham = hubs["Altrincham"]["properties"]
    assert (altrincham["category"], altrincham["welfare"]) == ("community-hub", True)
    assert altrincham["opening_hours"] == "Tuesdays, Wednesdays and Fridays, 10am-2pm"
    assert altrincham["phone"] == "0161 941 2018"
    forced = run(SHEFFIELD, "sheffield", category="community-hub")
    assert forced.categories == {"community-hub": 36}
    with pytest.raises(ValidationError, match="Unknown category 'toilet-block'"):
        run(HUBS, "greater-manchester", category="toilet-block")


def test_a_generic_table_needs_a_category(run, resources, write):
    path = write("assets.csv", "Name;Type;Easting;Northing\nBell Foundry Hub;Community centre;454071;319456\n"
                               "Mystery;Spaceport;454100;319500\nNo kind;;454100;319500\n")
    report = run(path, "england")
    assert report.profile.name == "generic" and report.added == 0
    assert [label for label, _ in report.refusals] == ["row 3", "row 4"]
    assert "Type 'Spaceport' is not one we know" in report.refusals[0][1]
    assert "the 'Type' cell is empty; give --category" in report.refusals[1][1]
    report = run(path, "england", skip_invalid=True)
    hub = assets(resources, "england")["Bell Foundry Hub"]
    assert hub["properties"]["category"] == "community-hub"
    lon, lat = hub["geometry"]["coordinates"]  # easting/northing converted from EPSG:27700
    assert round(lon, 4) == -1.2 and round(lat, 4) == 52.77


def test_x_y_columns_in_metres_are_british_national_grid(run, resources, write):
    path = write("assets.csv", "\ufeffname,category,x,y\nHub,community-hub,454071,319456\n")
    run(path, "england")
    lon, lat = assets(resources, "england")["Hub"]["geometry"]["coordinates"]
    assert round(lon, 4) == -1.2 and round(lat, 4) == 52.77


def test_a_long_description_is_shortened_and_a_long_name_refused(run, resources, write):
    long_text = "word " * 600
    path = write("assets.csv", f"name,category,description,lon,lat\nHub,other,{long_text},-1.5,52.5\n"
                               f"{'N' * 201},other,,-1.5,52.5\n")
    report = run(path, "england", skip_invalid=True)
    description = assets(resources, "england")["Hub"]["properties"]["description"]
    assert len(description) <= 2000 and description.endswith("word…")
    assert report.refusals == [("row 3", "'name' is 201 characters long; the limit is 200.")]


def test_repeated_rows_in_one_file_are_imported_once(run, write):
    path = write("assets.csv", "name,category,lon,lat\nHall,community-hub,-1.5,52.5\nHall,community-hub,-1.5,52.5\n")
    report = run(path, "england")
    assert report.added == 1 and report.skipped["repeats an earlier row of the file"] == 1


def test_files_that_cannot_be_read(run, write):
    with pytest.raises(MalformedInput, match="no coordinate columns"):
        run(write("a.csv", "name,category\nHall,other\n"), "england")
    with pytest.raises(MalformedInput, match="is empty"):
        run(write("b.csv", "  \n"), "england")
    with pytest.raises(MalformedInput, match="not valid JSON"):
        run(write("c.geojson", "{nope"), "england")
    with pytest.raises(MalformedInput, match="No source profile 'council-x'"):
        run(HUBS, "greater-manchester", profile="council-x")


def test_text_helpers():
    assert postcode("S63BS") == "S6 3BS" and postcode("le3 9pw") == "LE3 9PW" and postcode("Leeds") == "Leeds"
    assert phone("0161 227 3477 / baguley.sscc@manchester.gov.uk") == (
        "0161 227 3477", [(False, "email addresses in a contact column left out")])
    assert shorten("one two three", 9) == "one two…"
    assert "food-bank" == load_sources().category_words["foodbank"]


# -- the command line ------------------------------------------------------------------------------------------------


@pytest.fixture
def mapper(data_dir, resources):
    def invoke(*args):
        return CliRunner().invoke(main, [str(a) for a in args] + ["--data", str(data_dir)], catch_exceptions=False)

    return invoke


def test_cli_imports_and_reimports(mapper, resources):
    result = mapper("import-assets", "--zone", "bristol-centre", TOILETS)
    assert result.exit_code == 0, result.output
    assert ("Imported 34 of 102 rows into bristol-centre/assets (welfare-facility 34); welfare: toilets 34; "
            "skipped 68: outside the zone 68.") in result.output
    assert "Read as Bristol City Council community toilet scheme (profile 'bristol-toilets', detected from the " \
           "header)." in result.output
    again = mapper("import-assets", "--zone", "bristol-centre", TOILETS)
    assert again.exit_code == 0
    assert "Imported 0 of 102 rows into bristol-centre/assets; skipped 102: outside the zone 68, already imported " \
           "34." in again.output


def test_cli_refused_rows_exit_1_and_store_nothing(mapper, resources, tmp_path):
    path = tmp_path / "hubs.csv"
    path.write_text("name,category,lon,lat\nHall,community-hub,-2.3,53.4\nShed,spaceport,-2.3,53.4\n")
    result = mapper("import-assets", "--zone", "greater-manchester", path)
    assert result.exit_code == 1
    assert f"{path}: row 3: no category: category 'spaceport' is not one we know" in result.output
    assert "Nothing imported: 1 row refused. Fix them, or use --skip-invalid to store the others." in result.output
    assert assets(resources, "greater-manchester") == {}
    dry = mapper("import-assets", "--zone", "greater-manchester", "--dry-run", "--skip-invalid", path)
    assert dry.exit_code == 0 and "Would import 1 of 2 rows" in dry.output
    assert assets(resources, "greater-manchester") == {}
    result = mapper("import-assets", "--zone", "greater-manchester", "--skip-invalid", path)
    assert result.exit_code == 0 and "Imported 1 of 2 rows" in result.output
    assert list(assets(resources, "greater-manchester")) == ["Hall"]


def test_cli_bad_input_exits_2(mapper, tmp_path):
    path = tmp_path / "no-points.csv"
    path.write_text("name,category\nHall,other\n")
    result = mapper("import-assets", "--zone", "england", path)
    assert result.exit_code == 2 and "no coordinate columns" in result.output and "Traceback" not in result.output
    result = mapper("import-assets", "--zone", "england", "--category", "toilet-block", HUBS)
    assert result.exit_code == 2 and "Unknown category 'toilet-block'" in result.output
    result = mapper("import-assets", "--zone", "atlantis", HUBS)
    assert result.exit_code == 2


def test_tab_separated_utf16_and_trailing_empty_columns(run, resources, write):
    text = "name\tcategory\tlon\tlat\t\nCaf\u00e9 hub\tcommunity-hub\t-1.5\t52.5\t\t\n"
    report = run(write("assets.txt", text.encode("utf-16")), "england")
    assert report.added == 1 and "CSV: UTF-16, separated by '\\t'; points from lon/lat." in report.notes()
    assert list(assets(resources, "england")) == ["Caf\u00e9 hub"]
