"""The analysts' police.uk upload page (/zones/<zone>/crime/upload): officers of the zone only, CSRF-checked, the same
importer as ``mapper import-police``, and nothing stored from a refused upload. Real ward extracts from
tests/data/police/."""

import io
import re
from pathlib import Path

import pytest

from mapper.accounts import Accounts
from tests import helpers

POLICE = Path(__file__).resolve().parent.parent / "data" / "police"
BELL_FOUNDRY = POLICE / "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"
NEW_PARKS = POLICE / "new_parks_leicester_2023-01_to_2024-12.csv"
ZONE = "bell-foundry"
PAGE = f"/zones/{ZONE}/crime/upload"
PASSWORD = "correct horse battery"


def signed_in(app, name):
    """A browser-like client signed in as ``name``, and the session's CSRF token."""
    return helpers.signed_in(app, name, PASSWORD)


@pytest.fixture
def officer(app, data_dir):
    Accounts(data_dir).add("analyst", "officer", [ZONE], PASSWORD)
    return signed_in(app, "analyst")


def crimes(app):
    return len(app.extensions["mapper"].store.query(ZONE, "crime").lines)


def post(client, token, *files):
    return client.post(PAGE, content_type="multipart/form-data",
                       data={"csrf_token": token, "files": [(io.BytesIO(data), name) for name, data in files]})


def test_the_page_needs_a_signed_in_officer_of_the_zone(app, data_dir):
    anonymous = app.test_client()
    response = anonymous.get(PAGE)
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert anonymous.get(PAGE, headers={"Accept": "application/json"}).status_code == 401
    assert anonymous.post(PAGE, data={"files": (io.BytesIO(BELL_FOUNDRY.read_bytes()), "a.csv")},
                          headers={"Accept": "application/json"}, content_type="multipart/form-data").status_code == 401
    Accounts(data_dir).add("elsewhere", "officer", ["new-parks"], PASSWORD)
    other, token = signed_in(app, "elsewhere")
    assert other.get(PAGE).status_code == 403
    assert post(other, token, ("a.csv", BELL_FOUNDRY.read_bytes())).status_code == 403
    assert crimes(app) == 0


def test_the_form_is_plain_html_with_a_csrf_token(officer):
    client, _ = officer
    html = client.get(PAGE).get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in html and 'name="csrf_token"' in html
    assert re.search(r'<input type="file"[^>]*name="files"[^>]*multiple', html)


def test_a_post_without_the_csrf_token_is_refused(app, officer):
    client, _ = officer
    response = client.post(PAGE, data={"files": (io.BytesIO(BELL_FOUNDRY.read_bytes()), "a.csv")},
                           content_type="multipart/form-data")
    assert response.status_code == 400
    assert crimes(app) == 0


def test_a_ward_extract_is_imported_once(app, officer):
    client, token = officer
    response = post(client, token, (BELL_FOUNDRY.name, BELL_FOUNDRY.read_bytes()))
    assert response.status_code == 200, response.get_data(as_text=True)
    html = response.get_data(as_text=True)
    assert "2,494 of 2,494 rows were added" in html
    assert crimes(app) == 2494
    again = post(client, token, (BELL_FOUNDRY.name, BELL_FOUNDRY.read_bytes()))
    html = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "0 of 2,494 rows were added" in html
    assert re.search(r'data-reason="already imported"><th scope="row">already imported</th><td>2,494</td>', html)
    assert crimes(app) == 2494


def test_rows_outside_the_zone_are_counted_by_reason(app, officer):
    client, token = officer
    response = post(client, token, ("bf.csv", BELL_FOUNDRY.read_bytes()), ("np.csv", NEW_PARKS.read_bytes()))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(r'data-reason="outside the zone"><th scope="row">outside the zone</th><td>6,309</td>', html)
    assert crimes(app) == 2494


@pytest.mark.parametrize("junk", [b"name,colour\nlamp,red\n", b"", b"\xff\xfe\x00junk", b"<html>not csv</html>"])
def test_a_file_that_is_not_a_police_uk_csv_is_refused_and_nothing_is_stored(app, officer, junk):
    client, token = officer
    # A good file next to the junk is not stored either: nothing half-imported.
    response = post(client, token, ("good.csv", BELL_FOUNDRY.read_bytes()), ("junk.csv", junk))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Nothing was imported" in html and "junk.csv" in html
    assert "police-upload-" not in html  # the server's temporary folder is not shown
    assert crimes(app) == 0


def test_no_file_chosen_is_a_422(officer):
    client, token = officer
    response = client.post(PAGE, data={"csrf_token": token}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "Choose at least one" in response.get_data(as_text=True)


def test_a_file_over_the_limit_is_a_413_and_nothing_is_stored(app, officer):
    from mapper.web.analysts import MAX_POLICE_FILE

    client, token = officer
    header, _, body = BELL_FOUNDRY.read_bytes().partition(b"\n")
    big = header + b"\n" + body * (MAX_POLICE_FILE // len(body) + 1)
    assert len(big) > MAX_POLICE_FILE
    response = post(client, token, ("big.csv", big))
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "big.csv is larger than 20 MB" in html
    assert crimes(app) == 0
