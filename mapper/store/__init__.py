"""The layer store: where validated features live, behind one small interface.

``GeoJSONFileStore`` keeps each layer of each zone as one RFC 7946 FeatureCollection on disk. A PostGIS backend for
deployments that outgrow one machine would implement the same :class:`Store` methods; nothing above this package
knows which one it is talking to.
"""

import abc

from mapper.store.features import FeatureSet  # noqa: F401  (re-exported: what query() returns)


class Store(abc.ABC):
    """Features per (zone, layer). Every method takes ids that the zone registry and the schema already checked."""

    @abc.abstractmethod
    def append(self, zone, layer, submissions, ref_prefix=None, unique=None):
        """Store validated submissions; return the stored GeoJSON Features (with id, created, updated, zone, and a
        short ``ref`` unique in the layer when ``ref_prefix`` is given).

        Returns only once every feature is durable; either all of them are stored or none is acknowledged. With
        ``unique`` (a property name such as ``source_key``), a submission whose value of that property is already in
        the layer (or earlier in the batch) is left out, decided under the layer's write lock: re-running an import,
        even twice at once, adds its rows once. Only the features stored are returned.
        """

    @abc.abstractmethod
    def append_once(self, zone, layer, submission, key, ref_prefix=None):
        """Store one submission unless one was already stored under the idempotency ``key``.

        Returns ``(feature, created)``: the new feature and True, or the earlier one and False. Exactly once even when
        a phone retries while the first request is still in flight.
        """

    @abc.abstractmethod
    def find(self, zone, layer, column, value):
        """The feature whose ``ref`` (or ``id``) is ``value``, or None."""

    @abc.abstractmethod
    def values(self, zone, layer, name):
        """Every value of the property ``name`` in the layer, as a frozenset: the keys an import has already stored
        (it still appends with ``unique=``, which decides under the lock)."""

    @abc.abstractmethod
    def find_by_key(self, zone, layer, key):
        """The feature stored under an idempotency key (see :meth:`append_once`), or None."""

    @abc.abstractmethod
    def get(self, zone, layer, feature_id):
        """One stored Feature as a dict, or raise FeatureNotFound."""

    @abc.abstractmethod
    def get_private(self, zone, layer, feature_id):
        """The private properties of a feature (contact details): officers only, never in a public answer."""

    @abc.abstractmethod
    def private_history(self, zone, layer, feature_id):
        """``{history index: {"by", "internal_note", "at"}}``: who made each change of a feature and the officers'
        note on it. Officers only; the public ``history`` property carries neither."""

    @abc.abstractmethod
    def update(self, zone, layer, feature_id, change, key=None, private=None, with_private=False):
        """Apply ``change(properties) -> properties`` to one feature atomically; return the new Feature.

        ``id``, ``ref``, ``zone`` and ``created`` cannot be changed; ``updated`` is set. With an idempotency ``key``
        that was used before in this layer, nothing changes (a confirmation sent twice counts once). ``private`` is a
        list that ``change`` may fill with private records (``{"id", "history", "by", "internal_note", "at"}``, or
        ``{"id", "private": {name: value}, "at"}`` to set private fields); they are stored with the change or not at
        all. If ``change`` raises, nothing is stored.

        With ``with_private=True``, ``change(properties, private_properties)`` also gets a copy of the feature's
        private fields (what :meth:`get_private` would give) as they are under the write lock, so a change that
        depends on them cannot race another writer. Do not call the store's read methods from inside ``change``: the
        backend may hold a lock they wait for.
        """

    @abc.abstractmethod
    def query(self, zone, layer, bbox=None, where=None, since=None):
        """A :class:`FeatureSet` of the features matching every filter given.

        ``bbox`` is (min lon, min lat, max lon, max lat); ``where`` maps a property to a value or a set of values;
        ``since`` is a UTC ISO-8601 string compared with ``created``.
        """

    @abc.abstractmethod
    def check(self):
        """Every problem found in every layer, as ``(path, line, message)`` tuples; empty when all is well."""

    @abc.abstractmethod
    def layers(self):
        """Every (zone, layer) that holds data, including ones the registry or schema no longer knows."""

    @abc.abstractmethod
    def location(self, zone, layer):
        """Where a layer lives, for messages to an administrator (a path, or a table name)."""

    def count(self, zone, layer):
        return len(self.query(zone, layer))

    def features(self, zone, layer):
        return iter(self.query(zone, layer))


def open_store(config, schema=None):
    """The store a deployment's configuration asks for. Only the GeoJSON files backend exists today. ``schema`` says
    which layers' files are private (``Layer.private_files``)."""
    from mapper.store.geojson_files import GeoJSONFileStore

    private = [layer.name for layer in schema if layer.private_files] if schema is not None else ()
    return GeoJSONFileStore(config["DATA_DIR"], private_layers=private)
