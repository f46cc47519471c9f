"""The ``mapper`` command line: serve, import, check, demo, zones and moderate.

Thin over the functions the web uses: every feature goes through ``mapper.intake.judge_many`` (so through the one
validator), zones through ``mapper.zones``, files through ``mapper.importers`` and status changes through
``mapper.moderation``. A bad input file, an unknown zone, layer or feature, or a refused zone boundary or status
change is one line on stderr and exit code 2; refused rows are exit code 1.
"""

from pathlib import Path

import click

from mapper import __version__
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
    stored = resources.store.append(zone.id, layer.name, accepted, ref_prefix=zone.ref_prefix)
    skipped = f"; skipped {plural(len(refused), 'refused ' + reader.UNIT)}" if refused else ""
    click.echo(f"Imported {plural(len(stored), 'feature')} into {zone.id}/{layer.name}{skipped}.")


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
        lon, lat = feature["geometry"]["coordinates"][:2]
        if not zone.contains(lon, lat):
            found.append(f"the point ({lon}, {lat}) is outside the {zone.name} zone ({zone.id})")
    return found


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
APPROVED, REJECTED = "published", "rejected"
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
    from mapper.moderation import change_status, locate

    resources, layer, zone_ids = moderated(data, zone_id)
    zone, feature = locate(resources.store, layer, zone_ids, identifier)
    changed = change_status(resources.store, layer, zone, feature["properties"]["id"], APPROVED, by="cli",
                            allowed_from=(layer.initial_status,))
    click.echo(f"Published {describe(changed, zone)}.")


@moderate.command(short_help="Reject an asset, or withdraw a published one.")
@click.argument("identifier", metavar="ID")
@click.option("--reason", help="Why, for the other moderators (kept in the asset's history; never shown publicly).")
@zone_option
@data_option
def reject(identifier, reason, zone_id, data):
    """Reject the asset ID (pending, or published and now withdrawn): it never appears in a public answer."""
    from mapper.moderation import change_status, locate

    resources, layer, zone_ids = moderated(data, zone_id)
    zone, feature = locate(resources.store, layer, zone_ids, identifier)
    note = " ".join(reason.split()) if reason and reason.strip() else None
    changed = change_status(resources.store, layer, zone, feature["properties"]["id"], REJECTED, by="cli", note=note,
                            allowed_from=[status for status in layer.statuses if status != REJECTED])
    click.echo(f"Rejected {describe(changed, zone)}.")


def describe(feature, zone):
    properties = feature["properties"]
    return f"{terminal_safe(properties.get('name'), 60)!s} ({zone}/{properties['id']})"


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
