"""A submission's journey: validate -> zones -> store. The API, the forms, the CLI and the importers call this.

Validation and placing finish before the first write, so a refused feature never leaves anything behind.
:func:`submit` and :func:`submit_once` take the public's submissions (the API, the report form), which may not give
the fields imports, walks and the server set; :func:`judge_many` takes the importers' and the CLI's, which may.
"""

from mapper.validate import PUBLIC, TRUSTED, validate_feature
from mapper.zones import place


def submit(raw, layer_name, *, schema, zones, store, zone_id=None, admit=None):
    """Validate one untrusted Feature, find (or check) its zone and store it; return the stored Feature.

    ``admit(zone_id)``, if given, is asked last, once the Feature is valid and placed, and may refuse it by raising
    (the web's per-zone budget: refused submissions spend none of it)."""
    zone, layer, submission = _prepare(raw, layer_name, schema, zones, zone_id)
    link_columns([submission], zone.id, layer.name, schema=schema, store=store)
    if admit is not None:
        admit(zone.id)
    return store.append(zone.id, layer.name, [submission], ref_prefix=zone.ref_prefix)[0]


def submit_once(raw, layer_name, client_id, *, schema, zones, store, zone_id=None, photo=None, photos_root=None,
                approximate=False, admit=None):
    """:func:`submit` with a phone's idempotency key for one report: returns ``(feature, created)``.

    A repeat of an earlier submission (a retry after a lost answer, an offline draft sent twice) returns the
    earlier feature and ``created`` False, so each report is stored exactly once. ``photo`` (uploaded bytes) is
    checked and stored stripped of metadata only once the feature itself has passed; ``approximate`` marks a point
    that stands for a place described in words. ``admit`` is :func:`submit`'s, asked before the photo is decoded;
    a retry is not asked again.
    """
    zone, layer, submission = _prepare(raw, layer_name, schema, zones, zone_id)
    if client_id is not None:
        earlier = store.find_by_key(zone.id, layer.name, client_id)
        if earlier is not None:  # a retry: answer at once, without storing its photo a second time
            return earlier, False
    link_columns([submission], zone.id, layer.name, schema=schema, store=store)
    if admit is not None:
        admit(zone.id)
    if photo:
        from mapper.photos import save_photo

        submission.properties["photo"] = save_photo(photos_root, zone.id, photo)
    if approximate:
        submission.properties["location_approximate"] = True
    if client_id is None:
        return store.append(zone.id, layer.name, [submission], ref_prefix=zone.ref_prefix)[0], True
    return store.append_once(zone.id, layer.name, submission, key=client_id, ref_prefix=zone.ref_prefix)


def confirm(zone_id, layer_name, feature_id, client_id, *, schema, zones, store):
    """A resident says an open report is theirs too: count it once per device. Returns the feature."""
    from mapper.errors import ValidationError

    zone, layer = zones.get(zone_id), schema.layer(layer_name)
    feature = store.get(zone.id, layer.name, feature_id)
    if feature["properties"].get("status") not in layer.open_statuses:
        raise ValidationError("That report is no longer open, so it cannot be confirmed; please report the problem "
                              "again.", field="id", status=409, code="conflict")

    def add_one(properties):
        return {**properties, "confirmations": properties.get("confirmations", 0) + 1}

    key = f"confirm:{feature_id}:{client_id}" if client_id else None
    return store.update(zone.id, layer.name, feature_id, add_one, key=key)


def _prepare(raw, layer_name, schema, zones, zone_id):
    layer = schema.layer(layer_name)
    submission = validate_feature(raw, layer, context=PUBLIC)  # the API's POSTs and the report form: the public's
    return place(zones, submission.lon, submission.lat, zone_id), layer, submission


def judge_many(raws, layer_name, zone_id, *, schema, zones, status=None, context=TRUSTED):
    """Validate and place many Features for one zone without storing anything: the importers' and the CLI's way in,
    so trusted by default (they set ``source``, ``source_key``... as data/layers.toml allows imports to).

    Returns ``(accepted submissions, refusals)`` where each refusal is ``(position, MapperError)``, so that a caller
    can decide all-or-nothing after the last row. ``status`` is a trusted caller's (an administrator's import).
    """
    from mapper.errors import MapperError

    layer = schema.layer(layer_name)
    zone = zones.get(zone_id)
    accepted, refused = [], []
    for position, raw in enumerate(raws):
        try:
            submission = validate_feature(raw, layer, status=status, context=context)
            place(zones, submission.lon, submission.lat, zone.id)
        except MapperError as error:
            refused.append((position, error))
            continue
        accepted.append(submission)
    return accepted, refused


def link_columns(submissions, zone_id, layer_name, *, schema, store):
    """Give each validated, placed report of a layer with a ``column`` property the unit id of its lamp column.

    A report that names a column (the resident tapped it) keeps it if the zone's inventory has it within
    :data:`mapper.analysis.columns.LINK_DISTANCE_M`; naming one that is not there is refused, before anything is
    stored. Otherwise the nearest in-service column within that distance is set, or none. Layers without a
    ``column`` property, and deployments without a ``columns`` layer, are left alone.
    """
    from mapper.analysis.columns import LAYER, LINK_DISTANCE_M, column_index, nearest_columns
    from mapper.errors import ValidationError
    from mapper.validate import quote

    layer = schema.layer(layer_name)
    if "column" not in layer.properties or LAYER not in schema or not submissions:
        return submissions
    index = column_index(store, zone_id)
    for submission in submissions:
        chosen = submission.properties.get("column")
        if chosen is None:
            continue
        distance = index.distance_to(chosen, submission.lon, submission.lat)
        if distance is None:
            raise ValidationError(f"No lamp column {quote(chosen)} in the inventory of zone {zone_id!r}; leave "
                                  "'column' out and the nearest one is found.", field="column")
        if distance > LINK_DISTANCE_M:
            raise ValidationError(f"Lamp column {quote(chosen)} is {distance:.0f} m from the report's point; put the "
                                  f"pin within {LINK_DISTANCE_M:.0f} m of it, or leave 'column' out.", field="column")
    unlinked = [s for s in submissions if s.properties.get("column") is None]
    if unlinked and len(index):
        found = nearest_columns(index, [s.lon for s in unlinked], [s.lat for s in unlinked])
        for submission, unit_id in zip(unlinked, found):
            if unit_id is not None:
                submission.properties["column"] = unit_id
    return submissions
