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
