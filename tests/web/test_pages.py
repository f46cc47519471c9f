"""The HTML pages, the .points format behind the map, and the vendor route, through the real Flask client."""

import gzip
import json
import re
from html.parser import HTMLParser

import pytest

from mapper.lifecycle import change_status
from tests.helpers import INSIDE, point_feature
from tests.render.populate import fill_lights, submit


def published(resources, feature):
    """A contributed asset after a moderator approved it."""
    zone = feature["properties"]["zone"]
    return change_status(resources.store, resources.schema.layer("assets"), zone, feature["id"], "published",
                         by="test")


@pytest.fixture
def stored(app):
    """Two lights and a published asset in Bell Foundry, one light in New Parks; the lights' categories differ."""
    resources = app.extensions["mapper"]
    lon, lat = INSIDE["bell-foundry"]
    return {
        "out": submit(resources, "lights", point_feature(lon, lat, category="out", description="By the bus stop")),
        "dim": submit(resources, "lights", point_feature(lon + 0.001, lat + 0.0005, category="dim")),
        "asset": published(resources, submit(resources, "assets",
                                             point_feature(lon, lat, category="food-bank", name="Pantry"))),
        "new-parks": submit(resources, "lights", point_feature(*INSIDE["new-parks"], category="obscured")),
    }


def cells(html, zone_id):
    row = re.search(rf'<tr data-zone="{zone_id}">(.*?)</tr>', html, re.S).group(1)
    return dict(re.findall(r'<td class="count" data-layer="([a-z-]+)">([0-9,]+)</td>', row))


def test_index_lists_every_zone_with_counts_and_map_links(client, stored):
    response = client.get("/")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert '<html lang="en-GB"' in html and "<title>People Zones map</title>" in html
    assert cells(html, "bell-foundry") == {"lights": "2", "assets": "1"}
    assert cells(html, "new-parks") == {"lights": "1", "assets": "0"}
    assert cells(html, "thringstone-whitwick") == {"lights": "0", "assets": "0"}
    for zone_id, name in (("bell-foundry", "Bell Foundry"), ("new-parks", "New Parks"),
                          ("thringstone-whitwick", "Thringstone &amp; Whitwick")):
        assert f'<a href="/zones/{zone_id}">{name} map</a>' in html


def test_zone_map_page(client):
    response = client.get("/zones/new-parks")
    assert response.status_code == 200 and response.mimetype == "text/html"
    html = response.get_data(as_text=True)
    assert "<h1>New Parks: lighting faults and dark spots, community assets</h1>" in html
    assert '"pointsUrl": "/api/zones/new-parks/lights.points"' in html


class Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.urls.append(attrs["src"])
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.urls.append(attrs["href"])


def test_zone_map_page_in_local_mode_loads_only_this_servers_files_and_they_exist(client):
    parser = Links()
    parser.feed(client.get("/zones/bell-foundry").get_data(as_text=True))
    assert len(parser.urls) == 6
    for url in parser.urls:
        assert url.startswith("/") and not url.startswith("//"), url
        assert client.get(url).status_code == 200, url


def test_unknown_zone_is_a_404_html_page(client):
    response = client.get("/zones/atlantis")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "No zone &#39;atlantis&#39;" in response.get_data(as_text=True)


def test_points_are_aligned_columns(client, stored):
    response = client.get("/api/zones/bell-foundry/lights.points")
    assert response.status_code == 200 and response.mimetype == "application/json"
    document = response.get_json()
    assert document["fields"] == ["id", "lon", "lat", "category", "status"]
    assert document["categories"][:2] == ["out", "dim"] and document["statuses"][0] == "open"
    assert document["count"] == 2 and "name" not in document
    rows = {document["id"][i]: (document["lon"][i], document["lat"][i], document["categories"][document["category"][i]],
                                document["statuses"][document["status"][i]]) for i in range(document["count"])}
    for key in ("out", "dim"):
        feature = stored[key]
        lon, lat = feature["geometry"]["coordinates"]
        assert rows[feature["id"]] == (round(lon, 6), round(lat, 6), key, "open")


def test_asset_points_carry_names_for_the_search(app, client, stored):
    """Assets have a public name property, so their .points add a name column aligned with the others."""
    resources = app.extensions["mapper"]
    lon, lat = INSIDE["bell-foundry"]
    hostile = published(resources, submit(resources, "assets", point_feature(
        lon + 0.002, lat, category="youth-service", name='Youth <img src=x onerror=window.__xss=1> & "club"')))
    submit(resources, "assets", point_feature(lon, lat + 0.001, category="food-bank", name="Still pending"))
    document = client.get("/api/zones/bell-foundry/assets.points").get_json()
    assert document["fields"] == ["id", "lon", "lat", "category", "status", "name"]
    assert document["count"] == 2 and document["statuses"][document["status"][0]] == "published"
    rows = dict(zip(document["id"], document["name"]))
    # Names are data, not markup: the JSON carries them as they are and the map sets them with textContent.
    assert rows == {stored["asset"]["id"]: "Pantry", hostile["id"]: hostile["properties"]["name"]}
    filtered = client.get("/api/zones/bell-foundry/assets.points?category=youth-service").get_json()
    assert filtered["id"] == [hostile["id"]] and filtered["name"] == [hostile["properties"]["name"]]


def test_points_honour_filters(client, stored):
    def ids(query):
        return client.get(f"/api/zones/bell-foundry/lights.points?{query}").get_json()["id"]

    assert ids("category=dim") == [stored["dim"]["id"]]
    assert ids("category=out,dim") == [stored["out"]["id"], stored["dim"]["id"]]
    lon, lat = stored["dim"]["geometry"]["coordinates"]
    assert ids(f"bbox={lon - 0.0001},{lat - 0.0001},{lon + 0.0001},{lat + 0.0001}") == [stored["dim"]["id"]]
    assert ids("status=open") == [stored["out"]["id"], stored["dim"]["id"]]
    assert ids("since=2999-01-01T00:00:00Z") == []
    refused = client.get("/api/zones/bell-foundry/lights.points?category=<script>")
    assert refused.status_code == 422 and refused.get_json()["error"]["field"] == "category"


def test_points_of_an_empty_layer(client):
    document = client.get("/api/zones/thringstone-whitwick/assets.points").get_json()
    assert document["count"] == 0 and document["id"] == document["lon"] == document["category"] == []
    assert document["name"] == []


def without_nonce(body):
    return re.sub(rb'nonce="[^"]*"', b'nonce=""', body)


def test_points_and_map_page_are_gzipped_for_clients_that_accept_it(app, client):
    fill_lights(app.extensions["mapper"], "bell-foundry", 500, seed=5)
    for url in ("/api/zones/bell-foundry/lights.points", "/zones/bell-foundry"):
        plain = client.get(url)
        packed = client.get(url, headers={"Accept-Encoding": "gzip"})
        assert packed.headers["Content-Encoding"] == "gzip", url
        assert "Accept-Encoding" in packed.headers["Vary"]
        # The same page but for its script nonce, which is new in every answer (the CSP's).
        assert without_nonce(gzip.decompress(packed.data)) == without_nonce(plain.data)
        assert len(packed.data) < len(plain.data) / 2
    points = client.get("/api/zones/bell-foundry/lights.points", headers={"Accept-Encoding": "gzip"})
    assert json.loads(gzip.decompress(points.data))["count"] == 500


def test_vendor_route_serves_leaflet(client):
    response = client.get("/vendor/leaflet/dist/leaflet.js")
    assert response.status_code == 200 and response.mimetype in ("text/javascript", "application/javascript")
    assert b"Leaflet 1.9.4" in response.get_data()[:200]
    assert client.get("/vendor/supercluster/dist/supercluster.min.js").status_code == 200


@pytest.mark.parametrize("path", [
    "/vendor/leaflet/../supercluster/package.json",
    "/vendor/leaflet/%2e%2e/%2e%2e/package.json",
    "/vendor/leaflet/dist/../../../package.json",
    "/vendor/leaflet/package.json",
    "/vendor/leaflet/dist/leaflet-src.js",
    "/vendor/kdbush/index.js",
    "/vendor/..%2fpackage.json/x",
])
def test_vendor_route_refuses_anything_outside_the_whitelist(client, path):
    response = client.get(path)
    assert response.status_code == 404, path
    assert b"Leaflet" not in response.data and b'"name"' not in response.data


def test_vendor_route_says_how_to_install_missing_files(tmp_path):
    from mapper import create_app

    client = create_app({"DATA_DIR": tmp_path, "VENDOR_DIR": tmp_path / "nothing", "TESTING": True}).test_client()
    response = client.get("/vendor/leaflet/dist/leaflet.js")
    assert response.status_code == 404 and "npm ci" in response.get_data(as_text=True)


def test_points_are_never_stale_after_an_append(app, client, stored):
    """The writer caches whole-layer bodies by the identity of the store's columns; an append must show at once."""
    first = client.get("/api/zones/bell-foundry/lights.points").get_json()
    assert client.get("/api/zones/bell-foundry/lights.points").get_json() == first
    added = submit(app.extensions["mapper"], "lights", point_feature(*INSIDE["bell-foundry"], category="flickering"))
    second = client.get("/api/zones/bell-foundry/lights.points").get_json()
    assert second["count"] == first["count"] + 1 and second["id"][-1] == added["id"]
