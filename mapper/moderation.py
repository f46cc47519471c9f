"""Moderation, as in Community Maps: contributions wait in a layer's initial status until a moderator moves them on.

Approving and rejecting are status changes like any other, so they go through :func:`mapper.lifecycle.change_status`
(history, private notes, emails); this module only finds what is waiting.
"""


def awaiting(store, layer, zone_ids):
    """``[(zone id, Feature)]`` of every feature still in the layer's initial status, oldest first."""
    waiting = []
    for zone_id in zone_ids:
        waiting += [(zone_id, feature) for feature in store.query(zone_id, layer.name,
                                                                  where={"status": layer.initial_status})]
    return sorted(waiting, key=lambda pair: (pair[1]["properties"].get("created") or "", pair[0]))

