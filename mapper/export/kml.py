"""KML 2.2 for Google Earth and GIS: one Placemark per feature, fields as typed ``SchemaData`` (which GDAL reads
back as columns), hotspot classes styled with the same colours as the page's legend.

Written with :mod:`xml.etree.ElementTree` rather than a KML library: the standard library escapes ``<``, ``&`` and
``>`` in every text and attribute (so ``]]>`` and markup in user text stay text), and the format needs nothing
more. Two things ElementTree does not do are done here: characters that XML 1.0 forbids (NUL, most C0 controls)
are dropped, since they would make the file unreadable; and the balloon is our own ``description``, in which every
value is HTML-escaped before being XML-escaped, because Google Earth renders a description as HTML.
KML is always WGS84 longitude/latitude (OGC KML 2.2, section 6.2), so there is no EPSG:27700 KML.
"""

import html
import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import shapely

from mapper.export.styles import DENSITY_COLOURS, GI_BIN_COLOURS, TARGET_COLOUR

KML_NAMESPACE = "http://www.opengis.net/kml/2.2"
NOT_XML = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
KML_TYPES = {"bool": "bool", "int": "int", "float": "double", "text": "string"}
DECIMALS = 7  # about a centimetre of longitude/latitude


def xml_text(value):
    """Text that XML 1.0 can carry: forbidden characters (NUL, C0 controls but tab and newlines) removed.

    >>> xml_text("a\\x00b\\x0bc")
    'abc'
    """
    return NOT_XML.sub("", str(value))


def write_kml(table):
    """KML bytes (UTF-8) of a lon/lat :class:`~mapper.export.table.Table`."""
    ET.register_namespace("", KML_NAMESPACE)
    root = ET.Element(_tag("kml"))
    document = ET.SubElement(root, _tag("Document"), id="root")
    ET.SubElement(document, _tag("name")).text = xml_text(table.name)
    if table.metadata:
        ET.SubElement(document, _tag("description")).text = xml_text(html.escape(_summary(table.metadata)))
    schema_id = "fields"
    schema = ET.SubElement(document, _tag("Schema"), name=xml_text(table.name), id=schema_id)
    for column in table.columns:
        ET.SubElement(schema, _tag("SimpleField"), name=xml_text(column.name), type=KML_TYPES[column.kind])
    styles = _styles(document, table)
    style_of = _style_chooser(table, styles)
    folder = ET.SubElement(document, _tag("Folder"))
    ET.SubElement(folder, _tag("name")).text = xml_text(table.name)
    for position, geometry in enumerate(table.geometry):
        placemark = ET.SubElement(folder, _tag("Placemark"))
        cells = [(c, None if c.mask[position] else c.values[position]) for c in table.columns]
        ET.SubElement(placemark, _tag("name")).text = xml_text(_placemark_name(cells, position))
        ET.SubElement(placemark, _tag("description")).text = xml_text(_balloon(cells))
        ET.SubElement(placemark, _tag("styleUrl")).text = "#" + style_of(position)
        extended = ET.SubElement(placemark, _tag("ExtendedData"))
        data = ET.SubElement(extended, _tag("SchemaData"), schemaUrl="#" + schema_id)
        for column, value in cells:
            if value is not None and not (column.kind == "float" and math.isnan(value)):
                ET.SubElement(data, _tag("SimpleData"), name=xml_text(column.name)).text = xml_text(_kml_value(value))
        if geometry is not None:
            _geometry(placemark, geometry)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _tag(name):
    return f"{{{KML_NAMESPACE}}}{name}"


def _summary(metadata):
    layers = ", ".join(":".join([item["layer"], "+".join(item.get("filter") or [])]).rstrip(":")
                       for item in metadata.get("layers", []))
    parts = [f"{key}: {value}" for key, value in metadata.items() if key != "layers" and value not in (None, "")]
    return "; ".join([f"layers: {layers}", *parts])


def _kml_value(value):
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (float, np.floating)):
        return repr(float(value))
    return str(value)


def _placemark_name(cells, position):
    values = {column.name: value for column, value in cells}
    if values.get("rank") is not None:
        return f"Target area {values['rank']}"
    for key in ("label", "ref", "name", "title"):
        if values.get(key):
            return str(values[key])
    return f"Feature {position + 1}"


def _balloon(cells):
    """An HTML table of the fields, every name and value HTML-escaped (Google Earth renders descriptions as HTML)."""
    rows = "".join(f"<tr><th>{html.escape(column.name)}</th><td>{html.escape(_kml_value(value))}</td></tr>"
                   for column, value in cells if value is not None and value != "")
    return f"<table>{rows}</table>"


def _styles(document, table):
    """Polygon styles for the table's classes: ``{key: style id}``."""
    names = {column.name for column in table.columns}
    if "Gi_Bin" in names:
        palette = {f"gi{level}": colour for level, colour in GI_BIN_COLOURS.items()}
    elif "density_class" in names:
        palette = {f"density{level}": colour for level, colour in DENSITY_COLOURS.items()}
    else:
        palette = {"feature": TARGET_COLOUR}
    for style_id, colour in palette.items():
        style = ET.SubElement(document, _tag("Style"), id=style_id)
        fill = colour is not None
        line = ET.SubElement(style, _tag("LineStyle"))
        outline_alpha = "ff" if style_id == "feature" else "66"
        ET.SubElement(line, _tag("color")).text = kml_colour(colour or "#999999", outline_alpha)
        ET.SubElement(line, _tag("width")).text = "2" if style_id == "feature" else "0.5"
        polygon = ET.SubElement(style, _tag("PolyStyle"))
        ET.SubElement(polygon, _tag("color")).text = kml_colour(colour or "#ffffff", "b3" if fill else "00")
        ET.SubElement(polygon, _tag("fill")).text = "1" if fill and style_id != "feature" else "0"
        balloon = ET.SubElement(style, _tag("BalloonStyle"))
        ET.SubElement(balloon, _tag("text")).text = "$[description]"  # our escaped table, never raw fields
    return palette


def _style_chooser(table, styles):
    by_name = {column.name: column for column in table.columns}
    if "Gi_Bin" in by_name:
        values = by_name["Gi_Bin"].values
        return lambda position: f"gi{int(values[position])}"
    if "density_class" in by_name:
        values = by_name["density_class"].values
        return lambda position: f"density{int(values[position])}"
    return lambda position: "feature"


def kml_colour(hex_colour, alpha="ff"):
    """``#rrggbb`` as KML's ``aabbggrr``.

    >>> kml_colour("#d7191c", "b3")
    'b31c19d7'
    """
    red, green, blue = hex_colour[1:3], hex_colour[3:5], hex_colour[5:7]
    return f"{alpha}{blue}{green}{red}".lower()


def _coordinates(sequence):
    return " ".join(f"{x:.{DECIMALS}f},{y:.{DECIMALS}f}" for x, y in shapely.get_coordinates(sequence).tolist())


def _geometry(parent, geometry):
    kind = geometry.geom_type
    if kind.startswith("Multi") or kind == "GeometryCollection":
        multi = ET.SubElement(parent, _tag("MultiGeometry"))
        for part in shapely.get_parts(geometry):
            _geometry(multi, part)
    elif kind == "Point":
        point = ET.SubElement(parent, _tag("Point"))
        ET.SubElement(point, _tag("coordinates")).text = _coordinates(geometry)
    elif kind == "LineString":
        line = ET.SubElement(parent, _tag("LineString"))
        ET.SubElement(line, _tag("tessellate")).text = "1"
        ET.SubElement(line, _tag("coordinates")).text = _coordinates(geometry)
    elif kind == "Polygon":
        polygon = ET.SubElement(parent, _tag("Polygon"))
        for boundary, ring in [("outerBoundaryIs", geometry.exterior),
                               *[("innerBoundaryIs", interior) for interior in geometry.interiors]]:
            linear = ET.SubElement(ET.SubElement(polygon, _tag(boundary)), _tag("LinearRing"))
            ET.SubElement(linear, _tag("coordinates")).text = _coordinates(ring)
