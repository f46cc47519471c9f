"""Property test: whatever JSON a client sends, the API answers 201 or a 4xx, never a 500, and a refusal stores
nothing."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper import create_app
from tests.helpers import INSIDE


@pytest.fixture
def app(data_dir):
    """Hundreds of bodies from one test client in one app: the public budgets of one address and one zone
    (mapper/web/limits.py, tested in tests/adversarial/test_rate_limits.py) are raised for this module only."""
    return create_app({"DATA_DIR": data_dir, "TESTING": True, "RATELIMIT_PUBLIC_POSTS": "100000 per minute",
                       "RATELIMIT_ZONE_POSTS": "100000 per hour"})

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.just(10**400), st.floats(allow_nan=False),
                    st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8),
                                                                                             inner, max_size=4),
                      max_leaves=12)
coordinates = st.one_of(
    st.tuples(st.floats(-1.21, -1.16), st.floats(52.75, 52.79)).map(list),
    st.lists(st.one_of(st.floats(allow_nan=False), st.integers(), st.text(max_size=3)), max_size=4),
    values,
)
properties = st.one_of(
    st.fixed_dictionaries({"category": st.sampled_from(["out", "dim", "dark-spot", "OUT", ""]) | values},
                          optional={"description": st.text(max_size=50) | values, "extra": values}),
    values,
)
features = st.fixed_dictionaries(
    {"type": st.sampled_from(["Feature", "feature", "Point"]) | values},
    optional={"geometry": st.fixed_dictionaries({"type": st.sampled_from(["Point", "LineString"]) | values,
                                                 "coordinates": coordinates}) | values,
              "properties": properties},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(features, values))
def test_no_body_gets_a_500_and_refusals_store_nothing(client, body):
    before = len(client.get("/api/zones/bell-foundry/lights.geojson").get_json()["features"])
    response = client.post("/api/zones/bell-foundry/lights", data=json.dumps(body), content_type="application/json")
    assert response.status_code in (201, 400, 404, 413, 415, 422), response.get_data(as_text=True)
    after = len(client.get("/api/zones/bell-foundry/lights.geojson").get_json()["features"])
    assert after == before + (response.status_code == 201)
    if response.status_code != 201:
        assert set(response.get_json()["error"]) == {"code", "message", "field"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(["bbox", "category", "status", "since", "other"]),
                             st.text(max_size=40) | st.datetimes().map(lambda d: d.isoformat() + "+05:00"),
                             max_size=4))
def test_no_query_string_gets_a_500(client, query):
    response = client.get("/api/zones/bell-foundry/lights.geojson", query_string=query)
    assert response.status_code in (200, 422), response.get_data(as_text=True)
    response = client.get("/api/zones/bell-foundry/lights.csv", query_string=query)
    assert response.status_code in (200, 422)


def test_the_fuzzer_can_produce_a_valid_report(client):
    lon, lat = INSIDE["bell-foundry"]
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"category": "out"}}
    assert client.post("/api/zones/bell-foundry/lights", json=body).status_code == 201


# -- the staff endpoints of issues 4 and 7: a signed-in client's JSON is as hostile as anyone's ---------------------

polygon_coordinates = st.one_of(
    st.lists(st.lists(st.tuples(st.floats(-1.21, -1.16), st.floats(52.75, 52.79)).map(list), max_size=6), max_size=2),
    values,
)
geometries = st.one_of(
    st.fixed_dictionaries({"type": st.sampled_from(["Point", "Polygon", "MultiPolygon"]) | values,
                           "coordinates": coordinates | polygon_coordinates}),
    values,
)
staff_bodies = st.one_of(
    st.fixed_dictionaries({}, optional={"geometry": geometries, "minutes": values | st.floats(), "speed_kmh": values,
                                        "detour": values, "report": values, "name": values, "status": values,
                                        "priority": values, "public_note": values, "internal_note": values,
                                        "action": st.sampled_from(["approve", "reject", "edit", "hide", "restore"])
                                        | values, "fields": values, "properties": values, "reason": values}),
    values,
)


def staff_client(app):
    from mapper.accounts import Accounts

    accounts = Accounts(app.config["DATA_DIR"])
    if accounts.get("fuzz") is None:
        accounts.add("fuzz", "officer", ["bell-foundry"])
    return {"Authorization": f"Bearer {accounts.new_token('fuzz')}"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=staff_bodies, target=st.sampled_from(["cp-check", "cp-sites", "patch", "moderation", "cp-site-patch"]))
def test_no_staff_body_gets_a_500(app, client, body, target):
    headers = staff_client(app)
    lon, lat = INSIDE["bell-foundry"]
    light = client.post("/api/zones/bell-foundry/lights", json={
        "type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
        "properties": {"category": "obscured"}}).get_json()
    site = client.post("/api/zones/bell-foundry/cp-sites", json={"report": light["id"]}, headers=headers)
    assert site.status_code in (201, 409), site.get_data(as_text=True)
    site_id = site.get_json().get("id") if site.status_code == 201 else None
    call = {"cp-check": ("POST", "/api/zones/bell-foundry/cp-check"),
            "cp-sites": ("POST", "/api/zones/bell-foundry/cp-sites"),
            "patch": ("PATCH", f"/api/zones/bell-foundry/lights/{light['id']}"),
            "moderation": ("POST", f"/api/zones/bell-foundry/lights/{light['id']}/moderation"),
            "cp-site-patch": ("PATCH", f"/api/zones/bell-foundry/cp-sites/{site_id}")}[target]
    response = client.open(call[1], method=call[0], data=json.dumps(body), content_type="application/json",
                           headers=headers)
    assert response.status_code < 500, (target, body, response.get_data(as_text=True))
    if response.status_code >= 400:
        assert set(response.get_json()["error"]) == {"code", "message", "field"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.dictionaries(st.sampled_from(["lon", "lat", "radius", "limit", "minutes", "speed_kmh", "detour"]),
                             st.text(max_size=12) | st.floats().map(str), max_size=5))
def test_no_query_of_the_new_reads_gets_a_500(app, client, query):
    assert client.get("/api/zones/bell-foundry/columns/near", query_string=query).status_code in (200, 404, 422)
    headers = staff_client(app)
    for url in ("/zones/bell-foundry/community-payback.json", "/zones/bell-foundry/community-payback/catchments.geojson",
                "/zones/bell-foundry/repairs/map.json"):
        response = client.get(url, query_string=query, headers=headers)
        assert response.status_code in (200, 422), (url, response.get_data(as_text=True))
