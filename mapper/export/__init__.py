"""One registry of output formats. A layer URL with ``.<extension>`` is answered by the writer registered here.

Writers take a :class:`~mapper.store.FeatureSet` and the layer's schema and return bytes (or an iterable of bytes);
they know nothing of Flask. Later formats (xlsx, gpkg, shp, kml) register the same way.
"""

from dataclasses import dataclass
from typing import Callable

from mapper.export import gpx, points, tabular


@dataclass(frozen=True)
class Format:
    extension: str
    mimetype: str
    write: Callable


def _geojson(features, layer):
    return features.to_geojson_bytes()


FORMATS = {
    "geojson": Format("geojson", "application/geo+json", _geojson),
    "csv": Format("csv", "text/csv; charset=utf-8", tabular.write_csv),
    "points": Format("points", "application/json", points.write_points),
    # Faults as waypoints (walks as tracks) for a walker's phone; mapper.importers.gpx reads it back.
    "gpx": Format("gpx", "application/gpx+xml", gpx.write_gpx),
}


def get_format(extension):
    from mapper.errors import NotFound

    try:
        return FORMATS[extension]
    except KeyError:
        raise NotFound(f"No format {extension!r}. Formats are: {', '.join(FORMATS)}.", field="format") from None
