"""The zone registry: which People Zones exist, their boundaries, and which zone a point falls in.

The registry is a GeoJSON file (``<data dir>/zones.geojson``, seeded from the shipped ``data/zones.geojson``), so an
administrator adds a zone by adding a polygon: ``mapper zones add`` or a text editor, never a code change.
"""

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from mapper.crs import geometry_to_metres
from mapper.durable import atomic_write, ensure_directory, locked
from mapper.errors import MapperError, ZoneNotFound
from mapper.schema import SLUG


@dataclass
class Zone:
    id: str
    name: str
    boundary: object  # Shapely Polygon or MultiPolygon, lon/lat
    properties: dict = field(default_factory=dict)

    def __post_init__(self):
        shapely.prepare(self.boundary)

    @property
    def ref_prefix(self):
        """The letters that start this zone's report references (``BF`` in ``BF-7K3QX``)."""
        prefix = self.properties.get("ref_prefix")
        if prefix:
            return prefix
        return "".join(word[0] for word in self.name.replace("&", " ").split() if word[0].isalnum())[:3].upper()

    @property
    def bbox(self):
        """(min lon, min lat, max lon, max lat)"""
        return tuple(round(v, 6) for v in self.boundary.bounds)

    @property
    def area_m2(self):
        return round(geometry_to_metres(self.boundary).area, 1)

    @property
    def centre(self):
        """(lat, lon) of a point inside the zone, in Leaflet's order."""
        point = self.boundary.representative_point()
        return point.y, point.x

    def contains(self, lon, lat):
        """True where (lon, lat) lies inside the boundary or on it; holes are outside."""
        return bool(shapely.intersects_xy(self.boundary, lon, lat))

    def to_feature(self):
        properties = {"id": self.id, "name": self.name, **self.properties}
        properties["bbox"] = list(self.bbox)
        properties["area_m2"] = self.area_m2
        return {"type": "Feature", "id": self.id, "properties": properties, "geometry": mapping(self.boundary)}


class ZoneRegistry:
    """The zones of one deployment, loaded from a GeoJSON FeatureCollection."""

    def __init__(self, zones, path=None):
        self.path = path
        self._zones = {zone.id: zone for zone in zones}
        self._tree = shapely.STRtree([zone.boundary for zone in zones]) if zones else None
        self._order = list(self._zones.values())

    def __iter__(self):
        return iter(self._order)

    def __len__(self):
        return len(self._order)

    def __contains__(self, zone_id):
        return zone_id in self._zones

    @property
    def ids(self):
        return list(self._zones)

    def get(self, zone_id):
        try:
            return self._zones[zone_id]
        except (KeyError, TypeError):
            raise ZoneNotFound(
                f"No zone {zone_id!r}. Zones are: {', '.join(self.ids)}.", field="zone"
            ) from None

    def zone_for_point(self, lon, lat):
        """The zone that contains (lon, lat), or None.

        >>> registry = load_zones(Path(__file__).parent.parent / "data" / "zones.geojson")
        >>> registry.zone_for_point(-1.187, 52.773).id
        'bell-foundry'
        >>> registry.zone_for_point(-0.1276, 51.5072) is None
        True
        """
        if self._tree is None:
            return None
        for index in self._tree.query(shapely.Point(lon, lat)):
            zone = self._order[int(index)]
            if zone.contains(lon, lat):
                return zone
        return None

    def zones_for_points(self, lon, lat):
        """Vectorised :meth:`zone_for_point`: an array of zone ids (None outside every zone)."""
        lon, lat = np.asarray(lon, float), np.asarray(lat, float)
        result = np.full(lon.shape, None, dtype=object)
        for zone in self._order:
            inside = shapely.intersects_xy(zone.boundary, lon, lat) & (result == None)  # noqa: E711
            result[inside] = zone.id
        return result

    def to_feature_collection(self):
        return {"type": "FeatureCollection", "features": [_registry_feature(z) for z in self._order]}


def load_zones(path):
    """Read a zones GeoJSON file; each feature needs ``id`` and ``name`` properties and a polygonal geometry."""
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as e:
        raise MapperError(f"Cannot read the zone registry {path}: {e}", status=503, code="zones_unreadable") from None
    zones = []
    for number, feature in enumerate(document.get("features", []), start=1):
        properties = dict(feature.get("properties") or {})
        zone_id, name = properties.pop("id", None), properties.pop("name", None)
        if not isinstance(zone_id, str) or not SLUG.match(zone_id) or not name:
            raise MapperError(f"{path}: zone {number} needs a slug 'id' and a 'name', got {zone_id!r}", status=503)
        zones.append(Zone(zone_id, name, polygonal(shape(feature["geometry"]), f"{path}: zone {zone_id}"), properties))
    return ZoneRegistry(zones, path=path)


def open_registry(zones_file, shipped_file):
    """Load the deployment's registry, seeding it from the shipped zones the first time."""
    zones_file = Path(zones_file)
    if not zones_file.exists():
        ensure_directory(zones_file.parent)
        # Atomically, so that another process or thread never reads half a registry.
        atomic_write(zones_file, Path(shipped_file).read_bytes())
    return load_zones(zones_file)


def polygonal(geometry, where="boundary"):
    """A valid Polygon or MultiPolygon from ``geometry``, or a MapperError saying why not."""
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    if geometry.geom_type == "GeometryCollection":
        geometry = shapely.union_all([g for g in geometry.geoms if g.geom_type in ("Polygon", "MultiPolygon")])
    if geometry.geom_type not in ("Polygon", "MultiPolygon") or geometry.is_empty:
        raise MapperError(f"{where}: a zone boundary must be a polygon, got {geometry.geom_type}")
    return geometry


def add_zone(registry, zone_id, name, boundary, properties=None):
    """Add a zone to a registry file and return the reloaded registry. Refuses duplicate ids."""
    if not isinstance(zone_id, str) or not SLUG.match(zone_id):
        raise MapperError(f"Zone id {zone_id!r} must be lower-case letters, digits and hyphens.", field="id")
    if not isinstance(name, str) or not name.strip():
        raise MapperError(f"Zone {zone_id!r} needs a name.", field="name")
    zone = Zone(zone_id, name.strip(), polygonal(boundary), dict(properties or {}))
    # Re-read under the lock so that two administrators adding zones at once both keep theirs.
    with locked(Path(registry.path).with_name(f".{Path(registry.path).name}.lock"), exclusive=True):
        current = load_zones(registry.path)
        if zone_id in current:
            raise MapperError(f"Zone {zone_id!r} already exists.", field="id", status=409, code="conflict")
        collection = current.to_feature_collection()
        collection["features"].append(_registry_feature(zone))
        atomic_write(registry.path, json.dumps(collection, ensure_ascii=False, indent=1).encode("utf-8"))
    return load_zones(registry.path)


def _registry_feature(zone):
    return {"type": "Feature", "properties": {"id": zone.id, "name": zone.name, **zone.properties},
            "geometry": mapping(zone.boundary)}


def place(registry, lon, lat, zone_id=None):
    """The zone a point belongs to: ``zone_id``'s if given and the point is inside it, else the one it falls in.

    Raises OutsideZone naming the zone (or listing the zones) so that the resident knows where the service works.
    """
    from mapper.errors import OutsideZone

    if zone_id is not None:
        zone = registry.get(zone_id)
        if not zone.contains(lon, lat):
            raise OutsideZone(f"The point ({lon}, {lat}) is outside the {zone.name} zone ({zone.id}).",
                              field="geometry")
        return zone
    zone = registry.zone_for_point(lon, lat)
    if zone is None:
        names = "; ".join(f"{z.name} ({z.id})" for z in registry)
        raise OutsideZone(f"The point ({lon}, {lat}) is not inside any zone we cover. Zones: {names}.",
                          field="geometry")
    return zone


def read_boundary(path):
    """One lon/lat (Multi)Polygon from any file GDAL reads: GeoJSON (a Feature, a FeatureCollection or a bare
    geometry), GeoPackage, Shapefile... Other CRSs are reprojected to EPSG:4326; several polygons are unioned."""
    import geopandas

    try:
        frame = geopandas.read_file(path)
    except (OSError, RuntimeError, ValueError) as e:
        raise MapperError(f"Cannot read the boundary file {path}: {str(e).split('; ')[0]}",
                          field="boundary") from None
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise MapperError(f"The boundary file {path} has no geometry.", field="boundary")
    if frame.crs is None:
        # Without a CRS only lon/lat is a safe guess; metres would land the zone somewhere in the ocean.
        min_x, min_y, max_x, max_y = frame.total_bounds
        if not (-180 <= min_x <= max_x <= 180 and -90 <= min_y <= max_y <= 90):
            raise MapperError(f"The boundary file {path} has no CRS and its coordinates are not lon/lat.",
                              field="boundary")
    elif not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return polygonal(frame.geometry.union_all(), f"The boundary file {path}")


def overlapping_zones(registry, zone_ids=None):
    """``(zone id, other zone id, overlap in m²)`` for zones whose boundaries share area; a point there would go
    to whichever zone is listed first. ``zone_ids`` limits the pairs to those involving these zones."""
    zones = list(registry)
    found = []
    for position, zone in enumerate(zones):
        for other in zones[position + 1:]:
            if zone_ids is not None and zone.id not in zone_ids and other.id not in zone_ids:
                continue
            if zone.boundary.intersects(other.boundary):
                area = geometry_to_metres(zone.boundary.intersection(other.boundary)).area
                if area >= 1:
                    found.append((zone.id, other.id, round(area, 1)))
    return found


def clip_to_zone(zone, lines):
    """Split a lon/lat (Multi)LineString at a zone's boundary: ``(inside, outside)``, each a MultiLineString
    (empty when nothing is there). Points where a line only touches the boundary are dropped.

    Each segment is clipped on its own and the pieces chained back in order: an overlay of the whole line would
    dissolve a street walked there and back into one pass and halve the metres walked. Walks are clipped in lon/lat
    (over tens of metres a straight segment in degrees and in metres part by millimetres) and measured afterwards in
    EPSG:27700.

    >>> from shapely.geometry import LineString, box
    >>> square = Zone("square", "Square", box(0, 0, 1, 1))
    >>> inside, outside = clip_to_zone(square, LineString([(0.5, 0.5), (1.5, 0.5), (0.5, 0.5)]))
    >>> inside.wkt, outside.wkt
    ('MULTILINESTRING ((0.5 0.5, 1 0.5), (1 0.5, 0.5 0.5))', 'MULTILINESTRING ((1 0.5, 1.5 0.5, 1 0.5))')
    """
    inside, outside = [], []
    for line in shapely.get_parts(lines):
        coordinates = shapely.get_coordinates(line)
        if len(coordinates) < 2:
            continue
        segments = shapely.linestrings(np.stack([coordinates[:-1], coordinates[1:]], axis=1))
        # Only segments that cross the boundary need an overlay; the rest are wholly in or wholly out (vectorised).
        within = shapely.within(segments, zone.boundary)
        touching = shapely.intersects(segments, zone.boundary)
        crossing = np.flatnonzero(touching & ~within)
        vertices = [tuple(position) for position in coordinates.tolist()]
        inside += _chained(vertices, within, dict(zip(crossing, shapely.intersection(segments[crossing],
                                                                                      zone.boundary))))
        outside += _chained(vertices, ~touching, dict(zip(crossing, shapely.difference(segments[crossing],
                                                                                        zone.boundary))))
    return shapely.MultiLineString(inside), shapely.MultiLineString(outside)


def _chained(vertices, whole, pieces):
    """Lines from a walk's segments: segment ``i`` (``vertices[i]`` to ``vertices[i + 1]``) is kept whole where
    ``whole[i]``, as its ``pieces[i]`` where it crosses the boundary, and not at all otherwise. Pieces are joined
    where the walk went on through a shared vertex; anywhere else a new line starts."""
    lines, current = [], None
    for number, keep in enumerate(whole):
        start, end = vertices[number], vertices[number + 1]
        if start == end:
            continue  # a GPS log repeats a position while the walkers stand still: no segment, no break
        if keep:
            parts = [[start, end]]
        elif number in pieces:
            parts = [list(part.coords) for part in shapely.get_parts(pieces[number])
                     if part.geom_type == "LineString" and part.length > 0]
        else:
            parts = []
        for position, coordinates in enumerate(parts):
            if position == 0 and current is not None and current[-1] == coordinates[0] == start:
                current.extend(coordinates[1:])
            else:
                current = coordinates
                lines.append(current)
        if not parts or parts[-1][-1] != end:
            current = None  # the walk left the zone (or came back) within this segment
    return lines
