"""Configuration defaults and environment overrides.

``create_app(config)`` starts from ``defaults()``, applies ``MAPPER_*`` environment variables, then the mapping it is
given, so tests inject a temporary data directory without touching the environment.
"""

import os
import re
from html.parser import HTMLParser
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SHIPPED_DATA_DIR = PROJECT_DIR / "data"


def switch(variable):
    """A converter for an on/off variable that refuses anything else (a typo must not leave HTTPS off unnoticed)."""
    def convert(text):
        value = text.strip().lower()
        if value not in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            raise ValueError(f"{variable} must be true or false (1/0, yes/no, on/off), not {text!r}")
        return value in ("1", "true", "yes", "on")
    return convert


def hop_count(text):
    if not text.strip().isdigit():
        raise ValueError(f"MAPPER_PROXY_HOPS must be the number of proxies in front (0 or more), not {text!r}")
    return int(text)


# (environment variable, config key, converter)
ENVIRONMENT = [
    ("MAPPER_DATA_DIR", "DATA_DIR", Path),
    ("MAPPER_ZONES_FILE", "ZONES_FILE", Path),
    ("MAPPER_ASSETS", "ASSETS", str),
    ("MAPPER_TILES_URL", "TILES_URL", str),
    ("MAPPER_TILES_ATTRIBUTION", "TILES_ATTRIBUTION", str),
    ("MAPPER_SECRET_KEY", "SECRET_KEY", str),
    ("MAPPER_SMTP_HOST", "SMTP_HOST", str),
    ("MAPPER_SMTP_PORT", "SMTP_PORT", int),
    ("MAPPER_SMTP_USER", "SMTP_USER", str),
    ("MAPPER_SMTP_PASSWORD", "SMTP_PASSWORD", str),
    ("MAPPER_SMTP_STARTTLS", "SMTP_STARTTLS", lambda text: text.strip().lower() in ("1", "true", "yes", "on")),
    ("MAPPER_SMTP_FROM", "SMTP_FROM", str),
    ("MAPPER_SMTP_TIMEOUT", "SMTP_TIMEOUT", float),
    ("MAPPER_PUBLIC_URL", "PUBLIC_URL", str),
    ("MAPPER_HTTPS", "HTTPS", switch("MAPPER_HTTPS")),
    ("MAPPER_PROXY_HOPS", "PROXY_HOPS", hop_count),
    ("MAPPER_SERVE_CHANNEL_TIMEOUT", "SERVE_CHANNEL_TIMEOUT", int),
    ("MAPPER_SERVE_HEADER_TIMEOUT", "SERVE_HEADER_TIMEOUT", float),
    ("MAPPER_SERVE_MAX_HEADER_BYTES", "SERVE_MAX_HEADER_BYTES", int),
    ("MAPPER_SERVE_MAX_LINE_BYTES", "SERVE_MAX_LINE_BYTES", int),
    ("MAPPER_RATELIMIT_STORAGE", "RATELIMIT_STORAGE_URI", str),
    ("MAPPER_RATELIMIT_PUBLIC_POSTS", "RATELIMIT_PUBLIC_POSTS", str),
    ("MAPPER_RATELIMIT_ZONE_POSTS", "RATELIMIT_ZONE_POSTS", str),
    ("MAPPER_RATELIMIT_CONFIRMATIONS", "RATELIMIT_CONFIRMATIONS", str),
    ("MAPPER_RATELIMIT_CONFIRMATIONS_PER_REPORT", "RATELIMIT_CONFIRMATIONS_PER_REPORT", str),
    ("MAPPER_RATELIMIT_PHOTOS", "RATELIMIT_PHOTOS", str),
    ("MAPPER_RATELIMIT_ANALYSIS", "RATELIMIT_ANALYSIS", str),
    ("MAPPER_ANALYSIS_PUBLIC_MAX_CELLS", "ANALYSIS_PUBLIC_MAX_CELLS", int),
    ("MAPPER_ANALYSIS_STAFF_MAX_CELLS", "ANALYSIS_STAFF_MAX_CELLS", int),
    ("MAPPER_ANALYSIS_CONCURRENCY", "ANALYSIS_CONCURRENCY", int),
    ("MAPPER_ANALYSIS_CACHE_MB", "ANALYSIS_CACHE_MB", int),
]


def defaults():
    return {
        # The layer store: <DATA_DIR>/<zone id>/<layer>.geojson
        "DATA_DIR": Path("geojson"),
        # The zone registry; None means <DATA_DIR>/zones.geojson, seeded from data/zones.geojson.
        "ZONES_FILE": None,
        "SHIPPED_ZONES_FILE": SHIPPED_DATA_DIR / "zones.geojson",
        "LAYERS_FILE": SHIPPED_DATA_DIR / "layers.toml",
        # Largest request body (a 10 MB photo and the form around it); `mapper serve` refuses larger before reading it.
        # Here, not a setdefault in create_app: Flask's own config already holds MAX_CONTENT_LENGTH = None.
        "MAX_CONTENT_LENGTH": 12 * 1024 * 1024,
        # Largest JSON body the API reads; larger gets 413 before parsing.
        "MAX_JSON_BYTES": 64 * 1024,
        # Leaflet and plugins: "local" serves node_modules/ (npm ci), "cdn" uses unpkg.
        "ASSETS": "local",
        "VENDOR_DIR": PROJECT_DIR / "node_modules",
        "TILES_URL": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        "TILES_ATTRIBUTION": '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        "SECRET_KEY": None,
        "COMPRESS_MIMETYPES": [
            "text/html", "text/css", "text/csv", "application/json", "application/geo+json",
            "application/javascript", "text/javascript",
        ],
        "COMPRESS_MIN_SIZE": 1024,
        "COMPRESS_ALGORITHM": ["gzip"],
        "COMPRESS_ALGORITHM_STREAMING": ["gzip"],  # vendor JS/CSS are sent as files: gzip them too
        "COMPRESS_LEVEL": 5,
        # Emails to residents when their report changes status (mapper/notify.py). No SMTP_HOST: nothing is sent.
        "SMTP_HOST": None,
        "SMTP_PORT": 587,
        "SMTP_USER": None,
        "SMTP_PASSWORD": None,
        "SMTP_STARTTLS": True,
        "SMTP_FROM": None,
        "SMTP_TIMEOUT": 10.0,
        # The site's public address for links in emails (https://...); None: the request's host URL.
        "PUBLIC_URL": None,
        # The public reaches the site over HTTPS (a TLS proxy in front): Secure cookies, https links, HSTS.
        "HTTPS": False,
        # How many proxies in front append X-Forwarded-For/-Proto; 0: those headers are the client's and ignored.
        "PROXY_HOPS": 0,
        # `mapper serve` (mapper/serving.py): waitress's limits, so one slow or endless connection cannot pin it.
        "SERVE_CHANNEL_TIMEOUT": 30,  # seconds a connection may stay idle
        "SERVE_HEADER_TIMEOUT": 20.0,  # seconds for a request's line and headers to arrive, however slowly
        "SERVE_MAX_HEADER_BYTES": 64 * 1024,  # request line and headers together (431 above)
        "SERVE_MAX_LINE_BYTES": 4096,  # a chunk-size line of a chunked body (400 above)
        # Rate limits (mapper/web/limits.py), counted in RATELIMIT_STORAGE_URI: memory:// is one process's count;
        # give every worker and host the same redis://host:6379 to share one (pip install 'mapper[redis]').
        "RATELIMIT_STORAGE_URI": "memory://",
        # Per address, across the API POSTs, the report form and reopening. A resident sends a few reports a day;
        # an audit walk group sharing one phone or one community-centre connection about 30 in an hour (one every
        # two minutes): 10 a minute and 60 an hour leave them room and cut a script off after 10.
        "RATELIMIT_PUBLIC_POSTS": "10 per minute; 60 per hour",
        # Per zone, from every address: a busy evening of audit walks in a ward is ~100 reports an hour.
        "RATELIMIT_ZONE_POSTS": "300 per hour",
        # "Me too" per address, and per address and report (a household on one connection is a few people).
        "RATELIMIT_CONFIRMATIONS": "10 per minute; 60 per hour",
        "RATELIMIT_CONFIRMATIONS_PER_REPORT": "5 per day",
        # Reports with a photo per address: each is a decode of up to a phone camera's pixels.
        "RATELIMIT_PHOTOS": "6 per minute; 30 per hour",
        # Anonymous hotspot/target requests per address (signed-in staff are exempt): the analysts' page makes
        # three per submit (the page, its map's grid and its target areas), repeats are served from the cache.
        "RATELIMIT_ANALYSIS": "30 per minute; 300 per hour",
        # Grid cells an analysis may cover (rows x columns over the zone; time and answer size grow with them, the
        # band hardly: it is convolved by FFT). 10,000 lets anyone use 50 m cells in every shipped zone (26 m in
        # Bell Foundry), ~0.5 s and ~3 MB at most; officers and administrators of the zone may ask for 10 m cells
        # (158,000 cells in Thringstone & Whitwick, several seconds and ~30 MB).
        "ANALYSIS_PUBLIC_MAX_CELLS": 10_000,
        "ANALYSIS_STAFF_MAX_CELLS": 250_000,
        # Analyses computed at once in one process (as many more may wait ANALYSIS_WAIT_SECONDS; the rest hear 503
        # + Retry-After), so expensive requests never hold every core or every server thread; answers are kept by
        # layer revision and parameters.
        "ANALYSIS_CONCURRENCY": 1,
        "ANALYSIS_WAIT_SECONDS": 2.0,
        "ANALYSIS_CACHE_ENTRIES": 64,
        "ANALYSIS_CACHE_MB": 128,
    }


def load(overrides=None, environ=None):
    """Return the config dict: defaults, then environment, then ``overrides``."""
    environ = os.environ if environ is None else environ
    config = defaults()
    for variable, key, convert in ENVIRONMENT:
        if environ.get(variable):
            config[key] = convert(environ[variable])
    config.update(overrides or {})
    config["DATA_DIR"] = Path(config["DATA_DIR"])
    if config["ZONES_FILE"] is None:
        config["ZONES_FILE"] = config["DATA_DIR"] / "zones.geojson"
    if config["ASSETS"] not in ("local", "cdn"):
        raise ValueError(f"MAPPER_ASSETS must be 'local' or 'cdn', not {config['ASSETS']!r}")
    if type(config["PROXY_HOPS"]) is not int or config["PROXY_HOPS"] < 0:
        raise ValueError(f"MAPPER_PROXY_HOPS must be the number of proxies in front (0 or more), not "
                         f"{config['PROXY_HOPS']!r}")
    check_attribution(config["TILES_ATTRIBUTION"])
    return config


class _AttributionParser(HTMLParser):
    """Refuses any markup but text, character references and ``<a href="http(s)://...">`` links."""

    def handle_starttag(self, tag, attrs):
        if tag != "a" or [name for name, _ in attrs] != ["href"] or not re.match(r"https?://", attrs[0][1] or ""):
            raise ValueError(f"<{tag} {' '.join(name for name, _ in attrs)}>")

    def handle_endtag(self, tag):
        if tag != "a":
            raise ValueError(f"</{tag}>")

    def handle_data(self, data):
        if "<" in data:  # an unfinished tag, which a browser could join to the markup Leaflet puts after it
            raise ValueError("'<' (write &lt;)")

    def handle_startendtag(self, tag, attrs):
        raise ValueError(f"<{tag}/>")

    def handle_comment(self, data):
        raise ValueError("a comment")

    def handle_decl(self, decl):
        raise ValueError("a declaration")

    def handle_pi(self, data):
        raise ValueError("a processing instruction")


def check_attribution(html):
    """The tiles' attribution is HTML (a link to their licence) that every map page gives Leaflet, which puts it in
    with innerHTML: only text and plain http(s) links are taken, so a setting can never carry a script."""
    if not isinstance(html, str) or not html.strip():
        raise ValueError(f"MAPPER_TILES_ATTRIBUTION must be non-empty text, not {html!r}")
    parser = _AttributionParser(convert_charrefs=False)  # so that a '<' in the text is seen as written
    try:
        parser.feed(html)
        parser.close()
    except ValueError as error:
        raise ValueError(f"MAPPER_TILES_ATTRIBUTION may hold text and <a href=\"https://...\"> links only, not "
                         f"{error} in {html!r}") from None
