"""Rendering: Folium maps and legends built from zones, layer schemas and plain URLs. Knows nothing of Flask."""
