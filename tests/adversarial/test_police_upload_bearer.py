"""Issue #11, finding 11: ``/zones/<zone>/crime/upload`` demanded a CSRF token from bearer-token clients.

A CSRF token protects a browser's cookie; a client that sends ``Authorization: Bearer`` sends no cookie a cross-site
page could ride on, so it needs none (the rule of the other staff blueprints, ``auth.protect_session_writes``).
A signed-in browser session still needs its token. A real account and token (mapper.accounts), a real police.uk
extract, the real Flask test client.
"""

import io
import re
from pathlib import Path

from mapper.accounts import Accounts
from tests.helpers import sign_in_form

POLICE = Path(__file__).resolve().parent.parent / "data" / "police" / \
    "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"
ZONE = "bell-foundry"
PAGE = f"/zones/{ZONE}/crime/upload"
PASSWORD = "correct horse battery"


def crimes(app):
    return len(app.extensions["mapper"].store.query(ZONE, "crime").lines)


def upload(client, **fields):
    return client.post(PAGE, content_type="multipart/form-data",
                       data={"files": [(io.BytesIO(POLICE.read_bytes()), POLICE.name)], **fields})


def test_a_bearer_client_uploads_without_a_csrf_token(app, data_dir):
    accounts = Accounts(data_dir)
    accounts.add("analyst", "officer", [ZONE], PASSWORD)
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.new_token('analyst')}"
    response = upload(client)
    assert response.status_code == 200, response.get_data(as_text=True)[:400]
    assert "2,494 of 2,494 rows were added" in response.get_data(as_text=True)
    assert crimes(app) == 2494


def test_a_bearer_token_of_another_zone_or_a_bad_one_is_still_refused(app, data_dir):
    accounts = Accounts(data_dir)
    accounts.add("elsewhere", "officer", ["new-parks"], PASSWORD)
    other = app.test_client()
    other.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {accounts.new_token('elsewhere')}"
    assert upload(other).status_code == 403
    forged = app.test_client()
    forged.environ_base["HTTP_AUTHORIZATION"] = "Bearer not-a-real-token"
    assert upload(forged).status_code == 401
    assert crimes(app) == 0


def test_a_signed_in_session_still_needs_its_token(app, data_dir):
    Accounts(data_dir).add("analyst", "officer", [ZONE], PASSWORD)
    client = app.test_client()
    assert sign_in_form(client, "analyst", PASSWORD).status_code == 303
    assert upload(client).status_code == 400
    assert crimes(app) == 0
    page = client.get(PAGE).get_data(as_text=True)
    form_token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert upload(client, csrf_token=form_token).status_code == 200
    assert crimes(app) == 2494
