"""How the demo data in this folder was made; kept so that it can be re-made. Not used by ``mapper`` at run time.

    python data/demo/derive.py GP.csv WARD_EXTRACTS_DIR [--zones data/zones.geojson] [--out data/demo]

``GP.csv`` is the NHS Choices GP practices export (``¬``-separated, ISO-8859-1); ``WARD_EXTRACTS_DIR`` holds the
police.uk street-crime ward extracts named in ``EXTRACTS``. See README.md for sources and licences.
"""

import argparse
import collections
import csv
import json
import random
import re
from pathlib import Path

import shapely
from shapely.geometry import shape

EXTRACTS = {
    "bell-foundry": "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv",
    "new-parks": "new_parks_leicester_2023-01_to_2024-12.csv",
    "thringstone-whitwick": "thringstone_whitwick_2023-01_to_2024-12.csv",
}
STREET = re.compile(r"^On or near (.+ (Street|Road|Avenue|Lane|Close|Crescent|Drive|Way|Gardens|Place|Grove|Rise|"
                    r"Court|Gate|Hill|Green|Mews|View))$")
REPORTS = {  # lighting category -> what a resident might write
    "out": "Street light not working on {street}.",
    "dim": "Lamp on {street} is very dim; you can hardly see the pavement.",
    "flickering": "Light on {street} flickers on and off all evening.",
    "day-burning": "Street light on {street} stays on all day.",
    "damaged": "Column door hanging open with wiring showing on {street}.",
    "obscured": "Tree branches cover the lamp on {street}, the footpath underneath is dark.",
    "dark-spot": "No lighting on the path off {street}; feels unsafe after dark.",
}
REPORTS_PER_CATEGORY = 2
WELFARE = [  # synthetic welfare facilities (issue 7), so that the Community Payback page has something to plan with
    {"name": "Demo welfare point A (synthetic)", "toilets": True, "water": True, "shelter": True,
     "opening_hours": "Mo-Fr 08:00-18:00",
     "description": "Demo welfare facility (synthetic): a community building on {street} offering toilets, drinking "
                    "water and shelter to Community Payback teams in working hours."},
    {"name": "Demo welfare point B (synthetic)", "toilets": True, "water": True, "opening_hours": "24/7",
     "description": "Demo welfare facility (synthetic): public toilets with drinking water on {street}, open all "
                    "hours; no shelter."},
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("gp_csv", type=Path)
    parser.add_argument("ward_extracts", type=Path)
    parser.add_argument("--zones", type=Path, default=Path(__file__).parent.parent / "zones.geojson")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent)
    args = parser.parse_args()
    zones = {f["properties"]["id"]: shape(f["geometry"])
             for f in json.loads(args.zones.read_text(encoding="utf-8"))["features"]}
    practices = gp_practices(args.gp_csv)
    for zone_id, boundary in zones.items():
        lights, spare = lighting_reports(zone_id, args.ward_extracts / EXTRACTS[zone_id], boundary)
        assets = [f for f in practices if shapely.intersects_xy(boundary, *f["geometry"]["coordinates"])]
        assets += welfare_facilities(zone_id, spare)
        for layer, features in (("lights", lights), ("assets", assets)):
            write(args.out / zone_id / f"{layer}.geojson", layer, features)
            print(f"{zone_id}/{layer}: {len(features)}")


def gp_practices(path):
    """Every active GP practice of the export as an ``assets`` Feature in the ``health`` category."""
    with open(path, encoding="iso-8859-1", newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\xac"))
    features = []
    for row in rows:
        if row["OrganisationStatus"] != "Visible" or not row["Latitude"]:
            continue
        name = row["OrganisationName"]
        parts = (row["Address1"].removeprefix(f"{name}, "), row["Address2"], row["Address3"], row["City"],
                 row["Postcode"])
        address = ", ".join(part for part in parts if part and part != name)
        properties = {"category": "health", "name": name,
                      "description": "GP practice (NHS Choices list, 2019; check before visiting).",
                      "address": address, "phone": row["Phone"] or None, "website": row["Website"] or None}
        features.append(feature(float(row["Longitude"]), float(row["Latitude"]), properties))
    return features


def lighting_reports(zone_id, extract, boundary):
    """Synthetic reports at real street positions: police.uk's anonymised "On or near <street>" map points. Returns
    the reports and the busy streets no report was put on, with their positions (for the welfare facilities)."""
    with open(extract, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    counts = collections.Counter(row["Location"] for row in rows if STREET.match(row["Location"]))
    positions = {}
    for row in rows:
        name = row["Location"]
        point = (float(row["Longitude"]), float(row["Latitude"]))
        if name in counts and name not in positions and shapely.intersects_xy(boundary, *point):
            positions[name] = point
    busiest = [name for name, _ in counts.most_common(40) if name in positions]
    chosen = random.Random(zone_id).sample(busiest, len(REPORTS) * REPORTS_PER_CATEGORY)
    features = []
    for number, name in enumerate(chosen):
        category = list(REPORTS)[number % len(REPORTS)]
        street = re.sub(r"'S\b", "'s", STREET.match(name).group(1))  # police.uk writes "Queen'S Road"
        text = "Demo report (synthetic). " + REPORTS[category].format(street=street)
        features.append(feature(*positions[name], {"category": category, "description": text}))
    return features, [(name, positions[name]) for name in busiest if name not in chosen]


def welfare_facilities(zone_id, spare):
    """The synthetic welfare facilities, each on a busy street without a demo report (a fixed draw per zone)."""
    streets = random.Random(f"{zone_id} welfare").sample(spare, len(WELFARE))
    features = []
    for template, (name, position) in zip(WELFARE, streets):
        street = re.sub(r"'S\b", "'s", STREET.match(name).group(1))
        properties = {**template, "category": "welfare-facility", "welfare": True,
                      "description": template["description"].format(street=street), "location_text": street}
        features.append(feature(*position, properties))
    return features


def feature(lon, lat, properties):
    return {"type": "Feature", "geometry": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
            "properties": {key: value for key, value in properties.items() if value is not None}}


def write(path, layer, features):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ",\n".join(json.dumps(f, ensure_ascii=False) for f in features)
    path.write_text(f'{{"type":"FeatureCollection","name":"{layer}","features":[\n{lines}\n]}}\n', encoding="utf-8")


if __name__ == "__main__":
    main()
