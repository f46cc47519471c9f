"""One registry of output formats, for stored layers and analysis results alike.

A layer URL with ``.<extension>`` is answered by a format's ``write(features, layer)``, which takes a
:class:`~mapper.store.FeatureSet` and the layer's schema. Any GeoJSON FeatureCollection dict (a hotspot grid, target
areas, or a layer) goes through :func:`write_collection`, which reprojects it and hands it to the format's
``write_table``; GeoJSON keeps the collection as it is (RFC 7946: always lon/lat). Writers return bytes and know
nothing of Flask; the CLI picks a format by the output file's extension (:func:`format_for_path`).
"""

import json
from dataclasses import dataclass
from datetime import date
from typing import Callable, Optional

import orjson

from mapper.crs import BRITISH_NATIONAL_GRID, WGS84
from mapper.errors import NotFound, ValidationError
from mapper.export import gis, gpx, kml, points, tabular
from mapper.export.table import parse_crs, table_from_collection


@dataclass(frozen=True)
class Format:
    extension: str  # in URLs: /api/zones/<zone>/<layer>.<extension>
    mimetype: str
    title: str
    write: Optional[Callable] = None  # (FeatureSet, Layer) -> bytes: a stored layer
    write_table: Optional[Callable] = None  # (Table) -> bytes: any FeatureCollection, after flattening
    crs: tuple = (WGS84,)  # the CRSs the format can carry
    suffix: Optional[str] = None  # of downloaded file names, when not the extension
    attachment: bool = False  # binary formats are saved, not shown

    @property
    def file_suffix(self):
        return self.suffix or self.extension

    @property
    def for_collections(self):
        return self.extension == "geojson" or self.write_table is not None


def write_collection(output, collection, crs=WGS84):
    """Bytes of a FeatureCollection dict (lon/lat) in ``output``'s format and ``crs`` ("EPSG:4326"/"EPSG:27700")."""
    crs = check_output(output, crs)
    if output.extension == "geojson":
        return geojson_bytes(collection)
    return output.write_table(table_from_collection(collection, crs))


def check_output(output, crs):
    """The parsed ``crs`` if ``output`` can carry a FeatureCollection in it, else the error that says why not."""
    crs = parse_crs(crs)
    if not output.for_collections:
        raise NotFound(f"{output.title} is for stored layers only; analysis results are available as "
                       f"{', '.join(f.extension for f in collection_formats())}.", field="format")
    if crs not in output.crs:
        raise ValidationError(f"{output.title} is always EPSG:4326 (longitude/latitude); "
                              "use crs=4326, or another format for EPSG:27700.", field="crs")
    return crs


def geojson_bytes(collection):
    """An RFC 7946 FeatureCollection as compact UTF-8 JSON, foreign members (``analysis``) kept."""
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def layer_collection(features, layer):
    """A stored layer's FeatureSet as a FeatureCollection dict (its lines are public features already)."""
    return {"type": "FeatureCollection", "name": layer.name,
            "features": [orjson.loads(line) for line in features.lines]}


def _layer_writer(write_table):
    def write(features, layer):
        return write_table(table_from_collection(layer_collection(features, layer), WGS84))

    return write


def _geojson(features, layer):
    return features.to_geojson_bytes()


BOTH = (WGS84, BRITISH_NATIONAL_GRID)

FORMATS = {
    "geojson": Format("geojson", "application/geo+json", "GeoJSON", _geojson),
    "csv": Format("csv", "text/csv; charset=utf-8", "CSV", tabular.write_csv, tabular.write_table_csv, BOTH),
    "gpkg": Format("gpkg", "application/geopackage+sqlite3", "GeoPackage", _layer_writer(gis.write_gpkg),
                   gis.write_gpkg, BOTH, attachment=True),
    # "lights.shp.zip" would be ambiguous in /<layer_name>.<extension> (the layer would be "lights.shp"), so the
    # URL extension is "zip"; the file is still named *.shp.zip.
    "zip": Format("zip", "application/zip", "Shapefile (zipped)", _layer_writer(gis.write_shapefile_zip),
                  gis.write_shapefile_zip, BOTH, suffix="shp.zip", attachment=True),
    "kml": Format("kml", "application/vnd.google-earth.kml+xml", "KML", _layer_writer(kml.write_kml), kml.write_kml,
                  attachment=True),
    "points": Format("points", "application/json", "Points (map columns)", points.write_points),
    # Faults as waypoints (walks as tracks) for a walker's phone; mapper.importers.gpx reads it back.
    "gpx": Format("gpx", "application/gpx+xml", "GPX", gpx.write_gpx),
}
ALIASES = {"shp.zip": "zip", "json": "geojson"}
SUFFIXES = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp.zip": "zip", ".zip": "zip",
            ".csv": "csv", ".kml": "kml"}


def get_format(extension):
    try:
        return FORMATS[ALIASES.get(extension, extension)]
    except KeyError:
        raise NotFound(f"No format {extension!r}. Formats are: {', '.join(FORMATS)}.", field="format") from None


def collection_formats():
    """The formats any FeatureCollection can be written in, in the order the page lists them."""
    return [output for output in FORMATS.values() if output.for_collections]


def format_for_path(path):
    """The format a file name asks for by its extension (``.shp.zip`` and ``.zip`` are a zipped Shapefile).

    >>> format_for_path("new-parks.shp.zip").extension, format_for_path("OUT.GPKG").extension
    ('zip', 'gpkg')
    """
    name = str(path).lower()
    for suffix in sorted(SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return FORMATS[SUFFIXES[suffix]]
    raise ValidationError(f"Cannot tell the format of {str(path)!r} from its extension; use one of "
                          f"{', '.join(SUFFIXES)}.", field="output")


def file_name(zone_id, subject, output, crs=WGS84, day=None):
    """``<zone>_<layer or analysis>_<date>[_27700].<suffix>``: where, what, when and (if not lon/lat) in which CRS.

    >>> file_name("new-parks", "hotspots-gi", FORMATS["zip"], "EPSG:27700", date(2025, 1, 31))
    'new-parks_hotspots-gi_2025-01-31_27700.shp.zip'
    """
    day = day or date.today()
    crs_part = "" if parse_crs(crs) == WGS84 else "_" + parse_crs(crs).split(":")[1]
    return f"{zone_id}_{subject}_{day.isoformat()}{crs_part}.{output.file_suffix}"
