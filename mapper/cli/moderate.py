"""``mapper moderate``: approve, reject and correct contributed community assets; hide and restore abusive text."""

import click

from mapper.cli import Refused, data_option, main, open_resources, plural, terminal_safe

MODERATED_LAYER = "assets"
SHORT_TEXT = 160  # characters of a description shown in `moderate list`


def moderated(data, zone_id):
    """Resources, the moderated layer, and the zones to search (one, or all of them)."""
    resources = open_resources(data)
    layer = resources.schema.layer(MODERATED_LAYER)
    registry = resources.zones()
    zone_ids = [registry.get(zone_id).id] if zone_id else [zone.id for zone in registry]
    return resources, layer, zone_ids


def zone_option(command):
    return click.option("--zone", "zone_id", help="Zone id, e.g. new-parks (default: every zone).")(command)


@main.group()
def moderate():
    """Community assets contributed through the web wait as pending until a moderator approves or rejects them."""


@moderate.command("list")
@zone_option
@data_option
def list_pending(zone_id, data):
    """List the pending assets, oldest first."""
    from mapper.moderation import awaiting

    resources, layer, zone_ids = moderated(data, zone_id)
    waiting = awaiting(resources.store, layer, zone_ids)
    for zone, feature in waiting:
        properties = feature["properties"]
        category = layer.category(properties.get("category"))
        heading = [zone, properties.get("id"), properties.get("ref"), properties.get("created"),
                   category.label if category else properties.get("category")]
        click.echo("  ".join(terminal_safe(part) for part in heading if part))
        for label, name, limit in (("Name", "name", None), ("Address", "address", None),
                                   ("Description", "description", SHORT_TEXT), ("Website", "website", None)):
            if properties.get(name) not in (None, ""):
                click.echo(f"  {label + ':':<13}{terminal_safe(properties[name], limit)}")
    where = f" in {zone_ids[0]}" if zone_id else ""
    click.echo(f"{plural(len(waiting), 'asset')} waiting for moderation{where}.", err=True)


@moderate.command(short_help="Publish a pending asset.")
@click.argument("identifier", metavar="ID")
@zone_option
@data_option
def approve(identifier, zone_id, data):
    """Publish the pending asset ID (its id or its reference): it goes on the map and into every download."""
    from mapper.lifecycle import find_feature
    from mapper.moderation import approve as approve_feature

    resources, layer, zone_ids = moderated(data, zone_id)
    zone, feature = find_feature(resources.store, layer, zone_ids, identifier)
    changed = approve_feature(resources.store, layer, zone, feature["properties"]["id"], by="cli")
    click.echo(f"Published {describe(changed, zone)}.")


@moderate.command(short_help="Reject an asset, or withdraw a published one.")
@click.argument("identifier", metavar="ID")
@click.option("--reason", help="Why, for the other moderators (kept in the asset's history; never shown publicly).")
@zone_option
@data_option
def reject(identifier, reason, zone_id, data):
    """Reject the asset ID (pending, or published and now withdrawn): it never appears in a public answer."""
    from mapper.lifecycle import find_feature
    from mapper.moderation import reject as reject_feature

    resources, layer, zone_ids = moderated(data, zone_id)
    zone, feature = find_feature(resources.store, layer, zone_ids, identifier)
    changed = reject_feature(resources.store, layer, zone, feature["properties"]["id"], by="cli", reason=reason)
    click.echo(f"Rejected {describe(changed, zone)}.")


@moderate.command("edit", short_help="Correct an asset's public details.")
@click.argument("identifier", metavar="ID")
@click.option("--set", "assignments", multiple=True, metavar="PROPERTY=VALUE",
              help="A corrected value (blank: none; yes/no for toilets, water, ...); repeatable.")
@click.option("--approve", "and_approve", is_flag=True, help="Publish it as well (it must be pending).")
@click.option("--reason", help="Why, for the other moderators (private).")
@zone_option
@data_option
def edit_asset(identifier, assignments, and_approve, reason, zone_id, data):
    """Correct the asset ID with the checks of any contribution. The old values are kept privately; the public
    history says a moderator corrected it. Example: mapper moderate edit NP-7K3QX --set name="Parks Pantry"."""
    from mapper.lifecycle import find_feature
    from mapper.moderation import edit, values_from_text

    texts = {}
    for assignment in assignments:
        name, equals, value = assignment.partition("=")
        if not equals:
            raise Refused(f"--set {assignment[:60]!r}: write PROPERTY=VALUE, for example name=\"Parks Pantry\".")
        texts[name.strip()] = value
    resources, layer, zone_ids = moderated(data, zone_id)
    zone, feature = find_feature(resources.store, layer, zone_ids, identifier)
    changed = edit(resources.store, layer, zone, feature["properties"]["id"], values_from_text(layer, texts),
                   by="cli", reason=reason, approve=and_approve)
    click.echo(f"{'Corrected and published' if and_approve else 'Corrected'} {describe(changed, zone)}.")


@moderate.command("hide", short_help="Hide abusive text from any report or asset.")
@click.argument("identifier", metavar="REF")
@click.option("--field", "fields", multiple=True, required=True,
              help="The text to hide (description, name, location_text, ...); repeatable.")
@click.option("--reason", required=True, help="Why, for the other moderators (private).")
@zone_option
@data_option
def hide_text(identifier, fields, reason, zone_id, data):
    """Replace text of the report or asset REF (a ref or id, lights or assets) with "[Removed by a moderator]"
    everywhere public. The original is kept privately, with who, when and why; `moderate restore` puts it back."""
    from mapper.moderation import find_report, hide

    resources, _, zone_ids = moderated(data, zone_id)
    zone, layer, feature = find_report(resources.store, resources.schema, zone_ids, identifier)
    changed = hide(resources.store, layer, zone, feature["properties"]["id"], list(fields), by="cli", reason=reason)
    click.echo(f"Hid {', '.join(dict.fromkeys(fields))} of {describe_report(changed, layer, zone)}.")


@moderate.command("restore", short_help="Put back text a moderator hid.")
@click.argument("identifier", metavar="REF")
@click.option("--field", "fields", multiple=True, help="The text to put back (default: all hidden); repeatable.")
@click.option("--reason", help="Why, for the other moderators (private).")
@zone_option
@data_option
def restore_text(identifier, fields, reason, zone_id, data):
    """Put back the hidden text of the report or asset REF."""
    from mapper.moderation import find_report, restore

    resources, _, zone_ids = moderated(data, zone_id)
    zone, layer, feature = find_report(resources.store, resources.schema, zone_ids, identifier)
    changed = restore(resources.store, layer, zone, feature["properties"]["id"], list(fields) or None, by="cli",
                      reason=reason)
    click.echo(f"Restored the hidden text of {describe_report(changed, layer, zone)}.")


def describe(feature, zone):
    properties = feature["properties"]
    return f"{terminal_safe(properties.get('name'), 60)!s} ({zone}/{properties['id']})"


def describe_report(feature, layer, zone):
    properties = feature["properties"]
    return f"{layer.name} {properties.get('ref') or properties['id']} ({zone}/{properties['id']})"
