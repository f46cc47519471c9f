"""Community Payback planning (issue 7): site checks, the staff-only ``cp-sites`` layer, and the planning page.

A Community Payback (CP) project may only run within a walk of welfare facilities (toilets, water, shelter) for the
people on probation doing the work. This blueprint answers "can a project go here?" (``POST
/api/zones/<zone>/cp-check``), keeps candidate and active sites with their last check (``/api/zones/<zone>/cp-sites``),
offers residents' ``obscured`` lighting reports (overgrown vegetation: typical CP work) as candidates, and shows it
all on ``/zones/<zone>/community-payback`` with the catchments and the gaps (where a new facility would open up most
candidate sites). The geometry work is :mod:`mapper.analysis.catchments`; this module reads the store and answers.

Who sees what: CP sites are where people on probation work, so nothing here is public. Probation staff, officers and
administrators of the zone read and write; steering-group members read (they nominate community projects) but do not
write. The ``cp-sites`` layer has no public (and no open) statuses, so the public layer API, map, exports, counts and
``/api/nearby`` never show a site; the routes below claim ``/api/zones/<zone>/cp-sites...`` before the public API's
``<layer_name>`` rules do. Sites get no public reference (``BF-...``), so no tracking page finds one either.

Stored checks use the standard settings (:class:`~mapper.analysis.catchments.Settings` defaults: 10 minutes at
4.8 km/h); the page and ``cp-check`` also answer for other minutes, speeds and detour factors, without storing.
"""

from datetime import datetime, timezone

from flask import (Blueprint, Response, current_app, flash, jsonify, redirect, render_template, request,
                   url_for)
from flask_babel import gettext as _

from mapper import lifecycle
from mapper.analysis import catchments
from mapper.crs import geometry_to_metres
from mapper.errors import MapperError, NotFound, OutsideZone, ValidationError
from mapper.export import FORMATS, write_collection
from mapper.validate import clean_value, format_datetime, quote, validate_feature, validate_geometry
from mapper.web.api import read_json
from mapper.web.auth import protect_session_writes, require_zone
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("community_payback", __name__)

LAYER = "cp-sites"
READ_ROLES = ("officer", "admin", "probation", "steering")
WRITE_ROLES = ("officer", "admin", "probation")
LIVE = ("candidate", "active")  # planned or being worked; closed sites are history
REPORTS_LAYER, OFFERED_CATEGORY, OFFERED_KIND = "lights", "obscured", "vegetation-clearance"
SITE_FIELDS = ("name", "description", "kind", "source_report")  # what a client may say about a site
SETTING_FIELDS = ("minutes", "speed_kmh", "detour")
CHECK_FIELDS = ("within_reach", "minutes", "missing", "nearest", "limited_hours", "checked_at")
CHANGE_FIELDS = ("status", "public_note", "internal_note")
EXPORTS = ("geojson", "csv", "gpkg", "kml")  # a site is a point or an area: GPX and Shapefile take one kind only
GAPS = 5
NEAREST = 3


bp.before_request(protect_session_writes)


# -- what the analysis needs from the store ------------------------------------------------------------------------


class Planning:
    """One zone's inputs at one set of settings: its welfare facilities and street network, read once per request."""

    def __init__(self, zone, settings):
        self.zone, self.settings = zone, settings
        self.facilities, self.network = catchments.zone_inputs(get_store(), zone.id)

    def check(self, geometry):
        """``check_site``'s answer for a lon/lat Shapely geometry."""
        return catchments.check_site(geometry_to_metres(geometry), self.facilities, self.settings, self.network,
                                     nearest=NEAREST)

    def catchment_collection(self):
        parts = catchments.catchment_parts(catchments.catchments(self.facilities, self.settings, self.network))
        return catchments.catchment_collection(parts, self.settings)

    def gaps(self, candidates):
        """The ranked gaps for ``candidates`` (``[(key, lon/lat geometry)]``)."""
        sites = [(key, geometry_to_metres(geometry)) for key, geometry in candidates]
        return catchments.gaps(sites, self.facilities, self.settings, self.network, top=GAPS)


def settings_from(values):
    """The settings a request asks for (only the known keys are read), or the standard ones."""
    return catchments.Settings.parse({name: values[name] for name in SETTING_FIELDS
                                      if name in values and values[name] not in (None, "")})


def checked_zone(zone_id, roles=READ_ROLES):
    """``(account, zone)`` once the account may work here: who is asking is decided before the zone is looked up."""
    account = require_zone(zone_id, roles=roles)
    return account, get_zones().get(zone_id)


def within_zone(zone, geometry):
    """A site must lie wholly inside the zone it is planned for."""
    if not zone.boundary.covers(geometry):
        where = "partly outside" if zone.boundary.intersects(geometry) else "outside"
        raise OutsideZone(f"The site is {where} the {zone.name} zone ({zone.id}); a Community Payback site of this "
                          "zone must lie inside it.", field="geometry")
    return geometry


def check_properties(answer):
    """The stored form of a check (the layer's check properties), each value checked by the validator's rules."""
    nearest = "; ".join(f"{item['name']} ({item['minutes']:.1f} min)" if item["minutes"] is not None
                        else f"{item['name']} (no walk)" for item in answer["nearest"])  # none on the streets
    values = {"within_reach": bool(answer["within_reach"]),
              "minutes": None if answer["minutes"] is None else round(float(answer["minutes"]), 1),
              "missing": ", ".join(answer["missing"]) or None,
              "nearest": _shorten(nearest, get_schema().layer(LAYER).properties["nearest"].max_length),
              "limited_hours": bool(answer["limited_hours"]),
              "checked_at": format_datetime(datetime.now(timezone.utc))}
    layer = get_schema().layer(LAYER)
    return {name: clean_value(value, layer.properties[name], layer) for name, value in values.items()}


def _shorten(text, limit):
    return text if len(text) <= limit else text[: limit - 1] + "…"


# -- cp-check ------------------------------------------------------------------------------------------------------


@bp.post("/api/zones/<zone_id>/cp-check")
def cp_check(zone_id):
    """Can a CP project go here? ``{"geometry": Point or Polygon, "minutes"?, "speed_kmh"?, "detour"?}``."""
    _account, zone = checked_zone(zone_id)
    body = read_json()
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object: {\"geometry\": a GeoJSON Point or Polygon, and optionally "
                              "\"minutes\", \"speed_kmh\", \"detour\"}.", field="geometry")
    unknown = sorted(set(body) - {"geometry", *SETTING_FIELDS})
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(map(quote, unknown))}. Allowed: geometry, "
                              f"{', '.join(SETTING_FIELDS)}.", field=str(unknown[0]))
    geometry = within_zone(zone, validate_geometry(body.get("geometry"), get_schema().layer(LAYER).geometry))
    answer = Planning(zone, settings_from(body)).check(geometry)
    return jsonify({"zone": zone.id, **answer})


# -- the cp-sites layer (staff only) -------------------------------------------------------------------------------


@bp.get("/api/zones/<zone_id>/cp-sites")
def list_sites(zone_id):
    return export_sites(zone_id, "geojson")


@bp.get("/api/zones/<zone_id>/cp-sites.<extension>")
def export_sites(zone_id, extension):
    """The zone's sites (``status=`` filters) with their last check, for staff: GeoJSON, CSV (WKT), GeoPackage, KML."""
    _account, zone = checked_zone(zone_id)
    if extension not in EXPORTS:
        raise NotFound(f"No Community Payback site format {extension[:16]!r}. Formats are: {', '.join(EXPORTS)}.",
                       field="format")
    layer = get_schema().layer(LAYER)
    collection = {"type": "FeatureCollection", "name": LAYER, "features": sites(zone, statuses(layer))}
    response = Response(write_collection(FORMATS[extension], collection), mimetype=FORMATS[extension].mimetype)
    name = f"{zone.id}_{LAYER}_{datetime.now(timezone.utc).date().isoformat()}.{FORMATS[extension].file_suffix}"
    response.headers["Content-Disposition"] = f'{"attachment" if FORMATS[extension].attachment else "inline"}; ' \
                                              f'filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def statuses(layer):
    """The ``status`` filter of a listing (comma-separated), checked; all statuses by default."""
    wanted = [value.strip() for value in request.args.get("status", "").split(",") if value.strip()]
    unknown = [value for value in wanted if value not in layer.statuses]
    if unknown:
        raise ValidationError(f"Unknown status {unknown[0][:40]!r}. Statuses are: {', '.join(layer.statuses)}.",
                              field="status")
    return wanted or list(layer.statuses)


def sites(zone, wanted=LIVE):
    return [feature for feature in get_store().features(zone.id, LAYER)
            if feature["properties"].get("status") in wanted]


@bp.get("/api/zones/<zone_id>/cp-sites/<feature_id>")
def get_site(zone_id, feature_id):
    _account, zone = checked_zone(zone_id)
    return geojson(get_store().get(zone.id, LAYER, feature_id))


@bp.post("/api/zones/<zone_id>/cp-sites")
def create_site(zone_id):
    """A new candidate site: a GeoJSON Feature (Point or Polygon; name, kind, description), or ``{"report": id or
    ref}`` of an open ``obscured`` lighting report of the zone (name, kind and description may be given too)."""
    account, zone = checked_zone(zone_id, WRITE_ROLES)
    body = read_json()
    if isinstance(body, dict) and "report" in body:
        stored = add_site_from_report(zone, body)
    else:
        stored = add_site(zone, body)
    response = geojson(stored, status=201)
    response.headers["Location"] = url_for("community_payback.get_site", zone_id=zone.id,
                                           feature_id=stored["properties"]["id"])
    return response


def add_site(zone, raw):
    """Validate a client's Feature (its own fields only), check it, and store it with the check."""
    layer = get_schema().layer(LAYER)
    if not isinstance(raw, dict):
        raise ValidationError("Send a GeoJSON Feature with a Point or Polygon, or {\"report\": an obscured report's "
                              "id or ref}.", field="type")
    properties = raw.get("properties")
    if isinstance(properties, dict):
        stray = sorted(set(properties) - set(SITE_FIELDS))
        if stray:
            raise ValidationError(f"{', '.join(map(quote, stray))}: a site's check and status are set by the "
                                  f"server. Send only {', '.join(SITE_FIELDS)}.", field=str(stray[0]))
    submission = validate_feature(raw, layer)  # shape, fields and their types, before anything is computed
    within_zone(zone, submission.geometry)
    source = submission.properties.get("source_report")
    if source is not None:
        report = find_report(zone, source, field="source_report")
        refuse_second_site(zone, report)
    answer = Planning(zone, catchments.Settings()).check(submission.geometry)
    submission.properties.update({k: v for k, v in check_properties(answer).items() if v is not None})
    return get_store().append(zone.id, layer.name, [submission])[0]  # no ref: a tracking page must not find it


def add_site_from_report(zone, body):
    """A candidate site at a resident's open ``obscured`` report: overgrowth to clear."""
    unknown = sorted(set(body) - {"report", "name", "kind", "description"})
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(map(quote, unknown))}. Allowed: report, name, kind, "
                              "description.", field=str(unknown[0]))
    if not isinstance(body["report"], str) or not body["report"].strip():
        raise ValidationError("report must be the id or reference of an obscured lighting report.", field="report")
    report = find_report(zone, body["report"].strip())
    properties = report["properties"]
    lights = get_schema().layer(REPORTS_LAYER)
    if properties.get("category") != OFFERED_CATEGORY:
        raise ValidationError(f"Report {properties.get('ref') or properties['id']} is not about overgrown vegetation "
                              f"({OFFERED_CATEGORY}); add a site by its point or area instead.", field="report")
    if properties.get("status") not in lights.open_statuses:
        raise ValidationError(f"Report {properties.get('ref') or properties['id']} is "
                              f"{lights.status_label(properties.get('status'))!r}, so there is nothing left to clear.",
                              field="report", status=409, code="conflict")
    refuse_second_site(zone, report)
    reference = properties.get("ref") or properties["id"]
    fields = {"name": body.get("name") or properties.get("location_text")
              or _("Overgrown vegetation (report %(ref)s)", ref=reference),
              "kind": body.get("kind") or OFFERED_KIND,
              "description": body.get("description") or properties.get("description"),
              "source_report": reference}
    return add_site(zone, {"type": "Feature", "geometry": report["geometry"],
                           "properties": {k: v for k, v in fields.items() if v is not None}})


def find_report(zone, identifier, field="report"):
    """The zone's lighting report with this id or ref, or 404."""
    store = get_store()
    for column in ("ref", "id"):
        found = store.find(zone.id, REPORTS_LAYER, column, identifier)
        if found is not None:
            return found
    raise NotFound(f"No lighting report {identifier[:64]!r} in the {zone.name} zone ({zone.id}).", field=field)


def refuse_second_site(zone, report):
    properties = report["properties"]
    refs = {properties.get("ref"), properties.get("id")} - {None}
    for site in sites(zone):
        if site["properties"].get("source_report") in refs:
            raise ValidationError(f"Report {properties.get('ref') or properties['id']} is already the site "
                                  f"{site['properties'].get('name')!r} ({site['properties']['id']}).",
                                  field="report", status=409, code="conflict")


@bp.patch("/api/zones/<zone_id>/cp-sites/<feature_id>")
def change_site(zone_id, feature_id):
    """``{"status", "public_note"?, "internal_note"?}``: candidate -> active -> closed (data/layers.toml's
    transitions), kept in the site's history with who made the change (privately)."""
    account, zone = checked_zone(zone_id, WRITE_ROLES)
    body = read_json()
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object with status, public_note or internal_note.", field="status")
    unknown = sorted(set(body) - set(CHANGE_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(map(quote, unknown))}. Allowed: "
                              f"{', '.join(CHANGE_FIELDS)}.", field=str(unknown[0]))
    return geojson(change_status(account, zone, feature_id, body.get("status"), body.get("public_note"),
                                 body.get("internal_note")))


def change_status(account, zone, feature_id, status, public_note=None, internal_note=None):
    layer = get_schema().layer(LAYER)
    if not isinstance(status, str) or not status:
        raise ValidationError(f"status is required: one of {', '.join(layer.statuses)}.", field="status")
    get_store().get(zone.id, LAYER, feature_id)  # 404 first: Store.update of a zone with no sites yet is no answer
    stages = lifecycle.lifecycle_for(current_app.config["LAYERS_FILE"], layer)
    return lifecycle.change(get_store(), layer, stages, zone.id, feature_id, by=account.name, status=status,
                            public_note=public_note, internal_note=internal_note)


@bp.post("/api/zones/<zone_id>/cp-sites/<feature_id>/check")
def recheck_site(zone_id, feature_id):
    """Check one site again (after facilities changed) and store the result."""
    _account, zone = checked_zone(zone_id, WRITE_ROLES)
    return geojson(recheck(zone, Planning(zone, catchments.Settings()), feature_id))


@bp.post("/api/zones/<zone_id>/cp-sites/check")
def recheck_all(zone_id):
    """Check every candidate and active site again; answers how many changed their verdict."""
    _account, zone = checked_zone(zone_id, WRITE_ROLES)
    planning = Planning(zone, catchments.Settings())
    before = {site["properties"]["id"]: site["properties"].get("within_reach") for site in sites(zone)}
    after = [recheck(zone, planning, feature_id) for feature_id in before]
    changed = [site["properties"]["id"] for site in after
               if site["properties"].get("within_reach") != before[site["properties"]["id"]]]
    return jsonify({"zone": zone.id, "checked": len(after), "changed": changed})


def recheck(zone, planning, feature_id):
    from shapely.geometry import shape

    store = get_store()
    site = store.get(zone.id, LAYER, feature_id)
    found = check_properties(planning.check(shape(site["geometry"])))

    def record(properties):
        for name in CHECK_FIELDS:
            properties.pop(name, None)
        return {**properties, **{name: value for name, value in found.items() if value is not None}}

    return store.update(zone.id, LAYER, feature_id, record)


def geojson(feature, status=200):
    response = Response(current_app.json.dumps(feature), status=status, mimetype="application/geo+json")
    response.headers["Cache-Control"] = "private, no-store"
    return response


# -- the planning page ---------------------------------------------------------------------------------------------


def plan(zone, settings):
    """Everything the page shows, at ``settings``: facilities, catchments, sites and offered reports each with a
    live check, and the gaps. Plain data (JSON-ready), the same for the HTML tables and the map."""
    from shapely.geometry import shape

    planning = Planning(zone, settings)
    layer, lights = get_schema().layer(LAYER), get_schema().layer(REPORTS_LAYER)
    site_rows = []
    for site in sites(zone, layer.statuses):
        properties = site["properties"]
        live = planning.check(shape(site["geometry"])) if properties.get("status") in LIVE else None
        kind = layer.category(properties.get("kind"))
        site_rows.append({"id": properties["id"], "name": properties.get("name"), "kind": properties.get("kind"),
                          "kind_label": _(kind.label) if kind else properties.get("kind"),
                          "status": properties.get("status"),
                          "status_label": _(layer.status_label(properties.get("status"))),
                          "description": properties.get("description"),
                          "source_report": properties.get("source_report"), "geometry": site["geometry"],
                          "stored": {name: properties.get(name) for name in CHECK_FIELDS}, "check": live,
                          "next_statuses": next_statuses(layer, properties.get("status"))})
    taken = {row["source_report"] for row in site_rows if row["status"] in LIVE and row["source_report"]}
    offers = []
    for report in get_store().features(zone.id, REPORTS_LAYER):
        properties = report["properties"]
        if (properties.get("category") != OFFERED_CATEGORY or properties.get("status") not in lights.open_statuses
                or {properties.get("ref"), properties.get("id")} & taken):
            continue
        offers.append({"id": properties["id"], "ref": properties.get("ref"),
                       "description": properties.get("description"), "location_text": properties.get("location_text"),
                       "created": properties.get("created"), "geometry": report["geometry"],
                       "check": planning.check(shape(report["geometry"]))})
    candidates = [(f"site:{row['id']}", shape(row["geometry"])) for row in site_rows if row["status"] == "candidate"]
    candidates += [(f"report:{row['id']}", shape(row["geometry"])) for row in offers]
    names = {f"site:{row['id']}": row["name"] for row in site_rows}
    names.update({f"report:{row['id']}": row["ref"] or row["id"] for row in offers})
    gaps = [{**gap, "names": [names.get(key, key) for key in gap["sites"]]} for gap in planning.gaps(candidates)]
    return {"zone": {"id": zone.id, "name": zone.name}, "settings": settings_dict(planning),
            "facilities": [facility_dict(facility) for facility in planning.facilities],
            "catchments": planning.catchment_collection(), "sites": site_rows, "offers": offers, "gaps": gaps,
            "candidates": len(candidates),
            "blocked": sum(1 for row in site_rows if row["status"] == "candidate" and not row["check"]["within_reach"])
            + sum(1 for row in offers if not row["check"]["within_reach"])}


def offer_labels():
    return {"toilets": _("toilets"), "water": _("drinking water"), "shelter": _("shelter")}


def settings_dict(planning):
    settings = planning.settings
    return {"minutes": settings.minutes, "speed_kmh": settings.speed_kmh, "detour": settings.detour,
            "reach_m": round(settings.reach_m, 1), "radius_m": round(settings.radius_m, 1),
            "network_buffer_m": settings.network_buffer_m, "required": list(settings.required),
            "method": "network" if planning.network is not None else "circle"}


def facility_dict(facility):
    return {"id": facility.id, "name": facility.name, "category": facility.category,
            "offers": facility.offers_list, "opening_hours": facility.opening_hours,
            "always_open": facility.always_open, "lon": facility.lon, "lat": facility.lat}


def next_statuses(layer, status):
    stages = lifecycle.lifecycle_for(current_app.config["LAYERS_FILE"], layer)
    allowed = stages.allowed_from(status)
    return [s for s in (layer.statuses if allowed is None else allowed) if s != status]


def page_settings():
    """The page's settings from its query string; bad values are shown on the page with the standard ones used."""
    try:
        return settings_from(request.args), None
    except ValidationError as error:
        return catchments.Settings(), error


@bp.get("/zones/<zone_id>/community-payback")
def planning_page(zone_id):
    account, zone = checked_zone(zone_id)
    return render_page(account, zone)


def render_page(account, zone, error=None, status=200):
    settings, bad_setting = page_settings()
    data = plan(zone, settings)
    layer = get_schema().layer(LAYER)
    query = {name: request.args[name] for name in SETTING_FIELDS if request.args.get(name)}
    response = Response(render_template(
        "community_payback.html", zone=zone, account=account, data=data, error=error or bad_setting,
        can_write=account.role in WRITE_ROLES, kinds=layer.categories, chosen=request.args,
        data_url=url_for("community_payback.planning_data", zone_id=zone.id, **query),
        catchments_url=url_for("community_payback.catchments_download", zone_id=zone.id, **query),
        sites_url=url_for("community_payback.list_sites", zone_id=zone.id),
        check_url=url_for("community_payback.cp_check", zone_id=zone.id),
        add_url=url_for("community_payback.add_from_page", zone_id=zone.id, **query),
        site_url=lambda feature_id: url_for("community_payback.change_from_page", zone_id=zone.id,
                                            feature_id=feature_id, **query),
        status_label=lambda s: _(layer.status_label(s)), offer_labels=offer_labels(),
        kind_labels={category.id: _(category.label) for category in layer.categories}),
        status=status if not bad_setting else 422)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/zones/<zone_id>/community-payback.json")
def planning_data(zone_id):
    """What the page's map draws, at the page's settings (``minutes``, ``speed_kmh``, ``detour``)."""
    _account, zone = checked_zone(zone_id)
    response = jsonify(plan(zone, settings_from(request.args)))
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/zones/<zone_id>/community-payback/catchments.geojson")
def catchments_download(zone_id):
    """The zone's catchment layer (RFC 7946 lon/lat) for GIS, at the asked settings; each part says which facilities
    serve it, what they offer and whether only limited-hours ones do."""
    _account, zone = checked_zone(zone_id)
    collection = Planning(zone, settings_from(request.args)).catchment_collection()
    response = Response(write_collection(FORMATS["geojson"], collection), mimetype="application/geo+json")
    name = f"{zone.id}_catchments_{datetime.now(timezone.utc).date().isoformat()}.geojson"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/zones/<zone_id>/community-payback/sites")
def add_from_page(zone_id):
    """The page's forms: an offered report as a candidate (``report``), or a point clicked on the map (``lon``,
    ``lat``, ``name``, ``kind``)."""
    account, zone = checked_zone(zone_id, WRITE_ROLES)
    form = request.form
    try:
        if form.get("report"):
            stored = add_site_from_report(zone, {"report": form["report"]})
        else:
            stored = add_site(zone, {"type": "Feature", "geometry": {"type": "Point", "coordinates": [
                form_number(form, "lon"), form_number(form, "lat")]}, "properties": {
                name: form.get(name) for name in ("name", "kind", "description") if form.get(name)}})
    except MapperError as error:
        return render_page(account, zone, error=error, status=error.status)
    flash(_("Added the candidate site %(name)s.", name=stored["properties"]["name"]))
    return redirect(url_for("community_payback.planning_page", zone_id=zone.id, **settings_query()) + "#sites",
                    code=303)


@bp.post("/zones/<zone_id>/community-payback/sites/<feature_id>")
def change_from_page(zone_id, feature_id):
    """A site's row: a new status (``status``), or ``check`` to check it again and store the result."""
    account, zone = checked_zone(zone_id, WRITE_ROLES)
    try:
        if request.form.get("check"):
            stored = recheck(zone, Planning(zone, catchments.Settings()), feature_id)
            flash(_("Checked %(name)s again.", name=stored["properties"].get("name")))
        else:
            stored = change_status(account, zone, feature_id, request.form.get("status"),
                                   request.form.get("public_note") or None)
            flash(_("%(name)s is now: %(status)s.", name=stored["properties"].get("name"),
                    status=_(get_schema().layer(LAYER).status_label(stored["properties"]["status"]))))
    except MapperError as error:
        return render_page(account, zone, error=error, status=error.status)
    return redirect(url_for("community_payback.planning_page", zone_id=zone.id, **settings_query()) + "#sites",
                    code=303)


def settings_query():
    return {name: request.args[name] for name in SETTING_FIELDS if request.args.get(name)}


def form_number(form, name):
    """A number from a form field for the validator (which then checks its range), or a 422 naming the field."""
    text = (form.get(name) or "").strip()
    try:
        return float(text)
    except ValueError:
        raise ValidationError(f"{name} must be a number; got {text[:40]!r}.", field=name) from None
