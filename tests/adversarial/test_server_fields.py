"""Finding 4 of issue #11: the public must not set the fields that imports, audit walks and the server set.

Two attacks, end to end through the real test client, the real importer and the real audit routes:

- an anonymous asset carrying an OpenStreetMap ``source_key`` made the next OSM import skip the genuine welfare
  facility of that key (it already "had" it), so the facility never reached Community Payback checks;
- an anonymous lighting report carrying ``"source": "audit", "walk": <id>`` was listed as that walk's finding.

Then a table built from data/layers.toml: every import- or server-set property of every layer open to public
submissions is refused (422 naming it) on every public way in, and nothing is stored.
"""

import io
import json

import pytest

from mapper.accounts import Accounts
from mapper.crs import from_british_national_grid, to_british_national_grid
from mapper.importers.assets import import_assets
from mapper.schema import SERVER_PROPERTIES, load_schema
from mapper.config import SHIPPED_DATA_DIR
from mapper.validate import TRUSTED, validate_feature
from tests.gpx_helpers import shifted_into
from tests.helpers import INSIDE, point_feature

SCHEMA = load_schema(SHIPPED_DATA_DIR / "layers.toml")
OSM_KEY = "osm:node/4242424242"


def near(zone, dx, dy):
    """[lon, lat] dx metres east and dy metres north of the zone's inside point."""
    east, north = to_british_national_grid(*INSIDE[zone])
    lon, lat = from_british_national_grid(east + dx, north + dy)
    return [round(float(lon), 7), round(float(lat), 7)]


def token(data_dir, name, role, zone):
    accounts = Accounts(data_dir)
    accounts.add(name, role, [zone])
    return {"Authorization": f"Bearer {accounts.new_token(name)}"}


def form_token(client):
    return client.get("/report/token").get_json()["csrf_token"]


def stored(store, zone, layer):
    return [json.loads(line) for line in store.query(zone, layer).lines]


# -- the attack on the OSM import and Community Payback checks --------------------------------------------------------


def test_a_public_source_key_cannot_make_the_osm_import_skip_a_welfare_facility(client, resources, data_dir, tmp_path):
    zone = "bell-foundry"
    osm = tmp_path / "toilets.geojson"  # an OpenStreetMap export as the importer reads it (tests/data/osm/)
    osm.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "id": "node/4242424242",
        "properties": {"osm_id": 4242424242, "amenity": "toilets", "opening_hours": "24/7"},
        "geometry": {"type": "Point", "coordinates": near(zone, 0, 0)}}]}))

    attack = client.post("/api/reports?layer=assets", json=point_feature(
        *near(zone, 500, 500), category="other", name="Nothing to see",
        source="© OpenStreetMap contributors, ODbL", source_key=OSM_KEY))
    report = import_assets(osm, zone, schema=resources.schema, zones=resources.zones(), store=resources.store)
    check = client.post(f"/api/zones/{zone}/cp-check", json={"geometry": {"type": "Point",
                                                                         "coordinates": near(zone, 200, 0)}},
                        headers=token(data_dir, "pat", "probation", zone))

    assert attack.status_code == 422, attack.get_json()
    error = attack.get_json()["error"]
    assert error["field"] in ("source", "source_key") and error["field"] in error["message"]
    assert report.added == 1 and not report.skipped.get("already imported")
    keys = {f["properties"].get("source_key"): f["properties"]["status"] for f in stored(resources.store, zone,
                                                                                            "assets")}
    assert keys == {OSM_KEY: "published"}  # the genuine one, and nothing of the attacker's
    assert check.status_code == 200, check.get_json()
    answer = check.get_json()
    assert [f["name"] for f in answer["nearest"]] == ["Public toilets"] and answer["within_reach"] is False
    assert answer["missing"] == ["water", "shelter"]  # the toilets count: the facility is in the check


# -- the attack on audit walks' findings --------------------------------------------------------------------------


@pytest.fixture
def walk(app, data_dir):
    """An officer's real GPX audit walk in Thringstone & Whitwick: ``(zone, walk id, its findings' ids)``."""
    zone = "thringstone-whitwick"
    officer = app.test_client()
    answer = officer.post(f"/api/zones/{zone}/audits", headers=token(data_dir, "walker", "officer", zone),
                          data={"file": (io.BytesIO(shifted_into("cerknicko-jezero.gpx")), "walk.gpx")},
                          content_type="multipart/form-data")
    assert answer.status_code == 201, answer.get_json()
    walk_id = answer.get_json()["walk"]["id"]
    findings = officer.get(f"/api/zones/{zone}/audits/findings.geojson").get_json()["features"]
    assert findings and {f["properties"]["walk"] for f in findings} == {walk_id}  # the walk import still sets them
    return zone, walk_id, {f["id"] for f in findings}


def test_a_public_report_cannot_pose_as_an_audit_walks_finding(client, store, walk):
    zone, walk_id, findings = walk
    before = len(stored(store, zone, "lights"))
    lon, lat = INSIDE[zone]
    api = client.post(f"/api/zones/{zone}/lights", json=point_feature(
        lon, lat, category="out", description="Planted finding", source="audit", walk=walk_id))
    form = client.post("/report", headers={"Accept": "application/json"}, content_type="multipart/form-data",
                       data={"csrf_token": form_token(client), "kind": "light", "category": "out", "lon": str(lon),
                             "lat": str(lat), "description": "Planted by the form", "source": "audit",
                             "walk": walk_id})
    listed = client.get(f"/api/zones/{zone}/audits/findings.geojson").get_json()["features"]

    assert api.status_code == 422 and api.get_json()["error"]["field"] in ("source", "walk"), api.get_json()
    assert form.status_code == 422 and form.get_json()["error"]["field"] in ("source", "walk"), form.get_json()
    assert {f["id"] for f in listed} == findings
    assert len(stored(store, zone, "lights")) == before


# -- every import- or server-set property, every public way in ------------------------------------------------------


def sample(prop, layer):
    """A value of the property's type that would pass if a submitter were allowed to send it."""
    return {"category": layer.category_ids[0] if layer.categories else "x", "boolean": True, "integer": 1,
            "number": 1.5, "datetime": "2024-01-01T00:00:00Z", "url": "https://example.org/",
            "phone": "0116 496 0000", "email": "someone@example.org"}.get(prop.type, "x")


def refused_fields():
    cases = []
    for layer in SCHEMA:
        if not layer.public_submissions:
            continue
        cases += [(layer.name, name, "x") for name in SERVER_PROPERTIES]
        cases += [(layer.name, prop.name, sample(prop, layer)) for prop in layer.properties.values()
                  if prop.set_by != "submitter"]
    return cases


def test_the_table_covers_what_the_attacks_used():
    cases = {(layer, name) for layer, name, _ in refused_fields()}
    assert {("assets", "source"), ("assets", "source_key"), ("lights", "source"), ("lights", "walk")} <= cases


def a_valid_feature(layer_name, zone):
    layer = SCHEMA.layer(layer_name)
    properties = {prop.name: sample(prop, layer) if prop.type != "text" else "Fine"
                  for prop in layer.properties.values() if prop.required}
    return point_feature(*INSIDE[zone], **properties)


@pytest.mark.parametrize("layer_name, name, value", refused_fields())
def test_a_public_submission_setting_it_is_422_and_stores_nothing(client, store, layer_name, name, value):
    zone = "new-parks"
    assert client.post(f"/api/zones/{zone}/{layer_name}", json=a_valid_feature(layer_name, zone)).status_code == 201
    before = len(store.query(zone, layer_name).lines)
    for url in (f"/api/reports?layer={layer_name}", f"/api/zones/{zone}/{layer_name}"):
        feature = a_valid_feature(layer_name, zone)
        feature["properties"][name] = value
        answer = client.post(url, json=feature)
        assert answer.status_code == 422, (url, answer.get_json())
        error = answer.get_json()["error"]
        assert error["field"] == name and repr(name)[1:-1] in error["message"], error
    assert len(store.query(zone, layer_name).lines) == before


@pytest.mark.parametrize("layer_name, name, value", [case for case in refused_fields() if case[1] not in
                                                     SERVER_PROPERTIES])
def test_the_report_form_refuses_it_too(client, store, layer_name, name, value):
    zone = "new-parks"
    lon, lat = INSIDE[zone]
    kind = {"lights": "light", "assets": "asset"}[layer_name]
    data = {"csrf_token": form_token(client), "kind": kind, "category": "other" if kind == "asset" else "out",
            "name": "Fine", "lon": str(lon), "lat": str(lat), name: str(value).lower() if value is True else str(value)}
    answer = client.post("/report", data=data, headers={"Accept": "application/json"},
                         content_type="multipart/form-data")
    assert answer.status_code == 422 and answer.get_json()["error"]["field"] == name, answer.get_json()
    assert len(store.query(zone, layer_name).lines) == 0


def test_staff_edits_cannot_set_them_either(client, store, data_dir):
    zone = "new-parks"
    asset = client.post(f"/api/zones/{zone}/assets", json=point_feature(*INSIDE[zone], category="other",
                                                                        name="Hall")).get_json()
    officer = token(data_dir, "olu", "officer", zone)
    url = f"/api/zones/{zone}/assets/{asset['id']}"
    for name in ("source", "source_key"):
        edit = client.post(f"{url}/moderation", headers=officer,
                           json={"action": "edit", "properties": {name: OSM_KEY}})
        assert edit.status_code == 422 and edit.get_json()["error"]["field"] == name, edit.get_json()
        patch = client.patch(url, headers=officer, json={name: OSM_KEY})
        assert patch.status_code == 422 and patch.get_json()["error"]["field"] == name, patch.get_json()
    assert "source_key" not in stored(store, zone, "assets")[0]["properties"]


def test_trusted_importers_still_set_them():
    assets = SCHEMA.layer("assets")
    raw = point_feature(*INSIDE["new-parks"], category="other", name="Hall", source="OSM", source_key=OSM_KEY)
    with pytest.raises(Exception) as refused:
        validate_feature(raw, assets)  # the default is the public's
    assert getattr(refused.value, "field", None) == "source"
    assert validate_feature(raw, assets, context=TRUSTED).properties["source_key"] == OSM_KEY
