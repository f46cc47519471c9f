"""HTML pages: the zone list and each zone's map."""

from flask import Blueprint, render_template

from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("pages", __name__)


@bp.get("/")
def index():
    store, schema = get_store(), get_schema()
    zones = [(zone, {layer.name: len(store.query(zone.id, layer.name)) for layer in schema}) for zone in get_zones()]
    return render_template("index.html", zones=zones, layers=list(schema))


@bp.get("/zones/<zone_id>")
def zone_map(zone_id):
    zone = get_zones().get(zone_id)
    return render_template("index.html", zones=[], layers=[], zone=zone)
