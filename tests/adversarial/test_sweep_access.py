"""Keep it closed: access control across every route x identity x zone x method (issue #11, "Keep it closed").

Built on the classification of tests/web/test_access_control.py (every endpoint is public, staff with roles, or the
signed-in account's own), and generated from the app's URL map: every rule, every method it allows, in every zone
(two shipped zones and the hostile one), asked by nobody, by a forged token, and by an API token of every role for
every zone (officer, steering, probation of each zone; the administrator) and by a signed-in browser of each role.

An identity the table does not allow gets exactly 401 (nobody, forged) or 403 (signed in, wrong role or zone), and
its answer carries none of the world's secrets; an allowed identity gets past both; nothing ever answers 5xx.
"""

import pytest

from tests.adversarial.conftest import HOSTILE, OTHER, ZONE, fill, real_values, rules, signed_in
from tests.web.test_access_control import ACCOUNT_ROUTES, PUBLIC_ROUTES, STAFF_ROUTES

ZONES = (ZONE, OTHER, HOSTILE)
FORGED = "mpr_forged-token-that-was-never-issued"
RULES = rules()


def identities(world):
    """``(label, account name or None, bearer token or None)`` of every way to ask."""
    found = [("anonymous", None, None), ("forged token", None, FORGED)]
    for name, account in sorted(world.accounts.items()):
        found.append((f"{name} token", name, account["token"]))
    return found


def may(world, endpoint, account_name, zone):
    """Whether the table lets this account use this staff endpoint in ``zone``."""
    if account_name is None:
        return False
    account = world.accounts[account_name]
    roles = STAFF_ROUTES[endpoint][3]
    return account["role"] in roles and (account["role"] == "admin" or zone in account["zones"])


def options_for(endpoint, method, values):
    """The request body the classification table uses for this endpoint (a realistic one), else none."""
    table = STAFF_ROUTES.get(endpoint) or ACCOUNT_ROUTES.get(endpoint) or PUBLIC_ROUTES.get(endpoint)
    if table is None or table[0] != method:
        return {}
    options = dict(table[2])
    if options.get("json") == "light":
        options["json"] = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.195, 52.77]},
                           "properties": {"category": "out"}}
    if isinstance(options.get("data"), dict):
        options["data"] = {key: value.format(id=values["feature_id"]) for key, value in options["data"].items()}
    return options


def secrets_in(world, body):
    return [name for name, text in world.secrets.items() if text in body]


def test_every_rule_is_classified():
    endpoints = {endpoint for _, endpoint, _ in RULES}
    classified = set(STAFF_ROUTES) | set(ACCOUNT_ROUTES) | set(PUBLIC_ROUTES)
    assert endpoints <= classified, f"classify in tests/web/test_access_control.py: {sorted(endpoints - classified)}"


@pytest.mark.parametrize("rule,endpoint,methods", RULES, ids=[f"{r[1]}:{r[0]}" for r in RULES])
def test_every_identity_in_every_zone(world, rule, endpoint, methods):
    client = world.client()
    wrong = []
    for zone in ZONES if "zone_id" in rule else (ZONE,):
        values = real_values(world, zone, rule)
        url = fill(rule, values)
        for method in methods:
            for label, account, token in identities(world):
                headers = {"Accept": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})}
                answer = client.open(url, method=method, headers=headers, **options_for(endpoint, method, values))
                status, body = answer.status_code, answer.get_data(as_text=True) if not answer.is_streamed else ""
                where = f"{method} {url} as {label}"
                if status >= 500:
                    wrong.append(f"{where}: {status}")
                elif endpoint in ACCOUNT_ROUTES:  # the account pages take a browser session, never a token
                    if status != 401:
                        wrong.append(f"{where}: {status}, not 401")
                elif endpoint in STAFF_ROUTES and not may(world, endpoint, account, zone):
                    expected = 401 if account is None else 403
                    if status != expected:
                        wrong.append(f"{where}: {status}, not {expected}")
                    if secrets_in(world, body):
                        wrong.append(f"{where}: refused, but tells {secrets_in(world, body)}")
                elif endpoint in STAFF_ROUTES and status in (401, 403):
                    wrong.append(f"{where}: {status}, though the table lets {label} in")
                elif endpoint in PUBLIC_ROUTES and token is None and status in (401, 403):
                    wrong.append(f"{where}: {status} on a public route")
    assert not wrong, "\n".join(wrong[:40])


def test_signed_in_browsers_of_every_role_see_only_their_pages(world):
    """Every GET rule, opened by a signed-in browser of each role of ZONE, of OTHER's officer and of the
    administrator: staff pages answer exactly their roles and zones, the account page everyone signed in."""
    names = [world.account(role, ZONE) for role in ("officer", "steering", "probation")]
    names += [world.account("officer", OTHER), "admin"]
    wrong = []
    for name in names:
        client, account = signed_in(world, name), world.accounts[name]
        for rule, endpoint, methods in RULES:
            if "GET" not in methods:
                continue
            for zone in (ZONE, OTHER) if "zone_id" in rule else (ZONE,):
                url = fill(rule, real_values(world, zone, rule))
                answer = client.get(url, headers={"Accept": "application/json"})
                status = answer.status_code
                where = f"GET {url} as {name} (signed in)"
                if status >= 500:
                    wrong.append(f"{where}: {status}")
                elif endpoint in STAFF_ROUTES:
                    allowed = account["role"] in STAFF_ROUTES[endpoint][3] and (account["role"] == "admin"
                                                                                or zone in account["zones"])
                    if allowed == (status in (401, 403)):
                        wrong.append(f"{where}: {status}, allowed={allowed}")
                elif endpoint in ACCOUNT_ROUTES and status != 200:
                    wrong.append(f"{where}: {status}")
    assert not wrong, "\n".join(wrong[:40])
