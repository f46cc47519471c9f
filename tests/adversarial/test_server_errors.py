"""Issue #11, finding 10: two requests that answered 500, pinned so that they never do again.

- ``GET /api/zones/<zone>/audits.csv`` once the zone had a walk: the point-layer CSV writer unpacked a walk's
  MultiLineString as if it were a point (``export/tabular.py``, ``lon, lat = coordinates[:2]``).
- A police.uk upload whose header row holds a field over 128 KiB (Python's ``csv.field_size_limit``): reading the
  header (``reader.fieldnames``) sat outside the ``try`` that turns ``csv.Error`` into a refusal.

Real walks from tests/data/gpx, a real police.uk extract, the real Flask test client on a temporary store.
"""

import csv
import io
from pathlib import Path

import pytest
from shapely import wkt

from mapper.accounts import Accounts
from tests import helpers
from tests.gpx_helpers import ZONE as WALK_ZONE
from tests.gpx_helpers import shifted_into

PASSWORD = "correct horse battery"
POLICE = Path(__file__).resolve().parent.parent / "data" / "police" / \
    "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"
POLICE_ZONE = "bell-foundry"


def bearer_client(app, data_dir, name, zone):
    accounts = Accounts(data_dir)
    accounts.add(name, "officer", [zone], PASSWORD)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.new_token(name)}"
    return client


@pytest.fixture
def app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug must come back as the 500 a client would see, not a raise
    return app


def test_bug_audits_csv_of_a_zone_with_walks_was_a_500(app, data_dir):
    client = bearer_client(app, data_dir, "walker", WALK_ZONE)
    for name in ("cerknicko-jezero.gpx", "Mojstrovka.gpx"):
        response = client.post(f"/api/zones/{WALK_ZONE}/audits", content_type="multipart/form-data",
                               data={"file": (io.BytesIO(shifted_into(name)), name)})
        assert response.status_code == 201, response.json
    walks = client.get(f"/api/zones/{WALK_ZONE}/audits.geojson").json["features"]

    response = app.test_client().get(f"/api/zones/{WALK_ZONE}/audits.csv")  # public: walks are public
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert len(rows) == len(walks) == 2
    by_id = {row["id"]: row for row in rows}
    for walk in walks:
        row = by_id[walk["id"]]
        # A walk is a line: its geometry goes out whole, as WKT, not as one point taken from it.
        line = wkt.loads(row["WKT"])
        assert line.geom_type == "MultiLineString"
        assert len(line.geoms[0].coords) == len(walk["geometry"]["coordinates"][0])
        assert row["title"] == (walk["properties"].get("title") or "")
        assert int(row["points"]) == walk["properties"]["points"]


def test_lighting_csv_keeps_its_point_columns(app, client):
    """The fix for lines leaves point layers' columns (lon/lat, easting/northing) as they were."""
    body = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.195, 52.77]},
            "properties": {"category": "out"}}
    assert client.post("/api/reports", json=body).status_code == 201
    header = client.get("/api/zones/bell-foundry/lights.csv").get_data(as_text=True).splitlines()[0]
    assert header.startswith("id,ref,lon,lat,easting,northing,")


def signed_in(app, name):
    return helpers.signed_in(app, name, PASSWORD)


def crimes(app):
    return len(app.extensions["mapper"].store.query(POLICE_ZONE, "crime").lines)


@pytest.mark.parametrize("where", ["header", "row"])
def test_bug_police_upload_with_a_field_over_128_kib_was_a_500(app, data_dir, where):
    Accounts(data_dir).add("analyst", "officer", [POLICE_ZONE], PASSWORD)
    client, token = signed_in(app, "analyst")
    huge = "x" * (128 * 1024 + 1)
    lines = POLICE.read_text(encoding="utf-8").splitlines()
    if where == "header":
        lines[0] = lines[0] + f',"{huge}"'
    else:
        lines.insert(2, lines[1].replace("On or near", f'"{huge}', 1).replace(",E0", '",E0', 1))
    data = ("\n".join(lines) + "\n").encode()
    response = client.post(f"/zones/{POLICE_ZONE}/crime/upload", content_type="multipart/form-data",
                           data={"csrf_token": token, "files": [(io.BytesIO(data), "wide.csv")]})
    assert response.status_code == 422, response.get_data(as_text=True)[:500]
    page = response.get_data(as_text=True)
    assert "Nothing was imported" in page and "wide.csv" in page and "/tmp" not in page
    assert crimes(app) == 0


def test_cli_police_import_with_a_huge_header_field_is_refused(tmp_path):
    """The importer itself (``mapper import-police`` reads files the same way) refuses it as MalformedInput."""
    from mapper.errors import MalformedInput
    from mapper.importers.police_uk import read_rows

    path = tmp_path / "wide.csv"
    path.write_text(POLICE.read_text(encoding="utf-8").splitlines()[0] + ',"' + "y" * 200_000 + '"\n')
    with pytest.raises(MalformedInput, match="wide.csv"):
        read_rows(path)
