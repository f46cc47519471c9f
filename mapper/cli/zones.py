"""``mapper zones``: list the zone registry and add a zone from a boundary file."""

from pathlib import Path

import click

from mapper.cli import Refused, data_option, main, open_resources


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
