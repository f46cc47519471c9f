"""Colours of hotspot classes and target areas: one palette for the page's legend, its map and the KML styles.

Gi_Bin runs cold (blue) to hot (red), as ArcGIS's Hot Spot Analysis renderer; "Not significant" is not filled.
The classes always carry text labels as well (``mapper.analysis.hotspots.BIN_LABELS``), never colour alone.
"""

GI_BIN_COLOURS = {-3: "#4575b4", -2: "#91bfdb", -1: "#e0f3f8", 0: None, 1: "#fee090", 2: "#fc8d59", 3: "#d73027"}
DENSITY_COLOURS = {0: None, 1: "#fecc5c", 2: "#fd8d3c", 3: "#e31a1c"}
TARGET_COLOUR = "#6a00a8"
