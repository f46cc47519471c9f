"""Where a request came from: the proxy in front, HTTPS, and the Origin of cookie-authenticated writes.

- ``PROXY_HOPS`` > 0: Werkzeug's ProxyFix takes the client's address and scheme from the last that many
  ``X-Forwarded-For`` / ``X-Forwarded-Proto`` values (the ones our proxies appended; anything before them is the
  client's to invent). ``X-Forwarded-Host`` is not trusted: the proxy passes the ``Host`` header on
  (``proxy_set_header Host $host``; Caddy does by default), which ``TRUSTED_HOSTS`` can check, and the Origin check
  below compares against it. With 0 every ``X-Forwarded-*`` header is ignored.
- ``HTTPS``: the public reaches the site only over HTTPS, so every request is treated as HTTPS even where the proxy
  does not say so (links in emails and redirects are https, ``request.is_secure`` holds), and the session cookie is
  Secure. HSTS is sent by :mod:`mapper.web.security_headers` on the same setting.
- **Origin**: a write (any method but GET, HEAD, OPTIONS, TRACE) that carries the session cookie must come from this
  site: its ``Origin`` header, or its ``Referer`` when a browser sent no Origin, must be the request's own host URL
  or ``PUBLIC_URL``, else 403 and nothing is done. This is besides the CSRF token, not instead of it: a sibling site
  (another port or subdomain of the same site, whose requests carry SameSite=Lax cookies) that has learnt a token
  still cannot use it. ``Origin: null`` (a sandboxed frame, a ``no-referrer`` page) is refused. With neither header
  the request is not a browser's cross-site one (every browser we support sends Origin on a POST) and the token
  alone decides. Requests with a bearer token are not checked: the cookie gives them nothing, and a cross-site page
  cannot send that header. Nor are requests without the cookie, such as an anonymous ``POST /api/reports``: without
  a cookie it carries no one's authority to misuse, and a cross-site page cannot send its JSON without a CORS
  preflight that this site never answers. A view whose authority is a secret in its URL, not the cookie, is
  :func:`exempt` (the password-reset link's page: it sends no Referrer, so browsers post its form with
  ``Origin: null``, and whoever holds the link can use it from anywhere anyway).
"""

from urllib.parse import urlsplit

from flask import current_app, request
from werkzeug.middleware.proxy_fix import ProxyFix

from mapper.errors import MapperError

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")
DEFAULT_PORTS = {"http": 80, "https": 443}


class CrossOriginWrite(MapperError):
    status = 403
    code = "cross_origin"


def init_app(app):
    if app.config["HTTPS"]:
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, PREFERRED_URL_SCHEME="https")
        app.wsgi_app = served_over_https(app.wsgi_app)
    hops = app.config["PROXY_HOPS"]
    if hops:  # outermost: the forwarded address and scheme are set before anything reads them
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0)
    app.before_request(check_origin)


def exempt(view):
    """Mark a view whose writes the session cookie does not authorise (see the module doc)."""
    view.origin_exempt = True
    return view


def served_over_https(wsgi_app):
    def app(environ, start_response):
        environ["wsgi.url_scheme"] = "https"
        return wsgi_app(environ, start_response)

    return app


def origin_of(url):
    """``scheme://host[:port]`` of a URL, lower-cased and without a default port; None for ``null`` or nonsense.

    >>> origin_of("HTTPS://Zones.Example.gov.uk:443/report?x=1")
    'https://zones.example.gov.uk'
    >>> origin_of("http://[::1]:5000"), origin_of("null")
    ('http://[::1]:5000', None)
    """
    try:
        parts = urlsplit(str(url).strip())
        port = parts.port
    except ValueError:
        return None
    scheme, host = parts.scheme.lower(), parts.hostname
    if scheme not in DEFAULT_PORTS or not host:
        return None
    host = f"[{host}]" if ":" in host else host
    return f"{scheme}://{host}" + (f":{port}" if port not in (None, DEFAULT_PORTS[scheme]) else "")


def allowed_origins():
    allowed = {origin_of(request.host_url)}
    if current_app.config.get("PUBLIC_URL"):
        allowed.add(origin_of(current_app.config["PUBLIC_URL"]))
    return allowed - {None}


def check_origin():
    """The ``before_request`` of the whole app (see the module doc)."""
    if request.method in SAFE_METHODS or current_app.config["SESSION_COOKIE_NAME"] not in request.cookies:
        return
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return
    if getattr(current_app.view_functions.get(request.endpoint), "origin_exempt", False):
        return
    sender = request.headers.get("Origin")
    if sender is None:
        sender = request.headers.get("Referer")
        if not sender:
            return
    if origin_of(sender) not in allowed_origins():
        raise CrossOriginWrite(f"This request came from another site ({sender[:100]}), so it was refused. If you "
                               "sent it from a page of this site, reload the page and try again.", field="origin")
