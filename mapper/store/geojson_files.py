"""The GeoJSON files backend: ``<data dir>/<zone id>/<layer>.geojson``, one feature per line.

File layout (every byte written by :class:`LayerFile`)::

    {"type":"FeatureCollection","name":"lights","features":[
    {"type":"Feature",...},
    {"type":"Feature",...}
    ]}

Appending overwrites the closing ``\\n]}\\n`` with ``,\\n<feature>\\n]}\\n`` in one ``pwrite`` at a known offset and
``fdatasync``s it, under an exclusive ``flock`` on a sibling lock file: O(1) whatever the layer's size. Before
writing, the writer records ``<offset> <new size>`` in the lock file; if the process dies mid-write, the next
process to open the layer sees a torn tail that starts exactly there and truncates it back (that write was never
acknowledged). Damage anywhere else (a hand edit, a truncation) is reported as CorruptLayer with the path and line,
and the file is left untouched. Updates rewrite the file through a temporary file, fsync and rename.

Readers keep a per-process cache of each layer and read only the bytes appended since their last look; a
rename (an update) or any other change makes them reload the whole file.
"""

import copy
import gc
import json
import logging
import os
import secrets
import threading
import uuid
from contextlib import contextmanager, nullcontext
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import orjson
from shapely.geometry import mapping, shape

from mapper.durable import (PRIVATE_DIRECTORY, PRIVATE_FILE, PUBLIC_FILE, atomic_write, ensure_directory,
                            fsync_directory, keep_mode, locked)
from mapper.errors import CorruptLayer, FeatureNotFound, StoreError
from mapper.schema import SLUG
from mapper.store import Store
from mapper.store.features import FeatureSet
from mapper.validate import format_datetime

log = logging.getLogger(__name__)

TAIL = b"\n]}\n"  # closes a collection with features
EMPTY_TAIL = b"]}\n"  # closes an empty one, right after the header's newline
PRIVATE_DIR = "_private"  # not a valid zone id, so it can never clash with one
NO_INTENT = b" " * 64
COLUMNS = {"id": object, "ref": object, "lon": float, "lat": float, "min_lon": float, "min_lat": float, "max_lon": float,
           "max_lat": float, "category": object, "status": object, "created": str}


def loads(line):
    """Parse one feature line. orjson parses a 100,000-feature layer about twice as fast as the json module."""
    return orjson.loads(line)


def header(layer):
    return b'{"type":"FeatureCollection","name":' + json.dumps(layer).encode() + b',"features":[\n'


def new_id():
    return uuid.uuid4().hex


# No 0/O, 1/I/L, 5/S or 8/B: a reference read out over the phone or copied from a screen survives.
REF_ALPHABET = "234679ACDEFGHJKMNPQRTUVWXYZ"
REF_LENGTH = 5  # 27^5 = 14 million per zone and layer: random, so not guessable in sequence


def new_ref(prefix, taken):
    """A short reference like ``BF-7K3QX``, not in ``taken``."""
    while True:
        ref = f"{prefix}-" + "".join(secrets.choice(REF_ALPHABET) for _ in range(REF_LENGTH))
        if ref not in taken:
            return ref


def now():
    return format_datetime(datetime.now(timezone.utc))


def encode_feature(feature):
    """One feature as one line of compact UTF-8 JSON (json.dumps escapes every newline inside strings)."""
    return json.dumps(feature, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


class Parsed:
    """The outcome of reading a layer file: feature lines, where they end, and what (if anything) is wrong."""

    def __init__(self, lines, end, clean, problem=None, canonical=True, features=None):
        self.lines = lines  # raw JSON of each feature, without the separator
        self.features = features if features is not None else [loads(line) for line in lines]
        self.end = end  # byte offset just after the last feature (where the tail starts)
        self.clean = clean
        self.problem = problem  # (line number, reason) of the first damage
        self.canonical = canonical  # False: valid GeoJSON, but not in the one-feature-per-line layout


def parse_layer(data, layer):
    """Split a layer file into feature lines, checking the layout. Never raises for bad content."""
    with no_garbage_collection():
        return _parse_layer(data, layer)


@contextmanager
def no_garbage_collection():
    """Building 100,000 small dicts triggers the cyclic collector dozens of times for nothing (they hold no
    cycles); pausing it halves the time to load a large layer."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _parse_layer(data, layer):
    head = header(layer)
    if not data.startswith(head):
        return _parse_foreign(data)
    if data[len(head):] == EMPTY_TAIL:
        return Parsed([], len(head), clean=True)
    if data.endswith(TAIL):
        # Fast path for an intact file: one C-level parse of all features instead of one per line.
        body = data[len(head):-len(TAIL)]
        lines = body.split(b",\n")
        if body.count(b"\n") == len(lines) - 1:  # every newline is a separator: one feature per line
            try:
                features = orjson.loads(b"[" + body + b"]")
            except orjson.JSONDecodeError:
                features = None
            if features is not None and len(features) == len(lines) and all(
                    isinstance(f, dict) and f.get("type") == "Feature" for f in features):
                return Parsed(lines, len(data) - len(TAIL), clean=True, features=features)
    lines, features, position, number, end = [], [], len(head), 2, len(head)
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            return Parsed(lines, end, False, (number, "the file ends in the middle of a feature"), features=features)
        line = data[position:newline]
        if line == b"]}" and lines and newline + 1 == len(data):
            if data[end:end + 2] == b",\n":
                return Parsed(lines, end, False, (number - 1, "a comma after the last feature"), features=features)
            return Parsed(lines, end, clean=True, features=features)
        if lines and data[end:end + 2] != b",\n":
            return Parsed(lines, end, False, (number - 1, "a missing comma between features"), features=features)
        body = line[:-1] if line.endswith(b",") else line
        try:
            feature = loads(body)
        except (ValueError, UnicodeDecodeError):
            return Parsed(lines, end, False, (number, "not a complete JSON feature"), features=features)
        if not isinstance(feature, dict) or feature.get("type") != "Feature":
            return Parsed(lines, end, False, (number, "not a GeoJSON Feature"), features=features)
        lines.append(body)
        features.append(feature)
        end = position + len(body)
        position, number = newline + 1, number + 1


def _parse_foreign(data):
    """A file some other program wrote (QGIS, a text editor): accept it if it is a valid FeatureCollection."""
    try:
        document = json.loads(data)
    except json.JSONDecodeError as e:
        return Parsed([], 0, False, (e.lineno, f"not valid JSON: {e.msg}"), canonical=False)
    except (ValueError, UnicodeDecodeError) as e:
        return Parsed([], 0, False, (1, f"not valid JSON: {e}"), canonical=False)
    if not isinstance(document, dict) or document.get("type") != "FeatureCollection":
        return Parsed([], 0, False, (1, "not a GeoJSON FeatureCollection"), canonical=False)
    features = document.get("features")
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        return Parsed([], 0, False, (1, "'features' is not a list of objects"), canonical=False)
    return Parsed([encode_feature(f) for f in features], 0, clean=True, canonical=False, features=features)


class LayerCache:
    """What one process knows of one layer file: its identity, its feature lines, and their columns.

    Columns grow as Python lists (amortised O(1) per append) and become NumPy arrays only when a query asks.
    """

    def __init__(self, name, identity=None, size=0, end=0, lines=(), features=()):
        self.name = name
        self.identity = identity  # (st_dev, st_ino, st_size, st_mtime_ns) when read
        self.size = size
        self.end = end
        self.lines = []
        self.index = {}
        self.values = {key: [] for key in COLUMNS}
        self._arrays = None
        self._property_values = {}  # property name -> set of its values, built on first use (see property_values)
        with no_garbage_collection():
            self.extend(lines, features)

    def extend(self, lines, features=None):
        """Add feature lines (and their parsed form, when the caller has it) and their column values."""
        if features is None:
            features = [loads(line) for line in lines]
        properties = [f.get("properties") or {} for f in features]
        points = [_position(f.get("geometry")) for f in features]
        ids = [p.get("id", f.get("id")) for p, f in zip(properties, features)]
        start = len(self.lines)
        self.lines.extend(lines)
        self.index.update(zip(ids, range(start, start + len(ids))))
        values = self.values
        values["id"].extend(ids)
        values["ref"].extend(p.get("ref") for p in properties)
        for column, position in zip(("lon", "lat", "min_lon", "min_lat", "max_lon", "max_lat"), zip(*points)):
            values[column].extend(position)
        values["category"].extend(p.get("category") for p in properties)
        values["status"].extend(p.get("status") for p in properties)
        values["created"].extend(p.get("created") or "" for p in properties)
        for name, known in self._property_values.items():
            known.update(p[name] for p in properties if p.get(name) is not None)
        self._arrays = None

    def property_values(self, name):
        """Every value of the property ``name`` in the layer, as a set: parsed once, then kept up to date by
        :meth:`extend` (an import's keys, checked under the layer lock on every append)."""
        known = self._property_values.get(name)
        if known is None:
            features = orjson.loads(b"[" + b",".join(self.lines) + b"]") if self.lines else []
            known = {(f.get("properties") or {}).get(name) for f in features} - {None}
            self._property_values[name] = known
        return known

    def feature_set(self):
        """A snapshot: later appends to this cache never change it."""
        if self._arrays is None:
            self._arrays = {key: np.array(self.values[key], dtype=dtype) for key, dtype in COLUMNS.items()}
        return FeatureSet(self.name, self.lines[:], self._arrays)


def _position(geometry):
    """(lon, lat, min lon, min lat, max lon, max lat): a point's own position; for lines and polygons a point on
    them and their bounds. NaN for a geometry that cannot be read."""
    if isinstance(geometry, dict) and geometry.get("type") == "Point":
        coordinates = geometry.get("coordinates")
        if isinstance(coordinates, list) and len(coordinates) >= 2:
            lon, lat = coordinates[0], coordinates[1]
            return lon, lat, lon, lat, lon, lat
    try:
        shaped = shape(geometry)
        point = shaped.representative_point()
        return (point.x, point.y, *shaped.bounds)
    except Exception:  # anything a hand edit can leave; `mapper check` reports it
        return (np.nan,) * 6


class PrivateIndex:
    """This process's view of a layer's private sidecar (append-only JSON lines): private fields per feature id, and
    which feature each idempotency key was used for. Reads only what was appended since the last look."""

    def __init__(self):
        self.offset = 0
        self.fields = {}
        self.keys = {}
        self.history = {}  # feature id -> {history index: {"by", "internal_note", "at"}}
        self._lock = threading.Lock()

    def refresh(self, path):
        with self._lock:
            return self._refresh(path)

    def _refresh(self, path):
        try:
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                if size < self.offset:  # replaced by hand: start again
                    self.offset, self.fields, self.keys, self.history = 0, {}, {}, {}
                f.seek(self.offset)
                data = f.read(size - self.offset)
        except FileNotFoundError:
            return self
        complete = data.rfind(b"\n") + 1  # a torn last record was never acknowledged: leave it for now
        for line in data[:complete].split(b"\n"):
            try:
                record = loads(line)
            except orjson.JSONDecodeError:
                continue
            if "key" in record:
                self.keys[record["key"]] = record.get("id")
            if "private" in record:
                self.fields.setdefault(record.get("id"), {}).update(record["private"])
            if isinstance(record.get("history"), int):
                details = {name: record.get(name) for name in ("by", "internal_note", "at")}
                self.history.setdefault(record.get("id"), {})[record["history"]] = details
        self.offset += complete
        return self


class LayerFile:
    """One layer of one zone on disk: the file, its lock file, its private sidecar, and this process's cache.

    ``private``: the layer's files hold what the public may not read (``Layer.private_files``), so they are 0600;
    a private sidecar always is, in a 0700 ``_private`` directory."""

    def __init__(self, root, zone, layer, private=False):
        if not (isinstance(zone, str) and SLUG.match(zone) and isinstance(layer, str) and SLUG.match(layer)):
            raise StoreError(f"Refusing unsafe zone or layer name {zone!r}/{layer!r}.")
        self.zone, self.layer = zone, layer
        self.directory = Path(root) / zone
        self.path = self.directory / f"{layer}.geojson"
        self.lock_path = self.directory / f".{layer}.geojson.lock"
        self.private_path = Path(root) / PRIVATE_DIR / zone / f"{layer}.jsonl"
        self.mode = PRIVATE_FILE if private else PUBLIC_FILE
        self._cache = LayerCache(layer)
        self._cache_lock = threading.Lock()
        self._private = PrivateIndex()

    # -- reading ------------------------------------------------------------------------------------------------

    def snapshot(self):
        """Every feature acknowledged before this call, as a FeatureSet."""
        with self._cache_lock:
            self._ensure_current()
            return self._cache.feature_set()

    def _ensure_current(self):
        """Bring this process's cache up to date with the file (raises CorruptLayer for a damaged file)."""
        identity = self._identity()
        if identity is None:
            self._cache = LayerCache(self.layer)
        elif identity != self._cache.identity:
            self._refresh()

    def _identity(self):
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return None
        return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _refresh(self, held_fd=None):
        """Re-read the file into the cache. ``held_fd``: the caller already holds the exclusive lock."""
        if not self.lock_path.parent.is_dir():
            self._cache = LayerCache(self.layer)
            return
        with nullcontext() if held_fd is not None else locked(self.lock_path, exclusive=False, mode=self.mode):
            if self._read_appended():
                return
            parsed, identity = self._read_whole()
        if not parsed.clean:
            with nullcontext(held_fd) if held_fd is not None else locked(self.lock_path, True, self.mode) as fd:
                parsed, identity = self._read_whole()
                if not parsed.clean:
                    parsed = self._recover(parsed, fd)
                    identity = self._identity()
        self._cache = LayerCache(self.layer, identity, identity[2] if identity else 0, parsed.end, parsed.lines,
                                 parsed.features)

    def _read_appended(self):
        """Read only what was appended since the cache was filled; False if the file changed any other way."""
        cache = self._cache
        if cache.identity is None or not cache.lines:
            return False
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            if (st.st_dev, st.st_ino) != cache.identity[:2] or st.st_size <= cache.size:
                return False
            f.seek(cache.end - 1)
            added = f.read(st.st_size - cache.end + 1)
        if not (added.startswith(b"},\n") and added.endswith(TAIL)):
            return False
        body = added[3:-len(TAIL)]
        lines = body.split(b",\n") if body else []
        if any(b"\n" in line for line in lines):
            return False
        cache.extend(lines)
        cache.identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        cache.size = st.st_size
        cache.end = st.st_size - len(TAIL)
        return True

    def _read_whole(self):
        with open(self.path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
        return parse_layer(data, self.layer), (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)

    def _recover(self, parsed, lock_fd):
        """Undo a torn append that this store started (proved by the intent record), or raise CorruptLayer."""
        intent = os.pread(lock_fd, 64, 0).split()
        if parsed.canonical and len(intent) == 2:
            offset, new_size = int(intent[0]), int(intent[1])
            data = self.path.read_bytes()
            head = header(self.layer)
            if len(head) <= offset <= len(data) <= new_size:
                kept = data[:offset] + (TAIL if offset > len(head) else EMPTY_TAIL)
                repaired = parse_layer(kept, self.layer)
                if repaired.clean:
                    log.warning("%s: removing a torn, unacknowledged append at byte %d", self.path, offset)
                    with open(self.path, "r+b") as f:
                        f.truncate(offset)
                        f.seek(offset)
                        f.write(kept[offset:])
                        f.flush()
                        os.fsync(f.fileno())
                    os.pwrite(lock_fd, NO_INTENT, 0)
                    return repaired
        line, reason = parsed.problem
        raise CorruptLayer(self.path, line, reason)

    def get(self, feature_id):
        features = self.snapshot()
        with self._cache_lock:
            position = self._cache.index.get(feature_id)
            line = self._cache.lines[position] if position is not None and position < len(features) else None
        if line is None:
            raise FeatureNotFound(f"No feature {feature_id!r} in layer {self.layer!r} of zone {self.zone!r}.",
                                  field="id")
        return json.loads(line)

    def get_private(self, feature_id):
        return dict(self._private.refresh(self.private_path).fields.get(feature_id, {}))

    def private_history(self, feature_id):
        return dict(self._private.refresh(self.private_path).history.get(feature_id, {}))

    def property_values(self, name):
        with self._cache_lock:
            self._ensure_current()
            return frozenset(self._cache.property_values(name))

    def find(self, column, value):
        """The feature whose ``column`` (``ref`` or ``id``) equals ``value``, or None."""
        features = self.snapshot()
        matches = np.flatnonzero(features.columns[column] == value)
        return loads(features.lines[matches[0]]) if len(matches) else None

    # -- writing ------------------------------------------------------------------------------------------------

    def append(self, features, private_records=(), ref_prefix=None, key=None, unique=None):
        """Append whole features (already carrying ids) durably, in one write; return them.

        ``ref_prefix`` gives each feature a short reference (``BF-7K3QX``) unique in the layer. ``key`` (a single
        feature's client-chosen idempotency key): if a feature was already stored under it, nothing is written and
        that feature is returned instead, so a retried submission is stored exactly once. ``unique`` (a property
        name, e.g. an import's ``source_key``): features whose value of it is already in the layer, or earlier in
        the batch, are left out under the lock, so two imports of one file at once add its rows once; only the
        features written are returned.
        """
        if not features:
            return []
        ensure_directory(self.directory)
        # The thread lock before the file lock, always, as in snapshot(): the other order can deadlock two threads.
        with self._cache_lock, locked(self.lock_path, exclusive=True, mode=self.mode) as lock_fd:
            identity = self._identity()
            if identity is not None and identity != self._cache.identity:
                self._refresh(held_fd=lock_fd)  # raises CorruptLayer for a layer that cannot be read back
            if key is not None:
                existing = self._feature_for_key(key)
                if existing is not None:
                    return [existing]
            if unique is not None:
                features, private_records = self._new_only(features, private_records, unique)
                if not features:
                    return []
            if ref_prefix:
                taken = set(self._cache.values["ref"])
                for feature in features:
                    feature["properties"]["ref"] = new_ref(ref_prefix, taken)
                    taken.add(feature["properties"]["ref"])
            private_records = list(private_records)
            if key is not None:
                private_records.append({"id": features[0]["id"], "key": key})
            if private_records:
                self._append_private(private_records)
            self._write_features(features, lock_fd)
        return features

    def _new_only(self, features, private_records, name):
        """The features whose property ``name`` is not yet in the layer (nor earlier in the batch), with their
        private records. A feature without the property is always new."""
        taken = set(self._cache.property_values(name))
        kept = []
        for feature in features:
            value = feature["properties"].get(name)
            if value is None or value not in taken:
                kept.append(feature)
                if value is not None:
                    taken.add(value)
        ids = {feature["id"] for feature in kept}
        return kept, [record for record in private_records if record.get("id") in ids]

    def _write_features(self, features, lock_fd):
        self._create_if_missing()
        fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
        try:
            keep_mode(fd, self.mode)
            size = os.fstat(fd).st_size
            if not self._tail_is_clean(fd, size):
                os.close(fd)
                fd = -1
                self._repair_or_normalise(lock_fd)
                fd = os.open(self.path, os.O_RDWR | os.O_CLOEXEC)
                size = os.fstat(fd).st_size
            if size == len(header(self.layer)) + len(EMPTY_TAIL):
                offset, lead = size - len(EMPTY_TAIL), b""
            else:
                offset, lead = size - len(TAIL), b",\n"
            payload = lead + b",\n".join(encode_feature(f) for f in features) + TAIL
            os.pwrite(lock_fd, f"{offset} {offset + len(payload)}".encode().ljust(len(NO_INTENT)), 0)
            _pwrite_all(fd, payload, offset)
            os.fdatasync(fd)
            os.pwrite(lock_fd, NO_INTENT, 0)
        finally:
            if fd >= 0:
                os.close(fd)

    def feature_for_key(self, key):
        with self._cache_lock:
            self._ensure_current()
            return self._feature_for_key(key)

    def _feature_for_key(self, key):
        """The stored feature an idempotency key was used for, if that feature exists."""
        feature_id = self._private.refresh(self.private_path).keys.get(key)
        position = self._cache.index.get(feature_id)
        return loads(self._cache.lines[position]) if position is not None else None

    def _create_if_missing(self):
        if not self.path.exists():
            atomic_write(self.path, header(self.layer) + EMPTY_TAIL, self.mode)

    def _tail_is_clean(self, fd, size):
        head = header(self.layer)
        if size < len(head) + len(EMPTY_TAIL):
            return False
        return os.pread(fd, len(head), 0) == head and os.pread(fd, len(TAIL), size - len(TAIL)) in (
            TAIL, head[-1:] + EMPTY_TAIL)

    def _repair_or_normalise(self, lock_fd):
        parsed, _ = self._read_whole()
        if not parsed.clean:
            parsed = self._recover(parsed, lock_fd)
        if not parsed.canonical:
            log.warning("%s: rewriting a valid FeatureCollection into the one-feature-per-line layout", self.path)
            self._rewrite(parsed.lines)

    def _append_private(self, records):
        ensure_directory(self.private_path.parent.parent, PRIVATE_DIRECTORY)  # _private: not even its names show
        ensure_directory(self.private_path.parent, PRIVATE_DIRECTORY)
        data = b"".join(encode_feature(r) + b"\n" for r in records)
        fd = os.open(self.private_path, os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, PRIVATE_FILE)
        try:
            keep_mode(fd, PRIVATE_FILE)
            size = os.fstat(fd).st_size
            if size and os.pread(fd, 1, size - 1) != b"\n":
                data = b"\n" + data  # close a torn record (never acknowledged) so ours starts on its own line
            _pwrite_all(fd, data, None)
            os.fdatasync(fd)
        finally:
            os.close(fd)

    def update(self, feature_id, change, key=None, private=None, with_private=False):
        """Rewrite the layer with one feature changed: temporary file, fsync, rename.

        With an idempotency ``key`` already used for this layer, nothing changes and the feature is returned as is.
        ``private`` is a list that ``change`` may fill with sidecar records; they are written, under the same lock,
        before the layer is replaced. ``with_private``: ``change(properties, private_properties)``, the second a copy of
        the feature's private fields read from the sidecar under this lock (every sidecar write takes it too, so they
        are current). Not through :meth:`get_private`, whose check that the feature exists reads the layer under a
        shared lock: in the same process that waits for this exclusive one for ever.
        """
        if not self.path.exists():  # (nor its directory, where the lock file would go)
            raise FeatureNotFound(f"No feature {feature_id!r} in layer {self.layer!r} of zone {self.zone!r}.",
                                  field="id")
        with locked(self.lock_path, exclusive=True, mode=self.mode) as lock_fd:
            if not self.path.exists():
                raise FeatureNotFound(f"No feature {feature_id!r} in layer {self.layer!r} of zone {self.zone!r}.",
                                      field="id")
            parsed, _ = self._read_whole()
            if not parsed.clean:
                parsed = self._recover(parsed, lock_fd)
            lines = list(parsed.lines)
            for position, feature in enumerate(parsed.features):
                if (feature.get("properties") or {}).get("id", feature.get("id")) == feature_id:
                    break
            else:
                raise FeatureNotFound(f"No feature {feature_id!r} in layer {self.layer!r} of zone {self.zone!r}.",
                                      field="id")
            if key is not None and key in self._private.refresh(self.private_path).keys:
                return feature
            before = feature["properties"]
            if with_private:
                fields = self._private.refresh(self.private_path).fields.get(feature_id, {})
                properties = change(dict(before), copy.deepcopy(fields))
            else:
                properties = change(dict(before))
            # Identity and provenance are not the change's to alter.
            properties.update({name: before[name] for name in ("id", "ref", "created") if name in before})
            properties.update(zone=self.zone, updated=now())
            feature["properties"] = properties
            lines[position] = encode_feature(feature)
            records = [{"id": feature_id, "key": key}] if key is not None else []
            records += list(private or ())
            if records:
                self._append_private(records)
            self._rewrite(lines)
            return feature

    def _rewrite(self, lines):
        body = b",\n".join(lines) + TAIL if lines else EMPTY_TAIL
        atomic_write(self.path, header(self.layer) + body, self.mode)

    def problems(self):
        """Structural problems of this file as (path, line, message) tuples, without repairing anything."""
        if not self.path.exists():
            return []
        parsed, _ = self._read_whole()
        found = []
        if not parsed.clean:
            line, reason = parsed.problem
            found.append((str(self.path), line, reason))
        elif not parsed.canonical:
            found.append((str(self.path), 1, "valid, but not in the one-feature-per-line layout; "
                                             "it is rewritten on the next write"))
        seen = set()
        offset = 1 if parsed.canonical else 0
        for number, feature in enumerate(parsed.features, start=1 + offset):
            feature_id = (feature.get("properties") or {}).get("id", feature.get("id"))
            if not feature_id:
                found.append((str(self.path), number, "a feature without an id"))
            elif feature_id in seen:
                found.append((str(self.path), number, f"the id {feature_id!r} appears twice"))
            seen.add(feature_id)
            if not _readable_geometry(feature.get("geometry")):
                found.append((str(self.path), number, "a geometry that is not valid GeoJSON"))
        return found


def _readable_geometry(geometry):
    try:
        return bool(np.isfinite(shape(geometry).bounds).all())
    except Exception:  # the point of the check is to survive whatever a hand edit left
        return False


def _pwrite_all(fd, data, offset):
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset) if offset is not None else os.write(fd, view)
        view = view[written:]
        if offset is not None:
            offset += written


class GeoJSONFileStore(Store):
    """The store on plain files under ``root``. Thread-safe; several processes may share one ``root``.

    ``private_layers``: names of the layers whose files only the service's account may read (0600), from the schema
    (``Layer.private_files``: staff-only layers, and layers holding features in statuses the public does not see)."""

    def __init__(self, root, private_layers=()):
        self.root = Path(root)
        self.private_layers = frozenset(private_layers)
        self._layers = {}
        self._lock = threading.Lock()

    def layer_file(self, zone, layer):
        key = (zone, layer)
        with self._lock:
            if key not in self._layers:
                self._layers[key] = LayerFile(self.root, zone, layer, private=layer in self.private_layers)
            return self._layers[key]

    def append(self, zone, layer, submissions, ref_prefix=None, unique=None):
        features, private = self._features(zone, submissions)
        return self.layer_file(zone, layer).append(features, private, ref_prefix=ref_prefix, unique=unique)

    def append_once(self, zone, layer, submission, key, ref_prefix=None):
        features, private = self._features(zone, [submission])
        stored = self.layer_file(zone, layer).append(features, private, ref_prefix=ref_prefix, key=key)[0]
        return stored, stored["id"] == features[0]["id"]

    def values(self, zone, layer, name):
        return self.layer_file(zone, layer).property_values(name)

    def find(self, zone, layer, column, value):
        return self.layer_file(zone, layer).find(column, value)

    def find_by_key(self, zone, layer, key):
        return self.layer_file(zone, layer).feature_for_key(key)

    @staticmethod
    def _features(zone, submissions):
        stamp = now()
        features, private = [], []
        for submission in submissions:
            feature_id = new_id()
            properties = {"id": feature_id, **submission.properties, "zone": zone, "created": stamp,
                          "updated": stamp}
            # Through JSON so that what append returns is what a later read gives (lists, not Shapely's tuples).
            geometry = orjson.loads(orjson.dumps(mapping(submission.geometry)))
            features.append({"type": "Feature", "id": feature_id, "geometry": geometry, "properties": properties})
            if submission.private:
                private.append({"id": feature_id, "private": submission.private, "at": stamp})
        return features, private

    def get(self, zone, layer, feature_id):
        return self.layer_file(zone, layer).get(feature_id)

    def get_private(self, zone, layer, feature_id):
        self.get(zone, layer, feature_id)
        return self.layer_file(zone, layer).get_private(feature_id)

    def private_history(self, zone, layer, feature_id):
        return self.layer_file(zone, layer).private_history(feature_id)

    def update(self, zone, layer, feature_id, change, key=None, private=None, with_private=False):
        return self.layer_file(zone, layer).update(feature_id, change, key=key, private=private,
                                                   with_private=with_private)

    def query(self, zone, layer, bbox=None, where=None, since=None):
        features = self.layer_file(zone, layer).snapshot()
        if bbox is None and not where and since is None:
            return features
        return features.filter(bbox=bbox, where=where, since=since)

    def location(self, zone, layer):
        return str(self.layer_file(zone, layer).path)

    def layers(self):
        """(zone, layer) for every layer file under the root."""
        if not self.root.is_dir():
            return []
        return sorted((path.parent.name, path.stem) for path in self.root.glob("*/*.geojson")
                      if SLUG.match(path.parent.name) and SLUG.match(path.stem))

    def check(self):
        problems = []
        for zone, layer in self.layers():
            problems.extend(self.layer_file(zone, layer).problems())
        return problems


__all__ = ["GeoJSONFileStore", "LayerFile", "parse_layer", "header", "TAIL", "fsync_directory"]
