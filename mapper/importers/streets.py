"""OSM-style GeoJSON street lines -> the zone's ``streets`` layer: the walking network for catchments (issue 7).

Accepted: LineString and MultiLineString features with OSM tags as properties, as Overpass turbo, osmtogeojson
(flat ``@id`` or nested ``tags``), ``ogr2ogr`` from a ``.osm.pbf`` (``osm_id``, ``other_tags``) or QGIS write them.

* **Which ways people may walk** is the table :data:`HIGHWAYS` (``highway`` value -> walkable), not code. Motorways
  never are; trunk roads only when tagged with a pavement (``sidewalk=both|left|right|yes``) or ``foot=yes``;
  ``foot=no`` (or ``use_sidepath``) and ``access=no|private`` without a ``foot`` permission exclude any way.
  Values the table does not know are left out and counted, so a surprise shows in the report.
* **Where**: ways that come within :data:`MARGIN_M` (the default 10-minute reach, 800 m) of the zone are kept
  whole, so that walks from facilities near the boundary can leave the zone and come back as people do.
* **Once**: each way is keyed by its OSM id (``osm:way/123``), else a hash of its line, tags and name
  (``sha256:...``); a key already in the layer or earlier in the file is skipped, so re-importing adds nothing.

Every way is checked by the one validator (:func:`mapper.validate.validate_feature`) before anything is stored.
``intake.judge_many`` is not used because it places a feature by its point: a street may lie partly, or just, outside
the zone it serves, which is decided here by the margin instead.
"""

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import orjson
import shapely

from mapper.crs import geometry_to_metres
from mapper.errors import MalformedInput, MapperError

LAYER = "streets"
IN_USE = "in-use"
MARGIN_M = 800.0  # the default reach: 4.8 km/h for 10 minutes (mapper.analysis.catchments.Settings)

# highway=* -> may people walk along it. Unknown values are not walked (and counted, so they can be added here).
HIGHWAYS = {
    # paths and pedestrian ways
    "footway": True, "path": True, "pedestrian": True, "steps": True, "living_street": True, "bridleway": True,
    "cycleway": True, "track": True, "corridor": True, "platform": True, "elevator": True,
    # roads with pavements, or quiet enough to walk
    "residential": True, "service": True, "unclassified": True, "road": True, "tertiary": True,
    "tertiary_link": True, "secondary": True, "secondary_link": True, "primary": True, "primary_link": True,
    # not for people on foot (trunk roads unless tagged with a pavement or foot=yes; see TRUNK)
    "motorway": False, "motorway_link": False, "trunk": False, "trunk_link": False,
    # not there (yet, or any more), or not a way at all
    "construction": False, "proposed": False, "planned": False, "abandoned": False, "disused": False,
    "razed": False, "raceway": False, "bus_guideway": False, "busway": False, "escape": False,
    "emergency_bay": False, "via_ferrata": False,
}
TRUNK = {"trunk", "trunk_link"}  # walkable with a pavement or foot=yes
FOOT_ALLOWED = {"yes", "designated", "permissive", "official", "destination"}
FOOT_FORBIDDEN = {"no", "private", "use_sidepath"}  # use_sidepath: the pavement is a way of its own
ACCESS_FORBIDDEN = {"no", "private"}
SIDEWALK = {"both", "left", "right", "yes"}
OTHER_TAGS = re.compile(r'"((?:[^"\\]|\\.)*)"=>"((?:[^"\\]|\\.)*)"')  # ogr2ogr's hstore text
OSM_ID = re.compile(r"^(?:https?://(?:www\.)?openstreetmap\.org/)?(node|way|relation)[/:](-?\d+)$")

# Why a feature was not imported, in the order they are checked (and reported).
NOT_A_LINE = "not a line"
NO_HIGHWAY = "no highway tag"
NOT_WALKABLE = "not a way people walk (motorway, trunk, construction ...)"
NO_FOOT = "no access on foot (foot=no, access=private ...)"
REFUSED = "refused by the validator"
OUTSIDE = "outside the zone and its margin"
DUPLICATE = "the same way again in the file"
ALREADY = "already imported"
REASONS = (NOT_A_LINE, NO_HIGHWAY, NOT_WALKABLE, NO_FOOT, REFUSED, OUTSIDE, DUPLICATE, ALREADY)


@dataclass
class StreetImport:
    """What an import did: features read, ways added (and their length), skipped by reason, refusals."""

    zone: str
    rows: int = 0
    added: int = 0
    added_m: float = 0.0
    skipped: Counter = field(default_factory=Counter)
    refusals: list = field(default_factory=list)  # (feature number, message)
    unknown_highways: Counter = field(default_factory=Counter)
    stored_nothing: bool = False  # refusals without skip_invalid: nothing was stored

    def summary(self):
        """One line: ``Imported 5 of 9 features (1.2 km of walkable ways) into bell-foundry/streets; skipped ...``."""
        parts = [f"{reason} {self.skipped[reason]:,}" for reason in REASONS if self.skipped[reason]]
        skipped = f"; skipped {sum(self.skipped.values()):,}: " + ", ".join(parts) if parts else ""
        if self.stored_nothing:
            return (f"Nothing imported into {self.zone}/{LAYER}: {self.skipped[REFUSED]:,} of {self.rows:,} features "
                    "refused.")
        return (f"Imported {self.added:,} of {self.rows:,} features ({self.added_m / 1000:,.1f} km of walkable ways) "
                f"into {self.zone}/{LAYER}{skipped}.")

    def notes(self):
        if not self.unknown_highways:
            return []
        values = ", ".join(f"{value} ({count})" for value, count in self.unknown_highways.most_common())
        return [f"highway values not known to be walkable, left out: {values}."]


def osm_tags(properties):
    """The tags of a feature's properties, however the converter laid them out (flat, nested ``tags``, or
    ogr2ogr's ``other_tags`` hstore text), as a dict of text.

    >>> osm_tags({"osm_id": "42", "highway": "footway", "other_tags": '"foot"=>"no","lit"=>"yes"'})["foot"]
    'no'
    """
    if not isinstance(properties, dict):
        return {}
    tags = {key: value for key, value in properties.items() if isinstance(value, (str, int, float))}
    nested = properties.get("tags")
    if isinstance(nested, dict):
        tags.update({key: value for key, value in nested.items() if isinstance(value, (str, int, float))})
    other = properties.get("other_tags")
    if isinstance(other, str):
        for key, value in OTHER_TAGS.findall(other):
            tags.setdefault(key.replace('\\"', '"'), value.replace('\\"', '"'))
    return {str(key): str(value).strip() for key, value in tags.items()}


def walkable(tags):
    """``(True, None)`` for a way people may walk along, else ``(False, reason)`` (see :data:`HIGHWAYS`).

    >>> walkable({"highway": "footway"}), walkable({"highway": "residential", "access": "private"})[1]
    ((True, None), 'no access on foot (foot=no, access=private ...)')
    >>> walkable({"highway": "trunk", "sidewalk": "both"})
    (True, None)
    """
    highway = tags.get("highway", "").lower()
    if not highway:
        return False, NO_HIGHWAY
    foot, access = tags.get("foot", "").lower(), tags.get("access", "").lower()
    if not HIGHWAYS.get(highway, False):
        pavement = tags.get("sidewalk", "").lower() in SIDEWALK or foot in FOOT_ALLOWED
        if not (highway in TRUNK and pavement):
            return False, NOT_WALKABLE
    if foot in FOOT_FORBIDDEN or (access in ACCESS_FORBIDDEN and foot not in FOOT_ALLOWED):
        return False, NO_FOOT
    return True, None


def source_key(feature, tags):
    """The way's OSM id as ``osm:way/123`` where the file has one (``@id``, the feature's own ``id``, ``id`` with
    osmtogeojson's ``type``, ogr2ogr's ``osm_id``), else ``sha256:`` of its coordinates, highway and name, so that
    the same line gives the same key.

    >>> source_key({"id": "way/4411", "properties": {}}, {}), source_key({"properties": {"osm_id": "77"}}, {})
    ('osm:way/4411', 'osm:way/77')
    """
    properties = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
    kind = properties.get("type") if properties.get("type") in ("node", "way", "relation") else None
    for value, numbered in ((tags.get("@id"), None), (feature.get("id"), None), (properties.get("id"), kind),
                            (properties.get("osm_id"), "way")):  # ogr2ogr's lines layer: osm_id is a way's id
        if value is None or isinstance(value, bool):
            continue
        text = str(value).strip()
        match = OSM_ID.match(text)
        if match:
            return f"osm:{match.group(1)}/{match.group(2)}"
        if numbered and text.lstrip("-").isdigit():
            return f"osm:{numbered}/{text}"
        if text:
            return f"id:{text}"[:200]
    digest = hashlib.sha256(orjson.dumps([feature.get("geometry"), tags.get("highway"), tags.get("name")]))
    return f"sha256:{digest.hexdigest()[:32]}"


def read_ways(path):
    """``(feature number, feature)`` from a GeoJSON file of lines; MalformedInput for anything else."""
    from mapper.importers import geojson, reader_for

    path = Path(path)
    if reader_for(path) is not geojson:
        raise MalformedInput(f"{path}: streets are imported from GeoJSON lines (an OSM extract as GeoJSON); this "
                             "file is not GeoJSON.")
    rows = list(geojson.read_features(path))
    if not rows:
        raise MalformedInput(f"{path} has no features to import.")
    return rows


def import_streets(path, zone_id, *, schema, zones, store, margin_m=MARGIN_M, skip_invalid=False):
    """Import an OSM-style GeoJSON file of lines into a zone's ``streets`` layer; return a :class:`StreetImport`.

    Every feature is read and judged before one append stores the accepted ways, so an unreadable file stores
    nothing. Features the validator refuses are listed with their numbers; then nothing is stored unless
    ``skip_invalid`` (as ``mapper import``). Ways skipped by the walking table, the margin or their key are not
    refusals: an OSM extract is full of them.
    """
    from mapper.validate import TRUSTED, validate_feature

    zone = zones.get(zone_id)
    layer = schema.layer(LAYER)
    path = Path(path)
    rows = read_ways(path)
    report = StreetImport(zone.id, rows=len(rows))
    candidates = []  # (feature number, submission)
    for number, feature in rows:
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not isinstance(geometry, dict) or geometry.get("type") not in ("LineString", "MultiLineString"):
            report.skipped[NOT_A_LINE] += 1
            continue
        tags = osm_tags(feature.get("properties"))
        ok, reason = walkable(tags)
        if not ok:
            report.skipped[reason] += 1
            if reason == NOT_WALKABLE and tags["highway"].lower() not in HIGHWAYS:
                report.unknown_highways[tags["highway"].lower()] += 1
            continue
        properties = {**_properties(tags, layer, path), "source_key": source_key(feature, tags)}
        try:
            submission = validate_feature({"type": "Feature", "geometry": geometry, "properties": properties},
                                          layer, status=IN_USE, context=TRUSTED)
        except MapperError as error:
            report.skipped[REFUSED] += 1
            report.refusals.append((number, error.message))
            continue
        candidates.append(submission)
    stored, kept = store.values(zone.id, LAYER, "source_key"), {}
    for submission in _near_zone(candidates, zone, margin_m, report):
        key = submission.properties["source_key"]
        if key in stored or key in kept:
            report.skipped[ALREADY if key in stored else DUPLICATE] += 1
            continue
        kept[key] = submission
    if report.refusals and not skip_invalid:
        report.stored_nothing = True
    elif kept:
        # unique= decides again under the layer lock: the same file imported twice at once adds its ways once
        added = {feature["properties"]["source_key"]
                 for feature in store.append(zone.id, LAYER, list(kept.values()), unique="source_key")}
        report.added = len(added)
        if len(added) < len(kept):  # another import stored them first
            report.skipped[ALREADY] += len(kept) - len(added)
        if added:
            report.added_m = float(shapely.length(_in_metres([kept[key] for key in added])).sum())
    return report


def _in_metres(submissions):
    return geometry_to_metres(np.array([submission.geometry for submission in submissions], dtype=object))


def _properties(tags, layer, path):
    def text(name):
        value = " ".join(tags.get(name, "").split())
        limit = layer.properties[name].max_length
        return value[:limit] or None

    properties = {"name": text("name"), "highway": text("highway").lower() if text("highway") else None,
                  "source": path.name[:layer.properties["source"].max_length]}
    return {key: value for key, value in properties.items() if value is not None}


def _near_zone(candidates, zone, margin_m, report):
    """The candidates whose line comes within ``margin_m`` metres of the zone (in EPSG:27700); the rest counted."""
    if not candidates:
        return []
    area = geometry_to_metres(zone.boundary).buffer(margin_m)
    near = shapely.intersects(_in_metres(candidates), area)
    report.skipped[OUTSIDE] += int((~near).sum())
    return [candidate for candidate, keep in zip(candidates, near) if keep]
