"""The one validator, directly: what it normalises, and that the shipped schema is what the issue asks for."""

import pytest

from mapper.errors import MalformedInput, ValidationError
from mapper.schema import load_schema
from mapper.validate import parse_json, validate_feature
from tests.helpers import light, point_feature


@pytest.fixture
def schema():
    return load_schema("data/layers.toml")


def test_coordinates_are_rounded_to_a_centimetre_and_altitude_dropped(schema):
    raw = {"type": "Feature", "properties": {"category": "out"},
           "geometry": {"type": "Point", "coordinates": [-1.123456789, 52.987654321, 120.5]}}
    submission = validate_feature(raw, schema.layer("lights"))
    assert (submission.lon, submission.lat) == (-1.1234568, 52.9876543)


def test_blank_optional_text_is_absent_and_status_is_initial(schema):
    submission = validate_feature(light(description="   "), schema.layer("lights"))
    assert submission.properties == {"category": "out", "status": "open"}


def test_unicode_is_normalised_and_kept(schema):
    submission = validate_feature(light(description="Cafe\u0301 – lamp ✓ ਲਾਈਟ"), schema.layer("lights"))
    assert submission.properties["description"] == "Café – lamp ✓ ਲਾਈਟ"


def test_length_counts_characters_not_bytes(schema):
    assert validate_feature(light(description="ł" * 2000), schema.layer("lights"))
    with pytest.raises(ValidationError, match="2001 characters"):
        validate_feature(light(description="ł" * 2001), schema.layer("lights"))


def test_single_line_fields_refuse_line_breaks(schema):
    asset = point_feature(-1.18, 52.64, category="food-bank", name="Pantry\nInjected: header")
    with pytest.raises(ValidationError, match="line breaks"):
        validate_feature(asset, schema.layer("assets"))


@pytest.mark.parametrize("phone", ["0116 123 4567", "+44 (0)116 123-4567"])
def test_phone_numbers(schema, phone):
    asset = point_feature(-1.18, 52.64, category="food-bank", name="Pantry", phone=phone)
    assert validate_feature(asset, schema.layer("assets")).properties["phone"] == phone


def test_parse_json_refuses_constants_and_bad_bytes():
    with pytest.raises(MalformedInput):
        parse_json(b"[-Infinity]")
    with pytest.raises(MalformedInput, match="UTF-8"):
        parse_json(b"\x80")
    assert parse_json(b'{"a": 1}') == {"a": 1}


def test_the_shipped_categories(schema):
    assert schema.layer("lights").category_ids == [
        "out", "dim", "flickering", "day-burning", "damaged", "obscured", "dark-spot"]
    assert [c.label for c in schema.layer("assets").categories] == [
        "Food bank", "Mental health service", "Youth service", "Community hub",
        "Welfare facility (toilets, water, shelter)", "Health", "Education", "Sport and leisure", "Faith", "Other"]


def test_walk_layers_take_lines_and_check_every_position(schema):
    audits = schema.layer("audits")
    walk = {"type": "Feature", "properties": {"title": "Evening walk"},
            "geometry": {"type": "LineString", "coordinates": [[-1.19, 52.77], [-1.191, 52.771, 80.0]]}}
    submission = validate_feature(walk, audits)
    assert submission.geometry.geom_type == "MultiLineString" and submission.properties["status"] == "recorded"
    bad = {**walk, "geometry": {"type": "LineString", "coordinates": [[-1.19, 52.77], [-1.19, 95]]}}
    with pytest.raises(ValidationError, match="Latitude 95.0"):
        validate_feature(bad, audits)
    with pytest.raises(ValidationError, match="at least two"):
        validate_feature({**walk, "geometry": {"type": "MultiLineString", "coordinates": [[[-1.19, 52.77]]]}}, audits)
    with pytest.raises(ValidationError, match="LineString or MultiLineString"):
        validate_feature({**walk, "geometry": {"type": "Point", "coordinates": [-1.19, 52.77]}}, audits)


# -- Polygons (Community Payback sites, issue 7) ----------------------------------------------------------------------

SQUARE = [[-1.195, 52.77], [-1.195, 52.771], [-1.194, 52.771], [-1.194, 52.77], [-1.195, 52.77]]  # clockwise


def site(geometry, **properties):
    return {"type": "Feature", "geometry": geometry, "properties": {"name": "Verge", "kind": "litter", **properties}}


def test_a_layer_may_take_points_or_polygons(schema):
    sites = schema.layer("cp-sites")
    assert sites.geometry == "Point|Polygon" and sites.geometries == ("Point", "Polygon")
    assert schema.layer("lights").geometries == ("Point",)
    point = validate_feature(site({"type": "Point", "coordinates": [-1.195, 52.77]}), sites)
    area = validate_feature(site({"type": "Polygon", "coordinates": [SQUARE]}), sites)
    assert point.geometry.geom_type == "Point" and area.geometry.geom_type == "Polygon"
    assert (area.lon, area.lat) == pytest.approx((-1.1945, 52.7705), abs=1e-3)  # placed by a point inside it
    with pytest.raises(ValidationError, match="must be a Point or a Polygon, not 'LineString'"):
        validate_feature(site({"type": "LineString", "coordinates": SQUARE[:2]}), sites)
    with pytest.raises(ValidationError, match="must be a Point, not 'Polygon'"):
        validate_feature(light() | {"geometry": {"type": "Polygon", "coordinates": [SQUARE]}}, schema.layer("lights"))


def test_polygons_are_stored_anticlockwise_rounded_and_with_their_holes(schema):
    hole = [[-1.1948, 52.7703], [-1.1942, 52.7703], [-1.1942, 52.7707], [-1.1948, 52.7707], [-1.1948, 52.7703]]
    wobbly = [[x + 1e-9, y] for x, y in SQUARE[:-1]]
    area = validate_feature(site({"type": "Polygon", "coordinates": [wobbly + [wobbly[0]], hole]}),
                            schema.layer("cp-sites")).geometry
    assert area.exterior.is_ccw and all(not ring.is_ccw for ring in area.interiors)  # RFC 7946's right-hand rule
    assert len(area.interiors) == 1 and area.exterior.coords[0] in [tuple(p) for p in SQUARE]


@pytest.mark.parametrize("coordinates, words", [
    ([], "needs coordinates"),
    ("square", "needs coordinates"),
    ([SQUARE[:3]], "at least four positions"),
    ([SQUARE[:-1] + [[-1.1949, 52.7701]]], "not closed"),
    ([SQUARE[:2] + [[-1.194, 95.0]] + SQUARE[3:]], "Latitude 95.0"),
    ([SQUARE[:2] + [[-1.194, float("nan")]] + SQUARE[3:]], "finite numbers"),
    ([SQUARE[:2] + [[-1.194]] + SQUARE[3:]], "position must be"),
    ([[[-1.195, 52.77], [-1.194, 52.77], [-1.193, 52.77], [-1.195, 52.77]]], "encloses no area"),
    ([[[-1.195, 52.77], [-1.194, 52.771], [-1.194, 52.77], [-1.195, 52.771], [-1.195, 52.77]]], "crossing edges"),
    ([SQUARE, [[-1.1948, 52.7703], [-1.190, 52.7703], [-1.190, 52.7707], [-1.1948, 52.7703]]], "crossing edges"),
])
def test_bad_polygons_are_refused_with_a_reason(schema, coordinates, words):
    with pytest.raises(ValidationError, match=words) as caught:
        validate_feature(site({"type": "Polygon", "coordinates": coordinates}), schema.layer("cp-sites"))
    assert caught.value.field == "geometry" and caught.value.status == 422


def test_a_ring_that_doubles_back_is_repaired_when_one_area_remains(schema):
    # A spike out and back along the same line: make_valid drops it and keeps the square.
    spiked = [SQUARE[0], SQUARE[1], [-1.1945, 52.771], [-1.1945, 52.772], [-1.1945, 52.771]] + SQUARE[2:]
    area = validate_feature(site({"type": "Polygon", "coordinates": [spiked]}), schema.layer("cp-sites")).geometry
    assert area.is_valid and area.bounds[3] == pytest.approx(52.771)


def test_a_polygon_has_a_vertex_cap(schema):
    from mapper.validate import MAX_POLYGON_VERTICES

    ring = [[-1.195 + 0.001 * i / MAX_POLYGON_VERTICES, 52.77 + (0.0001 if i % 2 else 0)]
            for i in range(MAX_POLYGON_VERTICES + 1)]
    with pytest.raises(ValidationError, match="at most 10,000 positions"):
        validate_feature(site({"type": "Polygon", "coordinates": [ring + [ring[0]]]}), schema.layer("cp-sites"))
