"""GeoJSON files: a FeatureCollection, or a single Feature, in RFC 7946 lon/lat."""

from mapper.errors import MalformedInput
from mapper.importers import read_text
from mapper.validate import parse_json

UNIT = "feature"  # what the numbers read_features yields count

# Names that old-style GeoJSON ("crs" member) uses for plain lon/lat.
LON_LAT_CRS = {"urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "EPSG:4326",
               "urn:ogc:def:crs:EPSG::4326"}


def read_features(path, layer=None):
    """Iterate ``(feature number, raw Feature)``; the first feature is number 1. ``layer`` is not needed: JSON
    carries its own types.

    The file is parsed as strictly as an API body (the same :func:`mapper.validate.parse_json`), so NaN, Infinity
    and bad UTF-8 are refused here as they are there. Each feature is left for the validator to judge.
    """
    try:
        document = parse_json(read_text(path))
    except MalformedInput as error:
        raise MalformedInput(f"{path}: {error.message.replace('The body', 'the file')}") from None
    if isinstance(document, dict) and document.get("type") == "Feature":
        features = [document]
    elif isinstance(document, dict) and document.get("type") == "FeatureCollection":
        check_crs(document, path)
        features = document.get("features")
        if not isinstance(features, list):
            raise MalformedInput(f"{path}: the FeatureCollection's 'features' is not a list.")
    else:
        kind = document.get("type") if isinstance(document, dict) else type(document).__name__
        raise MalformedInput(f"{path}: expected a GeoJSON FeatureCollection or Feature, got {kind!r}.")
    return enumerate(features, start=1)


def check_crs(document, path):
    """Refuse a collection that declares a CRS other than lon/lat, rather than storing points in the wrong place."""
    crs = document.get("crs")
    if crs is None:
        return
    name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
    if name not in LON_LAT_CRS:
        raise MalformedInput(f"{path}: the file declares the CRS {name!r}; convert it to lon/lat (EPSG:4326) first, "
                             "or export it as CSV with easting/northing columns.")
