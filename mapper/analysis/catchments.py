"""Community Payback (issue 7): welfare facilities, their walking catchments, site checks and gaps.

A Community Payback (CP) site must lie within a 10-minute walk of welfare facilities (toilets, water, shelter). This
module answers, in EPSG:27700 metres throughout (:mod:`mapper.crs`):

* where each facility's walk reaches (:func:`catchments`), and the union of those areas cut into parts by the set of
  facilities serving them (:func:`catchment_parts`, :func:`catchment_collection`);
* whether a candidate site is within reach, how far the nearest facilities are and what is missing
  (:func:`check_site`);
* where a new facility would open up most blocked sites (:func:`gaps`).

Two methods, chosen by whether the zone has a street network (its ``streets`` layer, ``mapper import-streets``):

* **circle**: a circle of radius speed x time / detour (4.8 km/h, 10 min, detour 1.3 -> 615.38 m). The detour
  factor stands for streets not running straight to where one is going, and is stated in every output.
* **network**: the streets reachable within speed x time (800 m) from a shortest-path computation on the street
  graph (:func:`scipy.sparse.csgraph.dijkstra`, ``limit`` = the reach), partial streets included, buffered by
  ``network_buffer_m`` either side. A point off the network (a facility's door, a site) joins it at the nearest
  point of the nearest street, and the walk to that point counts.

This module owns the facilities, the settings, catchments and their parts, site checks and gaps. The street graph
(building it, joining points to it, shortest paths, reachable streets and the per-zone cache) is
:mod:`mapper.analysis.network`; its public names (:class:`Network`, :func:`load_network`, :func:`zone_network`, ...)
are re-exported here, so ``from mapper.analysis.catchments import Network`` keeps working.

Nothing here knows Flask or Folium; features come in as the store's GeoJSON dicts (lon/lat).
"""

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely.geometry import mapping, shape

from mapper.analysis.network import (  # noqa: F401 - re-exported: the network's names are importable from here
    BUFFER_QUAD_SEGMENTS, CACHED_NETWORKS, DIJKSTRA_ROWS, NODE_DECIMALS, STREETS, Attachment, Network,
    load_network, zone_network)
from mapper.crs import from_british_national_grid, geometry_from_metres, to_british_national_grid
from mapper.errors import ValidationError

OFFERS = ("toilets", "water", "shelter")  # what a welfare facility offers; all three are what CP needs
WELFARE_CATEGORY = "welfare-facility"
PUBLISHED = "published"
ALWAYS_OPEN = "24/7"  # OSM opening_hours for always open; any other text (or none) is limited hours
ASSETS = "assets"
CIRCLE = "circle"
NETWORK = "network"
# Allowed ranges of the settings: (least, most).
LIMITS = {"minutes": (1.0, 60.0), "speed_kmh": (1.0, 10.0), "detour": (1.0, 3.0), "network_buffer_m": (1.0, 200.0)}
ALIASES = {"minutes": ("minutes",), "speed_kmh": ("speed_kmh", "speed"), "detour": ("detour",),
           "network_buffer_m": ("network_buffer_m", "buffer")}
CIRCLE_QUAD_SEGMENTS = 32  # circles are 128-gons: 0.04 % short of a true circle's area
SITE_SAMPLE_M = 20.0  # on a network a polygon site is measured along its boundary every 20 m (at most ...)
MAX_SITE_SAMPLES = 200
MAX_CANDIDATES = 250_000  # candidate places for gaps; a coarser grid beyond
TOLERANCE_M = 1e-6  # a walk of exactly the reach is within it
GRID_DECIMALS = 0.01  # noding precision (metres) when the catchments are cut into parts


@dataclass(frozen=True)
class Settings:
    """How far a walk reaches. ``detour`` applies to circles only; ``network_buffer_m`` to networks only."""

    minutes: float = 10.0
    speed_kmh: float = 4.8
    detour: float = 1.3
    network_buffer_m: float = 50.0
    required: tuple = OFFERS  # what a CP site needs within reach

    def __post_init__(self):
        if isinstance(self.required, str) or not isinstance(self.required, (list, tuple, set, frozenset)):
            raise ValidationError("'required' is a list of offers such as toilets,water.", field="required")
        object.__setattr__(self, "required", tuple(self.required))
        for name, (least, most) in LIMITS.items():
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and not isinstance(value, bool) and least <= value <= most):
                raise ValidationError(f"{name!r} must be a number from {least:g} to {most:g}, got {value!r}.",
                                      field=name)
        unknown = [offer for offer in self.required if offer not in OFFERS]
        if unknown:
            raise ValidationError(f"'required' takes {', '.join(OFFERS)}; got {unknown[0]!r}.", field="required")

    @property
    def metres_per_minute(self):
        return self.speed_kmh * 1000 / 60

    @property
    def reach_m(self):
        """How far one walks in ``minutes`` (800 m by default)."""
        return self.speed_kmh * self.minutes * 1000 / 60

    @property
    def radius_m(self):
        """The straight-line radius of a circle catchment: the reach shortened by the detour (615.38 m)."""
        return self.reach_m / self.detour

    @classmethod
    def parse(cls, args):
        """Settings from query or JSON values (text or numbers); absent or blank values keep their defaults.

        >>> Settings.parse({"minutes": "15", "speed": 4}).reach_m
        1000.0
        >>> Settings.parse({"detour": "4"})
        Traceback (most recent call last):
        ...
        mapper.errors.ValidationError: 'detour' must be a number from 1 to 3, got '4'.
        """
        args = args if args is not None else {}
        values = {}
        for name, aliases in ALIASES.items():
            raw = next((args[alias] for alias in aliases if alias in args and args[alias] not in (None, "")), None)
            if raw is not None:
                values[name] = _number(raw, name)
        required = args.get("required")
        if required not in (None, ""):
            items = required.split(",") if isinstance(required, str) else required
            if not isinstance(items, (list, tuple)) or not all(isinstance(item, str) for item in items):
                raise ValidationError("'required' is a list of offers such as toilets,water.", field="required")
            values["required"] = tuple(dict.fromkeys(item.strip().lower() for item in items if item.strip()))
        return cls(**values)

    def describe(self, method):
        """The settings as stated with a result: the detour only for circles, the buffer only for networks."""
        return {"minutes": self.minutes, "speed_kmh": self.speed_kmh,
                "detour": self.detour if method == CIRCLE else None,
                "network_buffer_m": self.network_buffer_m if method == NETWORK else None,
                "required": list(self.required)}


def _number(raw, name):
    least, most = LIMITS[name]
    value = None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or not least <= value <= most:
        shown = raw[:40] if isinstance(raw, str) else raw if isinstance(raw, (int, float)) else str(raw)[:40]
        raise ValidationError(f"{name!r} must be a number from {least:g} to {most:g}, got {shown!r}.", field=name)
    return value


# -- facilities ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Facility:
    id: str
    name: str
    category: str
    offers: frozenset  # subset of OFFERS
    opening_hours: str | None
    always_open: bool  # opening_hours "24/7"; anything else, or unknown, is limited hours
    x: float  # EPSG:27700
    y: float
    lon: float
    lat: float

    @property
    def offers_list(self):
        return [offer for offer in OFFERS if offer in self.offers]


def always_open(opening_hours):
    """True only for OSM's ``24/7``: opening-hours text is not interpreted, so anything else counts as limited.

    >>> always_open(" 24/7 "), always_open("Mo-Fr 09:00-17:00"), always_open(None)
    (True, False, False)
    """
    return isinstance(opening_hours, str) and "".join(opening_hours.split()) == ALWAYS_OPEN


def welfare_facilities(features):
    """The welfare facilities among asset features: published assets of category ``welfare-facility``, or any asset
    with ``welfare`` true. Offers come from the boolean properties toilets/water/shelter; a facility with none set
    offers nothing known (it still appears, so that the gap is visible)."""
    found = []
    for feature in features:
        properties = feature.get("properties") or {}
        if properties.get("status", PUBLISHED) != PUBLISHED:
            continue
        if properties.get("category") != WELFARE_CATEGORY and properties.get("welfare") is not True:
            continue
        point = _lon_lat(feature.get("geometry"))
        if point is None:
            continue
        found.append((feature, properties, point))
    if not found:
        return []
    lon = np.array([point[0] for _, _, point in found])
    lat = np.array([point[1] for _, _, point in found])
    x, y = _to_metres(lon, lat)
    facilities = []
    for (feature, properties, _), fx, fy, flon, flat in zip(found, x, y, lon, lat):
        hours = properties.get("opening_hours")
        facilities.append(Facility(
            id=str(properties.get("id") or feature.get("id") or ""), name=properties.get("name") or "",
            category=properties.get("category") or "",
            offers=frozenset(offer for offer in OFFERS if properties.get(offer) is True),
            opening_hours=hours, always_open=always_open(hours), x=float(fx), y=float(fy), lon=float(flon),
            lat=float(flat)))
    return facilities


def _to_metres(lon, lat):
    x, y = to_british_national_grid(lon, lat)
    return np.atleast_1d(x), np.atleast_1d(y)


def _lon_lat(geometry):
    if not isinstance(geometry, dict):
        return None
    if geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates") or []
        return (float(coordinates[0]), float(coordinates[1])) if len(coordinates) >= 2 else None
    try:  # an asset drawn as an area stands at a point inside it
        point = shape(geometry).representative_point()
    except Exception:  # noqa: BLE001 - whatever a hand edit left; `mapper check` reports it
        return None
    return (point.x, point.y) if not point.is_empty else None


def _xy(facilities):
    return np.array([(f.x, f.y) for f in facilities], dtype=float).reshape(-1, 2)


def zone_inputs(store, zone_id):
    """``(facilities, network)`` of a zone: its published welfare facilities and its street network (or None)."""
    assets = store.query(zone_id, ASSETS, where={"status": PUBLISHED})
    return welfare_facilities(assets), zone_network(store, zone_id)


# -- catchments and their parts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Catchment:
    facility: Facility
    geometry: object  # EPSG:27700 (Multi)Polygon
    method: str  # "circle" or "network"


def catchments(facilities, settings=Settings(), network=None):
    """Each facility's walking catchment: a circle of :attr:`Settings.radius_m`, or with a network the reachable
    streets buffered by :attr:`Settings.network_buffer_m`.

    >>> from mapper.crs import from_british_national_grid
    >>> lon, lat = from_british_national_grid(454000, 319000)
    >>> feature = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
    ...            "properties": {"id": "w1", "name": "Hub", "category": "welfare-facility", "toilets": True}}
    >>> [circle] = catchments(welfare_facilities([feature]))
    >>> circle.method, round(circle.geometry.area / (math.pi * 615.3846 ** 2), 3)
    ('circle', 1.0)
    """
    facilities = list(facilities)
    if not facilities:
        return []
    if network is None:
        circles = shapely.buffer(shapely.points(_xy(facilities)), settings.radius_m, quad_segs=CIRCLE_QUAD_SEGMENTS)
        return [Catchment(f, g, CIRCLE) for f, g in zip(facilities, circles)]
    areas = network.catchments(_xy(facilities), settings.reach_m, settings.network_buffer_m)
    return [Catchment(f, g, NETWORK) for f, g in zip(facilities, areas)]


def catchment_parts(catchments):
    """The union of the catchments cut into parts, each served by one set of facilities.

    The catchments' boundaries are noded together and polygonized (Shapely/GEOS); each face is attributed to the
    catchments containing a point inside it, and faces with the same facilities are joined. ``limited_hours`` marks a
    part no always-open (``24/7``) facility serves. Returns dicts: geometry (EPSG:27700), facilities (ids), names,
    offers, limited_hours, method.
    """
    catchments = [c for c in catchments if c.geometry is not None and not c.geometry.is_empty]
    if not catchments:
        return []
    shapes = np.array([c.geometry for c in catchments], dtype=object)
    lines = shapely.union_all(shapely.boundary(shapes), grid_size=GRID_DECIMALS)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    faces = faces[shapely.area(faces) > 1e-6]
    if not len(faces):
        return []
    inside = shapely.point_on_surface(faces)
    face_index, catchment_index = shapely.STRtree(shapes).query(inside, predicate="intersects")
    served = {}
    for face, catchment in zip(face_index.tolist(), catchment_index.tolist()):
        served.setdefault(face, set()).add(catchment)
    groups = {}
    for face, members in served.items():
        groups.setdefault(tuple(sorted(members)), []).append(faces[face])
    parts = []
    for members, pieces in sorted(groups.items()):
        serving = [catchments[i] for i in members]
        offers = set().union(*(c.facility.offers for c in serving))
        parts.append({
            "geometry": shapely.union_all(pieces, grid_size=GRID_DECIMALS),
            "facilities": [c.facility.id for c in serving],
            "names": [c.facility.name for c in serving],
            "offers": [offer for offer in OFFERS if offer in offers],
            "limited_hours": not any(c.facility.always_open for c in serving),
            "method": serving[0].method,
        })
    return parts


def catchment_collection(parts, settings=Settings()):
    """An RFC 7946 FeatureCollection (lon/lat) of catchment parts, with the settings on every feature and in its
    ``analysis`` member (the detour only for circles, the buffer only for networks)."""
    features = []
    for part in parts:
        described = settings.describe(part["method"])
        properties = {"facilities": part["facilities"], "names": part["names"], "offers": part["offers"],
                      "limited_hours": part["limited_hours"], "method": part["method"],
                      "minutes": described["minutes"], "speed_kmh": described["speed_kmh"],
                      "detour": described["detour"], "network_buffer_m": described["network_buffer_m"],
                      "area_m2": round(part["geometry"].area, 1)}
        geometry = shapely.transform(geometry_from_metres(part["geometry"]), lambda xy: np.round(xy, 7))
        features.append({"type": "Feature", "geometry": mapping(geometry), "properties": properties})
    method = parts[0]["method"] if parts else None
    analysis = {"method": method, **settings.describe(method), "reach_m": round(settings.reach_m, 2),
                "radius_m": round(settings.radius_m, 2) if method != NETWORK else None}
    return {"type": "FeatureCollection", "name": "catchments", "analysis": analysis,
            "features": _plain(features)}


def _plain(value):
    """Shapely's tuples as JSON lists, so the collection is what a JSON round trip gives."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def catchment_layer(store, zone_id, settings=Settings()):
    """The zone's catchment layer as a FeatureCollection: the one function the CLI and the web page share."""
    facilities, network = zone_inputs(store, zone_id)
    return catchment_collection(catchment_parts(catchments(facilities, settings, network)), settings)


# -- site checks -----------------------------------------------------------------------------------------------------


def site_samples(geometry, network=None):
    """The points of a site at which it is measured, ``(M, 2)``: a point itself; for an area or a line the vertices
    of its convex hull (the farthest point of a shape from any point in a straight line is one of them), or on a
    network its boundary every :data:`SITE_SAMPLE_M` metres (at most :data:`MAX_SITE_SAMPLES` points)."""
    if geometry is None or geometry.is_empty:
        raise ValidationError("The site has no geometry.", field="geometry")
    if geometry.geom_type == "Point":
        return np.array([[geometry.x, geometry.y]])
    if network is None:
        return np.unique(shapely.get_coordinates(geometry.convex_hull), axis=0)
    outline = geometry.boundary if geometry.geom_type in ("Polygon", "MultiPolygon") else geometry
    spacing = max(SITE_SAMPLE_M, outline.length / MAX_SITE_SAMPLES)
    return np.unique(shapely.get_coordinates(shapely.segmentize(outline, spacing)), axis=0)


def walking_distances(samples, facilities, settings=Settings(), network=None, limit=None):
    """``(walked, straight)``: per facility the walking distance in metres to the farthest of the site's
    ``samples`` (network distance, or straight line x detour for circles; inf when unreachable) and the straight
    line to it."""
    xy = _xy(facilities)
    if not len(xy):
        return np.zeros(0), np.zeros(0)
    straight = np.hypot(samples[:, None, 0] - xy[None, :, 0], samples[:, None, 1] - xy[None, :, 1]).max(axis=0)
    if network is None:
        return straight * settings.detour, straight
    if len(xy) < len(samples):  # walking is two-way: run Dijkstra from whichever side has fewer points
        return network.distances(xy, samples, limit=limit).max(axis=1), straight
    return network.distances(samples, xy, limit=limit).max(axis=0), straight


def check_site(geometry, facilities, settings=Settings(), network=None, nearest=3):
    """Whether a site (a Shapely Point or Polygon in EPSG:27700) is within reach of every required offer.

    A polygon is measured at its farthest point, since every part of a site must be within reach. The answer is
    ready for JSON: within_reach, method, minutes (to the nearest facility), nearest (the ``nearest`` closest
    facilities with minutes, distance_m (walked), straight_line_m, offers, opening_hours, always_open and
    within_reach), reachable, missing, offers (available within reach), limited_hours and settings.
    """
    facilities = list(facilities)
    method = NETWORK if network is not None else CIRCLE
    walked, straight = walking_distances(site_samples(geometry, network), facilities, settings, network)
    within = walked <= settings.reach_m + TOLERANCE_M
    reachable = [facility for facility, ok in zip(facilities, within) if ok]
    available = set().union(*(f.offers for f in reachable)) if reachable else set()
    missing = [offer for offer in settings.required if offer not in available]
    order = sorted(range(len(facilities)), key=lambda i: (walked[i], facilities[i].name, facilities[i].id))
    minutes = walked / settings.metres_per_minute
    listed = [{"id": facilities[i].id, "name": facilities[i].name, "category": facilities[i].category,
               "minutes": _rounded(minutes[i], 2), "distance_m": _rounded(walked[i], 1),
               "straight_line_m": _rounded(straight[i], 1), "offers": facilities[i].offers_list,
               "opening_hours": facilities[i].opening_hours, "always_open": facilities[i].always_open,
               "within_reach": bool(within[i])} for i in order[:max(0, nearest)]]
    return {
        "within_reach": not missing and bool(reachable),
        "method": method,
        "minutes": _rounded(minutes[order[0]], 2) if order else None,
        "nearest": listed,
        "reachable": [f.id for f in reachable],
        "missing": missing,
        "offers": [offer for offer in OFFERS if offer in available],
        "limited_hours": bool(reachable) and not any(f.always_open for f in reachable),
        "settings": settings.describe(method),
    }


def _rounded(value, digits):
    return round(float(value), digits) if math.isfinite(value) else None


# -- gaps ------------------------------------------------------------------------------------------------------------


@dataclass
class _Coverage:
    """Which candidate places would bring which blocked sites within reach, and how far the farthest point is."""

    xy: np.ndarray  # (C, 2) candidate places
    covers: np.ndarray  # (S, C) bool
    far: np.ndarray  # (S, C) walking metres to the site's farthest point (where covered)
    extra: dict = field(default_factory=dict)


def gaps(sites, facilities, settings=Settings(), network=None, top=5, spacing_m=50.0):
    """Where a new welfare facility offering everything required would unlock most blocked sites.

    ``sites`` is ``[(id, EPSG:27700 geometry)]``. A site is blocked when :func:`check_site` says it is not within
    reach. Candidate places are a grid every ``spacing_m`` metres round the blocked sites (circles), or the
    network's junctions; they are chosen greedily (maximum coverage): the place unlocking most blocked sites first,
    then the place unlocking most of the rest, and so on; ties go to the place nearest its sites. Returns at most
    ``top`` places with ``unlocks`` > 0, best first: rank, x, y, lon, lat, unlocks, sites (ids).
    """
    if not (isinstance(spacing_m, (int, float)) and 5 <= spacing_m <= 1000):
        raise ValidationError(f"'spacing_m' must be from 5 to 1000 metres, got {spacing_m!r}.", field="spacing_m")
    sites, facilities = list(sites), list(facilities)
    samples = [site_samples(geometry, network) for _, geometry in sites]
    blocked = [i for i, points in enumerate(samples) if not _within(points, facilities, settings, network)]
    if not blocked or top <= 0:
        return []
    points = [samples[i] for i in blocked]
    coverage = _network_coverage(points, settings, network) if network is not None else \
        _circle_coverage(points, settings, spacing_m)
    result = []
    for rank, (choice, unlocked) in enumerate(_greedy(coverage.covers, coverage.far, top), start=1):
        x, y = coverage.xy[choice]
        lon, lat = from_british_national_grid(x, y)
        result.append({"rank": rank, "x": round(float(x), 1), "y": round(float(y), 1), "lon": round(float(lon), 7),
                       "lat": round(float(lat), 7), "unlocks": len(unlocked),
                       "sites": [sites[blocked[i]][0] for i in unlocked]})
    return result


def _within(samples, facilities, settings, network):
    """:func:`check_site`'s answer without the listing: the walk limited to the reach, for speed."""
    walked, _ = walking_distances(samples, facilities, settings, network, limit=settings.reach_m + TOLERANCE_M)
    available = set()
    for facility, distance in zip(facilities, walked):
        if distance <= settings.reach_m + TOLERANCE_M:
            available |= facility.offers
            if not settings.required:
                return True
    return bool(available) and all(offer in available for offer in settings.required)


def _circle_coverage(points, settings, spacing_m):
    everything = np.vstack(points)
    low = np.floor((everything.min(axis=0) - settings.radius_m) / spacing_m) * spacing_m
    high = np.ceil((everything.max(axis=0) + settings.radius_m) / spacing_m) * spacing_m
    while np.prod((high - low) / spacing_m + 1) > MAX_CANDIDATES:
        spacing_m *= 2
    xs, ys = np.arange(low[0], high[0] + spacing_m / 2, spacing_m), np.arange(low[1], high[1] + spacing_m / 2,
                                                                             spacing_m)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    far = np.empty((len(points), len(grid)))
    for row, site in enumerate(points):
        far[row] = np.hypot(grid[:, None, 0] - site[None, :, 0], grid[:, None, 1] - site[None, :, 1]).max(axis=1)
    far *= settings.detour
    return _Coverage(grid, far <= settings.reach_m + TOLERANCE_M, far)


def _network_coverage(points, settings, network):
    """Junctions within reach of every sampled point of each blocked site, from one limited Dijkstra per point."""
    attachment = network.attach(np.vstack(points))
    graph = network.graph(attachment)
    bounds = np.cumsum([0] + [len(p) for p in points])
    reach = settings.reach_m + TOLERANCE_M
    per_site = []  # (junctions within reach of the whole site, their distance to its farthest point)
    for row in range(len(points)):
        farthest = np.zeros(len(network.nodes))
        for _, walked in network.walks(attachment, limit=reach, graph=graph,
                                       rows=np.arange(bounds[row], bounds[row + 1])):
            farthest = np.maximum(farthest, walked.max(axis=0))
        near = np.flatnonzero(farthest <= reach)
        per_site.append((near, farthest[near]))
    # Only junctions near some blocked site are candidates: the matrix stays sites x (a few thousand), not x nodes.
    useful = np.unique(np.concatenate([near for near, _ in per_site]))
    far = np.full((len(points), len(useful)), np.inf)
    for row, (near, distances) in enumerate(per_site):
        far[row, np.searchsorted(useful, near)] = distances
    return _Coverage(network.nodes[useful], far <= reach, far)


def _greedy(covers, far, top):
    """Maximum-coverage greedy: yield ``(candidate, unlocked site rows)`` up to ``top`` times while one unlocks any."""
    remaining = np.ones(covers.shape[0], dtype=bool)
    for _ in range(top):
        if not covers.shape[1]:
            return
        open_covers = covers & remaining[:, None]
        counts = open_covers.sum(axis=0)
        best = counts.max()
        if best == 0:
            return
        tied = np.flatnonzero(counts == best)
        nearness = np.where(open_covers[:, tied], far[:, tied], 0.0).sum(axis=0)
        choice = int(tied[np.argmin(nearness)])
        unlocked = np.flatnonzero(open_covers[:, choice])
        remaining[unlocked] = False
        yield choice, unlocked.tolist()
