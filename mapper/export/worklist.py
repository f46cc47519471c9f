"""Work lists for the councils' works systems: a zone's lighting reports as CSV, XLSX or GeoJSON rows.

One row per report: ref, status, category, priority, days open, the lamp column's unit id, easting/northing
(EPSG:27700), lon/lat, location text, public description and the tracking link. Rows are sorted oldest first.

Residents' contact details (the layer's private sidecar) are added only when the caller passes ``private_for``
(an officer asked for them); such an export says so in its first row (CSV), its sheet (XLSX) or its top-level
``properties`` (GeoJSON), and its file name contains ``personal-data``.

Pure: no Flask. Text that a spreadsheet would run as a formula is neutralised: CSV cells through
:func:`mapper.export.tabular.spreadsheet_safe`, XLSX cells through it too and written as text (never as formulas).
"""

import csv
import io
import json
import math
from dataclasses import dataclass
from datetime import date, datetime, timezone

import numpy as np

from mapper.analysis.progress import parse_time, status_changes
from mapper.crs import to_british_national_grid
from mapper.errors import ValidationError
from mapper.export.tabular import spreadsheet_safe

COLUMNS = ("ref", "status", "category", "priority", "days_open", "column", "easting", "northing", "lon", "lat",
           "location_text", "description", "link")
PERSONAL_COLUMNS = ("contact_name", "contact_email", "contact_phone")
PERSONAL_NOTE = "Contains personal data — handle under UK GDPR"
EXTENSIONS = ("csv", "xlsx", "geojson")
MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "geojson": "application/geo+json"}
DAY = 86400.0


@dataclass(frozen=True)
class Filters:
    """What an officer narrowed the list to; empty tuples and None mean "any"."""

    statuses: tuple = ()
    categories: tuple = ()
    priorities: tuple = ()
    older_than_days: int = None

    @classmethod
    def parse(cls, layer, priorities, status=(), category=(), priority=(), older_than_days=None):
        """Filters from request-like values (lists of strings, blanks ignored), checked against the layer.

        >>> from types import SimpleNamespace as NS
        >>> Filters.parse(NS(statuses=("open",), category_ids=["out"]), ("short",), ["open", ""], [], [], "28")
        Filters(statuses=('open',), categories=(), priorities=(), older_than_days=28)
        """
        def chosen(values, allowed, name):
            values = tuple(dict.fromkeys(v.strip() for v in values if v and v.strip()))
            unknown = [v for v in values if v not in allowed]
            if unknown:
                raise ValidationError(f"Unknown {name} {unknown[0][:64]!r}. Choose from: {', '.join(allowed)}.",
                                      field=name)
            return values

        days = None
        if older_than_days not in (None, ""):
            try:
                days = int(str(older_than_days).strip())
            except ValueError:
                days = -1
            if not 0 <= days <= 36500:
                raise ValidationError("older_than_days must be a whole number of days (0 or more).",
                                      field="older_than_days")
        return cls(chosen(status, layer.statuses, "status"), chosen(category, layer.category_ids, "category"),
                   chosen(priority, priorities, "priority"), days)

    def where(self):
        where = {}
        if self.statuses:
            where["status"] = set(self.statuses)
        if self.categories:
            where["category"] = set(self.categories)
        if self.priorities:
            where["priority"] = set(self.priorities)
        return where


def utcnow():
    return datetime.now(timezone.utc)


def age_days(properties, open_statuses, now):
    """Days (fractional) a report has been open: until now while it is open, else until its last change of status
    (a later note or moderation, which leaves the status as it was, does not count)."""
    created = parse_time(properties.get("created"))
    if created is None:
        return 0.0
    end = now
    if properties.get("status") not in open_statuses:
        changes = status_changes(properties)
        end = parse_time(changes[-1].get("at")) if changes else parse_time(properties.get("updated"))
        end = end or now
    return max(0.0, (end - created).total_seconds() / DAY)


def rows(features, layer, *, link, now=None, filters=Filters(), private_for=None):
    """The work list's rows (dicts, oldest first) of a FeatureSet of ``layer`` that match ``filters``.

    ``link(ref)`` gives a report's tracking URL. ``private_for(feature_id)`` gives its private properties: pass it
    only when an officer asked for contact details.
    """
    now = now or utcnow()
    where = filters.where()
    if where:
        features = features.filter(where=where)
    eastings, northings = to_british_national_grid(features.lon, features.lat)
    found = []
    for feature, easting, northing in zip(features, np.atleast_1d(eastings), np.atleast_1d(northings)):
        properties = feature["properties"]
        age = age_days(properties, layer.open_statuses, now)
        if filters.older_than_days is not None and not age > filters.older_than_days:
            continue
        lon, lat = feature["geometry"]["coordinates"][:2]
        row = {"id": properties.get("id"), "ref": properties.get("ref"), "status": properties.get("status"),
               "category": properties.get("category"), "priority": properties.get("priority"),
               "days_open": int(math.floor(age)), "column": properties.get("column"),
               "easting": round(float(easting), 2), "northing": round(float(northing), 2),
               "lon": round(float(lon), 7), "lat": round(float(lat), 7),
               "location_text": properties.get("location_text"), "description": properties.get("description"),
               "link": link(properties.get("ref")) if properties.get("ref") else None,
               "confirmations": properties.get("confirmations", 0), "created": properties.get("created"),
               "_age": age}
        if private_for is not None:
            private = private_for(properties.get("id")) or {}
            row.update({name: private.get(name) for name in PERSONAL_COLUMNS})
        found.append(row)
    found.sort(key=lambda row: (-row["_age"], row["ref"] or ""))
    for row in found:
        del row["_age"]
    return found


def columns(personal):
    return COLUMNS + (PERSONAL_COLUMNS if personal else ())


def file_name(zone_id, extension, personal, day=None):
    """``<zone>_worklist_<date>[_personal-data].<ext>``

    >>> file_name("bell-foundry", "csv", True, date(2026, 1, 2))
    'bell-foundry_worklist_2026-01-02_personal-data.csv'
    """
    day = day or date.today()
    return f"{zone_id}_worklist_{day.isoformat()}{'_personal-data' if personal else ''}.{extension}"


def _text(value):
    return "" if value is None else value


def write_csv(rows_, personal=False):
    """UTF-8 CSV (CRLF line ends), formula-safe; a personal-data export starts with a row saying so."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    if personal:
        writer.writerow([PERSONAL_NOTE])
    names = columns(personal)
    writer.writerow(names)
    for row in rows_:
        writer.writerow([spreadsheet_safe(_text(row.get(name))) for name in names])
    return buffer.getvalue().encode("utf-8")


def write_xlsx(rows_, personal=False):
    """An XLSX workbook: one sheet ``Work list``; every text cell is a string cell (``=1+1`` stays text, never a
    formula); numbers stay numbers. A personal-data export has the note in its first row and its sheet name."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "Work list (personal data)" if personal else "Work list"
    names = columns(personal)
    if personal:
        sheet.append([PERSONAL_NOTE])
        sheet.cell(row=1, column=1).font = Font(bold=True, color="C00000")
        workbook.properties.description = PERSONAL_NOTE
        workbook.properties.keywords = "personal data"
    workbook.properties.title = "Work list"
    sheet.append(list(names))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for row in rows_:
        sheet.append([None] * len(names))
        for position, name in enumerate(names, start=1):
            value = row.get(name)
            cell = sheet.cell(row=sheet.max_row, column=position)
            if isinstance(value, str):
                cell.value = spreadsheet_safe(value)  # as in the CSV: copied out or split, no piece is a formula
                cell.data_type = "s"  # openpyxl makes "=..." a formula; this keeps it text
                if cell.value != value:
                    cell.quotePrefix = True  # and a spreadsheet re-editing the cell keeps it text too
            else:
                cell.value = value
    sheet.freeze_panes = sheet.cell(row=3 if personal else 2, column=1)  # the header stays in view
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def write_geojson(rows_, personal=False, name="worklist"):
    """An RFC 7946 FeatureCollection of the rows as points; a personal-data export carries the note in a top-level
    ``properties`` member."""
    names = [n for n in columns(personal) if n not in ("lon", "lat")]
    collection = {"type": "FeatureCollection", "name": name}
    if personal:
        collection["properties"] = {"personal_data": True, "note": PERSONAL_NOTE}
    collection["features"] = [
        {"type": "Feature", "id": row.get("id"), "geometry": {"type": "Point", "coordinates": [row["lon"], row["lat"]]},
         "properties": {n: row.get(n) for n in names}} for row in rows_]
    return json.dumps(collection, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


WRITERS = {"csv": write_csv, "xlsx": write_xlsx, "geojson": write_geojson}


def write(extension, rows_, personal=False):
    return WRITERS[extension](rows_, personal)
