"""The one validator: untrusted input (API JSON, form fields, CLI imports) becomes a :class:`Submission`.

Nothing reaches the store without passing through :func:`validate_feature`, so the API, the forms, the CLI and the
importers accept and refuse exactly the same things. Errors name the field and quote the bad value.
"""

import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from shapely.geometry import Point

from mapper.errors import MalformedInput, ValidationError
from mapper.schema import SERVER_PROPERTIES

CLOCK_SKEW = timedelta(minutes=10)  # a phone's clock may run a little fast
COORDINATE_DECIMALS = 7  # about 1 cm: more is noise from the phone, not information
ALLOWED_MEMBERS = {"type", "geometry", "properties", "bbox"}
# Control characters other than tab and newline have no place in a report and break CSV and terminals.
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")
URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
PHONE = re.compile(r"^\+?[0-9 ()\-.]{6,40}$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Who is submitting. The public (the API's POSTs, the report form, a moderator correcting a contribution) may give only
# the properties data/layers.toml marks set_by = "submitter"; a trusted caller (an importer, the CLI, an audit walk's
# upload) may also give those it marks "import" or "server". Public is the default, so a new way in is safe unasked.
PUBLIC, TRUSTED = "public", "trusted"
CONTEXTS = (PUBLIC, TRUSTED)


@dataclass
class Submission:
    """A validated feature, not yet stored: a point, its public properties and its private ones."""

    layer: str
    geometry: Point
    properties: dict
    private: dict = field(default_factory=dict)

    @property
    def lon(self):
        return self._anchor.x

    @property
    def lat(self):
        return self._anchor.y

    @property
    def _anchor(self):
        # A point is itself; an area (a Community Payback site) is placed by a point inside it.
        return self.geometry if self.geometry.geom_type == "Point" else self.geometry.representative_point()


def quote(value, limit=60):
    """``repr`` of a bad value, shortened so that an error message stays readable."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_json(body):
    """Parse a request body as strict JSON (UTF-8, no NaN or Infinity)."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as e:
        raise MalformedInput(f"The body is not UTF-8 text (byte {e.start}).") from None
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as e:
        raise MalformedInput(f"The body is not valid JSON: {e.msg} at line {e.lineno} column {e.colno}.") from None
    except RecursionError:
        raise MalformedInput("The body is nested too deeply.") from None
    except ValueError as e:  # e.g. an integer with more than 4,300 digits
        raise MalformedInput(f"The body is not acceptable JSON: {e}.") from None


def _reject_constant(name):
    raise MalformedInput(f"The body is not valid JSON: {name} is not a number in JSON.")


def _reject_duplicate_keys(pairs):
    # Parsers disagree on which of two equal keys wins; refusing them means every reader sees the same feature.
    result = dict(pairs)
    if len(result) != len(pairs):
        seen = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise MalformedInput(f"The body is not acceptable JSON: the key {quote(duplicate)} appears twice.")
    return result


def finite_number(value):
    """True for an int or float (not a bool) that is a finite number a float can hold."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def validate_feature(raw, layer, status=None, *, context=PUBLIC):
    """Check an untrusted GeoJSON Feature against a layer's schema.

    Parameters
    ----------
    raw : object
        Parsed JSON from a client, form or file.
    layer : mapper.schema.Layer
    status : str, optional
        A trusted caller's status (an administrator's import publishes assets); otherwise the layer's initial one.
    context : {PUBLIC, TRUSTED}
        Who is submitting: the public may not give the properties that imports, walks and the server set.

    Returns
    -------
    Submission
        With the layer's initial status set; ``id``, ``zone`` and timestamps are the store's and the zones' job.

    Examples
    --------
    >>> from mapper.schema import Layer, Property, Category
    >>> lights = Layer("lights", "Lights", "Point", "open", ("open",), ("open",),
    ...                {"category": Property("category", "category", required=True)}, (Category("out", "Out"),))
    >>> s = validate_feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.2, 52.77]},
    ...                       "properties": {"category": "out"}}, lights)
    >>> s.lon, s.lat, s.properties
    (-1.2, 52.77, {'category': 'out', 'status': 'open'})
    """
    if not isinstance(raw, dict):
        raise ValidationError(f"Expected a GeoJSON Feature object, got {type(raw).__name__}.", field="type")
    if raw.get("type") != "Feature":
        raise ValidationError(f"Expected a GeoJSON Feature, got type {quote(raw.get('type'))}.", field="type")
    if "id" in raw:
        raise ValidationError("Feature ids are set by the server; remove 'id'.", field="id")
    unknown = sorted(set(raw) - ALLOWED_MEMBERS)
    if unknown:
        raise ValidationError(f"Unknown Feature members: {', '.join(map(quote, unknown))}.", field=unknown[0])
    geometry = validate_geometry(raw.get("geometry"), layer.geometry)
    public, private = validate_properties(raw.get("properties"), layer, context=context)
    if status is not None and status not in layer.statuses:
        raise ValidationError(f"Unknown status {quote(status)} for layer {layer.name!r}. Statuses are: "
                              f"{', '.join(layer.statuses)}.", field="status")
    public["status"] = status or layer.initial_status
    return Submission(layer=layer.name, geometry=geometry, properties=public, private=private)


MAX_VERTICES = 200_000  # a night's audit walk logged every second is ~20,000


def validate_geometry(geometry, kind):
    """The geometry a layer takes (``Point``, ``MultiLineString``, ``Polygon``, or several joined by ``|`` as in
    :attr:`mapper.schema.Layer.geometry`), as Shapely, or a ValidationError."""
    kinds = kind.split("|")
    if len(kinds) > 1:
        if not isinstance(geometry, dict):
            raise ValidationError(f"The Feature needs a geometry object: a {' or a '.join(kinds)}.", field="geometry")
        given = geometry.get("type")
        taken = [k for k in kinds if given == k or (k == "MultiLineString" and given == "LineString")]
        if not taken:
            raise ValidationError(f"The geometry must be a {' or a '.join(kinds)}, not {quote(given)}.",
                                  field="geometry")
        kind = taken[0]
    if kind == "Point":
        return validate_point(geometry)
    if kind == "MultiLineString":
        return validate_lines(geometry)
    if kind == "Polygon":
        return validate_polygon(geometry)
    raise ValidationError(f"Layers of {kind} geometries cannot take submissions.", field="geometry")


MAX_POLYGON_VERTICES = 10_000  # a site traced round a park has hundreds; more is a mistake or an attack


def validate_polygon(geometry):
    """A GeoJSON Polygon as a valid Shapely Polygon with its outer ring anticlockwise (RFC 7946's right-hand rule).

    Every ring must be closed and have at least four positions, each a finite in-range [lon, lat] (rounded to ~1 cm),
    at most :data:`MAX_POLYGON_VERTICES` in all. A ring that crosses itself or a hole that pokes out is repaired with
    ``shapely.make_valid`` when that still gives one area; otherwise (a bow tie falls into two) the error says so.

    >>> square = {"type": "Polygon", "coordinates": [[[-1.2, 52.77], [-1.2, 52.771], [-1.199, 52.771],
    ...                                               [-1.199, 52.77], [-1.2, 52.77]]]}
    >>> validate_polygon(square).exterior.is_ccw
    True
    """
    import shapely
    from shapely.geometry import Polygon
    from shapely.geometry.polygon import orient

    if not isinstance(geometry, dict):
        raise ValidationError("The Feature needs a geometry object.", field="geometry")
    if geometry.get("type") != "Polygon":
        raise ValidationError(f"The geometry must be a Polygon, not {quote(geometry.get('type'))}.", field="geometry")
    rings = geometry.get("coordinates")
    if not isinstance(rings, list) or not rings:
        raise ValidationError("A Polygon needs coordinates: a list of rings, the outer ring first.", field="geometry")
    clean, vertices = [], 0
    for number, ring in enumerate(rings, 1):
        if not isinstance(ring, list) or len(ring) < 4:
            raise ValidationError(f"Ring {number} of the Polygon needs at least four positions (a triangle and its "
                                  "first position again).", field="geometry")
        vertices += len(ring)
        if vertices > MAX_POLYGON_VERTICES:
            raise ValidationError(f"A Polygon may have at most {MAX_POLYGON_VERTICES:,} positions.", field="geometry")
        positions = [_position(position)[:2] for position in ring]
        if positions[0] != positions[-1]:
            raise ValidationError(f"Ring {number} of the Polygon is not closed: its last position must repeat its "
                                  f"first, {list(positions[0])}.", field="geometry")
        clean.append(positions)
    polygon = Polygon(clean[0], clean[1:])
    if not polygon.is_valid:
        reason = shapely.is_valid_reason(polygon)
        repaired = shapely.make_valid(polygon)
        parts = [part for part in getattr(repaired, "geoms", [repaired]) if part.geom_type == "Polygon" and part.area]
        if not parts:  # all its corners on one line
            raise ValidationError("The Polygon encloses no area; give at least three distinct corners.",
                                  field="geometry")
        if len(parts) != 1:
            raise ValidationError(f"The Polygon is not a single valid area ({reason}); draw its outline again without "
                                  "crossing edges.", field="geometry")
        polygon = parts[0]
    if polygon.is_empty or polygon.area == 0:
        raise ValidationError("The Polygon encloses no area; give at least three distinct corners.", field="geometry")
    return orient(polygon, sign=1.0)


def validate_lines(geometry):
    """A GeoJSON LineString or MultiLineString of finite in-range positions, as a Shapely MultiLineString."""
    from shapely.geometry import MultiLineString

    if not isinstance(geometry, dict) or geometry.get("type") not in ("LineString", "MultiLineString"):
        kind = geometry.get("type") if isinstance(geometry, dict) else type(geometry).__name__
        raise ValidationError(f"The geometry must be a LineString or MultiLineString, not {quote(kind)}.",
                              field="geometry")
    lines = geometry.get("coordinates")
    if geometry["type"] == "LineString":
        lines = [lines]
    if not isinstance(lines, list) or not lines:
        raise ValidationError("A line needs coordinates.", field="geometry")
    clean, vertices = [], 0
    for line in lines:
        if not isinstance(line, list) or len(line) < 2:
            raise ValidationError("Every line needs at least two positions.", field="geometry")
        vertices += len(line)
        if vertices > MAX_VERTICES:
            raise ValidationError(f"A line may have at most {MAX_VERTICES:,} positions.", field="geometry")
        clean.append([_position(position) for position in line])
    return MultiLineString(clean)


def _position(position):
    if not isinstance(position, list) or len(position) not in (2, 3):
        raise ValidationError(f"A position must be [longitude, latitude], got {quote(position)}.", field="geometry")
    return validate_point({"type": "Point", "coordinates": position}).coords[0]


def validate_point(geometry):
    """A GeoJSON Point with finite lon/lat in range, as a Shapely Point rounded to ~1 cm."""
    if not isinstance(geometry, dict):
        raise ValidationError("The Feature needs a geometry object.", field="geometry")
    if geometry.get("type") != "Point":
        raise ValidationError(f"The geometry must be a Point, not {quote(geometry.get('type'))}.", field="geometry")
    coordinates = geometry.get("coordinates")
    if not isinstance(coordinates, list) or len(coordinates) not in (2, 3):
        raise ValidationError(
            f"Point coordinates must be [longitude, latitude], got {quote(coordinates)}.", field="geometry"
        )
    for value in coordinates:
        if not finite_number(value):
            raise ValidationError(f"Coordinates must be finite numbers, got {quote(value)}.", field="geometry")
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not -180 <= lon <= 180:
        raise ValidationError(f"Longitude {lon} is outside -180..180 (is it [lon, lat]?).", field="geometry")
    if not -90 <= lat <= 90:
        raise ValidationError(f"Latitude {lat} is outside -90..90 (is it [lon, lat]?).", field="geometry")
    return Point(round(lon, COORDINATE_DECIMALS), round(lat, COORDINATE_DECIMALS))


def validate_properties(raw, layer, *, context=PUBLIC):
    """Split and check properties: returns ``(public, private)`` dicts of clean values. ``context`` as in
    :func:`validate_feature`."""
    if context not in CONTEXTS:
        raise ValueError(f"context must be one of {CONTEXTS}, not {context!r}")  # a programming error, not input
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ValidationError("Feature properties must be an object.", field="properties")
    server_set = sorted(set(raw) & set(SERVER_PROPERTIES))
    if server_set:
        raise ValidationError(
            f"{', '.join(server_set)} {'is' if len(server_set) == 1 else 'are'} set by the server; remove "
            f"{'it' if len(server_set) == 1 else 'them'}.",
            field=server_set[0],
        )
    imported = sorted(set(raw) & set(layer.import_only_properties)) if context == PUBLIC else []
    if imported:
        named = ", ".join(map(repr, imported))
        raise ValidationError(
            f"{named} {'is' if len(imported) == 1 else 'are'} set only by imports, audit walks and the server, not by "
            f"a submission to layer {layer.name!r}; remove {'it' if len(imported) == 1 else 'them'}.",
            field=imported[0],
        )
    unknown = sorted(set(raw) - set(layer.properties))
    if unknown:
        raise ValidationError(
            f"Unknown properties for layer {layer.name!r}: {', '.join(map(quote, unknown))}. "
            f"Allowed: {', '.join(layer.properties)}.",
            field=unknown[0] if isinstance(unknown[0], str) else None,
        )
    public, private = {}, {}
    for prop in layer.properties.values():
        value = clean_value(raw.get(prop.name), prop, layer)
        if value is None:
            if prop.required:
                raise ValidationError(f"{prop.name!r} is required.", field=prop.name)
            continue
        (private if prop.private else public)[prop.name] = value
    return public, private


def clean_value(value, prop, layer):
    """One property value, checked and normalised for its type; None when absent or blank."""
    if value is None:
        return None
    kind = prop.type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValidationError(f"{prop.name!r} must be true or false, got {quote(value)}.", field=prop.name)
        return value
    if kind in ("integer", "number"):
        ok = isinstance(value, int) if kind == "integer" else isinstance(value, (int, float))
        if not ok or not finite_number(value):
            raise ValidationError(f"{prop.name!r} must be a{'n integer' if kind == 'integer' else ' number'}, "
                                  f"got {quote(value)}.", field=prop.name)
        return value
    text = clean_text(value, prop)
    if text is None:
        return None
    if kind == "category":
        if layer.category(text) is None:
            raise ValidationError(
                f"Unknown category {quote(text)} for layer {layer.name!r}. Categories are: "
                f"{', '.join(layer.category_ids)}.", field=prop.name
            )
    elif kind == "url" and not URL.match(text):
        raise ValidationError(f"{prop.name!r} must be an http:// or https:// address, got {quote(text)}.",
                              field=prop.name)
    elif kind == "phone" and not PHONE.match(text):
        raise ValidationError(f"{prop.name!r} is not a phone number: {quote(text)}.", field=prop.name)
    elif kind == "email" and not EMAIL.match(text):
        raise ValidationError(f"{prop.name!r} is not an email address: {quote(text)}.", field=prop.name)
    elif kind == "datetime":
        moment = parse_datetime(text, prop.name)
        if moment > datetime.now(timezone.utc) + CLOCK_SKEW:
            raise ValidationError(f"{prop.name!r} is in the future: {quote(text)}.", field=prop.name)
        return format_datetime(moment)
    return text


def clean_text(value, prop):
    if not isinstance(value, str):
        raise ValidationError(f"{prop.name!r} must be text, got {type(value).__name__}.", field=prop.name)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{prop.name!r} contains characters that are not valid Unicode.",
                              field=prop.name) from None
    text = unicodedata.normalize("NFC", value.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if not text:
        return None
    if CONTROL.search(text) or (not prop.multiline and ("\n" in text or "\t" in text)):
        raise ValidationError(f"{prop.name!r} contains control characters or line breaks.", field=prop.name)
    if len(text) > prop.max_length:
        raise ValidationError(
            f"{prop.name!r} is {len(text)} characters long; the limit is {prop.max_length}.", field=prop.name
        )
    return text


def parse_datetime(text, name="datetime"):
    """An ISO-8601 date or date-time as an aware UTC datetime; a naive value is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValidationError(f"{name!r} must be an ISO-8601 date or date-time, got {quote(text)}.",
                              field=name) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        return moment.astimezone(timezone.utc)
    except OverflowError:
        raise ValidationError(f"{name!r} is out of range: {quote(text)}.", field=name) from None


CLIENT_ID = re.compile(r"^[A-Za-z0-9-]{8,64}$")


def validate_client_id(value):
    """A phone's idempotency key (a UUID or similar), or None when none was sent."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not CLIENT_ID.match(value):
        raise ValidationError("client_id must be 8-64 letters, digits or hyphens.", field="client_id")
    return value


def format_datetime(moment):
    """UTC ISO-8601 with milliseconds and a Z, the one timestamp format the store writes."""
    return moment.astimezone(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
