"""Serving the app with waitress, within limits that keep one connection from pinning the server.

``mapper serve`` calls :func:`make_server`. Waitress's defaults suit a trusted network, not the internet:

- a request body may be 1 GB, buffered whole to a temporary file before the app can say 413; we set the limit to the
  app's ``MAX_CONTENT_LENGTH`` plus a margin, so a larger ``Content-Length`` is refused on its header and a chunked
  body is cut as it passes the limit;
- waitress 3.0.2 (the newest release) keeps a chunk-size line, and a chunked body's trailer, until its CRLF comes and
  joins and searches it again on every read, so a line that never ends costs the square of its length (32 MB held a
  core for 52 s). :class:`BoundedChunkedReceiver` refuses the request with 400 once such a line passes
  ``SERVE_MAX_LINE_BYTES``;
- nothing bounds how long a request's headers may take, so headers dripped a byte at a time hold a connection (and
  one of waitress's 100) for ever. :class:`GuardedChannel` closes a connection whose request line and headers have not
  all arrived ``SERVE_HEADER_TIMEOUT`` seconds after their first byte (nginx's ``client_header_timeout``); an idle
  connection is closed after ``SERVE_CHANNEL_TIMEOUT`` seconds.

Waitress reads a whole body before the app sees the request, so it cannot leave the size to the route. The one route
that takes more than ``MAX_CONTENT_LENGTH`` (officers' police.uk uploads) gets its larger limit here, and only for a
request whose headers carry a live sign-in or API token (:func:`staff_credentials`): anonymous bodies stay small.

A reverse proxy in front should be stricter still (README, "Running in production"). These classes go in through
waitress's own extension points (``channel_class``, ``parser_class``) and add checks after waitress's code runs, so
they stay right if a later waitress bounds these lines itself.
"""

import copy
import time

from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.receiver import ChunkedReceiver
from waitress.server import BaseWSGIServer, create_server
from waitress.utilities import BadRequest
from werkzeug.exceptions import HTTPException
from werkzeug.http import parse_cookie

# Above MAX_CONTENT_LENGTH, so a body just over the limit still gets the app's own JSON 413, and chunk framing
# (a size line and CRLF per chunk, counted by waitress) never pushes an allowed upload over.
BODY_MARGIN_BYTES = 1024 * 1024
# A body larger than this goes to a temporary file, not memory (waitress's default): 8 threads x 12 MB stay on disk.
INBUF_OVERFLOW_BYTES = 512 * 1024


def large_body_routes():
    """{endpoint: the largest body it reads} for the routes that raise ``request.max_content_length``."""
    from mapper.web.analysts import MAX_POLICE_FILE, MAX_POLICE_FILES

    return {"analysts.police_upload": MAX_POLICE_FILES * MAX_POLICE_FILE + 64 * 1024}  # as the route sets it


def adjustments(config, threads=8):
    """Waitress's settings for an app's ``config``: the limits above, from ``SERVE_*`` and ``MAX_CONTENT_LENGTH``.

    >>> settings = adjustments({"MAX_CONTENT_LENGTH": 12 * 2**20, "SERVE_MAX_HEADER_BYTES": 65536,
    ...                         "SERVE_CHANNEL_TIMEOUT": 30})
    >>> settings["max_request_body_size"], settings["channel_timeout"], settings["cleanup_interval"]
    (13631488, 30, 5)
    """
    channel_timeout = max(1, int(config["SERVE_CHANNEL_TIMEOUT"]))
    return {
        "threads": threads,
        "max_request_body_size": int(config["MAX_CONTENT_LENGTH"]) + BODY_MARGIN_BYTES,
        "max_request_header_size": int(config["SERVE_MAX_HEADER_BYTES"]),
        "inbuf_overflow": INBUF_OVERFLOW_BYTES,
        # Waitress drops X-Forwarded-* unless it trusts a proxy itself; behind PROXY_HOPS proxies the app's ProxyFix
        # (mapper.web.deployment) reads them, so they must reach it, or every resident shares the proxy's address.
        "clear_untrusted_proxy_headers": not config.get("PROXY_HOPS"),
        "channel_timeout": channel_timeout,
        # How often waitress looks for idle connections (default 30 s, which would double a short timeout).
        "cleanup_interval": max(1, min(5, channel_timeout)),
    }


def make_server(app, host="127.0.0.1", port=5000, threads=8):
    """A waitress server for ``app`` (a Flask app: its config holds the limits) with the guards of this module.

    Call ``run()`` on it; it returns on SystemExit or KeyboardInterrupt.
    """
    config = app.config
    server = create_server(app, host=host, port=port, **adjustments(config, threads))
    routes, signed_in, urls = large_body_routes(), staff_credentials(app), app.url_map.bind("localhost")

    def body_limit(method, path, headers):
        """The larger body limit of a route in ``routes`` for a signed-in request, else None."""
        try:
            endpoint, _ = urls.match(path, method=method)
            return routes[endpoint] if endpoint in routes and signed_in(headers) else None
        except HTTPException:  # no such route, or a redirect: the app will answer it
            return None
        except Exception:  # an unreadable account file: the small limit, and the app will say what is wrong
            return None

    channel = type("GuardedChannel", (GuardedChannel,), {
        "body_limit": staticmethod(body_limit),
        "header_timeout": float(config["SERVE_HEADER_TIMEOUT"]),
        "max_line_bytes": int(config["SERVE_MAX_LINE_BYTES"]),
        # A trailer is header lines: it gets the headers' bound.
        "max_trailer_bytes": int(config["SERVE_MAX_HEADER_BYTES"]),
    })
    # One server per address listened on: a MultiSocketServer (e.g. 'localhost' on IPv4 and IPv6) keeps them in .map.
    listeners = [server] if isinstance(server, BaseWSGIServer) else list(server.map.values())
    for listener in listeners:
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = channel
    return server


def staff_credentials(app):
    """A check of a request's headers (waitress's upper-case names) for an API token or a session cookie of a live
    sign-in: what the app itself would accept (mapper.web.auth), without a request context."""
    accounts, cookie_name = app.extensions["accounts"], app.config["SESSION_COOKIE_NAME"]
    serializer = app.session_interface.get_signing_serializer(app)
    max_age = int(app.permanent_session_lifetime.total_seconds())

    def signed_in(headers):
        scheme, _, token = headers.get("AUTHORIZATION", "").partition(" ")
        if scheme.lower() == "bearer" and token.strip():
            return accounts.for_token(token.strip()) is not None
        cookie = parse_cookie(headers.get("COOKIE", "")).get(cookie_name)
        if not cookie or serializer is None:
            return False
        try:
            session = serializer.loads(cookie, max_age=max_age)
        except Exception:  # a forged, expired or garbled cookie (itsdangerous raises several kinds)
            return False
        return isinstance(session, dict) and accounts.for_sign_in(session.get("_user_id")) is not None

    return signed_in


class BoundedChunkedReceiver(ChunkedReceiver):
    """Waitress's chunked-body reader, refusing a chunk-size line (with its extensions) or a trailer that grows past
    its bound while waiting for its end, before waitress's re-scans of it cost anything."""

    def __init__(self, buf, max_line_bytes, max_trailer_bytes):
        super().__init__(buf)
        self.max_line_bytes, self.max_trailer_bytes = max_line_bytes, max_trailer_bytes

    def received(self, data):
        consumed = super().received(data)
        # What waitress still holds waiting for a CRLF: a read is at most recv_bytes (8 KiB), so this stays small.
        if self.error is None and (len(self.control_line) > self.max_line_bytes
                                   or len(self.trailer) > self.max_trailer_bytes):
            self.error = BadRequest(f"A chunk-size line or trailer is longer than {self.max_line_bytes} bytes")
            self.all_chunks_received = True
            self.control_line = self.trailer = b""
        return consumed


class GuardedRequestParser(HTTPRequestParser):
    """Waitress's request parser, with the bounded chunked reader and the time its request started."""

    def __init__(self, adj, channel):
        super().__init__(adj)
        self.channel, self.started = channel, time.monotonic()

    def parse_header(self, header_plus):
        super().parse_header(header_plus)
        limit = self.channel.body_limit(self.command, self.path, self.headers)
        if limit is not None and limit > self.adj.max_request_body_size:
            # Waitress checks the body against self.adj once this returns: this request gets its own copy.
            self.adj = copy.copy(self.adj)
            self.adj.max_request_body_size = limit
        if self.chunked:
            self.body_rcv = BoundedChunkedReceiver(self.body_rcv.getbuf(), self.channel.max_line_bytes,
                                                   self.channel.max_trailer_bytes)


class GuardedChannel(HTTPChannel):
    """A waitress connection that parses with :class:`GuardedRequestParser` and is closed when a request's line and
    headers take longer than ``header_timeout`` seconds (slow loris). :func:`make_server` sets the bounds."""

    body_limit = staticmethod(lambda method, path, headers: None)
    header_timeout = 20.0
    max_line_bytes = 4096
    max_trailer_bytes = 65536

    def parser_class(self, adj):
        # Waitress calls self.parser_class(self.adj) for each new request: a method gives the parser our bounds.
        return GuardedRequestParser(adj, self)

    def readable(self):
        # The event loop asks this of every connection at least once a second (asyncore_loop_timeout), so a stalled
        # request is closed within about a second of its deadline, however slowly its bytes come.
        request = self.request
        if (request is not None and not request.headers_finished and not self.will_close
                and time.monotonic() - request.started > self.header_timeout):
            self.will_close = True  # writable() turns true, and waitress's handle_write closes the socket
        return super().readable()
