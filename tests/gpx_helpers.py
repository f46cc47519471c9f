"""GPX files for the audit-walk tests: the real recordings in tests/data/gpx/, moved into a zone, and hostile XML.

The recordings were made in Slovenia, Croatia, Germany and London. :func:`shifted_into` translates every ``lat``/``lon``
attribute by one fixed offset that puts the file's first point on a zone's centre, so a walk keeps its shape and
lands (mostly) inside the zone.
"""

import re
from pathlib import Path

from mapper.config import SHIPPED_DATA_DIR
from mapper.zones import load_zones

GPX_DIR = Path(__file__).parent / "data" / "gpx"
ZONE = "thringstone-whitwick"
POSITION = re.compile(rb'\b(lat|lon)="([-+0-9.eE]+)"')
FIRST_POSITION = re.compile(rb'lat="([-+0-9.eE]+)"\s+lon="([-+0-9.eE]+)"|lon="([-+0-9.eE]+)"\s+lat="([-+0-9.eE]+)"')


def gpx_bytes(name):
    return (GPX_DIR / name).read_bytes()


def zone(zone_id=ZONE):
    return load_zones(SHIPPED_DATA_DIR / "zones.geojson").get(zone_id)


def shifted_into(name, zone_id=ZONE, data=None):
    """The file's bytes with every position moved by the offset that puts its first point on the zone's centre."""
    data = gpx_bytes(name) if data is None else data
    first = FIRST_POSITION.search(data)
    lat, lon = (first.group(1), first.group(2)) if first.group(1) else (first.group(4), first.group(3))
    centre_lat, centre_lon = zone(zone_id).centre
    offset = {b"lat": centre_lat - float(lat), b"lon": centre_lon - float(lon)}

    def move(match):
        return match.group(1) + b'="' + f"{float(match.group(2)) + offset[match.group(1)]:.9f}".encode() + b'"'

    return POSITION.sub(move, data)


def waypoint_file(*waypoints, track=None):
    """A small GPX 1.1 file: ``waypoints`` are (lon, lat, name, extra XML) and ``track`` a list of (lon, lat)."""
    parts = ['<?xml version="1.0" encoding="UTF-8"?>\n<gpx version="1.1" creator="test" '
             'xmlns="http://www.topografix.com/GPX/1/1">']
    for lon, lat, name, extra in waypoints:
        parts.append(f'<wpt lat="{lat}" lon="{lon}"><name>{name}</name>{extra}</wpt>')
    if track:
        parts.append("<trk><trkseg>" + "".join(f'<trkpt lat="{lat}" lon="{lon}"/>' for lon, lat in track)
                     + "</trkseg></trk>")
    parts.append("</gpx>")
    return "\n".join(parts).encode("utf-8")


BILLION_LAUGHS = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
                  + b"".join(b' <!ENTITY lol%d "%s">\n' % (n, b"".join(b"&lol%s;" % (b"" if n == 1 else b"%d" % (n - 1))
                                                                     for _ in range(10))) for n in range(1, 10))
                  + b']>\n<gpx version="1.1"><metadata><name>&lol9;</name></metadata></gpx>\n')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?>\n<!DOCTYPE gpx [<!ENTITY secret SYSTEM "file:///etc/passwd">]>\n'
                   b'<gpx version="1.1"><wpt lat="52.74" lon="-1.35"><name>&secret;</name></wpt></gpx>\n')
EXTERNAL_DTD = b'<?xml version="1.0"?>\n<!DOCTYPE gpx SYSTEM "http://example.invalid/gpx.dtd">\n<gpx version="1.1"/>\n'
NOT_GPX = (b'<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
           b'<Placemark><Point><coordinates>-1.35,52.74</coordinates></Point></Placemark></Document></kml>\n')
BINARY_JUNK = bytes(range(256)) * 64
OVERSIZED = b'<gpx version="1.1">' + b" " * (5 * 1024 * 1024) + b"</gpx>"
