"""Fixtures for the map renderer: the shipped schema and zones, and plain-string assets (no Flask needed)."""

import pytest

from mapper.config import SHIPPED_DATA_DIR
from mapper.render.maps import Assets
from mapper.schema import load_schema
from mapper.zones import load_zones

LOCAL_ASSETS = Assets(
    scripts=(("leaflet", "/vendor/leaflet/dist/leaflet.js"), ("supercluster", "/vendor/supercluster/dist/sc.js"),
             ("zone_map", "/static/js/zone-map.js")),
    stylesheets=(("leaflet_css", "/vendor/leaflet/dist/leaflet.css"), ("map_css", "/static/css/map.css")))


@pytest.fixture(scope="session")
def schema():
    return load_schema(SHIPPED_DATA_DIR / "layers.toml")


@pytest.fixture(scope="session")
def zones():
    return load_zones(SHIPPED_DATA_DIR / "zones.geojson")


@pytest.fixture
def assets():
    return LOCAL_ASSETS
