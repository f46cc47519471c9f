"""GPX for the next walk: point layers become waypoints, line layers (walks) become tracks, and areas no walk has
covered can be added as routes round their edges, so a walker loads one file on a phone and checks each fault.

Written with gpxpy, which escapes every text; read back by :mod:`mapper.importers.gpx`, which maps a waypoint's
``<type>`` (the category id written here) straight back to its category, so export then import gives the same points.
"""

import gpxpy.gpx
import shapely

from mapper.crs import geometry_from_metres, geometry_to_metres
from mapper.validate import parse_datetime

MIN_ROUTE_AREA_M2 = 2_000  # smaller gaps are the corners of gardens, not streets to walk
MAX_ROUTES = 50
SIMPLIFY_M = 5  # a phone's GPS is no better; keeps a route to tens of points


def write_gpx(features, layer, routes=()):
    """A FeatureSet as GPX 1.1 bytes.

    Parameters
    ----------
    features : mapper.store.FeatureSet
    layer : mapper.schema.Layer
    routes : iterable of (name, [(lon, lat), ...])
        Extra routes, e.g. from :func:`uncovered_routes`.
    """
    gpx = gpxpy.gpx.GPX()
    gpx.creator = "mapper (People Zones)"
    gpx.name = layer.title
    for feature in features:
        geometry, properties = feature.get("geometry") or {}, feature.get("properties") or {}
        if geometry.get("type") == "Point":
            gpx.waypoints.append(_waypoint(geometry["coordinates"], properties))
        elif geometry.get("type") in ("LineString", "MultiLineString"):
            gpx.tracks.append(_track(geometry, properties))
    for name, positions in routes:
        route = gpxpy.gpx.GPXRoute(name=name)
        route.points = [gpxpy.gpx.GPXRoutePoint(latitude=lat, longitude=lon) for lon, lat in positions]
        gpx.routes.append(route)
    return gpx.to_xml(version="1.1").encode("utf-8")


def _waypoint(coordinates, properties):
    lon, lat = coordinates[:2]
    label = " ".join(str(part) for part in (properties.get("ref"), properties.get("category")) if part)
    point = gpxpy.gpx.GPXWaypoint(latitude=lat, longitude=lon, name=label or None,
                                  description=properties.get("description"))
    point.type = properties.get("category")
    if properties.get("seen_at"):
        point.time = parse_datetime(properties["seen_at"], "seen_at")
    return point


def _track(geometry, properties):
    lines = geometry["coordinates"] if geometry["type"] == "MultiLineString" else [geometry["coordinates"]]
    track = gpxpy.gpx.GPXTrack(name=properties.get("title") or properties.get("ref"))
    if properties.get("walked_on"):
        track.description = f"Walked on {properties['walked_on']}"
    for line in lines:
        segment = gpxpy.gpx.GPXTrackSegment()
        segment.points = [gpxpy.gpx.GPXTrackPoint(latitude=lat, longitude=lon) for lon, lat, *_ in line]
        track.segments.append(segment)
    return track


def uncovered_routes(area, min_area_m2=MIN_ROUTE_AREA_M2, limit=MAX_ROUTES):
    """Routes round the largest parts of a lon/lat (Multi)Polygon, biggest first: ``[(name, [(lon, lat), ...])]``.

    Parts smaller than ``min_area_m2`` are left out; outlines are simplified to :data:`SIMPLIFY_M` metres.
    """
    parts = shapely.get_parts(geometry_to_metres(area))
    parts = sorted((p for p in parts if p.geom_type == "Polygon" and p.area >= min_area_m2), key=lambda p: -p.area)
    routes = []
    for number, part in enumerate(parts[:limit], start=1):
        ring = geometry_from_metres(part.exterior.simplify(SIMPLIFY_M))
        routes.append((f"Not yet walked {number} ({part.area / 10_000:.1f} ha)", list(ring.coords)))
    return routes
