"""Layer schemas: which layers exist, their properties and their categories, read from ``data/layers.toml``.

This is the one place that says what a feature of a layer may carry. Validation, the map legend, the CSV columns and
the public/private split all read it; adding a category or a property is an edit to the TOML file, not to code.
"""

import re
import tomllib
from dataclasses import dataclass, field

PROPERTY_TYPES = {"category", "text", "url", "phone", "email", "boolean", "integer", "number", "datetime"}
# Set by the server (priority and duplicate_of by officers, through mapper.lifecycle); a client that sends them is
# told so.
SERVER_PROPERTIES = ("id", "ref", "status", "zone", "created", "updated", "confirmations", "photo",
                     "location_approximate", "history", "priority", "duplicate_of")
# Who may give a property's value (``set_by`` in data/layers.toml): whoever submits the feature (a resident through
# the API or the report form, an officer's moderation edit, an import), or only an import, an audit walk or the
# server's own working-out (where a feature came from, its key there, its walk, a check's answer). The validator
# refuses the last two from the public (mapper.validate.PUBLIC), so a resident cannot pose as an import or a walk.
SET_BY = ("submitter", "import", "server")
# Who may read a layer's features (``access`` in data/layers.toml): anyone, or only staff (officers and administrators)
# of the zone, as for crime records, whose public face is the suppressed hotspot and target-area outputs.
ACCESS = ("public", "staff")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
# What a layer's features may be. A layer that takes several (a Community Payback site is a point or an area) has
# them joined by "|" in Layer.geometry, so that code asking `layer.geometry == "Point"` (hotspots count points) still
# means a layer of points only.
GEOMETRIES = ("Point", "MultiLineString", "Polygon")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


@dataclass(frozen=True)
class Category:
    id: str
    label: str
    colour: str = "#636363"
    symbol: str = ""


@dataclass(frozen=True)
class Property:
    name: str
    type: str
    required: bool = False
    max_length: int = 500
    multiline: bool = False
    visibility: str = "public"
    set_by: str = "submitter"  # one of SET_BY

    @property
    def private(self):
        return self.visibility == "private"

    @property
    def from_submitter(self):
        """Whether a public submission (or a moderator's edit) may give it, rather than only imports and the server."""
        return self.set_by == "submitter"


@dataclass(frozen=True)
class Layer:
    name: str
    title: str
    geometry: str
    initial_status: str
    statuses: tuple
    public_statuses: tuple
    properties: dict = field(default_factory=dict)
    categories: tuple = ()
    open_statuses: tuple = ()  # statuses that still need action; duplicate checks offer only these
    status_labels: dict = field(default_factory=dict)
    on_map: bool = True  # drawn as points on the public zone map
    beyond_zone: bool = False  # features may lie outside the zone (a street network reaches past its boundary)
    public_submissions: bool = False  # anyone may add features through the public API and confirm them
    status_colours: dict = field(default_factory=dict)  # status -> "#rrggbb" (the officers' repair map and list)
    access: str = "public"  # one of ACCESS: who may read its features in any form

    @property
    def staff_only(self):
        """Whether only staff of the zone may read its features (every format, a feature, nearby, counts, maps)."""
        return self.access == "staff"

    @property
    def private_files(self):
        """Whether the layer's files hold anything the public may not read: a staff-only layer, or features in a
        status the public never sees (assets pending a moderator, every Community Payback site). The store writes
        them for the service's account only (0600), not for every account on the machine."""
        return self.staff_only or set(self.public_statuses) != set(self.statuses)

    def status_label(self, status):
        return self.status_labels.get(status, status)

    @property
    def geometries(self):
        """The GeoJSON geometry types the layer takes: ``("Point",)``, ``("Point", "Polygon")``..."""
        return tuple(self.geometry.split("|"))

    def status_colour(self, status):
        return self.status_colours.get(status, "#636363")

    def category(self, category_id):
        for category in self.categories:
            if category.id == category_id:
                return category
        return None

    @property
    def category_ids(self):
        return [c.id for c in self.categories]

    @property
    def public_properties(self):
        """Names of the properties any visitor may see, server ones first, in a stable order."""
        return list(SERVER_PROPERTIES) + [p.name for p in self.properties.values() if not p.private]

    @property
    def private_properties(self):
        return [p.name for p in self.properties.values() if p.private]

    @property
    def import_only_properties(self):
        """Names of the properties only imports, walks and the server set (``set_by`` other than "submitter")."""
        return [p.name for p in self.properties.values() if not p.from_submitter]


class Schema:
    """All layers, by name."""

    def __init__(self, layers):
        self.layers = dict(layers)

    def __contains__(self, name):
        return name in self.layers

    def __iter__(self):
        return iter(self.layers.values())

    def layer(self, name):
        from mapper.errors import LayerNotFound

        try:
            return self.layers[name]
        except (KeyError, TypeError):
            known = ", ".join(self.layers)
            raise LayerNotFound(f"No layer {name!r}. Layers are: {known}.", field="layer") from None

    @property
    def names(self):
        return list(self.layers)


def load_schema(path):
    """Read a layers TOML file into a :class:`Schema`, checking it as strictly as user input."""
    with open(path, "rb") as f:
        document = tomllib.load(f)
    layers = {}
    for name, spec in document.get("layers", {}).items():
        layers[name] = _layer(name, spec, path)
    return Schema(layers)


def _layer(name, spec, path):
    if not SLUG.match(name):
        raise ValueError(f"{path}: layer name {name!r} must be lower-case letters, digits and hyphens")
    properties = {}
    for prop_name, prop in spec.get("properties", {}).items():
        if prop_name in SERVER_PROPERTIES:
            raise ValueError(f"{path}: layer {name!r} property {prop_name!r} is set by the server")
        if prop.get("type") not in PROPERTY_TYPES:
            raise ValueError(f"{path}: layer {name!r} property {prop_name!r} has unknown type {prop.get('type')!r}")
        if prop.get("set_by", "submitter") not in SET_BY:
            raise ValueError(f"{path}: layer {name!r} property {prop_name!r} set_by {prop.get('set_by')!r} must be one "
                             f"of {', '.join(SET_BY)}")
        properties[prop_name] = Property(name=prop_name, **prop)
    categories = tuple(Category(**c) for c in spec.get("categories", []))
    for category in categories:
        if not SLUG.match(category.id):
            raise ValueError(f"{path}: layer {name!r} category id {category.id!r} is not a slug")
    kinds = spec.get("geometry", "Point")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    if not kinds or any(kind not in GEOMETRIES for kind in kinds):
        raise ValueError(f"{path}: layer {name!r} geometry {spec.get('geometry')!r} must be one of {GEOMETRIES} or a "
                         "list of them")
    statuses = tuple(spec.get("statuses", ["open"]))
    initial = spec.get("initial_status", statuses[0])
    if initial not in statuses:
        raise ValueError(f"{path}: layer {name!r} initial_status {initial!r} is not one of its statuses")
    for key in ("public_statuses", "open_statuses"):
        unknown = set(spec.get(key, ())) - set(statuses)
        if unknown:
            raise ValueError(f"{path}: layer {name!r} {key} has unknown statuses {sorted(unknown)}")
    access = spec.get("access", "public")
    if access not in ACCESS:
        raise ValueError(f"{path}: layer {name!r} access {access!r} must be one of {', '.join(ACCESS)}")
    if access == "staff" and spec.get("public_submissions", False):
        raise ValueError(f"{path}: layer {name!r} cannot take public submissions and be read by staff only")
    colours = dict(spec.get("status_colours", {}))
    for status, colour in colours.items():
        if status not in statuses or not (isinstance(colour, str) and COLOUR.match(colour)):
            raise ValueError(f"{path}: layer {name!r} status_colours {status!r} = {colour!r} must be one of its "
                             "statuses and a #rrggbb colour")
    return Layer(
        name=name,
        title=spec.get("title", name),
        geometry="|".join(dict.fromkeys(kinds)),
        initial_status=initial,
        statuses=statuses,
        public_statuses=tuple(spec.get("public_statuses", statuses)),
        open_statuses=tuple(spec.get("open_statuses", statuses)),
        status_labels=dict(spec.get("status_labels", {})),
        status_colours=colours,
        on_map=bool(spec.get("map", spec.get("geometry", "Point") == "Point")),
        beyond_zone=bool(spec.get("beyond_zone", False)),
        public_submissions=bool(spec.get("public_submissions", False)),
        access=access,
        properties=properties,
        categories=categories,
    )
