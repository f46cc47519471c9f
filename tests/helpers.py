"""Builders shared by the tests: points inside each shipped zone and Features as a client sends them."""

# A point well inside each shipped zone (checked in tests/test_zones.py), as (lon, lat).
INSIDE = {
    "bell-foundry": (-1.1950, 52.7700),
    "new-parks": (-1.1855, 52.6404),
    "thringstone-whitwick": (-1.3550, 52.7450),
}
OUTSIDE = (-0.1276, 51.5072)  # London


def point_feature(lon, lat, **properties):
    """A GeoJSON Feature dict as a client would send it."""
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}


def light(zone="bell-foundry", category="out", **properties):
    lon, lat = INSIDE[zone]
    return point_feature(lon, lat, category=category, **properties)


def csrf_token(client, url="/login"):
    """The CSRF token in the form on ``url``: the session's, so it serves every form that client sends."""
    import re

    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


def sign_in_form(client, name, password, **options):
    """POST the sign-in form as a browser does (with the page's CSRF token); the response. ``options`` go to the
    test client (``headers``, ``environ_base``)."""
    return client.post("/login", data={"csrf_token": csrf_token(client), "name": name, "password": password},
                       **options)


def signed_in(app, name, password):
    """A browser-like client of ``app`` signed in as ``name``, and its CSRF token."""
    client = app.test_client()
    assert sign_in_form(client, name, password).status_code == 303
    return client, csrf_token(client)
