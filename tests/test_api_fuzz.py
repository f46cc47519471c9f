"""Property test: whatever JSON a client sends, the API answers 201 or a 4xx, never a 500, and a refusal stores
nothing."""

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import INSIDE

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
