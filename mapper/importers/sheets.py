"""Other people's tables and GeoJSON files -> :class:`SourceRow` s (cells or properties, a raw GeoJSON point, the row
and line a person looks for), for ``mapper import-assets``; nothing is mapped or judged here.

Unlike :mod:`mapper.importers.tabular` (``mapper import``, our own column names, UTF-8 only, a bad row stops the file),
this reads files as councils, the NHS and open-data portals publish them: Windows-1252 or Latin-1 text, ``|`` or ``¬``
separators, quoted cells that span lines, and a point given by lon/lat synonyms, easting/northing, a geometry held as
JSON text or a ``"lat,lon"`` pair (the synonyms come from the ``[coordinates]`` table of data/asset_sources.toml). A
row that cannot be read carries its ``problem`` so the import can list it with the others.
"""

import csv
import io
import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path

import shapely

from mapper.errors import MalformedInput
from mapper.validate import quote

ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")  # Latin-1 decodes any bytes, so it is the last resort
DELIMITERS = (",", ";", "\t", "|", "¬")
SAMPLE_ROWS = 50  # rows parsed with each candidate delimiter to pick the file's


@dataclass
class SourceRow:
    """One row of a source: where it is in the file, its cells (or properties) and its point as raw GeoJSON."""

    number: int
    label: str  # "row 12 (line 40)" or "feature 3": what a person looks for in the file
    values: dict
    geometry: dict | None = None
    problem: str | None = None  # the row cannot be read (bad cell count, a geometry that is not JSON)
    feature_id: str | None = None


@dataclass
class SourceFile:
    path: Path
    kind: str  # "csv" or "geojson"
    columns: list
    rows: list
    encoding: str | None = None
    delimiter: str | None = None
    coordinates: str | None = None  # which columns gave the points, for the notes


def read_source(path, coordinates):
    """Read a GeoJSON or CSV file into :class:`SourceRow` s; nothing is mapped or judged yet. ``coordinates`` maps a
    kind of coordinate column (``lon``, ``lat``, ``easting``, ``northing``, ``geometry``, ``lat_lon``) to its
    lower-case header names, most likely first."""
    from mapper.importers import reader_for

    path = Path(path)
    if reader_for(path).__name__.endswith("geojson"):
        return read_geojson(path)
    return read_csv(path, coordinates)


def read_geojson(path):
    """Features of a GeoJSON file (strict JSON, lon/lat only: :mod:`mapper.importers.geojson`). A polygon or line
    stands for its place by a point on its surface."""
    from mapper.importers import geojson

    rows, columns = [], {}
    for number, feature in geojson.read_features(path):
        label = f"feature {number}"
        if not isinstance(feature, dict):
            rows.append(SourceRow(number, label, {}, problem=f"not a GeoJSON Feature: {quote(feature)}"))
            continue
        values = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        columns.update(dict.fromkeys(values))
        geometry, problem = point_of(feature.get("geometry"))
        feature_id = str(feature["id"]) if isinstance(feature.get("id"), (str, int)) else None
        rows.append(SourceRow(number, label, values, geometry, problem, feature_id))
    return SourceFile(path, "geojson", list(columns), rows, coordinates="the features' geometry")


def point_of(geometry):
    """``(GeoJSON Point or None, problem)``: a Point as it is (the validator judges it), another geometry by a point
    on its surface."""
    if geometry is None:
        return None, None
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        return geometry, None
    try:
        point = shapely.geometry.shape(geometry).point_on_surface()
    except Exception as error:  # shapely raises several kinds for malformed geometries
        return None, f"the geometry cannot be read: {quote(str(error))}"
    if point.is_empty:
        return None, None
    return {"type": "Point", "coordinates": [point.x, point.y]}, None


def decode(data):
    """``(text, encoding)``: UTF-8 (with or without a byte-order mark), else Windows-1252 (what Excel and most UK
    council systems write when they say "ANSI" or "Latin-1"), else Latin-1. Excel's "Unicode text" is UTF-16 with a
    byte-order mark."""
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            pass
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise AssertionError("latin-1 decodes any bytes")


def detect_delimiter(text, path):
    """The delimiter whose first rows have one consistent number of columns (the most rows agreeing with the
    header's count, then the most columns).

    Hand-written because ``csv.Sniffer`` cannot decide on NHS GP.csv (``¬`` between 22 columns) and its frequency
    guess is unreliable with multi-line quoted cells; parsing a sample with each candidate is both simple and exact.
    """
    sample = text[:256 * 1024]
    best, best_score = None, (0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = list(itertools.islice(csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter),
                                         SAMPLE_ROWS + 1))
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        body = rows[1:-1] if len(rows) > 2 else rows[1:]  # the last sampled row may be cut short
        score = (sum(1 for row in body if len(row) == len(rows[0])), len(rows[0]))
        if score > best_score:
            best, best_score = delimiter, score
    if best is None:
        raise MalformedInput(f"{path}: the header has no ',', ';', tab, '|' or '¬' between column names.")
    return best


def read_csv(path, coordinates):
    text, encoding = decode(path.read_bytes())
    if not text.strip():
        raise MalformedInput(f"{path} is empty.")
    delimiter = detect_delimiter(text, path)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [name.strip() for name in next(reader)]
    named = [name.lower() for name in header if name]  # spreadsheets leave unnamed empty columns at the end
    if len(set(named)) != len(named):
        repeated = next(name for name in header if name and named.count(name.lower()) > 1)
        raise MalformedInput(f"{path}: the column {repeated!r} appears more than once.")
    locate, described = point_locator(header, coordinates, path)
    rows, number = [], 1
    while True:
        first_line = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            raise MalformedInput(f"{path}: row {number + 1} (line {first_line}) cannot be read as CSV: {error}.") \
                from None
        number += 1
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets leave blank rows at the end
        label = f"row {number}" + (f" (line {first_line})" if first_line != number else "")
        if len(cells) > len(header) and any(cell.strip() for cell in cells[len(header):]):
            rows.append(SourceRow(number, label, {}, problem=f"it has {len(cells)} cells but the header has "
                                                             f"{len(header)} columns"))
            continue
        values = {name: cell for name, cell in zip(header, cells + [""] * (len(header) - len(cells))) if name}
        geometry, problem = locate(cells)
        rows.append(SourceRow(number, label, values, geometry, problem))
    return SourceFile(path, "csv", header, rows, encoding=encoding, delimiter=delimiter, coordinates=described)


def point_locator(header, synonyms, path):
    """``(locate(cells) -> (geometry, problem), description)``: every way the header offers to find a row's point,
    tried in order per row, so a row with an empty geometry cell falls back to its "lat,lon" column."""
    lowered = [name.lower() for name in header]

    def column(kind):
        return next((lowered.index(name) for name in synonyms.get(kind, ()) if name in lowered), None)

    ways, described = [], []
    lon, lat, easting, northing = column("lon"), column("lat"), column("easting"), column("northing")
    if lon is not None and lat is not None:
        ways.append(lambda cells, x=lon, y=lat: xy_point(cells[x], cells[y], grid=None))
        described.append(f"{header[lon]}/{header[lat]}")
    if easting is not None and northing is not None:
        ways.append(lambda cells, x=easting, y=northing: xy_point(cells[x], cells[y], grid=True))
        described.append(f"{header[easting]}/{header[northing]} (EPSG:27700)")
    geometry = column("geometry")
    if geometry is not None:
        ways.append(lambda cells, g=geometry: json_point(cells[g], header[g]))
        described.append(f"{header[geometry]} (GeoJSON text)")
    pair = column("lat_lon")
    if pair is not None:
        ways.append(lambda cells, p=pair: pair_point(cells[p], header[p]))
        described.append(f"{header[pair]} (\"lat,lon\")")
    if not ways:
        raise MalformedInput(f"{path}: no coordinate columns; the header needs lon and lat (or longitude/latitude, "
                             "x/y), easting and northing, a GeoJSON geometry column or a \"lat,lon\" column. "
                             f"It has: {', '.join(header)[:200]}.")

    def locate(cells):
        for way in ways:
            geometry, problem = way(cells)
            if geometry is not None or problem is not None:
                return geometry, problem
        return None, None

    return locate, ", else ".join(described)


def xy_point(x_text, y_text, grid):
    """A Point from two cells; ``grid`` None means lon/lat unless the numbers can only be British National Grid
    metres (an "x"/"y" pair from a GIS export). Text that is not a number is passed on for the validator to quote."""
    from mapper.crs import from_british_national_grid
    from mapper.importers.tabular import number

    x, y = number(x_text), number(y_text)
    if x is None and y is None:
        return None, None
    if isinstance(x, float) and isinstance(y, float) and (grid or (grid is None and abs(x) > 180 and y > 1000)):
        lon, lat = from_british_national_grid(x, y)
        x, y = float(lon), float(lat)
    return {"type": "Point", "coordinates": [x, y]}, None


def json_point(text, name):
    if not text.strip():
        return None, None
    try:
        geometry = json.loads(text)
    except ValueError:
        return None, f"{name!r} is not a GeoJSON geometry: {quote(text)}"
    return point_of(geometry)


def pair_point(text, name):
    if not text.strip():
        return None, None
    parts = [part for part in re.split(r"[,;\s]+", text.strip()) if part]
    try:
        lat, lon = (float(part) for part in parts)
    except ValueError:
        return None, f"{name!r} is not a \"lat,lon\" pair: {quote(text)}"
    return {"type": "Point", "coordinates": [lon, lat]}, None
