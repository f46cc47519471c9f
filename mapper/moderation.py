"""Moderation, as in Community Maps: contributions wait in a layer's initial status until a moderator moves them on;
moderators correct a contribution's text, and hide abusive text from any report.

Approving and rejecting are status changes like any other, so they go through :func:`mapper.lifecycle.change_status`
(history, private notes, emails). Editing, hiding and restoring text are done here, each inside one
``Store.update`` (two moderators at once cannot lose each other's change), and each leaves:

* in the feature's public ``history``, a record like the lifecycle's (``at``, ``from`` and ``to`` both the current
  status, so no status changes, no email is sent and no fix time moves) with a neutral ``public_note`` and
  ``"moderation": "edited" | "hidden" | "restored"`` and ``"fields"``: the property names, never their content and
  never the moderator's name;
* in the layer's private sidecar, the lifecycle's ``{"id", "history": index, "by", "internal_note", "at"}`` (so
  :func:`mapper.lifecycle.officer_view` shows who and why), and the feature's moderation state under the private key
  :data:`PRIVATE_KEY`: ``{"hidden": {field: {"text", "by", "at", "reason"}}, "edits": [{"at", "by", "history",
  "old": {field: value}}]}``. The sidecar is append-only, so every earlier state stays on disk too: nothing a
  moderator replaces or hides is lost.

A hidden text property shows :data:`PLACEHOLDER` in every public answer; a hidden website or phone number (not text:
a placeholder would be a broken link) is left out. The web page and ``mapper moderate`` call the same functions.
"""

from datetime import datetime, timezone

from mapper import notify
from mapper.errors import FeatureNotFound, ValidationError
from mapper.lifecycle import StatusConflict, change_status, clean_note, find_feature, history_record
from mapper.validate import format_datetime, validate_properties


def N_(text):
    """Mark English text for ``pybabel extract`` (a default keyword) without translating it: it is stored as data, in
    the source language, and translated where it is shown."""
    return text


APPROVED, REJECTED = "published", "rejected"
MODERATED_LAYER = "assets"  # contributions that wait for a moderator
REPORT_LAYERS = ("lights", "assets")  # layers whose text comes from the public, so may need hiding
PRIVATE_KEY = "_moderation"  # a leading underscore: never one of a layer's property names
PLACEHOLDER = N_("[Removed by a moderator]")
NOTES = {"edited": N_("The details were corrected by a moderator."),
         "hidden": N_("Some text was removed by a moderator."),
         "restored": N_("Text removed earlier was put back by a moderator.")}
# Set by intake (the lamp column a report is linked to), not words a person wrote; what imports and walks set is
# `set_by` "import" in data/layers.toml, which a moderator's edit may not set either.
PROVENANCE = frozenset({"column"})
HIDEABLE_TYPES = ("text", "url", "phone")
TRUE_WORDS, FALSE_WORDS = ("yes", "true", "1", "on"), ("no", "false", "0", "off")


def awaiting(store, layer, zone_ids):
    """``[(zone id, Feature)]`` of every feature still in the layer's initial status, oldest first."""
    waiting = []
    for zone_id in zone_ids:
        waiting += [(zone_id, feature) for feature in store.query(zone_id, layer.name,
                                                                  where={"status": layer.initial_status})]
    return sorted(waiting, key=lambda pair: (pair[1]["properties"].get("created") or "", pair[0]))


# -- approving and rejecting ---------------------------------------------------------------------------------------


def approve(store, layer, zone_id, feature_id, *, by, reason=None):
    """Publish a feature waiting in the layer's initial status (409 for any other status)."""
    return change_status(store, layer, zone_id, feature_id, APPROVED, by=by, internal_note=reason,
                         allowed_from=(layer.initial_status,))


def reject(store, layer, zone_id, feature_id, *, by, reason=None):
    """Reject a waiting feature or withdraw a published one; ``reason`` is for the other moderators (private)."""
    return change_status(store, layer, zone_id, feature_id, REJECTED, by=by, internal_note=reason,
                         allowed_from=[status for status in layer.statuses if status != REJECTED])


# -- which properties --------------------------------------------------------------------------------------------


def editable_properties(layer):
    """The :class:`mapper.schema.Property` objects a moderator may correct: public, and written by a person."""
    return [prop for prop in layer.properties.values()
            if not prop.private and prop.from_submitter and prop.name not in PROVENANCE]


def hideable_properties(layer):
    """Names of the public properties that hold a person's words (text, a website, a phone number)."""
    return [prop.name for prop in editable_properties(layer) if prop.type in HIDEABLE_TYPES]


def values_from_text(layer, texts):
    """Typed values for the validator from text fields (a form, the command line): ``yes``/``no`` for true/false,
    numbers for numbers, and a blank for "no value" (None). Anything else is passed on as it is, so that the one
    validator refuses it with its own message.

    >>> from mapper.schema import Layer, Property
    >>> layer = Layer("assets", "Assets", "Point", "pending", ("pending",), (), {
    ...     "name": Property("name", "text"), "toilets": Property("toilets", "boolean")})
    >>> values_from_text(layer, {"name": " Hub ", "toilets": "yes"})
    {'name': ' Hub ', 'toilets': True}
    >>> values_from_text(layer, {"name": "", "toilets": "maybe"})
    {'name': None, 'toilets': 'maybe'}
    """
    values = {}
    for name, text in texts.items():
        prop = layer.properties.get(name)
        if text is None or (isinstance(text, str) and not text.strip()):
            values[name] = None
        elif prop is not None and prop.type == "boolean" and text.strip().lower() in TRUE_WORDS + FALSE_WORDS:
            values[name] = text.strip().lower() in TRUE_WORDS
        elif prop is not None and prop.type in ("integer", "number"):
            try:
                values[name] = int(text) if prop.type == "integer" else float(text)
            except ValueError:
                values[name] = text
        else:
            values[name] = text
    return values


def moderation_state(store, layer, zone_id, feature_id):
    """The feature's moderation record from the private sidecar: ``{"hidden": {...}, "edits": [...]}``."""
    return _state(store.get_private(zone_id, layer.name, feature_id))


def _state(private):
    """The moderation record in a feature's private fields, as new containers (safe to change)."""
    state = (private or {}).get(PRIVATE_KEY)
    state = state if isinstance(state, dict) else {}
    hidden, edits = state.get("hidden"), state.get("edits")
    return {"hidden": dict(hidden) if isinstance(hidden, dict) else {},
            "edits": list(edits) if isinstance(edits, list) else []}


def contact_details(store, layer, zone_id, feature_id):
    """The contributor's private contact fields (the layer's private properties), without moderation records."""
    private = store.get_private(zone_id, layer.name, feature_id) or {}
    return {prop.name: private[prop.name] for prop in layer.properties.values()
            if prop.private and private.get(prop.name) not in (None, "")}


def find_report(store, schema, zone_ids, identifier):
    """``(zone id, layer, Feature)`` of the lighting report or asset whose ref or id is ``identifier``."""
    identifier = identifier.strip() if isinstance(identifier, str) else ""
    if not identifier:
        raise ValidationError("Give a report's reference (for example BF-7K3QX) or its id.", field="report")
    for layer in (schema.layer(name) for name in REPORT_LAYERS):
        for candidate in dict.fromkeys((identifier, identifier.upper())):
            try:
                zone_id, feature = find_feature(store, layer, zone_ids, candidate)
            except FeatureNotFound:
                continue
            return zone_id, layer, feature
    raise FeatureNotFound(f"No report or asset with the reference or id {identifier[:64]!r} here.", field="report")


# -- editing, hiding, restoring ------------------------------------------------------------------------------------


def _moderated(store, layer, zone_id, feature_id, change, *, by, reason):
    """Run ``change(properties, state, history, at) -> [(action, fields, entry)]`` inside one ``Store.update``: append a
    public history record per action, the private who/why records, and the new moderation state.

    The state is read from the private fields the update hands over under the layer's write lock, so two moderators
    at once (or an officer's change landing meanwhile) each see the other's state: nothing is lost, nothing retried.
    """
    records = []

    def apply(properties, private):
        state, history = _state(private), _history(properties)
        at = format_datetime(datetime.now(timezone.utc))
        for action, fields, entry in change(properties, state, history, at):
            status = properties.get("status")
            if action in NOTES:
                record = {**history_record(status, status, NOTES[action], at=at), "moderation": action,
                          "fields": sorted(fields)}
            else:  # a change of status made in the same step (approve while editing)
                record = history_record(status, action, None, at=at)
                properties["status"] = action
            if entry is not None:
                entry["history"] = len(history)
            records.append({"id": feature_id, "history": len(history), "by": by, "internal_note": reason, "at": at})
            history.append(record)
        properties["history"] = history
        records.append({"id": feature_id, "private": {PRIVATE_KEY: state}, "at": at})
        return properties

    return store.update(zone_id, layer.name, feature_id, apply, private=records, with_private=True)


def _history(properties):
    history = properties.get("history")
    return list(history) if isinstance(history, list) else []


def edit(store, layer, zone_id, feature_id, changes, *, by, reason=None, approve=False):
    """Correct a feature's public properties; return the stored Feature.

    Parameters
    ----------
    changes : dict
        ``{property: value}`` for the properties to set (None or blank removes one); others stay as they are. The
        feature's values with these changes must pass :func:`mapper.validate.validate_properties` (the limits and
        types of any submission), else a ValidationError and nothing is stored.
    by : str
        The moderator (kept privately, with the old values).
    reason : str, optional
        Why, for the other moderators (private).
    approve : bool
        Publish it as well, in the same update (it must be waiting in the layer's initial status: else 409).
    """
    reason = clean_note(reason, "reason")
    if not isinstance(changes, dict):
        raise ValidationError("Send the properties to change as an object.", field="properties")
    editable = [prop.name for prop in editable_properties(layer)]
    unknown = sorted(set(changes) - set(editable), key=str)
    if unknown:
        raise ValidationError(f"{str(unknown[0])[:64]!r} cannot be edited. Properties a moderator can edit: "
                              f"{', '.join(editable)}.", field=str(unknown[0])[:64])
    def change(properties, state, history, at):
        status = properties.get("status")
        if approve and status != layer.initial_status:
            raise StatusConflict(f"{layer.name} {feature_id} is {status!r}, not {layer.initial_status!r}; it cannot "
                                 f"become {APPROVED!r}.", field="status")
        current = {name: properties[name] for name in editable if properties.get(name) is not None}
        wanted = {**current, **changes}
        public, _ = validate_properties({name: value for name, value in wanted.items() if value is not None}, layer)
        changed = [name for name in changes if public.get(name) != current.get(name)]
        if not changed and not approve:
            raise StatusConflict("Nothing to change: every value is as it was.", field="properties")
        actions = []
        if changed:
            old = {name: state["hidden"].pop(name)["text"] if name in state["hidden"] else current.get(name)
                   for name in changed}  # a hidden field's old value is what was hidden, not the placeholder
            for name in changed:
                if name in public:
                    properties[name] = public[name]
                else:
                    properties.pop(name, None)
            entry = {"at": at, "by": by, "reason": reason, "old": old}
            state["edits"].append(entry)
            actions.append(("edited", changed, entry))
        if approve:
            actions.append((APPROVED, (), None))
        return actions

    stored = _moderated(store, layer, zone_id, feature_id, change, by=by, reason=reason)
    if approve:
        notify.status_changed(store, layer, zone_id, stored)  # durable now; tell the contributor (never raises)
    return stored


def hide(store, layer, zone_id, feature_id, fields, *, by, reason):
    """Replace the public text of ``fields`` with :data:`PLACEHOLDER` (a website or phone number is left out); keep
    the original privately with who, when and why. Return the stored Feature."""
    reason = clean_note(reason, "reason")
    if not reason:
        raise ValidationError("Say why the text is hidden, for the other moderators.", field="reason")
    fields = _field_names(layer, fields)

    def change(properties, state, history, at):
        empty = [name for name in fields if properties.get(name) in (None, "") and name not in state["hidden"]]
        if empty:
            raise ValidationError(f"{empty[0]!r} of {layer.name} {feature_id} has no text to hide.", field=empty[0])
        already = [name for name in fields if name in state["hidden"]]
        if already:
            raise StatusConflict(f"{already[0]!r} of {layer.name} {feature_id} is hidden already.", field=already[0])
        for name in fields:
            state["hidden"][name] = {"text": properties[name], "by": by, "at": at, "reason": reason}
            if layer.properties[name].type == "text" and layer.properties[name].max_length >= len(PLACEHOLDER):
                properties[name] = PLACEHOLDER
            else:
                properties.pop(name)
        return [("hidden", fields, None)]

    return _moderated(store, layer, zone_id, feature_id, change, by=by, reason=reason)


def restore(store, layer, zone_id, feature_id, fields=None, *, by, reason=None):
    """Put back the hidden text of ``fields`` (default: every hidden field). Return the stored Feature."""
    reason = clean_note(reason, "reason")
    fields = _field_names(layer, fields) if fields else None

    def change(properties, state, history, at):
        names = fields or sorted(state["hidden"])
        if not names:
            raise StatusConflict(f"Nothing of {layer.name} {feature_id} is hidden.", field="fields")
        missing = [name for name in names if name not in state["hidden"]]
        if missing:
            raise StatusConflict(f"{missing[0]!r} of {layer.name} {feature_id} is not hidden.", field=missing[0])
        for name in names:
            properties[name] = state["hidden"].pop(name)["text"]
        return [("restored", names, None)]

    return _moderated(store, layer, zone_id, feature_id, change, by=by, reason=reason)


def _field_names(layer, fields):
    """The distinct property names asked for, each one that can be hidden, else a ValidationError."""
    if isinstance(fields, str):
        fields = [fields]
    if fields is not None and not isinstance(fields, (list, tuple)):
        raise ValidationError("fields must be a list of property names, e.g. [\"description\"].", field="fields")
    names = list(dict.fromkeys(name.strip() for name in fields or () if isinstance(name, str) and name.strip()))
    if not names:
        raise ValidationError("Choose the text to hide or restore (for example description).", field="fields")
    allowed = hideable_properties(layer)
    for name in names:
        if name not in allowed:
            raise ValidationError(f"{name[:64]!r} is not text that can be hidden in {layer.name}. Choose from: "
                                  f"{', '.join(allowed)}.", field="fields")
    return names
