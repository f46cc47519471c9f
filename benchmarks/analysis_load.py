"""Analysis under attack: a resident's GET latency while 8 anonymous clients ask for the largest hotspot grids.

Not part of the test run. Starts a real ``mapper serve`` (8 threads) on a temporary store holding the New Parks
police.uk extract, then, in this one process:

1. baseline: the resident's GET (``/api/zones/new-parks/lights.points`` and a tracking page's JSON, alternately),
   sequentially, with nothing else running;
2. attack: 8 client threads, each from its own loopback address (127.0.0.2 to 127.0.0.9, so each has its own
   per-address budget), loop on ``hotspots.geojson?cell=10&band=2000`` (``--cell`` changes the cell: 36 is
   the finest New Parks grid allowed without signing in); with ``--vary`` each asks for a different band every time,
   so no answer can come from a cache (the worst case for the cache);
3. the resident's GET again while the attack runs.

It prints the resident's p50/p95/max before and during the attack, and what the attackers got (statuses, seconds).
``--root`` runs another checkout's code (e.g. the commit before the hardening, unpacked with ``git archive``):

    python benchmarks/analysis_load.py [--seconds 40] [--root /path/to/checkout] [--cell 10] [--vary]
"""

import argparse
import http.client
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
ZONE = "new-parks"
POLICE = HERE / "tests" / "data" / "police" / "new_parks_leicester_2023-01_to_2024-12.csv"
ATTACK = f"/api/zones/{ZONE}/hotspots.geojson?layer=crime:anti-social-behaviour&cell=%g&band=%d"
CLIENTS = 8


def machine():
    return f"{platform.node()} · {os.cpu_count()} cores · {platform.processor() or platform.machine()} · " \
           f"Python {platform.python_version()}"


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(root, data_dir, port):
    environment = {**os.environ, "PYTHONPATH": str(root)}
    subprocess.run([sys.executable, "-m", "mapper", "import-police", "--zone", ZONE, str(POLICE),
                    "--data", str(data_dir)], check=True, cwd=root, env=environment, stdout=subprocess.DEVNULL)
    server = subprocess.Popen([sys.executable, "-m", "mapper", "serve", "--port", str(port), "--threads", "8",
                               "--data", str(data_dir)], cwd=root, env=environment,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            get(port, "/api/zones")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("mapper serve did not start")


def get(port, path, address="127.0.0.1", timeout=120):
    """(status, body) of a GET sent from ``address`` (any 127.x.y.z is this machine's loopback)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout, source_address=(address, 0))
    try:
        connection.request("GET", path, headers={"Accept-Encoding": "gzip"})
        response = connection.getresponse()
        body = response.read()
        return response.status, body
    finally:
        connection.close()


def post(port, path, document):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request("POST", path, body=json.dumps(document), headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def resident_latencies(port, paths, seconds):
    """Seconds per GET, sequentially for ``seconds``, as a resident's phone opening the map and a tracking page."""
    times, statuses = [], Counter()
    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        started = time.perf_counter()
        status, _ = get(port, paths[n % len(paths)])
        times.append(time.perf_counter() - started)
        statuses[status] += 1
        n += 1
        time.sleep(0.05)
    return times, statuses


def summary(times):
    ordered = sorted(times)
    p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
    return f"n={len(ordered)} p50 {statistics.median(ordered) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, " \
           f"max {ordered[-1] * 1000:.0f} ms"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=40.0)
    parser.add_argument("--root", type=Path, default=HERE, help="the checkout whose code the server runs")
    parser.add_argument("--vary", action="store_true", help="every attack request asks for a new band (no cache)")
    parser.add_argument("--cell", type=float, default=10.0,
                        help="the attack's cell size (10: the largest grid; 36: the largest allowed anonymously)")
    args = parser.parse_args()
    data_dir = Path(tempfile.mkdtemp(prefix="mapper-analysis-load-"))
    port = free_port()
    server = start_server(args.root.resolve(), data_dir, port)
    try:
        status, light = post(port, f"/api/zones/{ZONE}/lights", {
            "type": "Feature", "geometry": {"type": "Point", "coordinates": [-1.1855, 52.6404]},
            "properties": {"category": "out"}})
        assert status == 201, light
        paths = [f"/api/zones/{ZONE}/lights.points", f"/r/{light['properties']['ref']}.json"]
        print(f"machine: {machine()}")
        print(f"server code: {args.root.resolve()}  attack: {CLIENTS} clients, {ATTACK % (args.cell, 2000)}"
              f"{' (band varied per request)' if args.vary else ''}")
        baseline, _ = resident_latencies(port, paths, min(10.0, args.seconds / 2))
        print(f"resident GET, nothing else running: {summary(baseline)}")

        stop = threading.Event()
        outcomes, lock = [], threading.Lock()

        def attacker(number):
            band = 2000
            while not stop.is_set():
                if args.vary:
                    band = 1000 + (band + 7 * number + 1) % 1000
                started = time.perf_counter()
                try:
                    status, body = get(port, ATTACK % (args.cell, band), address=f"127.0.0.{number + 2}")
                except OSError as error:
                    status, body = type(error).__name__, b""
                with lock:
                    outcomes.append((status, time.perf_counter() - started, len(body)))

        threads = [threading.Thread(target=attacker, args=(n,), daemon=True) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(2.0)  # let the attack reach the server first
        during, statuses = resident_latencies(port, paths, args.seconds)
        stop.set()
        for thread in threads:
            thread.join(timeout=180)
        print(f"resident GET during the attack: {summary(during)}; statuses {dict(statuses)}")
        by_status = Counter(status for status, _, _ in outcomes)
        print(f"attack requests answered: {len(outcomes)} {dict(by_status)}; median "
              f"{statistics.median(t for _, t, _ in outcomes) * 1000:.0f} ms, largest body "
              f"{max(size for _, _, size in outcomes) / 1e6:.1f} MB")
        print(f"ratio: resident p50 during / before = {statistics.median(during) / statistics.median(baseline):.1f}x")
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
