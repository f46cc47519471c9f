"""police.uk import (mapper.importers.police_uk) on the real ward extracts and a raw sample, quirks included."""

import json
from collections import Counter
from pathlib import Path

import pytest

from mapper.errors import MalformedInput
from mapper.importers.police_uk import import_police, tidy_location

POLICE = Path(__file__).resolve().parent.parent / "data" / "police"
SAMPLE = POLICE / "2024-12-leicestershire-street-sample.csv"
# zone, file, rows, ASB rows, rows whose location is "On or near " with no street, most crimes on one point
EXTRACTS = [
    ("bell-foundry", "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv", 2494, 260, 7, 117),
    ("new-parks", "new_parks_leicester_2023-01_to_2024-12.csv", 6309, 595, 31, 396),
    ("thringstone-whitwick", "thringstone_whitwick_2023-01_to_2024-12.csv", 1657, 268, 26, 84),
]


def run(resources, paths, zone):
    return import_police(paths, zone, schema=resources.schema, zones=resources.zones(), store=resources.store)


def stored(resources, zone):
    return list(resources.store.query(zone, "crime"))


@pytest.mark.parametrize("zone, name, rows, asb, blank, stacked", EXTRACTS)
def test_every_ward_extract_imports_with_its_quirks(resources, zone, name, rows, asb, blank, stacked):
    report = run(resources, [POLICE / name], zone)
    assert (report.rows, report.added, sum(report.skipped.values())) == (rows, rows, 0)
    features = stored(resources, zone)
    assert len(features) == rows
    properties = [f["properties"] for f in features]
    # ASB has no Crime ID, yet every row keeps its own key, even identical rows on one snapped point.
    asb_rows = [p for p in properties if p["category"] == "anti-social-behaviour"]
    assert len(asb_rows) == asb and all("crime_id" not in p and "last_outcome" not in p for p in asb_rows)
    assert len({p["source_key"] for p in properties}) == rows
    assert all(p["source_key"] == p["crime_id"] for p in properties if p["category"] != "anti-social-behaviour")
    # "On or near " with no street is stored as no location text, not as a blank street.
    assert sum("location" not in p for p in properties) == blank
    assert not any("'S " in p.get("location", "") for p in properties)
    # Many crimes on one snapped point stay many features.
    points = Counter(tuple(f["geometry"]["coordinates"]) for f in features)
    assert points.most_common(1)[0][1] == stacked
    assert {p["status"] for p in properties} == {"recorded"} and all(len(p["month"]) == 7 for p in properties)
    assert {"month", "crime_type", "lsoa_code"} <= set(properties[0])


def test_odd_capitals_are_tidied_in_thringstone(resources):
    run(resources, [POLICE / EXTRACTS[2][1]], "thringstone-whitwick")
    locations = Counter(f["properties"].get("location") for f in stored(resources, "thringstone-whitwick"))
    assert locations["On or near Henson's Lane"] == 43 and locations["On or near Henson'S Lane"] == 0


def test_reimporting_adds_nothing(resources):
    path = POLICE / EXTRACTS[0][1]
    run(resources, [path], "bell-foundry")
    report = run(resources, [path, path], "bell-foundry")
    assert report.added == 0 and report.skipped == {"already imported": 2 * 2494}
    assert len(stored(resources, "bell-foundry")) == 2494


def test_raw_file_rows_are_skipped_with_reasons(resources):
    report = run(resources, [SAMPLE], "bell-foundry")
    assert report.rows == 17 and report.added == 8
    assert dict(report.skipped) == {"no location": 3, "outside the force area": 3, "outside the zone": 3}
    assert "skipped 9: no location 3, outside the force area 3, outside the zone 3" in report.summary()
    features = stored(resources, "bell-foundry")
    keys = sorted(f["properties"]["source_key"] for f in features if "crime_id" not in f["properties"])
    # Two identical ASB reports on one snapped point: occurrences 1 and 2.
    assert "2024-12|-1.202300,52.773449|On or near Sparrow Hill|anti-social-behaviour|2" in keys
    assert len(keys) == 4


def test_the_raw_sample_overlaps_the_extract(resources):
    """The December rows of the sample are in the Bell Foundry extract too: the keys match, so nothing is added."""
    run(resources, [POLICE / EXTRACTS[0][1]], "bell-foundry")
    report = run(resources, [SAMPLE], "bell-foundry")
    assert report.added == 0 and report.skipped["already imported"] == 8


def test_unknown_crime_types_and_odd_case(resources, tmp_path):
    header = ("Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,Crime type,"
              "Last outcome category,Context\n")
    path = tmp_path / "odd.csv"
    path.write_text(header + "abc,2024-12,LP,LP,-1.1950,52.7700,On or near Queen'S Road,E01025699,Charnwood 002A,"
                    "SHOPLIFTING,Under investigation,\n"
                    "def,2024-12,LP,LP,-1.1950,52.7700,On or near Queen'S Road,E01025699,Charnwood 002A,Fraud,,\n",
                    encoding="utf-8")
    report = run(resources, [path], "bell-foundry")
    assert report.added == 1 and report.skipped == {"unknown crime type": 1}
    [feature] = stored(resources, "bell-foundry")
    assert feature["properties"]["category"] == "shoplifting"
    assert feature["properties"]["location"] == "On or near Queen's Road"


def test_not_a_police_file(resources, tmp_path):
    path = tmp_path / "lights.csv"
    path.write_text("lon,lat,category\n-1.195,52.77,out\n", encoding="utf-8")
    with pytest.raises(MalformedInput, match="not a police.uk street-level CSV"):
        run(resources, [path], "bell-foundry")
    assert stored(resources, "bell-foundry") == []


def test_tidy_location():
    assert tidy_location("On or near  St Barnard'S Road ") == "On or near St Barnard's Road"
    assert tidy_location("") is None and tidy_location("On or near ") is None
    assert json.dumps(tidy_location("On or near Supermarket")) == '"On or near Supermarket"'
