"""Audit walks on the web: GPX upload, coverage figures and the uncovered area, GPX for the next walk, walk pages.

The upload is a machine upload (multipart, field ``file``) that reads no cookie, so it is exempt from CSRF like the
JSON API; when officers' sign-in arrives (issue 4) it must take a token that a cross-site form cannot send. Every
view parses the request, calls the importer, the analysis or the exporter, and answers.
"""

import json

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from shapely.geometry import mapping, shape

from mapper.analysis.coverage import REACH_M, uncovered, walk_figures, zone_figures
from mapper.errors import FeatureNotFound, MapperError, UnsupportedMediaType, ValidationError
from mapper.export import get_format
from mapper.export.gpx import uncovered_routes
from mapper.importers.gpx import KEYWORDS_FILE, LOCAL_TIME, MAX_BYTES, clean_flag, import_walk, load_keywords
from mapper.validate import parse_datetime
from mapper.web.auth import protect_session_writes, require_zone

WALKERS = ("officer", "admin", "steering")  # who may bring in a walk
from mapper.web.api import layer_filters, public
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("audits", __name__)
bp.before_request(protect_session_writes)  # CSRF for sessions' writes, after the sign-in check

AUDIT_SOURCE = b'"source":"audit"'  # as the store writes it: compact JSON, so a prefilter on the raw lines is exact


# -- API -----------------------------------------------------------------------------------------------------------


@bp.post("/api/zones/<zone_id>/audits")
def upload_walk(zone_id):
    zone = get_zones().get(zone_id)
    require_zone(zone.id, WALKERS)  # a bearer token, or a session with its CSRF token
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaType("Send the walk as multipart/form-data with the GPX file in the field 'file' "
                                   f"(got {request.mimetype or 'no Content-Type'!r}).", field="Content-Type")
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("Send the GPX file in the multipart field 'file'.", field="file")
    form = request.form
    schema = get_schema()
    result = import_walk(upload.stream.read(MAX_BYTES + 1), zone.id, schema=schema, zones=get_zones(),
                         store=get_store(), file_name=upload.filename or "walk.gpx", title=form.get("title"),
                         walked_on=form.get("date"), walkers=form.get("walkers"),
                         keep_outside=clean_flag(form.get("keep_outside")), keywords=keywords(schema))
    body = result.to_dict()
    if result.walk is not None:
        walk_id = result.walk["id"]
        body["figures"] = walk_figures(shape(result.walk["geometry"]), zone.boundary,
                                       len(audit_reports(zone.id, walk_id)))
        body["links"] = {"page": url_for("audits.walk_page", zone_id=zone.id, walk_id=walk_id),
                         "walk": url_for("api.feature", zone_id=zone.id, layer_name="audits", feature_id=walk_id)}
    response = jsonify(body)
    response.status_code = 201 if result.created_anything else 200
    if result.walk is not None:
        response.headers["Location"] = body["links"]["walk"]
    return response


@bp.get("/api/zones/<zone_id>/audits/coverage.json")
def zone_coverage(zone_id):
    """The zone's figures over every walk, and each walk's own."""
    zone = get_zones().get(zone_id)
    walks = list(get_store().query(zone.id, "audits"))
    reports = audit_reports(zone.id)
    per_walk = [{"id": walk["id"], "title": walk["properties"].get("title"),
                 "walked_on": walk["properties"].get("walked_on"),
                 **walk_figures(shape(walk["geometry"]), zone.boundary,
                                sum(r["properties"].get("walk") == walk["id"] for r in reports))}
                for walk in walks]
    figures = zone_figures(zone.boundary, [shape(w["geometry"]) for w in walks], len(reports))
    return jsonify({"zone": zone.id, **figures, "walks": per_walk})


@bp.get("/api/zones/<zone_id>/audits/uncovered.geojson")
def uncovered_area(zone_id):
    """The parts of the zone farther than 25 m from every walk: where the next walk should go."""
    zone = get_zones().get(zone_id)
    walks = [shape(walk["geometry"]) for walk in get_store().query(zone.id, "audits")]
    area = uncovered(zone.boundary, walks)
    feature = {"type": "Feature", "id": f"{zone.id}-uncovered", "geometry": mapping(area),
               "properties": {"zone": zone.id, "reach_m": REACH_M, "walks": len(walks),
                              **zone_figures(zone.boundary, walks, len(audit_reports(zone.id)))}}
    return Response(json.dumps(feature, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/api/zones/<zone_id>/audits/findings.geojson")
def findings(zone_id):
    """The lighting reports made on audit walks (each with the id of its walk in ``walk``)."""
    zone = get_zones().get(zone_id)
    collection = {"type": "FeatureCollection", "name": "audit findings", "features": audit_reports(zone.id)}
    return Response(json.dumps(collection, ensure_ascii=False), mimetype="application/geo+json")


@bp.get("/api/zones/<zone_id>/lights.gpx")
def lights_gpx(zone_id):
    """Faults as GPX waypoints (``status``, ``category``, ``bbox``, ``since`` as for every layer download), and with
    ``uncovered=1`` the areas no walk has covered as routes. More specific than the API's generic download route."""
    zone, layer = get_zones().get(zone_id), get_schema().layer("lights")
    features = public(get_store().query(zone.id, layer.name, **layer_filters(layer)), layer)
    routes = []
    if clean_flag(request.args.get("uncovered")):
        walks = [shape(walk["geometry"]) for walk in get_store().query(zone.id, "audits")]
        routes = uncovered_routes(uncovered(zone.boundary, walks))
    output = get_format("gpx")
    response = Response(output.write(features, layer, routes=routes), mimetype=output.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{zone.id}_lights_next_walk.gpx"'
    return response


# -- pages ---------------------------------------------------------------------------------------------------------


@bp.get("/walks/<zone_id>/<walk_id>")
def walk_page(zone_id, walk_id):
    zone, schema = get_zones().get(zone_id), get_schema()
    walk = get_store().get(zone.id, "audits", walk_id)
    if walk["properties"].get("status") not in schema.layer("audits").public_statuses:
        raise FeatureNotFound(f"No walk {walk_id!r} in zone {zone.id!r}.", field="id")
    reports = audit_reports(zone.id, walk_id)
    figures = walk_figures(shape(walk["geometry"]), zone.boundary, len(reports))
    lights = schema.layer("lights")
    labels = {category.id: category.label for category in lights.categories}
    return render_template("walk.html", zone=zone, walk=walk, walk_properties=walk["properties"], figures=figures,
                           summary=walk_summary(walk["properties"]), findings=reports, labels=labels, status_label=lights.status_label,
                           map_data={"walk": walk, "findings": reports},
                           tiles_url=current_app.config["TILES_URL"],
                           tiles_attribution=current_app.config["TILES_ATTRIBUTION"])


@bp.route("/zones/<zone_id>/walks/upload", methods=["GET", "POST"])
def upload_page(zone_id):
    """The form officers and steering-group members use after a walk: the same import as the API and the CLI."""
    zone = get_zones().get(zone_id)
    account = require_zone(zone.id, WALKERS)
    result, error = None, None
    if request.method == "POST":
        upload, form = request.files.get("file"), request.form
        try:
            if upload is None or not upload.filename:
                raise ValidationError(_("Choose the GPX file of the walk."), field="file")
            schema = get_schema()
            result = import_walk(upload.stream.read(MAX_BYTES + 1), zone.id, schema=schema, zones=get_zones(),
                                 store=get_store(), file_name=upload.filename, title=form.get("title"),
                                 walked_on=form.get("date"), walkers=form.get("walkers"),
                                 keep_outside=clean_flag(form.get("keep_outside")), keywords=keywords(schema))
        except MapperError as caught:
            error = caught
    status = error.status if error is not None else 200
    return render_template("walk_upload.html", zone=zone, account=account, result=result and result.to_dict(),
                           walk_url=url_for("audits.walk_page", zone_id=zone.id, walk_id=result.walk["id"])
                           if result is not None and result.walk is not None else None, error=error), status


# -- helpers -------------------------------------------------------------------------------------------------------


def audit_reports(zone_id, walk_id=None):
    """The zone's public lighting reports that came from audit walks (of one walk, when given), as dicts."""
    layer = get_schema().layer("lights")
    features = public(get_store().query(zone_id, layer.name), layer)
    found = [json.loads(line) for line in features.lines if AUDIT_SOURCE in line]
    found = [f for f in found if f["properties"].get("source") == "audit"]
    return [f for f in found if f["properties"].get("walk") == walk_id] if walk_id else found


def walk_summary(properties):
    """Start and end in UK local time (HH:MM) and the duration as "1 h 05 min", for the page."""
    summary = {}
    for name in ("start", "end"):
        if properties.get(name):
            summary[name] = parse_datetime(properties[name], name).astimezone(LOCAL_TIME).strftime("%H:%M")
    if properties.get("duration_s") is not None:
        hours, minutes = divmod(round(properties["duration_s"] / 60), 60)
        summary["duration"] = f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    return summary


def keywords(schema):
    path = current_app.config.get("AUDIT_KEYWORDS_FILE", KEYWORDS_FILE)
    return load_keywords(path, categories=schema.layer("lights").category_ids)
