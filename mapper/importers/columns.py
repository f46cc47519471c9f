"""A council's lamp-column inventory (CSV or GeoJSON) -> the zone's ``columns`` layer, through the one validator.

Councils' registers have faults an import must survive (see ``docs/columns.md``):

* **No ids at all** (Bristol's 49,451 street lights): every column gets a generated id from its position in
  British National Grid rounded to the metre, ``GEN-<easting>-<northing>``. It is stable (the same file gives the
  same ids every time) and tells an officer where to look.
* **A null id** (18 of Bath & North East Somerset's grit bins): the same generated id, for that row only.
* **The same record twice** (the same id, or no id, at the same position; Bristol has 288): one column; the
  others are counted as duplicate rows.
* **One id on two columns at different positions**: the first keeps the id and the later ones become ``<id>~2``,
  ``~3`` ... in file order, listed in the report, so every column can still be picked and linked.

Only columns inside the zone are kept; the rest are counted. Re-importing adds nothing: a unit id already in service
at the same place (within :data:`SAME_PLACE_M`) is skipped. A column whose unit id is in service elsewhere has moved:
it is reported, and with ``replace`` the old one is marked ``removed`` and the new one added; ``replace`` also marks
removed the in-service columns the file no longer lists.
"""

import math
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import shapely

from mapper.analysis.columns import IN_SERVICE, LAYER
from mapper.crs import to_british_national_grid
from mapper.errors import MalformedInput

REMOVED = "removed"
GENERATED_PREFIX = "GEN"
REPEAT_MARK = "~"
SAME_PLACE_M = 1.0  # closer than this, a column re-imported with the same unit id has not moved
ID_COLUMNS = ("unit_id", "unitid", "unit_no", "unit_number", "column_id", "column_no", "column_number",
              "asset_id", "assetid", "central_asset_id", "feature_id", "id")
LOCATION_COLUMNS = ("location", "location_text", "feature_lo", "street", "road", "address", "description")

# Why a row was not imported, in the order they are reported.
OUTSIDE_ZONE = "outside the zone"
DUPLICATE_ROW = "duplicate row (same id and position as an earlier row)"
ALREADY = "already imported"
MOVED = "unit id already in service elsewhere (moved? use --replace)"
REFUSED = "refused by the validator"
REASONS = (OUTSIDE_ZONE, DUPLICATE_ROW, ALREADY, MOVED, REFUSED)


@dataclass
class Inventory:
    """A file read and its ids settled: per row its number, Feature dict, lon/lat and unit id."""

    path: Path
    id_column: str | None
    numbers: list
    features: list
    lon: np.ndarray
    lat: np.ndarray
    unit_ids: list
    generated: int = 0
    null_ids: int = 0
    duplicates: list = field(default_factory=list)  # row numbers dropped as duplicate rows
    repeated: dict = field(default_factory=dict)  # original id -> [(row number, unit id given)]


@dataclass
class ColumnImport:
    """What an import did, for a person: rows read, columns added and removed, rows skipped by reason, ids fixed."""

    zone: str
    rows: int = 0
    added: int = 0
    removed: int = 0
    skipped: Counter = field(default_factory=Counter)
    refusals: list = field(default_factory=list)  # (row number, message)
    generated: int = 0
    null_ids: int = 0
    repeated: dict = field(default_factory=dict)
    id_column: str | None = None

    def summary(self):
        parts = [f"{reason} {self.skipped[reason]:,}" for reason in REASONS if self.skipped[reason]]
        skipped = f"; skipped {sum(self.skipped.values()):,}: " + ", ".join(parts) if parts else ""
        removed = f"; marked {self.removed:,} removed" if self.removed else ""
        return f"Imported {self.added:,} of {self.rows:,} columns into {self.zone}/{LAYER}{removed}{skipped}."

    def id_notes(self):
        """Lines saying how ids were settled: which column, how many generated, which were repeated."""
        notes = [f"Unit ids from the column {self.id_column!r}." if self.id_column else
                 "No unit id column: every column has a generated id (GEN-<easting>-<northing>)."]
        if self.id_column and self.null_ids:
            notes.append(f"{self.null_ids:,} rows have no unit id: they have generated ids (GEN-<easting>-<northing>).")
        for original, rows in sorted(self.repeated.items()):
            given = ", ".join(f"row {number} -> {unit_id}" for number, unit_id in rows)
            notes.append(f"Unit id {original!r} is on columns at different positions: {given}.")
        return notes


def read_inventory(path, id_column=None):
    """Read an inventory file and settle every row's unit id; nothing is judged or stored.

    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "lights.csv"
    >>> _ = path.write_text("easting,northing,unit\\n454071,319456,\\n454071,319456,\\n", encoding="utf-8")
    >>> inventory = read_inventory(path)
    >>> inventory.unit_ids, inventory.duplicates
    (['GEN-454071-319456', None], [3])
    """
    from mapper.importers import reader_for

    path = Path(path)
    rows = list(reader_for(path).read_features(path, None))
    if not rows:
        raise MalformedInput(f"{path} has no columns to import.")
    names = _property_names(row[1] for row in rows)
    id_column = _id_column(names, id_column, path)
    location_column = next((name for wanted in LOCATION_COLUMNS for name in names if name.lower() == wanted), None)
    lon, lat = _coordinates(row[1] for row in rows)
    easting, northing = to_british_national_grid(lon, lat)
    inventory = Inventory(path, id_column, [number for number, _ in rows], [], lon, lat, [])
    given = [_id_text(_properties(feature).get(id_column)) if id_column else None for _, feature in rows]
    inventory.null_ids = sum(1 for value in given if value is None) if id_column else 0
    generated = set()
    for row, (value, x, y) in enumerate(zip(given, easting, northing)):
        if value is None and math.isfinite(x) and math.isfinite(y):
            value = f"{GENERATED_PREFIX}-{round(x)}-{round(y)}"
            generated.add(row)
        inventory.unit_ids.append(value)
    _settle_repeats(inventory, generated)
    inventory.generated = sum(1 for row in generated if inventory.unit_ids[row] is not None)
    for (number, feature), unit_id in zip(rows, inventory.unit_ids):
        properties = _properties(feature)
        location = properties.get(location_column) if location_column else None
        inventory.features.append({"type": "Feature", "geometry": feature.get("geometry") if isinstance(
            feature, dict) else None, "properties": {"unit_id": unit_id, "location": _location(location),
                                                     "source": path.name[:200]}})
    return inventory


def _settle_repeats(inventory, generated):
    """Drop rows repeating an earlier row (same id, same position); give ``~2``, ``~3`` ... to an id reused at
    another position, in file order, so that the same file always gives the same ids. Repeats of a register's own
    ids are listed; two generated ids in one square metre are not news."""
    positions = defaultdict(list)  # unit id -> positions seen, rounded as the validator rounds them
    taken = set(unit_id for unit_id in inventory.unit_ids if unit_id is not None)
    for row, unit_id in enumerate(inventory.unit_ids):
        if unit_id is None:
            continue
        here = (round(float(inventory.lon[row]), 7), round(float(inventory.lat[row]), 7))
        seen = positions[unit_id]
        if here in seen:
            inventory.duplicates.append(inventory.numbers[row])
            inventory.unit_ids[row] = None
            continue
        seen.append(here)
        if len(seen) > 1:
            occurrence = len(seen)
            renamed = f"{unit_id}{REPEAT_MARK}{occurrence}"
            while renamed in taken:  # the register already uses that spelling itself
                occurrence += 1
                renamed = f"{unit_id}{REPEAT_MARK}{occurrence}"
            taken.add(renamed)
            inventory.unit_ids[row] = renamed
            if row in generated:
                continue
            if unit_id not in inventory.repeated:
                first = next(i for i, u in enumerate(inventory.unit_ids[:row]) if u == unit_id)
                inventory.repeated[unit_id] = [(inventory.numbers[first], unit_id)]
            inventory.repeated[unit_id].append((inventory.numbers[row], renamed))


def import_columns(path, zone_id, *, schema, zones, store, id_column=None, replace=False):
    """Import an inventory file into a zone's columns layer; return a :class:`ColumnImport`.

    Every row is read and judged (``intake.judge_many``) before anything is written, so an unreadable file stores
    nothing. Rows the validator refuses are skipped and listed with their row numbers.
    """
    from mapper.intake import judge_many

    zone = zones.get(zone_id)
    schema.layer(LAYER)
    inventory = read_inventory(path, id_column)
    report = ColumnImport(zone.id, rows=len(inventory.numbers), generated=inventory.generated,
                          null_ids=inventory.null_ids, repeated=inventory.repeated, id_column=inventory.id_column)
    report.skipped[DUPLICATE_ROW] = len(inventory.duplicates)
    duplicate_rows = set(inventory.duplicates)
    finite = np.isfinite(inventory.lon) & np.isfinite(inventory.lat)
    inside = shapely.intersects_xy(zone.boundary, np.nan_to_num(inventory.lon), np.nan_to_num(inventory.lat))
    stored = in_service(store, zone.id)
    easting, northing = to_british_national_grid(inventory.lon, inventory.lat)
    candidates, listed, moved = [], set(), []
    for row, number in enumerate(inventory.numbers):
        if number in duplicate_rows:
            continue
        if finite[row] and not inside[row]:
            report.skipped[OUTSIDE_ZONE] += 1
            continue
        unit_id = inventory.unit_ids[row]
        listed.add(unit_id)
        if unit_id in stored:
            feature_id, stored_easting, stored_northing = stored[unit_id]
            if math.hypot(easting[row] - stored_easting, northing[row] - stored_northing) < SAME_PLACE_M:
                report.skipped[ALREADY] += 1
                continue
            if not replace:
                report.skipped[MOVED] += 1
                continue
            moved.append(feature_id)
        candidates.append(row)
    accepted, refused = judge_many((inventory.features[row] for row in candidates), LAYER, zone.id, schema=schema,
                                   zones=zones, status=IN_SERVICE)
    for position, error in refused:
        report.refusals.append((inventory.numbers[candidates[position]], error.message))
    report.skipped[REFUSED] = len(refused)
    if accepted:
        report.added = len(store.append(zone.id, LAYER, accepted))
    if replace:
        gone = moved + [feature_id for unit_id, (feature_id, _, _) in stored.items() if unit_id not in listed]
        for feature_id in gone:  # a full rewrite each: fine for a council's yearly churn, not for 10,000s
            store.update(zone.id, LAYER, feature_id, lambda properties: {**properties, "status": REMOVED})
        report.removed = len(gone)
    return report


def in_service(store, zone_id):
    """``unit id -> (feature id, easting, northing)`` of the zone's in-service columns."""
    features = store.query(zone_id, LAYER, where={"status": IN_SERVICE})
    easting, northing = to_british_national_grid(features.lon, features.lat)
    result = {}
    for line, x, y in zip(features.lines, np.atleast_1d(easting), np.atleast_1d(northing)):
        properties = orjson.loads(line)["properties"]
        result.setdefault(properties.get("unit_id"), (properties["id"], float(x), float(y)))
    return result


# -- reading helpers -------------------------------------------------------------------------------------------------


def _properties(feature):
    properties = feature.get("properties") if isinstance(feature, dict) else None
    return properties if isinstance(properties, dict) else {}


def _property_names(features):
    names = {}
    for feature in features:
        names.update(dict.fromkeys(name for name in _properties(feature) if isinstance(name, str)))
    return list(names)


def _id_column(names, wanted, path):
    """The property holding unit ids: ``wanted`` if given (it must exist), else the first usual name, else None."""
    if wanted is not None:
        for name in names:
            if name == wanted or name.lower() == wanted.lower():
                return name
        raise MalformedInput(f"{path}: no column {wanted!r} for unit ids. It has: {', '.join(names)[:200] or 'none'}.")
    lowered = {name.lower(): name for name in names}
    for candidate in ID_COLUMNS:
        if candidate in lowered:
            return lowered[candidate]
    ending = [name for name in names if name.lower().endswith("_id")]
    return ending[0] if len(ending) == 1 else None


def _coordinates(features):
    """Arrays of lon and lat of Point features, NaN where a geometry is not a Point of finite numbers (the
    validator then refuses that row with its own message)."""
    lon, lat = [], []
    for feature in features:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        coordinates = geometry.get("coordinates") if isinstance(geometry, dict) else None
        x = y = math.nan
        if (isinstance(geometry, dict) and geometry.get("type") == "Point" and isinstance(coordinates, list)
                and len(coordinates) in (2, 3) and all(_finite(value) for value in coordinates[:2])):
            x, y = float(coordinates[0]), float(coordinates[1])
            if not (-180 <= x <= 180 and -90 <= y <= 90):
                x = y = math.nan
        lon.append(x)
        lat.append(y)
    return np.array(lon, dtype=float), np.array(lat, dtype=float)


def _finite(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _id_text(value):
    """A register's id as text: numbers as written (``15.0`` -> ``15``), blanks and placeholders as None."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float):
        if not math.isfinite(value):
            return None
        value = str(int(value)) if value.is_integer() else repr(value)
    text = unicodedata.normalize("NFC", str(value)).strip()
    return None if text.lower() in ("", "null", "none", "n/a", "na", "-") else text


def _location(value):
    if value is None or isinstance(value, (dict, list, bool)):
        return None
    text = " ".join(str(value).split())
    return text[:200] or None
