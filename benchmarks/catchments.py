"""Benchmark: walking catchments on a street network of realistic size, SciPy's sparse Dijkstra against networkx.

Network: a synthetic grid of streets, 70 x 70 junctions 80 m apart (an urban block), each street cut every 40 m as
OSM ways are by their nodes: 19,320 edges and 14,560 nodes over 5.5 km x 5.5 km, in EPSG:27700 metres. A People
Zone (2-4 km²) with its 800 m margin is about that size.

* Shortest paths from one junction, 800 m limit: ``scipy.sparse.csgraph.dijkstra(limit=800)`` on the sparse graph
  :class:`mapper.analysis.catchments.Network` builds, against networkx's
  ``single_source_dijkstra_path_length(cutoff=800)`` on the same edges (the in-process baseline); also both without
  a limit (the whole network: what a site check listing far facilities needs).
* The distances of both are checked to agree.
* Network catchments of 200 facilities (shortest paths, reachable pieces with partial streets, 50 m buffer) and
  cutting them into parts; circles of 200 facilities and their parts; building the network from lines.

Each timing is the median of 5 runs, in CPU seconds of this process (``time.process_time``): the development machine
has 2 CPUs shared with other work, and wall time would measure the neighbours. networkx is imported here only: the
application needs SciPy alone.

    python benchmarks/catchments.py
"""

import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import networkx  # noqa: E402  (benchmark only: not a dependency of mapper)
from scipy.sparse.csgraph import dijkstra  # noqa: E402

from shapely.geometry import Point, box  # noqa: E402

from mapper.analysis.catchments import (Facility, Network, OFFERS, Settings, catchment_parts,  # noqa: E402
                                        catchments, check_site, gaps)

E, N = 450_000, 315_000
BLOCK, CUT, SIDE = 80.0, 40.0, 70  # junctions every 80 m, a vertex every 40 m, 70 x 70 junctions
FACILITIES = 200
RUNS = 5


def grid_lines():
    """Every street of the grid as a line with a vertex every CUT metres (in metres)."""
    steps = np.arange(0, (SIDE - 1) * BLOCK + CUT / 2, CUT)
    lines = []
    for i in range(SIDE):
        fixed = np.full(len(steps), i * BLOCK)
        lines.append(np.column_stack([E + steps, N + fixed]))
        lines.append(np.column_stack([E + fixed, N + steps]))
    return lines


def facilities(count, seed=3):
    rng = np.random.default_rng(seed)
    span = (SIDE - 1) * BLOCK
    xs, ys = E + rng.uniform(0, span, count), N + rng.uniform(0, span, count)
    return [Facility(f"f{i}", f"Facility {i}", "welfare-facility", frozenset(OFFERS), None, False, float(x),
                     float(y), 0.0, 0.0) for i, (x, y) in enumerate(zip(xs, ys))]


def cpu(function, runs=RUNS):
    times = []
    for _ in range(runs):
        start = time.process_time()
        result = function()
        times.append(time.process_time() - start)
    return statistics.median(times), result


def networkx_graph(network):
    graph = networkx.Graph()
    graph.add_weighted_edges_from(zip(network.u.tolist(), network.v.tolist(), network.length.tolist()),
                                  weight="length")
    return graph


def main():
    lines = grid_lines()
    build, network = cpu(lambda: Network.from_lines(lines))
    print(f"network: {len(network):,} edges, {len(network.nodes):,} nodes, {network.total_m / 1000:,.0f} km "
          f"(built in {build * 1000:.0f} ms)")
    settings = Settings()
    reach = settings.reach_m
    places = facilities(FACILITIES)
    source = (places[0].x, places[0].y)
    # Both start from the junction nearest the first facility, on the same edges.
    attachment = network.attach([source])
    junction = int(network.u[attachment.edge[0]])
    graph = network.graph(attachment)  # the junctions and one virtual node (not on any path from the junction)
    nx_graph = networkx_graph(network)

    def scipy_paths(limit):
        return dijkstra(graph, directed=True, indices=junction, limit=np.inf if limit is None else limit)

    def networkx_paths(limit):
        return networkx.single_source_dijkstra_path_length(nx_graph, junction, cutoff=limit, weight="length")

    print(f"\nshortest paths from one junction ({len(network):,} edges), median CPU of {RUNS}:")
    for label, limit in (("800 m limit", reach), ("whole network", None)):
        scipy_time, ours = cpu(lambda: scipy_paths(limit))
        nx_time, theirs = cpu(lambda: networkx_paths(limit))
        reached = np.flatnonzero(np.isfinite(ours[:len(network.nodes)]))
        assert set(reached.tolist()) == set(theirs), "scipy and networkx reach different junctions"
        assert np.allclose(ours[list(theirs)], list(theirs.values()), atol=1e-6), "distances differ"
        print(f"  {label:<14} scipy {scipy_time * 1000:8.2f} ms   networkx {nx_time * 1000:8.2f} ms   "
              f"networkx / scipy = {nx_time / scipy_time:5.1f}x   ({len(reached):,} nodes reached)")

    one, _ = cpu(lambda: network.catchments([source], reach, settings.network_buffer_m))
    print(f"\none network catchment (paths + partial streets + 50 m buffer): {one * 1000:.1f} ms")
    many, areas = cpu(lambda: catchments(places, settings, network), runs=3)
    parts_time, parts = cpu(lambda: catchment_parts(areas), runs=3)
    print(f"{FACILITIES} network catchments: {many:.2f} s ({many / FACILITIES * 1000:.1f} ms each); "
          f"cut into {len(parts):,} parts in {parts_time:.2f} s")
    circles_time, circles = cpu(lambda: catchments(places, settings))
    circle_parts_time, circle_parts = cpu(lambda: catchment_parts(circles), runs=3)
    print(f"{FACILITIES} circles: {circles_time * 1000:.1f} ms; cut into {len(circle_parts):,} parts in "
          f"{circle_parts_time:.2f} s")
    print(f"network / circles (catchments only) = {many / circles_time:.0f}x")

    rng = np.random.default_rng(4)
    sites = [(f"s{i}", Point(x, y)) for i, (x, y) in enumerate(rng.uniform(0, (SIDE - 1) * BLOCK, (100, 2))
                                                                + (E, N))]
    few = places[:20]
    point_time, _ = cpu(lambda: check_site(sites[0][1], few, settings, network))
    square = box(sites[0][1].x, sites[0][1].y, sites[0][1].x + 60, sites[0][1].y + 60)
    square_time, _ = cpu(lambda: check_site(square, few, settings, network))
    print(f"\nsite check among 20 facilities on the network: a point {point_time * 1000:.1f} ms, a 60 m square "
          f"{square_time * 1000:.1f} ms")
    gap_time, ranked = cpu(lambda: gaps(sites, few, settings, network), runs=3)
    circle_gap_time, _ = cpu(lambda: gaps(sites, few, settings), runs=3)
    print(f"gaps for 100 candidate sites, 20 facilities: network {gap_time:.2f} s (best unlocks "
          f"{ranked[0]['unlocks']}), circles {circle_gap_time:.2f} s")


if __name__ == "__main__":
    main()
