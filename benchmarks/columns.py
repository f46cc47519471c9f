"""Benchmark: the nearest lamp column for one report among 50,000 columns, STRtree against a brute-force scan.

Columns: Bristol's 49,451 real street lights (tests/data/columns/, OGL v3), and a synthetic 50,000 drawn uniformly
over the same box (less clustered than real streets). Queries: 2,000 points a few metres to 40 m from random
columns, so about a third have no column within 25 m, as a dark-spot report would.

* STRtree: ``nearest_column`` (reprojects the point to EPSG:27700, then ``STRtree.query_nearest`` with
  ``max_distance=25``), one call per report, as intake makes it.
* Brute force: reproject the point the same way, then ``np.hypot`` over every column and ``argmin``.
* Link (end to end): ``intake.link_columns`` for one report on a real store with the 49,163 columns loaded: the
  store snapshot, the cache check and the lookup.
* Build: ``ColumnIndex`` from 50,000 columns (paid once per change of the layer).

Each timing is the median of 5 runs in this one process, in CPU seconds of this process (``time.process_time``):
the development machine has 2 CPUs shared with other test runs, and wall time there measures the neighbours. The
results of both methods are checked to agree.

    python benchmarks/columns.py
"""

import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper.analysis.columns import ColumnIndex, nearest_brute_force, nearest_column  # noqa: E402
from mapper.crs import from_british_national_grid, to_british_national_grid  # noqa: E402

BRISTOL = Path(__file__).resolve().parent.parent / "tests" / "data" / "columns" / "bristol_streetlights_lonlat.csv"
QUERIES = 2000
RUNS = 5


def bristol_columns():
    data = np.loadtxt(BRISTOL, delimiter=",", skiprows=1)
    return data[:, 0], data[:, 1]


def synthetic_columns(lon, lat, count=50_000, seed=1):
    rng = np.random.default_rng(seed)
    easting, northing = to_british_national_grid(lon, lat)
    return from_british_national_grid(rng.uniform(easting.min(), easting.max(), count),
                                      rng.uniform(northing.min(), northing.max(), count))


def queries(index, seed=2):
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(index), QUERIES)
    angle, distance = rng.uniform(0, 2 * np.pi, QUERIES), rng.uniform(2, 40, QUERIES)
    easting = index.easting[picks] + distance * np.cos(angle)
    northing = index.northing[picks] + distance * np.sin(angle)
    lon, lat = from_british_national_grid(easting, northing)
    return [(float(x), float(y)) for x, y in zip(lon, lat)]


def per_call(function, points):
    times = []
    for _ in range(RUNS):
        start = time.process_time()
        for lon, lat in points:
            function(lon, lat)
        times.append((time.process_time() - start) / len(points))
    return statistics.median(times)


def brute_force(index):
    def lookup(lon, lat):
        easting, northing = to_british_national_grid(lon, lat)
        return nearest_brute_force(index.easting, index.northing, float(easting), float(northing))

    return lookup


def check_agreement(index, points):
    for lon, lat in points[:500]:
        tree, brute = nearest_column(index, lon, lat), brute_force(index)(lon, lat)
        assert (tree is None) == (brute is None), (lon, lat)
        if tree is not None:
            assert abs(tree.distance_m - brute[1]) < 0.06


def bench(name, lon, lat):
    start = time.process_time()
    index = ColumnIndex([f"C{i}" for i in range(len(lon))], lon, lat)
    build = time.process_time() - start
    points = queries(index)
    check_agreement(index, points)
    found = sum(nearest_column(index, x, y) is not None for x, y in points)
    tree = per_call(lambda x, y: nearest_column(index, x, y), points)
    brute = per_call(brute_force(index), points)
    print(f"{name:<34} {len(index):>7,}  build {build * 1000:6.1f} ms   STRtree {tree * 1e6:7.1f} µs/lookup   "
          f"brute force {brute * 1e6:8.1f} µs/lookup   x{brute / tree:5.1f}   ({found} of {QUERIES} within 25 m)")


def bench_link(lon, lat):
    """intake.link_columns for one report, with the columns in a real GeoJSON-files store."""
    from mapper.config import load
    from mapper.intake import link_columns
    from mapper.validate import validate_feature
    from mapper.web.context import Resources

    zone_id = "bell-foundry"
    with tempfile.TemporaryDirectory() as directory:
        resources = Resources(load({"DATA_DIR": Path(directory) / "data"}))
        zone = resources.zones().get(zone_id)
        # Move all of Bristol onto the zone, then store the columns directly (the import keeps only the zone's).
        easting, northing = to_british_national_grid(lon, lat)
        centre = zone.boundary.representative_point()
        centre_easting, centre_northing = to_british_national_grid(centre.x, centre.y)
        moved_lon, moved_lat = from_british_national_grid(easting - np.median(easting) + centre_easting,
                                                          northing - np.median(northing) + centre_northing)
        layer = resources.schema.layer("columns")
        submissions = [validate_feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [
            float(x), float(y)]}, "properties": {"unit_id": f"C{i}"}}, layer, status="in-service")
            for i, (x, y) in enumerate(zip(moved_lon, moved_lat))]
        resources.store.append(zone_id, "columns", submissions)
        lights = resources.schema.layer("lights")
        index_points = queries(ColumnIndex(["x"] * len(moved_lon), moved_lon, moved_lat))[:500]
        reports = [validate_feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                                     "properties": {"category": "out"}}, lights) for x, y in index_points]
        start = time.process_time()
        link_columns(reports[:1], zone_id, "lights", schema=resources.schema, store=resources.store)
        first = time.process_time() - start  # builds the zone's index

        def link(report):
            report.properties.pop("column", None)
            link_columns([report], zone_id, "lights", schema=resources.schema, store=resources.store)

        times = []
        for _ in range(RUNS):
            start = time.process_time()
            for report in reports:
                link(report)
            times.append((time.process_time() - start) / len(reports))
        linked = sum("column" in r.properties for r in reports)
        print(f"{'link one report (store + cache)':<34} {len(submissions):>7,}  first {first * 1000:6.1f} ms   "
              f"then {statistics.median(times) * 1e6:7.1f} µs/report ({linked} of {len(reports)} linked)")


def main():
    lon, lat = bristol_columns()
    print(f"nearest column within 25 m, median of {RUNS} runs of {QUERIES:,} lookups, CPU time")
    bench("Bristol street lights (real)", lon, lat)
    bench("synthetic, uniform", *synthetic_columns(lon, lat))
    bench_link(lon, lat)


if __name__ == "__main__":
    main()
