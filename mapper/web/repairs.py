"""The officers' repair work list: a page (filters, counts per state, the list oldest first, status changes one by one
or in bulk) and its exports for the councils' works systems (CSV, XLSX, GeoJSON).

Every route asks who is signing in before anything else (401, then 403 outside the officer's zones). A status change
from the page goes through :func:`mapper.lifecycle.change`, the same function as ``PATCH /api/zones/<zone>/lights/<id>``:
the same transitions, the same history. A bulk change changes each report in its own atomic update, so a refused
report (an invalid transition) is reported and left exactly as it was, while the others change.

Contact details appear only in an export that asks for them (``personal=1``); it is then marked as personal data and
never cached.
"""

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _

from mapper import lifecycle
from mapper.errors import MapperError, NotFound, ValidationError
from mapper.export import worklist
from mapper.web.auth import bearer_token, require_zone
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("repairs", __name__)

LAYER = "lights"
CHANGE_FIELDS = ("status", "priority", "public_note", "internal_note", "duplicate_of")
BULK_LIMIT = 500  # reports in one bulk change: each is its own locked update of the layer file


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
        exports=exports, personal_exports=personal_exports, results=results, error=error,
        change_url=url_for("repairs.change", zone_id=zone.id) + (f"?{query}" if query else ""),
        total=len(everything)), status


@bp.get("/zones/<zone_id>/repairs")
def repairs_page(zone_id):
    officer, zone, layer, stages = checked_zone(zone_id)
    return page(zone, layer, stages, officer)


@bp.post("/zones/<zone_id>/repairs/change")
def change(zone_id):
    """One report's form (``id``) or the bulk form (several ``id``): the same change to each, each on its own."""
    officer, zone, layer, stages = checked_zone(zone_id)
    if bearer_token() is None:
        current_app.extensions["csrf"].protect()  # a session's form carries the token; a bearer token reads no cookie
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
