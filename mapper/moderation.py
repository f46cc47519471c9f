"""Moderation, as in Community Maps: contributions wait in a layer's initial status until a moderator moves them on.

Every change of status goes through :func:`change_status`, which checks and writes inside one ``Store.update`` (so
two moderators cannot both approve the same contribution) and appends a record to the feature's ``history``
property: ``{"at", "from", "to", "by", "public_note"}`` (the note is shown on the report's tracking page). The CLI calls these functions; a moderators' web page would too.
"""

from datetime import datetime, timezone

from mapper.errors import FeatureNotFound, MapperError, ValidationError
from mapper.validate import format_datetime


class StatusConflict(MapperError):
    """The feature is not in a status the change can start from (approving an asset already published)."""

    status = 409
    code = "status_conflict"


def history_record(old, new, by, note=None, at=None):
    """One entry of a feature's ``history``.

    >>> history_record("pending", "published", "cli", at="2024-05-01T09:30:00.000Z")
    {'at': '2024-05-01T09:30:00.000Z', 'from': 'pending', 'to': 'published', 'by': 'cli', 'public_note': None}
    """
    return {"at": at or format_datetime(datetime.now(timezone.utc)), "from": old, "to": new, "by": by,
            "public_note": note}


def change_status(store, layer, zone_id, feature_id, new_status, *, by, note=None, allowed_from=None):
    """Move one feature to ``new_status`` and record the change in its history; return the stored Feature.

    Parameters
    ----------
    store : mapper.store.Store
    layer : mapper.schema.Layer
    zone_id, feature_id : str
    new_status : str
        One of the layer's statuses.
    by : str
        Who made the change (``"cli"``, an officer's name).
    note : str, optional
        Why (a rejection's reason).
    allowed_from : collection of str, optional
        Statuses the feature must be in now; otherwise :class:`StatusConflict`, and nothing is written.
    """
    if new_status not in layer.statuses:
        raise ValidationError(f"Unknown status {new_status!r} for layer {layer.name!r}. Statuses are: "
                              f"{', '.join(layer.statuses)}.", field="status")

    def change(properties):
        old = properties.get("status")
        if allowed_from is not None and old not in allowed_from:
            raise StatusConflict(f"{layer.name} {feature_id} is {old!r}, not {' or '.join(map(repr, allowed_from))}; "
                                 f"it cannot become {new_status!r}.", field="status")
        history = properties.get("history")
        history = list(history) if isinstance(history, list) else []
        properties["history"] = history + [history_record(old, new_status, by, note)]
        properties["status"] = new_status
        return properties

    return store.update(zone_id, layer.name, feature_id, change)


def awaiting(store, layer, zone_ids):
    """``[(zone id, Feature)]`` of every feature still in the layer's initial status, oldest first."""
    waiting = []
    for zone_id in zone_ids:
        waiting += [(zone_id, feature) for feature in store.query(zone_id, layer.name,
                                                                  where={"status": layer.initial_status})]
    return sorted(waiting, key=lambda pair: (pair[1]["properties"].get("created") or "", pair[0]))


def locate(store, layer, zone_ids, identifier):
    """``(zone id, Feature)`` of the feature of ``layer`` whose id or short ref is ``identifier``, searching
    ``zone_ids`` in order."""
    for zone_id in zone_ids:
        for column in ("id", "ref"):
            feature = store.find(zone_id, layer.name, column, identifier)
            if feature is not None:
                return zone_id, feature
    raise FeatureNotFound(f"No {layer.name} feature with the id or reference {identifier!r}.", field="id")
