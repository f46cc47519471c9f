"""Officers' API: change a report's status or priority, and read its private fields.

Every route checks who is asking before anything else (401 without credentials, 403 outside the officer's zones),
so a stranger learns nothing, not even whether a zone or report exists. A session-signed request that writes must
carry the CSRF token (``X-CSRFToken``); a bearer-token request reads no cookie and needs none.
"""

from flask import Blueprint, current_app, jsonify

from mapper import lifecycle
from mapper.errors import ValidationError
from mapper.web.api import read_json
from mapper.web.auth import protect_session_writes, require_zone
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("officers", __name__, url_prefix="/api")

CHANGE_FIELDS = ("status", "priority", "public_note", "internal_note", "duplicate_of")


bp.before_request(protect_session_writes)


def checked_feature(zone_id, layer_name, feature_id):
    """``(officer, zone, layer, feature)`` once the officer may see the zone."""
    officer = require_zone(zone_id)
    zone = get_zones().get(zone_id)
    layer = get_schema().layer(layer_name)
    return officer, zone, layer, get_store().get(zone.id, layer.name, feature_id)


@bp.patch("/zones/<zone_id>/<layer_name>/<feature_id>")
def change_feature(zone_id, layer_name, feature_id):
    officer, zone, layer, _ = checked_feature(zone_id, layer_name, feature_id)
    body = read_json()
    if not isinstance(body, dict):
        raise ValidationError("Send a JSON object with status, priority, public_note, internal_note or duplicate_of.")
    unknown = sorted(set(body) - set(CHANGE_FIELDS))
    if unknown:
        raise ValidationError(f"Unknown fields: {', '.join(map(repr, unknown))}. Allowed: {', '.join(CHANGE_FIELDS)}.",
                              field=str(unknown[0]))
    for name in ("status", "priority"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise ValidationError(f"{name} must be text.", field=name)
    store = get_store()
    stages = lifecycle.lifecycle_for(current_app.config["LAYERS_FILE"], layer)
    changed = lifecycle.change(store, layer, stages, zone.id, feature_id, by=officer.name,
                               **{name: body.get(name) for name in CHANGE_FIELDS})
    return jsonify(lifecycle.officer_view(store, layer, zone.id, changed))


@bp.get("/zones/<zone_id>/<layer_name>/<feature_id>/private")
def private_fields(zone_id, layer_name, feature_id):
    # Reading contact details is deliberately not written to any public history.
    _, zone, layer, feature = checked_feature(zone_id, layer_name, feature_id)
    response = jsonify(lifecycle.officer_view(get_store(), layer, zone.id, feature))
    response.headers["Cache-Control"] = "no-store"
    return response
