"""The security headers every answer carries: pages, the JSON API, errors, static and vendor files alike.

One ``after_request`` hook, set up once by :func:`init_app`, rather than Flask-Talisman: Talisman also forces HTTPS
redirects and cookie flags (which ``HTTPS`` / ProxyFix own here) and sets per-view differences through decorators on
each view, where this app has two (geolocation on the report form, a stricter Referrer-Policy on private pages).

- **Content-Security-Policy**: scripts only from this site (and unpkg when ``ASSETS = "cdn"``), never inline
  ones, except those carrying this request's nonce (:func:`csp_nonce`; the Folium zone map has one inline script).
  So an HTML-injection bug that slips past the templates' escaping and the textContent rule still runs nothing.
- ``X-Content-Type-Options: nosniff``, so an uploaded photo or a CSV is never run as a script or page.
- ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY`` (older browsers): no page can be framed (clickjacking).
- ``Referrer-Policy: strict-origin-when-cross-origin``: other sites see the origin only, never a path (report refs,
  reset tokens); OpenStreetMap's tile policy asks for a Referer, so "no-referrer" would risk the base map. A view
  that sets a stricter one (``no-referrer`` on pages whose URL holds a secret) keeps it.
- ``Cross-Origin-Opener-Policy: same-origin``: a page opened from another site gets no handle on ours.
- ``Permissions-Policy``: no camera, microphone, payment or USB anywhere (a photo is chosen with a file input,
  which needs no camera permission); geolocation only on the report form, which asks "use my location".
- ``Strict-Transport-Security`` (one year, subdomains) only when ``HTTPS`` is configured: over plain HTTP a
  browser ignores it, and sending it from a host not served over TLS would lock people out.
"""

import secrets
from urllib.parse import urlsplit

from flask import current_app, g, request

from mapper.web.vendor import CDN

ONE_YEAR = 365 * 24 * 3600
# Pages that may ask for the device's position: the report form (and its answer when a submission is refused).
GEOLOCATION_ENDPOINTS = {"report.report_page", "report.submit_report"}
DENIED_FEATURES = ("camera", "microphone", "payment", "usb")


def init_app(app):
    app.extensions["mapper.csp"] = policy_sources(app.config)  # the configuration is fixed once the app is made
    app.add_template_global(csp_nonce)
    app.after_request(add_security_headers)


def csp_nonce():
    """This request's nonce for an inline script (``<script nonce="{{ csp_nonce() }}">``); made on first use, so an
    answer with no inline script has no nonce in its policy either."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(18)
    return g.csp_nonce


def tiles_source(tiles_url):
    """The CSP source that lets the base map's tiles load: ``https://tile.openstreetmap.org`` for that XYZ template,
    ``https://*.tile.example.org`` for a ``{s}`` subdomain, nothing for tiles served by this site.

    >>> tiles_source("https://tile.openstreetmap.org/{z}/{x}/{y}.png")
    'https://tile.openstreetmap.org'
    >>> tiles_source("https://{s}.basemaps.example.com:8443/{z}/{x}/{y}.png")
    'https://*.basemaps.example.com:8443'
    >>> tiles_source("/tiles/{z}/{x}/{y}.png") is None
    True
    """
    parts = urlsplit(tiles_url)
    if not parts.netloc:
        return None
    host, _, port = parts.netloc.rpartition("@")[2].partition(":")
    labels = host.split(".")
    if "{" in labels[0]:  # {s}, {switch:a,b,c}...: any subdomain, which CSP allows only as the leftmost label
        labels[0] = "*"
    if any("{" in label for label in labels) or not parts.scheme:
        return f"{parts.scheme or 'https'}:"  # a placeholder elsewhere in the host: allow the scheme
    return f"{parts.scheme}://{'.'.join(labels)}{':' + port if port else ''}"


def policy_sources(config):
    """The policy's directives as ``{directive: [sources]}``; the nonce is added per request."""
    cdn = [CDN] if config.get("ASSETS") == "cdn" else []
    tiles = tiles_source(config["TILES_URL"])
    return {
        "default-src": ["'self'"],
        "script-src": ["'self'", *cdn],
        # 'unsafe-inline' for styles only: Leaflet and Folium write style attributes and <style> blocks into the page
        # (marker positions, the map's size), and a style cannot run script.
        "style-src": ["'self'", "'unsafe-inline'", *cdn],
        # data: and blob: for Leaflet's and the CSS's inline images and the report form's photo preview; the CDN
        # serves leaflet.css's marker and layer images in cdn mode.
        "img-src": ["'self'", "data:", "blob:", *([tiles] if tiles else []), *cdn],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }


def content_security_policy(sources, nonce=None):
    directives = dict(sources)
    if nonce:
        directives["script-src"] = [*directives["script-src"], f"'nonce-{nonce}'"]
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


def permissions_policy(endpoint):
    geolocation = "(self)" if endpoint in GEOLOCATION_ENDPOINTS else "()"
    return ", ".join([f"geolocation={geolocation}", *(f"{feature}=()" for feature in DENIED_FEATURES)])


def add_security_headers(response):
    headers = response.headers
    headers["Content-Security-Policy"] = content_security_policy(current_app.extensions["mapper.csp"],
                                                                 g.get("csp_nonce"))
    headers["X-Content-Type-Options"] = "nosniff"
    headers["X-Frame-Options"] = "DENY"
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")  # a view's stricter one stays
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = permissions_policy(request.endpoint)
    if current_app.config.get("HTTPS"):
        headers["Strict-Transport-Security"] = f"max-age={ONE_YEAR}; includeSubDomains"
    return response
