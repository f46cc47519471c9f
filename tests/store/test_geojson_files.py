"""The GeoJSON line store: layout, reads across instances, updates, torn tails and corrupt files."""

import json
import os
import threading

import pyogrio
import pytest
from shapely.geometry import Point

from mapper.errors import CorruptLayer, FeatureNotFound
from mapper.store.geojson_files import EMPTY_TAIL, TAIL, GeoJSONFileStore, header
from mapper.validate import Submission

ZONE = "bell-foundry"


def submission(i=0, category="out", **extra):
    return Submission("lights", Point(-1.195 + i * 1e-5, 52.77), {"category": category, "status": "open", **extra})


def layer_path(root, layer="lights"):
    return root / ZONE / f"{layer}.geojson"


@pytest.fixture
def root(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def store(root):
    return GeoJSONFileStore(root)


def test_empty_layer_reads_as_empty_without_creating_files(store, root):
    assert len(store.query(ZONE, "lights")) == 0
    assert not root.exists()


def test_append_writes_one_feature_per_line_in_a_valid_collection(store, root):
    stored = store.append(ZONE, "lights", [submission(0), submission(1, "dim")])
    text = layer_path(root).read_text()
    lines = text.splitlines()
    assert lines[0] == '{"type":"FeatureCollection","name":"lights","features":['
    assert lines[-1] == "]}"
    assert len(lines) == 4 and lines[1].endswith(",") and not lines[2].endswith(",")
    document = json.loads(text)
    assert [f["properties"]["id"] for f in document["features"]] == [f["id"] for f in stored]
    frame = pyogrio.read_dataframe(layer_path(root))
    assert list(frame["category"]) == ["out", "dim"]


def test_server_sets_id_zone_and_utc_timestamps(store):
    (feature,) = store.append(ZONE, "lights", [submission()])
    properties = feature["properties"]
    assert feature["id"] == properties["id"] and len(properties["id"]) == 32
    assert properties["zone"] == ZONE
    assert properties["created"].endswith("Z") and properties["created"] == properties["updated"]


def test_ids_are_unique_across_appends(store):
    ids = [f["id"] for _ in range(20) for f in store.append(ZONE, "lights", [submission(), submission()])]
    assert len(set(ids)) == 40


def test_first_append_to_an_empty_file_has_no_leading_comma(store, root):
    store.append(ZONE, "lights", [submission()])
    assert layer_path(root).read_bytes().count(b",\n{") == 0


def test_another_instance_sees_every_append_incrementally(store, root):
    other = GeoJSONFileStore(root)
    store.append(ZONE, "lights", [submission(0)])
    assert len(other.query(ZONE, "lights")) == 1
    store.append(ZONE, "lights", [submission(1), submission(2)])
    seen = other.query(ZONE, "lights")
    assert len(seen) == 3
    assert list(seen.columns["id"]) == [f["properties"]["id"] for f in seen]


def test_snapshots_do_not_change_after_later_appends(store):
    store.append(ZONE, "lights", [submission(0)])
    before = store.query(ZONE, "lights")
    store.append(ZONE, "lights", [submission(1)])
    assert len(before) == 1 and len(store.query(ZONE, "lights")) == 2


def test_get_returns_the_feature_or_raises(store):
    (feature,) = store.append(ZONE, "lights", [submission(description="hello")])
    assert store.get(ZONE, "lights", feature["id"])["properties"]["description"] == "hello"
    with pytest.raises(FeatureNotFound):
        store.get(ZONE, "lights", "nope")


def test_update_rewrites_atomically_and_other_instances_see_it(store, root):
    first, second = store.append(ZONE, "lights", [submission(0), submission(1)])
    inode = os.stat(layer_path(root)).st_ino
    other = GeoJSONFileStore(root)
    assert len(other.query(ZONE, "lights")) == 2
    updated = store.update(ZONE, "lights", second["id"], lambda p: {**p, "status": "fixed", "id": "forged"})
    assert updated["properties"]["status"] == "fixed"
    assert updated["properties"]["id"] == second["id"]  # the id cannot be changed by an update
    assert updated["properties"]["updated"] >= second["properties"]["updated"]
    assert os.stat(layer_path(root)).st_ino != inode  # replaced by rename, never written in place
    assert other.get(ZONE, "lights", second["id"])["properties"]["status"] == "fixed"
    assert [f["properties"]["status"] for f in other.query(ZONE, "lights")] == ["open", "fixed"]
    store.append(ZONE, "lights", [submission(2)])
    assert len(other.query(ZONE, "lights")) == 3


def test_query_filters_by_bbox_properties_and_since(store):
    store.append(ZONE, "lights", [submission(0, "out"), submission(100, "dim"), submission(200, "dim")])
    assert len(store.query(ZONE, "lights", where={"category": "dim"})) == 2
    assert len(store.query(ZONE, "lights", where={"category": ["dim", "out"]})) == 3
    assert len(store.query(ZONE, "lights", bbox=(-1.1951, 52.76, -1.1945, 52.78))) == 1
    assert len(store.query(ZONE, "lights", since="2000-01-01T00:00:00.000Z")) == 3
    assert len(store.query(ZONE, "lights", since="2999-01-01T00:00:00.000Z")) == 0
    assert len(store.query(ZONE, "lights", where={"description": "x"})) == 0


def test_private_properties_never_reach_the_layer_file(store, root):
    private = Submission("lights", Point(-1.195, 52.77), {"category": "out", "status": "open"},
                         private={"email": "resident@example.org"})
    (feature,) = store.append(ZONE, "lights", [private])
    assert b"resident@example.org" not in layer_path(root).read_bytes()
    assert "email" not in json.dumps(store.get(ZONE, "lights", feature["id"]))
    assert store.get_private(ZONE, "lights", feature["id"]) == {"email": "resident@example.org"}


def in_thread(function, *args, timeout=20):
    """Run ``function`` in a thread and return its result; fail (rather than hang the suite) if it deadlocks."""
    outcome = {}

    def run():
        try:
            outcome["value"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - re-raised below
            outcome["error"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f"{function.__name__} did not finish in {timeout} s: a deadlock"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_an_update_reads_private_fields_under_its_lock_and_stores_records_with_the_change(store, root):
    (feature,) = store.append(ZONE, "lights", [Submission("lights", Point(-1.195, 52.77), {
        "category": "out", "status": "open"}, private={"email": "r@example.org", "notes": {"seen": 1}})])
    GeoJSONFileStore(root).update(ZONE, "lights", feature["id"], lambda p: p, private=[
        {"id": feature["id"], "private": {"phone": "0116 000"}, "at": "x"}])  # another process, since our last read
    seen, records = [], []

    def change(properties, private):
        seen.append(private)
        private["notes"]["seen"] = 99  # a copy: changing it stores nothing and spoils no cache
        records.append({"id": feature["id"], "private": {"notes": {"seen": private["notes"]["seen"] + 1}}, "at": "y"})
        return {**properties, "status": "fixed"}

    updated = in_thread(lambda: store.update(ZONE, "lights", feature["id"], change, private=records,
                                             with_private=True))
    assert seen == [{"email": "r@example.org", "notes": {"seen": 99}, "phone": "0116 000"}]
    assert updated["properties"]["status"] == "fixed" and "email" not in json.dumps(updated)
    assert store.get_private(ZONE, "lights", feature["id"]) == {
        "email": "r@example.org", "notes": {"seen": 100}, "phone": "0116 000"}
    assert b"r@example.org" not in layer_path(root).read_bytes()


def test_an_update_that_raises_after_reading_private_fields_stores_nothing(store, root):
    (feature,) = store.append(ZONE, "lights", [Submission("lights", Point(-1.195, 52.77), {
        "category": "out", "status": "open"}, private={"email": "r@example.org"})])
    before = layer_path(root).read_bytes()

    def change(properties, private):
        records.append({"id": feature["id"], "private": {"email": None}, "at": "x"})
        raise ValueError(private["email"])

    records = []
    with pytest.raises(ValueError, match="r@example.org"):
        in_thread(lambda: store.update(ZONE, "lights", feature["id"], change, private=records, with_private=True))
    assert layer_path(root).read_bytes() == before
    assert store.get_private(ZONE, "lights", feature["id"]) == {"email": "r@example.org"}


def test_private_read_modify_writes_from_many_threads_and_stores_lose_nothing(store, root):
    """Each worker (threads of one store, and a second store as another process would be) adds one to a private
    counter it reads inside the update: every increment is kept only if the read is under the write lock."""
    (feature,) = store.append(ZONE, "lights", [submission()])
    stores = [store, GeoJSONFileStore(root)]

    def bump(worker):
        records = []

        def change(properties, private):
            records.append({"id": feature["id"], "private": {"count": private.get("count", 0) + 1}, "at": "x"})
            return properties

        stores[worker % 2].update(ZONE, "lights", feature["id"], change, private=records, with_private=True)

    threads = [threading.Thread(target=bump, args=(worker,), daemon=True) for worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not any(thread.is_alive() for thread in threads), "an update did not finish: a deadlock"
    assert store.get_private(ZONE, "lights", feature["id"]) == {"count": 8}


def test_a_file_qgis_rewrote_is_read_and_normalised_on_the_next_append(store, root):
    store.append(ZONE, "lights", [submission(0)])
    document = json.loads(layer_path(root).read_text())
    layer_path(root).write_text(json.dumps(document, indent=2))  # valid, but pretty-printed
    assert len(GeoJSONFileStore(root).query(ZONE, "lights")) == 1
    store.append(ZONE, "lights", [submission(1)])
    assert layer_path(root).read_bytes().startswith(header("lights"))
    assert len(json.loads(layer_path(root).read_text())["features"]) == 2


# -- damage ---------------------------------------------------------------------------------------------------------


def torn_append(root, store, payload_prefix):
    """Leave the file as a writer killed mid-pwrite would: the intent recorded, part of the payload written."""
    store.append(ZONE, "lights", [submission(0), submission(1)])
    path = layer_path(root)
    size = path.stat().st_size
    offset = size - len(TAIL)
    lock = root / ZONE / ".lights.geojson.lock"
    full = b',\n{"type":"Feature","id":"x","geometry":{"type":"Point","coordinates":[-1.19,52.77]},' \
           b'"properties":{"id":"x"}}' + TAIL
    with open(lock, "r+b") as f:
        f.write(f"{offset} {offset + len(full)}".encode().ljust(64))
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(full[:payload_prefix])
    return path


@pytest.mark.parametrize("written", [1, 2, 3, 10, 60, 110])
def test_a_torn_append_is_undone_on_the_next_read(root, store, written):
    path = torn_append(root, store, written)
    fresh = GeoJSONFileStore(root)
    assert len(fresh.query(ZONE, "lights")) == 2
    assert len(json.loads(path.read_text())["features"]) == 2
    assert len(pyogrio.read_dataframe(path)) == 2


def test_a_torn_append_is_undone_by_the_next_writer(root, store):
    path = torn_append(root, store, 40)
    GeoJSONFileStore(root).append(ZONE, "lights", [submission(3)])
    assert len(json.loads(path.read_text())["features"]) == 3


def test_a_torn_first_append_to_an_empty_layer_is_undone(root, store):
    path = layer_path(root)
    path.parent.mkdir(parents=True)
    path.write_bytes(header("lights") + EMPTY_TAIL)
    offset = len(header("lights"))
    (root / ZONE / ".lights.geojson.lock").write_bytes(f"{offset} {offset + 500}".encode().ljust(64))
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(b'{"type":"Fea')
    assert len(GeoJSONFileStore(root).query(ZONE, "lights")) == 0
    assert json.loads(path.read_text())["features"] == []


def test_a_file_truncated_in_the_middle_is_reported_with_path_and_line_and_left_alone(root, store):
    store.append(ZONE, "lights", [submission(i) for i in range(10)])
    path = layer_path(root)
    data = path.read_bytes()
    cut = data[: data.index(b"\n", len(data) // 2) + 30]  # part-way into line 7
    path.write_bytes(cut)
    with pytest.raises(CorruptLayer) as caught:
        GeoJSONFileStore(root).query(ZONE, "lights")
    assert caught.value.path == str(path) and caught.value.line == 7
    assert f"{path}:7:" in str(caught.value)
    with pytest.raises(CorruptLayer):
        GeoJSONFileStore(root).append(ZONE, "lights", [submission(99)])
    assert path.read_bytes() == cut  # never overwritten or emptied


def test_a_hand_edit_that_breaks_a_line_is_reported_with_its_line(root, store):
    store.append(ZONE, "lights", [submission(i) for i in range(5)])
    path = layer_path(root)
    lines = path.read_text().split("\n")
    lines[3] = lines[3].replace('"category":"out"', '"category":out')
    path.write_text("\n".join(lines))
    before = path.read_bytes()
    with pytest.raises(CorruptLayer) as caught:
        GeoJSONFileStore(root).query(ZONE, "lights")
    assert caught.value.line == 4
    assert GeoJSONFileStore(root).check() == [(str(path), 4, "not a complete JSON feature")]
    assert path.read_bytes() == before


def test_a_file_that_is_not_json_at_all_is_reported(root, store):
    path = layer_path(root)
    path.parent.mkdir(parents=True)
    path.write_text("this is not\ngeojson\n")
    with pytest.raises(CorruptLayer) as caught:
        store.query(ZONE, "lights")
    assert caught.value.line == 1 and str(path) in caught.value.message


def test_check_reports_duplicate_ids_and_bad_geometries(root, store):
    first, _ = store.append(ZONE, "lights", [submission(0), submission(1)])
    path = layer_path(root)
    lines = path.read_text().split("\n")
    lines[2] = lines[2].replace(_["id"], first["id"]).replace("[-1.19499,52.77]", "[null,52.77]")
    path.write_text("\n".join(lines))
    problems = store.check()
    assert (str(path), 3, f"the id {first['id']!r} appears twice") in problems
    assert (str(path), 3, "a geometry that is not valid GeoJSON") in problems


def test_unsafe_zone_or_layer_names_are_refused(store):
    from mapper.errors import StoreError

    for zone, layer in [("../etc", "lights"), (ZONE, "../../x"), (ZONE, "Lights"), ("", "lights")]:
        with pytest.raises(StoreError):
            store.query(zone, layer)


def test_lines_and_polygons_are_stored_and_found_by_their_bounds(store):
    from shapely.geometry import LineString

    walk = Submission("lights", LineString([(-1.20, 52.76), (-1.19, 52.77)]), {"category": "out", "status": "open"})
    (stored,) = store.append(ZONE, "lights", [walk])
    assert stored["geometry"]["type"] == "LineString"
    assert len(store.query(ZONE, "lights", bbox=(-1.195, 52.765, -1.194, 52.766))) == 1  # crosses the box
    assert len(store.query(ZONE, "lights", bbox=(-1.18, 52.76, -1.17, 52.77))) == 0
    assert store.check() == []


def test_an_idempotency_key_stores_once_and_survives_a_torn_private_record(store, root):
    first, created = store.append_once(ZONE, "lights", submission(0), key="phone-1")
    again, created_again = store.append_once(ZONE, "lights", submission(1), key="phone-1")
    assert created and not created_again and again["id"] == first["id"]
    with open(root / "_private" / ZONE / "lights.jsonl", "ab") as f:
        f.write(b'{"id":"x","key":"phone-2","priv')  # a writer killed mid-record: never acknowledged
    fresh = GeoJSONFileStore(root)
    second, created = fresh.append_once(ZONE, "lights", submission(2), key="phone-2")
    assert created and len(fresh.query(ZONE, "lights")) == 2
    assert fresh.append_once(ZONE, "lights", submission(3), key="phone-1")[0]["id"] == first["id"]
    assert GeoJSONFileStore(root).append_once(ZONE, "lights", submission(4), key="phone-2") == (second, False)


def test_unique_leaves_out_rows_already_stored_or_repeated_in_the_batch(store, root):
    first = store.append(ZONE, "lights", [submission(0, source_key="a"), submission(1, source_key="b")],
                         unique="source_key")
    assert [f["properties"]["source_key"] for f in first] == ["a", "b"]
    # another process's store object: it reads the keys from the file
    again = GeoJSONFileStore(root).append(ZONE, "lights", [
        submission(2, source_key="b"), submission(3, source_key="c"), submission(4, source_key="c"), submission(5)],
        unique="source_key")
    assert [f["properties"].get("source_key") for f in again] == ["c", None]  # no key: always new
    assert store.append(ZONE, "lights", [submission(6, source_key="a")], unique="source_key") == []
    keys = [f["properties"].get("source_key") for f in json.loads(layer_path(root).read_text())["features"]]
    assert keys == ["a", "b", "c", None]


def test_updating_a_layer_that_was_never_written_is_feature_not_found(store, root):
    with pytest.raises(FeatureNotFound):
        store.update("new-parks", "lights", "no-such-id", lambda properties: properties)
    assert not root.exists()


def test_values_are_a_property_s_values_kept_up_to_date_across_stores(store, root):
    assert store.values(ZONE, "lights", "source_key") == frozenset()
    store.append(ZONE, "lights", [submission(0, source_key="a"), submission(1)])
    other = GeoJSONFileStore(root)
    assert other.values(ZONE, "lights", "source_key") == {"a"}
    store.append(ZONE, "lights", [submission(2, source_key="b")])
    assert other.values(ZONE, "lights", "source_key") == {"a", "b"}  # the other process's append, read incrementally
