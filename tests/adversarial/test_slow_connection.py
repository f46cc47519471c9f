"""Issue #11, finding 2: one anonymous connection must not pin a real ``mapper serve``.

Each test talks raw HTTP/1.1 over a socket to a ``mapper serve`` subprocess on 127.0.0.1, the way an attacker does:
a chunk-size line that never ends (waitress 3.0.2 re-scans it on every read, so its cost grows with its square), bodies
far over the app's 12 MB limit (waitress's own limit was 1 GB, buffered to a temporary file before Flask's 413), and
request headers dripped a byte at a time (nothing bounded how long they may take). The header deadline and idle
timeout are set small through their MAPPER_SERVE_* settings so the module takes about 20 s.
"""

import http.client
import http.cookiejar
import os
import re
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

HEADER_TIMEOUT = 2  # MAPPER_SERVE_HEADER_TIMEOUT for this server (default 20 s)
CHANNEL_TIMEOUT = 3  # MAPPER_SERVE_CHANNEL_TIMEOUT for this server (default 30 s)
MAX_CONTENT_LENGTH = 12 * 1024 * 1024  # the app's limit (create_app)
PIECE = 64 * 1024
PASSWORD = "a long enough password for the clerk"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real ``mapper serve`` on a free port of 127.0.0.1, with an officer's API token; yields (port, pid, token)."""
    data_dir, port = tmp_path_factory.mktemp("store"), free_port()
    mapper = [sys.executable, "-m", "mapper"]
    subprocess.run(mapper + ["users", "add", "clerk", "--role", "officer", "--zones", "bell-foundry",
                             "--password", PASSWORD, "--data", str(data_dir)], check=True, capture_output=True)
    token = subprocess.run(mapper + ["users", "token", "clerk", "--data", str(data_dir)], check=True,
                           capture_output=True, text=True).stdout.strip()
    environment = dict(os.environ, MAPPER_SERVE_HEADER_TIMEOUT=str(HEADER_TIMEOUT),
                       MAPPER_SERVE_CHANNEL_TIMEOUT=str(CHANNEL_TIMEOUT))
    log_path = data_dir.parent / "serve.log"  # a file, not a pipe: nobody reads a pipe while the tests run
    log = open(log_path, "w")
    process = subprocess.Popen(mapper + ["serve", "--port", str(port), "--data", str(data_dir)],
                               env=environment, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 90  # a loaded 2-core CI machine takes a while to import geopandas & co.
        while True:
            try:
                assert get(port, "/api/zones")[0] == 200
                break
            except OSError:
                assert process.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "mapper serve did not answer within 90 s"
                time.sleep(0.2)
        yield port, process.pid, token
    finally:
        process.terminate()
        process.wait(timeout=40)
        log.close()


def get(port, path, connection=None):
    """(status, seconds) of one GET, on ``connection`` if given (kept alive) or a new one."""
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    started = time.perf_counter()
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        if own:
            connection.close()


class Timer(threading.Thread):
    """Times GET /api/zones on one kept-alive connection, every 20 ms, until stopped: a resident reading meanwhile."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port, self.stop, self.seconds, self.statuses = port, threading.Event(), [], []

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        while not self.stop.is_set():
            status, seconds = get(self.port, "/api/zones", connection)
            self.statuses.append(status)
            self.seconds.append(seconds)
            time.sleep(0.02)
        connection.close()


def attack(port, head, piece, limit_bytes, limit_seconds):
    """Send ``head`` then ``piece`` again and again until the server answers or cuts the connection (or the limits).

    Returns (bytes of body sent, seconds, the first bytes of the answer or b"", whether the server cut it off).
    """
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        # A small send buffer, so 'sent' is close to what the server took rather than what the kernel queued.
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 128 * 1024)
        connection.sendall(head)
        sent, started, answer = 0, time.monotonic(), b""
        while sent < limit_bytes and time.monotonic() - started < limit_seconds:
            readable, _, _ = select.select([connection], [], [], 0)
            if readable:
                try:
                    answer = connection.recv(200)
                except ConnectionResetError:
                    pass
                return sent, time.monotonic() - started, answer, True
            try:
                connection.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                return sent, time.monotonic() - started, answer, True
            sent += len(piece)
        return sent, time.monotonic() - started, answer, False


def chunked_head(path="/api/reports"):
    return (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Transfer-Encoding: chunked\r\n\r\n").encode()


def test_a_chunk_size_line_that_never_ends_is_cut_within_seconds_and_reads_stay_fast(server):
    port, _, _ = server
    quiet = Timer(port)  # the same reads before the attack: a CI machine's own load moves both
    quiet.start()
    time.sleep(1.5)
    quiet.stop.set()
    quiet.join(timeout=30)
    timer = Timer(port)
    timer.start()
    attacks, started = [], time.monotonic()
    try:
        # A size line, a chunk extension, a trailer after the last chunk: none ever ends. New ones for 3 s.
        kinds = [(chunked_head(), b"f" * PIECE), (chunked_head(), b"1;" + b"x" * (PIECE - 2)),
                 (chunked_head() + b"0\r\nX-Trailer: ", b"x" * PIECE)]
        while time.monotonic() - started < 3 and (not attacks or attacks[-1][3]):
            head, piece = kinds[len(attacks) % len(kinds)]
            attacks.append(attack(port, head, piece, 16 * 1024 * 1024, limit_seconds=8))
    finally:
        timer.stop.set()
        timer.join(timeout=30)
    for sent, seconds, answer, cut in attacks:
        assert cut, f"still open after sending {sent / 2**20:.0f} MB in {seconds:.1f} s"
        assert seconds < 5 and sent <= 4 * 1024 * 1024, f"cut only after {sent / 2**20:.1f} MB and {seconds:.1f} s"
        assert answer == b"" or answer.startswith(b"HTTP/1.1 400 "), answer
    assert set(timer.statuses) == {200}
    median, quiet_median = statistics.median(timer.seconds), statistics.median(quiet.seconds)
    assert median < max(0.1, 3 * quiet_median), \
        f"GET /api/zones took {median * 1000:.0f} ms (median) during the attack, {quiet_median * 1000:.0f} ms before"


class FileWatcher(threading.Thread):
    """The largest temporary file that process ``pid`` holds open (waitress spills bodies to one), and its largest
    resident memory, sampled every 20 ms until stopped."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.stop, self.largest_file, self.largest_rss = pid, threading.Event(), 0, 0

    def run(self):
        while not self.stop.is_set():
            self.largest_file = max([self.largest_file] + list(temporary_file_sizes(self.pid)))
            self.largest_rss = max(self.largest_rss, resident_bytes(self.pid))
            time.sleep(0.02)


def temporary_file_sizes(pid):
    for link in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(link)
            status = link.stat()  # follows the link to the file, which is there while open even once deleted
        except OSError:
            continue
        if target.startswith(tempfile.gettempdir()) and status.st_mode & 0o170000 == 0o100000:
            yield status.st_size


def resident_bytes(pid):
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_a_50_mb_body_gets_413_without_being_buffered_whole(server, framing):
    port, pid, _ = server
    size = 50 * 1024 * 1024
    if framing == "content-length":
        head = (f"POST /api/reports HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Content-Length: {size}\r\n\r\n").encode()
        piece = b"x" * PIECE
    else:
        head, piece = chunked_head(), b"%x\r\n" % PIECE + b"x" * PIECE + b"\r\n"
    watcher = FileWatcher(pid)
    rss_before = resident_bytes(pid)
    watcher.start()
    try:
        sent, seconds, answer, cut = attack(port, head, piece, size, limit_seconds=15)
    finally:
        watcher.stop.set()
        watcher.join(timeout=10)
    assert cut, f"still open after sending {sent / 2**20:.0f} MB in {seconds:.1f} s"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer
    # The Content-Length path is refused on its header; the chunked one once it passes the limit (plus a margin).
    allowed = 2 * 1024 * 1024 if framing == "content-length" else MAX_CONTENT_LENGTH + 4 * 1024 * 1024
    assert sent <= allowed, f"the server took {sent / 2**20:.1f} MB before refusing"
    assert seconds < 5
    assert watcher.largest_file <= allowed, f"a {watcher.largest_file / 2**20:.1f} MB file was held open"
    growth = watcher.largest_rss - rss_before
    assert growth < 32 * 1024 * 1024, f"resident memory grew by {growth / 2**20:.0f} MB"


def test_headers_dripped_a_byte_at_a_time_and_an_idle_connection_are_closed(server):
    port, _, _ = server
    drip = socket.create_connection(("127.0.0.1", port), timeout=10)
    idle = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        drip.sendall(b"GET /api/zones HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        connections, started, closed = {"drip": drip, "idle": idle}, time.monotonic(), {}
        while len(closed) < 2 and time.monotonic() - started < HEADER_TIMEOUT + CHANNEL_TIMEOUT + 6:
            if "drip" not in closed:
                try:
                    drip.sendall(b"X")  # a header name that never ends, one byte every 0.25 s
                except (BrokenPipeError, ConnectionResetError):
                    closed["drip"] = time.monotonic() - started
            still_open = [name for name in connections if name not in closed]
            readable, _, _ = select.select([connections[name] for name in still_open], [], [], 0.25)
            for name in still_open:
                if connections[name] in readable:
                    try:
                        data = connections[name].recv(200)
                    except ConnectionResetError:
                        data = b""
                    closed[name] = time.monotonic() - started
                    assert data == b"" or data.startswith(b"HTTP/1.1 408 "), data
    finally:
        drip.close()
        idle.close()
    assert "drip" in closed, "headers dripped a byte at a time kept the connection open"
    assert closed["drip"] < HEADER_TIMEOUT + 2.5, f"the dripping connection was closed after {closed['drip']:.1f} s"
    assert "idle" in closed, "an idle connection was kept open"
    assert closed["idle"] < CHANNEL_TIMEOUT + 3.5, f"the idle connection was closed after {closed['idle']:.1f} s"


def test_only_a_signed_in_officer_may_send_a_police_upload_over_the_app_limit(server):
    # Police uploads take up to 36 files of 20 MB (mapper/web/analysts.py); waitress reads a body before the app can
    # check who sends it, so the larger limit goes only to requests carrying a live sign-in or API token.
    port, _, token = server
    boundary = "mapper-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.csv\"\r\n"
            f"Content-Type: text/csv\r\n\r\n").encode() + b"x" * (MAX_CONTENT_LENGTH + 2 * 1024 * 1024) \
        + f"\r\n--{boundary}--\r\n".encode()
    path, form = "/zones/bell-foundry/crime/upload", f"multipart/form-data; boundary={boundary}"
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {form}\r\n"
            f"Content-Length: {len(body)}\r\n").encode()

    sent, seconds, answer, cut = attack(port, head + b"Authorization: Bearer mapper_forged\r\n\r\n", b"x" * PIECE,
                                        len(body), limit_seconds=15)
    assert cut and sent <= 2 * 1024 * 1024, f"the server took {sent / 2**20:.1f} MB from a forged token"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 413 "), answer

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", path, body=body, headers={"Content-Type": form, "Authorization": f"Bearer {token}"})
    response = connection.getresponse()
    text = response.read().decode()
    connection.close()
    # Past waitress, the app judges it (the CSV is no police.uk file): not waitress's plain-text 413.
    assert response.status != 413 and "Request Entity Too Large" not in text, (response.status, text[:300])

    # The officers' page sends the session cookie of a sign-in through the form.
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    base = f"http://127.0.0.1:{port}"
    login = urllib.parse.urlencode({"csrf_token": csrf_token(browser, f"{base}/login"), "name": "clerk",
                                    "password": PASSWORD}).encode()
    browser.open(f"{base}/login", data=login, timeout=30).read()
    with_token = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
                  f"{csrf_token(browser, base + path)}\r\n").encode() + body
    request = urllib.request.Request(base + path, data=with_token, headers={"Content-Type": form})
    try:
        status, text = 200, browser.open(request, timeout=60).read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    assert status != 413 and "Request Entity Too Large" not in text, (status, text[:300])
    assert "big.csv" in text  # the upload page names the file it could not read


def csrf_token(browser, url):
    page = browser.open(url, timeout=30).read().decode()
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
