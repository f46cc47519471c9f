"""The map's ``.points``: ids only for small layers, a version that names the rows, the gzip body made once and
served as is, and the feature at a position (409 once the layer has changed)."""

import gzip
import json

import pytest

from mapper.export import points
from mapper.lifecycle import change_status
from tests.helpers import INSIDE, point_feature
from tests.render.populate import fill_lights, submit

URL = "/api/zones/bell-foundry/lights.points"


def test_a_large_layer_leaves_ids_out_and_gives_each_row_by_position(client, resources, monkeypatch):
    monkeypatch.setattr(points, "IDS_UP_TO", 10)
    stored = fill_lights(resources, "bell-foundry", 25, seed=3)
    document = client.get(URL).get_json()
    assert document["fields"] == ["lon", "lat", "category", "status"] and "id" not in document
    assert document["count"] == 25 and len(document["version"]) == 16
    for index in (0, 13, 24):
        answer = client.get(f"/api/zones/bell-foundry/lights/at/{index}?version={document['version']}")
        assert answer.status_code == 200 and answer.mimetype == "application/geo+json"
        feature = answer.get_json()
        assert feature["id"] == stored[index]["id"]
        assert feature["geometry"]["coordinates"] == \
            pytest.approx([document["lon"][index], document["lat"][index]], abs=2e-6)
    # The same filters as the .points request give the same rows, so the positions mean the same features.
    dim = client.get(URL + "?category=dim").get_json()
    feature = client.get(f"/api/zones/bell-foundry/lights/at/0?version={dim['version']}&category=dim").get_json()
    assert feature["properties"]["category"] == "dim" and dim["version"] != document["version"]


def test_a_small_layer_keeps_its_ids(client, resources):
    submit(resources, "lights", point_feature(*INSIDE["bell-foundry"], category="out"))
    document = client.get(URL).get_json()
    assert document["fields"][0] == "id" and len(document["id"]) == document["count"] == 1


def test_a_changed_layer_answers_409_and_a_bad_position_404(client, resources, monkeypatch):
    monkeypatch.setattr(points, "IDS_UP_TO", 0)
    stored = fill_lights(resources, "bell-foundry", 5, seed=4)
    version = client.get(URL).get_json()["version"]
    change_status(resources.store, resources.schema.layer("lights"), "bell-foundry", stored[2]["id"], "investigating",
                  by="test")
    stale = client.get(f"/api/zones/bell-foundry/lights/at/0?version={version}")
    assert stale.status_code == 409 and stale.get_json()["error"]["code"] == "stale_version"
    fresh = client.get(URL).get_json()["version"]
    assert fresh != version
    assert client.get(f"/api/zones/bell-foundry/lights/at/0?version={fresh}").get_json()["id"] == stored[0]["id"]
    assert client.get(f"/api/zones/bell-foundry/lights/at/5?version={fresh}").status_code == 404
    missing = client.get("/api/zones/bell-foundry/lights/at/0")
    assert missing.status_code == 422 and missing.get_json()["error"]["field"] == "version"
    assert client.get(f"/api/zones/bell-foundry/lights/at/x?version={fresh}").status_code == 404


def test_hidden_rows_have_no_position(client, resources, monkeypatch):
    """Pending assets are not public: they are not in the .points, so no position reaches them."""
    monkeypatch.setattr(points, "IDS_UP_TO", 0)
    submit(resources, "assets", point_feature(*INSIDE["bell-foundry"], category="food-bank", name="Pending"))
    document = client.get("/api/zones/bell-foundry/assets.points").get_json()
    assert document["count"] == 0
    assert client.get(f"/api/zones/bell-foundry/assets/at/0?version={document['version']}").status_code == 404


def test_the_gzip_body_is_made_once_and_is_the_same_json(client, resources, monkeypatch):
    fill_lights(resources, "bell-foundry", 300, seed=5)
    calls = []
    real = gzip.compress
    monkeypatch.setattr(points.gzip, "compress", lambda *args, **kwargs: calls.append(1) or real(*args, **kwargs))
    packed = [client.get(URL, headers={"Accept-Encoding": "gzip"}) for _ in range(3)]
    plain = client.get(URL)
    assert len(calls) == 1
    for response in packed:
        assert response.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in response.headers["Vary"]
        assert gzip.decompress(response.data) == plain.data
    assert "Content-Encoding" not in plain.headers and "Accept-Encoding" in plain.headers["Vary"]
    assert json.loads(plain.data)["count"] == 300
    # One ETag per encoding, and If-None-Match answers 304 with no body.
    version = json.loads(plain.data)["version"]
    assert plain.headers["ETag"] == f'"{version}"' and packed[0].headers["ETag"] == f'"{version}:gzip"'
    again = client.get(URL, headers={"Accept-Encoding": "gzip", "If-None-Match": packed[0].headers["ETag"]})
    assert again.status_code == 304 and again.data == b""


def test_the_version_follows_the_ids_not_only_the_places():
    """Two layers alike in every column but their ids have different versions: a position names one feature."""
    base = {"layer": "lights", "count": 1, "lon": [1.0], "lat": [2.0], "category": [0], "status": [0]}
    assert points.version_of(["a"], base) != points.version_of(["b"], base)
    assert points.version_of(["a"], base) == points.version_of(["a"], dict(base, version="ignored"))
