"""The walkable street graph of Community Payback catchments (issue 7), in EPSG:27700 metres (:mod:`mapper.crs`).

This module owns the network side of :mod:`mapper.analysis.catchments`:

* :class:`Network`: junctions and straight pieces of street, built from lines in metres (:meth:`Network.from_lines`)
  or from a ``streets`` layer's GeoJSON features in lon/lat (:meth:`Network.from_features`, :func:`load_network`);
* joining points off the network to the nearest point of the nearest street (:meth:`Network.attach`,
  :class:`Attachment`);
* shortest paths, :func:`scipy.sparse.csgraph.dijkstra` on a sparse matrix (:meth:`Network.walks`,
  :meth:`Network.distances`);
* the streets reachable within a walk, partial streets and the walk to the street included, and their buffered
  catchment polygons (:meth:`Network.reachable`, :meth:`Network.reachable_streets`, :meth:`Network.catchments`);
* the per-zone cache of networks built from the store (:func:`zone_network`).

Facilities, settings, catchment parts, site checks and gaps stay in :mod:`mapper.analysis.catchments`, which
re-exports every public name here. Nothing here knows Flask, Folium or welfare facilities.

>>> network = Network.from_lines([[(0, 0), (100, 0), (100, 100)]])  # an L of two 100 m streets
>>> len(network), network.total_m
(2, 200.0)
>>> network.distances([(0, -10)], [(130, 60), (40, 5)]).round(1).tolist()  # 10 + 100 + 60 + 30; 10 + 40 + 5
[[200.0, 55.0]]
"""

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from mapper.crs import to_british_national_grid

STREETS = "streets"  # the layer a zone's network is read from (``mapper import-streets``)
BUFFER_QUAD_SEGMENTS = 8  # the round ends of buffered streets
NODE_DECIMALS = 2  # street vertices within a centimetre are one junction
DIJKSTRA_ROWS = 64  # sources per dijkstra call: 64 x 20,000 nodes of float64 is 10 MB


@dataclass(frozen=True)
class Attachment:
    """Where points join the network: per point its edge, the distance ``along`` the edge from its first node, and
    the ``offset`` walked off the network to get there (all metres)."""

    edge: np.ndarray
    along: np.ndarray
    offset: np.ndarray
    points: np.ndarray  # (M, 2) the points themselves
    snapped: np.ndarray  # (M, 2) where they join

    def __len__(self):
        return len(self.edge)


class Network:
    """The walkable street graph in EPSG:27700: junctions (nodes) and straight pieces of street (edges).

    Every line is cut at its vertices; vertices shared by two lines (to the centimetre) are junctions, as in OSM,
    where ways that cross without a shared node (a bridge over a road) are not connected. Walking is two-way. The
    graph is a SciPy sparse matrix; shortest paths are :func:`scipy.sparse.csgraph.dijkstra`.

    A point off the network joins it at the nearest point of the nearest edge: the edge is split there by a virtual
    node joined to both its ends (the walk to the street included), so a path's length is exact to the metre.
    """

    def __init__(self, starts, ends):
        ends_all = np.round(np.vstack([starts, ends]), NODE_DECIMALS)
        nodes, inverse = np.unique(ends_all, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        first, second = inverse[:len(starts)], inverse[len(starts):]
        low, high = np.minimum(first, second), np.maximum(first, second)
        length = np.hypot(*(nodes[high] - nodes[low]).T)
        keep = low != high
        low, high, length = low[keep], high[keep], length[keep]
        order = np.lexsort((length, high, low))  # one edge per pair of nodes: the shortest
        low, high, length = low[order], high[order], length[order]
        unique = np.ones(len(low), dtype=bool)
        unique[1:] = (low[1:] != low[:-1]) | (high[1:] != high[:-1])
        self.nodes = nodes
        self.u, self.v, self.length = low[unique], high[unique], length[unique]
        self.segments = shapely.linestrings(np.stack([nodes[self.u], nodes[self.v]], axis=1))
        self.tree = shapely.STRtree(self.segments)

    def __len__(self):
        return len(self.u)

    @property
    def total_m(self):
        return float(self.length.sum())

    @classmethod
    def from_lines(cls, lines):
        """A network from lines as ``(K, 2)`` arrays of easting/northing, or None when there is no line."""
        lines = [np.asarray(line, dtype=float)[:, :2] for line in lines]
        lines = [line for line in lines if len(line) >= 2 and np.isfinite(line).all()]
        if not lines:
            return None
        xy = np.vstack(lines)
        last = np.cumsum([len(line) for line in lines]) - 1
        starts = np.setdiff1d(np.arange(len(xy) - 1), last)
        network = cls(xy[starts], xy[starts + 1])
        return network if len(network) else None

    @classmethod
    def from_features(cls, features):
        """The network of a ``streets`` layer's GeoJSON features (lon/lat), or None when it has no lines."""
        parts = []
        for feature in features:
            geometry = feature.get("geometry") if isinstance(feature, dict) else None
            if not isinstance(geometry, dict):
                continue
            coordinates = geometry.get("coordinates")
            lines = [coordinates] if geometry.get("type") == "LineString" else (
                coordinates if geometry.get("type") == "MultiLineString" else [])
            for line in lines or []:
                try:
                    array = np.asarray(line, dtype=float)
                except (TypeError, ValueError):
                    continue
                if array.ndim == 2 and array.shape[1] >= 2 and len(array) >= 2:
                    parts.append(array[:, :2])
        if not parts:
            return None
        sizes = np.cumsum([len(part) for part in parts])[:-1]
        lon_lat = np.vstack(parts)
        x, y = to_british_national_grid(lon_lat[:, 0], lon_lat[:, 1])
        return cls.from_lines(np.split(np.column_stack([x, y]), sizes))

    # -- joining points and shortest paths ---------------------------------------------------------------------------

    def attach(self, points):
        """An :class:`Attachment` of ``(M, 2)`` points: each joins the nearest point of its nearest edge."""
        points = np.asarray(points, dtype=float).reshape(-1, 2)
        geometries = shapely.points(points)
        (inputs, edge), offset = self.tree.query_nearest(geometries, return_distance=True, all_matches=False)
        order = np.argsort(inputs, kind="stable")  # one match per point, in the points' order
        edge, offset = edge[order], offset[order]
        along = shapely.line_locate_point(self.segments[edge], geometries)
        snapped = shapely.get_coordinates(shapely.line_interpolate_point(self.segments[edge], along))
        return Attachment(edge, along, offset, points, snapped)

    def graph(self, attachment):
        """The sparse graph with one virtual node per attached point (numbered after the junctions), joined to both
        ends of its edge by the walk to the street plus the part of the edge to that end."""
        count, extra = len(self.nodes), len(attachment)
        virtual = count + np.arange(extra)
        to_u = attachment.offset + attachment.along
        to_v = attachment.offset + self.length[attachment.edge] - attachment.along
        u, v = self.u[attachment.edge], self.v[attachment.edge]
        rows = np.concatenate([self.u, self.v, virtual, u, virtual, v])
        columns = np.concatenate([self.v, self.u, u, virtual, v, virtual])
        weights = np.concatenate([self.length, self.length, to_u, to_u, to_v, to_v])
        # csgraph reads a stored zero as an edge today; a centimicron keeps that true whatever the version.
        weights = np.maximum(weights, 1e-9)
        return csr_matrix((weights, (rows, columns)), shape=(count + extra, count + extra))

    def walks(self, attachment, limit=None, graph=None, rows=None):
        """Yield ``(indices, distances)``: for batches of attached points (all, or ``rows``), the walking distance
        from each to every junction (``(batch, nodes)``; inf beyond ``limit`` or out of reach)."""
        graph = self.graph(attachment) if graph is None else graph
        count = len(self.nodes)
        rows = np.arange(len(attachment)) if rows is None else np.asarray(rows)
        for start in range(0, len(rows), DIJKSTRA_ROWS):
            batch = rows[start:start + DIJKSTRA_ROWS]
            distances = dijkstra(graph, directed=True, indices=count + batch,
                                 limit=np.inf if limit is None else limit)
            yield batch, np.atleast_2d(distances)[:, :count]

    def to_points(self, sources, distances, targets):
        """Walking distances ``(len(sources), len(targets))`` from attached sources (with their ``distances`` to the
        junctions, from :meth:`walks`) to attached targets: via either end of the target's edge, or straight
        along the edge when both are on the same one."""
        edge = targets.edge
        via_u = distances[:, self.u[edge]] + targets.along
        via_v = distances[:, self.v[edge]] + (self.length[edge] - targets.along)
        result = np.minimum(via_u, via_v) + targets.offset
        same = sources.edge[:, None] == edge[None, :]
        if same.any():
            direct = (sources.offset[:, None] + targets.offset[None, :]
                      + np.abs(sources.along[:, None] - targets.along[None, :]))
            result = np.where(same, np.minimum(result, direct), result)
        return result

    def distances(self, sources, targets, limit=None):
        """Walking distances in metres between ``(S, 2)`` and ``(T, 2)`` points (inf when not connected, or farther
        than ``limit``)."""
        sources, targets = self.attach(sources), self.attach(targets)
        result = np.full((len(sources), len(targets)), np.inf)
        for batch, walked in self.walks(sources, limit):
            subset = Attachment(sources.edge[batch], sources.along[batch], sources.offset[batch],
                                sources.points[batch], sources.snapped[batch])
            result[batch] = self.to_points(subset, walked, targets)
        if limit is not None:
            result[result > limit] = np.inf
        return result

    # -- catchments --------------------------------------------------------------------------------------------------

    def reachable(self, attachment, index, walked, reach):
        """The pieces of street (and of the walk to the street) reachable from attached point ``index`` whose
        distances to the junctions are ``walked``: whole edges, and the first r metres of an edge whose end is
        reached with r metres left. A MultiLineString whose pieces may overlap (buffering dissolves them)."""
        left_u, left_v = reach - walked[self.u], reach - walked[self.v]
        whole = (left_u >= 0) & (left_v >= 0) & (left_u + left_v >= self.length)
        from_u = (left_u > 0) & ~whole
        from_v = (left_v > 0) & ~whole
        left_u, left_v = np.minimum(left_u, self.length), np.minimum(left_v, self.length)
        start_u, end_v = self.nodes[self.u], self.nodes[self.v]
        direction = (end_v - start_u) / self.length[:, None]
        pieces = [
            np.stack([start_u[whole], end_v[whole]], axis=1),
            np.stack([start_u[from_u], start_u[from_u] + direction[from_u] * left_u[from_u, None]], axis=1),
            np.stack([end_v[from_v], end_v[from_v] - direction[from_v] * left_v[from_v, None]], axis=1),
        ]
        edge, along, offset = attachment.edge[index], attachment.along[index], attachment.offset[index]
        own = reach - offset  # along the point's own edge, both ways from where it joins
        if own > 0:
            low, high = max(0.0, along - own), min(self.length[edge], along + own)
            pieces.append(np.array([[start_u[edge] + direction[edge] * low, start_u[edge] + direction[edge] * high]]))
        if offset > 0:  # the walk from the door to the street
            point, snapped = attachment.points[index], attachment.snapped[index]
            part = min(offset, reach) / offset
            pieces.append(np.array([[point, point + (snapped - point) * part]]))
        return shapely.multilinestrings(shapely.linestrings(np.concatenate(pieces)))

    def reachable_streets(self, point, reach):
        """The streets reachable from one ``(x, y)`` point within ``reach`` metres, unbuffered and dissolved (the
        pieces :meth:`reachable` gives may overlap on the point's own edge)."""
        attachment = self.attach([point])
        [(_, walked)] = list(self.walks(attachment, limit=reach))
        return shapely.line_merge(shapely.union_all(self.reachable(attachment, 0, walked[0], reach)))

    def catchments(self, points, reach, buffer):
        """One polygon per point: the streets reachable within ``reach`` metres, buffered ``buffer`` metres."""
        attachment = self.attach(points)
        graph = self.graph(attachment)
        result = [None] * len(attachment)
        for batch, walked in self.walks(attachment, limit=reach, graph=graph):
            for index, row in zip(batch, walked):
                # Joined into runs first, then each run buffered and the buffers unioned: ten times faster than
                # buffering the MultiLineString of pieces at once (benchmarks/catchments.py).
                runs = shapely.get_parts(shapely.line_merge(self.reachable(attachment, index, row, reach)))
                result[index] = shapely.union_all(shapely.buffer(runs, buffer, quad_segs=BUFFER_QUAD_SEGMENTS))
        return result


def load_network(features):
    """The walkable network of a ``streets`` layer's features, or None when it has none (catchments are circles)."""
    return Network.from_features(features)


_cache = OrderedDict()
_cache_lock = threading.Lock()
CACHED_NETWORKS = 16


def zone_network(store, zone_id):
    """The zone's :class:`Network` (None without streets), built once and reused until the ``streets`` layer
    changes: the files store hands out the same column arrays until then, so an unchanged layer is recognised by
    identity."""
    features = store.query(zone_id, STREETS)
    where = (store.location(zone_id, STREETS), id(store))
    with _cache_lock:
        entry = _cache.get(where)
        if entry is not None and entry[0] is features.columns:
            _cache.move_to_end(where)
            return entry[1]
    network = load_network(features)
    with _cache_lock:
        _cache[where] = (features.columns, network)
        _cache.move_to_end(where)
        while len(_cache) > CACHED_NETWORKS:
            _cache.popitem(last=False)
    return network
