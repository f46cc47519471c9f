"""Keep it closed: no private field reaches any public URL (issue #11, "Keep it closed").

The hostile world plants a unique secret in every private field: residents' contact names, emails and phones (API
and report form), contributors' details of pending, rejected and edited assets, the pending and rejected assets' own
text, an edited asset's original text and the reason, officers' internal notes, moderation reasons, hidden text,
Community Payback sites (staff-only, whatever they say), and the names of the staff who acted.

Every GET rule of the URL map that anyone may call (tests/web/test_access_control.py's public routes) is filled with
every real value there is (every zone, every layer, every format of the export registry, every stored feature id
including the unpublished ones, every position of every ``.points``, every tracking reference as a page and as
``.json``, hotspots and targets in every format, the walk page) and asked anonymously. No answer, unpacked (Shapefile
zips are opened), holds a secret.
"""

import gzip
import io
import json
import zipfile

import pytest

from mapper.export import ALIASES, FORMATS, collection_formats
from tests.adversarial.conftest import HOSTILE, OTHER, ZONE, fill, real_values, rules
from tests.web.test_access_control import PUBLIC_ROUTES

ZONES = (ZONE, OTHER, HOSTILE, "thringstone-whitwick")
PUBLIC_GETS = [(rule, endpoint) for rule, endpoint, methods in rules()
               if endpoint in PUBLIC_ROUTES and "GET" in methods]
STAFF_WHO_ACTED = ("officer-bell-foundry", "probation-bell-foundry")


def stored_features(world):
    """``(zone, layer, properties)`` of every feature in every layer file, whatever its status."""
    found = []
    for path in sorted(world.data_dir.glob("*/*.geojson")):
        if path.parent.name.startswith("_"):
            continue
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip().rstrip(",")
            if line.startswith('{"type":"Feature"') or line.startswith('{"type": "Feature"'):
                found.append((path.parent.name, path.stem, json.loads(line)["properties"]))
    return found


def layers(world):
    return [layer.name for layer in world.app.extensions["mapper"].schema]


def urls_for(world, rule, endpoint):
    """Every URL of this rule worth asking, with real values."""
    features = stored_features(world)
    urls = []
    for zone in ZONES if "<zone_id>" in rule else (ZONE,):
        base = real_values(world, zone, rule)
        choices = [{}]
        if "<layer_name>" in rule:
            choices = [{"layer_name": layer} for layer in layers(world)]
        if "<extension>" in rule:
            extensions = (list(FORMATS) + list(ALIASES) if endpoint == "api.layer_download"
                          else [output.extension for output in collection_formats()])
            choices = [{**choice, "extension": extension} for choice in choices for extension in extensions]
        if "<feature_id>" in rule:
            choices = [{**choice, "feature_id": properties["id"]} for choice in choices
                       for z, layer, properties in features
                       if z == zone and layer == choice.get("layer_name", layer)]
        if "<ref>" in rule:
            refs = [properties["ref"] for z, _, properties in features if z == zone and properties.get("ref")]
            choices = [{"ref": ref} for ref in refs] + [{"ref": f"{ref}.json"} for ref in refs]
        if "<walk_id>" in rule:
            choices = [{"walk_id": properties["id"]} for z, layer, properties in features
                       if z == zone and layer == "audits"] or [{}]
        if "<index>" in rule:
            choices = positions(world, zone)
        urls += [fill(rule, {**base, **choice}) for choice in choices]
    return list(dict.fromkeys(urls))


def positions(world, zone):
    """``{"layer_name", "index"}`` of every feature of every layer's ``.points`` in ``zone`` (URLs carry the
    version, added in :func:`with_version`)."""
    client, found = world.client(), []
    for layer in layers(world):
        answer = client.get(f"/api/zones/{zone}/{layer}.points")
        if answer.status_code == 200:
            body = answer.get_json()
            found += [{"layer_name": layer, "index": index, "version": body["version"]}
                      for index in range(body["count"])]
    return found


def body_text(answer):
    """Everything an answer says: JSON, HTML, CSV, KML, GPX, GeoPackage bytes, the files of a zip, gunzipped."""
    data = answer.get_data()
    if answer.headers.get("Content-Encoding") == "gzip":
        data = gzip.decompress(data)
    if data[:4] == b"PK\x03\x04":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            data = b"".join(archive.read(name) for name in archive.namelist())
    return data.decode("utf-8", errors="replace") + data.decode("latin-1")


def planted(world):
    found = dict(world.secrets)
    found["contact_phone_digits"] = world.secrets["contact_phone"].replace(" ", "")[1:]
    found.update({f"staff name {name}": name for name in STAFF_WHO_ACTED})
    return found


@pytest.mark.parametrize("rule,endpoint", PUBLIC_GETS, ids=[f"{e}:{r}" for r, e in PUBLIC_GETS])
def test_no_public_url_tells_a_secret(world, rule, endpoint):
    client, secrets, wrong, asked = world.client(), planted(world), [], 0
    urls = urls_for(world, rule, endpoint)
    if "<index>" in rule:
        urls = [f"{url}?version={choice['version']}"
                for zone in ZONES for choice in positions(world, zone)
                for url in [fill(rule, {**real_values(world, zone, rule), **choice})]]
    for url in urls:
        answer = client.get(url)
        asked += 1
        if answer.status_code >= 500:
            wrong.append(f"GET {url}: {answer.status_code}")
            continue
        text = body_text(answer)
        told = [name for name, secret in secrets.items() if secret in text]
        if told:
            wrong.append(f"GET {url} ({answer.status_code}) tells {told}")
    assert asked, rule
    assert not wrong, "\n".join(wrong[:40]) + f"\n({len(wrong)} of {asked})"


def test_the_secrets_are_stored_and_staff_can_see_them(world):
    """The sweep means something only if the secrets are really in the store, where staff see them."""
    client = world.client()
    officer = {"Authorization": f"Bearer {world.token('officer')}"}
    contact = world.features["contact"]
    private = client.get(f"/api/zones/{ZONE}/lights/{contact['id']}/private", headers=officer)
    assert world.secrets["contact_email"] in private.get_data(as_text=True)
    noted = client.get(f"/api/zones/{ZONE}/lights/{world.features['noted']['id']}/private", headers=officer)
    assert world.secrets["internal_note"] in noted.get_data(as_text=True)
    pending = client.get(f"/api/zones/{ZONE}/moderation", headers=officer).get_data(as_text=True)
    assert world.secrets["pending_name"] in pending and world.secrets["pending_contact"] in pending
    sites = client.get(f"/api/zones/{ZONE}/cp-sites", headers=officer).get_data(as_text=True)
    assert world.secrets["site_name"] in sites
    assert world.secrets["hidden_original"] in (world.data_dir / "_private").joinpath(
        ZONE, "lights.jsonl").read_text(encoding="utf-8")
