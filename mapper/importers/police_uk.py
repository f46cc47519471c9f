"""police.uk street-level crime CSVs -> the zone's ``crime`` layer, through the one validator.

police.uk files have quirks that an import must survive (see ``tests/data/police/README.md``): rows with no
location, anti-social behaviour (ASB) with no Crime ID, many crimes snapped to one anonymous point, crimes the force
recorded outside its own area, ``On or near `` with no street, and ``Beggar'S Lane`` capitals. Each row is kept
only if it is inside the zone; every other row is counted under the reason it was skipped.

Re-importing adds nothing: a crime is keyed by its Crime ID; an ASB row by month, point, location text, type and
its occurrence (the n-th identical ASB row in its file), stored as ``source_key``.
"""

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import shapely

from mapper.errors import MalformedInput
from mapper.importers import read_text

LAYER = "crime"
COLUMNS = ("Crime ID", "Month", "Longitude", "Latitude", "Location", "LSOA code", "LSOA name", "Crime type",
           "Last outcome category")
# police.uk's own category slugs (its API's), keyed by the CSV's crime type in lower case.
CRIME_TYPES = {
    "anti-social behaviour": "anti-social-behaviour", "bicycle theft": "bicycle-theft", "burglary": "burglary",
    "criminal damage and arson": "criminal-damage-arson", "drugs": "drugs", "other crime": "other-crime",
    "other theft": "other-theft", "possession of weapons": "possession-of-weapons", "public order": "public-order",
    "robbery": "robbery", "shoplifting": "shoplifting", "theft from the person": "theft-from-the-person",
    "vehicle crime": "vehicle-crime", "violence and sexual offences": "violent-crime",
}
ASB = "anti-social-behaviour"
# Leicestershire Police covers Leicester, Leicestershire and Rutland: the local authorities its LSOA names start with.
LEICESTERSHIRE_FORCE_AREA = frozenset({
    "Blaby", "Charnwood", "Harborough", "Hinckley and Bosworth", "Leicester", "Melton", "North West Leicestershire",
    "Oadby and Wigston", "Rutland"})
NEAR = "On or near"
LSOA_NUMBER = re.compile(r"\s+\d{3}[A-Z]$")
APOSTROPHE_CAPITAL = re.compile(r"(?<=[A-Za-z])'([A-Z])\b")

# Why a row was not imported, in the order they are checked (and reported).
NO_LOCATION = "no location"
UNKNOWN_TYPE = "unknown crime type"
OUTSIDE_FORCE = "outside the force area"
OUTSIDE_ZONE = "outside the zone"
ALREADY = "already imported"
REFUSED = "refused by the validator"
REASONS = (NO_LOCATION, UNKNOWN_TYPE, OUTSIDE_FORCE, OUTSIDE_ZONE, ALREADY, REFUSED)


@dataclass
class PoliceImport:
    """What an import did: rows read, features added, rows skipped per reason, and the validator's refusals."""

    zone: str
    rows: int = 0
    added: int = 0
    skipped: Counter = field(default_factory=Counter)
    refusals: list = field(default_factory=list)  # (file, row number, message)

    def summary(self):
        """One line for a person: ``Imported 12 crimes ...; skipped: no location 3, outside the zone 9``."""
        parts = [f"{reason} {self.skipped[reason]:,}" for reason in REASONS if self.skipped[reason]]
        skipped = f"; skipped {sum(self.skipped.values()):,}: " + ", ".join(parts) if parts else ""
        return f"Imported {self.added:,} of {self.rows:,} rows into {self.zone}/{LAYER}{skipped}."


def read_rows(path):
    """``(spreadsheet row number, row dict)`` from a police.uk street CSV; the header is row 1."""
    text = read_text(path)
    reader = csv.DictReader(io.StringIO(text, newline=""))
    # The header is parsed on first access to fieldnames, so it needs the same guard as the rows: a field over
    # csv.field_size_limit (128 KiB; no police.uk field comes near it) is a refusal, not a crash.
    try:
        missing = [name for name in COLUMNS if name not in (reader.fieldnames or ())]
        if missing:
            raise MalformedInput(f"{path} is not a police.uk street-level CSV: no {', '.join(map(repr, missing))} "
                                 f"column{'s' if len(missing) > 1 else ''}.")
        return [(number, row) for number, row in enumerate(reader, start=2) if any((v or "").strip()
                                                                                  for v in row.values())]
    except csv.Error as e:
        raise MalformedInput(f"{path}: cannot be read as CSV: {e}.") from None


def tidy_location(text):
    """The location text as a person would write it: ``None`` for a blank street, capitals after an apostrophe
    lowered.

    >>> tidy_location("On or near Beggar'S Lane"), tidy_location("On or near "), tidy_location("No Location")
    ("On or near Beggar's Lane", None, None)
    """
    text = " ".join((text or "").split())
    if not text or text.lower() in ("no location", NEAR.lower()):
        return None
    return APOSTROPHE_CAPITAL.sub(lambda m: "'" + m.group(1).lower(), text)


def street_name(location):
    """The street of a police.uk location, without ``On or near``.

    >>> street_name("On or near Freehold Street")
    'Freehold Street'
    """
    if not location:
        return None
    text = location[len(NEAR):].strip() if location.startswith(NEAR) else location.strip()
    return text or None


def force_authority(lsoa_name):
    """The local authority in an LSOA name (``Charnwood 002A`` -> ``Charnwood``), or None."""
    name = (lsoa_name or "").strip()
    return LSOA_NUMBER.sub("", name) or None


def row_features(rows, boundary, force_area=LEICESTERSHIRE_FORCE_AREA, skipped=None):
    """Raw Feature dicts for the rows inside ``boundary`` (lon/lat), keyed; the rest counted in ``skipped``.

    ``rows`` are one file's ``(number, row)``. Returns ``[(number, feature)]``.
    """
    skipped = Counter() if skipped is None else skipped
    candidates, occurrences = [], Counter()
    for number, row in rows:
        lon, lat = _coordinate(row.get("Longitude")), _coordinate(row.get("Latitude"))
        if lon is None or lat is None:
            skipped[NO_LOCATION] += 1
            continue
        category = CRIME_TYPES.get(" ".join((row.get("Crime type") or "").split()).lower())
        if category is None:
            skipped[UNKNOWN_TYPE] += 1
            continue
        authority = force_authority(row.get("LSOA name"))
        if force_area is not None and authority is not None and authority not in force_area:
            skipped[OUTSIDE_FORCE] += 1
            continue
        month = (row.get("Month") or "").strip()
        location = tidy_location(row.get("Location"))
        crime_id = (row.get("Crime ID") or "").strip()
        if crime_id:
            key = crime_id
        else:
            identity = f"{month}|{lon:.6f},{lat:.6f}|{location or ''}|{category}"
            occurrences[identity] += 1  # the n-th identical row: two real reports on one snapped point stay two
            key = f"{identity}|{occurrences[identity]}"
        properties = {"category": category, "month": month, "crime_id": crime_id or None,
                      "crime_type": " ".join((row.get("Crime type") or "").split()), "location": location,
                      "last_outcome": (row.get("Last outcome category") or "").strip() or None,
                      "lsoa_code": (row.get("LSOA code") or "").strip() or None,
                      "lsoa_name": (row.get("LSOA name") or "").strip() or None, "source_key": key}
        candidates.append((number, lon, lat, {k: v for k, v in properties.items() if v is not None}))
    if not candidates:
        return []
    lon = np.array([c[1] for c in candidates])
    lat = np.array([c[2] for c in candidates])
    inside = shapely.intersects_xy(boundary, lon, lat)
    if not inside.all():
        skipped[OUTSIDE_ZONE] += int((~inside).sum())
    return [(number, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                      "properties": properties})
            for (number, x, y, properties), keep in zip(candidates, inside) if keep]


def _coordinate(text):
    try:
        value = float((text or "").strip())
    except ValueError:
        return None
    return value if np.isfinite(value) else None


def import_police(paths, zone_id, *, schema, zones, store, force_area=LEICESTERSHIRE_FORCE_AREA):
    """Import police.uk street CSVs into a zone's crime layer; return a :class:`PoliceImport`.

    Every file is read and every row judged (``intake.judge_many``) before one append stores them all, so a file
    that cannot be read stores nothing; rows whose key is already in the layer are left out under the layer lock. Rows the validator refuses are skipped and listed with their file and row.
    """
    from mapper.intake import judge_many

    zone = zones.get(zone_id)
    schema.layer(LAYER)
    report = PoliceImport(zone.id)
    seen = set(store.values(zone.id, LAYER, "source_key"))
    numbered = []  # (file, row number, feature)
    for path in paths:
        rows = read_rows(path)
        report.rows += len(rows)
        for number, feature in row_features(rows, zone.boundary, force_area, report.skipped):
            key = feature["properties"]["source_key"]
            if key in seen:
                report.skipped[ALREADY] += 1
                continue
            seen.add(key)
            numbered.append((str(path), number, feature))
    accepted, refused = judge_many((feature for _, _, feature in numbered), LAYER, zone.id, schema=schema,
                                   zones=zones, status="recorded")
    for position, error in refused:
        path, number, _ = numbered[position]
        report.refusals.append((path, number, error.message))
    if refused:
        report.skipped[REFUSED] += len(refused)
    if accepted:
        # The keys read above make a re-import quick; unique= decides again under the layer lock, so an import of the
        # same file running at the same moment in another process cannot add its rows twice.
        report.added = len(store.append(zone.id, LAYER, accepted, unique="source_key"))
        if len(accepted) > report.added:
            report.skipped[ALREADY] += len(accepted) - report.added
    return report
