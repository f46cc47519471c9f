"""`mapper moderate` (mapper.cli over mapper.moderation): an asset contributed through the API stays out of every
public answer until the CLI approves it; a rejected one never appears. CliRunner and the Flask client share one real
temporary data directory, as a moderator's shell and the running server share a disk."""

import re
import time

import pytest
from click.testing import CliRunner

from mapper.cli import main, terminal_safe
from mapper.lifecycle import change_status
from tests.helpers import INSIDE, point_feature

ZONE = "new-parks"


@pytest.fixture
def moderate(data_dir):
    """``moderate(*args)``: run ``mapper moderate ...`` on the app's data directory; returns click's Result."""

    def run(*args):
        return CliRunner().invoke(main, ["moderate", *map(str, args), "--data", str(data_dir)],
                                  catch_exceptions=False)

    return run


def contribute(client, name, zone=ZONE, **properties):
    """A resident's asset through the public API; returns the stored Feature."""
    lon, lat = INSIDE[zone]
    response = client.post(f"/api/zones/{zone}/assets",
                           json=point_feature(lon, lat, category="food-bank", name=name, **properties))
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def public_names(client, zone=ZONE):
    """The asset names every public answer gives: GeoJSON, the map's .points and the counts on / and /api/zones."""
    geojson = [f["properties"]["name"] for f in client.get(f"/api/zones/{zone}/assets.geojson").get_json()["features"]]
    points = client.get(f"/api/zones/{zone}/assets.points").get_json()
    assert points["count"] == len(points["name"]) == len(geojson)
    assert sorted(points["name"]) == sorted(geojson)
    summary = next(z for z in client.get("/api/zones").get_json()["zones"] if z["id"] == zone)
    assert summary["counts"]["assets"] == len(geojson)
    row = re.search(rf'<tr data-zone="{zone}">(.*?)</tr>', client.get("/").get_data(as_text=True), re.S).group(1)
    assert re.search(r'<td class="count" data-layer="assets">([0-9,]+)</td>', row).group(1) == str(len(geojson))
    return sorted(geojson)


def test_a_contribution_is_public_only_once_approved(client, moderate):
    asset = contribute(client, "Parks Pantry", address="1 Aikman Avenue", website="https://example.org/pantry",
                       description="Tuesdays 10-12. " * 20)
    assert asset["properties"]["status"] == "pending"
    assert public_names(client) == []
    assert client.get(f"/api/zones/{ZONE}/assets/{asset['id']}").status_code == 404

    listed = moderate("list")
    assert listed.exit_code == 0, listed.output
    lines = listed.output.splitlines()
    assert lines[0].split("  ")[:2] == [ZONE, asset["id"]]
    assert asset["properties"]["created"] in lines[0] and lines[0].endswith("Food bank")
    assert "  Name:        Parks Pantry" in lines
    assert "  Address:     1 Aikman Avenue" in lines
    assert "  Website:     https://example.org/pantry" in lines
    description = next(line for line in lines if line.startswith("  Description: "))
    assert description.endswith("…") and len(description) == len("  Description: ") + 160
    assert lines[-1] == "1 asset waiting for moderation."

    approved = moderate("approve", asset["id"])
    assert approved.exit_code == 0, approved.output
    assert approved.output == f"Published Parks Pantry ({ZONE}/{asset['id']}).\n"
    assert public_names(client) == ["Parks Pantry"]
    shown = client.get(f"/api/zones/{ZONE}/assets/{asset['id']}").get_json()
    assert shown["properties"]["status"] == "published"
    [record] = shown["properties"]["history"]
    # Who moderated is kept privately (mapper.lifecycle), never in the public history.
    assert record["from"] == "pending" and record["to"] == "published" and "by" not in record
    assert record["public_note"] is None and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["at"])
    assert moderate("list").output == "0 assets waiting for moderation.\n"


def test_a_rejected_contribution_never_appears(client, moderate, data_dir):
    kept = contribute(client, "Community Fridge")
    spam = contribute(client, "Buy cheap watches")
    result = moderate("reject", spam["id"], "--reason", "Advertising,\n not a community asset")
    assert result.exit_code == 0, result.output
    assert result.output == f"Rejected Buy cheap watches ({ZONE}/{spam['id']}).\n"
    moderate("approve", kept["id"])
    assert public_names(client) == ["Community Fridge"]
    assert client.get(f"/api/zones/{ZONE}/assets/{spam['id']}").status_code == 404
    assert "Buy cheap watches" not in client.get(f"/api/zones/{ZONE}/assets.csv").get_data(as_text=True)
    assert "Buy cheap watches" not in moderate("list").output

    from mapper.store.geojson_files import GeoJSONFileStore

    stored = GeoJSONFileStore(data_dir).get(ZONE, "assets", spam["id"])
    assert stored["properties"]["status"] == "rejected"
    [record] = stored["properties"]["history"]
    assert (record["from"], record["to"], record["public_note"]) == ("pending", "rejected", None)
    # The reason is for the other moderators (the --reason help says so): private, with who rejected it.
    private = GeoJSONFileStore(data_dir).private_history(ZONE, "assets", spam["id"])
    assert (private[0]["by"], private[0]["internal_note"]) == ("cli", "Advertising, not a community asset")


def test_list_is_oldest_first_across_zones_and_by_zone(client, moderate):
    first = contribute(client, "First", zone="bell-foundry")
    time.sleep(0.002)  # `created` has millisecond resolution
    second = contribute(client, "Second", zone=ZONE)
    time.sleep(0.002)
    third = contribute(client, "Third", zone="bell-foundry")
    everywhere = moderate("list").output.splitlines()
    headings = [line.split("  ") for line in everywhere if line.startswith(("bell-foundry  ", f"{ZONE}  "))]
    assert [(zone, feature_id) for zone, feature_id, *_ in headings] == [
        ("bell-foundry", first["id"]), (ZONE, second["id"]), ("bell-foundry", third["id"])]
    assert everywhere[-1] == "3 assets waiting for moderation."
    bell_foundry = moderate("list", "--zone", "bell-foundry").output
    assert "Second" not in bell_foundry and "First" in bell_foundry and "Third" in bell_foundry
    assert bell_foundry.splitlines()[-1] == "2 assets waiting for moderation in bell-foundry."


def test_approve_by_reference_and_with_a_zone(client, moderate):
    asset = contribute(client, "Reading Room")
    assert moderate("approve", asset["properties"]["ref"], "--zone", ZONE).exit_code == 0
    assert public_names(client) == ["Reading Room"]


def test_list_escapes_text_for_the_terminal(client, moderate, data_dir):
    """Stored text is checked by the validator, but a hand-edited layer file can hold anything."""
    asset = contribute(client, "Safe name")
    from mapper.store.geojson_files import GeoJSONFileStore

    def hostile(properties):
        return {**properties, "name": "Evil\x1b]0;owned\x07\x1b[2J name\u202e", "address": "Line\r\nbreak\x9b31m"}

    GeoJSONFileStore(data_dir).update(ZONE, "assets", asset["id"], hostile)
    output = moderate("list").output
    assert "\x1b" not in output and "\x07" not in output and "\u202e" not in output and "\x9b" not in output
    assert "  Name:        Evil]0;owned[2J name" in output
    assert "  Address:     Line break31m" in output


@pytest.mark.parametrize("value, expected", [
    ("plain", "plain"), (None, ""), ("a\tb\nc", "a b c"), ("\u2028x\u2029", "x"), ("bidi\u2066x\u2069", "bidix"),
])
def test_terminal_safe(value, expected):
    assert terminal_safe(value) == expected


def test_approving_twice_or_a_rejected_asset_is_a_clear_error(client, moderate):
    asset = contribute(client, "Twice")
    assert moderate("approve", asset["id"]).exit_code == 0
    again = moderate("approve", asset["id"])
    assert again.exit_code == 2
    assert again.output == (f"Error: assets {asset['id']} is 'published', not 'pending'; "
                            "it cannot become 'published'.\n")
    withdrawn = moderate("reject", asset["id"], "--reason", "Closed down")
    assert withdrawn.exit_code == 0  # a published asset can be withdrawn
    assert moderate("approve", asset["id"]).exit_code == 2
    rejected_again = moderate("reject", asset["id"])
    assert rejected_again.exit_code == 2 and "is 'rejected'" in rejected_again.output
    shown = client.get(f"/api/zones/{ZONE}/assets/{asset['id']}")
    assert shown.status_code == 404
    assert public_names(client) == []


@pytest.mark.parametrize("args, message", [
    (["approve", "no-such-id"], "Error: No assets feature with the id or reference 'no-such-id'.\n"),
    (["reject", "no-such-id", "--reason", "x"], "Error: No assets feature with the id or reference 'no-such-id'.\n"),
    (["approve", "x", "--zone", "atlantis"], None),
    (["list", "--zone", "atlantis"], None),
])
def test_unknown_ids_and_zones_are_one_line_and_exit_2(moderate, args, message):
    result = moderate(*args)
    assert result.exit_code == 2
    assert len(result.output.splitlines()) == 1 and "Traceback" not in result.output
    if message:
        assert result.output == message
    else:
        assert "atlantis" in result.output


def test_an_asset_in_another_zone_is_not_found_with_zone(client, moderate):
    asset = contribute(client, "Elsewhere", zone="bell-foundry")
    result = moderate("approve", asset["id"], "--zone", ZONE)
    assert result.exit_code == 2 and "No assets feature" in result.output


def test_change_status_checks_inside_the_update(resources):
    """Two moderators approving at once: the second finds it published already, and history has one record."""
    from mapper.errors import MapperError
    from mapper.intake import submit

    store, layer = resources.store, resources.schema.layer("assets")
    asset = submit(point_feature(*INSIDE[ZONE], category="health", name="Clinic"), "assets", schema=resources.schema,
                   zones=resources.zones(), store=store)
    change_status(store, layer, ZONE, asset["id"], "published", by="one", allowed_from=("pending",))
    with pytest.raises(MapperError, match="is 'published', not 'pending'") as refused:
        change_status(store, layer, ZONE, asset["id"], "published", by="two", allowed_from=("pending",))
    assert refused.value.status == 409
    with pytest.raises(MapperError, match="Unknown status 'approved'"):
        change_status(store, layer, ZONE, asset["id"], "approved", by="two")
    assert len(store.get(ZONE, "assets", asset["id"])["properties"]["history"]) == 1
    assert [record["by"] for record in store.private_history(ZONE, "assets", asset["id"]).values()] == ["one"]


# -- edit, hide and restore (mapper.moderation, shared by `mapper moderate` and the moderation page) ----------------


def test_edit_from_the_command_line_through_the_validator(client, moderate, data_dir):
    from mapper.moderation import PRIVATE_KEY
    from mapper.store.geojson_files import GeoJSONFileStore

    asset = contribute(client, "Parks Pantri", website="http://example.org", toilets=True)
    refused = moderate("edit", asset["id"], "--set", "website=ftp://example.org", "--approve")
    assert refused.exit_code == 2
    assert refused.output == "Error: 'website' must be an http:// or https:// address, got 'ftp://example.org'.\n"
    assert moderate("edit", asset["id"], "--set", "colour=red").output.startswith(
        "Error: 'colour' cannot be edited. Properties a moderator can edit: category, name,")
    assert moderate("edit", asset["id"], "--set", "name").output == (
        "Error: --set 'name': write PROPERTY=VALUE, for example name=\"Parks Pantry\".\n")
    assert public_names(client) == []

    done = moderate("edit", asset["properties"]["ref"], "--set", "name=Parks Pantry", "--set", "toilets=no",
                    "--set", "website=", "--reason", "Spelling", "--approve")
    assert done.exit_code == 0, done.output
    assert done.output == f"Corrected and published Parks Pantry ({ZONE}/{asset['id']}).\n"
    assert public_names(client) == ["Parks Pantry"]
    shown = client.get(f"/api/zones/{ZONE}/assets/{asset['id']}").get_json()["properties"]
    assert shown["toilets"] is False and "website" not in shown
    assert [(h["from"], h["to"], h.get("moderation")) for h in shown["history"]] == [
        ("pending", "pending", "edited"), ("pending", "published", None)]
    store = GeoJSONFileStore(data_dir)
    [entry] = store.get_private(ZONE, "assets", asset["id"])[PRIVATE_KEY]["edits"]
    assert entry["old"] == {"name": "Parks Pantri", "toilets": True, "website": "http://example.org"}
    assert (entry["by"], entry["reason"]) == ("cli", "Spelling")


def test_hide_and_restore_from_the_command_line_on_any_report(client, moderate, data_dir):
    from mapper.moderation import PLACEHOLDER

    response = client.post("/api/zones/bell-foundry/lights", json=point_feature(
        *INSIDE["bell-foundry"], category="out", description="Rude words", location_text="By no. 4"))
    report = response.get_json()
    ref = report["properties"]["ref"]
    hidden = moderate("hide", ref, "--field", "description", "--field", "location_text", "--reason", "Abuse")
    assert hidden.exit_code == 0, hidden.output
    assert hidden.output == f"Hid description, location_text of lights {ref} (bell-foundry/{report['id']}).\n"
    shown = client.get(f"/api/zones/bell-foundry/lights/{report['id']}").get_json()["properties"]
    assert shown["description"] == shown["location_text"] == PLACEHOLDER
    assert shown["history"][-1]["fields"] == ["description", "location_text"]

    assert moderate("hide", ref, "--field", "description").exit_code == 2  # --reason is required
    again = moderate("hide", ref, "--field", "description", "--reason", "x")
    assert again.exit_code == 2
    assert again.output == f"Error: 'description' of lights {report['id']} is hidden already.\n"
    wrong_zone = moderate("hide", ref, "--field", "description", "--reason", "x", "--zone", ZONE)
    assert wrong_zone.output == f"Error: No report or asset with the reference or id {ref!r} here.\n"

    restored = moderate("restore", ref, "--field", "location_text")
    assert restored.exit_code == 0, restored.output
    shown = client.get(f"/api/zones/bell-foundry/lights/{report['id']}").get_json()["properties"]
    assert (shown["description"], shown["location_text"]) == (PLACEHOLDER, "By no. 4")
    assert moderate("restore", ref).exit_code == 0  # the rest
    shown = client.get(f"/api/zones/bell-foundry/lights/{report['id']}").get_json()["properties"]
    assert shown["description"] == "Rude words"
    nothing = moderate("restore", ref)
    assert nothing.exit_code == 2 and nothing.output == f"Error: Nothing of lights {report['id']} is hidden.\n"


def test_two_moderators_at_once_lose_nothing(resources):
    """Hides of different fields from several threads: every one is applied, the private state holds every original,
    and each public record has its private who (the state is read inside the update, under the layer's lock)."""
    import threading

    from mapper.intake import submit
    from mapper.moderation import PLACEHOLDER, hide, moderation_state

    store, layer = resources.store, resources.schema.layer("assets")
    fields = {"name": "N", "description": "D", "address": "A", "opening_hours": "O", "location_text": "L"}
    asset = submit(point_feature(*INSIDE[ZONE], category="health", **fields), "assets", schema=resources.schema,
                   zones=resources.zones(), store=store)
    errors = []

    def moderator(name):
        try:
            hide(store, layer, ZONE, asset["id"], [name], by=f"m-{name}", reason="abuse")
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=moderator, args=(name,)) for name in fields]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    properties = store.get(ZONE, "assets", asset["id"])["properties"]
    assert all(properties[name] == PLACEHOLDER for name in fields)
    state = moderation_state(store, layer, ZONE, asset["id"])
    assert {name: entry["text"] for name, entry in state["hidden"].items()} == fields
    assert len(properties["history"]) == len(fields)
    who = store.private_history(ZONE, "assets", asset["id"])
    assert sorted(who[index]["by"] for index in range(len(fields))) == sorted(f"m-{name}" for name in fields)
    assert [who[index]["by"] for index in range(len(fields))] == [
        f"m-{record['fields'][0]}" for record in properties["history"]]


def test_a_change_landing_while_a_hide_waits_is_seen_not_lost(resources):
    """An officer's status change (another worker's store) is being written when a moderator hides text: the hide
    waits for the layer's lock, then reads the feature and its moderation state as the officer left them."""
    import threading

    from mapper import moderation
    from mapper.intake import submit
    from mapper.store.geojson_files import GeoJSONFileStore

    store, layer = resources.store, resources.schema.layer("assets")
    asset = submit(point_feature(*INSIDE[ZONE], category="health", name="Clinic", description="Rude"), "assets",
                   schema=resources.schema, zones=resources.zones(), store=store)
    officers_store = GeoJSONFileStore(store.root)
    real_update, holding, release = officers_store.update, threading.Event(), threading.Event()

    def update_holding_the_lock(zone, layer_name, feature_id, change, **options):
        def paused(properties):
            holding.set()
            release.wait(20)
            return change(properties)
        return real_update(zone, layer_name, feature_id, paused, **options)

    officers_store.update = update_holding_the_lock
    errors = []

    def run(function, *args, **options):
        try:
            function(*args, **options)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    officer = threading.Thread(target=run, args=(change_status, officers_store, layer, ZONE, asset["id"],
                                                 "published"), kwargs={"by": "officer"}, daemon=True)
    officer.start()
    assert holding.wait(20)
    moderator = threading.Thread(target=run, args=(moderation.hide, store, layer, ZONE, asset["id"], ["description"]),
                                 kwargs={"by": "mod", "reason": "abuse"}, daemon=True)
    moderator.start()  # it cannot take the lock before the officer's change is written, however the threads run
    release.set()
    for thread in (officer, moderator):
        thread.join(20)
        assert not thread.is_alive(), "a writer did not finish: a deadlock"
    assert errors == []
    properties = store.get(ZONE, "assets", asset["id"])["properties"]
    assert properties["status"] == "published" and properties["description"] == moderation.PLACEHOLDER
    assert [(h["from"], h["to"], h.get("moderation")) for h in properties["history"]] == [
        ("pending", "published", None), ("published", "published", "hidden")]
    assert [d["by"] for d in store.private_history(ZONE, "assets", asset["id"]).values()] == ["officer", "mod"]
    assert moderation.moderation_state(store, layer, ZONE, asset["id"])["hidden"]["description"]["text"] == "Rude"


@pytest.mark.parametrize("texts, expected", [
    ({"name": "  Hub "}, {"name": "  Hub "}),
    ({"name": "", "description": "   "}, {"name": None, "description": None}),
    ({"toilets": "Yes", "water": "no", "shelter": "", "welfare": "maybe"},
     {"toilets": True, "water": False, "shelter": None, "welfare": "maybe"}),
])
def test_values_from_text(resources, texts, expected):
    from mapper.moderation import values_from_text

    assert values_from_text(resources.schema.layer("assets"), texts) == expected
