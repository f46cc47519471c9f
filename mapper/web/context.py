"""The app's shared resources (schema, zone registry, store) and their accessors.

They live on ``app.extensions`` rather than ``g`` because the store's per-layer cache must outlive a request.
"""

import os
import threading

from flask import current_app

from mapper.schema import load_schema
from mapper.store import open_store
from mapper.zones import open_registry


class Resources:
    def __init__(self, config):
        self.config = config
        self.schema = load_schema(config["LAYERS_FILE"])
        self.store = open_store(config, self.schema)
        self._zones = None
        self._zones_stamp = None
        self._zones_lock = threading.Lock()

    def zones(self):
        """The registry, reloaded when its file changes (``mapper zones add`` while the server runs)."""
        path = self.config["ZONES_FILE"]
        with self._zones_lock:
            try:
                st = os.stat(path)
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            except FileNotFoundError:
                stamp = None
            if self._zones is None or stamp != self._zones_stamp:
                self._zones = open_registry(path, self.config["SHIPPED_ZONES_FILE"])
                st = os.stat(path)
                self._zones_stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
            return self._zones


def init_app(app):
    app.extensions["mapper"] = Resources(app.config)


def resources():
    return current_app.extensions["mapper"]


def get_schema():
    return resources().schema


def get_store():
    return resources().store


def get_zones():
    return resources().zones()
