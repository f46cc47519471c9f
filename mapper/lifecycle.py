"""The lifecycle of a feature: every change of status or priority, who made it, and why.

One function, :func:`change`, moves a feature on. It checks and writes inside one ``Store.update`` (two officers
cannot both close the same report) and appends to the feature's public ``history`` property a record
``{"at", "from", "to", "public_note"}`` (plus ``"priority"`` when the priority changed), which the tracking page shows.
Who made the change and the officers' internal note go to the layer's private sidecar as
``{"id", "history": index, "by", "internal_note", "at"}``: never in a public file, map, export or answer.

Which changes are allowed is configuration (``[layers.<layer>.transitions]`` in ``data/layers.toml``), as are the
priorities (``priorities``) and how long a resident may reopen a fixed report (``reopen_days``). The states are
FixMyStreet's and map onto Open311's ``open``/``closed``. Moderation (``mapper moderate``) uses the same function.
"""

import os
import threading
import tomllib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from mapper import notify
from mapper.analysis.progress import last_fix
from mapper.errors import FeatureNotFound, MapperError, ValidationError
from mapper.validate import format_datetime

NOTE_LENGTH = 2000
FIXED = "fixed"
REOPENED = "open"


class StatusConflict(MapperError):
    """The feature is not in a status the change can start from (approving an asset already published)."""

    status = 409
    code = "status_conflict"


@dataclass(frozen=True)
class Lifecycle:
    """A layer's allowed transitions (``{from: (to, ...)}``; empty: any status may follow any other), priorities,
    and the days a resident has to reopen a fixed report (0: never)."""

    transitions: dict = field(default_factory=dict)
    priorities: tuple = ()
    reopen_days: int = 0

    def allowed_from(self, status):
        return tuple(self.transitions.get(status, ())) if self.transitions else None


_cache = {}
_cache_lock = threading.Lock()


def lifecycle_for(layers_file, layer):
    """The :class:`Lifecycle` of ``layer`` (a :class:`mapper.schema.Layer`) from the layers TOML file, re-read when the
    file changes."""
    stamp = os.stat(layers_file).st_mtime_ns
    with _cache_lock:
        cached = _cache.get(str(layers_file))
        if cached is None or cached[0] != stamp:
            with open(layers_file, "rb") as f:
                cached = (stamp, tomllib.load(f).get("layers", {}))
            _cache[str(layers_file)] = cached
    spec = cached[1].get(layer.name, {})
    transitions = {source: tuple(targets) for source, targets in spec.get("transitions", {}).items()}
    for source, targets in transitions.items():
        unknown = sorted({source, *targets} - set(layer.statuses))
        if unknown:
            raise ValueError(f"{layers_file}: layer {layer.name!r} transitions name unknown statuses {unknown}")
    return Lifecycle(transitions=transitions, priorities=tuple(spec.get("priorities", ())),
                     reopen_days=int(spec.get("reopen_days", 0)))


def history_record(old, new, note=None, at=None, priority=None):
    """One public entry of a feature's ``history``: no name, no internal note.

    >>> history_record("pending", "published", at="2024-05-01T09:30:00.000Z")
    {'at': '2024-05-01T09:30:00.000Z', 'from': 'pending', 'to': 'published', 'public_note': None}
    """
    record = {"at": at or format_datetime(datetime.now(timezone.utc)), "from": old, "to": new, "public_note": note}
    if priority is not None:
        record["priority"] = priority
    return record


def clean_note(note, name):
    """A note with its whitespace collapsed, or None; too long or not text is a ValidationError."""
    if note is None:
        return None
    if not isinstance(note, str):
        raise ValidationError(f"{name} must be text.", field=name)
    note = " ".join(note.split())
    if len(note) > NOTE_LENGTH:
        raise ValidationError(f"{name} is {len(note)} characters; the limit is {NOTE_LENGTH}.", field=name)
    return note or None


def change(store, layer, lifecycle, zone_id, feature_id, *, by, status=None, priority=None, public_note=None,
           internal_note=None, duplicate_of=None, allowed_from=None):
    """Change a feature's status and/or priority, keep the change in its history; return the stored Feature.

    Parameters
    ----------
    store : mapper.store.Store
    layer : mapper.schema.Layer
    lifecycle : Lifecycle
        Its transitions decide which statuses may follow the current one, unless ``allowed_from`` is given.
    zone_id, feature_id : str
    by : str
        Who made the change (an officer's name, ``"cli"``, ``"resident"``); kept privately.
    status, priority : str, optional
        The new status (one of the layer's) and priority (one of the lifecycle's); at least one.
    public_note, internal_note : str, optional
        Shown on the tracking page; shown to officers only. ``not-responsible`` needs a public note (the referral).
    duplicate_of : str, optional
        The id or ref of the report that is kept; ``duplicate`` needs it.
    allowed_from : collection of str, optional
        Statuses the feature must be in now (moderation's rules); otherwise the lifecycle's transitions apply.
    """
    public_note, internal_note = clean_note(public_note, "public_note"), clean_note(internal_note, "internal_note")
    if status is None and priority is None:
        raise ValidationError("Send a status, a priority or both.", field="status")
    if status is not None and status not in layer.statuses:
        raise ValidationError(f"Unknown status {status!r} for layer {layer.name!r}. Statuses are: "
                              f"{', '.join(layer.statuses)}.", field="status")
    if priority is not None and priority not in lifecycle.priorities:
        allowed = ", ".join(lifecycle.priorities) or "none (this layer has no priorities)"
        raise ValidationError(f"Unknown priority {priority!r}. Priorities are: {allowed}.", field="priority")
    if status == "not-responsible" and not public_note:
        raise ValidationError("not-responsible needs a public_note saying who is responsible (the referral).",
                              field="public_note")
    kept = None
    if status == "duplicate":
        kept = kept_report(store, layer, zone_id, feature_id, duplicate_of)
    elif duplicate_of is not None:
        raise ValidationError("duplicate_of goes only with the status 'duplicate'.", field="duplicate_of")
    records = []

    def apply(properties):
        old = properties.get("status")
        new = old if status is None else status
        if status is not None and allowed_from is not None and old not in allowed_from:
            raise StatusConflict(f"{layer.name} {feature_id} is {old!r}, not {' or '.join(map(repr, allowed_from))}; "
                                 f"it cannot become {status!r}.", field="status")
        if status is not None and status != old and allowed_from is None:
            permitted = lifecycle.allowed_from(old)
            if permitted is not None and status not in permitted:
                raise StatusConflict(f"{layer.name} {feature_id} is {old!r} and cannot become {status!r}. From "
                                     f"{old!r} it can become: {', '.join(permitted) or 'nothing'}.", field="status")
        changed_priority = priority if priority is not None and priority != properties.get("priority") else None
        if new == old and changed_priority is None and not public_note and not internal_note:
            raise StatusConflict(f"{layer.name} {feature_id} is {old!r} already; nothing to change.", field="status")
        history = properties.get("history")
        history = list(history) if isinstance(history, list) else []
        record = history_record(old, new, public_note, priority=changed_priority)
        properties["history"] = history + [record]
        properties["status"] = new
        if changed_priority is not None:
            properties["priority"] = changed_priority
        if kept is not None:
            properties["duplicate_of"] = kept
        elif status is not None and new != "duplicate":
            properties.pop("duplicate_of", None)
        records.append({"id": feature_id, "history": len(history), "by": by, "internal_note": internal_note,
                        "at": record["at"]})
        return properties

    changed = store.update(zone_id, layer.name, feature_id, apply, private=records)
    if status is not None and records:
        notify.status_changed(store, layer, zone_id, changed)  # durable now; tell the resident (never raises)
    return changed


def kept_report(store, layer, zone_id, feature_id, identifier):
    """The ref (else id) of the report a duplicate points to: it must exist in the same zone and layer."""
    if not isinstance(identifier, str) or not identifier.strip():
        raise ValidationError("duplicate needs duplicate_of: the id or ref of the report that is kept.",
                              field="duplicate_of")
    identifier = identifier.strip()
    for column in ("ref", "id"):
        found = store.find(zone_id, layer.name, column, identifier)
        if found is not None:
            if found["properties"]["id"] == feature_id:
                raise ValidationError("A report cannot be a duplicate of itself.", field="duplicate_of")
            return found["properties"].get("ref") or found["properties"]["id"]
    raise ValidationError(f"No {layer.name} report {identifier[:64]!r} in this zone to keep instead.",
                          field="duplicate_of")


def change_status(store, layer, zone_id, feature_id, new_status, *, by, note=None, internal_note=None,
                  allowed_from=None):
    """Move one feature to ``new_status`` with no transition table (moderation states its own ``allowed_from``)."""
    return change(store, layer, Lifecycle(), zone_id, feature_id, by=by, status=new_status, public_note=note,
                  internal_note=internal_note, allowed_from=allowed_from)


# -- residents reopening a fixed report ----------------------------------------------------------------------------


def fixed_at(properties):
    """When the feature last became fixed (its history), else its last update.

    Only a record that changed the status counts: a later note, or a moderator hiding text, does not restart the
    resident's time to reopen."""
    record = last_fix(properties)
    return record.get("at") if record else properties.get("updated")


def reopen_deadline(properties, lifecycle):
    """The moment after which a fixed report can no longer be reopened, or None when it cannot be reopened now."""
    if properties.get("status") != FIXED or lifecycle.reopen_days <= 0:
        return None
    try:
        fixed = datetime.fromisoformat(fixed_at(properties).replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        return None
    return fixed + timedelta(days=lifecycle.reopen_days)


def reopen(store, layer, lifecycle, zone_id, feature_id, reason, now=None):
    """A resident says a fixed fault is back: the report is ``open`` again, within ``reopen_days`` of the fix.

    The resident's reason is kept as an internal note (officers read it; unmoderated text is not published) and the
    public history says the report was reopened.
    """
    reason = clean_note(reason, "reason")
    if not reason:
        raise ValidationError("Tell us what is wrong again, so that the council knows what to look at.",
                              field="reason")
    now = now or datetime.now(timezone.utc)

    def still_open(properties):
        deadline = reopen_deadline(properties, lifecycle)
        if properties.get("status") != FIXED:
            raise StatusConflict("Only a report marked fixed can be reopened; this one is "
                                 f"{layer.status_label(properties.get('status'))!r}.", field="status")
        if deadline is None or now > deadline:
            raise StatusConflict(f"This report was fixed more than {lifecycle.reopen_days} days ago, so it cannot be "
                                 "reopened. Please make a new report.", field="status")
        return True

    still_open(store.get(zone_id, layer.name, feature_id)["properties"])  # a clear answer before any lock
    return change(store, layer, lifecycle, zone_id, feature_id, by="resident", status=REOPENED,
                  public_note="Reopened by a resident: the fault is back.", internal_note=reason,
                  allowed_from=(FIXED,))


# -- what officers see ---------------------------------------------------------------------------------------------


def officer_view(store, layer, zone_id, feature):
    """The feature with its private fields (``private``) and each history entry's ``by`` and ``internal_note``."""
    feature_id = feature["properties"]["id"]
    details = store.private_history(zone_id, layer.name, feature_id)
    history = []
    for index, record in enumerate(feature["properties"].get("history") or []):
        extra = details.get(index, {})
        history.append({**record, "by": extra.get("by", record.get("by")), "internal_note": extra.get("internal_note")})
    properties = {**feature["properties"], "history": history}
    return {**feature, "properties": properties, "private": store.get_private(zone_id, layer.name, feature_id)}


def find_feature(store, layer, zone_ids, identifier):
    """``(zone id, Feature)`` of the feature whose id or short ref is ``identifier``, searching ``zone_ids``."""
    for zone_id in zone_ids:
        for column in ("id", "ref"):
            feature = store.find(zone_id, layer.name, column, identifier)
            if feature is not None:
                return zone_id, feature
    raise FeatureNotFound(f"No {layer.name} feature with the id or reference {identifier!r}.", field="id")
