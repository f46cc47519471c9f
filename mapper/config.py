"""Configuration defaults and environment overrides.

``create_app(config)`` starts from ``defaults()``, applies ``MAPPER_*`` environment variables, then the mapping it is
given, so tests inject a temporary data directory without touching the environment.
"""

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
SHIPPED_DATA_DIR = PROJECT_DIR / "data"

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
]


def defaults():
    return {
        # The layer store: <DATA_DIR>/<zone id>/<layer>.geojson
        "DATA_DIR": Path("geojson"),
        # The zone registry; None means <DATA_DIR>/zones.geojson, seeded from data/zones.geojson.
        "ZONES_FILE": None,
        "SHIPPED_ZONES_FILE": SHIPPED_DATA_DIR / "zones.geojson",
        "LAYERS_FILE": SHIPPED_DATA_DIR / "layers.toml",
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
    return config
