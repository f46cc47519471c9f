"""mapper.render.maps: the zone map page carries the boundary, layers, legend and data URLs, but never features."""

import json
import re
from html.parser import HTMLParser

import pytest

from mapper import create_app
from mapper.render.maps import (SCRIPT_TEXTS, Assets, Legend, PointLayer, PointSource, Translator, ZonePage, page_texts,
                                 zone_map_html)
from tests.render.populate import fill_lights

TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


class Links(HTMLParser):
    """Every script src and stylesheet href of a document."""

    def __init__(self):
        super().__init__()
        self.scripts, self.stylesheets = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        if tag == "link" and "stylesheet" in (attrs.get("rel") or ""):
            self.stylesheets.append(attrs["href"])


def links_of(html):
    parser = Links()
    parser.feed(html)
    return parser


def map_layers(schema):
    """The layers drawn as pins on the public map, as mapper.web.pages picks them."""
    return [layer for layer in schema if layer.on_map]


def sources(zone, schema):
    return [PointSource(layer, f"/api/zones/{zone.id}/{layer.name}.points", f"/api/zones/{zone.id}/{layer.name}/")
            for layer in map_layers(schema)]


def render(zone, schema, assets):
    return zone_map_html(zone, sources(zone, schema), assets=assets, tiles_url=TILES,
                         tiles_attribution="© OpenStreetMap contributors", home_url="/")


@pytest.fixture
def bell_foundry_html(zones, schema, assets):
    return render(zones.get("bell-foundry"), schema, assets)


def test_page_has_language_title_and_heading(bell_foundry_html):
    assert bell_foundry_html.startswith("<!DOCTYPE html>\n<html lang=\"en-GB\">")
    assert "<title>Bell Foundry map – People Zones</title>" in bell_foundry_html
    assert re.search(r"<h1>Bell Foundry: lighting faults and dark spots, community assets</h1>", bell_foundry_html)
    # Folium's own viewport would stop people zooming the page.
    assert "user-scalable=no" not in bell_foundry_html


def test_boundary_is_drawn_in_geojson_order_and_fitted_in_leaflet_order(bell_foundry_html, zones):
    zone = zones.get("bell-foundry")
    lon, lat = zone.boundary.exterior.coords[0]
    assert f"[{lon}, {lat}]" in bell_foundry_html  # GeoJSON [lon, lat] inside L.geoJson
    min_lon, min_lat, max_lon, max_lat = zone.bbox
    assert f"[[{min_lat}, {min_lon}], [{max_lat}, {max_lon}]]" in bell_foundry_html  # Leaflet [[S, W], [N, E]]


def test_layer_control_lists_boundary_and_every_point_layer(bell_foundry_html, schema):
    control = bell_foundry_html[bell_foundry_html.index("overlays :"):bell_foundry_html.index("L.peopleZones.layers")]
    assert '"Bell Foundry boundary"' in control
    for layer in map_layers(schema):
        assert re.search(rf'"{re.escape(layer.title)}" : point_layer_[0-9a-f]+,', control)


def test_legend_names_every_category_and_status_in_text(bell_foundry_html, schema):
    for layer in map_layers(schema):
        assert "<h2 id=\"legend_" in bell_foundry_html and f">{layer.title}</h2>" in bell_foundry_html
        for category in layer.categories:
            assert re.search(rf'<li data-category="{category.id}">.*?<span>{re.escape(category.label)}</span>',
                             bell_foundry_html, re.S), category.id
        if layer.name == "assets":
            for category in layer.categories:
                assert f">{category.symbol}</text>" in bell_foundry_html
    # Statuses are named as data/layers.toml names them (as on the tracking page), each with its marker's look.
    assert "<span>Reported: solid marker</span>" in bell_foundry_html


def legend_section(html, layer_name):
    return re.search(rf'<section aria-labelledby="legend_[0-9a-f]+-{layer_name}" data-layer="{layer_name}">(.*?)'
                     r"</section>", html, re.S).group(1)


def test_assets_legend_section_filters_by_category_and_searches_by_name(bell_foundry_html, schema):
    """Only a layer with names (assets) gets the checkboxes and the search; the lights' key stays a plain list."""
    assets = legend_section(bell_foundry_html, "assets")
    search_id = re.search(r'<input type="search" id="(legend_[0-9a-f]+-assets-search)"', assets).group(1)
    assert f'<label for="{search_id}">Find by name</label>' in assets
    assert f'aria-controls="{search_id.replace("-search", "-matches")}"' in assets
    assert f'<ul class="legend-matches" id="{search_id.replace("-search", "-matches")}"></ul>' in assets
    assert "<legend>Categories shown</legend>" in assets
    for category in schema.layer("assets").categories:
        # One checkbox per category, ticked, its label the symbol (drawn) and the category's name (read out).
        assert re.search(rf'<label><input type="checkbox" name="category"\s+value="{category.id}" checked>'
                         rf'<svg class="legend-swatch"[^>]*aria-hidden="true"[^>]*>.*?>{category.symbol}</text></svg>'
                         rf'\s*<span>{re.escape(category.label)}</span></label>', assets, re.S), category.id
    lights = legend_section(bell_foundry_html, "lights")
    assert "<input" not in lights and "legend-search" not in lights
    # The search comes first, and the legend says it holds one.
    assert bell_foundry_html.index('data-layer="assets"') < bell_foundry_html.index('data-layer="lights"')
    assert "<summary>Legend and search</summary>" in bell_foundry_html


def test_legend_script_hands_each_searchable_layer_to_the_legend(bell_foundry_html):
    layers = dict(re.findall(r'var (point_layer_[0-9a-f]+) = L\.peopleZones\.pointLayer\(\{\s*"layer": "([a-z-]+)"',
                             bell_foundry_html))
    by_name = {name: variable for variable, name in layers.items()}
    call = re.search(r"L\.peopleZones\.legend\(\"legend_[0-9a-f]+\", \{(.*?)\}\)\.addTo", bell_foundry_html, re.S)
    assert call.group(1).split() == [f'"assets":', by_name["assets"]]
    assert '"named": true' in bell_foundry_html and '"named": false' in bell_foundry_html


def test_a_map_of_unnamed_layers_has_a_plain_legend(zones, schema, assets):
    zone = zones.get("new-parks")
    lights = schema.layer("lights")
    html = zone_map_html(zone, [PointSource(lights, "/l.points", "/l/")], assets=assets, tiles_url=TILES,
                         tiles_attribution="x", home_url="/")
    assert "<summary>Legend</summary>" in html and 'type="search"' not in html and 'type="checkbox"' not in html


def test_each_layer_fetches_its_points_url(bell_foundry_html, schema):
    for layer in map_layers(schema):
        assert f'"pointsUrl": "/api/zones/bell-foundry/{layer.name}.points"' in bell_foundry_html
        assert f'"featureUrlPrefix": "/api/zones/bell-foundry/{layer.name}/"' in bell_foundry_html


def test_local_assets_only_no_external_scripts_or_stylesheets(bell_foundry_html):
    links = links_of(bell_foundry_html)
    assert links.scripts == ["/vendor/leaflet/dist/leaflet.js", "/vendor/supercluster/dist/sc.js",
                             "/static/js/zone-map.js"]
    assert links.stylesheets == ["/vendor/leaflet/dist/leaflet.css", "/static/css/map.css"]
    for name in ("jquery", "bootstrap", "font-awesome", "fontawesome", "awesome-markers", "cdn.jsdelivr", "unpkg"):
        assert name not in bell_foundry_html.lower()


def test_text_from_configuration_is_escaped(zones, schema, assets):
    zone = zones.get("new-parks")
    zone = type(zone)(zone.id, 'New <b>Parks</b> & "Co"', zone.boundary, {"council": "<i>City</i>"})
    html = render(zone, schema, assets)
    assert "<b>Parks</b>" not in html and "New &lt;b&gt;Parks&lt;/b&gt; &amp; &#34;Co&#34;" in html
    assert "<i>City</i>" not in html


@pytest.mark.parametrize("make, message", [
    (lambda layer: PointSource(layer, "", "/x/"), "points_url must be a non-empty URL string, not ''"),
    (lambda layer: PointSource(layer, "/x.points", None), "feature_url_prefix must be a non-empty URL string"),
    (lambda layer: PointSource("lights", "/x.points", "/x/"), "layer must be a mapper.schema.Layer, not 'lights'"),
    (lambda layer: PointLayer("/x.points"), "source must be a PointSource, not '/x.points'"),
    (lambda layer: Legend([]), "point_layers must be a non-empty list of PointLayer, not []"),
    (lambda layer: Legend([layer]), "point_layers must be a non-empty list of PointLayer, not [Layer(name='lights'"),
    (lambda layer: Assets(scripts=(("leaflet", "  "),), stylesheets=()), "the URL of 'leaflet' in scripts"),
    (lambda layer: Assets(scripts=("leaflet.js",), stylesheets=()), "each of scripts must be a (name, url) pair"),
    (lambda layer: ZonePage(title="", heading="x", home_url="/"), "title must be non-empty text, not ''"),
])
def test_bad_inputs_are_refused_naming_the_value(schema, make, message):
    with pytest.raises((ValueError, TypeError), match=re.escape(message)):
        make(schema.layer("lights"))


def test_zone_map_html_refuses_a_zone_id_instead_of_a_zone(schema, assets):
    with pytest.raises(TypeError, match="zone must be a mapper.zones.Zone, not 'bell-foundry'"):
        zone_map_html("bell-foundry", [], assets=assets, tiles_url=TILES, tiles_attribution="x", home_url="/")


def test_page_size_does_not_grow_with_features_and_carries_none(tmp_path):
    """The regression the issue measured: one JS object per marker made 10,000 points 7.6 MB of HTML."""
    empty = create_app({"DATA_DIR": tmp_path / "empty", "TESTING": True}).test_client().get("/zones/bell-foundry")
    app = create_app({"DATA_DIR": tmp_path / "full", "TESTING": True})
    stored = fill_lights(app.extensions["mapper"], "bell-foundry", 5000, seed=3)
    full = app.test_client().get("/zones/bell-foundry")
    assert empty.status_code == full.status_code == 200
    assert len(full.data) == len(empty.data) < 40_000
    html = full.get_data(as_text=True)
    assert not any(feature["id"] in html for feature in stored[::50])
    assert "L.marker(" not in html and "L.circleMarker(" not in html
    lon, lat = stored[0]["geometry"]["coordinates"]
    assert json.dumps(lon) not in html


def test_cdn_mode_links_unpkg_at_the_pinned_versions(tmp_path):
    from mapper.config import PROJECT_DIR

    pinned = json.loads((PROJECT_DIR / "package.json").read_text())["dependencies"]
    app = create_app({"DATA_DIR": tmp_path, "TESTING": True, "ASSETS": "cdn"})
    links = links_of(app.test_client().get("/zones/bell-foundry").get_data(as_text=True))
    assert f"https://unpkg.com/leaflet@{pinned['leaflet']}/dist/leaflet.js" in links.scripts
    assert f"https://unpkg.com/supercluster@{pinned['supercluster']}/dist/supercluster.min.js" in links.scripts
    assert f"https://unpkg.com/leaflet@{pinned['leaflet']}/dist/leaflet.css" in links.stylesheets


# -- words in the visitor's language -------------------------------------------------------------------------------


POLISH = {"Legend and search": "Legenda i wyszukiwanie", "Light out": "Zgaszona latarnia",
          "Community assets": "Miejsca dla społeczności", "Reported": "Zgłoszone", "solid marker": "pełny znacznik",
          "{zone} map – People Zones": "Mapa: {zone}", "Loading details…": "Wczytywanie szczegółów…",
          "{layer}: {count} on the map.": "{layer}: {count} na mapie.", "Street map": 'Mapa <b>"ulic"</b>'}


def script_strings(html):
    block = re.search(r'<script type="application/json" id="zone-map-strings">(.*?)</script>', html, re.S)
    return json.loads(block.group(1))


def test_translations_reach_the_page_the_legend_the_layers_and_the_script(zones, schema, assets):
    zone = zones.get("bell-foundry")
    html = zone_map_html(zone, sources(zone, schema), assets=assets, tiles_url=TILES, tiles_attribution="x",
                         home_url="/", translations=POLISH, language="pl")
    assert html.startswith('<!DOCTYPE html>\n<html lang="pl">')
    assert "<title>Mapa: Bell Foundry</title>" in html
    assert "<summary>Legenda i wyszukiwanie</summary>" in html
    assert '<li data-category="out">' in html and "<span>Zgaszona latarnia</span>" in html
    assert "<span>Zgłoszone: pełny znacznik</span>" in html
    assert ">Miejsca dla społeczności</h2>" in html
    titles = [json.loads(title) for title in re.findall(r'^\s*"title": ("[^"]*"),$', html, re.M)]
    assert "Miejsca dla społeczności" in titles  # what zone-map.js names the layer in its messages
    assert '"label": "Zgaszona latarnia"' in html  # the category label zone-map.js puts in popups and searches
    strings = script_strings(html)
    assert strings["loadingDetails"] == "Wczytywanie szczegółów…" and strings["layerLoaded"] == "{layer}: {count} na mapie."
    assert strings["status"] == "Status"  # untranslated text stays English
    assert 'Mapa <b>"ulic"</b>' not in html  # translated text is escaped like any other
    assert "<summary>Legend and search</summary>" not in html and ">Community assets</h2>" not in html


def test_right_to_left_languages_set_the_direction(zones, schema, assets):
    zone = zones.get("new-parks")
    for language, direction in (("ur", ' dir="rtl"'), ("ar-EG", ' dir="rtl"'), ("fa_IR", ' dir="rtl"'),
                                ("pa", ""), ("en-GB", "")):
        html = zone_map_html(zone, sources(zone, schema), assets=assets, tiles_url=TILES, tiles_attribution="x",
                             home_url="/", language=language)
        assert html.startswith(f'<!DOCTYPE html>\n<html lang="{language.replace("_", "-")}"{direction}>'), language


def test_a_language_switcher_appears_only_with_two_languages(zones, schema, assets):
    zone = zones.get("new-parks")

    def page(languages):
        return zone_map_html(zone, sources(zone, schema), assets=assets, tiles_url=TILES, tiles_attribution="x",
                             home_url="/", languages=languages, current_language="pl", language="pl")

    assert 'id="lang"' not in page(["en"])
    switcher = page(["en", "pl"])
    assert '<label for="lang">Language</label>' in switcher and '<option value="pl" selected>pl</option>' in switcher


def test_script_strings_cannot_close_their_script_element(zones, schema, assets):
    zone = zones.get("new-parks")
    html = zone_map_html(zone, sources(zone, schema), assets=assets, tiles_url=TILES, tiles_attribution="x",
                         home_url="/", translations={"Loading details…": "</script><script>window.__xss=1</script>"})
    assert "</script><script>window.__xss=1" not in html
    assert script_strings(html)["loadingDetails"] == "</script><script>window.__xss=1</script>"


def test_a_translators_placeholder_typo_shows_instead_of_failing():
    translate = Translator({"{zone} boundary": "Granica {zona}"})
    assert translate("{zone} boundary", zone="New Parks") == "Granica {zona}"
    assert translate("Not in the catalogue {x}", x=1) == "Not in the catalogue 1"


@pytest.mark.parametrize("translations, message", [
    (["Legend"], "translations must be a mapping of English text to translated text, not ['Legend']"),
    ({"Legend": None}, "translations must map text to text, not 'Legend' to None"),
])
def test_bad_translations_are_refused_naming_the_value(translations, message):
    with pytest.raises(TypeError, match=re.escape(message)):
        Translator(translations)


def test_bad_language_tag_is_refused():
    with pytest.raises(ValueError, match=re.escape("""not 'pl"><script>'""")):
        ZonePage(title="t", heading="h", home_url="/", language='pl"><script>')


def test_page_texts_list_every_label_the_layers_show(schema):
    texts = page_texts(map_layers(schema))
    lights = schema.layer("lights")
    assert lights.title in texts and "Light out" in texts and lights.status_label("fixed") in texts
    assert "Opening hours" in texts and "Contact email" not in texts  # private fields are never shown
    assert "Loading details…" in texts and "Legend and search" in texts and "" not in texts


def test_zone_map_js_falls_back_to_the_same_english_for_every_key():
    """zone-map.js keeps English only as a fallback: it must know every key the page sends, with the same words."""
    from mapper.config import PROJECT_DIR

    script = (PROJECT_DIR / "mapper" / "static" / "js" / "zone-map.js").read_text()
    fallback = re.search(r"var FALLBACK = \{(.*?)\n  \};", script, re.S).group(1)
    pairs = dict(re.findall(r"^\s*(\w+): '((?:[^'\\]|\\.)*)',?$", fallback, re.M))
    assert pairs == SCRIPT_TEXTS
