"""A submission's journey: validate -> zones -> store. The API, the forms, the CLI and the importers call this.

Validation and placing finish before the first write, so a refused feature never leaves anything behind.
"""

from mapper.validate import validate_feature
from mapper.zones import place


def submit(raw, layer_name, *, schema, zones, store, zone_id=None):
    """Validate one untrusted Feature, find (or check) its zone and store it; return the stored Feature."""
    layer = schema.layer(layer_name)
    submission = validate_feature(raw, layer)
    zone = place(zones, submission.lon, submission.lat, zone_id)
    return store.append(zone.id, layer.name, [submission])[0]


def judge_many(raws, layer_name, zone_id, *, schema, zones):
    """Validate and place many Features for one zone without storing anything.

    Returns ``(accepted submissions, refusals)`` where each refusal is ``(position, MapperError)``, so that a caller
    can decide all-or-nothing after the last row.
    """
    from mapper.errors import MapperError

    layer = schema.layer(layer_name)
    zone = zones.get(zone_id)
    accepted, refused = [], []
    for position, raw in enumerate(raws):
        try:
            submission = validate_feature(raw, layer)
            place(zones, submission.lon, submission.lat, zone.id)
        except MapperError as error:
            refused.append((position, error))
            continue
        accepted.append(submission)
    return accepted, refused
