"""The officers' repair work list: a page (filters, counts per state, the list oldest first, status changes one by one
or in bulk) and its exports for the councils' works systems (CSV, XLSX, GeoJSON).

Every route asks who is signing in before anything else (401, then 403 outside the officer's zones). A status change
from the page goes through :func:`mapper.lifecycle.change`, the same function as ``PATCH /api/zones/<zone>/lights/<id>``:
the same transitions, the same history. A bulk change changes each report in its own atomic update, so a refused
report (an invalid transition) is reported and left exactly as it was, while the others change.

Contact details appear only in an export that asks for them (``personal=1``); it is then marked as personal data and
never cached.

The page's map and detail panel (``mapper/static/js/repairs.js``, progressive enhancement: the list and its forms work
without JavaScript) read two officer-only JSON answers: ``repairs/map.json`` (the reports the page's filters select,
with only the fields a pin needs: never text, never a private field) and ``repairs/<id>.json`` (one report for the
panel: photo, history with who made each change and the internal notes, the lamp column, and the next statuses).
Pins and rows are coloured by ``[layers.lights.status_colours]`` in data/layers.toml.
"""

import math
from collections import Counter

from flask import Blueprint, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _

from mapper import lifecycle
from mapper.crs import to_british_national_grid
from mapper.errors import MapperError, NotFound, ValidationError
from mapper.export import worklist
from mapper.web.auth import protect_session_writes, require_zone
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("repairs", __name__)
bp.before_request(protect_session_writes)  # CSRF for sessions' writes, after the sign-in check

LAYER = "lights"
CHANGE_FIELDS = ("status", "priority", "public_note", "internal_note", "duplicate_of")
BULK_LIMIT = 500  # reports in one bulk change: each is its own locked update of the layer file
MAP_FIELDS = ("id", "ref", "lon", "lat", "status", "category", "priority", "days_open")  # a pin's: no text, no contact


def checked_zone(zone_id):
    """``(officer, zone, layer, lifecycle)`` once the officer may work in the zone (before the zone is looked up: a
    stranger learns nothing)."""
    officer = require_zone(zone_id)
    zone = get_zones().get(zone_id)
    layer = get_schema().layer(LAYER)
    return officer, zone, layer, lifecycle.lifecycle_for(current_app.config["LAYERS_FILE"], layer)


def filters_from(args, layer, stages):
    return worklist.Filters.parse(layer, stages.priorities, status=args.getlist("status"),
                                  category=args.getlist("category"), priority=args.getlist("priority"),
                                  older_than_days=args.get("older_than_days"))


def tracking_link(ref):
    return url_for("report.tracking_page", ref=ref, _external=True)


def priority_label(name):
    """The councils' repair-plan horizon in words (the page, the panel); an unknown one as it is, none as None."""
    labels = {"short": _("Short term"), "medium": _("Medium term"), "long": _("Long term")}
    return labels.get(name, name) if name else None


def status_group(layer, status):
    """``open`` (still needs action), ``fixed`` or ``closed``: the pin's shape, so colour is never the only cue."""
    if status in layer.open_statuses:
        return "open"
    return "fixed" if status == lifecycle.FIXED else "closed"


def status_key(layer, counts=None):
    """Each status of the layer with its label, colour, group and (when given) how many reports are in it."""
    return [{"id": status, "label": _(layer.status_label(status)), "colour": layer.status_colour(status),
             "group": status_group(layer, status), **({"count": counts.get(status, 0)} if counts is not None else {})}
            for status in layer.statuses]


@bp.get("/zones/<zone_id>/repairs/worklist.<extension>")
def worklist_export(zone_id, extension):
    _officer, zone, layer, stages = checked_zone(zone_id)
    if extension not in worklist.EXTENSIONS:
        raise NotFound(f"No work-list format {extension[:16]!r}. Formats are: {', '.join(worklist.EXTENSIONS)}.",
                       field="format")
    personal = request.args.get("personal", "") in ("1", "true", "yes")
    store = get_store()
    private_for = (lambda feature_id: store.get_private(zone.id, layer.name, feature_id)) if personal else None
    rows = worklist.rows(store.query(zone.id, layer.name), layer, link=tracking_link,
                         filters=filters_from(request.args, layer, stages), private_for=private_for)
    body = worklist.write(extension, rows, personal)
    name = worklist.file_name(zone.id, extension, personal)
    response = Response(body, mimetype=worklist.MIMETYPES[extension])
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "no-store" if personal else "private, no-cache"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- the page ------------------------------------------------------------------------------------------------------


def next_statuses(layer, stages, status):
    allowed = stages.allowed_from(status)
    return [s for s in (layer.statuses if allowed is None else allowed) if s != status]


def page(zone, layer, stages, officer, results=None, error=None, status=200):
    store = get_store()
    everything = store.query(zone.id, layer.name)
    try:
        filters = filters_from(request.args, layer, stages)
    except ValidationError as caught:
        filters, error, status = worklist.Filters(), error or caught, 422
    rows = worklist.rows(everything, layer, link=tracking_link, filters=filters)
    for row in rows:
        row["next_statuses"] = next_statuses(layer, stages, row["status"])
    counts = {name: 0 for name in layer.statuses}
    for value in everything.columns["status"].tolist():
        counts[value] = counts.get(value, 0) + 1
    query = request.query_string.decode("ascii", "replace")
    exports = {extension: url_for("repairs.worklist_export", zone_id=zone.id, extension=extension,
                                  **request.args.to_dict(flat=False))
               for extension in worklist.EXTENSIONS}
    personal_exports = {extension: url_for("repairs.worklist_export", zone_id=zone.id, extension=extension,
                                           **{**request.args.to_dict(flat=False), "personal": "1"})
                        for extension in worklist.EXTENSIONS}
    return render_template(
        "repairs.html", zone=zone, layer=layer, officer=officer, rows=rows, counts=counts, filters=filters,
        priorities=stages.priorities, status_label=layer.status_label, open_statuses=layer.open_statuses,
        category_label=lambda c: (layer.category(c).label if layer.category(c) else c),
        status_colour=layer.status_colour, status_group=lambda s: status_group(layer, s),
        priority_label=priority_label, exports=exports, personal_exports=personal_exports, results=results,
        error=error, change_url=url_for("repairs.change", zone_id=zone.id) + (f"?{query}" if query else ""),
        map_url=None if error else url_for("repairs.map_json", zone_id=zone.id, **request.args.to_dict(flat=False)),
        detail_url=url_for("repairs.detail_json", zone_id=zone.id, feature_id="__ID__"),
        total=len(everything)), status


@bp.get("/zones/<zone_id>/repairs")
def repairs_page(zone_id):
    officer, zone, layer, stages = checked_zone(zone_id)
    return page(zone, layer, stages, officer)


@bp.post("/zones/<zone_id>/repairs/change")
def change(zone_id):
    """One report's form (``id``) or the bulk form (several ``id``): the same change to each, each on its own."""
    officer, zone, layer, stages = checked_zone(zone_id)
    form = request.form
    ids = list(dict.fromkeys(i.strip() for i in form.getlist("id") if i.strip()))
    fields = {name: (form.get(name) or "").strip() or None for name in CHANGE_FIELDS}
    if not ids:
        return page(zone, layer, stages, officer, error=ValidationError(_("Choose at least one report."),
                                                                         field="id"), status=422)
    if not fields["status"] and not fields["priority"]:
        return page(zone, layer, stages, officer, error=ValidationError(_("Choose a new status or priority."),
                                                                         field="status"), status=422)
    if len(ids) > BULK_LIMIT:
        return page(zone, layer, stages, officer, status=422, error=ValidationError(
            _("Change at most %(num)d reports at once.", num=BULK_LIMIT), field="id"))
    store = get_store()
    changed, refused = [], []
    for feature_id in ids:
        ref = feature_id[:64]
        try:
            ref = store.get(zone.id, layer.name, feature_id)["properties"].get("ref") or ref
            stored = lifecycle.change(store, layer, stages, zone.id, feature_id, by=officer.name, **fields)
            changed.append(stored["properties"].get("ref") or feature_id)
        except MapperError as caught:  # this report is left exactly as it was; the others still change
            refused.append({"ref": ref, "message": str(caught), "status": caught.status})
    results = {"changed": changed, "refused": refused}
    # One report refused is that refusal's status (409 for a transition); a bulk change answers 200 and lists them.
    status = refused[0]["status"] if len(ids) == 1 and refused else 200
    return page(zone, layer, stages, officer, results=results, status=status)


# -- the map and the detail panel (JSON for repairs.js) --------------------------------------------------------------


@bp.get("/zones/<zone_id>/repairs/map.json")
def map_json(zone_id):
    """The reports the page's filters select, as pins: only :data:`MAP_FIELDS`; and the key of status colours with
    how many of these reports are in each."""
    _officer, zone, layer, stages = checked_zone(zone_id)
    rows = worklist.rows(get_store().query(zone.id, layer.name), layer, link=lambda ref: None,  # no link on a pin
                         filters=filters_from(request.args, layer, stages))
    response = jsonify({"zone": zone.id, "count": len(rows),
                        "statuses": status_key(layer, Counter(row["status"] for row in rows)),
                        "categories": {c.id: _(c.label) for c in layer.categories},
                        "reports": [{name: row[name] for name in MAP_FIELDS} for row in rows]})
    response.headers["Cache-Control"] = "private, no-cache"
    return response


@bp.get("/zones/<zone_id>/repairs/<feature_id>.json")
def detail_json(zone_id, feature_id):
    """One report of the zone (by id or ref) for the officers' detail panel; never cached (internal notes)."""
    _officer, zone, layer, stages = checked_zone(zone_id)
    store = get_store()
    _found_in, feature = lifecycle.find_feature(store, layer, [zone.id], feature_id[:64])
    response = jsonify(report_details(zone, layer, stages, lifecycle.officer_view(store, layer, zone.id, feature)))
    response.headers["Cache-Control"] = "no-store"
    return response


def report_details(zone, layer, stages, view):
    """What the panel shows of a report: :func:`mapper.lifecycle.officer_view` less the contact details themselves
    (the panel says only whether the resident will be emailed; the personal-data export has them)."""
    properties = view["properties"]
    lon, lat = view["geometry"]["coordinates"][:2]
    easting, northing = to_british_national_grid(lon, lat)
    status, ref, photo = properties.get("status"), properties.get("ref"), properties.get("photo")
    category = layer.category(properties.get("category"))
    return {
        "id": properties.get("id"), "ref": ref, "zone": zone.id, "status": status,
        "status_label": _(layer.status_label(status)), "colour": layer.status_colour(status),
        "group": status_group(layer, status), "category": properties.get("category"),
        "category_label": _(category.label) if category else properties.get("category"),
        "priority": properties.get("priority"), "priority_label": priority_label(properties.get("priority")),
        "days_open": int(math.floor(worklist.age_days(properties, layer.open_statuses, worklist.utcnow()))),
        "created": properties.get("created"), "updated": properties.get("updated"),
        "confirmations": properties.get("confirmations", 0), "description": properties.get("description"),
        "location_text": properties.get("location_text"),
        "location_approximate": bool(properties.get("location_approximate")),
        "lon": lon, "lat": lat, "easting": round(float(easting), 1), "northing": round(float(northing), 1),
        "duplicate_of": properties.get("duplicate_of"),
        "photo": None if not photo else {
            "url": url_for("report.photo", zone_id=zone.id, name=photo),
            "thumbnail": url_for("report.photo", zone_id=zone.id, name=photo.replace(".jpg", "-thumb.jpg"))},
        "column": column_details(zone.id, properties.get("column"), lon, lat),
        "history": [history_entry(layer, record) for record in properties.get("history") or []
                    if isinstance(record, dict)],
        "tracking_url": url_for("report.tracking_page", ref=ref) if ref else None,
        "resident_emailed": bool((view.get("private") or {}).get("contact_email")),
        "next_statuses": [{"id": name, "label": _(layer.status_label(name))}
                          for name in next_statuses(layer, stages, status)],
        "priorities": [{"id": name, "label": priority_label(name)} for name in stages.priorities],
    }


def history_entry(layer, record):
    return {"at": record.get("at"), "from": record.get("from"), "to": record.get("to"),
            "from_label": _(layer.status_label(record.get("from"))) if record.get("from") else None,
            "to_label": _(layer.status_label(record.get("to"))) if record.get("to") else None,
            "priority": record.get("priority"), "priority_label": priority_label(record.get("priority")),
            "public_note": record.get("public_note"), "by": record.get("by"),
            "internal_note": record.get("internal_note")}


def column_details(zone_id, unit_id, lon, lat):
    """The report's lamp column: unit id, metres from the report, where it stands (lon/lat and the inventory's
    location text), or ``in_inventory`` False when the council no longer lists it; None when not linked."""
    from mapper.analysis.columns import LAYER, column_index

    if not unit_id:
        return None
    store = get_store()
    index = column_index(store, zone_id) if LAYER in get_schema() else None
    position = None if index is None else index.positions.get(unit_id)
    if position is None:
        return {"unit_id": unit_id, "in_inventory": False, "distance_m": None, "lon": None, "lat": None,
                "location": None}
    column_lon, column_lat = float(index.lon[position]), float(index.lat[position])
    # The index keeps no text: the column's own feature is found by its exact position (a bounding-box filter on the
    # layer's coordinate arrays), not by parsing every column of the zone.
    location = None
    for column in store.query(zone_id, LAYER, bbox=(column_lon, column_lat, column_lon, column_lat)):
        if column["properties"].get("unit_id") == unit_id:
            location = column["properties"].get("location")
            break
    return {"unit_id": unit_id, "in_inventory": True,
            "distance_m": round(index.distance_to(unit_id, lon, lat), 1), "lon": column_lon, "lat": column_lat,
            "location": location}
