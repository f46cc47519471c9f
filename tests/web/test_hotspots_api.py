"""Hotspot and target-area downloads (``/api/zones/<zone>/hotspots.<ext>``, ``targets.<ext>``) and the analysts'
page without JavaScript, on a real store holding the Bell Foundry police.uk extract.

The API and ``mapper hotspots``/``mapper targets`` must give byte-identical GeoJSON for the same parameters; every
bad parameter is a 422 naming its field; no query string gets a 500.
"""

import csv
import io
import re
from pathlib import Path

import pyogrio
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mapper import create_app
from mapper.cli import main

POLICE = Path(__file__).resolve().parent.parent / "data" / "police"
BELL_FOUNDRY = POLICE / "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"
ASB = "crime:anti-social-behaviour"


def cli(data_dir, *args):
    result = CliRunner().invoke(main, [str(a) for a in args] + ["--data", str(data_dir)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def police_dir(tmp_path_factory):
    """A data directory with the real Bell Foundry extract imported (read-only for the tests below)."""
    data_dir = tmp_path_factory.mktemp("police-store")
    cli(data_dir, "import-police", "--zone", "bell-foundry", BELL_FOUNDRY)
    return data_dir


@pytest.fixture(scope="module")
def police_client(police_dir):
    # One client for the whole module: more anonymous analyses from one address than its budget a minute
    # (RATELIMIT_ANALYSIS, tested in tests/adversarial/test_rate_limits.py), raised here.
    return create_app({"DATA_DIR": police_dir, "TESTING": True,
                       "RATELIMIT_ANALYSIS": "100000 per minute"}).test_client()


def assert_refused(response, status, field, mentions=()):
    assert response.status_code == status, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["field"] == field, error
    for text in mentions:
        assert text in error["message"]


# -- the same result as the CLI --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cli_args, query", [
    (["--layer", ASB, "--layer", "lights:open:2", "--method", "gi", "--cell", "50", "--band", "200", "--from",
      "2024-01", "--to", "2024-12"],
     f"layer={ASB}&layer=lights:open:2&method=gi&cell=50&band=200&from=2024-01&to=2024-12&crs=4326"),
    (["--layer", "crime", "--method", "kde", "--cell", "100", "--band", "400", "--bandwidth", "300"],
     "layer=crime&method=kde&cell=100&band=400&bandwidth=300"),
])
def test_api_and_cli_give_identical_hotspot_geojson(police_dir, police_client, tmp_path, cli_args, query):
    out = tmp_path / "cli.geojson"
    cli(police_dir, "hotspots", "--zone", "bell-foundry", *cli_args, "-o", out)
    response = police_client.get(f"/api/zones/bell-foundry/hotspots.geojson?{query}")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    assert response.data == out.read_bytes()
    assert b'"suppressed":true' in response.data  # a public output


def test_api_and_cli_give_identical_target_areas(police_dir, police_client, tmp_path):
    out = tmp_path / "cli.geojson"
    cli(police_dir, "targets", "--zone", "bell-foundry", "--layer", ASB, "--share", "0.05", "-o", out)
    response = police_client.get(f"/api/zones/bell-foundry/targets.geojson?layer={ASB}&share=0.05")
    assert response.status_code == 200 and response.data == out.read_bytes()
    assert response.get_json()["features"][0]["properties"]["rank"] == 1


def test_cli_writes_a_geopackage_in_british_national_grid(police_dir, tmp_path):
    out = tmp_path / "bell-foundry-asb.gpkg"
    cli(police_dir, "hotspots", "--zone", "bell-foundry", "--layer", ASB, "--crs", "27700", "-o", out)
    info = pyogrio.read_info(out)
    assert info["features"] > 1000 and "27700" in info["crs"] and "Gi_Bin" in info["fields"]


# -- every format and CRS from the API ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["hotspots", "targets"])
@pytest.mark.parametrize("extension, crs", [("gpkg", "27700"), ("zip", "4326"), ("shp.zip", "27700"),
                                            ("kml", "4326"), ("csv", "27700")])
def test_downloads_in_every_format(police_client, tmp_path, kind, extension, crs):
    response = police_client.get(f"/api/zones/bell-foundry/{kind}.{extension}?layer={ASB}&crs={crs}")
    assert response.status_code == 200, response.get_data(as_text=True)
    disposition = response.headers["Content-Disposition"]
    name = re.search(r'filename="([^"]+)"', disposition).group(1)
    subject = "hotspots-gi" if kind == "hotspots" else "target-areas-counts"
    assert re.fullmatch(rf"bell-foundry_{subject}-crime-anti-social-behaviour_\d{{4}}-\d{{2}}-\d{{2}}"
                        rf"{'_27700' if crs == '27700' else ''}\.{'shp.zip' if 'zip' in extension else extension}",
                        name), name
    path = tmp_path / name
    path.write_bytes(response.data)
    if extension == "csv":
        rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8"), newline="")))
        assert rows and rows[0]["WKT"].startswith("POLYGON ((45")  # eastings, not longitudes
        return
    info = pyogrio.read_info(f"/vsizip/{path}" if "zip" in extension else path)
    assert info["features"] >= 1 and crs in info["crs"]


def test_unknown_and_layer_only_formats_are_refused(police_client):
    assert_refused(police_client.get(f"/api/zones/bell-foundry/hotspots.docx?layer={ASB}"), 404, "format")
    assert_refused(police_client.get(f"/api/zones/bell-foundry/hotspots.points?layer={ASB}"), 404, "format",
                   ["stored layers only"])
    assert_refused(police_client.get(f"/api/zones/bell-foundry/hotspots.kml?layer={ASB}&crs=27700"), 422, "crs")
    assert_refused(police_client.get(f"/api/zones/bell-foundry/hotspots.geojson?layer={ASB}&crs=27700"), 422,
                   "crs", ["EPSG:4326"])
    assert police_client.get(f"/api/zones/atlantis/hotspots.geojson?layer={ASB}").status_code == 404


# -- validation at the edge ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("query, field, mentions", [
    ("", "layer", ["at least one layer"]),
    ("layer=nowhere", "layer", ["Unknown layer 'nowhere'", "crime"]),
    ("layer=audits", "layer", ["not a point layer"]),
    ("layer=crime:asb", "layer", ["Unknown filter 'asb'"]),
    ("layer=crime:all:0", "layer", ["positive number"]),
    ("layer=crime:all:1000", "layer", ["at most 100"]),
    ("layer=assets:pending", "layer", ["not public"]),
    ("&".join(["layer=crime"] * 7), "layer", ["At most 6 layers"]),
    ("layer=crime&cell=5", "cell", ["at least 10", "'5'"]),
    ("layer=crime&cell=501", "cell", ["at most 500"]),
    ("layer=crime&cell=nan", "cell", []),
    ("layer=crime&cell=100&band=50", "band", ["at least 100 (the cell)"]),
    ("layer=crime&band=1e9", "band", ["at most 2000"]),
    ("layer=crime&bandwidth=-1", "bandwidth", []),
    ("layer=crime&method=idw", "method", ["gi, kde"]),
    ("layer=crime&from=2024-13", "from", ["YYYY-MM"]),
    ("layer=crime&to=2024-02-30", "to", ["YYYY-MM-DD"]),
    ("layer=crime&from=2024-06&to=2024-01", "from", ["after"]),
    ("layer=crime&crs=3857", "crs", ["27700"]),
    ("layer=crime&fdr=maybe", "fdr", []),
])
def test_bad_hotspot_parameters_are_422s_naming_the_field(police_client, query, field, mentions):
    assert_refused(police_client.get(f"/api/zones/bell-foundry/hotspots.geojson?{query}"), 422, field, mentions)


@pytest.mark.parametrize("share", ["0", "0.51", "-0.1", "x", "inf"])
def test_target_share_is_a_fraction_up_to_a_half(police_client, share):
    assert_refused(police_client.get(f"/api/zones/bell-foundry/targets.geojson?layer={ASB}&share={share}"), 422,
                   "share")


def test_assets_count_only_once_published(client, resources):
    """Contributions waiting for a moderator are not public, so they never reach a public hotspot."""
    from tests.helpers import INSIDE, point_feature
    from tests.render.populate import submit

    submit(resources, "assets", point_feature(*INSIDE["bell-foundry"], category="food-bank", name="Pantry"))
    response = client.get("/api/zones/bell-foundry/hotspots.geojson?layer=assets")
    assert response.status_code == 200
    layer = response.get_json()["analysis"]["layers"][0]
    assert layer["records"] == 0 and layer["filter"] == ["published"]


# -- suppression ---------------------------------------------------------------------------------------------------


def test_small_counts_are_withheld_from_public_outputs(police_client):
    cells = police_client.get(f"/api/zones/bell-foundry/hotspots.geojson?layer={ASB}").get_json()["features"]
    shown = [c["properties"]["count"] for c in cells if c["properties"]["count"] is not None]
    withheld = [c for c in cells if c["properties"]["suppressed"]]
    assert withheld and all(c["properties"]["count"] is None for c in withheld)
    assert all(count == 0 or count >= 3 for count in shown)


def test_target_area_totals_never_give_a_small_count_away(police_client):
    """Regression: an area's total of 2, or a total of 5 beside a shown 3, gave the withheld counts away."""
    areas = police_client.get(f"/api/zones/bell-foundry/targets.geojson?layer={ASB}").get_json()["features"]
    withheld = [a["properties"] for a in areas if None in a["properties"]["counts"].values()]
    assert withheld and all(p["records"] is None and p["weighted_records"] is None for p in withheld)
    shown = [a["properties"]["records"] for a in areas if a["properties"]["records"] is not None]
    assert shown and min(shown) >= 3


def test_the_threshold_comes_from_the_app_config(police_dir):
    client = create_app({"DATA_DIR": police_dir, "TESTING": True, "HOTSPOT_SUPPRESS_BELOW": 10}).test_client()
    body = client.get(f"/api/zones/bell-foundry/hotspots.geojson?layer={ASB}").get_json()
    assert body["analysis"]["suppress_below"] == 10
    assert all(c["properties"]["count"] in (None, 0) or c["properties"]["count"] >= 10 for c in body["features"])


def test_only_officers_of_the_zone_can_turn_suppression_off(police_client, police_dir):
    from mapper.accounts import Accounts

    url = f"/api/zones/bell-foundry/hotspots.geojson?layer={ASB}&suppression=off"
    assert_refused(police_client.get(url), 403, "suppression", ["officers and analysts"])
    accounts = Accounts(police_dir)
    if "analyst-bf" not in {a.name for a in accounts.all()}:
        accounts.add("analyst-bf", "officer", ["bell-foundry"], "correct horse battery")
        accounts.add("analyst-np", "officer", ["new-parks"], "correct horse battery")
    elsewhere = {"Authorization": f"Bearer {accounts.new_token('analyst-np')}"}
    assert_refused(police_client.get(url, headers=elsewhere), 403, "suppression")
    mine = {"Authorization": f"Bearer {accounts.new_token('analyst-bf')}"}
    unsuppressed = police_client.get(url, headers=mine)
    suppressed = police_client.get(url.replace("suppression=off", "suppression=on"), headers=mine)
    assert unsuppressed.status_code == 200 and suppressed.status_code == 200
    counts = [f["properties"]["count"] for f in unsuppressed.get_json()["features"]]
    assert all(isinstance(c, (int, float)) for c in counts) and any(0 < c < 3 for c in counts)
    assert any(f["properties"]["count"] is None for f in suppressed.get_json()["features"])


# -- nothing gets a 500 ----------------------------------------------------------------------------------------------

texts = st.text(max_size=12) | st.sampled_from(["gi", "kde", "counts", "50", "200", "10", "500", "0.05", "0.5",
                                                "2024-01", "2024-12-31", "27700", "4326", "1", "0", "off", "nan",
                                                "1e308", "-0", ASB, "lights:open:2", "crime:all:0.5",
                                                "assets", "crime::", ":::", "crime:+:1"])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=st.lists(st.tuples(st.sampled_from(["layer", "method", "cell", "band", "bandwidth", "from", "to",
                                                 "crs", "fdr", "share", "suppression", "other"]), texts),
                      max_size=6),
       kind=st.sampled_from(["hotspots.geojson", "targets.csv", "hotspots.kml"]))
def test_no_query_string_gets_a_500(police_client, query, kind):
    response = police_client.get(f"/api/zones/bell-foundry/{kind}", query_string=query)
    assert response.status_code in (200, 403, 404, 422), response.get_data(as_text=True)[:500]
    if response.status_code != 200:
        assert set(response.get_json()["error"]) == {"code", "message", "field"}


# -- the page without JavaScript -----------------------------------------------------------------------------------


def test_the_page_offers_the_form_with_defaults(police_client):
    response = police_client.get("/zones/bell-foundry/hotspots")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'id="use-crime" name="use" value="crime" checked' in html
    assert 'value="anti-social-behaviour" checked' in html
    assert 'id="targets-table"' not in html  # nothing run yet


def test_the_form_runs_gi_and_lists_ranked_target_areas(police_client):
    response = police_client.get("/zones/bell-foundry/hotspots", query_string=[
        ("use", "crime"), ("filter-crime", "anti-social-behaviour"), ("weight-crime", "1"), ("method", "gi"),
        ("cell", "50"), ("band", "200"), ("from", "2024-01"), ("to", "2024-12"), ("target_method", "counts"),
        ("share", "0.05")])
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    table = re.search(r'<table class="targets" id="targets-table">(.*?)</table>', html, re.S).group(1)
    ranks = re.findall(r'<th scope="row">(\d+)</th>', table)
    assert ranks[:3] == ["1", "2", "3"]
    assert "Anti-social behaviour: " in table and "Street" in table
    assert "Hot Spot with 99% Confidence" in html
    # Every format, in both CRSs where it can be, for both results, with the same parameters.
    links = re.findall(r'<a href="([^"]+)" data-format="([^"]+)" data-crs="([^"]+)" data-kind="([a-z]+)"', html)
    assert {(fmt, crs) for _, fmt, crs, _ in links} == {
        ("GeoJSON", "EPSG:4326"), ("CSV", "EPSG:4326"), ("CSV", "EPSG:27700"), ("GeoPackage", "EPSG:4326"),
        ("GeoPackage", "EPSG:27700"), ("Shapefile (zipped)", "EPSG:4326"), ("Shapefile (zipped)", "EPSG:27700"),
        ("KML", "EPSG:4326")}
    gpkg = next(url for url, fmt, crs, kind in links if fmt == "GeoPackage" and crs == "EPSG:27700"
                and kind == "hotspots")
    assert police_client.get(gpkg.replace("&amp;", "&")).status_code == 200


def test_the_page_shows_a_bad_parameter_next_to_its_field(police_client):
    response = police_client.get("/zones/bell-foundry/hotspots?use=crime&cell=5")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="cell-error"' in html and 'aria-invalid="true"' in html and "at least 10" in html
    assert 'id="error-summary"' in html and 'href="#field-cell"' in html
