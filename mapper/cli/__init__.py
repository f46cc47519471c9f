"""The ``mapper`` command line: serve, import, check, demo, zones and moderate.

Thin over the functions the web uses: every feature goes through ``mapper.intake.judge_many`` (so through the one
validator), zones through ``mapper.zones``, files through ``mapper.importers`` and status changes through
``mapper.moderation``. A bad input file, an unknown zone, layer or feature, or a refused zone boundary or status
change is one line on stderr and exit code 2; refused rows are exit code 1.
"""

from pathlib import Path

import click

from mapper import __version__
from mapper.accounts import ROLES
from mapper.errors import MapperError

MAX_LISTED = 20  # refused rows listed before "and N more"
DATA_HELP = "Data directory (default: $MAPPER_DATA_DIR, else ./geojson)."


class Refused(click.ClickException):
    """Bad input the user can fix: a one-line "Error: ..." and exit code 2, like a usage error."""

    exit_code = 2


class MapperGroup(click.Group):
    """Turns every MapperError or unreadable file below it into :class:`Refused`, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MapperError as error:
            raise Refused(error.message) from None
        except OSError as error:
            raise Refused(f"{error.filename or 'file'}: {error.strerror or error}") from None


def plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def data_option(command):
    return click.option("--data", type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)(command)


def open_resources(data):
    """Schema, zone registry and store for a data directory, exactly as the web app builds them."""
    from mapper.config import load
    from mapper.web.context import Resources

    return Resources(load({"DATA_DIR": data} if data else None))


@click.group(cls=MapperGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mapper")
def main():
    """Street-lighting faults and community assets for Leicestershire's People Zones."""


# -- serve ---------------------------------------------------------------------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests served at once.")
@data_option
def serve(host, port, threads, data):
    """Serve the web app and API with waitress."""
    from waitress import serve as waitress_serve

    from mapper import create_app

    app = create_app({"DATA_DIR": data} if data else None)
    app.extensions["mapper"].zones()  # an unreadable registry should stop us now, not on the first request
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"mapper {__version__}: serving {app.config['DATA_DIR']} on http://{shown}:{port}/ (Ctrl+C stops)")
    waitress_serve(app, host=host, port=port, threads=threads)


# -- import --------------------------------------------------------------------------------------------------------


def judge(rows, layer, zone_id, resources, label=None, status=None):
    """Validate ``(number, feature)`` rows with intake.judge_many; return (accepted submissions, refusals).

    A ``label`` shows a progress bar on stderr. Imports are an administrator's, so they are stored with the layer's
    first open status (assets are published at once) unless ``status`` says otherwise.
    """
    from mapper.intake import judge_many

    schema_layer = resources.schema.layer(layer)
    status = status or (schema_layer.open_statuses or (schema_layer.initial_status,))[0]

    def run(features):
        return judge_many(features, layer, zone_id, schema=resources.schema, zones=resources.zones(), status=status)

    if label is None:
        accepted, refused = run(feature for _, feature in rows)
    else:
        with click.progressbar(rows, label=label, file=click.get_text_stream("stderr")) as bar:
            accepted, refused = run(feature for _, feature in bar)
    return accepted, [(rows[position][0], error.message) for position, error in refused]


@main.command("import")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. new-parks (see `mapper zones list`).")
@click.option("--layer", "layer_name", required=True, help="Layer name, e.g. lights or assets.")
@click.option("--skip-invalid", is_flag=True, help="Store the rows that pass and report the others.")
@click.option("--status", default=None, help="Status to give every feature (default: the layer's first open one, "
                                             "so imported assets are published).")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_file(zone_id, layer_name, skip_invalid, status, data, file):
    """Import FILE (GeoJSON, or CSV with lon/lat or easting/northing columns) into a zone's layer.

    Every row is validated as the API validates a report. By default nothing is stored if any row is refused.
    """
    from mapper.importers import reader_for

    resources = open_resources(data)
    layer = resources.schema.layer(layer_name)
    zone = resources.zones().get(zone_id)
    reader = reader_for(file)
    rows = list(reader.read_features(file, layer))
    if not rows:
        raise Refused(f"{file} has no {reader.UNIT}s to import.")
    accepted, refused = judge(rows, layer.name, zone.id, resources, f"Validating {plural(len(rows), reader.UNIT)}",
                              status=status)
    for number, message in refused[:MAX_LISTED]:
        click.echo(f"{file}: {reader.UNIT} {number}: {message}", err=True)
    if len(refused) > MAX_LISTED:
        click.echo(f"... and {len(refused) - MAX_LISTED} more refused.", err=True)
    if refused and (not skip_invalid or not accepted):
        hint = "" if skip_invalid else " Fix them, or use --skip-invalid to store the others."
        click.echo(f"Nothing imported: {len(refused)} of {plural(len(rows), reader.UNIT)} refused.{hint}", err=True)
        raise click.exceptions.Exit(1)
    from mapper.intake import link_columns

    link_columns(accepted, zone.id, layer.name, schema=resources.schema, store=resources.store)
    stored = resources.store.append(zone.id, layer.name, accepted, ref_prefix=zone.ref_prefix)
    skipped = f"; skipped {plural(len(refused), 'refused ' + reader.UNIT)}" if refused else ""
    click.echo(f"Imported {plural(len(stored), 'feature')} into {zone.id}/{layer.name}{skipped}.")


@main.command("import-columns")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. bell-foundry (see `mapper zones list`).")
@click.option("--id-column", help="The column (CSV) or property (GeoJSON) holding unit ids (default: unit_id, "
                                  "unitid, column_id, asset_id, feature_id, id ... whichever the file has).")
@click.option("--replace", is_flag=True, help="The file is the whole inventory: mark columns it no longer lists "
                                              "removed, and move columns whose position changed.")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_columns_command(zone_id, id_column, replace, data, file):
    """Import a council's lamp-column inventory FILE (CSV with easting/northing or lon/lat, or GeoJSON) into a
    zone's columns layer.

    Only columns inside the zone are kept. Rows without a unit id get a stable generated one; an id used at two
    positions gets ~2 on the second. Importing the same file again adds nothing.
    """
    from mapper.importers.columns import import_columns

    resources = open_resources(data)
    report = import_columns(file, zone_id, schema=resources.schema, zones=resources.zones(), store=resources.store,
                            id_column=id_column, replace=replace)
    for note in report.id_notes()[:MAX_LISTED]:
        click.echo(terminal_safe(note), err=True)
    for number, message in report.refusals[:MAX_LISTED]:
        click.echo(f"{file}: row {number}: {terminal_safe(message)}", err=True)
    if len(report.refusals) > MAX_LISTED:
        click.echo(f"... and {len(report.refusals) - MAX_LISTED} more refused.", err=True)
    click.echo(report.summary())


@main.command("import-assets")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. new-parks (see `mapper zones list`).")
@click.option("--category", help="Give every row this category (e.g. welfare-facility), whatever the file says.")
@click.option("--welfare", is_flag=True, help="Mark every row a welfare facility (a hub or office that offers one).")
@click.option("--source-profile", "profile", help="The mapping profile of data/asset_sources.toml to use (default: "
                                                  "detected from the header or tags).")
@click.option("--skip-invalid", is_flag=True, help="Store the rows that pass and report the others.")
@click.option("--dry-run", is_flag=True, help="Read, map and check every row; store nothing.")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_assets_command(zone_id, category, welfare, profile, skip_invalid, dry_run, data, file):
    """Import community assets and welfare facilities from FILE (GeoJSON, OSM-style tagged points, or a council CSV
    in any common separator and encoding) into a zone's assets layer, published.

    Only rows inside the zone are kept. By default nothing is stored if any row is refused. Importing the same file
    again adds nothing. See docs/assets-import.md.
    """
    from mapper.importers.assets import import_assets

    resources = open_resources(data)
    report = import_assets(file, zone_id, schema=resources.schema, zones=resources.zones(), store=resources.store,
                           profile=profile, category=category, welfare=welfare, skip_invalid=skip_invalid,
                           dry_run=dry_run)
    for note in report.notes():
        click.echo(terminal_safe(note), err=True)
    for kind, listed in (("refused", report.refusals), ("left out", report.dropped)):
        for label, message in listed[:MAX_LISTED]:
            click.echo(f"{file}: {label}: {terminal_safe(message)}", err=True)
        if len(listed) > MAX_LISTED:
            click.echo(f"... and {len(listed) - MAX_LISTED} more {kind}.", err=True)
    click.echo(report.summary())
    if report.refusals and not report.would_store:
        hint = "" if skip_invalid else " Fix them, or use --skip-invalid to store the others."
        click.echo(f"Nothing imported: {plural(len(report.refusals), 'row')} refused.{hint}", err=True)
        raise click.exceptions.Exit(1)


@main.command("import-streets")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. bell-foundry (see `mapper zones list`).")
@click.option("--margin", default=800.0, show_default=True, type=click.FloatRange(0, 10_000),
              help="Keep ways within this many metres of the zone, so walks may leave it and come back.")
@click.option("--skip-invalid", is_flag=True, help="Store the ways that pass and report the others.")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_streets_command(zone_id, margin, skip_invalid, data, file):
    """Import the walkable ways of an OSM-style GeoJSON FILE of lines into a zone's streets layer: the network
    walking catchments follow (Community Payback).

    Motorways, trunk roads without a pavement, foot=no and private ways are left out. Importing the same file again
    adds nothing. See docs/community-payback.md.
    """
    from mapper.importers.streets import import_streets

    resources = open_resources(data)
    report = import_streets(file, zone_id, schema=resources.schema, zones=resources.zones(), store=resources.store,
                            margin_m=margin, skip_invalid=skip_invalid)
    for note in report.notes():
        click.echo(terminal_safe(note), err=True)
    for number, message in report.refusals[:MAX_LISTED]:
        click.echo(f"{file}: feature {number}: {terminal_safe(message)}", err=True)
    if len(report.refusals) > MAX_LISTED:
        click.echo(f"... and {len(report.refusals) - MAX_LISTED} more refused.", err=True)
    click.echo(report.summary())
    if report.stored_nothing:
        click.echo("Fix them, or use --skip-invalid to store the others.", err=True)
        raise click.exceptions.Exit(1)


@main.command("catchments")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. bell-foundry.")
@click.option("--minutes", type=float, help="Walking time (default 10).")
@click.option("--speed", type=float, help="Walking speed in km/h (default 4.8).")
@click.option("--detour", type=float, help="Circles only: straight line x detour = walk (default 1.3).")
@click.option("--buffer", type=float, help="Street network only: metres either side of reachable streets (default 50).")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file; its extension picks the format: .geojson, .gpkg, .shp.zip (or .zip), .csv or .kml.")
@click.option("--crs", default="4326", show_default=True, type=click.Choice(["4326", "27700"]),
              help="Coordinates of the output (GeoJSON and KML are always 4326).")
@data_option
def catchments_command(zone_id, minutes, speed, detour, buffer, output, crs, data):
    """Write a zone's welfare-facility catchments (Community Payback): the area within a walk of each published
    welfare facility, cut into parts by the facilities serving them. Along the zone's streets when imported
    (mapper import-streets), else circles."""
    from mapper.analysis.catchments import Settings, catchment_collection, catchment_parts, catchments, zone_inputs

    settings = Settings.parse({"minutes": minutes, "speed_kmh": speed, "detour": detour, "network_buffer_m": buffer})
    output_format = checked_output(output, crs)
    resources = open_resources(data)
    zone = resources.zones().get(zone_id)
    facilities, network = zone_inputs(resources.store, zone.id)
    if not facilities:
        click.echo(f"{zone.id} has no published welfare facilities: import them with mapper import-assets "
                   "(category welfare-facility, or --welfare).", err=True)
    collection = catchment_collection(catchment_parts(catchments(facilities, settings, network)), settings)
    write_output(collection, output_format, output, crs)
    how = (f"circles of {settings.radius_m:.0f} m: {settings.minutes:g} min at {settings.speed_kmh:g} km/h, detour "
           f"{settings.detour:g}" if network is None else f"along {network.total_m / 1000:,.1f} km of streets: "
           f"{settings.minutes:g} min at {settings.speed_kmh:g} km/h, {settings.network_buffer_m:g} m either side")
    facilities_text = f"{len(facilities)} welfare {'facility' if len(facilities) == 1 else 'facilities'}"
    click.echo(f"Wrote {plural(len(collection['features']), 'catchment part')} of {facilities_text} ({how}) to "
               f"{output}.")


# -- check ---------------------------------------------------------------------------------------------------------


@main.command()
@data_option
def check(data):
    """Check the zone registry and every layer file; print path:line: message per problem."""
    resources = open_resources(data)
    problems, registry = [], None
    zones_file = resources.config["ZONES_FILE"]
    try:
        registry = resources.zones()
    except MapperError as error:
        problems.append(error.message if str(zones_file) in error.message else f"{zones_file}: {error.message}")
    if registry is not None:
        from mapper.zones import overlapping_zones

        problems += [f"{zones_file}: zones {a!r} and {b!r} overlap by {area} m²; points there go to {a!r}"
                     for a, b, area in overlapping_zones(registry)]
    structural = resources.store.check()
    problems += [f"{path}:{line}: {message}" for path, line, message in structural]
    damaged = {path for path, _, _ in structural}
    counts = {}
    for zone_id, layer_name in resources.store.layers():
        found, count = layer_problems(resources, registry, zone_id, layer_name, damaged)
        problems += found
        if count is not None:
            counts[f"{zone_id}/{layer_name}"] = count
    for problem in problems:
        click.echo(problem)
    if problems:
        click.echo(f"{plural(len(problems), 'problem')} found.", err=True)
        raise click.exceptions.Exit(1)
    zones_note = plural(len(registry), "zone") if registry is not None else "no zones"
    click.echo(f"OK: {zones_note}, {plural(len(counts), 'layer file')}, {plural(sum(counts.values()), 'feature')}.")
    for name, count in counts.items():
        click.echo(f"  {name}: {count}")


def layer_problems(resources, registry, zone_id, layer_name, damaged):
    """Problems of one layer file beyond its structure, and its feature count (None if it could not be read)."""
    path = resources.store.location(zone_id, layer_name)
    if registry is not None and zone_id not in registry:
        return [f"{path}:1: zone {zone_id!r} is not in the zone registry"], None
    if layer_name not in resources.schema:
        return [f"{path}:1: layer {layer_name!r} is not in the schema ({', '.join(resources.schema.names)})"], None
    if str(path) in damaged:
        return [], None  # its structure is reported already; line numbers would mislead until it is fixed
    features = resources.store.query(zone_id, layer_name)
    layer = resources.schema.layer(layer_name)
    zone = registry.get(zone_id) if registry is not None else None
    found = []
    for position, feature in enumerate(features):
        # Line 1 is the collection's header; the store writes one feature per line after it.
        found += [f"{path}:{position + 2}: {message}" for message in feature_problems(feature, layer, zone)]
    return found, len(features)


def feature_problems(feature, layer, zone):
    """What is wrong with one stored feature by today's schema and zone boundary."""
    from mapper.schema import SERVER_PROPERTIES
    from mapper.validate import validate_properties

    properties = feature.get("properties") or {}
    found = []
    try:
        validate_properties({k: v for k, v in properties.items() if k not in SERVER_PROPERTIES}, layer)
    except MapperError as error:
        found.append(error.message)
    if properties.get("status") not in layer.statuses:
        found.append(f"status {properties.get('status')!r} is not one of {', '.join(layer.statuses)}")
    if zone is not None:
        if properties.get("zone") != zone.id:
            found.append(f"the feature says zone {properties.get('zone')!r} but is stored in {zone.id!r}")
        if not layer.beyond_zone:
            found += placement_problems(feature["geometry"], zone)
    return found


def placement_problems(geometry, zone):
    """A point must lie in its zone; a line (an audit walk, perhaps kept with --keep-outside) must at least touch it."""
    from shapely.geometry import shape

    if geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"][:2]
        if not zone.contains(lon, lat):
            return [f"the point ({lon}, {lat}) is outside the {zone.name} zone ({zone.id})"]
        return []
    if not zone.boundary.intersects(shape(geometry)):
        return [f"the {geometry.get('type')} lies entirely outside the {zone.name} zone ({zone.id})"]
    return []


# -- demo ----------------------------------------------------------------------------------------------------------


@main.command()
@data_option
@click.option("--force", is_flag=True, help="Add the demo features even to zones that already have features.")
def demo(data, force):
    """Load the demo data set (data/demo/): lighting reports and community assets in each zone.

    Zones whose layers already have features are left alone unless --force, which adds the demo again.
    """
    from mapper.config import SHIPPED_DATA_DIR
    from mapper.importers import read_features

    resources = open_resources(data)
    registry, store = resources.zones(), resources.store
    for zone_dir in sorted(path for path in (SHIPPED_DATA_DIR / "demo").iterdir() if path.is_dir()):
        files = sorted(zone_dir.glob("*.geojson"))
        if zone_dir.name not in registry:
            click.echo(f"{zone_dir.name}: not in this zone registry; skipped.")
            continue
        existing = {file.stem: store.count(zone_dir.name, file.stem) for file in files}
        if any(existing.values()) and not force:
            have = ", ".join(f"{count} {name}" for name, count in existing.items() if count)
            click.echo(f"{zone_dir.name}: already has {have}; nothing added (--force adds the demo anyway).")
            continue
        # Validate the zone's every file before its first write, so a failure never leaves half a demo.
        judged = {file.stem: judge(list(read_features(file)), file.stem, zone_dir.name, resources)
                  for file in files}
        for name, (accepted, refused) in judged.items():
            if refused:
                raise Refused(f"demo {zone_dir.name}/{name}: feature {refused[0][0]}: {refused[0][1]}")
        prefix = resources.zones().get(zone_dir.name).ref_prefix
        added = {name: len(store.append(zone_dir.name, name, accepted, ref_prefix=prefix))
                 for name, (accepted, _) in judged.items()}
        click.echo(f"{zone_dir.name}: added " + ", ".join(f"{count} {name}" for name, count in added.items()) + ".")


# -- moderate ------------------------------------------------------------------------------------------------------

MODERATED_LAYER = "assets"
SHORT_TEXT = 160  # characters of a description shown in `moderate list`


def terminal_safe(value, limit=None):
    r"""Text from a contribution made safe to print: control and format characters (escape sequences, bidi
    overrides) removed, line breaks and tabs turned to spaces, shortened to ``limit`` characters.

    >>> terminal_safe("Pantry\x1b[2J\u202e\nopen  daily")
    'Pantry[2J open daily'
    >>> terminal_safe("Open every day", limit=8)
    'Open ev…'
    """
    import unicodedata

    if value is None:
        return ""
    kept = []
    for character in str(value):
        kind = unicodedata.category(character)
        if character in "\t\n\r" or kind in ("Zl", "Zp"):
            kept.append(" ")
        elif kind not in ("Cc", "Cf"):
            kept.append(character)
    text = " ".join("".join(kept).split())
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


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


# -- zones ---------------------------------------------------------------------------------------------------------


@main.group()
def zones():
    """The zone registry (<data dir>/zones.geojson)."""


@zones.command("list")
@data_option
def list_zones(data):
    """List the zones: id, name, area and council."""
    for zone in open_resources(data).zones():
        council = zone.properties.get("council") or ""
        click.echo(f"{zone.id:<24} {zone.name:<28} {zone.area_m2 / 1e6:7.2f} km²  {council}".rstrip())


@zones.command("add")
@click.argument("name")
@click.option("--id", "zone_id", required=True, help="Lower-case letters, digits and hyphens, e.g. braunstone.")
@click.option("--boundary", required=True, type=click.Path(exists=True, path_type=Path),
              help="GeoJSON, GeoPackage, Shapefile... in any CRS; several polygons are joined.")
@click.option("--council", help="The council responsible, shown with the zone.")
@data_option
def add(name, zone_id, boundary, council, data):
    """Add the zone NAME with the polygon(s) in the boundary file."""
    from mapper.zones import add_zone, overlapping_zones, read_boundary

    if not name.strip():
        raise Refused("The zone needs a name.")
    registry = open_resources(data).zones()
    polygon = read_boundary(boundary)
    registry = add_zone(registry, zone_id, name.strip(), polygon, {"council": council} if council else None)
    zone = registry.get(zone_id)
    click.echo(f"Added {zone.id} ({zone.name}, {zone.area_m2 / 1e6:.2f} km²) to {registry.path}.")
    for a, b, area in overlapping_zones(registry, {zone.id}):
        click.echo(f"Warning: {a} and {b} overlap by {area} m²; points there go to {a}.", err=True)


# -- analysts: police.uk import, hotspots, target areas, evaluation ------------------------------------------------


@main.command("import-police")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. new-parks.")
@data_option
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_police_command(zone_id, data, files):
    """Import police.uk street-level crime CSVs (FILES) into a zone's crime layer.

    Only rows inside the zone are kept; the rest are counted by reason. Importing the same file again adds nothing.
    """
    from mapper.importers.police_uk import import_police

    resources = open_resources(data)
    report = import_police(files, zone_id, schema=resources.schema, zones=resources.zones(), store=resources.store)
    for path, number, message in report.refusals[:MAX_LISTED]:
        click.echo(f"{path}: row {number}: {message}", err=True)
    if len(report.refusals) > MAX_LISTED:
        click.echo(f"... and {len(report.refusals) - MAX_LISTED} more refused.", err=True)
    click.echo(report.summary())


def analysis_options(command):
    """Options shared by hotspots and targets: zone, layers, window, cell and suppression."""
    options = [
        click.option("--zone", "zone_id", required=True, help="Zone id, e.g. new-parks."),
        click.option("--layer", "layers", multiple=True, required=True,
                     help="LAYER[:FILTER[:WEIGHT]], e.g. crime:anti-social-behaviour or lights:open:2; repeatable. "
                          "FILTER is categories and statuses joined by '+', or 'open'."),
        click.option("--from", "start", default=None, help="First month or day (YYYY-MM[-DD]), inclusive."),
        click.option("--to", "end", default=None, help="Last month or day (YYYY-MM[-DD]), inclusive."),
        click.option("--cell", default=50.0, show_default=True, type=float, help="Cell size in metres."),
        click.option("--suppress-below", default=3, show_default=True, type=click.IntRange(0),
                     help="Withhold counts of cells with fewer records than this (public outputs)."),
        click.option("--no-suppression", is_flag=True, help="Keep every count (officers' and analysts' outputs)."),
        click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
                     help="Output file; its extension picks the format: .geojson, .gpkg, .shp.zip (or .zip), .csv "
                          "(WKT geometry) or .kml."),
        click.option("--crs", default="4326", show_default=True, type=click.Choice(["4326", "27700"]),
                     help="Coordinates of the output: lon/lat or British National Grid (GeoPackage, Shapefile, "
                          "CSV; GeoJSON and KML are always 4326)."),
        data_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def checked_output(output, crs):
    """The export format ``output``'s extension names, checked against ``crs`` before any work is done."""
    from mapper.export import check_output, format_for_path

    output_format = format_for_path(output)
    check_output(output_format, crs)
    return output_format


def write_output(collection, output_format, output, crs):
    """Write an analysis result through the export registry (the one the API and the page use)."""
    from mapper.export import write_collection

    output.write_bytes(write_collection(output_format, collection, crs))


@main.command()
@analysis_options
@click.option("--method", type=click.Choice(["gi", "kde"]), default="gi", show_default=True,
              help="Getis-Ord Gi* or quartic kernel density.")
@click.option("--band", default=200.0, show_default=True, type=float, help="Gi* distance band in metres.")
@click.option("--bandwidth", default=None, type=float, help="Kernel density bandwidth in metres (default: --band).")
@click.option("--no-fdr", is_flag=True, help="Gi* confidence bins without the FDR correction.")
def hotspots(zone_id, layers, start, end, cell, suppress_below, no_suppression, output, crs, data, method, band,
             bandwidth, no_fdr):
    """Write a hotspot grid (Gi* or kernel density) of a zone's layers as cells (GeoJSON, GeoPackage, ...)."""
    from mapper.analysis.hotspots import hotspot_layer

    output_format = checked_output(output, crs)
    resources = open_resources(data)
    zone = resources.zones().get(zone_id)
    collection = hotspot_layer(resources.store, zone, list(layers), method=method, cell=cell, band=band,
                               bandwidth=bandwidth, start=start, end=end, fdr=not no_fdr,
                               suppress_below=0 if no_suppression else suppress_below, schema=resources.schema)
    write_output(collection, output_format, output, crs)
    records = sum(layer["records"] for layer in collection["analysis"]["layers"])
    hot = sum(1 for f in collection["features"] if (f["properties"].get("Gi_Bin") or
                                                     f["properties"].get("density_class") or 0) > 0)
    click.echo(f"Wrote {plural(len(collection['features']), 'cell')} ({hot} hot) from "
               f"{plural(records, 'record')} to {output}.")


@main.command()
@analysis_options
@click.option("--method", type=click.Choice(["counts", "gi", "kde"]), default="counts", show_default=True,
              help="How cells are scored (counts predicted best here: see docs/hotspots.md).")
@click.option("--share", default=0.05, show_default=True, type=float, help="Largest share of the zone's area.")
@click.option("--band", default=200.0, show_default=True, type=float, help="Gi* distance band in metres.")
@click.option("--bandwidth", default=200.0, show_default=True, type=float, help="Density bandwidth in metres.")
def targets(zone_id, layers, start, end, cell, suppress_below, no_suppression, output, crs, data, method, share,
            band, bandwidth):
    """Write ranked Crimestoppers target areas of a zone as polygons (GeoJSON, GeoPackage, ...) and list them."""
    from mapper.analysis.targets import target_layer

    output_format = checked_output(output, crs)
    resources = open_resources(data)
    zone = resources.zones().get(zone_id)
    collection = target_layer(resources.store, zone, list(layers), method=method, share=share, cell=cell,
                              band=band, bandwidth=bandwidth, start=start, end=end,
                              suppress_below=0 if no_suppression else suppress_below, schema=resources.schema)
    write_output(collection, output_format, output, crs)
    for feature in collection["features"][:MAX_LISTED]:
        p = feature["properties"]
        records = "few" if p["records"] is None else p["records"]  # withheld: it could reveal a small count
        click.echo(f"{p['rank']:>3}. {records:>5} records  {p['zone_share']:>6.2%} of the zone  "
                   f"{', '.join(p['streets']) or '(no street named)'}")
    click.echo(f"Wrote {plural(len(collection['features']), 'target area')} to {output}.")


@main.command()
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. new-parks.")
@click.option("--layer", "layers", multiple=True, required=True, help="LAYER[:FILTER[:WEIGHT]]; repeatable.")
@click.option("--train", required=True, help="Training period, YYYY-MM..YYYY-MM.")
@click.option("--test", "test_period", required=True, help="Test period, YYYY-MM..YYYY-MM.")
@click.option("--share", default=0.05, show_default=True, type=float, help="Share of the study area selected.")
@click.option("--cell", default=50.0, show_default=True, type=float, help="Cell size in metres.")
@click.option("--band", default=200.0, show_default=True, type=float, help="Gi* distance band in metres.")
@data_option
def evaluate(zone_id, layers, train, test_period, share, cell, band, data):
    """How well each hotspot method predicts: hit rate, PAI and PEI (Chainey, Tompson & Uhlig 2008)."""
    from mapper.analysis.evaluate import evaluate_methods, format_table, parse_period

    resources = open_resources(data)
    zone = resources.zones().get(zone_id)
    results = evaluate_methods(resources.store, zone, list(layers), parse_period(train, "train"),
                               parse_period(test_period, "test"), share, cell, band, schema=resources.schema)
    click.echo(f"{zone.id}: {', '.join(layers)}; train {train}, test {test_period}, {share:.0%} of the study area")
    click.echo(format_table(results))


# -- audit walks (GPX) ---------------------------------------------------------------------------------------------


@main.command("import-gpx")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. thringstone-whitwick.")
@click.option("--date", "walked_on", help="The walk's date, YYYY-MM-DD (default: from the file's times).")
@click.option("--walkers", type=click.IntRange(1, 500), help="How many people walked.")
@click.option("--title", help="The walk's title (default: the file's own name for it).")
@click.option("--keep-outside", is_flag=True, help="Keep track parts and waypoints outside the zone.")
@data_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_gpx(zone_id, walked_on, walkers, title, keep_outside, data, file):
    """Import an audit walk: FILE's track becomes a walk in the zone's audits layer, its waypoints lighting reports.

    Track parts and waypoints outside the zone are reported and left out unless --keep-outside. Importing the same
    file again adds nothing.
    """
    from mapper.importers.gpx import MAX_BYTES, import_walk

    resources = open_resources(data)
    with open(file, "rb") as f:
        content = f.read(MAX_BYTES + 1)
    result = import_walk(content, zone_id, schema=resources.schema, zones=resources.zones(), store=resources.store,
                         file_name=file.name, title=title, walked_on=walked_on, walkers=walkers,
                         keep_outside=keep_outside)
    for line in result.skipped[:MAX_LISTED] + result.notes:
        click.echo(f"{file}: {line}", err=True)
    if len(result.skipped) > MAX_LISTED:
        click.echo(f"... and {len(result.skipped) - MAX_LISTED} more skipped.", err=True)
    click.echo(describe_import(result, zone_id))


def describe_import(result, zone_id):
    """One or two lines saying what an import stored."""
    lines = []
    walk = result.walk["properties"] if result.walk else None
    if walk and result.walk_created:
        minutes = f", {walk['duration_s'] // 60:.0f} min" if walk.get("duration_s") is not None else ""
        lines.append(f"Imported the walk {walk.get('title')!r} ({walk['length_m']:,.0f} m{minutes}) into "
                     f"{zone_id}/audits as {walk['id']}.")
    elif walk:
        lines.append(f"This file was imported before, as walk {walk['id']}; the walk is unchanged.")
    refs = ", ".join(f["properties"].get("ref") or "?" for f in result.reports_added[:MAX_LISTED])
    lines.append(f"{plural(len(result.reports_added), 'lighting report')} added" + (f" ({refs})" if refs else "")
                 + (f"; {result.reports_already} already imported" if result.reports_already else "")
                 + (f"; {plural(len(result.existing), 'waypoint')} already reported" if result.existing else "")
                 + (f"; {len(result.skipped)} skipped" if result.skipped else "") + ".")
    return "\n".join(lines)


@main.command("export-gpx")
@click.option("--zone", "zone_id", required=True, help="Zone id, e.g. thringstone-whitwick.")
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The GPX file to write ('-' for standard output).")
@click.option("--status", help="Comma-separated statuses to include (default: every open one).")
@click.option("--uncovered", is_flag=True, help="Add the parts of the zone no walk has covered, as routes.")
@data_option
def export_gpx(zone_id, output, status, uncovered, data):
    """Write a zone's open lighting faults as GPX waypoints for the next audit walk."""
    from mapper.analysis.coverage import uncovered as uncovered_area
    from mapper.export.gpx import uncovered_routes, write_gpx
    from shapely.geometry import shape

    resources = open_resources(data)
    zone = resources.zones().get(zone_id)
    layer = resources.schema.layer("lights")
    statuses = [s.strip() for s in status.split(",") if s.strip()] if status else list(layer.open_statuses)
    unknown = [s for s in statuses if s not in layer.statuses]
    if unknown:
        raise Refused(f"Unknown status {unknown[0]!r}. Statuses are: {', '.join(layer.statuses)}.")
    features = resources.store.query(zone.id, layer.name, where={"status": statuses})
    routes = []
    if uncovered:
        walks = [shape(walk["geometry"]) for walk in resources.store.query(zone.id, "audits")]
        routes = uncovered_routes(uncovered_area(zone.boundary, walks))
    body = write_gpx(features, layer, routes=routes)
    if str(output) == "-":
        click.get_binary_stream("stdout").write(body)
    else:
        output.write_bytes(body)
        click.echo(f"Wrote {plural(len(features), 'waypoint')}"
                   + (f" and {plural(len(routes), 'route')}" if uncovered else "") + f" to {output}.")


# -- users ---------------------------------------------------------------------------------------------------------


@main.group()
def users():
    """Officers' and administrators' accounts (<data dir>/_private/users.json)."""


def accounts_for(data):
    from mapper.accounts import Accounts

    resources = open_resources(data)
    return resources, Accounts(resources.config["DATA_DIR"])


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, type=click.Choice(ROLES),
              help="An officer works in --zones; a steering-group member uploads audit walks for --zones; probation "
                   "staff plan Community Payback sites in --zones; an admin sees every zone.")
@click.option("--zones", "zone_ids", default="", help="Comma-separated zone ids (officers, steering, probation).")
@click.option("--password", help="The password (default: asked for, without echo).")
@click.option("--no-password", is_flag=True, help="No sign-in: the account uses API tokens only (or, with --email, "
                                                     "chooses its own password through 'Forgot your password?').")
@click.option("--email", help="Where password reset links are sent.")
@data_option
def add_user(name, role, zone_ids, password, no_password, email, data):
    """Create an account NAME."""
    resources, accounts = accounts_for(data)
    zones = [zone.strip() for zone in zone_ids.split(",") if zone.strip()]
    registry = resources.zones()
    for zone_id in zones:
        registry.get(zone_id)  # an unknown zone is refused with the list of known ones
    if role == "admin" and zones:
        raise Refused("An admin sees every zone; leave out --zones.")
    if password is None and not no_password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    account = accounts.add(name, role, zones, password, email=email)
    where = ", ".join(account.zones) if account.zones else "every zone"
    click.echo(f"Added {account.role} {account.name} ({where}).")


@users.command("token")
@click.argument("name")
@click.option("--label", help="What the token is for, e.g. 'Confirm works system' (shown in token lists).")
@data_option
def user_token(name, label, data):
    """Print a new API token for NAME (shown once; only its SHA-256 is kept)."""
    from mapper.accounts import token_id

    _, accounts = accounts_for(data)
    token = accounts.new_token(name, label)
    click.echo(token)
    click.echo(f"Send it as 'Authorization: Bearer <token>'. It is not shown again. Its id is {token_id(token)} "
               f"(mapper users tokens {name}).", err=True)


@users.command("tokens")
@click.argument("name")
@data_option
def list_tokens(name, data):
    """List NAME's API tokens: id, created, last used (to the hour) and label."""
    _, accounts = accounts_for(data)
    account = accounts.get(name)
    if account is None:
        raise Refused(f"No account named {name!r}.")
    for token in account.token_list:
        click.echo(f"{token.id}  {token.created}  {token.last_used or 'never used'}  {terminal_safe(token.label)}")


@users.command("revoke-token")
@click.argument("name")
@click.argument("token_id", metavar="TOKEN_ID", required=False)
@click.option("--all", "revoke_all", is_flag=True, help="Revoke every token of NAME.")
@data_option
def revoke_token(name, token_id, revoke_all, data):
    """Revoke NAME's API token TOKEN_ID (see `mapper users tokens NAME`), or --all; it stops working at once."""
    _, accounts = accounts_for(data)
    if revoke_all == bool(token_id):
        raise Refused("Give either a TOKEN_ID or --all.")
    if revoke_all:
        click.echo(f"Revoked {plural(accounts.revoke_all_tokens(name), 'token')} of {name}.")
    else:
        accounts.revoke_token(name, token_id)
        click.echo(f"Revoked token {token_id.strip().lower()} of {name}.")


@users.command("password")
@click.argument("name")
@data_option
def set_password(name, data):
    """Set NAME's password (asked for, without echo); its sessions and reset links stop working."""
    _, accounts = accounts_for(data)
    if accounts.get(name) is None:
        raise Refused(f"No account named {name!r}.")
    accounts.set_password(name, click.prompt("New password", hide_input=True, confirmation_prompt=True, err=True))
    click.echo(f"Changed the password of {name}; its sessions have been signed out.")


@users.command("email")
@click.argument("name")
@click.argument("address", required=False)
@click.option("--remove", is_flag=True, help="Remove the address: reset links can then only come from an admin.")
@data_option
def set_email(name, address, remove, data):
    """Set the ADDRESS that NAME's password reset links are sent to."""
    _, accounts = accounts_for(data)
    if remove == bool(address):
        raise Refused("Give either an ADDRESS or --remove.")
    account = accounts.set_email(name, None if remove else address)
    click.echo(f"{name}: reset links go to {account.email}." if account.email else f"{name}: no email address.")


@users.command("delete")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@data_option
def delete_user(name, yes, data):
    """Delete NAME: its sessions and API tokens stop working at once. Histories keep the name, which stays taken."""
    _, accounts = accounts_for(data)
    account = accounts.get(name)
    if account is None:
        raise Refused(f"No account named {name!r}.")
    if not yes:
        click.confirm(f"Delete the {account.role} account {name} and its {plural(len(account.tokens), 'API token')}?",
                      abort=True, err=True)
    accounts.delete(name)
    click.echo(f"Deleted {name}.")


@users.command("reset-link")
@click.argument("name")
@click.option("--base-url", help="The site's address (default: $MAPPER_PUBLIC_URL).")
@data_option
def reset_link(name, base_url, data):
    """Print a single-use password reset link for NAME, valid for an hour, to hand on privately (or to invite a new
    account made with --no-password to choose its password)."""
    from mapper.web.auth import reset_link as link

    resources, accounts = accounts_for(data)
    base_url = base_url or resources.config.get("PUBLIC_URL")
    if not base_url or not base_url.startswith(("https://", "http://")):
        raise Refused("Give --base-url https://... or set MAPPER_PUBLIC_URL: the link must name the site.")
    if accounts.get(name) is None:
        raise Refused(f"No account named {name!r}.")
    click.echo(link(base_url, accounts.new_reset(name)))
    click.echo(f"It works once, for an hour. Give it to {name} only.", err=True)


@users.command("list")
@data_option
def list_users(data):
    """List accounts: name, role, zones, how many tokens each has and its email."""
    _, accounts = accounts_for(data)
    for account in accounts.all():
        click.echo(f"{account.name}  {account.role}  {','.join(account.zones) or '*'}  "
                   f"{plural(len(account.tokens), 'token')}" + (f"  {account.email}" if account.email else ""))
