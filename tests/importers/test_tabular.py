"""CSV rows -> raw GeoJSON Features (mapper.importers.tabular)."""

import math

import pytest

from mapper.crs import to_british_national_grid
from mapper.errors import MalformedInput
from mapper.importers.tabular import read_features
from mapper.schema import Layer, Property


def coordinates(rows):
    return [feature["geometry"]["coordinates"] for _, feature in rows]


@pytest.mark.parametrize("header", ["lon,lat", "longitude,latitude", "x,y", "Lon,LAT", "lng,lat"])
def test_lon_lat_column_names(write, header):
    path = write("points.csv", f"{header},category\n-1.187,52.773,out\n")
    assert list(read_features(path)) == [
        (2, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.187, 52.773]},
             "properties": {"category": "out"}})]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiters_are_sniffed(write, delimiter):
    rows = [["lat", "lon", "category", "description"], ["52.773", "-1.187", "dim", "By the shop, opposite"]]
    text = "\n".join(delimiter.join(f'"{cell}"' if delimiter in cell else cell for cell in row) for row in rows)
    (number, feature), = read_features(write("points.csv", text + "\n"))
    assert feature["properties"] == {"category": "dim", "description": "By the shop, opposite"}
    assert feature["geometry"]["coordinates"] == [-1.187, 52.773]


def test_semicolons_and_a_byte_order_mark(write):
    path = write("excel.csv", b"\xef\xbb\xbflon;lat;category\r\n-1,187;52.773;out\r\n".replace(b"-1,187", b"-1.187"))
    assert coordinates(read_features(path)) == [[-1.187, 52.773]]


def test_easting_northing_become_lon_lat(write):
    easting, northing = to_british_national_grid(-1.187, 52.773)
    path = write("grid.csv", f"Easting,Northing,category\n{float(easting)!r},{float(northing)!r},out\n")
    (lon, lat), = coordinates(read_features(path))
    assert lon == pytest.approx(-1.187, abs=1e-6) and lat == pytest.approx(52.773, abs=1e-6)


def test_empty_cells_are_absent_and_rows_are_spreadsheet_rows(write):
    path = write("points.csv", 'lon,lat,category,description\n-1.187,52.773,out,\n\n-1.188,52.774,dim,"two\nlines"\n')
    rows = list(read_features(path))
    assert [number for number, _ in rows] == [2, 4]
    assert rows[0][1]["properties"] == {"category": "out"}
    assert rows[1][1]["properties"] == {"category": "dim", "description": "two\nlines"}


@pytest.mark.parametrize("cell", ["nan", "inf", "-Infinity", "abc"])
def test_non_finite_coordinates_are_left_for_the_validator(write, cell):
    (_, feature), = read_features(write("points.csv", f"lon,lat\n{cell},52.7\n"))
    assert feature["geometry"]["coordinates"] == [cell, 52.7]


def test_missing_coordinates_are_none(write):
    (_, feature), = read_features(write("points.csv", "lon,lat,category\n,,out\n"))
    assert feature["geometry"]["coordinates"] == [None, None]


def test_typed_properties_are_converted_for_the_layer(write):
    layer = Layer("counts", "Counts", "Point", "open", ("open",), ("open",), {
        "lamps": Property("lamps", "integer"), "height": Property("height", "number"),
        "lit": Property("lit", "boolean"), "note": Property("note", "text")})
    path = write("typed.csv", "lon,lat,lamps,height,lit,note\n-1.1,52.6,3,4.5,Yes,7\n-1.1,52.6,three,nan,maybe,x\n")
    first, second = [feature["properties"] for _, feature in read_features(path, layer)]
    assert first == {"lamps": 3, "height": 4.5, "lit": True, "note": "7"}
    assert second == {"lamps": "three", "height": "nan", "lit": "maybe", "note": "x"}
    assert not any(isinstance(v, float) and math.isnan(v) for v in second.values())


@pytest.mark.parametrize("content, message", [
    ("name,category\nx,out\n", "no coordinate columns"),
    ("", "is empty"),
    ("lon,lat,lat\n1,2,3\n", "appears more than once"),
    ("lon,lat\n-1.1,52.6,extra\n", "row 2 has 3 cells"),
    ("lonlat\n-1.1\n", "no ',', ';' or tab"),
    (b"lon,lat,description\n-1.1,52.6,caf\xe9\n", "not UTF-8 text (byte 33)"),
    ('lon,lat,description\n-1.1,52.6,"' + "x" * 200_000 + '"\n', "row 2 cannot be read as CSV"),
])
def test_unreadable_files(write, content, message):
    with pytest.raises(MalformedInput, match=message.replace("(", r"\(").replace(")", r"\)")):
        list(read_features(write("bad.csv", content)))


def test_doubled_quotes_in_a_small_file_are_one_quote(write):
    # csv.Sniffer guesses "quotes not doubled" from two rows like these and then mangles the field.
    path = write("points.csv", 'lon,lat,description\n-1.187,52.773,"<img onerror=""x""> by the ""Red Lion"""\n')
    (_, feature), = read_features(path)
    assert feature["properties"]["description"] == '<img onerror="x"> by the "Red Lion"'
