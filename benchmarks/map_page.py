"""Benchmark: the zone map page and its .points data at 10,000 and 100,000 lights, against naive Folium.

The baseline is what the issue measured: one ``folium.Marker`` per point inside a ``MarkerCluster``, rendered with
``get_root().render()``, at 10,000 points. Ratios below 1 mean smaller or faster than that baseline.

Run from the project directory (after ``npm ci``)::

    python benchmarks/map_page.py            # server side only
    python benchmarks/map_page.py --browser  # also time the page in Chromium until every layer is drawn

With ``--browser`` it also prints, for the median run, when each step of the lights layer happened (zone-map.js's
User Timing marks: request, response, parsed, indexed, drawn, indexed-all; and the .points' first byte and end).

Everything runs in this one process against temporary stores; nothing outside them is written.
"""

import argparse
import gzip
import logging
import multiprocessing
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper import create_app  # noqa: E402
from mapper.validate import validate_feature  # noqa: E402

ZONE = "bell-foundry"
CATEGORIES = ["out", "dim", "flickering", "day-burning", "damaged", "obscured", "dark-spot"]
GZIP_LEVEL = 5  # the app's COMPRESS_LEVEL, so baseline and page are compressed alike


def random_points(zone, count, seed=1):
    """``count`` (lon, lat) arrays uniformly inside the zone boundary."""
    rng = np.random.default_rng(seed)
    min_lon, min_lat, max_lon, max_lat = zone.bbox
    lon, lat = np.empty(0), np.empty(0)
    while len(lon) < count:
        x, y = rng.uniform(min_lon, max_lon, count * 2), rng.uniform(min_lat, max_lat, count * 2)
        inside = shapely.intersects_xy(zone.boundary, x, y)
        lon, lat = np.concatenate([lon, x[inside]]), np.concatenate([lat, y[inside]])
    return lon[:count], lat[:count]


def filled_app(directory, count):
    """An app whose store holds ``count`` validated lights in the zone (tiles: a local URL, so nothing goes out)."""
    app = create_app({"DATA_DIR": directory, "TILES_URL": "/no-tiles/{z}/{x}/{y}.png"})
    resources = app.extensions["mapper"]
    layer = resources.schema.layer("lights")
    lon, lat = random_points(resources.zones().get(ZONE), count)
    for start in range(0, count, 20000):
        submissions = [validate_feature({"type": "Feature", "geometry": {"type": "Point", "coordinates": [x, y]},
                                         "properties": {"category": CATEGORIES[(start + i) % 7],
                                                        "description": f"Light {start + i}"}}, layer)
                       for i, (x, y) in enumerate(zip(lon[start:start + 20000].tolist(),
                                                      lat[start:start + 20000].tolist()))]
        resources.store.append(ZONE, "lights", submissions)
    return app


def timed(function, repeat=5):
    """(median seconds, last result) of ``repeat`` calls."""
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def get(client, url):
    response = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert response.status_code == 200, (url, response.status_code)
    return response


def measure_app(app):
    """First render, cached page, and points: seconds, raw bytes and gzipped bytes as the client receives them."""
    client = app.test_client()
    start = time.perf_counter()
    first = client.get(f"/zones/{ZONE}")
    first_render = time.perf_counter() - start
    page_time, page = timed(lambda: get(client, f"/zones/{ZONE}"))
    points_time, points = timed(lambda: get(client, f"/api/zones/{ZONE}/lights.points"))
    raw_points = client.get(f"/api/zones/{ZONE}/lights.points").data
    return {"page first render": (first_render, len(first.data), None),
            "page": (page_time, len(first.data), len(page.data)),
            "points": (points_time, len(raw_points), len(points.data))}


def baseline(zone, count=10000):
    """The naive page: one folium.Marker per point in a MarkerCluster."""
    import folium
    from folium.plugins import MarkerCluster

    lon, lat = random_points(zone, count)

    def build_and_render():
        fmap = folium.Map(location=list(zone.centre), zoom_start=15)
        cluster = MarkerCluster().add_to(fmap)
        for x, y, i in zip(lon.tolist(), lat.tolist(), range(count)):
            folium.Marker([y, x], popup=f"Light {i}").add_to(cluster)  # Leaflet order [lat, lon]
        return fmap.get_root().render()

    seconds, html = timed(build_and_render, repeat=1)
    data = html.encode("utf-8")
    return seconds, len(data), len(gzip.compress(data, GZIP_LEVEL))


def serve(app, port_queue):
    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    port_queue.put(server.server_port)
    server.serve_forever()


def browser_ready(app, runs=3):
    """Median seconds from navigation until every layer reports it is on the map, in headless Chromium.

    The server runs in a forked process so that Playwright's Python side does not share its GIL; tiles point at a
    local URL that answers 404, so nothing leaves the machine.
    """
    from playwright.sync_api import sync_playwright

    ports = multiprocessing.get_context("fork").Queue()
    process = multiprocessing.get_context("fork").Process(target=serve, args=(app, ports), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{ports.get(timeout=30)}/zones/{ZONE}"
    times, steps = [], []
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--no-first-run", "--disable-sync"])
            for _ in range(runs + 1):  # the first run fills the server's caches and is not counted
                page = browser.new_page()
                start = time.perf_counter()
                page.goto(url)
                page.wait_for_function("() => (document.querySelector('.map-status') || {}).textContent"
                                       ".split('on the map').length > 2", timeout=60000, polling=10)
                times.append(time.perf_counter() - start)
                steps.append(page.evaluate(STEPS))
                page.close()
            browser.close()
    finally:
        process.terminate()
        process.join(10)
    middle = sorted(range(1, len(times)), key=times.__getitem__)[len(times) // 2 - 1]  # the median run's steps
    return statistics.median(times[1:]), times[0], steps[middle]


# Milliseconds after navigation of the lights layer's User Timing marks (zone-map.js) and of its .points response.
STEPS = """() => {
    const at = {};
    for (const entry of performance.getEntriesByType('mark')) {
        if (entry.name.startsWith('pz:lights:') && !(entry.name.slice(10) in at)) at[entry.name.slice(10)] = entry.startTime;
    }
    const points = performance.getEntriesByType('resource').find(entry => entry.name.includes('/lights.points'));
    if (points) { at['first byte'] = points.responseStart; at['body'] = points.responseEnd; }
    return Object.entries(at).sort((a, b) => a[1] - b[1]).map(([name, ms]) => `${name} ${Math.round(ms)}`).join(', ');
}"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--browser", action="store_true", help="also time the page in Chromium")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        results = {}
        apps = {}
        for count in (10000, 100000):
            start = time.perf_counter()
            apps[count] = filled_app(Path(directory) / str(count), count)
            print(f"filled {count:,} lights in {time.perf_counter() - start:.1f} s", file=sys.stderr)
            results[count] = measure_app(apps[count])
        zone = apps[10000].extensions["mapper"].zones().get(ZONE)
        base_seconds, base_raw, base_gzip = baseline(zone)

        print(f"baseline: folium Marker x 10,000 in MarkerCluster: {base_seconds * 1000:.0f} ms, "
              f"{base_raw / 1e6:.2f} MB raw, {base_gzip / 1e6:.2f} MB gzipped")
        print(f"{'features':>9} {'what':<18} {'ms':>8} {'raw bytes':>11} {'gzip bytes':>11} "
              f"{'time/base':>9} {'raw/base':>9} {'gzip/base':>9}")
        for count, rows in results.items():
            for what, (seconds, raw, packed) in rows.items():
                packed_text = f"{packed:>11,}" if packed is not None else f"{'':>11}"
                packed_ratio = f"{packed / base_gzip:>9.4f}" if packed is not None else f"{'':>9}"
                print(f"{count:>9,} {what:<18} {seconds * 1000:>8.1f} {raw:>11,} {packed_text} "
                      f"{seconds / base_seconds:>9.4f} {raw / base_raw:>9.4f} {packed_ratio}")
        if options.browser:
            for count, app in apps.items():
                warm, cold, steps = browser_ready(app)
                print(f"browser: {count:,} lights drawn {warm * 1000:.0f} ms after navigation (median of 3; "
                      f"first visit, server caches empty: {cold * 1000:.0f} ms)")
                print(f"  lights, ms after navigation in the median run: {steps}")


if __name__ == "__main__":
    main()
