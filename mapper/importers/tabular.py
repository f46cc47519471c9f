"""CSV files: one point per row, from lon/lat or British National Grid easting/northing columns.

Delimiters ``,``, ``;`` and tab are sniffed; a UTF-8 byte-order mark (Excel's "CSV UTF-8") is dropped. Every other
column becomes a property of the same name, and an empty cell is an absent property, so the validator refuses an
unknown column with exactly the message the API gives for an unknown property.
"""

import csv
import io
import math

from mapper.crs import from_british_national_grid
from mapper.errors import MalformedInput
from mapper.importers import read_text

UNIT = "row"  # what the numbers read_features yields count

DELIMITERS = ",;\t"
# Coordinate column pairs, most specific first; header names are matched case-insensitively.
LON_LAT_COLUMNS = [("lon", "lat"), ("longitude", "latitude"), ("lng", "lat"), ("x", "y")]
GRID_COLUMNS = [("easting", "northing")]
COORDINATE_NAMES = {name for pair in LON_LAT_COLUMNS + GRID_COLUMNS for name in pair}
TRUE, FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


def read_features(path, layer=None):
    """Iterate ``(spreadsheet row number, raw Feature)``; the header is row 1.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lights.csv"
    >>> _ = path.write_text("lat;lon;category\\n52.77;-1.2;out\\n", encoding="utf-8-sig")
    >>> row, feature = next(read_features(path))
    >>> row, feature["geometry"]["coordinates"], feature["properties"]
    (2, [-1.2, 52.77], {'category': 'out'})
    """
    text = read_text(path)
    if not text.strip():
        raise MalformedInput(f"{path} is empty.")
    reader = csv.reader(io.StringIO(text, newline=""), dialect=sniff_dialect(text, path))
    try:
        header = [name.strip() for name in next(reader)]
    except StopIteration:
        raise MalformedInput(f"{path} is empty.") from None
    except csv.Error as e:
        raise MalformedInput(f"{path}: cannot read the CSV header: {e}.") from None
    x_column, y_column, grid = coordinate_columns(header, path)
    return _rows(reader, header, (x_column, y_column, grid), layer, path)


def _rows(reader, header, coordinates, layer, path):
    x_column, y_column, grid = coordinates
    row_number = 1
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            raise MalformedInput(f"{path}: row {row_number + 1} cannot be read as CSV: {e}.") from None
        row_number += 1
        if not any(cell.strip() for cell in cells):
            continue  # spreadsheets leave blank rows at the end
        if len(cells) > len(header):
            raise MalformedInput(f"{path}: row {row_number} has {len(cells)} cells but the header has "
                                 f"{len(header)} columns.")
        cells += [""] * (len(header) - len(cells))
        point = point_geometry(cells[x_column], cells[y_column], grid)
        properties = {name: cell_value(cell, name, layer) for name, cell in zip(header, cells)
                      if name.lower() not in COORDINATE_NAMES and cell.strip()}
        yield row_number, {"type": "Feature", "geometry": point, "properties": properties}


def sniff_dialect(text, path):
    """The file's dialect: RFC 4180 quoting (``""`` inside a quoted field is one ``"``) with the delimiter the
    sniffer finds among the allowed ones, or the header line's most frequent one when it cannot. Only the delimiter
    is taken from the sniffer: on a small file it can guess that quotes are not doubled, and then mangles
    ``"<img onerror=""x"">"``."""
    sample = text[:64 * 1024]
    first_line = sample.split("\n", 1)[0]
    delimiter = None
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        pass
    if delimiter is None or delimiter not in first_line:
        counts = {candidate: first_line.count(candidate) for candidate in DELIMITERS}
        delimiter = max(counts, key=counts.get)
        if not counts[delimiter]:
            raise MalformedInput(f"{path}: the header has no ',', ';' or tab between column names.")

    class Sniffed(csv.excel):
        pass

    Sniffed.delimiter = delimiter
    return Sniffed


def coordinate_columns(header, path):
    """``(x index, y index, is_grid)`` of the first coordinate pair present in ``header``."""
    lowered = [name.lower() for name in header]
    duplicates = sorted({name for name in header if header.count(name) > 1 and name})
    if duplicates:
        raise MalformedInput(f"{path}: the column {duplicates[0]!r} appears more than once.")
    for pairs, grid in ((LON_LAT_COLUMNS, False), (GRID_COLUMNS, True)):
        for x_name, y_name in pairs:
            if x_name in lowered and y_name in lowered:
                return lowered.index(x_name), lowered.index(y_name), grid
    raise MalformedInput(f"{path}: no coordinate columns; the header needs lon and lat (or longitude and latitude, "
                         f"or x and y) or easting and northing. It has: {', '.join(header)[:200]}.")


def point_geometry(x_text, y_text, grid):
    """A GeoJSON Point from two cells. Cells that are not finite numbers are passed on as they are, so that the
    validator refuses them with its own message quoting the value."""
    x, y = number(x_text), number(y_text)
    if grid and isinstance(x, float) and isinstance(y, float):
        lon, lat = from_british_national_grid(x, y)
        x, y = float(lon), float(lat)
    return {"type": "Point", "coordinates": [x, y]}


def number(text):
    text = text.strip()
    try:
        value = float(text)
    except ValueError:
        return text or None
    return value if math.isfinite(value) else text


def cell_value(text, name, layer):
    """A cell as the JSON type its property expects (CSV has only text); left as text when it does not convert."""
    text = text.strip()
    prop = layer.properties.get(name) if layer is not None else None
    kind = prop.type if prop is not None else "text"
    if kind == "boolean" and text.lower() in TRUE | FALSE:
        return text.lower() in TRUE
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text
    if kind == "number":
        value = number(text)
        return value if isinstance(value, float) else text
    return text
