"""Builders shared by the tests: points inside each shipped zone and Features as a client sends them."""

# A point well inside each shipped zone (checked in tests/test_zones.py), as (lon, lat).
INSIDE = {
    "bell-foundry": (-1.1950, 52.7700),
    "new-parks": (-1.1855, 52.6404),
    "thringstone-whitwick": (-1.3550, 52.7450),
}
OUTSIDE = (-0.1276, 51.5072)  # London


def point_feature(lon, lat, **properties):
    """A GeoJSON Feature dict as a client would send it."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}


def light(zone="bell-foundry", category="out", **properties):
    lon, lat = INSIDE[zone]
    return point_feature(lon, lat, category=category, **properties)
