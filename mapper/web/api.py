"""The JSON API: zones, layer downloads in several formats, and feature submission.

Every view parses the request, calls intake/store/export, and answers; errors are MapperErrors that the one handler
in ``mapper.web.errors`` turns into JSON.
"""

import json
import math
from datetime import date

import numpy as np

from flask import Blueprint, Response, current_app, jsonify, request, url_for

from mapper import intake
from mapper.errors import MalformedInput, MapperError, PayloadTooLarge, UnsupportedMediaType, ValidationError
from mapper.export import get_format, points
from mapper.crs import from_british_national_grid, to_british_national_grid
from mapper.validate import format_datetime, parse_datetime, parse_json, validate_client_id
from mapper.web import limits
from mapper.web.context import get_schema, get_store, get_zones
from mapper.zones import place

bp = Blueprint("api", __name__, url_prefix="/api")

JSON_TYPES = ("application/json", "application/geo+json")
MAX_NEARBY_METRES = 200
COLUMNS_NEAR_METRES = 40  # columns stand 25-40 m apart along a street: the pin's column and its neighbours
MAX_COLUMNS_NEAR_METRES = 100
MAX_COLUMNS_NEAR = 50  # more taps than a phone's map can hold; a zoomed-in resident never sees this many


def zone_summary(zone):
    store, schema = get_store(), get_schema()
    # A staff-only layer (crime records) is not counted: the summary is public (the index page, /api/zones).
    counts = {layer.name: len(public(store.query(zone.id, layer.name), layer)) for layer in schema
              if not layer.staff_only}
    return {"id": zone.id, "name": zone.name, "council": zone.properties.get("council"), "bbox": list(zone.bbox),
            "area_m2": zone.area_m2, "counts": counts,
            "links": {"self": url_for("api.zone", zone_id=zone.id, _external=False),
                      "map": url_for("pages.zone_map", zone_id=zone.id)}}


def public(features, layer):
    """Only what any visitor may see: features in the layer's public statuses (private fields are never stored
    in a layer file at all)."""
    if set(layer.public_statuses) == set(layer.statuses):
        return features
    return features.filter(where={"status": list(layer.public_statuses)})


def readable(layer, zone_id):
    """The layer, if this request may read its features in ``zone_id``: anyone for most layers; officers and
    administrators of the zone for a layer with ``access = "staff"`` in data/layers.toml (crime records), else 401
    or 403 before the zone is even looked up, as on every staff route."""
    if layer.staff_only:
        from mapper.web.auth import require_zone

        require_zone(zone_id)
    return layer


def kept_private(response, layer):
    """A staff-only layer's answer must not be kept by a shared cache and served to the next visitor."""
    if layer.staff_only:
        response.headers["Cache-Control"] = "private, no-store"
        response.vary.update(("Authorization", "Cookie"))
    return response


@bp.get("/zones")
def zones():
    return jsonify({"zones": [zone_summary(zone) for zone in get_zones()]})


@bp.get("/zones/<zone_id>")
def zone(zone_id):
    return Response(_json(get_zones().get(zone_id).to_feature()), mimetype="application/geo+json")


@bp.get("/layers")
def layers():
    """What can be submitted: each layer's properties and categories (Open311's ``services``, in our terms)."""
    return jsonify({"layers": [
        {"name": layer.name, "title": layer.title, "geometry": layer.geometry, "access": layer.access,
         "public_submissions": layer.public_submissions,
         "properties": {p.name: {"type": p.type, "required": p.required, "max_length": p.max_length,
                                 "set_by": p.set_by}
                        for p in layer.properties.values() if not p.private},
         "categories": [{"id": c.id, "label": c.label, "colour": c.colour} for c in layer.categories]}
        for layer in get_schema()]})


@bp.post("/zones/<zone_id>/<layer_name>")
@limits.public_posts
def create_in_zone(zone_id, layer_name):
    get_zones().get(zone_id)
    open_to_the_public(layer_name)
    return created(intake.submit(read_json(), layer_name, zone_id=zone_id, admit=limits.charge_zone, **services()))


@bp.post("/reports")
@limits.public_posts
def create_report():
    layer_name = request.args.get("layer", "lights")
    open_to_the_public(layer_name)
    return created(intake.submit(read_json(), layer_name, admit=limits.charge_zone, **services()))


def open_to_the_public(layer_name):
    """The layer, if anyone may add to it (``public_submissions`` in data/layers.toml); else a 403. Crime records,
    lamp columns, streets, walks and Community Payback sites come from staff imports and their own routes."""
    layer = get_schema().layer(layer_name)
    if not layer.public_submissions:
        raise MapperError(f"The {layer.name!r} layer is not open to public submissions. Layers that are: "
                          f"{', '.join(layer.name for layer in get_schema() if layer.public_submissions)}.", field="layer", code="forbidden",
                          status=403)
    return layer


@bp.get("/zones/<zone_id>/<layer_name>.<extension>")
def layer_download(zone_id, layer_name, extension):
    layer = readable(get_schema().layer(layer_name), zone_id)
    zone = get_zones().get(zone_id)
    output = get_format(extension)
    features = public(get_store().query(zone.id, layer.name, **layer_filters(layer)), layer)
    if output.extension == "points":
        response = points_response(points.points_body(features, layer))
    else:
        response = Response(output.write(features, layer), mimetype=output.mimetype)
    name = f"{zone.id}_{layer.name}_{date.today().isoformat()}.{output.extension}"
    response.headers["Content-Disposition"] = f'inline; filename="{name}"'
    return kept_private(response, layer)


def points_response(body):
    """The map's ``.points``: gzip-compressed once and kept (not per request, which cost ~200 ms at 100,000 features)
    for clients that accept gzip, with an ETag per encoding (as Flask-Compress names them) and If-None-Match."""
    gzipped = request.accept_encodings["gzip"] and len(body.raw) >= current_app.config["COMPRESS_MIN_SIZE"]
    if gzipped:
        response = Response(body.gzipped(current_app.config["COMPRESS_LEVEL"]), mimetype="application/json")
        response.headers["Content-Encoding"] = "gzip"
    else:
        response = Response(body.raw, mimetype="application/json")
    response.vary.add("Accept-Encoding")
    response.set_etag(f"{body.version}:gzip" if gzipped else body.version)
    return response.make_conditional(request)


@bp.get("/zones/<zone_id>/<layer_name>")
def layer_default(zone_id, layer_name):
    return layer_download(zone_id, layer_name, "geojson")


@bp.get("/zones/<zone_id>/<layer_name>/at/<int:index>")
def feature_at(zone_id, layer_name, index):
    """The feature at ``index`` in the layer's ``.points`` (same filters in the query), if they are still at
    ``version``; 409 when the layer has changed since, so the map reloads its points rather than show another one."""
    layer = readable(get_schema().layer(layer_name), zone_id)
    zone = get_zones().get(zone_id)
    version = request.args.get("version", "")
    if not version:
        raise ValidationError("version is required: the version of the .points the index comes from.",
                              field="version")
    body = points.points_body(public(get_store().query(zone.id, layer.name, **layer_filters(layer)), layer), layer)
    if version != body.version:
        raise MapperError(f"The {layer.name!r} layer has changed since version {version[:32]!r}; it is now at "
                          f"{body.version!r}. Load its .points again.", field="version", code="stale_version",
                          status=409)
    feature_id = body.id_at(index)
    if feature_id is None:
        from mapper.errors import FeatureNotFound

        raise FeatureNotFound(f"No feature at position {index} of layer {layer.name!r} in zone {zone.id!r}.",
                              field="index")
    return feature(zone.id, layer.name, feature_id)


@bp.get("/zones/<zone_id>/<layer_name>/<feature_id>")
def feature(zone_id, layer_name, feature_id):
    layer = readable(get_schema().layer(layer_name), zone_id)
    zone = get_zones().get(zone_id)
    found = get_store().get(zone.id, layer.name, feature_id)
    if found["properties"].get("status") not in layer.public_statuses:
        from mapper.errors import FeatureNotFound

        raise FeatureNotFound(f"No feature {feature_id!r} in layer {layer.name!r} of zone {zone.id!r}.")
    return kept_private(Response(_json(found), mimetype="application/geo+json"), layer)


@bp.get("/nearby")
def nearby():
    """Open features of a layer (and category) within ``radius`` metres of a point, nearest first: "is it one of
    these?" before a resident adds a new pin."""
    layer = get_schema().layer(request.args.get("layer", "lights"))
    lon, lat = parse_number("lon", -180, 180), parse_number("lat", -90, 90)
    radius = parse_number("radius", 1, MAX_NEARBY_METRES, default=30)
    zone = place(get_zones(), lon, lat)
    readable(layer, zone.id)
    where = {"status": list(layer.open_statuses)}
    if request.args.get("category"):
        where["category"] = checked_values(request.args["category"], layer.category_ids, "category")
    features = get_store().query(zone.id, layer.name, where=where)
    found = features_within(features, lon, lat, radius)
    column = point_column(zone, layer, lon, lat)
    if column is None:
        return kept_private(jsonify({"type": "FeatureCollection", "zone": zone.id, "features": found}), layer)
    return kept_private(jsonify({"type": "FeatureCollection", "zone": zone.id, "column": column,
                                 "features": with_same_column(found, features, column["unit_id"], lon, lat)}), layer)


@bp.get("/zones/<zone_id>/columns/nearest")
def nearest_column(zone_id):
    """The lamp column nearest to ``lon``/``lat`` within 25 m (its unit id, distance and position), or 404: what
    a "tap the lamp column" picker asks before it sends a report with ``column`` set."""
    from mapper.analysis.columns import LAYER, LINK_DISTANCE_M, column_index
    from mapper.analysis.columns import nearest_column as find_nearest
    from mapper.errors import FeatureNotFound

    zone = get_zones().get(zone_id)
    get_schema().layer(LAYER)
    lon, lat = parse_number("lon", -180, 180), parse_number("lat", -90, 90)
    found = find_nearest(column_index(get_store(), zone.id), lon, lat)
    if found is None:
        raise FeatureNotFound(f"No lamp column within {LINK_DISTANCE_M:.0f} m of ({lon}, {lat}) in zone "
                              f"{zone.id!r}.", field="lon")
    return jsonify({"zone": zone.id, "unit_id": found.unit_id, "distance_m": found.distance_m,
                    "geometry": {"type": "Point", "coordinates": [found.lon, found.lat]}})


@bp.get("/zones/<zone_id>/columns/near")
def columns_near(zone_id):
    """The in-service lamp columns within ``radius`` metres (default 40, at most 100) of ``lon``/``lat``, nearest
    first, at most ``limit`` (default and most 50): the columns the report page offers to tap. A GeoJSON
    FeatureCollection whose features carry ``unit_id``, ``distance_m`` and ``location``; ``truncated`` says more
    columns were within the radius than were listed."""
    from mapper.analysis.columns import IN_SERVICE, LAYER

    zone = get_zones().get(zone_id)
    get_schema().layer(LAYER)
    lon, lat = parse_number("lon", -180, 180), parse_number("lat", -90, 90)
    radius = parse_number("radius", 1, MAX_COLUMNS_NEAR_METRES, default=COLUMNS_NEAR_METRES)
    limit = int(parse_number("limit", 1, MAX_COLUMNS_NEAR, default=MAX_COLUMNS_NEAR))
    candidates = get_store().query(zone.id, LAYER, bbox=box_around(lon, lat, radius), where={"status": [IN_SERVICE]})
    found = features_within(candidates, lon, lat, radius)
    columns = [{"type": "Feature", "geometry": column["geometry"],
                "properties": {"unit_id": column["properties"].get("unit_id"),
                               "distance_m": column["properties"]["distance_m"],
                               "location": column["properties"].get("location")}}
               for column in found[:limit]]
    return Response(_json({"type": "FeatureCollection", "zone": zone.id, "radius_m": radius,
                           "truncated": len(found) > limit, "features": columns}), mimetype="application/geo+json")


@bp.post("/zones/<zone_id>/<layer_name>/<feature_id>/confirm")
@limits.confirmations
@limits.confirmations_per_report
def confirm(zone_id, layer_name, feature_id):
    """Another resident confirms an open report instead of adding a duplicate pin (once per device)."""
    open_to_the_public(layer_name)
    body = read_json()
    client_id = validate_client_id(body.get("client_id") if isinstance(body, dict) else None)
    feature = intake.confirm(zone_id, layer_name, feature_id, client_id, schema=get_schema(), zones=get_zones(),
                             store=get_store())
    properties = feature["properties"]
    return jsonify({"ref": properties.get("ref"), "confirmations": properties.get("confirmations", 0),
                    "tracking_url": url_for("report.tracking_page", ref=properties["ref"])
                    if properties.get("ref") else None})


def features_within(features, lon, lat, radius):
    """Features of a FeatureSet within ``radius`` metres of (lon, lat), measured in EPSG:27700, nearest first."""
    if not len(features):
        return []
    east, north = to_british_national_grid(features.lon, features.lat)
    here_east, here_north = to_british_national_grid(lon, lat)
    distances = np.hypot(east - here_east, north - here_north)
    order = [i for i in np.argsort(distances, kind="stable") if distances[i] <= radius]
    found = []
    for position in order:
        feature = json.loads(features.lines[position])
        feature["properties"]["distance_m"] = round(float(distances[position]), 1)
        found.append(feature)
    return found


def box_around(lon, lat, metres):
    """A lon/lat bbox holding every point within ``metres`` of (lon, lat): the envelope of the square of that
    half-side in EPSG:27700, widened by a metre so the square's slightly curved edges stay inside. A cheap first
    cut over the layer's coordinate columns; :func:`features_within` then measures exactly."""
    easting, northing = to_british_national_grid(lon, lat)
    reach = metres + 1
    corners_lon, corners_lat = from_british_national_grid(easting + np.array([-reach, reach, reach, -reach]),
                                                          northing + np.array([-reach, -reach, reach, reach]))
    return [float(corners_lon.min()), float(corners_lat.min()), float(corners_lon.max()), float(corners_lat.max())]


def point_column(zone, layer, lon, lat):
    """``{"unit_id", "distance_m"}`` of the column nearest to a point (within 25 m) for a layer whose reports are
    linked to columns, else None."""
    from mapper.analysis.columns import LAYER, column_index
    from mapper.analysis.columns import nearest_column as find_nearest

    if "column" not in layer.properties or LAYER not in get_schema():
        return None
    found = find_nearest(column_index(get_store(), zone.id), lon, lat)
    return {"unit_id": found.unit_id, "distance_m": found.distance_m} if found else None


def with_same_column(found, features, unit_id, lon, lat):
    """``found`` plus the open reports linked to column ``unit_id`` however far they are, every report on that
    column marked ``same_column``: FixMyStreet matches duplicates by distance only."""
    for feature in found:
        feature["properties"]["same_column"] = feature["properties"].get("column") == unit_id
    listed = {feature["properties"].get("id") for feature in found}
    linked = features.filter(where={"column": unit_id})
    further = [feature for feature in features_within(linked, lon, lat, math.inf)
               if feature["properties"].get("id") not in listed]
    for feature in further:
        feature["properties"]["same_column"] = True
    return found + further


# -- request parsing -----------------------------------------------------------------------------------------------


def services():
    return {"schema": get_schema(), "zones": get_zones(), "store": get_store()}


def read_json():
    """The request body as parsed JSON, after checking its media type and size."""
    if request.mimetype not in JSON_TYPES:
        raise UnsupportedMediaType(
            f"Send the Feature as application/json (got {request.mimetype or 'no Content-Type'!r}).",
            field="Content-Type")
    limit = current_app.config["MAX_JSON_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise PayloadTooLarge(f"The body is {request.content_length} bytes; the limit is {limit}.")
    body = request.stream.read(limit + 1)
    if len(body) > limit:
        raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes.")
    if not body.strip():
        raise MalformedInput("The body is empty; send a GeoJSON Feature.")
    return parse_json(body)


def layer_filters(layer):
    """``bbox``, ``category``, ``status`` and ``since`` from the query string, checked."""
    args = request.args
    filters, where = {}, {}
    if args.get("bbox"):
        filters["bbox"] = parse_bbox(args["bbox"])
    if args.get("category"):
        where["category"] = checked_values(args["category"], layer.category_ids, "category")
    if args.get("status"):
        where["status"] = checked_values(args["status"], layer.statuses, "status")
    if where:
        filters["where"] = where
    if args.get("since"):
        filters["since"] = format_datetime(parse_datetime(args["since"], "since"))
    return filters


def parse_bbox(text):
    parts = text.split(",")
    try:
        values = [float(part) for part in parts]
    except ValueError:
        values = []
    if len(values) != 4 or not all(math.isfinite(v) for v in values):
        raise ValidationError(f"bbox must be four numbers min_lon,min_lat,max_lon,max_lat; got {text[:80]!r}.",
                              field="bbox")
    min_lon, min_lat, max_lon, max_lat = values
    if min_lon > max_lon or min_lat > max_lat:
        raise ValidationError(f"bbox minimums must not exceed maximums; got {text[:80]!r}.", field="bbox")
    return values


def parse_number(name, low, high, default=None):
    text = request.args.get(name)
    if text is None or text == "":
        if default is not None:
            return default
        raise ValidationError(f"{name} is required.", field=name)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not low <= value <= high:
        raise ValidationError(f"{name} must be a number from {low} to {high}; got {text[:40]!r}.", field=name)
    return value


def checked_values(text, allowed, name):
    values = [value.strip() for value in text.split(",") if value.strip()]
    unknown = [value for value in values if value not in allowed]
    if unknown:
        raise ValidationError(f"Unknown {name} {unknown[0][:60]!r}. Allowed: {', '.join(allowed)}.", field=name)
    return values


def created(stored):
    properties = stored["properties"]
    response = Response(_json(stored), status=201, mimetype="application/geo+json")
    response.headers["Location"] = url_for("api.feature", zone_id=properties["zone"],
                                           layer_name=_layer_of(stored), feature_id=properties["id"])
    return response


def _layer_of(stored):
    return request.view_args.get("layer_name") or request.args.get("layer", "lights")


def _json(document):
    return current_app.json.dumps(document)
