"""HTML pages: the zone list and each zone's map.

The map page carries no features (its layers fetch ``.points`` JSON), so its HTML depends only on the zone, the
schema and the configuration, and is cached per app on exactly those.
"""

from flask import Blueprint, Response, current_app, render_template, request, url_for

from mapper.render.maps import Assets, PointSource, zone_map_html
from mapper.web.api import zone_summary
from mapper.web.context import get_schema, get_zones
from mapper.web.vendor import vendor_url

bp = Blueprint("pages", __name__)

CACHE_SIZE = 64  # zones x boundary versions; a handful in practice


@bp.get("/")
def index():
    zones = [zone_summary(zone) for zone in get_zones()]
    return render_template("index.html", zones=zones, layers=[layer for layer in get_schema() if layer.on_map])


@bp.get("/zones/<zone_id>")
def zone_map(zone_id):
    zone = get_zones().get(zone_id)
    return Response(cached_map_html(zone), mimetype="text/html")


def cached_map_html(zone):
    """The zone's map page, rendered once per (zone, boundary, name, config) for the life of the app."""
    config = current_app.config
    # The boundary's bytes are in the key so that `mapper zones add`/edits to the registry show up at once.
    key = (zone.id, zone.name, zone.boundary.wkb, repr(sorted(zone.properties.items())), request.script_root,
           config["ASSETS"], config["TILES_URL"], config["TILES_ATTRIBUTION"])
    cache = current_app.extensions.setdefault("mapper.pages", {})
    if key not in cache:
        if len(cache) >= CACHE_SIZE:
            cache.pop(next(iter(cache)))
        cache[key] = zone_map_html(zone, point_sources(zone), assets=map_assets(),
                                   tiles_url=config["TILES_URL"], tiles_attribution=config["TILES_ATTRIBUTION"],
                                   home_url=url_for("pages.index"))
    return cache[key]


def point_sources(zone):
    return [PointSource(layer,
                        points_url=url_for("api.layer_download", zone_id=zone.id, layer_name=layer.name,
                                           extension="points"),
                        feature_url_prefix=url_for("api.layer_default", zone_id=zone.id, layer_name=layer.name) + "/")
            for layer in get_schema() if layer.on_map]


def map_assets():
    return Assets(
        scripts=(("leaflet", vendor_url("leaflet", "dist/leaflet.js")),
                 ("supercluster", vendor_url("supercluster", "dist/supercluster.min.js")),
                 ("zone_map", url_for("static", filename="js/zone-map.js"))),
        stylesheets=(("leaflet_css", vendor_url("leaflet", "dist/leaflet.css")),
                     ("site_css", url_for("static", filename="css/site.css")),
                     ("map_css", url_for("static", filename="css/map.css"))))
