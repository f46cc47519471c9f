"""A submission's journey: validate -> zones -> store. The API, the forms, the CLI and the importers call this.

Either every feature of a call is stored, or none is: validation and placing finish before the first write.
"""

from mapper.validate import validate_feature
from mapper.zones import place


def submit(raw, layer_name, *, schema, zones, store, zone_id=None):
    """Validate one untrusted Feature, find (or check) its zone and store it; return the stored Feature."""
    layer = schema.layer(layer_name)
    submission = validate_feature(raw, layer)
    zone = place(zones, submission.lon, submission.lat, zone_id)
    return store.append(zone.id, layer.name, [submission])[0]


def submit_many(raws, layer_name, zone_id, *, schema, zones, store, on_error=None):
    """Validate many Features for one zone and store the good ones in one durable write.

    ``on_error(position, error)`` is called for each refused feature; without it the first error is raised and
    nothing is stored. Returns the stored Features.
    """
    from mapper.errors import MapperError

    layer = schema.layer(layer_name)
    zone = zones.get(zone_id)
    accepted = []
    for position, raw in enumerate(raws):
        try:
            submission = validate_feature(raw, layer)
            place(zones, submission.lon, submission.lat, zone.id)
        except MapperError as error:
            if on_error is None:
                raise
            on_error(position, error)
            continue
        accepted.append(submission)
    return store.append(zone.id, layer.name, accepted) if accepted else []
