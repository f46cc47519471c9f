"""A separate writer process for the concurrency and crash tests.

Usage: python writer.py ROOT ZONE COUNT MODE
MODE "store" appends through GeoJSONFileStore; "http" posts through the whole Flask app (validate -> zones -> store);
"update" rewrites existing features in a loop; "keyed" appends rows keyed by ``source_key`` in batches of 10, as an
import does. Prints each acknowledged feature id on its own line, flushed, so the
parent knows exactly what was acknowledged before it kills this process.
"""

import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))

from shapely.geometry import Point  # noqa: E402

from mapper.store.geojson_files import GeoJSONFileStore  # noqa: E402
from mapper.validate import Submission  # noqa: E402

LON, LAT = -1.195, 52.77


def main(root, zone, count, mode):
    if mode == "http":
        from mapper import create_app

        # Many reports from one address: more than its public budget (mapper/web/limits.py), raised here.
        client = create_app({"DATA_DIR": root, "RATELIMIT_PUBLIC_POSTS": "100000 per minute",
                             "RATELIMIT_ZONE_POSTS": "100000 per hour"}).test_client()
        for i in range(count):
            response = client.post(f"/api/zones/{zone}/lights", json={
                "type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT + i * 1e-6]},
                "properties": {"category": "out", "description": f"pid {os.getpid()} #{i}"}})
            assert response.status_code == 201, response.get_json()
            print(response.get_json()["id"], flush=True)
        return
    store = GeoJSONFileStore(root)
    if mode == "keyed":  # the same keyed batches as every other "keyed" writer: an import run twice at once
        for start in range(0, count, 10):
            stored = store.append(zone, "lights", [Submission(
                "lights", Point(LON, LAT + i * 1e-6), {"category": "out", "status": "open", "source_key": f"row-{i}"})
                for i in range(start, min(start + 10, count))], unique="source_key")
            for feature in stored:
                print(feature["id"], flush=True)
        return
    if mode == "update":
        for i in range(count):
            features = store.query(zone, "lights")
            if len(features):
                target = random.choice(list(features.columns["id"]))
                store.update(zone, "lights", target, lambda p: {**p, "description": f"updated {i}"})
                print(target, flush=True)
        return
    for i in range(count):
        (feature,) = store.append(zone, "lights", [Submission(
            "lights", Point(LON, LAT + i * 1e-6), {"category": "out", "status": "open",
                                                  "description": f"pid {os.getpid()} #{i} " + "x" * (i % 300)})])
        print(feature["id"], flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
