"""The analysts' commands: hotspots, target areas, evaluation of the hotspot methods, welfare-facility catchments
and GPX waypoints for the next audit walk. Files are written through the export registry the API uses.
"""

from pathlib import Path

import click

from mapper.cli import MAX_LISTED, Refused, data_option, main, open_resources, plural


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
    totals = [layer["records"] for layer in collection["analysis"]["layers"]]
    hot = sum(1 for f in collection["features"] if (f["properties"].get("Gi_Bin") or
                                                     f["properties"].get("density_class") or 0) > 0)
    # a public file withholds a layer's total that could give a small cell away (docs/hotspots.md); so does this line
    source = "records (totals withheld, as in the file)" if None in totals else plural(sum(totals), "record")
    click.echo(f"Wrote {plural(len(collection['features']), 'cell')} ({hot} hot) from {source} to {output}.")


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
