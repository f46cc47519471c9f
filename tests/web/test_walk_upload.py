"""The walk upload page: officers and steering-group members of the zone, CSRF-protected, same import as the API."""

import io
import re

import pytest

from mapper.accounts import Accounts
from tests.gpx_helpers import BILLION_LAUGHS, ZONE, shifted_into

PASSWORD = "correct horse battery"
PAGE = f"/zones/{ZONE}/walks/upload"


@pytest.fixture
def accounts(data_dir):
    accounts = Accounts(data_dir)
    accounts.add("sam", "steering", [ZONE], PASSWORD)
    accounts.add("olu", "officer", ["new-parks"], PASSWORD)
    return accounts


def sign_in(client, name):
    token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    assert client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORD}).status_code in (
        302, 303)


def form_token(client):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(PAGE).get_data(as_text=True)).group(1)


def walks(client):
    return client.get(f"/api/zones/{ZONE}/audits.geojson").get_json()["features"]


def test_strangers_are_sent_to_sign_in_and_other_zones_refused(client, accounts):
    response = client.get(PAGE)
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
    sign_in(client, "olu")
    assert client.get(PAGE).status_code == 403


def test_a_steering_group_member_adds_a_walk_once(client, accounts):
    sign_in(client, "sam")
    body = {"csrf_token": form_token(client), "title": "Whitwick after dark", "walkers": "4",
            "file": (io.BytesIO(shifted_into("cerknicko-jezero.gpx")), "walk.gpx")}
    page = client.post(PAGE, data=body, content_type="multipart/form-data")
    assert page.status_code == 200 and "The walk was added." in page.get_data(as_text=True)
    assert [w["properties"]["title"] for w in walks(client)] == ["Whitwick after dark"]
    body["file"] = (io.BytesIO(shifted_into("cerknicko-jezero.gpx")), "walk.gpx")
    again = client.post(PAGE, data=body, content_type="multipart/form-data").get_data(as_text=True)
    assert "nothing new was stored" in again and len(walks(client)) == 1


def test_the_form_needs_its_token_and_refuses_hostile_files(client, accounts):
    sign_in(client, "sam")
    forged = client.post(PAGE, data={"file": (io.BytesIO(shifted_into("route.gpx")), "r.gpx")},
                         content_type="multipart/form-data")
    assert forged.status_code == 400 and walks(client) == []
    hostile = client.post(PAGE, data={"csrf_token": form_token(client),
                                      "file": (io.BytesIO(BILLION_LAUGHS), "laughs.gpx")},
                          content_type="multipart/form-data")
    assert hostile.status_code in (400, 422) and "The walk was not added." in hostile.get_data(as_text=True)
    assert walks(client) == []


def test_a_steering_group_member_cannot_change_repairs(client, accounts, data_dir):
    token = accounts.new_token("sam")
    report = client.post(f"/api/zones/{ZONE}/lights", json={
        "type": "Feature", "properties": {"category": "out"},
        "geometry": {"type": "Point", "coordinates": [-1.3550, 52.7450]}}).get_json()
    response = client.patch(f"/api/zones/{ZONE}/lights/{report['id']}", json={"status": "confirmed"},
                            headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 403 and response.get_json()["error"]["field"] == "role"


def test_a_bad_token_on_a_page_is_a_401_not_a_500(client, accounts):
    response = client.get(PAGE, headers={"Authorization": "Bearer mpr_not-a-real-token"})
    assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer")
