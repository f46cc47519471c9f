"""Tabular exports. A stored point layer: one row per feature with lon/lat, easting/northing (EPSG:27700) and
every public property. Any FeatureCollection (an analysis result): one row per feature, its geometry as WKT in the
chosen CRS, then its flattened properties.

Cells are made safe for spreadsheets: text that a spreadsheet would run as a formula gets a leading apostrophe.
"""

import csv
import io
import json
import re

import numpy as np
import shapely

from mapper.crs import WGS84, to_british_national_grid

# A cell starting with one of these is a formula to Excel, LibreOffice or Google Sheets (OWASP "CSV injection"); tab
# and CR because spreadsheets drop them before reading the rest; the fullwidth forms because East Asian input methods
# type them and some spreadsheets take them as the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "|", "%", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Where a spreadsheet may cut one cell into several: the list separator of semicolon locales (a CSV opened in a
# German or French Excel is split at ";" whatever its quotes say), a comma, a tab when text is pasted, and a line
# break (quotes that are not honoured do not keep a line break inside a cell either).
SPLITS = re.compile(r"([;,\t\r\n])")


def spreadsheet_safe(value):
    """Text a spreadsheet shows as text, never runs: every piece that could begin a cell (the whole text, or what
    follows a ``;``, ``,``, tab or line break in it) and would start a formula gets a leading apostrophe. The one
    guard of every CSV and XLSX writer.

    >>> spreadsheet_safe('=HYPERLINK("http://x")')
    '\\'=HYPERLINK("http://x")'
    >>> spreadsheet_safe("a;=1+1"), spreadsheet_safe("\\t=1"), spreadsheet_safe("Light out, by the shop")
    ("a;'=1+1", "'\\t'=1", 'Light out, by the shop')
    """
    if not isinstance(value, str) or not value:
        return value
    parts = SPLITS.split(value)  # text, separator, text, ...: the separators sit at the odd positions
    if not any(_starts_formula(part) for part in parts[::2]):
        return value
    safe = "".join("'" + part if position % 2 == 0 and _starts_formula(part) else part
                   for position, part in enumerate(parts))
    return "'" + safe if _starts_formula(safe) else safe  # a cell that begins with a tab or line break


def _starts_formula(text):
    return text.startswith(FORMULA_STARTS) or text.lstrip().startswith(FORMULA_STARTS)


def columns(layer):
    """Column order: identity and position first, then the layer's public properties, then the server's."""
    own = [name for name, prop in layer.properties.items() if not prop.private]
    return ["id", "ref", "lon", "lat", "easting", "northing", *own, "status", "zone", "created", "updated",
            "confirmations", "location_approximate"]


def rows(features, layer):
    """Dicts of the cells of every feature, in the order of :func:`columns`."""
    names = columns(layer)
    eastings, northings = to_british_national_grid(features.lon, features.lat)
    for feature, easting, northing in zip(features, np.atleast_1d(eastings), np.atleast_1d(northings)):
        properties = feature["properties"]
        lon, lat = feature["geometry"]["coordinates"][:2]
        cells = {**{name: properties.get(name) for name in names}, "lon": lon, "lat": lat,
                 "easting": round(float(easting), 2), "northing": round(float(northing), 2)}
        yield {name: spreadsheet_safe(_cell(cells[name])) for name in names}


def _cell(value):
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def write_csv(features, layer):
    """The layer as CSV text (UTF-8, header row, CRLF line ends as RFC 4180 says).

    A layer of lines or areas (audit walks, streets) has no one lon/lat per feature: it is written as
    :func:`write_table_csv` writes any FeatureCollection, its geometry whole as WKT (``id`` is a property already).
    """
    if layer.geometries != ("Point",):
        from mapper.export.table import table_from_collection

        collection = {"type": "FeatureCollection", "name": layer.name,
                      "features": [json.loads(line) for line in features.lines]}
        return write_table_csv(table_from_collection(collection, WGS84))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns(layer))
    writer.writeheader()
    for row in rows(features, layer):
        writer.writerow(row)
    return buffer.getvalue().encode("utf-8")


WKT_DECIMALS = {WGS84: 7}  # lon/lat to about a centimetre; metres (EPSG:27700) to the centimetre below
WKT_DECIMALS_METRES = 2


def write_table_csv(table):
    """A :class:`~mapper.export.table.Table` as CSV: a ``WKT`` column in the table's CRS, then every field (nulls
    empty), formula-safe, CRLF line ends."""
    decimals = WKT_DECIMALS.get(table.crs, WKT_DECIMALS_METRES)
    wkt = shapely.to_wkt(table.geometry, rounding_precision=decimals, trim=True) if len(table) else []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["WKT", *(spreadsheet_safe(column.name) for column in table.columns)])
    cells = [_column_cells(column) for column in table.columns]
    for position, geometry in enumerate(wkt):
        writer.writerow([geometry or "", *(column[position] for column in cells)])
    return buffer.getvalue().encode("utf-8")


def _column_cells(column):
    if column.kind == "text":
        values = [spreadsheet_safe(value) for value in column.values.tolist()]
    elif column.kind == "bool":
        values = ["true" if value else "false" for value in column.values.tolist()]
    else:
        values = column.values.tolist()
    return ["" if null else value for value, null in zip(values, column.mask.tolist())]
