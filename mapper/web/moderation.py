"""The moderators' page: pending asset contributions (approve, reject with a reason, correct and optionally approve)
and hiding abusive text from any report of the zone, or putting it back; and the same for token clients as JSON
(``GET /api/zones/<zone>/moderation``, ``POST /api/zones/<zone>/<layer>/<id>/moderation``).

Every route asks who is signing in before anything else (401, then 403 outside the officer's zones or for a
steering-group or probation account), then checks the form's CSRF token (a bearer-token client reads no cookie and
sends none). The work is done by :mod:`mapper.moderation`, the same functions as ``mapper moderate``: this module
parses the form, calls them and renders. A refused action renders the page again with the moderator's input and the
reason (422 for a bad value, 409 when the asset is no longer pending, 404 for an unknown report), and stores nothing.
A done action redirects (303) to the page, so reloading it cannot do it twice.

The page shows contributors' contact details, so it is never cached.
"""

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from mapper import lifecycle, moderation
from mapper.errors import MapperError, NotFound, ValidationError
from mapper.web.api import read_json
from mapper.web.auth import bearer_token, protect_session_writes, require_zone
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("moderation", __name__)
bp.before_request(protect_session_writes)  # CSRF for sessions' writes, after the sign-in check

LIST_LIMIT = 100  # pending contributions shown at once, oldest first; the rest follow as these are dealt with


def checked_zone(zone_id):
    """``(officer, zone)`` once the account may moderate in the zone."""
    officer = require_zone(zone_id)
    return officer, get_zones().get(zone_id)


@bp.get("/zones/<zone_id>/moderation")
def moderation_page(zone_id):
    officer, zone = checked_zone(zone_id)
    return page(zone, officer)


@bp.post("/zones/<zone_id>/moderation/<action>")
def act(zone_id, action):
    officer, zone = checked_zone(zone_id)
    if action not in ACTIONS:
        raise NotFound(f"No moderation action {action[:32]!r}. Actions are: {', '.join(ACTIONS)}.", field="action")
    try:
        message, report = ACTIONS[action](zone, officer, request.form)
    except MapperError as error:  # nothing was stored: show the form again with the reason
        return page(zone, officer, error=error, failed=(action, request.form.get("id")), status=error.status)
    if bearer_token() is None:  # a token client keeps no session to show it in
        flash(message)
    return redirect(url_for("moderation.moderation_page", zone_id=zone.id, report=report,
                            _anchor="report" if report else None), code=303)


# -- the actions: (zone, officer, form) -> (message, report ref to show or None) -----------------------------------


def pending_asset(zone, form):
    """``(layer, feature)`` of the asset named by the form's ``id`` in this zone."""
    layer = get_schema().layer(moderation.MODERATED_LAYER)
    feature_id = (form.get("id") or "").strip()
    if not feature_id:
        raise ValidationError(_("Choose an asset."), field="id")
    return layer, get_store().get(zone.id, layer.name, feature_id)


def name_of(feature):
    properties = feature["properties"]
    return f"{properties.get('name') or properties['id']} ({properties.get('ref') or properties['id']})"


def approve(zone, officer, form):
    layer, feature = pending_asset(zone, form)
    changed = moderation.approve(get_store(), layer, zone.id, feature["properties"]["id"], by=officer.name)
    return _("Published %(name)s.", name=name_of(changed)), None


def reason_for_rejecting(text):
    reason = lifecycle.clean_note(text, "reason")
    if not reason:
        raise ValidationError(_("Say why it is rejected, for the other moderators."), field="reason")
    return reason


def reject(zone, officer, form):
    layer, feature = pending_asset(zone, form)
    reason = reason_for_rejecting(form.get("reason"))
    changed = moderation.reject(get_store(), layer, zone.id, feature["properties"]["id"], by=officer.name,
                                reason=reason)
    return _("Rejected %(name)s.", name=name_of(changed)), None


def edit(zone, officer, form):
    layer, feature = pending_asset(zone, form)
    texts = {prop.name: form.get(prop.name) for prop in moderation.editable_properties(layer)
             if prop.name in form}
    and_approve = form.get("approve") in ("1", "on", "yes")
    changed = moderation.edit(get_store(), layer, zone.id, feature["properties"]["id"],
                              moderation.values_from_text(layer, texts), by=officer.name,
                              reason=form.get("reason"), approve=and_approve)
    if and_approve:
        return _("Corrected and published %(name)s.", name=name_of(changed)), None
    return _("Corrected %(name)s.", name=name_of(changed)), None


def found_report(zone, form):
    """``(layer, feature)`` of the report the hide or restore form names (``layer`` and ``id``) in this zone."""
    layer_name, feature_id = (form.get("layer") or "").strip(), (form.get("id") or "").strip()
    if layer_name not in moderation.REPORT_LAYERS or not feature_id:
        raise ValidationError(_("Find a report first."), field="report")
    layer = get_schema().layer(layer_name)
    return layer, get_store().get(zone.id, layer.name, feature_id)


def hide(zone, officer, form):
    layer, feature = found_report(zone, form)
    changed = moderation.hide(get_store(), layer, zone.id, feature["properties"]["id"], form.getlist("field"),
                              by=officer.name, reason=form.get("reason"))
    ref = changed["properties"].get("ref") or changed["properties"]["id"]
    return _("The text is hidden on %(ref)s.", ref=ref), ref


def restore(zone, officer, form):
    layer, feature = found_report(zone, form)
    changed = moderation.restore(get_store(), layer, zone.id, feature["properties"]["id"],
                                 form.getlist("field") or None, by=officer.name, reason=form.get("reason"))
    ref = changed["properties"].get("ref") or changed["properties"]["id"]
    return _("The hidden text of %(ref)s is back.", ref=ref), ref


ACTIONS = {"approve": approve, "reject": reject, "edit": edit, "hide": hide, "restore": restore}


# -- the page ------------------------------------------------------------------------------------------------------


def form_text(value):
    """A stored value as an edit form shows it: booleans as yes/no, nothing as blank."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def pending_item(zone, layer, feature, posted=None):
    """What a moderator needs to judge one contribution, and its edit form's values (``posted`` after a refusal)."""
    store = get_store()
    properties = feature["properties"]
    feature_id = properties["id"]
    lon, lat = feature["geometry"]["coordinates"][:2]
    category = layer.category(properties.get("category"))
    editable = moderation.editable_properties(layer)
    photo = properties.get("photo")
    return {
        "id": feature_id, "ref": properties.get("ref") or feature_id, "created": properties.get("created"),
        "category_label": category.label if category else properties.get("category"),
        "properties": properties, "lon": lon, "lat": lat,
        "map_url": url_for("pages.zone_map", zone_id=zone.id) + f"#18/{lat:.6f}/{lon:.6f}",
        "osm_url": f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=18/{lat:.6f}/{lon:.6f}",
        "photo": url_for("report.photo", zone_id=zone.id, name=photo) if photo else None,
        "contact": moderation.contact_details(store, layer, zone.id, feature_id),
        "hidden": moderation.moderation_state(store, layer, zone.id, feature_id)["hidden"],
        "editable": editable,
        "form": {prop.name: (posted.get(prop.name, "") if posted is not None else form_text(properties.get(prop.name)))
                 for prop in editable},
    }


def report_item(zone, layer, feature):
    """A found report for the hide and restore forms: its text fields (hidden ones with what was hidden, by whom and
    why) and its history with who and the internal notes."""
    store = get_store()
    properties = feature["properties"]
    feature_id = properties["id"]
    hidden = moderation.moderation_state(store, layer, zone.id, feature_id)["hidden"]
    fields = [{"name": name, "value": properties.get(name), "hidden": hidden.get(name)}
              for name in moderation.hideable_properties(layer)
              if properties.get(name) not in (None, "") or name in hidden]
    ref = properties.get("ref")
    return {
        "layer": layer, "id": feature_id, "ref": ref or feature_id, "status_label": layer.status_label(
            properties.get("status")), "tracking_url": url_for("report.tracking_page", ref=ref) if ref else None,
        "category": properties.get("category"), "fields": fields, "hidden": hidden,
        "history": lifecycle.officer_view(store, layer, zone.id, feature)["properties"]["history"],
    }


def page(zone, officer, error=None, failed=(None, None), status=200):
    store, schema = get_store(), get_schema()
    layer = schema.layer(moderation.MODERATED_LAYER)
    waiting = moderation.awaiting(store, layer, [zone.id])
    action, failed_id = failed
    items = [pending_item(zone, layer, feature,
                          posted=request.form if action == "edit" and feature["properties"]["id"] == failed_id
                          else None)
             for _zone, feature in waiting[:LIST_LIMIT]]
    query = request.form.get("ref") if action in ("hide", "restore") else request.args.get("report", "")
    report, search_error = None, None
    if query and query.strip():
        try:
            _zone, found_layer, feature = moderation.find_report(store, schema, [zone.id], query)
            report = report_item(zone, found_layer, feature)
        except MapperError as caught:
            search_error = caught
            status = caught.status if status == 200 else status
    response = current_app.make_response((render_template(
        "moderation.html", zone=zone, officer=officer, layer=layer, items=items, total=len(waiting),
        limit=LIST_LIMIT, error=error, failed_action=action, failed_id=failed_id, query=(query or "").strip(),
        report=report, search_error=search_error, placeholder=moderation.PLACEHOLDER,
        tiles_url=current_app.config["TILES_URL"], tiles_attribution=current_app.config["TILES_ATTRIBUTION"]),
        status))
    response.headers["Cache-Control"] = "no-store"  # contributors' contact details
    return response


# -- the same for token clients, as JSON ---------------------------------------------------------------------------

API_FIELDS = ("action", "reason", "properties", "approve", "fields")


@bp.get("/api/zones/<zone_id>/moderation")
def pending_json(zone_id):
    """The zone's pending contributions, oldest first, each with its private fields and staff history."""
    _officer, zone = checked_zone(zone_id)
    store, layer = get_store(), get_schema().layer(moderation.MODERATED_LAYER)
    features = [lifecycle.officer_view(store, layer, zone.id, feature)
                for _zone, feature in moderation.awaiting(store, layer, [zone.id])]
    response = current_app.json.response({"type": "FeatureCollection", "features": features})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/api/zones/<zone_id>/<layer_name>/<feature_id>/moderation")
def moderate_json(zone_id, layer_name, feature_id):
    """``{"action": "approve" | "reject" | "edit" | "hide" | "restore", "reason", "properties" (edit), "approve"
    (edit), "fields" (hide, restore)}`` -> the feature as officers see it."""
    officer, zone = checked_zone(zone_id)
    if layer_name not in moderation.REPORT_LAYERS:
        raise NotFound(f"No moderated layer {layer_name[:32]!r}. Layers are: {', '.join(moderation.REPORT_LAYERS)}.",
                       field="layer")
    layer, store = get_schema().layer(layer_name), get_store()
    body = read_json()
    if not isinstance(body, dict):
        raise ValidationError(f"Send a JSON object with {', '.join(API_FIELDS)}.")
    unknown = sorted(set(body) - set(API_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(map(repr, unknown))}. Allowed: {', '.join(API_FIELDS)}.",
                              field=str(unknown[0])[:64])
    action = body.get("action")
    if action not in ACTIONS:
        raise ValidationError(f"action must be one of: {', '.join(ACTIONS)}.", field="action")
    if action in ("approve", "reject", "edit") and layer.name != moderation.MODERATED_LAYER:
        raise ValidationError(f"Only {moderation.MODERATED_LAYER} wait for a moderator; {layer.name} can have text "
                              "hidden or restored.", field="action")
    if not isinstance(body.get("approve", False), bool):
        raise ValidationError("approve must be true or false.", field="approve")
    feature_id = store.get(zone.id, layer.name, feature_id)["properties"]["id"]  # 404 before anything else
    common = {"by": officer.name}
    if action == "approve":
        changed = moderation.approve(store, layer, zone.id, feature_id, reason=body.get("reason"), **common)
    elif action == "reject":
        changed = moderation.reject(store, layer, zone.id, feature_id, reason=reason_for_rejecting(body.get("reason")),
                                    **common)
    elif action == "edit":
        changed = moderation.edit(store, layer, zone.id, feature_id, body.get("properties"), reason=body.get("reason"),
                                  approve=body.get("approve", False), **common)
    elif action == "hide":
        changed = moderation.hide(store, layer, zone.id, feature_id, body.get("fields"), reason=body.get("reason"),
                                  **common)
    else:
        changed = moderation.restore(store, layer, zone.id, feature_id, body.get("fields") or None,
                                     reason=body.get("reason"), **common)
    response = current_app.json.response(lifecycle.officer_view(store, layer, zone.id, changed))
    response.headers["Cache-Control"] = "no-store"
    return response
