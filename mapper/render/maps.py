"""The zone map page as a Folium document: boundary, point layers, legend and layer control. Knows nothing of Flask.

The page carries no features. Each point layer is a small element holding the URL of its compact ``.points`` JSON
(see :mod:`mapper.export.points`); ``mapper/static/js/zone-map.js`` fetches it, clusters it in the browser and
fetches a feature's details only when it is clicked. So the HTML is the same size for 10 or 100,000 features, and
it can be cached per zone.

Words: every text the page shows is English here, looked up in a plain ``translations`` mapping (English text ->
the visitor's language) that the web view fills with Flask-Babel; this module never imports Flask. The texts
zone-map.js shows travel in a JSON block (``#zone-map-strings``) so they are translated in the same place.

Coordinates: zones and the store are GeoJSON ``[lon, lat]``; Leaflet and Folium take ``[lat, lon]``. Every
conversion below says which way it goes.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

import folium
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template
from jinja2.utils import htmlsafe_json_dumps
from markupsafe import Markup, escape

from mapper.export.points import carries_names
from mapper.export.styles import GI_BIN_COLOURS
from mapper.schema import Layer as LayerSchema
from mapper.zones import Zone



def N_(text):
    """Mark English text for ``pybabel extract`` (N_ is one of its default keywords) without translating it here:
    only the web view knows the visitor's language."""
    return text


# Status is shown by shape as well as colour, so colour is never the only cue: by position in the layer's statuses.
STATUS_LOOKS = ("filled", "ring", "dashed")
LOOK_DESCRIPTIONS = {"filled": N_("solid marker"), "ring": N_("outline only"), "dashed": N_("dashed outline")}
MIN_ZOOM, MAX_ZOOM = 10, 19  # a town to a doorstep
RIGHT_TO_LEFT = {"ar", "fa", "he", "ps", "ur"}  # primary language subtags written right to left

# Getis-Ord Gi* classes as an overlay colours them (the colours of mapper.export.styles, as on the hotspot page and in
# the exports): hottest first; "not significant" (0) is not drawn. Each label says in words what its colour says.
GI_BIN_CLASSES = tuple((level, GI_BIN_COLOURS[level], label) for level, label in (
    (3, N_("Hot spot, 99 % confidence")), (2, N_("Hot spot, 95 % confidence")), (1, N_("Hot spot, 90 % confidence")),
    (-1, N_("Cold spot, 90 % confidence")), (-2, N_("Cold spot, 95 % confidence")),
    (-3, N_("Cold spot, 99 % confidence"))))

# What the page itself says (the HTML); {name} is filled in after translation.
PAGE_TEXTS = (
    N_("People Zones map"), N_("{zone} map – People Zones"), N_("{zone}: {layers}"), N_("{zone} boundary"),
    N_("Street map"), N_("The map needs JavaScript. The data is also available to download from the {link}."),
    N_("list of zones"), N_("Legend"), N_("Legend and search"), N_("Find by name"),
    N_("Matches are listed below; the others are hidden from the map."), N_("Categories shown"), N_("Show all"),
    N_("Hide all"), N_("A group of nearby features and how many: select it to zoom in."), N_("{status}: {look}"),
    N_("Language"), N_("Change"), N_("Audit walks"), N_("Not yet walked"), N_("Anti-social behaviour hotspots"),
) + tuple(LOOK_DESCRIPTIONS.values()) + tuple(label for _, _, label in GI_BIN_CLASSES)

# What zone-map.js says, by the key it asks for; it keeps these English words only as a fallback.
SCRIPT_TEXTS = {
    "uncategorised": N_("Uncategorised"),
    "markerNamed": N_("{name} – {category}"),
    "markerUnnamed": N_("{category} ({status})"),
    "clusterTitle": N_("{count} {layer}: select to zoom in"),
    "clusterHere": N_("{count} {layer} here"),
    "showingFirst": N_("Showing the first {count}."),
    "loadingDetails": N_("Loading details…"),
    "gone": N_("This feature is no longer shown on the map."),
    "changed": N_("The map’s data has changed and is being reloaded: select the feature again."),
    "detailsFailedStatus": N_("Could not load the details (the server answered {status})."),
    "detailsFailed": N_("Could not load the details."),
    "serverAnswered": N_("the server answered {status}"),
    "yes": N_("Yes"),
    "no": N_("No"),
    "status": N_("Status"),
    "added": N_("Added"),
    "updated": N_("Updated"),
    "stillLoading": N_("Still loading; the list appears when the map has loaded."),
    "noMatches": N_("No name matches “{query}”"),
    "firstMatches": N_("The first {shown} of {total} matches; type more of the name"),
    "oneMatch": N_("1 match"),
    "matches": N_("{count} matches"),
    "moreHidden": N_("{text} ({count} more in categories not shown)"),
    "sentence": N_("{text}."),
    "layerLoading": N_("Loading {layer}…"),
    "layerLoaded": N_("{layer}: {count} on the map."),
    "layerFiltered": N_("{layer}: {shown} of {count} on the map."),
    "layerFailed": N_("Could not load {layer}: {message}."),
    "walk": N_("Audit walk"),
    "walkedOn": N_("Walked on {date}"),
    "walkLength": N_("{length} m walked"),
    "walkPage": N_("Open the walk’s page"),
    "othersNotDrawn": N_("Other cells are not drawn."),
    "zoomIn": N_("Zoom in"),
    "zoomOut": N_("Zoom out"),
}

PLACEHOLDER = re.compile(r"\{(\w+)\}")
NONCE = re.compile(r"[A-Za-z0-9+/_-]{16,}={0,2}")  # a CSP nonce: base64 (standard or URL-safe) or hex


def _check_url(value, name):
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name} must be a non-empty URL string, not {value!r}")
    return value


def _check_links(links, name):
    links = tuple(links)
    for link in links:
        if not (isinstance(link, tuple) and len(link) == 2 and isinstance(link[0], str) and link[0]):
            raise ValueError(f"each of {name} must be a (name, url) pair, not {link!r}")
        _check_url(link[1], f"the URL of {link[0]!r} in {name}")
    return links


@dataclass(frozen=True)
class Assets:
    """The scripts and stylesheets the page loads, each a ``(name, url)`` pair, in load order."""

    scripts: tuple
    stylesheets: tuple

    def __post_init__(self):
        object.__setattr__(self, "scripts", _check_links(self.scripts, "scripts"))
        object.__setattr__(self, "stylesheets", _check_links(self.stylesheets, "stylesheets"))


@dataclass(frozen=True)
class PointSource:
    """Where a point layer's data comes from: ``points_url`` answers the columnar JSON; a feature's details are at
    ``feature_url_prefix`` + its id, or (when the .points carry no ids) + ``at/<index>?version=<version>``."""

    layer: LayerSchema
    points_url: str
    feature_url_prefix: str

    def __post_init__(self):
        if not isinstance(self.layer, LayerSchema):
            raise TypeError(f"layer must be a mapper.schema.Layer, not {self.layer!r}")
        _check_url(self.points_url, "points_url")
        _check_url(self.feature_url_prefix, "feature_url_prefix")


@dataclass(frozen=True)
class LineSource:
    """Lines or areas drawn from a GeoJSON URL, loaded only when switched on: audit walks, the area not yet walked.

    ``page_url_prefix`` + a feature's id is its own page (a walk's), linked from the popup; None for no popup.

    ``style_by`` names a feature property whose value picks its colour from ``classes``, ``(value, colour, label)``
    triples in legend order (a hotspot grid by ``Gi_Bin``): features whose value has no class are not drawn, the
    popup says the class's label, and a legend of the classes shows while the overlay is on. Labels are English,
    translated like every page text (list them in PAGE_TEXTS).
    """

    title: str
    url: str
    colour: str = "#6a3d9a"
    fill: bool = False
    page_url_prefix: str = None
    style_by: str = None
    classes: tuple = ()

    def __post_init__(self):
        _check_url(self.url, "url")
        if self.page_url_prefix is not None:
            _check_url(self.page_url_prefix, "page_url_prefix")
        classes = tuple(tuple(entry) for entry in self.classes)
        for entry in classes:
            if not (len(entry) == 3 and isinstance(entry[0], (int, str)) and not isinstance(entry[0], bool)
                    and isinstance(entry[1], str) and re.fullmatch(r"#[0-9a-fA-F]{6}", entry[1])
                    and isinstance(entry[2], str) and entry[2].strip()):
                raise ValueError(f"each class must be (value, '#rrggbb', label), not {entry!r}")
        if bool(self.style_by) != bool(classes):
            raise ValueError("style_by and classes go together: a property name and its (value, colour, label) classes")
        if self.style_by is not None and (not isinstance(self.style_by, str) or not self.style_by.strip()):
            raise ValueError(f"style_by must be a property name, not {self.style_by!r}")
        object.__setattr__(self, "classes", classes)


class Translator:
    """English text -> the visitor's language, from a plain mapping; text the mapping lacks stays English.

    ``translate("{zone} boundary", zone="New Parks")`` fills each ``{name}`` after translating, and leaves a
    placeholder it has no value for as it is, so a translator's typo shows instead of breaking the page.
    """

    def __init__(self, translations=None):
        translations = {} if translations is None else translations
        if not isinstance(translations, Mapping):
            raise TypeError(f"translations must be a mapping of English text to translated text, not {translations!r}")
        for source, translated in translations.items():
            if not (isinstance(source, str) and isinstance(translated, str)):
                raise TypeError(f"translations must map text to text, not {source!r} to {translated!r}")
        self.translations = dict(translations)

    def __call__(self, text, **values):
        translated = self.translations.get(text) or text
        if not values:
            return translated
        return PLACEHOLDER.sub(lambda match: str(values.get(match.group(1), match.group(0))), translated)

    def script_strings(self):
        """What zone-map.js shows, by key, in the visitor's language."""
        return {key: self(text) for key, text in SCRIPT_TEXTS.items()}


def field_label(name):
    """A property's name as a popup label: ``opening_hours`` -> "Opening hours"."""
    return name.replace("_", " ").capitalize()


def page_texts(layers):
    """Every English text a zone map of these layers can show, for the web view to translate: the page's own words
    and zone-map.js's, then the layers' titles, category and status labels (from data/layers.toml) and field labels.
    """
    texts = dict.fromkeys(PAGE_TEXTS + tuple(SCRIPT_TEXTS.values()))
    for layer in layers:
        texts.update(dict.fromkeys([layer.title] + [category.label for category in layer.categories]
                                   + [layer.status_label(status) for status in layer.public_statuses]
                                   + [field_label(p.name) for p in layer.properties.values() if not p.private]))
    return [text for text in texts if text]


def language_direction(language):
    """``"rtl"`` for a language tag written right to left (``ur``, ``ar-EG``, ``fa_IR``), else ``"ltr"``."""
    return "rtl" if re.split(r"[-_]", language)[0].lower() in RIGHT_TO_LEFT else "ltr"


def marker_kind(layer):
    """Letter symbols where the layer's categories define them (assets), plain circles otherwise (lights)."""
    return "symbol" if any(category.symbol for category in layer.categories) else "circle"


def status_looks(layer, translate=None):
    """``[(status, label, look)]`` for the statuses a visitor can see, labelled as data/layers.toml says."""
    translate = translate or Translator()
    return [(status, translate(layer.status_label(status)), STATUS_LOOKS[position % len(STATUS_LOOKS)])
            for position, status in enumerate(layer.statuses) if status in layer.public_statuses]


class ZonePage(Figure):
    """The HTML document: language, title, heading, then the map and whatever its elements add.

    The script strings come before the head's scripts, so zone-map.js can read them as it loads.
    """

    _template = Template(
        "<!DOCTYPE html>\n"
        '<html lang="{{ this.language|e }}"{% if this.direction == "rtl" %} dir="rtl"{% endif %}>\n'
        '<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>{{ this.title|e }}</title>\n"
        '<script type="application/json" id="zone-map-strings">{{ this.script_strings }}</script>\n'
        "{{ this.header.render(**kwargs) }}\n"
        "</head>\n"
        '<body class="zone-map-page">\n'
        '<header class="site"><a href="{{ this.home_url|e }}">{{ this.translate("People Zones map")|e }}</a>'
        "{% if this.languages|length > 1 %}\n"
        '<form class="languages" method="get"><label for="lang">{{ this.translate("Language")|e }}</label>'
        '<select id="lang" name="lang">{% for code in this.languages %}<option value="{{ code|e }}"'
        "{% if code == this.current_language %} selected{% endif %}>{{ code|e }}</option>{% endfor %}</select>"
        '<button type="submit">{{ this.translate("Change")|e }}</button></form>'
        "{% endif %}</header>\n"
        '<div class="zone-heading"><h1>{{ this.heading|e }}</h1>'
        "{% if this.subtitle %}<p>{{ this.subtitle|e }}</p>{% endif %}</div>\n"
        '<main class="zone-map">\n'
        "<noscript><p>{{ this.noscript }}</p></noscript>\n"
        "{{ this.html.render(**kwargs) }}\n"
        "</main>\n"
        '<script{% if this.nonce %} nonce="{{ this.nonce|e }}"{% endif %}>\n{{ this.script.render(**kwargs) }}\n</script>\n'
        "</body>\n</html>\n"
    )

    def __init__(self, title, heading, home_url, subtitle="", translate=None, language="en-GB", languages=(),
                 current_language="", nonce=None):
        super().__init__()
        if nonce is not None and not (isinstance(nonce, str) and NONCE.fullmatch(nonce)):
            raise ValueError(f"nonce must be a base64 or hex token, not {nonce!r}")
        # The Content-Security-Policy nonce that lets the page's one inline script (Folium's map set-up) run.
        self.nonce = nonce
        for name, value in (("title", title), ("heading", heading)):
            if not isinstance(value, str) or not value.strip():
                raise ValueError(f"{name} must be non-empty text, not {value!r}")
        if not isinstance(language, str) or not re.fullmatch(r"[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*", language):
            raise ValueError(f"language must be a language tag such as 'en-GB' or 'pl', not {language!r}")
        self.title, self.heading, self.subtitle = title, heading, subtitle or ""
        self.home_url = _check_url(home_url, "home_url")
        self.translate = translate or Translator()
        self.language, self.direction = language.replace("_", "-"), language_direction(language)
        self.languages, self.current_language = list(languages), current_language
        # Escaped for a <script> element (no "</script>" can close it early), then marked safe for the template.
        self.script_strings = htmlsafe_json_dumps(self.translate.script_strings())
        link = f'<a href="{escape(self.home_url)}">{escape(self.translate("list of zones"))}</a>'
        self.noscript = Markup(escape(self.translate(
            "The map needs JavaScript. The data is also available to download from the {link}."))
        ).replace("{link}", Markup(link))
        # Figure adds an http-equiv charset meta; the template declares <meta charset> itself.
        self.header._children.pop("meta_http", None)


class ZoneMap(folium.Map):
    """A Folium map that loads only the given assets instead of Folium's CDN defaults (Leaflet, jQuery, Bootstrap,
    Font Awesome, awesome-markers), so the page works offline."""

    def __init__(self, assets, tiles_url, tiles_attribution, translate=None, **kwargs):
        if not isinstance(assets, Assets):
            raise TypeError(f"assets must be an Assets, not {assets!r}")
        _check_url(tiles_url, "tiles_url")
        if not isinstance(tiles_attribution, str) or not tiles_attribution.strip():
            raise ValueError(f"tiles_attribution must be non-empty text, not {tiles_attribution!r}")
        super().__init__(tiles=None, **kwargs)
        # Instance lists: Folium's class-level lists are shared, and add_js_link mutates them.
        self.default_js = list(assets.scripts)
        self.default_css = list(assets.stylesheets)
        translate = translate or Translator()
        folium.TileLayer(tiles=tiles_url, attr=tiles_attribution, name=translate("Street map"), max_zoom=MAX_ZOOM,
                         control=False).add_to(self)

    def render(self, **kwargs):
        super().render(**kwargs)
        # Folium's map header sets user-scalable=no, which stops people zooming the page (WCAG 1.4.4), and styles
        # html/body; map.css sizes the map instead.
        self.get_root().header.add_child(Element(""), name=self.get_name())


class ZoneBoundary(folium.GeoJson):
    """The zone's outline (GeoJSON, [lon, lat]), drawn under the points and never catching their clicks."""

    def __init__(self, zone, translate=None):
        if not isinstance(zone, Zone):
            raise TypeError(f"zone must be a mapper.zones.Zone, not {zone!r}")
        translate = translate or Translator()
        super().__init__(
            zone.to_feature(), name=translate("{zone} boundary", zone=zone.name), overlay=True, control=True, interactive=False,
            style_function=lambda feature: {"color": "#1d3557", "weight": 3, "dashArray": "8 4",
                                            "fill": True, "fillColor": "#1d3557", "fillOpacity": 0.04})


class PointLayer(Layer):
    """One layer's features, loaded from its ``.points`` URL and clustered in the browser by zone-map.js.

    It is a Folium ``Layer``, so the LayerControl lists it and can switch it on and off.
    """

    _template = Template(
        """
        {% macro header(this, kwargs) %}
            {#- Start the download while Leaflet is still loading; zone-map.js's fetch then takes it from here. #}
            <link rel="preload" href="{{ this.options.pointsUrl|e }}" as="fetch" crossorigin="anonymous">
        {% endmacro %}

        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.peopleZones.pointLayer({{ this.options|tojavascript }});
        {% endmacro %}
        """
    )

    def __init__(self, source, show=True, translate=None):
        if not isinstance(source, PointSource):
            raise TypeError(f"source must be a PointSource, not {source!r}")
        layer = source.layer
        translate = self.translate = translate or Translator()
        self.title = translate(layer.title)
        super().__init__(name=self.title, overlay=True, control=True, show=show)
        self._name = "PointLayer"
        self.layer = layer
        self.options = {
            "layer": layer.name,
            "title": self.title,
            "pointsUrl": source.points_url,
            "featureUrlPrefix": source.feature_url_prefix,
            "marker": marker_kind(layer),
            "categories": [{"id": c.id, "label": translate(c.label), "colour": c.colour, "symbol": c.symbol}
                           for c in layer.categories],
            "statuses": [{"id": status, "label": label, "look": look}
                         for status, label, look in status_looks(layer, translate)],
            # Its .points carry a name column (see mapper.export.points): popups and markers are titled by name.
            "named": carries_names(layer),
            # What a popup shows, in order; category is its title, private properties are never in the store's
            # public answer anyway.
            "fields": [{"name": p.name, "label": translate(field_label(p.name)), "type": p.type}
                       for p in layer.properties.values() if not p.private and p.name != "category"],
        }


class LineLayer(Layer):
    """A LineSource as a switchable overlay, off until a visitor turns it on (so it costs nothing until then)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }} = L.peopleZones.lineLayer({{ this.options|tojavascript }});
        {% endmacro %}
        """
    )

    def __init__(self, source, translate=None):
        if not isinstance(source, LineSource):
            raise TypeError(f"source must be a LineSource, not {source!r}")
        translate = translate or Translator()
        super().__init__(name=translate(source.title), overlay=True, control=True, show=False)
        self._name = "LineLayer"
        self.options = {"title": translate(source.title), "url": source.url, "colour": source.colour,
                        "fill": source.fill, "pageUrlPrefix": source.page_url_prefix}
        if source.style_by:
            self.options["styleBy"] = source.style_by
            self.options["classes"] = [{"value": value, "colour": colour, "label": translate(label)}
                                       for value, colour, label in source.classes]


class LayerControl(folium.LayerControl):
    """Folium's layer control, made by zone-map.js's ``L.peopleZones.layers``: Leaflet's own puts each layer's name
    in with innerHTML, and a name can carry a zone's name (``mapper zones add``); this one writes names as text."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
            var {{ this.get_name() }}_layers = {
                base_layers : {
                    {%- for key, val in this.base_layers.items() %}
                    {{ key|tojson }} : {{ val }},
                    {%- endfor %}
                },
                overlays :  {
                    {%- for key, val in this.overlays.items() %}
                    {{ key|tojson }} : {{ val }},
                    {%- endfor %}
                },
            };
            let {{ this.get_name() }} = L.peopleZones.layers(
                {{ this.get_name() }}_layers.base_layers,
                {{ this.get_name() }}_layers.overlays,
                {{ this.options|tojavascript }}
            ).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )


class Legend(MacroElement):
    """The key to every layer's categories and statuses, as real text in a collapsible control on the map.

    A layer whose features have names (community assets) is also filtered and searched here: its categories are
    checkboxes (all ticked) and a search box lists the features whose names match. Keeping them inside the legend
    means one folded control on a phone instead of three competing for a 360 px screen.
    """

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        {%- set id = this.get_name() %}
        <details class="map-legend" id="{{ id }}" open>
          <summary>{{ this.summary|e }}</summary>
          <p class="map-status" role="status" aria-live="polite"></p>
          {% for section in this.sections %}
          <section aria-labelledby="{{ id }}-{{ section.layer }}" data-layer="{{ section.layer|e }}">
            <h2 id="{{ id }}-{{ section.layer }}">{{ section.title|e }}</h2>
            {% if section.filters %}
            <div class="legend-search" role="search">
              <label for="{{ id }}-{{ section.layer }}-search">{{ this.translate("Find by name")|e }}</label>
              <input type="search" id="{{ id }}-{{ section.layer }}-search" autocomplete="off" spellcheck="false"
                     aria-describedby="{{ id }}-{{ section.layer }}-hint"
                     aria-controls="{{ id }}-{{ section.layer }}-matches">
              <p class="legend-hint" id="{{ id }}-{{ section.layer }}-hint">{{
                this.translate("Matches are listed below; the others are hidden from the map.")|e }}</p>
              <p class="legend-matches-summary"></p>
              <ul class="legend-matches" id="{{ id }}-{{ section.layer }}-matches"></ul>
            </div>
            <fieldset class="legend-filters">
              <legend>{{ this.translate("Categories shown")|e }}</legend>
              <ul class="legend-categories">
              {% for category in section.categories %}
                <li data-category="{{ category.id|e }}"><label><input type="checkbox" name="category"
                  value="{{ category.id|e }}" checked>{{ this.swatch(section.marker, category.colour, category.symbol, "filled") }}
                  <span>{{ this.translate(category.label)|e }}</span></label></li>
              {% endfor %}
              </ul>
              <p class="legend-filter-all"><button type="button" data-select="all">{{ this.translate("Show all")|e }}</button>
                <button type="button" data-select="none">{{ this.translate("Hide all")|e }}</button></p>
            </fieldset>
            {% else %}
            <ul class="legend-categories">
            {% for category in section.categories %}
              <li data-category="{{ category.id|e }}">{{ this.swatch(section.marker, category.colour, category.symbol, "filled") }}
                <span>{{ this.translate(category.label)|e }}</span></li>
            {% endfor %}
            </ul>
            {% endif %}
            <ul class="legend-statuses">
            {% for status, label, look in section.statuses %}
              <li data-status="{{ status|e }}">{{ this.swatch(section.marker, "#555555", "", look) }}
                <span>{{ this.translate("{status}: {look}", status=label,
                                        look=this.translate(this.look_descriptions[look]))|e }}</span></li>
            {% endfor %}
            </ul>
          </section>
          {% endfor %}
          <p class="legend-clusters"><span class="pz-cluster pz-cluster--legend" aria-hidden="true"><span>12</span></span>
            <span>{{ this.translate("A group of nearby features and how many: select it to zoom in.")|e }}</span></p>
        </details>
        {% endmacro %}

        {% macro script(this, kwargs) %}
            L.peopleZones.legend({{ this.get_name()|tojson }}, {
            {%- for section in this.sections if section.filters %}
                {{ section.layer|tojson }}: {{ section.variable }}{{ "," if not loop.last }}
            {%- endfor %}
            }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    look_descriptions = LOOK_DESCRIPTIONS

    def __init__(self, point_layers, translate=None):
        super().__init__()
        self._name = "Legend"
        point_layers = list(point_layers)
        if not point_layers or not all(isinstance(layer, PointLayer) for layer in point_layers):
            raise ValueError(f"point_layers must be a non-empty list of PointLayer, not {point_layers!r}")
        translate = self.translate = translate or Translator()
        self.sections = [{"layer": element.layer.name, "title": translate(element.layer.title),
                          "variable": element.get_name(), "marker": marker_kind(element.layer),
                          "categories": element.layer.categories, "statuses": status_looks(element.layer, translate),
                          "filters": carries_names(element.layer)}
                         for element in point_layers]
        # Sections with a search come first: on a phone they are what people open the legend for.
        self.sections.sort(key=lambda section: not section["filters"])
        searchable = any(section["filters"] for section in self.sections)
        self.summary = translate("Legend and search" if searchable else "Legend")

    @staticmethod
    def swatch(marker, colour, symbol, look):
        """A small inline SVG matching how the map draws a feature; decorative, as the text beside it says it all."""
        colour = colour if colour.startswith("#") and len(colour) in (4, 7) and colour[1:].isalnum() else "#636363"
        fill = colour if look == "filled" else "#ffffff"
        dash = ' stroke-dasharray="3 2"' if look == "dashed" else ""
        width = 1.5 if look == "filled" else 2.5
        if marker == "symbol":
            letter = symbol[:1] if symbol[:1].isalnum() else ""
            text_colour = "#ffffff" if look == "filled" else colour
            shape = (f'<rect x="1.5" y="1.5" width="17" height="17" rx="4" fill="{fill}" stroke="{colour}" '
                     f'stroke-width="{width}"{dash}/>'
                     f'<text x="10" y="14.5" text-anchor="middle" font-size="12" font-weight="700" '
                     f'fill="{text_colour}">{letter}</text>')
        else:
            shape = f'<circle cx="10" cy="10" r="7" fill="{fill}" stroke="{colour}" stroke-width="{width}"{dash}/>'
        return (f'<svg class="legend-swatch" width="20" height="20" viewBox="0 0 20 20" aria-hidden="true" '
                f'focusable="false">{shape}</svg>')


def zone_map_html(zone, sources, *, assets, tiles_url, tiles_attribution, home_url, translations=None,
                  language="en-GB", languages=(), current_language="", lines=(), nonce=None):
    """The whole zone map page as an HTML string.

    Parameters
    ----------
    zone : mapper.zones.Zone
    sources : list of PointSource
        One per point layer, in drawing order (later ones on top).
    assets : Assets
        Leaflet, supercluster, zone-map.js and the stylesheets, local or CDN as the deployment decides.
    tiles_url, tiles_attribution : str
        The base map tiles (an XYZ template) and their attribution HTML.
    home_url : str
        The list of zones.
    translations : mapping of str to str, optional
        English text -> the visitor's language, for every text :func:`page_texts` lists; missing ones stay English.
    language : str
        The page's language tag (``en-GB``, ``pl``); right-to-left languages also get ``dir="rtl"``.
    languages, current_language : sequence of str, str
        The languages on offer and the one chosen; a switcher is shown when there is more than one.
    lines : sequence of LineSource
        Overlays of lines or areas (audit walks, the area not yet walked), off until switched on.
    nonce : str, optional
        The Content-Security-Policy nonce for the page's inline script (the web layer's, per request); without one
        the script carries none, and a policy without 'unsafe-inline' stops the map.

    Examples
    --------
    >>> from mapper.config import SHIPPED_DATA_DIR
    >>> from mapper.zones import load_zones
    >>> zone = load_zones(SHIPPED_DATA_DIR / "zones.geojson").get("new-parks")
    >>> html = zone_map_html(zone, [], assets=Assets((), ()), tiles_url="/tiles/{z}/{x}/{y}.png",
    ...                      tiles_attribution="OSM", home_url="/", language="pl",
    ...                      translations={"People Zones map": "Mapa stref"})
    >>> '<html lang="pl">' in html and ">Mapa stref</a>" in html
    True
    """
    if not isinstance(zone, Zone):
        raise TypeError(f"zone must be a mapper.zones.Zone, not {zone!r}")
    sources = list(sources)
    if not all(isinstance(source, PointSource) for source in sources):
        raise TypeError(f"sources must be PointSource objects, not {sources!r}")
    translate = Translator(translations)
    titles = ", ".join(translate(source.layer.title).lower() for source in sources)
    page = ZonePage(title=translate("{zone} map – People Zones", zone=zone.name),
                    heading=translate("{zone}: {layers}", zone=zone.name, layers=titles) if titles else zone.name,
                    subtitle=zone.properties.get("council", ""), home_url=home_url, translate=translate,
                    language=language, languages=languages, current_language=current_language, nonce=nonce)
    centre_lat, centre_lon = zone.centre  # Zone.centre is already Leaflet's (lat, lon)
    # minZoom/maxZoom go to Leaflet as they are; they also bound the clustering in zone-map.js.
    fmap = ZoneMap(assets, tiles_url, tiles_attribution, translate=translate, location=[centre_lat, centre_lon],
                   zoom_start=15, control_scale=True, minZoom=MIN_ZOOM, maxZoom=MAX_ZOOM)
    page.add_child(fmap)
    ZoneBoundary(zone, translate).add_to(fmap)
    for line in lines:
        LineLayer(line, translate).add_to(fmap)
    point_layers = [PointLayer(source, translate=translate).add_to(fmap) for source in sources]
    if point_layers:
        Legend(point_layers, translate).add_to(fmap)
    LayerControl(collapsed=False, position="topright").add_to(fmap)
    min_lon, min_lat, max_lon, max_lat = zone.bbox  # GeoJSON order...
    fmap.fit_bounds([[min_lat, min_lon], [max_lat, max_lon]])  # ...to Leaflet's [[south, west], [north, east]]
    return page.render()
