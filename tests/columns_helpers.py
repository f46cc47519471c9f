"""Real lamp-column and asset inventories (tests/data/columns/, OGL v3) moved into a People Zone.

None of the real registers lies in Leicestershire, so the tests translate them in British National Grid by whole
metres: the columns keep their real spacing, duplicates and ids, and land in the zone under test.
"""

import csv
import json
from pathlib import Path

import numpy as np

from mapper.config import SHIPPED_DATA_DIR
from mapper.crs import from_british_national_grid, to_british_national_grid
from mapper.zones import load_zones

FIXTURES = Path(__file__).parent / "data" / "columns"
BRISTOL = FIXTURES / "bristol_streetlights_lonlat.csv"  # 49,451 lights, no ids, 288 duplicate positions
GRIT_BINS = FIXTURES / "banes_grit_bins.geojson"  # feature_id: 18 null, 380 on two identical rows, 235 on two bins
TRAFFORD = FIXTURES / "trafford_cctv_cameras.csv"  # integer ids in camera_id
ZONE = "bell-foundry"


def zone_centre(zone_id=ZONE):
    zone = load_zones(SHIPPED_DATA_DIR / "zones.geojson").get(zone_id)
    point = zone.boundary.representative_point()
    return [float(v) for v in to_british_national_grid(point.x, point.y)]


def offset_to(zone_id, easting, northing):
    """Whole metres that move (easting, northing) onto a point inside the zone."""
    centre_easting, centre_northing = zone_centre(zone_id)
    return round(centre_easting - easting), round(centre_northing - northing)


def bristol_shifted_csv(target, zone_id=ZONE):
    """Bristol's lights as an easting/northing CSV, moved so that the city's median point is inside the zone.
    Returns (path, easting array, northing array) of every row, shifted, in file order."""
    with open(BRISTOL, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    easting, northing = to_british_national_grid([float(r["longitude"]) for r in rows],
                                                 [float(r["latitude"]) for r in rows])
    dx, dy = offset_to(zone_id, float(np.median(easting)), float(np.median(northing)))
    easting, northing = easting + dx, northing + dy
    with open(target, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["easting", "northing"])
        writer.writerows([f"{x:.3f}", f"{y:.3f}"] for x, y in zip(easting, northing))
    return target, easting, northing


def geojson_shifted(source, target, anchor, zone_id=ZONE):
    """A GeoJSON file moved so that feature number ``anchor`` (0-based) lands inside the zone; lon/lat kept."""
    document = json.loads(Path(source).read_text(encoding="utf-8"))
    points = [f["geometry"]["coordinates"] for f in document["features"]]
    easting, northing = to_british_national_grid([p[0] for p in points], [p[1] for p in points])
    dx, dy = offset_to(zone_id, easting[anchor], northing[anchor])
    lon, lat = from_british_national_grid(easting + dx, northing + dy)
    for feature, x, y in zip(document["features"], lon, lat):
        feature["geometry"]["coordinates"] = [round(float(x), 7), round(float(y), 7)]
    Path(target).write_text(json.dumps(document), encoding="utf-8")
    return target
