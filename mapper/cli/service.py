"""``mapper serve``, ``mapper check`` and ``mapper demo``: run the service, check a data directory, load the demo."""

import signal
import sys

import click

from mapper import __version__
from mapper.cli import Refused, data_option, judge, main, open_resources, plural
from mapper.errors import MapperError

OUTBOX_FLUSH_SECONDS = 30  # on stopping, how long to keep trying queued emails (a retry backs off 5 s, then 10 s)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Requests served at once.")
@data_option
def serve(host, port, threads, data):
    """Serve the web app and API with waitress, within the limits of the MAPPER_SERVE_* settings."""
    import logging

    from mapper import create_app
    from mapper.serving import make_server

    app = create_app({"DATA_DIR": data} if data else None)
    app.extensions["mapper"].zones()  # an unreadable registry should stop us now, not on the first request
    server = make_server(app, host=host, port=port, threads=threads)
    logging.basicConfig()  # waitress logs refused connections and full queues (as waitress.serve did)
    shown = f"[{host}]" if ":" in host else host
    click.echo(f"mapper {__version__}: serving {app.config['DATA_DIR']} on http://{shown}:{port}/ (Ctrl+C stops)")
    # waitress stops cleanly on SystemExit; SIGTERM (systemd, docker stop) would otherwise end us with emails queued.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    try:
        server.run()
    finally:
        flush_outbox(app)


def flush_outbox(app, timeout=OUTBOX_FLUSH_SECONDS):
    """Send what the app's outbox still holds before the process ends (it is in memory: see mapper.notify)."""
    outbox = app.extensions.get("outbox")
    if outbox is None or outbox.wait(timeout=0):
        return
    click.echo(f"Sending {plural(outbox.pending, 'queued email')} before stopping (at most {timeout} s)...", err=True)
    if not outbox.wait(timeout=timeout):
        click.echo(f"Stopped with {plural(outbox.pending, 'email')} not sent (see the log).", err=True)


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
    from mapper.validate import TRUSTED, validate_properties

    properties = feature.get("properties") or {}
    found = []
    try:
        validate_properties({k: v for k, v in properties.items() if k not in SERVER_PROPERTIES}, layer,
                            context=TRUSTED)  # a stored feature may hold what its import set
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
