"""GPX audit walks: a phone's recording becomes one walk in ``audits`` and lighting reports in ``lights``.

The journey of a walk:

1. :func:`mapper.importers.gpx_parse.parse_gpx` reads the bytes behind a hardened XML parser (defusedxml checks the
   prolog, a bounded pull-parse builds the tree) and hands gpxpy the parsed tree, never the text.
2. :func:`mapper.importers.gpx_parse.read_recording` turns gpxpy's objects into plain lines, times and waypoints,
   dropping empty segments and implausible times.
3. :func:`plan_walk` (here) builds GeoJSON Feature dicts, puts every one through the one validator
   (:func:`mapper.validate.validate_feature`), clips the track to the zone (:func:`mapper.zones.clip_to_zone`) and
   decides what is kept and what is skipped, without writing anything. Waypoint texts become lights categories
   through ``data/audit_keywords.toml`` (:class:`KeywordTable`).
4. :func:`import_walk` (here) writes the walk first and then each report under idempotency keys derived from the
   file's SHA-256, so the same file twice adds nothing, and a retry after a failed write completes the import.

``parse_gpx``, ``read_recording`` and ``MAX_BYTES`` are importable from here as before.
"""

import hashlib
import math
import re
import tomllib
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import shapely

from mapper.config import SHIPPED_DATA_DIR
from mapper.crs import geometry_to_metres
from mapper.errors import MapperError, StoreError, ValidationError
from mapper.importers.gpx_parse import EARLIEST_TIME, MAX_BYTES, parse_gpx, read_recording
from mapper.intake import link_columns
from mapper.validate import CLOCK_SKEW, TRUSTED, format_datetime, validate_feature, validate_geometry
from mapper.zones import clip_to_zone

MAX_WALKERS = 500
LOCAL_TIME = ZoneInfo("Europe/London")  # a walk's date is the date the walkers would give
KEYWORDS_FILE = SHIPPED_DATA_DIR / "audit_keywords.toml"
REF = re.compile(r"^([A-Z]{1,3}-[0-9A-Z]{5})\b")
PLACEHOLDER_WALK = "0" * 32  # the walk's id is the store's to give; reports are validated with this stand-in


# -- keyword table -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KeywordTable:
    """Waypoint text -> lights category, in the order of ``data/audit_keywords.toml``; the first rule that matches
    wins, and text no rule matches is ``default``."""

    rules: tuple  # ((category, compiled pattern), ...)
    default: str

    def category(self, *texts):
        """The category for a waypoint's texts.

        >>> table = load_keywords()
        >>> table.category("Lamp 14", "tree covering the light"), table.category("Wpt 003")
        ('obscured', 'dark-spot')
        """
        text = " ".join(t for t in texts if t).casefold()
        for category, pattern in self.rules:
            if pattern.search(text):
                return category
        return self.default


def load_keywords(path=KEYWORDS_FILE, categories=None):
    """Read a keyword table; ``categories`` (the lights layer's ids) are checked when given."""
    return _load_keywords(str(path), tuple(categories) if categories is not None else None)


@lru_cache(maxsize=8)
def _load_keywords(path, categories):
    with open(path, "rb") as f:
        document = tomllib.load(f)
    default = document.get("default", "dark-spot")
    rules = []
    for number, rule in enumerate(document.get("rules", []), start=1):
        category, words = rule.get("category"), rule.get("words")
        if not isinstance(category, str) or not isinstance(words, list) or not all(
                isinstance(w, str) and w.strip() for w in words):
            raise ValueError(f"{path}: rule {number} needs a category and a list of words")
        # Whole words or phrases: "out" must not match "outside", nor "dim" "dimension".
        alternatives = "|".join(re.escape(w.strip().casefold()) for w in sorted(words, key=len, reverse=True))
        rules.append((category, re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")))
    if categories is not None:
        unknown = sorted({c for c, _ in rules} - set(categories) | ({default} - set(categories)))
        if unknown:
            raise ValueError(f"{path}: unknown lights categories {unknown}; the layer has {list(categories)}")
    return KeywordTable(tuple(rules), default)


# -- 3. planning: validate everything, decide what is kept -------------------------------------------------------


@dataclass
class Plan:
    """Everything an import would store, validated, and what it leaves out; nothing written yet."""

    sha256: str
    walk: object | None  # a validated Submission for ``audits``, or None for a file of waypoints only
    reports: list  # (waypoint number, Submission for ``lights``)
    existing: list  # (waypoint number, ref) of waypoints that are reports this zone already has
    skipped: list  # human-readable lines: what was left out and why
    notes: list  # human-readable lines: what was assumed


def plan_walk(data, zone, *, schema, file_name="walk.gpx", title=None, walked_on=None, walkers=None,
              keep_outside=False, keywords=None, find_ref=None, now=None):
    """Validate a GPX file for ``zone`` and return a :class:`Plan`, or raise a MapperError; stores nothing.

    Parameters
    ----------
    data : bytes
    zone : mapper.zones.Zone
    schema : mapper.schema.Schema
    file_name, title : str, optional
        The file's name (kept as ``source_file``) and a title that overrides the file's own name.
    walked_on : str or datetime.date, optional
        The walk's date (YYYY-MM-DD); otherwise the local date of its first plausible time.
    walkers : int, optional
    keep_outside : bool
        Keep track parts and waypoints outside the zone instead of clipping and skipping them.
    keywords : KeywordTable, optional
    find_ref : callable, optional
        ``find_ref(ref) -> bool``: whether the zone's lights layer has that ref already (an exported fault
        walked again), so it is not reported twice.
    """
    now = now or datetime.now(timezone.utc)
    lights, audits = schema.layer("lights"), schema.layer("audits")
    keywords = keywords or load_keywords(categories=lights.category_ids)
    walkers = _walkers(walkers)
    walked_on = _walked_on(walked_on, now)
    name = _file_name(file_name)
    recording = read_recording(parse_gpx(data, name), now)
    if not recording.lines and not recording.waypoints:
        raise ValidationError(f"{name} has no track or route of two points or more, and no waypoint: there is "
                              "no walk in it.", field="file")
    skipped, notes = [], []
    if recording.dropped_segments:
        notes.append(f"{_count(recording.dropped_segments, 'track segment')} with fewer than two points dropped.")
    if recording.implausible_times:
        shown = next((m for m in recording.implausible_times if m is not None), None)
        example = f" (e.g. {format_datetime(shown)})" if shown else ""
        notes.append(f"{_count(len(recording.implausible_times), 'time')} before 2000 or in the future ignored"
                     f"{example}: the device had no clock fix; start, end and duration use the other times.")
    walk = None
    if recording.lines:
        walk = _walk_submission(recording, zone, audits, data, name, title, walked_on, walkers, keep_outside,
                                skipped, notes)
    elif title or walkers:
        notes.append("The file has waypoints only, so no walk was recorded; title and walkers are not used.")
    reports, existing = [], []
    for waypoint in recording.waypoints:
        kind, outcome = _report_submission(waypoint, zone, lights, keywords, keep_outside, find_ref, notes)
        if kind == "existing":
            existing.append((waypoint.number, outcome))
        elif kind == "skipped":
            skipped.append(outcome)
        else:
            reports.append((waypoint.number, outcome))
    return Plan(hashlib.sha256(data).hexdigest(), walk, reports, existing, skipped, notes)


def _walk_submission(recording, zone, audits, data, name, title, walked_on, walkers, keep_outside, skipped, notes):
    lines = _lines(recording.lines)
    inside, outside = clip_to_zone(zone, lines)
    outside_m = geometry_to_metres(outside).length
    if outside_m >= 1 and keep_outside:
        notes.append(f"{outside_m:,.0f} m of the track lie outside the {zone.name} zone; kept (--keep-outside).")
    elif outside_m >= 1:
        skipped.append(f"{outside_m:,.0f} m of the track outside the {zone.name} zone were clipped off "
                       "(keep_outside keeps them).")
    kept = lines if keep_outside else inside
    if kept.is_empty:
        raise ValidationError(f"The track in {name} does not enter the {zone.name} zone ({zone.id}); is it the "
                              "right zone? keep_outside stores it anyway.", field="file", code="outside_zone")
    start, end = recording.start, recording.end
    if walked_on is None:
        moment = start or recording.metadata_time
        walked_on = moment.astimezone(LOCAL_TIME).date().isoformat() if moment else None
        if start is None and moment is not None:
            notes.append(f"The walk's date ({walked_on}) is the file's own timestamp; give the date if it differs.")
    if walked_on is None:
        notes.append("The file has no usable times and no date was given, so the walk has no date.")
    elif start is None:
        notes.append("The file has no usable times: start, end and duration are left empty.")
    coordinates = [[list(position) for position in line.coords] for line in kept.geoms]
    properties = {
        "title": one_line(title) or one_line(recording.name) or Path(name).stem,
        "walked_on": walked_on,
        "start": format_datetime(start) if start else None,
        "end": format_datetime(end) if end else None,
        "duration_s": round((end - start).total_seconds()) if start else None,
        "length_m": round(geometry_to_metres(kept).length, 1),
        "walkers": walkers,
        "points": sum(len(line) for line in coordinates),
        "source_file": name,
        "source_sha256": hashlib.sha256(data).hexdigest(),
    }
    properties["title"] = properties["title"][:audits.properties["title"].max_length]
    raw = {"type": "Feature", "geometry": {"type": "MultiLineString", "coordinates": coordinates},
           "properties": {key: value for key, value in properties.items() if value is not None}}
    return validate_feature(raw, audits, context=TRUSTED)  # the upload works out times, length and hash


def _lines(lines):
    """The recording's lines as Shapely, to clip before the final feature is validated. All-finite, in-range input
    (any real file) is built at once; anything else goes through the validator for its exact message."""
    positions = np.array([position for line in lines for position in line], dtype=float)
    if np.isfinite(positions).all() and (np.abs(positions) <= (180, 90)).all():
        return shapely.MultiLineString(lines)
    return validate_geometry({"type": "MultiLineString", "coordinates": lines}, "MultiLineString")


def _report_submission(waypoint, zone, lights, keywords, keep_outside, find_ref, notes):
    """``("report", Submission)``, ``("existing", ref)`` for a report the zone has already, or
    ``("skipped", why)``."""
    texts = waypoint.texts
    label = f"waypoint {waypoint.number}" + (f" ({texts['name'][:40]!r})" if texts.get("name") else "")
    ref = REF.match(texts.get("name", ""))
    if ref and find_ref is not None and find_ref(ref.group(1)):
        return "existing", ref.group(1)
    geometry = validate_geometry({"type": "Point", "coordinates": [waypoint.lon, waypoint.lat]}, "Point")
    if not zone.contains(geometry.x, geometry.y) and not keep_outside:
        return "skipped", (f"{label} at ({geometry.x}, {geometry.y}) is outside the {zone.name} zone "
                           "(keep_outside keeps it).")
    if texts.get("type") in lights.category_ids:  # our own export writes the category id here
        category = texts["type"]
    else:
        category = keywords.category(*texts.values())
    properties = {"category": category, "source": "audit", "walk": PLACEHOLDER_WALK,
                  "description": _description(texts, lights.properties["description"].max_length, label, notes)}
    if waypoint.time is not None:
        properties["seen_at"] = format_datetime(waypoint.time)
        after_dark = seen_after_dark(waypoint.lon, waypoint.lat, waypoint.time)
        if after_dark is not None:
            properties["seen_after_dark"] = after_dark
    raw = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [waypoint.lon, waypoint.lat]},
           "properties": {key: value for key, value in properties.items() if value is not None}}
    try:
        return "report", validate_feature(raw, lights, context=TRUSTED)  # sets source "audit" and its walk
    except MapperError as error:
        raise ValidationError(f"{label}: {error.message}", field=error.field) from None


def _description(texts, limit, label, notes):
    """The waypoint's own words (name, description, comment), unless the name is only our export's "REF category"."""
    name = texts.get("name")
    if name and REF.match(name) and len(name.split()) <= 2:
        name = None
    parts = []
    for part in (name, texts.get("description"), texts.get("comment")):
        if part and part not in parts:
            parts.append(part)
    text = "\n".join(parts)
    if len(text) > limit:
        notes.append(f"{label}: its text was shortened to {limit} characters.")
        text = text[:limit - 1] + "…"
    return text or None


def seen_after_dark(lon, lat, moment):
    """True when the sun was more than 6° below the horizon (after civil dusk), False when it was up, None in
    twilight, when "after dark" is a matter of opinion.

    >>> seen_after_dark(-1.355, 52.745, datetime(2024, 12, 1, 22, 0, tzinfo=timezone.utc))
    True
    >>> seen_after_dark(-1.355, 52.745, datetime(2024, 6, 21, 12, 0, tzinfo=timezone.utc))
    False
    """
    elevation = sun_elevation(lon, lat, moment)
    if elevation < -6:
        return True
    if elevation > 0:
        return False
    return None


def sun_elevation(lon, lat, moment):
    """The sun's elevation in degrees at (lon, lat) and a UTC moment, by the US Naval Observatory's low-precision
    formulae (good to about a minute of time for the decades around 2000)."""
    days = (moment - datetime(2000, 1, 1, 12, tzinfo=timezone.utc)).total_seconds() / 86400
    anomaly = math.radians(357.529 + 0.98560028 * days)
    mean_longitude = 280.459 + 0.98564736 * days
    ecliptic_longitude = math.radians(mean_longitude + 1.915 * math.sin(anomaly) + 0.020 * math.sin(2 * anomaly))
    obliquity = math.radians(23.439 - 0.00000036 * days)
    right_ascension = math.atan2(math.cos(obliquity) * math.sin(ecliptic_longitude), math.cos(ecliptic_longitude))
    declination = math.asin(math.sin(obliquity) * math.sin(ecliptic_longitude))
    sidereal_hours = (18.697374558 + 24.06570982441908 * days) % 24
    hour_angle = math.radians(sidereal_hours * 15 + lon) - right_ascension
    latitude = math.radians(lat)
    return math.degrees(math.asin(math.sin(latitude) * math.sin(declination)
                                  + math.cos(latitude) * math.cos(declination) * math.cos(hour_angle)))


def _walkers(value):
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or str(number) != str(value).strip() or not \
            1 <= number <= MAX_WALKERS:
        raise ValidationError(f"walkers must be a whole number from 1 to {MAX_WALKERS}, got {str(value)[:20]!r}.",
                              field="walkers")
    return number


def _walked_on(value, now):
    if value is None or value == "":
        return None
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise ValidationError(f"date must be YYYY-MM-DD, got {str(value)[:20]!r}.", field="date") from None
    if day > (now + CLOCK_SKEW).astimezone(LOCAL_TIME).date() or day.year < EARLIEST_TIME.year:
        raise ValidationError(f"date {day.isoformat()} is in the future or before 2000.", field="date")
    return day.isoformat()


def _file_name(file_name):
    """A file name fit to keep: its last path part, one line, at most 200 characters."""
    base = re.split(r"[\\/]", str(file_name or ""))[-1]
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:200] or "walk.gpx"


def one_line(text):
    """Whitespace (line breaks, tabs) as single spaces: titles are one line."""
    return " ".join(text.split()) if text else text


def _count(number, word):
    return f"{number} {word}{'' if number == 1 else 's'}"


# -- 4. writing ----------------------------------------------------------------------------------------------------


@dataclass
class ImportResult:
    walk: dict | None  # the stored walk Feature (the earlier one when the file was imported before)
    walk_created: bool
    reports_added: list  # stored lights Features, new this time
    reports_already: int  # reports this file had stored before (a repeat or a retry)
    existing: list  # (waypoint number, ref) of waypoints that were already reports
    skipped: list
    notes: list

    @property
    def created_anything(self):
        return self.walk_created or bool(self.reports_added)

    def to_dict(self):
        return {"walk": self.walk, "created": self.created_anything,
                "reports": {"added": len(self.reports_added), "already_imported": self.reports_already,
                            "existing": [{"waypoint": number, "ref": ref} for number, ref in self.existing],
                            "refs": [f["properties"].get("ref") for f in self.reports_added]},
                "skipped": self.skipped, "notes": self.notes}


def import_walk(data, zone_id, *, schema, zones, store, **options):
    """Plan (:func:`plan_walk`) and store a walk and its reports; return an :class:`ImportResult`.

    The walk is written first, then each report, every write under a key made from the file's SHA-256: importing
    the same file again, or retrying after a failure part-way, stores only what is missing. A failure part-way is a
    StoreError saying what was stored and that sending the same file again completes the import.
    """
    zone = zones.get(zone_id)

    def find_ref(ref):
        return store.find(zone.id, "lights", "ref", ref) is not None

    plan = plan_walk(data, zone, schema=schema, find_ref=find_ref, **options)
    # A waypoint report is about the lamp column nearest to it (within 25 m), as a resident's report is.
    link_columns([report for _, report in plan.reports], zone.id, "lights", schema=schema, store=store)
    walk, walk_created = None, False
    if plan.walk is not None:
        walk, walk_created = store.append_once(zone.id, "audits", plan.walk, key=f"gpx:{plan.sha256}")
    added, already = [], 0
    for position, (number, report) in enumerate(plan.reports):
        if walk is not None:
            report.properties["walk"] = walk["id"]
        else:
            report.properties.pop("walk", None)
        try:
            stored, created = store.append_once(zone.id, "lights", report, key=f"gpx:{plan.sha256}:{number}",
                                                ref_prefix=zone.ref_prefix)
        except (OSError, MapperError) as error:
            message = getattr(error, "message", None) or str(error)
            raise StoreError(f"The walk{' was' if walk else ' was not'} stored and {position} of "
                             f"{len(plan.reports)} reports were, then the store failed ({message}). Send the same "
                             "file again to finish: nothing is stored twice.") from None
        if created:
            added.append(stored)
        else:
            already += 1
    return ImportResult(walk, walk_created, added, already, plan.existing, plan.skipped, plan.notes)


def clean_flag(value):
    """A form or CLI yes/no: True, False, or a ValidationError naming the value."""
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("", "0", "false", "no", "off"):
        return False
    if text in ("1", "true", "yes", "on"):
        return True
    raise ValidationError(f"keep_outside must be true or false, got {text[:20]!r}.", field="keep_outside")


__all__ = ["MAX_BYTES", "parse_gpx", "read_recording", "load_keywords", "plan_walk", "import_walk",
           "seen_after_dark"]
