"""Issue #11, finding 11: staff-only files were world-readable (0644).

Any account on the server could read the Community Payback sites, the assets waiting for a moderator, the police
records, the private sidecars (residents' contact details) and, for a moment after each write, users.json. Now the
schema decides (``Layer.private_files``: a staff-only layer, or one holding features in a status the public never
sees) and the store writes those files 0600, ``_private`` directories 0700, whatever the umask; a file an older
version left 0644 is tightened at its next write. The modes are read after real writes through the app.
"""

import io
import os
import stat
from pathlib import Path

import pytest

from mapper.accounts import Accounts
from tests.helpers import INSIDE, light

ZONE = "bell-foundry"
PASSWORD = "correct horse battery"
POLICE = Path(__file__).resolve().parent.parent / "data" / "police" / \
    "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(autouse=True)
def permissive_umask():
    """A umask of 0: every mode below is the store's own choice, not the umask's."""
    previous = os.umask(0)
    yield
    os.umask(previous)


@pytest.fixture
def officer(app, data_dir):
    accounts = Accounts(data_dir)
    accounts.add("olu", "officer", [ZONE], None)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.new_token('olu')}"
    return client


def contribute_asset(client):
    lon, lat = INSIDE[ZONE]
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"category": "food-bank", "name": "Pantry", "contact_email": "ann@example.org"}}
    response = client.post("/api/reports?layer=assets", json=body)
    assert response.status_code == 201, response.json
    return response.json


def test_the_schema_says_which_layers_are_private(resources):
    private = {layer.name for layer in resources.schema if layer.private_files}
    assert {"cp-sites", "assets", "crime"} <= private  # no public statuses / pending contributions / staff only
    assert "lights" not in private


def test_public_layers_stay_readable_and_private_data_does_not(client, data_dir):
    response = client.post("/api/reports", json=light(description="Out", contact_email="ann@example.org"))
    assert response.status_code == 201, response.json
    assert mode(data_dir / ZONE / "lights.geojson") == 0o644  # QGIS and GDAL may open public layers as they are
    assert mode(data_dir / "_private") == 0o700
    assert mode(data_dir / "_private" / ZONE) == 0o700
    assert mode(data_dir / "_private" / ZONE / "lights.jsonl") == 0o600  # the resident's email


def test_pending_assets_are_written_for_the_service_only(client, officer, data_dir):
    asset = contribute_asset(client)
    path = data_dir / ZONE / "assets.geojson"
    assert mode(path) == 0o600
    assert mode(data_dir / ZONE / ".assets.geojson.lock") == 0o600
    assert mode(data_dir / "_private" / ZONE / "assets.jsonl") == 0o600
    approved = officer.post(f"/api/zones/{ZONE}/assets/{asset['id']}/moderation", json={"action": "approve"})
    assert approved.status_code == 200, approved.json
    assert mode(path) == 0o600  # an update rewrites the file through a temporary one: still private


def test_community_payback_sites_are_written_for_the_service_only(officer, data_dir):
    lon, lat = INSIDE[ZONE]
    site = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
            "properties": {"name": "Alley behind the shops", "kind": "litter"}}
    response = officer.post(f"/api/zones/{ZONE}/cp-sites", json=site)
    assert response.status_code == 201, response.json
    assert mode(data_dir / ZONE / "cp-sites.geojson") == 0o600
    assert mode(data_dir / ZONE / ".cp-sites.geojson.lock") == 0o600


def test_police_records_are_written_for_the_service_only(officer, data_dir):
    response = officer.post(f"/zones/{ZONE}/crime/upload", content_type="multipart/form-data",
                            data={"files": [(io.BytesIO(POLICE.read_bytes()), POLICE.name)]})
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert mode(data_dir / ZONE / "crime.geojson") == 0o600


def test_accounts_are_private_even_when_the_store_made_the_folder(client, data_dir):
    assert client.post("/api/reports", json=light(contact_email="ann@example.org")).status_code == 201
    Accounts(data_dir).add("olu", "officer", [ZONE], None)
    assert mode(data_dir / "_private" / "users.json") == 0o600
    assert mode(data_dir / "_private") == 0o700


def test_files_an_older_version_left_readable_are_tightened_at_the_next_write(app, client, data_dir):
    contribute_asset(client)
    loose = [data_dir / ZONE / "assets.geojson", data_dir / "_private" / ZONE / "assets.jsonl",
             data_dir / "_private", data_dir / "_private" / ZONE]
    for path in loose:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    fresh = app.test_client()  # another client of the same app: the next resident
    contribute_asset(fresh)
    assert [oct(mode(path)) for path in loose] == [oct(0o600), oct(0o600), oct(0o700), oct(0o700)]
