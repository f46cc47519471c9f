"""Moderation, as in Community Maps: contributions wait in a layer's initial status until a moderator moves them on.

Every change of status goes through :func:`mapper.lifecycle.change_status` (re-exported here), the repair lifecycle's
one way to change a feature: checked and written inside one ``Store.update``, kept in the feature's public
``history`` (``{"at", "from", "to", "public_note"}``) with who did it and the internal note in the private sidecar.
"""

from mapper.lifecycle import StatusConflict, change_status, find_feature, history_record  # noqa: F401


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
    return find_feature(store, layer, zone_ids, identifier)
