"""Foreign files -> raw GeoJSON Feature dicts, ready for the one validator (``mapper.intake.judge_many``).

Readers only translate formats; they never decide what is acceptable. Each yields ``(row number, feature dict)``
where the row number is what the person who made the file would look for: the spreadsheet row of a CSV (the header
is row 1) or the position of a feature in a GeoJSON file (the first is 1). A file that cannot be read at all raises
:class:`mapper.errors.MalformedInput` with a one-line message.
"""

from pathlib import Path

from mapper.errors import MalformedInput

GEOJSON_SUFFIXES = {".geojson", ".json"}
TABULAR_SUFFIXES = {".csv", ".tsv", ".txt"}


def read_features(path, layer=None):
    """Iterate ``(row number, raw Feature dict)`` from a GeoJSON or CSV file, chosen by suffix, else by content.

    ``layer`` (a :class:`mapper.schema.Layer`) lets CSV cells of integer, number and boolean properties become
    JSON numbers and booleans, since CSV has no types of its own.
    """
    return reader_for(path).read_features(path, layer)


def reader_for(path):
    """The reader module for a file, by suffix, else by its first bytes. Its ``UNIT`` names what a number counts."""
    from mapper.importers import geojson, tabular

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in GEOJSON_SUFFIXES or (suffix not in TABULAR_SUFFIXES and _looks_like_json(path)):
        return geojson
    return tabular


def _looks_like_json(path):
    with open(path, "rb") as f:
        start = f.read(1024).lstrip(b"\xef\xbb\xbf \t\r\n")
    return start[:1] in (b"{", b"[")


def read_text(path):
    """A whole file as text: UTF-8 (with or without a byte-order mark), or a MalformedInput saying where it is not."""
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise MalformedInput(f"{path} is not UTF-8 text (byte {e.start}); save it as UTF-8 and try again.") from None
