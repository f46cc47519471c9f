"""Several processes writing one layer at once, and writers killed with SIGKILL mid-stream."""

import json
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pyogrio

from mapper.store.geojson_files import GeoJSONFileStore

WRITER = Path(__file__).with_name("writer.py")
ZONE = "bell-foundry"


def start(root, count, mode="store"):
    return subprocess.Popen([sys.executable, str(WRITER), str(root), ZONE, str(count), mode],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def layer_ids(root):
    path = root / ZONE / "lights.geojson"
    return [f["properties"]["id"] for f in json.loads(path.read_text())["features"]]


def test_concurrent_writers_lose_and_duplicate_nothing(tmp_path):
    writers = [start(tmp_path, 150, "store") for _ in range(4)] + [start(tmp_path, 60, "http") for _ in range(2)]
    acknowledged = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        acknowledged += out.split()
    assert len(acknowledged) == 4 * 150 + 2 * 60
    on_disk = Counter(layer_ids(tmp_path))
    assert set(on_disk) == set(acknowledged)
    assert max(on_disk.values()) == 1
    assert len(pyogrio.read_dataframe(tmp_path / ZONE / "lights.geojson")) == len(acknowledged)
    assert GeoJSONFileStore(tmp_path).check() == []


def test_the_same_keyed_import_run_at_once_stores_each_row_once(tmp_path):
    writers = [start(tmp_path, 200, "keyed") for _ in range(4)]
    acknowledged = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        acknowledged += out.split()
    features = json.loads((tmp_path / ZONE / "lights.geojson").read_text())["features"]
    keys = Counter(f["properties"]["source_key"] for f in features)
    assert len(keys) == 200 and max(keys.values()) == 1  # each row once, whoever won it
    assert sorted(acknowledged) == sorted(f["properties"]["id"] for f in features)


def test_updates_racing_appends_lose_no_append(tmp_path):
    seed = start(tmp_path, 20)
    seed.communicate(timeout=60)
    writers = [start(tmp_path, 100, "store"), start(tmp_path, 100, "store"), start(tmp_path, 40, "update")]
    acknowledged = []
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        if writer is not writers[-1]:
            acknowledged += out.split()
    on_disk = Counter(layer_ids(tmp_path))
    assert set(acknowledged) <= set(on_disk) and len(on_disk) == 220 and max(on_disk.values()) == 1
    assert any(f["properties"]["description"].startswith("updated")
               for f in json.loads((tmp_path / ZONE / "lights.geojson").read_text())["features"])


def test_a_reader_in_another_process_sees_every_acknowledged_write(tmp_path):
    reader = GeoJSONFileStore(tmp_path)
    writer = start(tmp_path, 200)
    seen = 0
    for line in writer.stdout:
        acknowledged_id = line.strip()
        features = reader.query(ZONE, "lights")
        assert acknowledged_id in set(features.columns["id"])
        assert len(features) >= seen
        seen = len(features)
    writer.wait(timeout=60)
    assert seen == 200


def test_kill_9_mid_stream_keeps_every_acknowledged_feature(tmp_path):
    random.seed(7)
    acknowledged = []
    for round_number in range(6):
        writer = start(tmp_path, 100_000)
        acknowledged.append(writer.stdout.readline().strip())  # started writing (imports can take a while)
        deadline = time.monotonic() + random.uniform(0.05, 0.5)
        while time.monotonic() < deadline:
            acknowledged.append(writer.stdout.readline().strip())
        writer.send_signal(signal.SIGKILL)
        rest, _ = writer.communicate(timeout=30)
        acknowledged += rest.split()  # printed (so acknowledged) before the kill landed
        acknowledged = [a for a in acknowledged if a]
        path = tmp_path / ZONE / "lights.geojson"
        # The file must be readable as it is; if the kill tore a write, the store's next open must mend it.
        try:
            frame = pyogrio.read_dataframe(path)
        except Exception:
            GeoJSONFileStore(tmp_path).query(ZONE, "lights")
            frame = pyogrio.read_dataframe(path)
        on_disk = set(frame["id"])
        assert set(acknowledged) <= on_disk, f"round {round_number}: acknowledged features lost"
        assert len(GeoJSONFileStore(tmp_path).query(ZONE, "lights")) == len(frame)
    assert len(acknowledged) >= 12  # the writer really was mid-stream when killed
