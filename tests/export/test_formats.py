"""Every export format, written from FeatureCollections (analysis results) and stored layers and read back: GeoJSON,
GeoPackage and the zipped Shapefile with pyogrio, CSV with the csv module, KML with defusedxml (and GDAL).

The collection under test carries hostile text (markup, ``&``, ``]]>``, a NUL, spreadsheet formulas) in every kind
of property a result has: plain text, a list (streets), a mapping (counts by type) and a [lon, lat] centroid.
"""

import csv
import io
import json
import zipfile
from datetime import date

import defusedxml.ElementTree as SafeET
import numpy as np
import pyogrio
import pytest
import shapely
from pyproj import CRS

from mapper.crs import to_british_national_grid
from mapper.errors import NotFound, ValidationError
from mapper.export import FORMATS, file_name, format_for_path, get_format, write_collection
from mapper.export.table import table_from_collection
from tests.helpers import INSIDE, point_feature
from tests.render.populate import submit

HOSTILE = '<script>alert("x")</script> & ]]> Tom\'s end'
TEXT = HOSTILE
FORMULA = '=HYPERLINK("http://evil.example","click")'
KML = "{http://www.opengis.net/kml/2.2}"
# A 50 m cell of the EPSG:27700 grid and the same cell in lon/lat.
CELL_M = shapely.box(454000, 319000, 454050, 319050)


def cell_in_lon_lat(west, south):
    from mapper.crs import geometry_from_metres

    return geometry_from_metres(shapely.box(west, south, west + 50, south + 50))


def hostile_collection():
    first, second = cell_in_lon_lat(454000, 319000), cell_in_lon_lat(454050, 319000)
    return {"type": "FeatureCollection", "name": "bell-foundry-target-areas-counts",
            "analysis": {"zone": "bell-foundry", "method": "counts", "cell_m": 50.0, "note": HOSTILE},
            "features": [
                {"type": "Feature", "geometry": shapely.geometry.mapping(first),
                 "properties": {"rank": 1, "label": HOSTILE, "streets": [FORMULA, "Freehold Street"],
                                "counts": {"anti-social-behaviour": 7, "burglary": None}, "zone_share": 0.0125,
                                "centroid": [round(first.centroid.x, 6), round(first.centroid.y, 6)],
                                "suppressed": False, "weighted_records": 7.5}},
                {"type": "Feature", "geometry": shapely.geometry.mapping(second),
                 "properties": {"rank": 2, "label": "-1 cold", "streets": [],
                                "counts": {"anti-social-behaviour": 3}, "zone_share": 0.0125,
                                "centroid": [round(second.centroid.x, 6), round(second.centroid.y, 6)],
                                "suppressed": True, "weighted_records": 3.0}},
            ]}


def written(tmp_path, extension, crs="4326", collection=None):
    body = write_collection(get_format(extension), collection or hostile_collection(), crs)
    path = tmp_path / file_name("bell-foundry", "targets", get_format(extension), crs, date(2025, 1, 31))
    path.write_bytes(body)
    return path


def read_back(path):
    source = f"/vsizip/{path}" if path.name.endswith(".zip") else str(path)
    return pyogrio.read_info(source), pyogrio.raw.read(source)


def epsg(info):
    return CRS.from_user_input(info["crs"]).to_epsg()


# -- GIS formats read back with pyogrio ------------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["geojson", "gpkg", "zip", "kml"])
def test_every_gis_format_reads_back_in_lon_lat(tmp_path, extension):
    info, (meta, _, geometry, fields) = read_back(written(tmp_path, extension))
    assert info["features"] == 2 and epsg(info) == 4326
    polygons = shapely.from_wkb(geometry)
    expected = cell_in_lon_lat(454000, 319000)
    assert shapely.equals_exact(shapely.normalize(polygons[0]), shapely.normalize(expected), tolerance=1e-6)
    values = dict(zip(meta["fields"], fields))
    label = "label" if "label" in values else next(name for name in values if name.lower() == "label")
    assert values[label][0] == TEXT  # the text itself survives, as text


@pytest.mark.parametrize("extension", ["gpkg", "zip"])
def test_british_national_grid_is_exact_on_the_cell_grid(tmp_path, extension):
    info, (meta, _, geometry, fields) = read_back(written(tmp_path, extension, crs="27700"))
    assert epsg(info) == 27700
    first = shapely.from_wkb(geometry)[0]
    # Corners sit exactly on whole multiples of the cell size, as the grid made them (no centimetre drift).
    assert shapely.equals(shapely.normalize(first), shapely.normalize(CELL_M))
    assert set(shapely.get_coordinates(first)[:, 0]) == {454000.0, 454050.0}
    values = dict(zip(meta["fields"], fields))
    easting = next(values[name] for name in values if name.startswith("centroid_e"))
    assert easting[0] == pytest.approx(454025, abs=0.15)  # the centroid was given to 6 decimals of a degree


def test_geopackage_keeps_field_types_nulls_and_the_analysis(tmp_path):
    path = written(tmp_path, "gpkg")
    info, (meta, _, _, fields) = read_back(path)
    values = dict(zip(meta["fields"], fields))
    types = dict(zip(info["fields"], info["dtypes"]))
    assert types["rank"] == "int64" and types["weighted_records"] == "float64" and types["suppressed"] == "bool"
    assert values["counts_anti_social_behaviour"].tolist() == [7, 3]
    assert values["counts_burglary"][0] is None or np.isnan(values["counts_burglary"][0])  # a withheld count
    assert values["streets"][0] == f"{FORMULA}; Freehold Street"
    assert json.loads(info["layer_metadata"]["analysis"])["note"] == HOSTILE


def test_zipped_shapefile_has_its_parts_and_says_which_short_field_is_which(tmp_path):
    path = written(tmp_path, "zip", crs="27700")
    assert path.name == "bell-foundry_targets_2025-01-31_27700.shp.zip"
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        stem = "bell-foundry-target-areas-counts"
        assert {f"{stem}{suffix}" for suffix in (".shp", ".shx", ".dbf", ".prj", ".cpg")} <= names
        mapping = list(csv.reader(io.StringIO(archive.read(f"{stem}_fields.csv").decode())))
        assert mapping[0] == ["shapefile_field", "field"]
        full = dict((field, short) for short, field in mapping[1:])
        assert len(full["counts_anti_social_behaviour"]) <= 10
        assert json.loads(archive.read(f"{stem}_analysis.json"))["zone"] == "bell-foundry"


def test_geojson_is_rfc7946_and_refuses_british_national_grid():
    body = write_collection(get_format("geojson"), hostile_collection())
    collection = json.loads(body)
    assert collection["analysis"]["zone"] == "bell-foundry" and "crs" not in collection
    with pytest.raises(ValidationError) as refused:
        write_collection(get_format("geojson"), hostile_collection(), "27700")
    assert refused.value.field == "crs"


# -- KML ---------------------------------------------------------------------------------------------------------


def test_kml_escapes_hostile_text_and_parses_safely(tmp_path):
    collection = hostile_collection()
    collection["features"][1]["properties"]["label"] = "bell\x00\x0bend"  # characters XML 1.0 cannot carry
    body = written(tmp_path, "kml", collection=collection).read_bytes()
    assert b"<script>" not in body and b"]]>" not in body and b"\x00" not in body
    root = SafeET.fromstring(body)  # no DTD, no entities: defusedxml refuses anything else
    placemarks = root.findall(f".//{KML}Placemark")
    assert len(placemarks) == 2
    assert {d.get("name"): d.text for d in placemarks[1].iter(f"{KML}SimpleData")}["label"] == "bellend"
    data = {d.get("name"): d.text for d in placemarks[0].iter(f"{KML}SimpleData")}
    assert data["label"] == TEXT  # round-trips as the same text
    assert data["streets"] == f"{FORMULA}; Freehold Street" and data["counts_anti_social_behaviour"] == "7"
    assert "counts_burglary" not in data  # a null is left out, not written as "None"
    # Google Earth renders a description as HTML: there the text is HTML-escaped as well.
    description = placemarks[0].find(f"{KML}description").text
    assert "<script>" not in description and "&lt;script&gt;" in description
    assert placemarks[0].find(f"{KML}name").text == "Target area 1"
    ring = placemarks[0].find(f".//{KML}outerBoundaryIs/{KML}LinearRing/{KML}coordinates").text
    lon, lat = (float(v) for v in ring.split()[0].split(","))
    assert shapely.Point(lon, lat).distance(cell_in_lon_lat(454000, 319000).exterior) < 1e-7


def test_kml_colours_gi_bins_cold_to_hot():
    collection = {"type": "FeatureCollection", "name": "gi", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(cell_in_lon_lat(454000, 319000)),
         "properties": {"Gi_Bin": level, "label": str(level)}} for level in (-3, 0, 3)]}
    root = SafeET.fromstring(write_collection(get_format("kml"), collection))
    styles = [p.find(f"{KML}styleUrl").text for p in root.iter(f"{KML}Placemark")]
    assert styles == ["#gi-3", "#gi0", "#gi3"]
    fills = {s.get("id"): s.find(f"{KML}PolyStyle/{KML}fill").text for s in root.iter(f"{KML}Style")}
    assert fills["gi3"] == "1" and fills["gi0"] == "0"


def test_kml_refuses_british_national_grid():
    with pytest.raises(ValidationError, match="always EPSG:4326"):
        write_collection(get_format("kml"), hostile_collection(), "27700")


# -- CSV ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crs", ["4326", "27700"])
def test_csv_has_wkt_in_the_chosen_crs_and_formula_safe_cells(tmp_path, crs):
    text = written(tmp_path, "csv", crs=crs).read_bytes().decode("utf-8")
    assert "\r\n" in text
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    polygon = shapely.from_wkt(rows[0]["WKT"])
    if crs == "27700":
        assert shapely.equals(shapely.normalize(polygon), shapely.normalize(CELL_M))
        assert float(rows[0]["centroid_easting"]) == pytest.approx(454025, abs=0.15)  # from 6-decimal lon/lat
    else:
        assert polygon.distance(cell_in_lon_lat(454000, 319000).centroid) == 0
        assert float(rows[0]["centroid_lon"]) < 0
    assert rows[0]["streets"] == "'" + FORMULA + "; Freehold Street"  # a formula is text, never run
    assert rows[1]["label"] == "'-1 cold"
    assert rows[0]["counts_burglary"] == "" and rows[1]["suppressed"] == "true"
    # pyogrio (GDAL's CSV driver) reads the WKT column as geometry too.
    meta, _, geometry, _ = pyogrio.raw.read(written(tmp_path, "csv", crs=crs), GEOM_POSSIBLE_NAMES="WKT")
    assert len(shapely.from_wkb(geometry)) == 2


# -- the registry ------------------------------------------------------------------------------------------------


def test_formats_by_file_extension_and_names():
    assert format_for_path("a.SHP.ZIP") is FORMATS["zip"] and format_for_path("b.json") is FORMATS["geojson"]
    with pytest.raises(ValidationError, match="Cannot tell the format"):
        format_for_path("out.docx")
    assert get_format("shp.zip") is FORMATS["zip"]
    assert file_name("new-parks", "hotspots-gi", FORMATS["gpkg"], "EPSG:4326", date(2025, 2, 1)) == \
        "new-parks_hotspots-gi_2025-02-01.gpkg"
    with pytest.raises(NotFound, match="stored layers only"):
        write_collection(get_format("points"), hostile_collection())


def test_flattening_reprojects_the_centroid_with_the_geometry():
    table = table_from_collection(hostile_collection(), "EPSG:27700")
    names = [column.name for column in table.columns]
    assert "centroid_easting" in names and "centroid" not in names
    lon, lat = hostile_collection()["features"][0]["properties"]["centroid"]
    easting, _ = to_british_national_grid(lon, lat)
    assert table.columns[names.index("centroid_easting")].values[0] == pytest.approx(float(easting), abs=0.01)


# -- stored layers in the new formats ----------------------------------------------------------------------------


@pytest.mark.parametrize("extension", ["gpkg", "zip", "kml"])
def test_layer_downloads_in_gis_formats(client, resources, tmp_path, extension):
    lon, lat = INSIDE["bell-foundry"]
    submit(resources, "lights", point_feature(lon, lat, category="out", description=TEXT))
    response = client.get(f"/api/zones/bell-foundry/lights.{extension}")
    assert response.status_code == 200 and response.mimetype == FORMATS[extension].mimetype
    path = tmp_path / f"lights.{extension}"
    path.write_bytes(response.data)
    info, (meta, _, geometry, fields) = read_back(path)
    assert info["features"] == 1 and epsg(info) == 4326
    point = shapely.from_wkb(geometry)[0]
    assert (round(point.x, 6), round(point.y, 6)) == (lon, lat)
    values = dict(zip([name.lower() for name in meta["fields"]], fields))
    assert values["category"][0] == "out"
    if extension == "kml":  # GDAL reads KML's own <description> (the balloon) under the same name: look in the XML
        data = {d.get("name"): d.text for d in SafeET.fromstring(response.data).iter(f"{KML}SimpleData")}
        assert data["description"] == TEXT
    else:
        assert values[next(n for n in values if n.startswith("descriptio"))][0] == TEXT
