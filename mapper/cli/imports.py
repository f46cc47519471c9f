"""``mapper import`` and the importers of particular files: lamp-column inventories, community assets, streets,
police.uk crime and audit walks (GPX). Every one stores through the one validator; refused rows are listed on stderr.
"""

from itertools import islice
from pathlib import Path

import click

from mapper.cli import MAX_LISTED, Refused, data_option, judge, main, open_resources, plural, terminal_safe


def echo_listed(lines, total, kind="refused"):
    """The first MAX_LISTED of ``lines`` on stderr, then how many of ``total`` were not listed, so that a long file's
    refusals do not bury the summary. ``lines`` may be a generator: only the lines listed are formatted."""
    for line in islice(lines, MAX_LISTED):
        click.echo(line, err=True)
    if total > MAX_LISTED:
        click.echo(f"... and {total - MAX_LISTED} more {kind}.", err=True)


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
    echo_listed((f"{file}: {reader.UNIT} {number}: {message}" for number, message in refused), len(refused))
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
    echo_listed((f"{file}: row {number}: {terminal_safe(message)}" for number, message in report.refusals),
                len(report.refusals))
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
        echo_listed((f"{file}: {label}: {terminal_safe(message)}" for label, message in listed), len(listed), kind)
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
    echo_listed((f"{file}: feature {number}: {terminal_safe(message)}" for number, message in report.refusals),
                len(report.refusals))
    click.echo(report.summary())
    if report.stored_nothing:
        click.echo("Fix them, or use --skip-invalid to store the others.", err=True)
        raise click.exceptions.Exit(1)


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
    echo_listed((f"{path}: row {number}: {message}" for path, number, message in report.refusals),
                len(report.refusals))
    click.echo(report.summary())


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
