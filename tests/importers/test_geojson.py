"""GeoJSON files -> raw Features (mapper.importers.geojson) and choosing a reader (mapper.importers)."""

import json

import pytest

from mapper.errors import MalformedInput
from mapper.importers import geojson, read_features, reader_for, tabular

POINT = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.187, 52.773]},
         "properties": {"category": "out"}}


def test_a_feature_collection_is_numbered_from_one(write):
    path = write("lights.geojson", json.dumps({"type": "FeatureCollection", "features": [POINT, POINT]}))
    assert list(geojson.read_features(path)) == [(1, POINT), (2, POINT)]


def test_a_single_feature_with_a_byte_order_mark(write):
    path = write("one.json", b"\xef\xbb\xbf" + json.dumps(POINT).encode())
    assert list(geojson.read_features(path)) == [(1, POINT)]


def test_lon_lat_crs_is_accepted_and_others_refused(write):
    crs84 = {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}}
    path = write("qgis.geojson", json.dumps({"type": "FeatureCollection", "crs": crs84, "features": [POINT]}))
    assert len(list(geojson.read_features(path))) == 1
    grid = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}
    path = write("grid.geojson", json.dumps({"type": "FeatureCollection", "crs": grid, "features": [POINT]}))
    with pytest.raises(MalformedInput, match="EPSG::27700"):
        geojson.read_features(path)


@pytest.mark.parametrize("content, message", [
    ('{"type": "FeatureCollection", "features": [', "not valid JSON"),
    ('{"type": "Feature", "geometry": {"type": "Point", "coordinates": [NaN, 52]}}', "NaN is not a number"),
    ('{"type": "Polygon", "coordinates": []}', "got 'Polygon'"),
    ("[1, 2]", "got 'list'"),
    ('{"type": "FeatureCollection", "features": {}}', "'features' is not a list"),
    (b'{"type": "Feature", "properties": {"name": "caf\xe9"}}', "not UTF-8"),
])
def test_unreadable_files(write, content, message):
    with pytest.raises(MalformedInput, match=message):
        list(geojson.read_features(write("bad.geojson", content)))


def test_the_reader_is_chosen_by_suffix_then_by_content(write):
    assert reader_for(write("a.geojson", "")) is geojson
    assert reader_for(write("a.CSV", "{")) is tabular
    assert reader_for(write("export", '  {"type": "Feature"}')) is geojson
    assert reader_for(write("export.dat", "lon,lat\n")) is tabular
    assert list(read_features(write("points", "lon,lat\n-1.187,52.773\n")))[0][0] == 2
