"""Load test on loopback: residents, an officer and an attacker against one real ``mapper serve``.

Not part of the test run. Starts ``mapper serve`` on a fresh data directory (``mapper demo``, the police.uk samples in
tests/data/police, an officer with an API token), then runs the same bounded mix of residents' and the officer's
requests twice in one server process: first alone (the baseline), then with attacks mixed in. Every figure is printed
for both phases, so they read as ratios.

- Residents (one loopback address each, 127.0.0.11...): the zone map page, ``.points``, ``.geojson``, tracking pages
  ``/r/<ref>``, reports posted to ``/api/reports`` and "me too" confirmations, each after a think time.
- The officer (127.0.0.3, a bearer token): PATCHes of status (open -> investigating -> fixed -> open).
- The attacker (127.0.0.200...; only in the second phase): chunked bodies whose chunk-size line never ends, 200 MB
  bodies, decompression-bomb photos on ``POST /report``, anonymous hotspots at the largest sizes
  (``cell=10&band=2000``) and a flood of POSTs from one address.

Linux routes all of 127.0.0.0/8 to the loopback interface, so each client binds its own source address and the
per-address rate limits count residents and the attacker apart. Nothing leaves the machine; every loop stops at the
end of its phase, and every request and attack connection has a timeout.

Goal (issue #11): no 5xx, and a resident's POST p99 under 250 ms while the attacks run.

    python benchmarks/load.py [--seconds 120] [--residents 12] [--threads 8]
"""

import argparse
import http.client
import io
import json
import multiprocessing
import os
import platform
import random
import select
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POLICE = ROOT / "tests" / "data" / "police"
ZONES = {"bell-foundry": "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv",
         "new-parks": "new_parks_leicester_2023-01_to_2024-12.csv",
         "thringstone-whitwick": "thringstone_whitwick_2023-01_to_2024-12.csv"}
OFFICER_ADDRESS = "127.0.0.3"
GOAL_POST_P99_MS = 250
PIECE = 64 * 1024


def machine():
    return f"{platform.node()} · {os.cpu_count()} cores · {platform.processor() or platform.machine()} · " \
           f"Python {platform.python_version()} · load average {os.getloadavg()[0]:.1f}"


def mapper(*args, data_dir):
    command = [sys.executable, "-m", "mapper", *args, "--data", str(data_dir)]
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=ROOT).stdout.strip()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """(kind, status, seconds) of every request, per phase; status 0 is a failed connection or a timeout."""

    def __init__(self):
        self.lock, self.phase, self.rows, self.sent = threading.Lock(), None, defaultdict(list), defaultdict(list)

    def add(self, kind, status, seconds):
        with self.lock:
            self.rows[self.phase].append((kind, status, seconds))

    def add_bytes(self, kind, sent):
        """Bytes of an attack's body the server took before it answered or cut the connection."""
        with self.lock:
            self.sent[kind].append(sent)


class Client:
    """One HTTP/1.1 connection from one loopback source address, re-opened after an error or a close."""

    def __init__(self, port, address, recorder, headers=None):
        self.port, self.address, self.recorder = port, address, recorder
        self.headers, self.connection = dict(headers or {}), None

    def request(self, kind, method, path, body=None, headers=None, timeout=30):
        if self.connection is None:
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout,
                                                         source_address=(self.address, 0))
        started = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers={**self.headers, **(headers or {})})
            response = self.connection.getresponse()
            data = response.read()
            status = response.status
            if response.will_close:
                self.close()
        except (OSError, http.client.HTTPException):
            self.close()
            status, data, response = 0, b"", None
        self.recorder.add(kind, status, time.perf_counter() - started)
        return status, data, response

    def close(self):
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# -- the residents and the officer ---------------------------------------------------------------------------------


def resident(port, address, recorder, world, until, think):
    """A resident's loop: mostly reads, now and then a report or a "me too" (within the per-address limits)."""
    client, chance = Client(port, address, recorder), random.Random(address)
    last_post = last_confirm = 0.0
    while time.monotonic() < until:
        zone = chance.choice(list(ZONES))
        now = time.monotonic()
        if now - last_post > 8 and chance.random() < 0.25:  # 10 a minute per address is the limit: stay under it
            last_post = now
            lon, lat = chance.choice(world["points"][zone])
            feature = {"type": "Feature",
                       "geometry": {"type": "Point", "coordinates": [lon + chance.uniform(-2e-5, 2e-5),
                                                                     lat + chance.uniform(-2e-5, 2e-5)]},
                       "properties": {"category": "out", "description": "Load test report"}}
            client.request("resident POST /api/reports", "POST", "/api/reports", json.dumps(feature),
                           {"Content-Type": "application/json"})
        elif now - last_confirm > 8 and chance.random() < 0.25:
            last_confirm = now
            feature_id = chance.choice(world["confirmable"][zone])
            client.request("resident me too", "POST", f"/api/zones/{zone}/lights/{feature_id}/confirm",
                           json.dumps({"client_id": str(uuid.uuid4())}), {"Content-Type": "application/json"})
        else:
            kind = chance.choice(["map page", ".points", ".geojson", "/r/<ref>"])
            path = {"map page": f"/zones/{zone}", ".points": f"/api/zones/{zone}/lights.points",
                    ".geojson": f"/api/zones/{zone}/lights.geojson",
                    "/r/<ref>": f"/r/{chance.choice(world['refs'])}"}[kind]
            client.request(f"resident {kind}", "GET", path, headers={"Accept-Encoding": "gzip"})
        time.sleep(chance.uniform(*think))
    client.close()


def officer(port, token, recorder, world, until):
    """The officer moves their own reports on: open -> investigating -> fixed -> open, one PATCH a second."""
    client = Client(port, OFFICER_ADDRESS, recorder, {"Authorization": f"Bearer {token}",
                                                      "Content-Type": "application/json"})
    following = {"open": "investigating", "investigating": "fixed", "fixed": "open"}
    statuses = {item: "open" for item in world["officer"]}
    while time.monotonic() < until:
        zone, feature_id = item = random.choice(world["officer"])
        wanted = following[statuses[item]]
        status, data, _ = client.request("officer PATCH", "PATCH", f"/api/zones/{zone}/lights/{feature_id}",
                                         json.dumps({"status": wanted, "public_note": "Load test"}))
        if status == 200:
            statuses[item] = wanted
        elif status == 409:  # someone else moved it: read where it is now
            _, data, _ = client.request("officer GET feature", "GET", f"/api/zones/{zone}/lights/{feature_id}")
            statuses[item] = json.loads(data)["properties"]["status"] if data else "open"
        time.sleep(1)
    client.close()


# -- the attacker --------------------------------------------------------------------------------------------------


def raw_attack(port, address, head, piece, limit_bytes, limit_seconds):
    """Send ``head`` then ``piece`` until the server answers or cuts the connection; (status or 0, bytes sent)."""
    sent = 0
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10, source_address=(address, 0)) as connection:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 128 * 1024)
            connection.sendall(head)
            started = time.monotonic()
            while sent < limit_bytes and time.monotonic() - started < limit_seconds:
                if select.select([connection], [], [], 0)[0]:
                    answer = connection.recv(64)
                    return (int(answer.split()[1]) if answer.startswith(b"HTTP/1.1 ") else 0), sent
                connection.sendall(piece)
                sent += len(piece)
    except OSError:
        pass  # cut off while sending
    return 0, sent


def attacker_chunked(port, recorder, until):
    head = (b"POST /api/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n")
    while time.monotonic() < until:
        started = time.perf_counter()
        status, sent = raw_attack(port, "127.0.0.200", head, b"f" * PIECE, 64 * 1024 * 1024, 20)
        recorder.add("attack chunked line", status, time.perf_counter() - started)
        recorder.add_bytes("attack chunked line", sent)
        time.sleep(0.2)


def attacker_big_body(port, recorder, until):
    size = 200 * 1024 * 1024
    head = (f"POST /api/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    while time.monotonic() < until:
        started = time.perf_counter()
        status, sent = raw_attack(port, "127.0.0.201", head, b"x" * PIECE, size, 30)
        recorder.add("attack 200 MB body", status, time.perf_counter() - started)
        recorder.add_bytes("attack 200 MB body", sent)
        time.sleep(0.5)


def bomb_png():
    """A 10,900 x 10,900 one-bit PNG of a few KB: 119 Mpx if decoded in full (finding 1)."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (10_900, 10_900)).save(out, "PNG", optimize=True)
    return out.getvalue()


def attacker_photos(port, recorder, world, until):
    client, bomb = Client(port, "127.0.0.202", recorder), bomb_png()
    while time.monotonic() < until:
        status, data, response = client.request("attack photo token", "GET", "/report/token")
        cookie = (response.getheader("Set-Cookie") or "").split(";")[0] if response is not None else ""
        token = json.loads(data)["csrf_token"] if status == 200 else ""
        lon, lat = world["points"]["bell-foundry"][0]
        boundary = uuid.uuid4().hex
        fields = {"csrf_token": token, "kind": "light", "category": "out", "lon": str(lon), "lat": str(lat),
                  "description": "bomb"}
        body = b"".join(f"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n".encode()
                        for name, value in fields.items())
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"bomb.png\"\r\n"
                 f"Content-Type: image/png\r\n\r\n").encode() + bomb + f"\r\n--{boundary}--\r\n".encode()
        client.request("attack photo bomb", "POST", "/report", body,
                       {"Content-Type": f"multipart/form-data; boundary={boundary}", "Cookie": cookie,
                        "Accept": "application/json"})
        time.sleep(0.5)
    client.close()


def attacker_hotspots(port, recorder, address, until):
    client = Client(port, address, recorder)
    zone = random.choice(list(ZONES))
    while time.monotonic() < until:
        client.request("attack hotspots cell=10", "GET", f"/api/zones/{zone}/hotspots.geojson"
                       "?layer=crime:anti-social-behaviour&cell=10&band=2000", timeout=60)
        zone = random.choice(list(ZONES))
    client.close()


def attacker_flood(port, recorder, world, until):
    client = Client(port, "127.0.0.204", recorder, {"Content-Type": "application/json"})
    lon, lat = world["points"]["new-parks"][0]
    feature = json.dumps({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
                          "properties": {"category": "out", "description": "flood"}})
    while time.monotonic() < until:
        client.request("attack POST flood", "POST", "/api/reports", feature)
    client.close()


# -- running and reporting -----------------------------------------------------------------------------------------


def start_server(data_dir, port, threads, log):
    server = subprocess.Popen([sys.executable, "-m", "mapper", "serve", "--port", str(port), "--threads", str(threads),
                               "--data", str(data_dir)], cwd=ROOT, stdout=log, stderr=log)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            if server.poll() is not None:
                raise SystemExit(f"mapper serve stopped: see {log.name}")
            time.sleep(0.2)
    server.terminate()
    raise SystemExit("mapper serve did not start within 60 s")


def world_of(port):
    """Points, refs and report ids from the demo layers, split between the residents and the officer."""
    world = {"points": {}, "confirmable": {}, "officer": [], "refs": []}
    client = Client(port, "127.0.0.2", Recorder())
    for zone in ZONES:
        _, data, _ = client.request("setup", "GET", f"/api/zones/{zone}/lights.geojson")
        features = json.loads(data)["features"]
        world["points"][zone] = [tuple(feature["geometry"]["coordinates"][:2]) for feature in features]
        ids = [feature["id"] for feature in features if feature["properties"].get("status") == "open"]
        world["officer"] += [(zone, feature_id) for feature_id in ids[:3]]
        world["confirmable"][zone] = ids[3:] or ids
        world["refs"] += [feature["properties"]["ref"] for feature in features if feature["properties"].get("ref")]
    client.close()
    return world


ATTACKS = ("chunked", "big", "photos", "hotspots", "flood")


def run_phase(name, recorder, port, token, world, seconds, residents, attacks=()):
    recorder.phase = name
    until = time.monotonic() + seconds
    threads = [threading.Thread(target=resident, args=(port, f"127.0.0.{11 + i}", recorder, world, until,
                                                       (0.05, 0.25)))
               for i in range(residents)]
    threads.append(threading.Thread(target=officer, args=(port, token, recorder, world, until)))
    # The attacker runs in its own process, so its busy loops do not hold this process's GIL while it times the
    # residents' requests.
    results = multiprocessing.Queue()
    attacker = multiprocessing.Process(target=attack, args=(port, world, until, attacks, name, results), daemon=True)
    if attacks:
        attacker.start()
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 90)  # a request in flight at the end has its own timeout
    if attacks:
        rows, sent = results.get(timeout=120)
        attacker.join(timeout=30)
        recorder.rows[name] += rows
        for kind, values in sent.items():
            recorder.sent[kind] += values


def attack(port, world, until, attacks, phase, results):
    """The attacker's process: each chosen attack in its own threads until ``until``; puts (rows, bytes) on
    ``results``."""
    recorder = Recorder()
    recorder.phase = phase
    attackers = {"chunked": [(attacker_chunked, (port, recorder, until))],
                 "big": [(attacker_big_body, (port, recorder, until))],
                 "photos": [(attacker_photos, (port, recorder, world, until))],
                 "hotspots": [(attacker_hotspots, (port, recorder, "127.0.0.203", until)),
                              (attacker_hotspots, (port, recorder, "127.0.0.205", until))],
                 "flood": [(attacker_flood, (port, recorder, world, until))]}
    threads = [threading.Thread(target=target, args=arguments, daemon=True)
               for name in attacks for target, arguments in attackers[name]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=until - time.monotonic() + 90)
    with recorder.lock:
        results.put((list(recorder.rows[phase]), dict(recorder.sent)))


def warm_up(port, world):
    """One request of each resident kind per zone before the clock starts: first requests build caches."""
    client = Client(port, "127.0.0.2", Recorder())
    for zone in ZONES:
        for path in (f"/zones/{zone}", f"/api/zones/{zone}/lights.points", f"/api/zones/{zone}/lights.geojson"):
            client.request("setup", "GET", path, headers={"Accept-Encoding": "gzip"})
    client.request("setup", "GET", f"/r/{world['refs'][0]}")
    client.close()


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else float("nan")


def status_class(status):
    if status == 0:
        return "cut/err"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


def report(recorder, seconds):
    kinds = sorted({kind for rows in recorder.rows.values() for kind, _, _ in rows if kind != "setup"},
                   key=lambda kind: (kind.startswith("attack"), kind))
    phases = list(recorder.rows)
    print(f"\n{'request kind':<28}" + "".join(f"| {phase:^46} " for phase in phases))
    print(f"{'':<28}" + "| {:>6} {:>8} {:>8}  {:<20} ".format("n", "p50 ms", "p99 ms", "2xx/4xx/429/5xx/cut") *
          len(phases))
    for kind in kinds:
        line = f"{kind:<28}"
        for phase in phases:
            rows = [(status, duration) for k, status, duration in recorder.rows[phase] if k == kind]
            if not rows:
                line += "| " + " " * 45 + " "
                continue
            durations = [duration * 1000 for _, duration in rows]
            counts = defaultdict(int)
            for status, _ in rows:
                counts[status_class(status)] += 1
            spread = "/".join(str(counts[c]) for c in ("2xx", "4xx", "429", "5xx", "cut/err"))
            line += f"| {len(rows):>6} {percentile(durations, 0.5):>8.1f} {percentile(durations, 0.99):>8.1f}  " \
                    f"{spread:<20} "
        print(line)
    print()
    verdicts = []
    for phase in phases:
        rows = recorder.rows[phase]
        errors = sum(1 for kind, status, _ in rows if status >= 500)
        posts = [duration * 1000 for kind, status, duration in rows if kind == "resident POST /api/reports"]
        resident_rows = [status for kind, status, _ in rows if kind.startswith(("resident", "officer"))]
        resident_bad = sum(1 for status in resident_rows if status == 0 or status >= 500 or status == 429)
        p99 = percentile(posts, 0.99)
        print(f"{phase}: {len(rows)} requests in {seconds[phase]:.0f} s; 5xx: {errors}; residents' and officer's "
              f"requests refused or failed (429, 5xx, cut): {resident_bad} of {len(resident_rows)}; "
              f"resident POST p99 {p99:.1f} ms (goal < {GOAL_POST_P99_MS} ms)")
        # The goal: no 5xx at all, and the POST p99 while attacks run (the baseline's is there to compare).
        verdicts.append(errors == 0 and (phase == "baseline" or p99 < GOAL_POST_P99_MS))
    bytes_line = ", ".join(f"{kind}: {sum(sent) / 2**20:.1f} MB in {len(sent)} connections "
                           f"(max {max(sent) / 2**20:.2f} MB)" for kind, sent in recorder.sent.items() if sent)
    if bytes_line:
        print(f"attack bytes the server took before cutting: {bytes_line}")
    return all(verdicts)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=120, help="both phases together (a third is the baseline)")
    parser.add_argument("--residents", type=int, default=12, help="residents, each from its own address")
    parser.add_argument("--threads", type=int, default=8, help="mapper serve --threads")
    parser.add_argument("--attacks", default=",".join(ATTACKS), help=f"some of {','.join(ATTACKS)}")
    args = parser.parse_args()
    attacks = [name.strip() for name in args.attacks.split(",") if name.strip()]
    if not set(attacks) <= set(ATTACKS):
        parser.error(f"--attacks takes {', '.join(ATTACKS)}")

    data_dir = Path(tempfile.mkdtemp(prefix="mapper-load-"))
    print(f"machine: {machine()}")
    mapper("demo", data_dir=data_dir)
    for zone, file in ZONES.items():
        mapper("import-police", "--zone", zone, str(POLICE / file), data_dir=data_dir)
    mapper("users", "add", "loadofficer", "--role", "officer", "--zones", ",".join(ZONES), "--no-password",
           data_dir=data_dir)
    token = mapper("users", "token", "loadofficer", data_dir=data_dir)
    port = free_port()
    log = open(data_dir / "serve.log", "w")  # the server's own log, for the cause of any 5xx
    server = start_server(data_dir, port, args.threads, log)
    recorder = Recorder()
    try:
        world = world_of(port)
        warm_up(port, world)
        baseline, attacked = args.seconds / 3, args.seconds * 2 / 3
        print(f"mapper serve on 127.0.0.1:{port} ({args.threads} threads), data {data_dir}; {args.residents} "
              f"residents + 1 officer; baseline {baseline:.0f} s, then {attacked:.0f} s with attacks")
        run_phase("baseline", recorder, port, token, world, baseline, args.residents)
        run_phase("under attack", recorder, port, token, world, attacked, args.residents, attacks)
        alive = server.poll() is None
    finally:
        server.terminate()
        try:
            server.wait(timeout=40)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    met = report(recorder, {"baseline": baseline, "under attack": attacked})
    print(f"the server's log: {log.name}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} (other processes share these cores)")
    print(f"server still running at the end: {'yes' if alive else 'NO'}; goal {'met' if met and alive else 'NOT met'}")
    return 0 if met and alive else 1


if __name__ == "__main__":
    sys.exit(main())
