"""GPX audit walks (mapper.importers.gpx): the real gpxpy recordings, moved into Thringstone & Whitwick by a fixed
offset (tests/gpx_helpers.py), hostile XML, idempotency and the export/import round trip, on a real temporary store."""

import time
from datetime import datetime, timezone

import gpxpy
import pytest
from shapely.geometry import shape

from mapper.config import SHIPPED_DATA_DIR
from mapper.crs import geometry_to_metres
from mapper.errors import MalformedInput, OutsideZone, PayloadTooLarge, StoreError, ValidationError
from mapper.export.gpx import write_gpx
from mapper.importers.gpx import (import_walk, load_keywords, parse_gpx, plan_walk, read_recording, seen_after_dark,
                                  sun_elevation)
from mapper.store.geojson_files import GeoJSONFileStore
from mapper.zones import load_zones
from tests.gpx_helpers import (BILLION_LAUGHS, BINARY_JUNK, EXTERNAL_DTD, EXTERNAL_ENTITY, GPX_DIR, NOT_GPX,
                               OVERSIZED, ZONE, gpx_bytes, shifted_into, waypoint_file, zone)


@pytest.fixture
def zones():
    return load_zones(SHIPPED_DATA_DIR / "zones.geojson")


@pytest.fixture
def store(tmp_path):
    return GeoJSONFileStore(tmp_path / "store")


@pytest.fixture
def walk_in(schema, zones, store):
    """``walk_in(data, **options)``: import_walk into Thringstone & Whitwick on the temporary store."""

    def run(data, **options):
        return import_walk(data, ZONE, schema=schema, zones=zones, store=store, **options)

    return run


def stored(store, layer):
    return list(store.query(ZONE, layer))


# -- parsing: the hardened parser agrees with gpxpy ----------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(GPX_DIR.glob("*.gpx")), ids=lambda p: p.name)
def test_every_recording_parses_as_gpxpy_parses_it(path):
    # gpxpy gets defusedxml-checked trees instead of text; what it builds must be what its own parser builds.
    data = path.read_bytes()
    assert parse_gpx(data).to_xml() == gpxpy.parse(data.decode("utf-8-sig")).to_xml()


def test_a_multi_track_walk_with_waypoints_becomes_one_walk_clipped_to_the_zone(walk_in, store):
    result = walk_in(shifted_into("cerknicko-jezero.gpx"), file_name="cerknicko-jezero.gpx", walkers=4)
    walk = result.walk["properties"]
    assert result.walk["geometry"]["type"] == "MultiLineString"
    assert (walk["title"], walk["walked_on"], walk["walkers"]) == ("ACTIVE LOG", "2010-08-05", 4)
    assert (walk["start"], walk["end"], walk["duration_s"]) == ("2010-08-05T14:23:59.000Z", "2010-08-05T16:23:49.000Z",
                                                                7190)
    # Everything stored lies inside the zone; the 409 m outside were clipped off and reported.
    geometry = shape(result.walk["geometry"])
    assert zone().boundary.buffer(1e-9).covers(geometry)
    assert walk["length_m"] == pytest.approx(geometry_to_metres(geometry).length, abs=0.1)
    assert 3900 < walk["length_m"] < 4100
    assert any("409 m of the track outside" in line for line in result.skipped)
    assert walk["source_file"] == "cerknicko-jezero.gpx" and len(walk["source_sha256"]) == 64
    # Two waypoints are inside: reports linked to the walk; five are outside: skipped, each named.
    assert len(result.reports_added) == 2
    assert {r["properties"]["walk"] for r in result.reports_added} == {result.walk["id"]}
    assert sum("is outside the Thringstone & Whitwick zone" in line for line in result.skipped) == 5
    first = result.reports_added[0]["properties"]
    assert first["source"] == "audit" and first["seen_at"] == "2010-08-05T14:23:59.000Z"
    assert first["seen_after_dark"] is False  # 15:24 in August
    assert first["description"] == "001\n05-AUG-10 16:58:37"
    assert first["ref"].startswith("TW-")
    assert len(stored(store, "audits")) == 1 and len(stored(store, "lights")) == 2


def test_keep_outside_keeps_the_track_and_the_waypoints_beyond_the_zone(walk_in, store):
    result = walk_in(shifted_into("cerknicko-jezero.gpx"), keep_outside=True)
    assert 4400 < result.walk["properties"]["length_m"] < 4500
    assert len(result.reports_added) == 7 and not result.skipped
    assert any("outside the Thringstone & Whitwick zone; kept" in line for line in result.notes)


def test_the_length_is_measured_in_metres_like_a_geodesic(schema):
    # Mojstrovka lies wholly inside once moved; EPSG:27700 and gpxpy's haversine agree to 0.1 %.
    data = shifted_into("Mojstrovka.gpx")
    plan = plan_walk(data, zone(), schema=schema, walked_on="2024-11-20")
    assert plan.walk.properties["length_m"] == pytest.approx(gpxpy.parse(data.decode()).length_2d(), rel=1e-3)


def test_bogus_1901_timestamps_are_ignored_and_said_so(schema):
    plan = plan_walk(shifted_into("Mojstrovka.gpx"), zone(), schema=schema)
    properties = plan.walk.properties
    assert "start" not in properties and "duration_s" not in properties
    assert any("184 times before 2000 or in the future ignored (e.g. 1901-12-13" in note for note in plan.notes)
    # The file's own <time> (when GPSBabel wrote it) stands in for the date, and the note says so.
    assert properties["walked_on"] == "2010-12-14"
    assert any("is the file's own timestamp" in note for note in plan.notes)
    dated = plan_walk(shifted_into("Mojstrovka.gpx"), zone(), schema=schema, walked_on="2024-11-20")
    assert dated.walk.properties["walked_on"] == "2024-11-20"


def test_a_file_without_times_has_no_start_end_or_duration(schema):
    plan = plan_walk(shifted_into("track-with-extremes.gpx"), zone(), schema=schema, walked_on="2024-11-20")
    assert {"start", "end", "duration_s"}.isdisjoint(plan.walk.properties)
    assert any("no usable times" in note for note in plan.notes)


def test_a_partly_timed_file_takes_start_and_end_from_the_timed_points(schema):
    plan = plan_walk(shifted_into("cerknicko-without-times.gpx"), zone(), schema=schema)
    assert plan.walk.properties["start"] == "2010-08-05T16:22:52.000Z"
    assert plan.walk.properties["duration_s"] == 57


def test_an_empty_segment_is_dropped(schema):
    recording = read_recording(parse_gpx(gpx_bytes("track-with-empty-segment.gpx")))
    assert len(recording.lines) == 1 and recording.dropped_segments == 1
    plan = plan_walk(shifted_into("track-with-empty-segment.gpx"), zone(), schema=schema)
    assert len(plan.walk.geometry.geoms) == 1
    assert plan.walk.properties["points"] == 9


def test_a_route_is_a_walk_too(schema):
    plan = plan_walk(shifted_into("route.gpx"), zone(), schema=schema, walked_on="2024-11-20", keep_outside=True)
    assert plan.walk.properties["points"] == len(parse_gpx(gpx_bytes("route.gpx")).routes[0].points)
    assert plan.walk.properties["length_m"] > 6000


def test_a_bom_file_without_version_gives_its_waypoint_as_a_report(walk_in, store):
    result = walk_in(shifted_into("unicode_with_bom.gpx"))
    assert result.walk is None and len(result.reports_added) == 1
    report = result.reports_added[0]["properties"]
    assert report["description"] == "test\ntest desc\n69.26474016"
    assert report["category"] == "dark-spot" and "walk" not in report
    assert stored(store, "audits") == []


def test_unicode_names_are_kept(walk_in):
    result = walk_in(shifted_into("unicode.gpx"), keep_outside=True)  # its waypoints are kilometres apart
    descriptions = [r["properties"]["description"] for r in result.reports_added]
    assert len(descriptions) == 6
    assert any(not text.isascii() for text in descriptions)
    names = [w.name for w in parse_gpx(gpx_bytes("unicode.gpx")).waypoints]
    assert [d.split("\n")[0] for d in descriptions] == names


def test_garmin_extensions_are_read_past(walk_in):
    result = walk_in(shifted_into("gpx_with_garmin_extension.gpx"))
    assert len(result.reports_added) == 1
    assert result.reports_added[0]["properties"]["seen_at"] == "2016-06-17T23:41:03.000Z"
    garmin = walk_in(shifted_into("around-visnjan-with-car.gpx"))
    assert garmin.walk["properties"]["points"] > 80 and garmin.walk["properties"]["length_m"] > 2000


def test_comments_inside_nodes_are_ignored_but_one_point_is_no_walk(walk_in, store):
    gpx = parse_gpx(gpx_bytes("gpx-with-node-with-comments.gpx"))
    point = gpx.tracks[0].segments[0].points[0]
    assert (point.latitude, point.longitude, point.elevation) == (51.519402, -0.134462, 81.0)
    with pytest.raises(ValidationError, match="no track or route of two points or more, and no waypoint"):
        walk_in(shifted_into("gpx-with-node-with-comments.gpx"))
    assert stored(store, "audits") == []


# -- hostile and malformed files: refused quickly, clearly, with nothing stored ------------------------------------
# Times are this process's CPU seconds (time.process_time), so other test suites sharing the machine do not count.


@pytest.mark.parametrize("data, error, message", [
    (BILLION_LAUGHS, MalformedInput, "declares a DTD"),
    (EXTERNAL_ENTITY, MalformedInput, "declares a DTD"),
    (EXTERNAL_DTD, MalformedInput, "declares a DTD"),
    (OVERSIZED, PayloadTooLarge, "5,242,880 bytes"),
    (NOT_GPX, MalformedInput, "is not a GPX file: its root element is <kml>, not <gpx>"),
    (BINARY_JUNK, MalformedInput, "is not a GPX file (it is not XML text)"),
    (b"", MalformedInput, "is empty"),
    (b'<gpx version="1.1">\n<wpt lat="1" lon="2">\n<name>x</nam>\n</wpt></gpx>', MalformedInput,
     "line 3, column 10: mismatched tag"),
    (b'<gpx version="1.1"><wpt lat="north" lon="2"/></gpx>', MalformedInput, "is not valid GPX"),
    (b"<gpx>" + b"<a>" * 100 + b"</a>" * 100 + b"</gpx>", MalformedInput, "nests elements more than 32 deep"),
], ids=["billion-laughs", "external-entity", "external-dtd", "oversized", "not-gpx", "binary-junk", "empty",
        "mismatched-tag", "bad-latitude", "deep-nesting"])
def test_hostile_or_malformed_files_are_refused_quickly_with_nothing_stored(walk_in, store, data, error, message):
    started = time.process_time()
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        walk_in(data)
    assert time.process_time() - started < 1  # microseconds to milliseconds, measured (docs/audits.md)
    assert stored(store, "audits") == [] and stored(store, "lights") == []


def test_billion_laughs_is_refused_in_well_under_a_second():
    started = time.process_time()
    with pytest.raises(MalformedInput):
        parse_gpx(BILLION_LAUGHS)
    assert time.process_time() - started < 0.2  # 20 µs measured: refused at the DOCTYPE, before any expansion


def test_many_xmlns_words_do_not_make_parsing_quadratic():
    # Regression: gpxpy's own text parser runs r'\sxmlns:?[^=]*="[^"]+"' over the raw text, which took 100 s on
    # 480 KB of valid XML like this. parse_gpx hands gpxpy a parsed tree, so it never runs.
    data = b'<gpx version="1.1"><desc>' + b" xmlns" * 800_000 + b"</desc></gpx>"
    started = time.process_time()
    parse_gpx(data)
    assert time.process_time() - started < 2  # 0.05 s measured; gpxpy's text parser would take hours


def test_a_flood_of_elements_stops_at_the_element_limit():
    data = b"<gpx>" + b"<a/>" * (5 * 1024 * 1024 // 4 - 4) + b"</gpx>"
    started = time.process_time()
    with pytest.raises(MalformedInput, match="more than 300,000 elements"):
        parse_gpx(data)
    assert time.process_time() - started < 15  # 0.8 s measured: bounded by the limit, not by the 1.3 M elements


def test_a_bad_waypoint_refuses_the_whole_file(walk_in, store):
    lon, lat = zone().centre[1], zone().centre[0]
    data = waypoint_file((lon, lat, "Lamp out", ""), (lon, lat, "Dim", "<time>2999-01-01T00:00:00Z</time>"),
                         (lon, 95.0, "Broken", ""), track=[(lon, lat), (lon + 0.001, lat)])
    with pytest.raises(ValidationError, match=r"Latitude 95.0 is outside -90..90"):
        walk_in(data)
    assert stored(store, "audits") == [] and stored(store, "lights") == []


def test_a_walk_wholly_outside_the_zone_is_refused(walk_in, store):
    with pytest.raises(ValidationError, match="does not enter the Thringstone & Whitwick zone") as caught:
        walk_in(gpx_bytes("Mojstrovka.gpx"))
    assert caught.value.code == "outside_zone"
    assert stored(store, "audits") == []
    assert issubclass(OutsideZone, ValidationError)


@pytest.mark.parametrize("options, field", [({"walkers": 0}, "walkers"), ({"walkers": "three"}, "walkers"),
                                            ({"walkers": True}, "walkers"), ({"walked_on": "20/11/2024"}, "date"),
                                            ({"walked_on": "2999-01-01"}, "date")])
def test_bad_options_are_refused_by_name(walk_in, options, field):
    with pytest.raises(ValidationError) as caught:
        walk_in(shifted_into("Mojstrovka.gpx"), **options)
    assert caught.value.field == field


# -- idempotency and all-or-nothing ------------------------------------------------------------------------------


def test_the_same_file_twice_adds_nothing_the_second_time(walk_in, store):
    data = shifted_into("cerknicko-jezero.gpx")
    first = walk_in(data)
    again = walk_in(data)
    assert not again.walk_created and again.walk["id"] == first.walk["id"]
    assert again.reports_added == [] and again.reports_already == 2 and not again.created_anything
    assert len(stored(store, "audits")) == 1 and len(stored(store, "lights")) == 2


class FailingStore(GeoJSONFileStore):
    """A real store whose disk 'fills up' after ``writes_left`` appends (a full disk cannot be made here)."""

    writes_left = None

    def append_once(self, *args, **kwargs):
        if self.writes_left is not None:
            if self.writes_left == 0:
                raise OSError(28, "No space left on device")
            self.writes_left -= 1
        return super().append_once(*args, **kwargs)


def test_a_failure_part_way_says_what_was_stored_and_a_retry_completes(schema, zones, tmp_path):
    store = FailingStore(tmp_path / "store")
    store.writes_left = 2  # the walk and one report, then the disk is full
    data = shifted_into("cerknicko-jezero.gpx")
    with pytest.raises(StoreError, match="The walk was stored and 1 of 2 reports were.*Send the same file again"):
        import_walk(data, ZONE, schema=schema, zones=zones, store=store)
    store.writes_left = None
    retry = import_walk(data, ZONE, schema=schema, zones=zones, store=store)
    assert not retry.walk_created and len(retry.reports_added) == 1 and retry.reports_already == 1
    assert len(stored(store, "audits")) == 1 and len(stored(store, "lights")) == 2


# -- keywords, darkness ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, category", [
    ("Lamp out", "out"), ("light not working outside no. 12", "out"), ("outside the shop", "dark-spot"),
    ("Flickering on and off", "flickering"), ("very dim", "dim"), ("tree covering the lamp", "obscured"),
    ("Overgrown hedge, dark", "obscured"), ("on during the day", "day-burning"), ("door open, wiring", "damaged"),
    ("Wpt 003", "dark-spot"), ("dark alley", "dark-spot"), ("LAMP OUT", "out"), ("dimension", "dark-spot"),
])
def test_waypoint_text_maps_to_categories_through_the_keyword_table(schema, text, category):
    assert load_keywords(categories=schema.layer("lights").category_ids).category(text) == category


def test_a_keyword_table_naming_an_unknown_category_is_refused(tmp_path, schema):
    path = tmp_path / "keywords.toml"
    path.write_text('default = "dark-spot"\n[[rules]]\ncategory = "gone"\nwords = ["gone"]\n', encoding="utf-8")
    with pytest.raises(ValueError, match="unknown lights categories \\['gone'\\]"):
        load_keywords(path, categories=schema.layer("lights").category_ids)


def test_seen_after_dark_follows_the_sun():
    noon = datetime(2024, 6, 21, 12, 0, tzinfo=timezone.utc)
    assert sun_elevation(-1.355, 52.745, noon) == pytest.approx(60.7, abs=0.5)  # 90 - 52.7 + 23.4
    assert seen_after_dark(-1.355, 52.745, datetime(2024, 12, 1, 18, 0, tzinfo=timezone.utc)) is True
    assert seen_after_dark(-1.355, 52.745, datetime(2024, 12, 1, 16, 10, tzinfo=timezone.utc)) is None  # twilight
    assert seen_after_dark(-1.355, 52.745, noon) is False


# -- the round trip: export for the next walk, import what comes back --------------------------------------------


def test_export_then_import_gives_back_the_same_points(walk_in, store, schema, zones, tmp_path):
    walk_in(shifted_into("unicode.gpx"), keep_outside=True)
    walk_in(shifted_into("cerknicko-jezero.gpx"))
    lights = schema.layer("lights")
    before = list(store.query(ZONE, "lights"))
    exported = write_gpx(store.query(ZONE, "lights"), lights)

    def points(features):
        return sorted((tuple(f["geometry"]["coordinates"]), f["properties"]["category"],
                       f["properties"].get("description"), f["properties"].get("seen_at")) for f in features)

    # Into an empty store: the same positions, categories, descriptions and times.
    fresh = GeoJSONFileStore(tmp_path / "fresh")
    result = import_walk(exported, ZONE, schema=schema, zones=zones, store=fresh, keep_outside=True)
    assert points(result.reports_added) == points(before)
    # Back into the same store (a walker loaded the export and walked it): recognised by ref, nothing duplicated.
    again = walk_in(exported, keep_outside=True)
    assert again.reports_added == [] and len(again.existing) == len(before) == 8
    assert len(list(store.query(ZONE, "lights"))) == 8


def test_a_waypoint_report_is_linked_to_the_lamp_column_beside_it(walk_in, store, schema, zones, tmp_path):
    from mapper.crs import from_british_national_grid, to_british_national_grid
    from mapper.importers.columns import import_columns

    here = zone().boundary.representative_point()
    easting, northing = (float(v) for v in to_british_national_grid(here.x, here.y))
    inventory = tmp_path / "columns.csv"
    inventory.write_text(f"unit_id,easting,northing\nTW-0042,{easting + 8:.1f},{northing}\n"
                         f"TW-0043,{easting + 60:.1f},{northing}\n")
    import_columns(inventory, ZONE, schema=schema, zones=zones, store=store)
    far_lon, far_lat = (float(v) for v in from_british_national_grid(easting - 200, northing))
    result = walk_in(waypoint_file((here.x, here.y, "Light out", ""), (far_lon, far_lat, "Light out", "")))
    columns = [report["properties"].get("column") for report in result.reports_added]
    assert columns == ["TW-0042", None]  # 8 m away: linked; 200 m from any column: none
