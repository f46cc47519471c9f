"""Analysis: pure functions on Shapely geometries and NumPy arrays (coverage of audit walks, hotspots, ...).

Nothing here knows Flask or Folium: every function takes geometries or arrays and returns numbers or geometries, so it
can be imported, tested and run from a notebook on its own.
"""
