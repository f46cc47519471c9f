"""GeoPackage and zipped Shapefile, written by GDAL through pyogrio (no GeoPandas: the table's typed columns go
straight to GDAL, nulls as masks).

Both are written into a private temporary directory and read back as bytes: a Shapefile is several files, and
GDAL's GeoPackage writer needs a seekable SQLite file.
"""

import csv
import io
import json
import tempfile
import warnings
import zipfile
from functools import lru_cache
from pathlib import Path

import numpy as np
import pyogrio
import pyogrio.raw
import shapely
from pyproj import CRS

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


@lru_cache(maxsize=None)
def crs_wkt(crs):
    return CRS.from_user_input(crs).to_wkt()


def _write(table, path, driver, **options):
    """Write ``table`` to ``path`` with a GDAL driver; returns nothing, raises on failure."""
    fields = [column.name for column in table.columns]
    data = [column.values for column in table.columns]
    masks = [column.mask if column.mask.any() else None for column in table.columns]
    wkb = shapely.to_wkb(table.geometry) if len(table) else np.array([], dtype=object)
    declared = geometry_type(table.geometry)
    with warnings.catch_warnings():
        # GDAL warns when it shortens a Shapefile's field names; write_shapefile_zip lists them in the zip instead.
        warnings.filterwarnings("ignore", message="Normalized/laundered field name", category=RuntimeWarning)
        pyogrio.raw.write(str(path), wkb, data, fields, field_mask=masks, layer=table_layer_name(table),
                          driver=driver, geometry_type=declared, crs=crs_wkt(table.crs), encoding="UTF-8",
                          promote_to_multi=declared.startswith("Multi"), **options)


def table_layer_name(table):
    return table.name.replace("/", "-")[:60] or "features"


def geometry_type(geometry):
    """The one geometry type a layer declares: Multi* when parts are mixed (Shapefile and GeoPackage readers
    expect one type per layer)."""
    kinds = set(shapely.get_type_id(geometry[~shapely.is_missing(geometry)]).tolist())
    families = {0: "Point", 4: "Point", 1: "LineString", 5: "LineString", 3: "Polygon", 6: "Polygon"}
    named = {families.get(kind, "Unknown") for kind in kinds}
    if len(named) != 1 or "Unknown" in named:
        return "Unknown"
    family = named.pop()
    single = {"Point": 0, "LineString": 1, "Polygon": 3}[family]
    return family if kinds == {single} else "Multi" + family


def write_gpkg(table):
    """A GeoPackage (bytes) of ``table``; an analysis's parameters go in the layer's metadata as JSON."""
    metadata = {"analysis": json.dumps(table.metadata, ensure_ascii=False)} if table.metadata else None
    with tempfile.TemporaryDirectory(prefix="mapper-gpkg-") as directory:
        path = Path(directory) / "export.gpkg"
        _write(table, path, "GPKG", layer_metadata=metadata)
        return path.read_bytes()


def write_shapefile_zip(table):
    """A zip of a Shapefile's parts (.shp, .shx, .dbf, .prj, .cpg), plus, when DBF's ten-character limit shortened
    any field name, ``<name>_fields.csv`` saying which short name is which field, and the analysis as JSON."""
    name = table_layer_name(table)
    with tempfile.TemporaryDirectory(prefix="mapper-shp-") as directory:
        path = Path(directory) / f"{name}.shp"
        _write(table, path, "ESRI Shapefile")
        written = pyogrio.read_info(path)["fields"].tolist()
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for suffix in SHAPEFILE_PARTS:
                part = path.with_suffix(suffix)
                if part.exists():
                    archive.write(part, part.name)
            full = [column.name for column in table.columns]
            if written != full:
                archive.writestr(f"{name}_fields.csv", _field_names(written, full))
            if table.metadata:
                archive.writestr(f"{name}_analysis.json", json.dumps(table.metadata, ensure_ascii=False, indent=1))
        return buffer.getvalue()


def _field_names(short, full):
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(["shapefile_field", "field"])
    writer.writerows(zip(short, full))
    return text.getvalue()
