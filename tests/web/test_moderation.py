"""The moderation page /zones/<zone>/moderation: who may use it (401/403 before anything else), the pending list, and
approve / reject / edit / hide / restore with their effects on the public layer, the tracking page, the public
history and the private sidecar. Real accounts, the real Flask client, a real temporary store."""

import csv
import html
import io
import re

import pytest

from mapper.accounts import Accounts
from mapper.moderation import PLACEHOLDER, PRIVATE_KEY
from tests.helpers import INSIDE, light, point_feature

ZONE, OTHER = "new-parks", "bell-foundry"
PASSWORD = "correct horse battery"
PAGE = f"/zones/{ZONE}/moderation"
ACTIONS = ("approve", "reject", "edit", "hide", "restore")
CONTACT = {"contact_name": "Ann Contributor", "contact_email": "ann.contributor@example.org"}
HOSTILE = '<script>window.__xss=1</script><img src=x onerror="alert(1)">'


@pytest.fixture
def tokens(data_dir):
    accounts = Accounts(data_dir)
    accounts.add("alice", "officer", [ZONE], PASSWORD)
    accounts.add("olu", "officer", [OTHER], PASSWORD)
    accounts.add("sam", "steering", [ZONE], PASSWORD)
    accounts.add("pat", "probation", [ZONE], PASSWORD)
    accounts.add("boss", "admin", (), PASSWORD)
    return {name: accounts.new_token(name) for name in ("alice", "olu", "sam", "pat", "boss")}


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def contribute(client, name, zone=ZONE, **properties):
    """A resident's asset through the public API (pending); returns the stored Feature."""
    properties = {"category": "food-bank", "name": name, **CONTACT, **properties}
    response = client.post(f"/api/zones/{zone}/assets", json=point_feature(*INSIDE[zone], **properties))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def report_light(client, zone=ZONE, **properties):
    response = client.post(f"/api/zones/{zone}/lights", json=light(zone, **properties))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def sign_in(client, name):
    token = csrf_token(client, "/login")
    response = client.post("/login", data={"csrf_token": token, "name": name, "password": PASSWORD})
    assert response.status_code == 303


def csrf_token(client, url="/login"):
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def post(client, action, data, token=None):
    """A session's form post with its CSRF token (or a bearer token's, without one)."""
    if token is not None:
        return client.post(f"{PAGE}/{action}", data=data, headers=bearer(token))
    return client.post(f"{PAGE}/{action}", data={"csrf_token": csrf_token(client), **data})


def stored(store, feature, layer="assets", zone=ZONE):
    return store.get(zone, layer, feature["id"])


def public_asset_names(client, zone=ZONE):
    return sorted(f["properties"]["name"] for f in client.get(f"/api/zones/{zone}/assets.geojson").get_json()[
        "features"])


def tracking(client, feature):
    return client.get(f"/r/{feature['properties']['ref']}.json").get_json()


def form_of(feature, **changes):
    """The edit form as the page fills it in for ``feature``, with ``changes``."""
    properties = feature["properties"]
    form = {name: properties.get(name) or "" for name in ("category", "name", "description", "address",
                                                          "opening_hours", "website", "phone", "location_text")}
    for name in ("welfare", "toilets", "water", "shelter"):
        form[name] = {True: "yes", False: "no"}.get(properties.get(name), "")
    return {"id": feature["id"], **form, **changes}


# -- access --------------------------------------------------------------------------------------------------------


ROUTES = [("get", PAGE)] + [("post", f"{PAGE}/{action}") for action in ACTIONS]


@pytest.mark.parametrize("method, url", ROUTES)
def test_every_route_asks_for_credentials_then_the_zone_and_role(client, tokens, store, method, url):
    asset = contribute(client, "Parks Pantry", description="Open Tuesdays")
    body = {"data": {"id": asset["id"], "reason": "spam", "name": "Changed", "category": "food-bank",
                     "layer": "assets", "field": "description"}} if method == "post" else {}
    call = getattr(client, method)
    nobody = call(url, headers={"Accept": "application/json"}, **body)
    assert nobody.status_code == 401
    assert nobody.headers["WWW-Authenticate"].startswith("Bearer")
    assert call(url, **body).status_code in (302, 303)  # a browser goes to sign in
    assert "/login" in call(url, **body).headers["Location"]
    assert call(url, headers=bearer("mpr_forged"), **body).status_code == 401
    for outsider in ("olu", "sam", "pat"):  # another zone; a steering-group member; a probation officer
        refused = call(url, headers={**bearer(tokens[outsider]), "Accept": "application/json"}, **body)
        assert refused.status_code == 403, outsider
        assert "Ann Contributor" not in refused.get_data(as_text=True)
    assert stored(store, asset)["properties"] == asset["properties"]  # nothing changed by anyone refused
    for insider in ("alice", "boss"):  # each on an asset of its own, so the second is not a repeat
        if method == "post":
            body["data"]["id"] = contribute(client, f"For {insider}", description="Open Tuesdays")["id"]
        expected = (409,) if url.endswith("/restore") else (200, 303)  # nothing hidden yet to restore
        assert call(url, headers=bearer(tokens[insider]), **body).status_code in expected, insider


def test_a_session_needs_the_csrf_token(client, tokens, store):
    asset = contribute(client, "Parks Pantry")
    sign_in(client, "alice")
    for action, data in (("approve", {"id": asset["id"]}), ("reject", {"id": asset["id"], "reason": "spam"}),
                         ("edit", form_of(asset, name="Forged")),
                         ("hide", {"layer": "assets", "id": asset["id"], "field": "name", "reason": "x"})):
        refused = client.post(f"{PAGE}/{action}", data=data)
        assert refused.status_code == 400, action
        assert "expired" in refused.get_data(as_text=True)
    assert stored(store, asset)["properties"] == asset["properties"]
    assert post(client, "approve", {"id": asset["id"]}).status_code == 303  # with the token it goes through


def test_an_unknown_action_is_404_after_the_zone_check(client, tokens):
    assert client.post(f"{PAGE}/delete", headers={"Accept": "application/json"}).status_code == 401
    assert client.post(f"{PAGE}/delete", headers=bearer(tokens["olu"])).status_code == 403
    assert client.post(f"{PAGE}/delete", headers=bearer(tokens["alice"])).status_code == 404


# -- the pending list ----------------------------------------------------------------------------------------------


def test_the_page_lists_pending_contributions_oldest_first_with_what_a_moderator_needs(client, tokens, store):
    first = contribute(client, "Parks Pantry", description="Tuesdays\n10-12", address="1 Aikman Avenue",
                       opening_hours="Tu 10:00-12:00", website="https://example.org/pantry?a=1&b=2",
                       phone="0116 123 4567", location_text="Behind the library", toilets=True, water=False)
    second = contribute(client, "Youth Shed", category="youth-service", contact_email="bo@example.org")
    contribute(client, "Elsewhere", zone=OTHER)
    published = contribute(client, "Already on the map")
    assert post(client, "approve", {"id": published["id"]}, tokens["alice"]).status_code == 303

    response = client.get(PAGE, headers=bearer(tokens["alice"]))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"  # contact details
    page = response.get_data(as_text=True)
    assert re.findall(r'<article class="pending" id="asset-([^"]+)"', page) == [
        first["properties"]["ref"], second["properties"]["ref"]]
    assert "1 contribution waiting" not in page and "2 contributions waiting, oldest first" in page
    assert "Elsewhere" not in page and "Already on the map" not in page
    card = page[page.index(f'id="asset-{first["properties"]["ref"]}"'):page.index(
        f'id="asset-{second["properties"]["ref"]}"')]
    for expected in ('<dd data-field="category">Food bank</dd>', "Tuesdays\n10-12", "1 Aikman Avenue",
                     "Tu 10:00-12:00", 'href="https://example.org/pantry?a=1&amp;b=2"', "0116 123 4567",
                     "Behind the library", '<dd data-field="toilets" class="">Yes</dd>',
                     '<dd data-field="water" class="">No</dd>', f'datetime="{first["properties"]["created"]}"',
                     f'href="/zones/{ZONE}#18/{INSIDE[ZONE][1]:.6f}/{INSIDE[ZONE][0]:.6f}"',
                     f'data-lat="{INSIDE[ZONE][1]}" data-lon="{INSIDE[ZONE][0]}"',
                     '<dd data-contact="contact_name">Ann Contributor</dd>',
                     'href="mailto:ann.contributor@example.org"'):
        assert expected in card, expected
    assert '<option value="yes" selected>Yes</option>' in card  # the edit form starts from the stored values


def test_an_admin_moderates_every_zone(client, tokens):
    contribute(client, "Bell Foundry Hub", zone=OTHER)
    page = client.get(f"/zones/{OTHER}/moderation", headers=bearer(tokens["boss"])).get_data(as_text=True)
    assert "Bell Foundry Hub" in page


def test_hostile_text_is_escaped_everywhere_on_the_page(client, tokens):
    contribute(client, HOSTILE, description=HOSTILE, contact_name="<b>Ann</b>")
    light_report = report_light(client, description=HOSTILE)
    for url, shown in ((PAGE, 4), (f"{PAGE}?report={light_report['properties']['ref']}", 5)):
        page = client.get(url, headers=bearer(tokens["alice"])).get_data(as_text=True)
        assert "<script>window.__xss" not in page and "<img src=x" not in page and "<b>Ann</b>" not in page
        # name (heading, edit field), description (details, edit field); the found light's description once more
        assert page.count("&lt;script&gt;window.__xss=1&lt;/script&gt;") == shown


# -- approve and reject --------------------------------------------------------------------------------------------


def test_approving_puts_it_on_the_public_map_and_keeps_who_privately(client, tokens, store):
    asset = contribute(client, "Parks Pantry")
    sign_in(client, "alice")
    response = post(client, "approve", {"id": asset["id"]})
    assert response.status_code == 303 and response.headers["Location"].endswith(PAGE)
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"Published Parks Pantry ({asset['properties']['ref']})." in after
    assert f'id="asset-{asset["properties"]["ref"]}"' not in after
    assert public_asset_names(client) == ["Parks Pantry"]
    assert tracking(client, asset)["status_label"] == "On the map"
    [record] = stored(store, asset)["properties"]["history"]
    assert (record["from"], record["to"]) == ("pending", "published") and "by" not in record
    assert store.private_history(ZONE, "assets", asset["id"])[0]["by"] == "alice"
    again = post(client, "approve", {"id": asset["id"]})
    assert again.status_code == 409
    assert "is &#39;published&#39;, not &#39;pending&#39;" in again.get_data(as_text=True)


def test_rejecting_needs_a_reason_which_stays_private(client, tokens, store):
    asset = contribute(client, "Buy cheap watches")
    sign_in(client, "alice")
    refused = post(client, "reject", {"id": asset["id"], "reason": "  "})
    assert refused.status_code == 422 and "Say why it is rejected" in refused.get_data(as_text=True)
    assert stored(store, asset)["properties"]["status"] == "pending"
    assert post(client, "reject", {"id": asset["id"], "reason": "Advertising,\nnot a community asset"}).status_code \
        == 303
    assert stored(store, asset)["properties"]["status"] == "rejected"
    assert public_asset_names(client) == []
    assert client.get(f"/api/zones/{ZONE}/assets/{asset['id']}").status_code == 404
    shown = tracking(client, asset)
    assert shown["status_label"] == "Not accepted" and "Advertising" not in str(shown)
    assert shown["name"] is None  # a rejected contribution's text is not published
    assert store.private_history(ZONE, "assets", asset["id"])[0] == {
        "by": "alice", "internal_note": "Advertising, not a community asset",
        "at": stored(store, asset)["properties"]["history"][0]["at"]}


def test_an_unknown_asset_is_404_and_a_light_is_not_an_asset(client, tokens):
    assert post(client, "approve", {"id": "no-such-id"}, tokens["alice"]).status_code == 404
    light_report = report_light(client)
    assert post(client, "approve", {"id": light_report["id"]}, tokens["alice"]).status_code == 404
    assert post(client, "approve", {}, tokens["alice"]).status_code == 422


# -- edit ----------------------------------------------------------------------------------------------------------


def test_an_edit_corrects_the_public_fields_and_keeps_the_old_ones_privately(client, tokens, store):
    asset = contribute(client, "Parks Pantri", description="Tuesdays", website="http://example.org")
    sign_in(client, "alice")
    response = post(client, "edit", form_of(asset, name="Parks Pantry", website="https://example.org/pantry",
                                            toilets="yes", description="", reason="Spelling",
                                            approve="1"))
    assert response.status_code == 303, response.get_data(as_text=True)
    assert "Corrected and published Parks Pantry" in client.get(response.headers["Location"]).get_data(as_text=True)
    properties = stored(store, asset)["properties"]
    assert (properties["name"], properties["website"], properties["toilets"], properties["status"]) == (
        "Parks Pantry", "https://example.org/pantry", True, "published")
    assert "description" not in properties
    edited, approved = properties["history"]
    assert edited["moderation"] == "edited" and edited["fields"] == ["description", "name", "toilets", "website"]
    assert (edited["from"], edited["to"]) == ("pending", "pending")
    assert edited["public_note"] == "The details were corrected by a moderator."
    assert "by" not in edited and "Pantri" not in str(properties["history"])
    assert (approved["from"], approved["to"]) == ("pending", "published")
    # Public: the layer, the tracking page. Private: who, why and the old values.
    assert public_asset_names(client) == ["Parks Pantry"]
    notes = [change["note"] for change in tracking(client, asset)["history"]]
    assert notes == ["The details were corrected by a moderator.", None]
    state = store.get_private(ZONE, "assets", asset["id"])[PRIVATE_KEY]
    [entry] = state["edits"]
    assert entry["old"] == {"name": "Parks Pantri", "website": "http://example.org", "toilets": None,
                            "description": "Tuesdays"}
    assert (entry["by"], entry["reason"], entry["history"]) == ("alice", "Spelling", 0)
    assert store.private_history(ZONE, "assets", asset["id"])[0]["by"] == "alice"
    officer = client.get(f"/api/zones/{ZONE}/assets/{asset['id']}/private", headers=bearer(tokens["alice"]))
    assert officer.get_json()["private"][PRIVATE_KEY]["edits"][0]["old"]["name"] == "Parks Pantri"


@pytest.mark.parametrize("changes, field, message", [
    ({"website": "javascript:alert(1)"}, "website", "'website' must be an http:// or https:// address"),
    ({"name": "x" * 201}, "name", "'name' is 201 characters long; the limit is 200."),
    ({"name": "  "}, "name", "'name' is required."),
    ({"phone": "call me maybe"}, "phone", "'phone' is not a phone number"),
    ({"toilets": "perhaps"}, "toilets", "'toilets' must be true or false"),
    ({"category": "casino"}, "category", "Unknown category 'casino'"),
    ({"address": "1 Main St\n<script>"}, "address", "'address' contains control characters or line breaks."),
])
def test_an_edit_goes_through_the_one_validator_and_stores_nothing_when_refused(client, tokens, store, changes,
                                                                                 field, message):
    asset = contribute(client, "Parks Pantry", description="Tuesdays")
    before_private = store.get_private(ZONE, "assets", asset["id"])
    response = post(client, "edit", form_of(asset, approve="1", **changes), tokens["alice"])
    assert response.status_code == 422
    page = html.unescape(response.get_data(as_text=True))
    assert message in page
    # The form comes back open, with what the moderator typed, and the field marked.
    card = page[page.index(f'id="asset-{asset["properties"]["ref"]}"'):]
    assert '<details class="edit" open>' in card
    assert f'id="e-{asset["id"]}-{field}"' in card
    assert stored(store, asset)["properties"] == asset["properties"]
    assert store.get_private(ZONE, "assets", asset["id"]) == before_private
    assert store.private_history(ZONE, "assets", asset["id"]) == {}


def test_an_edit_that_changes_nothing_is_refused(client, tokens, store):
    asset = contribute(client, "Parks Pantry", toilets=False)
    response = post(client, "edit", form_of(asset), tokens["alice"])
    assert response.status_code == 409 and "Nothing to change" in response.get_data(as_text=True)
    assert stored(store, asset)["properties"] == asset["properties"]


def test_edit_and_approve_of_an_asset_no_longer_pending_changes_nothing(client, tokens, store):
    asset = contribute(client, "Parks Pantry")
    assert post(client, "reject", {"id": asset["id"], "reason": "dup"}, tokens["alice"]).status_code == 303
    before = stored(store, asset)["properties"]
    response = post(client, "edit", form_of(asset, name="Sneaky", approve="1"), tokens["alice"])
    assert response.status_code == 409
    assert stored(store, asset)["properties"] == before


# -- hide and restore ----------------------------------------------------------------------------------------------


def test_hiding_a_lights_description_shows_a_placeholder_everywhere_public(client, tokens, store, app):
    abusive = "The council officer at no. 12 is a [slur]"
    report = report_light(client, description=abusive, location_text="Outside no. 12", contact_email="r@example.org")
    ref = report["properties"]["ref"]
    sign_in(client, "alice")
    found = client.get(f"{PAGE}?report={ref.lower()}")  # a reference typed in lower case is found too
    page = found.get_data(as_text=True)
    assert found.status_code == 200 and f'data-ref="{ref}" data-layer="lights"' in page
    assert f'<span class="text" data-field="description">{abusive}</span>' in html.unescape(page)

    response = post(client, "hide", {"layer": "lights", "id": report["id"], "ref": ref, "field": "description",
                                     "reason": "Abuse of a named person"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"{PAGE}?report={ref}#report")
    after = client.get(response.headers["Location"]).get_data(as_text=True)
    assert f"The text is hidden on {ref}." in after
    assert f'data-hidden="description">{html.escape(abusive)}</span>' in after  # staff still see it
    assert "Hidden by alice" in after and "Abuse of a named person" in after

    resident = app.test_client()  # not signed in
    public = resident.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]
    assert public["description"] == PLACEHOLDER and public["location_text"] == "Outside no. 12"
    layer_text = resident.get(f"/api/zones/{ZONE}/lights.geojson").get_data(as_text=True)
    csv_text = resident.get(f"/api/zones/{ZONE}/lights.csv").get_data(as_text=True)
    track_page = resident.get(f"/r/{ref}").get_data(as_text=True)
    for text in (layer_text, csv_text, track_page, str(tracking(resident, report))):
        assert "[slur]" not in text and "Abuse of a named person" not in text and "alice" not in text
    assert next(csv.DictReader(io.StringIO(csv_text)))["description"] == PLACEHOLDER
    assert PLACEHOLDER in html.unescape(track_page) and "Some text was removed by a moderator." in track_page
    record = public["history"][-1]
    assert record == {"at": record["at"], "from": "open", "to": "open",
                      "public_note": "Some text was removed by a moderator.", "moderation": "hidden",
                      "fields": ["description"]}
    hidden = store.get_private(ZONE, "lights", report["id"])[PRIVATE_KEY]["hidden"]["description"]
    assert (hidden["text"], hidden["by"], hidden["reason"]) == (abusive, "alice", "Abuse of a named person")
    assert store.get_private(ZONE, "lights", report["id"])["contact_email"] == "r@example.org"  # still there

    restored = post(client, "restore", {"layer": "lights", "id": report["id"], "ref": ref, "field": "description"})
    assert restored.status_code == 303
    public = client.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]
    assert public["description"] == abusive
    assert [(h.get("moderation"), h.get("fields")) for h in public["history"]] == [
        ("hidden", ["description"]), ("restored", ["description"])]
    assert store.get_private(ZONE, "lights", report["id"])[PRIVATE_KEY]["hidden"] == {}
    assert [d["by"] for d in store.private_history(ZONE, "lights", report["id"]).values()] == ["alice", "alice"]


def test_hiding_works_on_any_status_and_does_not_move_a_fix(client, tokens, store, resources, app):
    from mapper import lifecycle

    report = report_light(client, description="Rude words")
    layer = resources.schema.layer("lights")
    fixed = lifecycle.change_status(store, layer, ZONE, report["id"], "fixed", by="alice")
    deadline = lifecycle.reopen_deadline(fixed["properties"], lifecycle.lifecycle_for(app.config["LAYERS_FILE"],
                                                                                     layer))
    rejected = contribute(client, "Rude name")
    assert post(client, "reject", {"id": rejected["id"], "reason": "abuse"}, tokens["alice"]).status_code == 303
    for layer_name, feature, field in (("lights", report, "description"), ("assets", rejected, "name")):
        response = post(client, "hide", {"layer": layer_name, "id": feature["id"], "field": field,
                                         "reason": "abuse"}, tokens["alice"])
        assert response.status_code == 303
        assert stored(store, feature, layer_name)["properties"][field] == PLACEHOLDER
    properties = stored(store, report, "lights")["properties"]
    assert properties["status"] == "fixed"
    assert lifecycle.reopen_deadline(properties, lifecycle.lifecycle_for(app.config["LAYERS_FILE"], layer)) == \
        deadline  # hiding text is not a new fix: the resident's 28 days do not restart
    assert stored(store, rejected)["properties"]["status"] == "rejected"


def test_a_hidden_website_is_left_out_not_replaced(client, tokens, store):
    asset = contribute(client, "Parks Pantry", website="https://scam.example")
    assert post(client, "hide", {"layer": "assets", "id": asset["id"], "field": ["website", "name"],
                                 "reason": "scam"}, tokens["alice"]).status_code == 303
    properties = stored(store, asset)["properties"]
    assert "website" not in properties and properties["name"] == PLACEHOLDER
    assert properties["history"][-1]["fields"] == ["name", "website"]


@pytest.mark.parametrize("data, status, message", [
    ({"field": "description", "reason": ""}, 422, "Say why the text is hidden"),
    ({"field": "contact_email", "reason": "x"}, 422, "is not text that can be hidden"),
    ({"field": "category", "reason": "x"}, 422, "is not text that can be hidden"),
    ({"field": "address", "reason": "x"}, 422, "has no text to hide"),
    ({"reason": "x"}, 422, "Choose the text to hide"),
])
def test_a_refused_hide_changes_nothing(client, tokens, store, data, status, message):
    asset = contribute(client, "Parks Pantry", description="Fine")
    ref = asset["properties"]["ref"]
    response = post(client, "hide", {"layer": "assets", "id": asset["id"], "ref": ref, **data}, tokens["alice"])
    assert response.status_code == status
    page = html.unescape(response.get_data(as_text=True))
    assert message in page and f'data-ref="{ref}" data-layer="assets"' in page  # the report stays on screen
    assert stored(store, asset)["properties"] == asset["properties"]


def test_hiding_twice_and_restoring_what_is_not_hidden_are_409(client, tokens, store):
    asset = contribute(client, "Parks Pantry", description="Rude")
    form = {"layer": "assets", "id": asset["id"], "field": "description", "reason": "abuse"}
    assert post(client, "hide", form, tokens["alice"]).status_code == 303
    assert post(client, "hide", form, tokens["alice"]).status_code == 409
    assert post(client, "restore", {**form, "field": "name"}, tokens["alice"]).status_code == 409
    assert len(stored(store, asset)["properties"]["history"]) == 1


def test_a_report_in_another_zone_is_not_found_here(client, tokens, store):
    elsewhere = report_light(client, zone=OTHER, description="Rude")
    response = client.get(f"{PAGE}?report={elsewhere['properties']['ref']}", headers=bearer(tokens["alice"]))
    assert response.status_code == 404 and "No report or asset with the reference" in html.unescape(
        response.get_data(as_text=True))
    refused = post(client, "hide", {"layer": "lights", "id": elsewhere["id"], "field": "description",
                                    "reason": "x"}, tokens["alice"])
    assert refused.status_code == 404
    assert stored(store, elsewhere, "lights", OTHER)["properties"]["description"] == "Rude"


def test_editing_a_hidden_field_replaces_it_for_good(client, tokens, store):
    asset = contribute(client, "Parks Pantry", description="Rude words")
    assert post(client, "hide", {"layer": "assets", "id": asset["id"], "field": "description", "reason": "abuse"},
                tokens["alice"]).status_code == 303
    hidden = stored(store, asset)
    # The form shows the placeholder; saving it unchanged keeps the text hidden.
    assert post(client, "edit", form_of(hidden, name="Parks Pantry CIC"), tokens["alice"]).status_code == 303
    assert stored(store, asset)["properties"]["description"] == PLACEHOLDER
    assert "description" in store.get_private(ZONE, "assets", asset["id"])[PRIVATE_KEY]["hidden"]
    assert post(client, "edit", form_of(stored(store, asset), description="Tuesdays 10-12"),
                tokens["alice"]).status_code == 303
    state = store.get_private(ZONE, "assets", asset["id"])[PRIVATE_KEY]
    assert state["hidden"] == {} and state["edits"][-1]["old"] == {"description": "Rude words"}
    assert stored(store, asset)["properties"]["description"] == "Tuesdays 10-12"


def test_contact_details_never_reach_a_public_answer(client, tokens, store):
    asset = contribute(client, "Parks Pantry", description="Rude")
    for action, data in (("edit", form_of(asset, name="Parks Pantry CIC")),
                         ("hide", {"layer": "assets", "id": asset["id"], "field": "description", "reason": "x"}),
                         ("approve", {"id": asset["id"]})):
        assert post(client, action, data, tokens["alice"]).status_code == 303
    ref = asset["properties"]["ref"]
    for url in (f"/api/zones/{ZONE}/assets.geojson", f"/api/zones/{ZONE}/assets.csv",
                f"/api/zones/{ZONE}/assets.points", f"/api/zones/{ZONE}/assets/{asset['id']}", f"/r/{ref}",
                f"/r/{ref}.json", f"/zones/{ZONE}", "/"):
        text = client.get(url).get_data(as_text=True)
        assert "ann.contributor" not in text and "Ann Contributor" not in text and PRIVATE_KEY not in text, url
    assert "Parks Pantry CIC" in client.get(f"/api/zones/{ZONE}/assets.geojson").get_data(as_text=True)


# -- the JSON API for token clients --------------------------------------------------------------------------------


def api(client, token, layer, feature, body, **headers):
    return client.post(f"/api/zones/{ZONE}/{layer}/{feature['id']}/moderation", json=body,
                       headers={**(bearer(token) if token else {}), **headers})


def test_the_json_api_lists_pending_with_private_fields_and_needs_the_zone(client, tokens):
    first = contribute(client, "Parks Pantry")
    contribute(client, "Elsewhere", zone=OTHER)
    assert client.get(f"/api/zones/{ZONE}/moderation").status_code == 401
    assert client.get(f"/api/zones/{ZONE}/moderation", headers=bearer(tokens["olu"])).status_code == 403
    assert client.get(f"/api/zones/{ZONE}/moderation", headers=bearer(tokens["sam"])).status_code == 403
    response = client.get(f"/api/zones/{ZONE}/moderation", headers=bearer(tokens["alice"]))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    [feature] = response.get_json()["features"]
    assert feature["id"] == first["id"] and feature["private"] == CONTACT


def test_the_json_api_moderates_with_the_same_functions(client, tokens, store):
    asset = contribute(client, "Parks Pantri", description="Rude")
    report = report_light(client, description="Rude")
    for token, status in ((None, 401), (tokens["olu"], 403), (tokens["pat"], 403)):
        assert api(client, token, "assets", asset, {"action": "approve"}).status_code == status
    edited = api(client, tokens["alice"], "assets", asset, {"action": "edit", "properties": {"name": "Parks Pantry"},
                                                            "approve": True, "reason": "Spelling"})
    assert edited.status_code == 200, edited.get_json()
    body = edited.get_json()
    assert body["properties"]["status"] == "published" and body["properties"]["name"] == "Parks Pantry"
    assert [h["by"] for h in body["properties"]["history"]] == ["alice", "alice"]
    hidden = api(client, tokens["alice"], "lights", report, {"action": "hide", "fields": ["description"],
                                                             "reason": "abuse"})
    assert hidden.status_code == 200
    assert hidden.get_json()["private"][PRIVATE_KEY]["hidden"]["description"]["text"] == "Rude"
    assert client.get(f"/api/zones/{ZONE}/lights/{report['id']}").get_json()["properties"]["description"] == \
        PLACEHOLDER
    assert api(client, tokens["alice"], "lights", report, {"action": "restore"}).status_code == 200
    assert stored(store, report, "lights")["properties"]["description"] == "Rude"


@pytest.mark.parametrize("layer, body, status, field", [
    ("assets", {"action": "publish"}, 422, "action"),
    ("assets", {"action": "edit", "properties": {"name": 7}}, 422, "name"),
    ("assets", {"action": "edit", "properties": ["name"]}, 422, "properties"),
    ("assets", {"action": "edit", "properties": {"status": "published"}}, 422, "status"),
    ("assets", {"action": "edit", "properties": {"name": "X"}, "approve": "yes"}, 422, "approve"),
    ("assets", {"action": "reject"}, 422, "reason"),
    ("assets", {"action": "hide", "fields": 5, "reason": "x"}, 422, "fields"),
    ("assets", {"action": "hide", "fields": ["description"], "reason": ["x"]}, 422, "reason"),
    ("assets", {"action": "approve", "by": "someone else"}, 422, "by"),
    ("lights", {"action": "approve"}, 422, "action"),
    ("crime", {"action": "hide"}, 404, "layer"),
])
def test_the_json_api_refuses_bad_requests_and_stores_nothing(client, tokens, store, layer, body, status, field):
    asset = contribute(client, "Parks Pantry", description="Rude")
    report = report_light(client, description="Rude")
    feature = report if layer == "lights" else asset
    response = api(client, tokens["alice"], layer, feature, body)
    assert response.status_code == status
    assert response.get_json()["error"]["field"] == field
    assert stored(store, asset)["properties"] == asset["properties"]
    assert stored(store, report, "lights")["properties"] == report["properties"]


def test_the_json_api_needs_csrf_for_a_session(client, tokens, store):
    asset = contribute(client, "Parks Pantry")
    sign_in(client, "alice")
    assert api(client, None, "assets", asset, {"action": "approve"}).status_code == 400
    assert stored(store, asset)["properties"]["status"] == "pending"
    assert api(client, None, "assets", asset, {"action": "approve"}, **{"X-CSRFToken": csrf_token(client)}
               ).status_code == 200
