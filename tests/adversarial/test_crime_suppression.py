"""Finding 9 of issue #11: suppression that suppressed nothing.

The hotspot and target-area outputs withhold counts of 1-2 records, but the crime layer itself was served to anyone,
record by record with its street and month, in every format, by id, by position and through /api/nearby, so anyone
could count what the grids withheld. The crime layer is now staff-only at record level (``access = "staff"`` in
data/layers.toml: officers and administrators of the zone, who may also turn suppression off); the public gets the
suppressed grids, and those must hold no count below 3 anywhere (cells, per-layer counts, target areas, totals).
"""

import csv
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from mapper import create_app
from mapper.accounts import Accounts
from mapper.cli import main
from mapper.export import FORMATS
from tests.helpers import INSIDE

ZONE, OTHER = "bell-foundry", "new-parks"
POLICE = Path(__file__).resolve().parent.parent / "data" / "police"
BELL_FOUNDRY = POLICE / "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"
STREET = "On or near Freehold Street"  # the extract's first record, for spotting a leak in any format


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """An app on a store holding the real Bell Foundry police.uk extract, and a token per kind of account."""
    data_dir = tmp_path_factory.mktemp("crime") / "store"
    result = CliRunner().invoke(main, ["import-police", "--zone", ZONE, str(BELL_FOUNDRY), "--data", str(data_dir)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    app = create_app({"DATA_DIR": data_dir, "TESTING": True})
    accounts = Accounts(data_dir)
    tokens = {}
    for name, role, zones in (("officer", "officer", [ZONE]), ("admin", "admin", []), ("stranger", "officer", [OTHER]),
                              ("steering", "steering", [ZONE]), ("probation", "probation", [ZONE])):
        accounts.add(name, role, zones)
        tokens[name] = {"Authorization": f"Bearer {accounts.new_token(name)}"}
    client = app.test_client()
    first = client.get(f"/api/zones/{ZONE}/crime.geojson", headers=tokens["officer"]).get_json()["features"][0]
    version = client.get(f"/api/zones/{ZONE}/crime.points", headers=tokens["officer"]).get_json()["version"]
    return {"app": app, "tokens": tokens, "id": first["id"], "version": version}


def record_urls(world):
    """Every way the crime layer's records can be asked for: each export format, the layer, one feature by id or by
    position in .points, and /api/nearby."""
    lon, lat = INSIDE[ZONE]
    base = f"/api/zones/{ZONE}/crime"
    return ([f"{base}.{extension}" for extension in sorted(FORMATS)] +
            [base, f"{base}/{world['id']}", f"{base}/at/0?version={world['version']}",
             f"/api/nearby?layer=crime&lon={lon}&lat={lat}&radius=200"])


URL_COUNT = len(FORMATS) + 4


@pytest.mark.parametrize("position", range(URL_COUNT))
def test_no_record_for_the_public_or_the_wrong_account(world, position):
    url = record_urls(world)[position]
    client = world["app"].test_client()
    anonymous = client.get(url)
    assert anonymous.status_code == 401, (url, anonymous.status_code)
    assert anonymous.get_json()["error"]["code"] == "unauthorized"
    for name in ("stranger", "steering", "probation"):  # another zone's officer; roles that may not see records
        refused = client.get(url, headers=world["tokens"][name])
        assert refused.status_code == 403, (url, name, refused.status_code)
    for answer in (anonymous, *[client.get(url, headers=world["tokens"][n]) for n in ("stranger", "steering")]):
        assert STREET.encode() not in answer.data and b"Freehold" not in answer.data


@pytest.mark.parametrize("position", range(URL_COUNT))
def test_officers_and_administrators_of_the_zone_get_every_record(world, position):
    url = record_urls(world)[position]
    client = world["app"].test_client()
    for name in ("officer", "admin"):
        answer = client.get(url, headers=world["tokens"][name])
        assert answer.status_code == 200, (url, name, answer.status_code, answer.data[:300])
        assert "private" in answer.headers.get("Cache-Control", "")  # no shared cache may hand it on
        assert "Authorization" in answer.headers.get("Vary", "")
    geojson = client.get(f"/api/zones/{ZONE}/crime.geojson", headers=world["tokens"]["officer"]).get_json()
    assert len(geojson["features"]) == 2494


def test_the_public_pages_and_listings_name_no_record_or_count(world):
    client = world["app"].test_client()
    zones = {zone["id"]: zone for zone in client.get("/api/zones").get_json()["zones"]}
    assert "crime" not in zones[ZONE]["counts"] and "lights" in zones[ZONE]["counts"]
    index = client.get("/").get_data(as_text=True)
    assert "/crime." not in index and "2,494" not in index
    page = client.get(f"/zones/{ZONE}").get_data(as_text=True)
    assert "/crime.points" not in page and "/api/zones/bell-foundry/crime" not in page
    assert "hotspots.geojson" in page  # residents get the suppressed hotspot layer instead
    layers = {layer["name"]: layer for layer in client.get("/api/layers").get_json()["layers"]}
    assert layers["crime"]["access"] == "staff" and layers["lights"]["access"] == "public"


# -- what the public does get: the suppressed analyses -------------------------------------------------------------


QUERIES = [
    "layer=crime:anti-social-behaviour",
    "layer=crime",
    "layer=crime&method=kde&cell=100&band=400",
    "layer=crime:robbery&from=2024-12&to=2024-12",  # one robbery that month: a total of 1
    "layer=crime:burglary&layer=crime:robbery&cell=100",  # a big cell can hold one robbery among burglaries
    # The finest grid anyone may ask for over Bell Foundry without signing in (ANALYSIS_PUBLIC_MAX_CELLS, finding 5).
    "layer=crime:anti-social-behaviour&layer=crime:drugs&from=2024-06&to=2024-08&cell=26",
]
COUNTED = re.compile(r"count|records")


def counts_in(value, name=""):
    """Every number held under a key that names a count (count, count_*, weighted_count, counts, records...)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from counts_in(item, key if COUNTED.search(str(key)) else name)
    elif isinstance(value, list):
        for item in value:
            yield from counts_in(item, name)
    elif name and isinstance(value, (int, float)) and not isinstance(value, bool):
        yield name, value


def small(found):
    return [(name, value) for name, value in found if 0 < value < 3]


@pytest.mark.parametrize("query", QUERIES)
@pytest.mark.parametrize("kind", ["hotspots", "targets"])
def test_public_analyses_hold_no_count_below_three(world, query, kind):
    client = world["app"].test_client()
    if kind == "targets":
        query = query.replace("method=kde", "method=counts")
    answer = client.get(f"/api/zones/{ZONE}/{kind}.geojson?{query}")
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    found = list(counts_in(body["features"])) + list(counts_in(body["analysis"]))
    assert all("records" in layer for layer in body["analysis"]["layers"])  # the figures are there, or withheld
    assert not small(found), small(found)[:5]
    table = client.get(f"/api/zones/{ZONE}/{kind}.csv?{query}").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(table)))
    cells = [(name, float(value)) for row in rows for name, value in row.items()
             if COUNTED.search(name) and value not in ("", None)]
    assert not small(cells), small(cells)[:5]


def test_the_analysts_page_shows_no_small_total(world):
    client = world["app"].test_client()
    page = client.get(f"/zones/{ZONE}/hotspots?use=crime&filter-crime=robbery&from=2024-12&to=2024-12")
    assert page.status_code == 200
    text = re.sub(r"<[^>]+>", " ", page.get_data(as_text=True))
    assert not re.search(r"\b[12] records\b", text), re.findall(r".{40}\b[12] records\b", text)


def test_staff_may_still_see_the_analyses_unsuppressed(world):
    client = world["app"].test_client()
    url = f"/api/zones/{ZONE}/hotspots.geojson?layer=crime:robbery&from=2024-12&to=2024-12&suppression=off"
    assert client.get(url).status_code == 403
    body = client.get(url, headers=world["tokens"]["officer"]).get_json()
    assert body["analysis"]["layers"][0]["records"] == 1  # the staff who may read the records see the real figures


def test_a_crime_record_with_a_reference_has_no_public_tracking_page(client, resources, data_dir, tmp_path):
    """``mapper import --layer crime`` gives records references like any layer; /r/<ref> must not show one."""
    records = tmp_path / "crime.geojson"
    records.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": {"type": "Point", "coordinates": list(INSIDE[ZONE])},
        "properties": {"category": "burglary", "month": "2024-12", "location": "On or near Freehold Street"}}]}))
    result = CliRunner().invoke(main, ["import", "--zone", ZONE, "--layer", "crime", str(records), "--data",
                                       str(data_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    (record,) = resources.store.query(ZONE, "crime")
    ref = record["properties"]["ref"]
    page = client.get(f"/r/{ref}")
    assert page.status_code == 404 and b"Freehold" not in page.data
