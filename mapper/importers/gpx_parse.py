"""Reading an untrusted GPX file: the first two steps of a walk's import (:mod:`mapper.importers.gpx` does the rest).

1. :func:`parse_gpx` reads the bytes behind a hardened XML parser (defusedxml: no DTD, no entity, no external
   reference), refuses files over :data:`MAX_BYTES`, and hands gpxpy the *parsed tree*, never the text: gpxpy's own
   parser first runs namespace regexes over the raw text that take quadratic time (480 KB of valid XML with many
   ``xmlns`` words took 100 s), so a hostile file could stall a worker for hours.
2. :func:`read_recording` turns gpxpy's objects into plain lines, times and waypoints, dropping empty segments and
   implausible times (the 1901 timestamps some devices write before their first fix).

Nothing here knows about zones, layers or the store.
"""

import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from xml.etree.ElementTree import XMLPullParser

import gpxpy.gpx
import gpxpy.gpxfield
from defusedxml import DefusedXmlException, DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import DefusedXMLParser, ParseError

from mapper.errors import MalformedInput, PayloadTooLarge
from mapper.validate import CLOCK_SKEW

MAX_BYTES = 5 * 1024 * 1024  # an hour's walk logged every second is ~1 MB of GPX
MAX_DEPTH = 32  # gpx/trk/trkseg/trkpt/extensions/gpxtpx:TrackPointExtension/gpxtpx:hr is 7
MAX_ELEMENTS = 300_000  # 5 MB of the tersest real track points is ~150,000 elements
CHUNK = 64 * 1024
GPX_NAMESPACES = {"http://www.topografix.com/GPX/1/0", "http://www.topografix.com/GPX/1/1", None}
# Consumer GPS and phone apps postdate 2000; earlier stamps (1901-12-13 is a signed 32-bit zero) mean "no fix yet".
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=timezone.utc)
SCHEMA_LOCATION = "{http://www.w3.org/2001/XMLSchema-instance}schemaLocation"


# -- 1. parsing --------------------------------------------------------------------------------------------------


def parse_gpx(data, name="the file"):
    """Parse untrusted GPX bytes into a :class:`gpxpy.gpx.GPX`, or raise a MapperError that says what is wrong.

    Parameters
    ----------
    data : bytes
        The file as uploaded. UTF-8 with or without a byte-order mark, or whatever its XML declaration says.
    name : str
        How messages refer to the file.

    Raises
    ------
    PayloadTooLarge
        Over :data:`MAX_BYTES` (checked before parsing).
    MalformedInput
        Not XML, hostile XML (a DTD, entities, external references), not GPX, or GPX data gpxpy rejects.

    Examples
    --------
    >>> gpx = parse_gpx(b'<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">'
    ...                 b'<wpt lat="52.745" lon="-1.355"><name>Lamp out</name></wpt></gpx>')
    >>> gpx.waypoints[0].name, gpx.waypoints[0].latitude
    ('Lamp out', 52.745)
    >>> parse_gpx(b'<kml/>')
    Traceback (most recent call last):
    mapper.errors.MalformedInput: the file is not a GPX file: its root element is <kml>, not <gpx>.
    """
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"{name} is {len(data):,} bytes; GPX files of up to {MAX_BYTES:,} bytes are accepted.",
                              field="file")
    if not data.strip():
        raise MalformedInput(f"{name} is empty; send a GPX file.", field="file")
    root, namespaces = _parse_xml(data, name)
    namespace, _, local = root.tag[1:].partition("}") if root.tag.startswith("{") else (None, "", root.tag)
    if local != "gpx" or namespace not in GPX_NAMESPACES:
        raise MalformedInput(f"{name} is not a GPX file: its root element is <{local[:60]}>, not <gpx>.",
                             field="file")
    if namespace:
        # What gpxpy's text parser does by deleting the default xmlns: GPX elements lose their namespace.
        prefix = "{" + namespace + "}"
        for element in root.iter():
            if isinstance(element.tag, str) and element.tag.startswith(prefix):
                element.tag = element.tag[len(prefix):]
    gpx = gpxpy.gpx.GPX()
    gpx.nsmap = {prefix or "defaultns": uri for prefix, uri in namespaces}
    gpx.schema_locations = (root.get(SCHEMA_LOCATION) or "").split()
    try:
        gpxpy.gpxfield.gpx_fields_from_xml(gpx, root, root.get("version"))
    except gpxpy.gpx.GPXException as e:
        raise MalformedInput(f"{name} is not valid GPX: {str(e)[:200]}", field="file") from None
    except (ValueError, TypeError, OverflowError) as e:  # e.g. a month 13 gpxpy hands to datetime()
        raise MalformedInput(f"{name} is not valid GPX: {str(e)[:200]}", field="file") from None
    return gpx


def _parse_xml(data, name):
    """The root element and the ``(prefix, uri)`` namespace declarations of a document.

    Two passes, because defusedxml's parser is pure Python (2.7 s for a 5 MB walk against 0.35 s for the C one):
    defusedxml reads the prolog, the only place a DTD, an entity declaration or an external reference can be
    declared, and stops where the root element opens; once it has found none, the C parser (expat, with its own
    amplification limits) builds the tree, bounded in depth and size, so a flood of tiny elements stops early.
    """
    try:
        _check_prolog(data)
        return _build_tree(data, name)
    except DTDForbidden:
        raise MalformedInput(f"{name} declares a DTD (<!DOCTYPE ...>); GPX files have none, and it is refused "
                             "for safety.", field="file") from None
    except EntitiesForbidden:
        raise MalformedInput(f"{name} declares XML entities; GPX files have none, and they are refused for safety "
                             "(entity expansion).", field="file") from None
    except ExternalReferenceForbidden:
        raise MalformedInput(f"{name} refers to an external resource; it is refused for safety.",
                             field="file") from None
    except DefusedXmlException as e:
        raise MalformedInput(f"{name} is refused for safety: {e}", field="file") from None
    except ParseError as e:
        line, column = e.position
        reason = str(e).split(":")[0]
        if line == 1 and column == 0 and not data.lstrip().startswith((b"<", b"\xef\xbb\xbf<")):
            raise MalformedInput(f"{name} is not a GPX file (it is not XML text).", field="file") from None
        raise MalformedInput(f"{name} is not a valid GPX file: line {line}, column {column + 1}: {reason}.",
                             field="file") from None


class _RootOpened(Exception):
    """The prolog is over: nothing hostile was declared before the root element."""


class _StopAtRoot:
    def start(self, tag, attributes):
        raise _RootOpened

    def close(self):
        return None


def _check_prolog(data):
    parser = DefusedXMLParser(target=_StopAtRoot(), forbid_dtd=True, forbid_entities=True, forbid_external=True)
    try:
        for offset in range(0, len(data), CHUNK):
            parser.feed(data[offset:offset + CHUNK])
        parser.close()  # a document without a root element: a ParseError with its position
    except _RootOpened:
        return


def _build_tree(data, name):
    parser = XMLPullParser(events=("start", "end", "start-ns"))
    namespaces, depth, elements = [], 0, 0
    for offset in range(0, len(data), CHUNK):
        parser.feed(data[offset:offset + CHUNK])
        for event, value in parser.read_events():
            if event == "start":
                depth, elements = depth + 1, elements + 1
                if depth > MAX_DEPTH:
                    raise MalformedInput(f"{name} nests elements more than {MAX_DEPTH} deep; GPX needs fewer than "
                                         "ten.", field="file")
                if elements > MAX_ELEMENTS:
                    raise MalformedInput(f"{name} has more than {MAX_ELEMENTS:,} elements; split the walk into "
                                         "several files.", field="file")
                if elements == 1:
                    root = value
            elif event == "end":
                depth -= 1
            else:
                namespaces.append(value)
    parser.close()
    return root, namespaces


# -- 2. what the recording says ----------------------------------------------------------------------------------


@dataclass
class Waypoint:
    number: int  # 1 for the file's first waypoint
    lon: float
    lat: float
    time: datetime | None
    texts: dict  # name, description, comment, symbol, type: whatever the file gives, stripped


@dataclass
class Recording:
    """A GPX file in plain terms: lines of [lon, lat], plausible times, waypoints and what was dropped."""

    name: str | None
    lines: list  # [[[lon, lat], ...], ...], empty segments and one-point segments dropped
    times: list  # plausible UTC datetimes of the track and route points
    waypoints: list
    metadata_time: datetime | None = None
    dropped_segments: int = 0
    implausible_times: list = field(default_factory=list)

    @property
    def start(self):
        return min(self.times) if self.times else None

    @property
    def end(self):
        return max(self.times) if self.times else None


def read_recording(gpx, now=None):
    """A :class:`Recording` of a parsed GPX: tracks and routes become lines, waypoints stay points.

    Times before :data:`EARLIEST_TIME` or in the future are not trusted: they are counted in
    ``implausible_times`` and left out, so start, end and duration come from the points whose clocks were right.
    A time without a zone is taken as UTC, as the GPX schema says all times are.
    """
    now = now or datetime.now(timezone.utc)
    lines, times, implausible, dropped = [], [], [], 0
    sequences = [segment.points for track in gpx.tracks for segment in track.segments]
    sequences += [route.points for route in gpx.routes]
    for points in sequences:
        if len(points) < 2:
            dropped += 1
            continue
        lines.append([[point.longitude, point.latitude] for point in points])
        for point in points:
            moment = _plausible(point.time, now, implausible)
            if moment is not None:
                times.append(moment)
    waypoints = []
    for number, point in enumerate(gpx.waypoints, start=1):
        texts = {key: _text(getattr(point, attribute)) for key, attribute in
                 (("name", "name"), ("description", "description"), ("comment", "comment"),
                  ("symbol", "symbol"), ("type", "type"))}
        waypoints.append(Waypoint(number, point.longitude, point.latitude, _plausible(point.time, now, implausible),
                                  {key: value for key, value in texts.items() if value}))
    name = _text(gpx.name) or next((_text(t.name) for t in gpx.tracks if _text(t.name)), None) or next(
        (_text(r.name) for r in gpx.routes if _text(r.name)), None)
    return Recording(name, lines, times, waypoints, _plausible(gpx.time, now, []), dropped, implausible)


def _plausible(moment, now, implausible):
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        implausible.append(None)
        return None
    if moment < EARLIEST_TIME or moment > now + CLOCK_SKEW:
        implausible.append(moment)
        return None
    return moment


def _text(value):
    if not isinstance(value, str):
        return None
    return unicodedata.normalize("NFC", value).strip() or None


__all__ = ["MAX_BYTES", "EARLIEST_TIME", "parse_gpx", "read_recording", "Recording", "Waypoint"]
