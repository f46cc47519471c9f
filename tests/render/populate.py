"""Fill a real temporary store with many features inside a zone: validated by the one validator, stored by the
store's ``append`` in one durable write per chunk."""

import numpy as np
import shapely

from mapper import intake

LIGHT_CATEGORIES = ["out", "dim", "flickering", "day-burning", "damaged", "obscured", "dark-spot"]


def points_inside(zone, count, seed=0):
    """``count`` random (lon, lat) pairs inside ``zone``'s boundary, as two arrays."""
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = zone.bbox
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < count:
        candidate_lon = rng.uniform(min_lon, max_lon, count * 2)
        candidate_lat = rng.uniform(min_lat, max_lat, count * 2)
        inside = shapely.intersects_xy(zone.boundary, candidate_lon, candidate_lat)
        lon = np.concatenate([lon, candidate_lon[inside]])
        lat = np.concatenate([lat, candidate_lat[inside]])
    return lon[:count], lat[:count]


def fill_lights(resources, zone_id, count, seed=0, chunk=20000):
    """Store ``count`` lights with cycling categories in ``zone_id``; return the stored Features."""
    zones = resources.zones()
    lon, lat = points_inside(zones.get(zone_id), count, seed)
    stored = []
    for start in range(0, count, chunk):
        raws = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [float(x), float(y)]},
                 "properties": {"category": LIGHT_CATEGORIES[(start + i) % len(LIGHT_CATEGORIES)],
                                "description": f"Light {start + i}"}}
                for i, (x, y) in enumerate(zip(lon[start:start + chunk], lat[start:start + chunk]))]
        accepted, refused = intake.judge_many(raws, "lights", zone_id, schema=resources.schema, zones=zones)
        assert not refused, refused[:3]
        stored += resources.store.append(zone_id, "lights", accepted)
    return stored


def submit(resources, layer, feature, zone_id=None):
    """Store one client-style Feature dict; return the stored Feature."""
    feature["geometry"]["coordinates"] = [float(value) for value in feature["geometry"]["coordinates"]]
    return intake.submit(feature, layer, schema=resources.schema, zones=resources.zones(), store=resources.store,
                         zone_id=zone_id)
