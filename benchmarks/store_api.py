"""Store and API benchmark: submissions/s into small and large layers, and GET of a 100,000-feature layer.

Not part of the test run. Every figure is measured in this one process, and printed as a ratio against the baseline
measured beside it (the 1,000-feature layer for appends; the raw file read for downloads).

    python benchmarks/store_api.py [--posts 300] [--large 100000]
"""

import argparse
import http.client
import json
import os
import platform
import socket
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from shapely.geometry import Point  # noqa: E402

from mapper import create_app  # noqa: E402
from mapper.validate import Submission  # noqa: E402

ZONE, LON, LAT = "bell-foundry", -1.195, 52.77


def machine():
    return f"{platform.node()} · {os.cpu_count()} cores · {platform.processor() or platform.machine()} · " \
           f"Python {platform.python_version()}"


def prefilled_app(count):
    data_dir = Path(tempfile.mkdtemp(prefix="mapper-bench-"))
    app = create_app({"DATA_DIR": data_dir})
    store = app.extensions["mapper"].store
    batch = [Submission("lights", Point(LON + (i % 1000) * 1e-6, LAT + (i // 1000) * 1e-6),
                        {"category": "out", "status": "open", "description": f"Demo report {i}"})
             for i in range(count)]
    if batch:
        store.append(ZONE, "lights", batch)
    return app, data_dir


def body(i):
    return json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [LON, LAT + i * 1e-7]},
                       "properties": {"category": "dim", "description": f"Benchmark report number {i}"}})


def posts_per_second(app, posts):
    client = app.test_client()
    client.post(f"/api/zones/{ZONE}/lights", data=body(0), content_type="application/json")  # warm the cache
    started = time.perf_counter()
    for i in range(posts):
        response = client.post(f"/api/zones/{ZONE}/lights", data=body(i), content_type="application/json")
        assert response.status_code == 201, response.get_data(as_text=True)
    return posts / (time.perf_counter() - started)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def posts_per_second_over_http(app, posts):
    """The same, through waitress on loopback: sockets, HTTP parsing and threads included."""
    from waitress.server import create_server

    port = free_port()
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    connection = http.client.HTTPConnection("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(posts):
        connection.request("POST", f"/api/zones/{ZONE}/lights", body=body(i),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        assert response.status == 201
    elapsed = time.perf_counter() - started
    connection.close()
    time.sleep(0.2)  # let waitress's worker finish with the closed connection before the server goes
    server.close()
    return posts / elapsed


def timed_get(client, url, headers=None, repeat=3):
    best, size = float("inf"), 0
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url, headers=headers or {})
        data = response.get_data()
        best = min(best, time.perf_counter() - started)
        size = len(data)
    return best, size


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--large", type=int, default=100_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")

    small, _ = prefilled_app(1_000)
    large, large_dir = prefilled_app(args.large)
    small_rate = posts_per_second(small, args.posts)
    large_rate = posts_per_second(large, args.posts)
    print(f"POST /api/zones/{ZONE}/lights (Flask test client, fsync per post)")
    print(f"  into 1,000 features:   {small_rate:8.0f} /s   (baseline)")
    print(f"  into {args.large:,} features: {large_rate:8.0f} /s   ratio {large_rate / small_rate:.2f}")
    small_http = posts_per_second_over_http(small, args.posts)
    large_http = posts_per_second_over_http(large, args.posts)
    print("POST over HTTP (waitress on 127.0.0.1, one keep-alive connection)")
    print(f"  into 1,000 features:   {small_http:8.0f} /s   (baseline)")
    print(f"  into {args.large:,} features: {large_http:8.0f} /s   ratio {large_http / small_http:.2f}")

    path = large_dir / ZONE / "lights.geojson"
    started = time.perf_counter()
    raw = path.read_bytes()
    read_seconds = time.perf_counter() - started
    client = large.test_client()
    fresh = create_app({"DATA_DIR": large_dir}).test_client()
    cold, _ = timed_get(fresh, f"/api/zones/{ZONE}/lights.geojson", repeat=1)
    warm, size = timed_get(client, f"/api/zones/{ZONE}/lights.geojson")
    zipped, zipped_size = timed_get(client, f"/api/zones/{ZONE}/lights.geojson", {"Accept-Encoding": "gzip"})
    filtered, filtered_size = timed_get(client, f"/api/zones/{ZONE}/lights.geojson?category=dim")
    count = args.large + 2 * args.posts + 2
    print(f"GET /api/zones/{ZONE}/lights.geojson with {count:,} features")
    print(f"  read the file from disk: {read_seconds * 1000:7.0f} ms  {len(raw) / 1e6:6.1f} MB (baseline)")
    print(f"  first GET in a new process (parses the file): {cold * 1000:7.0f} ms  ratio {cold / read_seconds:.1f}")
    print(f"  GET, cache warm:        {warm * 1000:7.0f} ms  {size / 1e6:6.1f} MB  ratio {warm / read_seconds:.1f}")
    print(f"  GET, gzip:              {zipped * 1000:7.0f} ms  {zipped_size / 1e6:6.1f} MB  "
          f"ratio {zipped / read_seconds:.1f}")
    print(f"  GET ?category=dim:      {filtered * 1000:7.0f} ms  {filtered_size / 1e6:6.1f} MB  "
          f"({2 * args.posts + 2} features)")


if __name__ == "__main__":
    main()
