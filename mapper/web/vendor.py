"""Third-party browser libraries, served from ``node_modules/`` (filled by ``npm ci``) so that maps work offline.

Only the files listed in :data:`FILES` are served, so nothing else under ``node_modules`` (package sources, other
packages' files, anything reached with ``..``) is ever reachable. Versions come from ``package.json``, the one place
that pins them; with ``ASSETS = "cdn"`` the same versions are linked from unpkg instead.
"""

import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, current_app, send_from_directory, url_for

from mapper.config import PROJECT_DIR
from mapper.errors import NotFound

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

FILES = {
    "leaflet": {
        "dist/leaflet.js", "dist/leaflet.css",
        # leaflet.css points at these relative to itself
        "dist/images/layers.png", "dist/images/layers-2x.png", "dist/images/marker-icon.png",
        "dist/images/marker-icon-2x.png", "dist/images/marker-shadow.png",
    },
    # The UMD build bundles kdbush and defines window.Supercluster.
    "supercluster": {"dist/supercluster.min.js"},
    # The report page reads a photo's GPS position in the browser; the lite UMD build defines window.exifr.
    "exifr": {"dist/lite.umd.js"},
}
CDN = "https://unpkg.com"
ONE_WEEK = 7 * 24 * 3600


@lru_cache(maxsize=1)
def versions():
    """``{package: exact version}`` from package.json."""
    with open(PROJECT_DIR / "package.json", encoding="utf-8") as f:
        dependencies = json.load(f)["dependencies"]
    return {package: dependencies[package] for package in FILES}


@bp.app_template_global()
def vendor_url(package, path):
    """Where the page loads ``path`` of ``package`` from: this server, or unpkg when ``ASSETS`` is "cdn"."""
    if path not in FILES.get(package, ()):
        raise KeyError(f"{package}/{path} is not a served vendor file")
    version = versions()[package]
    if current_app.config["ASSETS"] == "cdn":
        return f"{CDN}/{package}@{version}/{path}"
    # The version in the query string makes a new release a new URL, so browsers may cache for a week.
    return url_for("vendor.file", package=package, path=path, v=version)


@bp.get("/<package>/<path:path>")
def file(package, path):
    if path not in FILES.get(package, ()):
        raise NotFound(f"No vendor file {package}/{path}.", field="path")
    directory = Path(current_app.config["VENDOR_DIR"]) / package
    if not (directory / path).is_file():
        raise NotFound(f"{package}/{path} is not installed: run `npm ci` in the project directory.", field="path")
    return send_from_directory(directory, path, max_age=ONE_WEEK)
