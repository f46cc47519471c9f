"""HTML pages: the zone list and each zone's map.

The map page carries no features (its layers fetch ``.points`` JSON), so its HTML depends only on the zone, the
schema, the configuration and the visitor's language, and is cached per app on exactly those. Its words are
translated here with Flask-Babel and handed to the renderer as a plain mapping, since rendering knows no Flask.
"""

import secrets

from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import get_locale, gettext

from mapper.render.maps import GI_BIN_CLASSES, N_, LineSource, Assets, PointSource, page_texts, zone_map_html
from mapper.web.api import zone_summary
from mapper.web.context import get_schema, get_zones
from mapper.web.i18n import SOURCE_LANGUAGE, available_languages
from mapper.web.security_headers import csp_nonce
from mapper.web.vendor import vendor_url

bp = Blueprint("pages", __name__)

CACHE_SIZE = 64  # zones x boundary versions x languages; a few dozen in practice


@bp.get("/")
def index():
    zones = [zone_summary(zone) for zone in get_zones()]
    return render_template("index.html", zones=zones, layers=map_layers())


@bp.get("/zones/<zone_id>")
def zone_map(zone_id):
    zone = get_zones().get(zone_id)
    # The cached page holds this app's secret placeholder where its inline script's nonce goes (see cached_map_html).
    html = cached_map_html(zone).replace(nonce_slot(), csp_nonce())
    response = Response(html, mimetype="text/html")
    response.vary.update(("Accept-Language", "Cookie"))  # the language comes from either; caches must not mix them
    return response


def cached_map_html(zone):
    """The zone's map page, rendered once per (zone, boundary, name, config, language) for the life of the app."""
    config = current_app.config
    language, languages = str(get_locale() or SOURCE_LANGUAGE), tuple(available_languages())
    # The boundary's bytes are in the key so that `mapper zones add`/edits to the registry show up at once.
    key = (zone.id, zone.name, zone.boundary.wkb, repr(sorted(zone.properties.items())), request.script_root,
           config["ASSETS"], config["TILES_URL"], config["TILES_ATTRIBUTION"], language, languages)
    cache = current_app.extensions.setdefault("mapper.pages", {})
    if key not in cache:
        if len(cache) >= CACHE_SIZE:
            cache.pop(next(iter(cache)))
        sources = point_sources(zone)
        cache[key] = zone_map_html(zone, sources, assets=map_assets(), lines=line_sources(zone),
                                   tiles_url=config["TILES_URL"], tiles_attribution=config["TILES_ATTRIBUTION"],
                                   home_url=url_for("pages.index"), translations=translations(sources),
                                   language=language_tag(language), languages=languages, current_language=language,
                                   nonce=nonce_slot())
    return cache[key]


def nonce_slot():
    """A random token, secret to this app, that the cached pages carry as their script nonce and each answer
    replaces with its own: a fixed placeholder could be planted in a zone's name to be turned into a live nonce."""
    return current_app.extensions.setdefault("mapper.pages.nonce_slot", secrets.token_urlsafe(18))


def translations(sources):
    """Every text the map page can show, in the visitor's language; the layers' titles and labels come from
    data/layers.toml, so they are looked up at run time (a catalogue that has them translates them)."""
    return {text: gettext(text) for text in page_texts(source.layer for source in sources)}


def language_tag(locale):
    """Babel's locale name as an HTML language tag, as templates/base.html writes it: en -> en-GB, pt_BR -> pt-BR."""
    return "en-GB" if locale == SOURCE_LANGUAGE else locale.replace("_", "-")


def map_layers():
    """The layers whose pins any visitor may see: on the map, and not staff-only (the page is cached for everyone)."""
    return [layer for layer in get_schema() if layer.on_map and not layer.staff_only]


def point_sources(zone):
    return [PointSource(layer,
                        points_url=url_for("api.layer_download", zone_id=zone.id, layer_name=layer.name,
                                           extension="points"),
                        feature_url_prefix=url_for("api.layer_default", zone_id=zone.id, layer_name=layer.name) + "/")
            for layer in map_layers()]


def line_sources(zone):
    """The overlays off until switched on: audit walks and the area no walk has covered yet, when the schema has an
    audits layer; anti-social behaviour hotspots (Gi*, public and suppressed, as the hotspot API gives anyone) when it
    has a crime layer."""
    schema = get_schema()
    sources = []
    if "audits" in schema:
        sources += [
            LineSource(N_("Audit walks"), url_for("api.layer_download", zone_id=zone.id, layer_name="audits",
                                                  extension="geojson"),
                       colour="#6a3d9a", page_url_prefix=url_for("audits.walk_page", zone_id=zone.id, walk_id="x")[:-1]),
            LineSource(N_("Not yet walked"), url_for("audits.uncovered_area", zone_id=zone.id), colour="#b35806",
                       fill=True)]
    if "crime" in schema:
        sources.append(LineSource(
            N_("Anti-social behaviour hotspots"),
            url_for("analysts.hotspots_download", zone_id=zone.id, extension="geojson",
                    layer="crime:anti-social-behaviour", method="gi"),
            fill=True, style_by="Gi_Bin", classes=GI_BIN_CLASSES))
    return sources


def map_assets():
    return Assets(
        scripts=(("leaflet", vendor_url("leaflet", "dist/leaflet.js")),
                 ("supercluster", vendor_url("supercluster", "dist/supercluster.min.js")),
                 ("zone_map", url_for("static", filename="js/zone-map.js"))),
        stylesheets=(("leaflet_css", vendor_url("leaflet", "dist/leaflet.css")),
                     ("site_css", url_for("static", filename="css/site.css")),
                     ("map_css", url_for("static", filename="css/map.css"))))
