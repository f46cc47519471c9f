"""Benchmark: Gi* and kernel density for 1,000, 10,000 and 100,000 points, against PySAL esda and sklearn/scipy.

Points are drawn inside the New Parks zone (its 50 m grid has about 1,900 study-area cells). Every timing is the
median of several runs in this one process; ratios are the reference's time over ours.

* Gi*: ours = bin the points + ``gi_star_grid`` (FDR bins included); esda = ``G_Local(y, w, transform='B',
  star=True, permutations=0)`` on the same cell counts, with the DistanceBand weights built once beforehand (not
  timed, so the ratio flatters esda). The z-scores are checked to agree to 1e-9.
* Density at every cell centre: ours = bin + quartic convolution (200 m); sklearn = ``KernelDensity(kernel=
  'epanechnikov', bandwidth=200)`` fitted on the points and scored at the cell centres (it has no quartic kernel;
  the Epanechnikov is its nearest compact kernel); scipy = ``gaussian_kde`` evaluated at the cell centres.

    python benchmarks/hotspots.py
"""

import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import shapely

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mapper.analysis.grid import bin_points, grid_for_zone  # noqa: E402
from mapper.analysis.hotspots import gi_star_grid, kernel_density  # noqa: E402
from mapper.crs import geometry_to_metres  # noqa: E402
from mapper.zones import load_zones  # noqa: E402

ZONE = "new-parks"


def timed(function, repeat):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def points_in(boundary, count, seed=1):
    rng = np.random.default_rng(seed)
    min_x, min_y, max_x, max_y = boundary.bounds
    x, y = np.zeros(0), np.zeros(0)
    while len(x) < count:
        cx, cy = rng.uniform(min_x, max_x, count), rng.uniform(min_y, max_y, count)
        inside = shapely.contains_xy(boundary, cx, cy)
        x, y = np.concatenate([x, cx[inside]]), np.concatenate([y, cy[inside]])
    return x[:count], y[:count]


def main():
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand
    from scipy.stats import gaussian_kde
    from sklearn.neighbors import KernelDensity

    warnings.simplefilter("ignore")
    zone = load_zones(Path(__file__).resolve().parent.parent / "data" / "zones.geojson").get(ZONE)
    boundary = geometry_to_metres(zone.boundary)
    grid = grid_for_zone(zone, 50)
    cx, cy = grid.centres()
    centres = np.column_stack([cx[grid.mask], cy[grid.mask]])
    weights = DistanceBand(centres, threshold=200, binary=True, silence_warnings=True)
    print(f"{ZONE}: grid {grid.shape[0]}x{grid.shape[1]}, {int(grid.mask.sum())} study-area cells of 50 m; "
          f"band 200 m, bandwidth 200 m\n")
    print(f"{'points':>8} | {'Gi* ours':>9} {'esda':>9} {'ratio':>6} {'max |dz|':>9} | {'KDE ours':>9} "
          f"{'sklearn':>9} {'ratio':>6} {'scipy':>9} {'ratio':>6}")
    for count in (1_000, 10_000, 100_000):
        x, y = points_in(boundary, count)
        ours_gi, result = timed(lambda: gi_star_grid(grid, bin_points(grid, x, y), 200), 50)
        counts = bin_points(grid, x, y)
        esda_time, reference = timed(lambda: G_Local(counts[grid.mask], weights, transform="B", star=True,
                                                     permutations=0), 5)
        difference = np.abs(result.z[grid.mask] - reference.Zs).max()
        ours_kde, _ = timed(lambda: kernel_density(grid, bin_points(grid, x, y), 200), 50)
        model = KernelDensity(kernel="epanechnikov", bandwidth=200).fit(np.column_stack([x, y]))
        sklearn_time, _ = timed(lambda: model.score_samples(centres), 3)
        scipy_time, _ = timed(lambda: gaussian_kde(np.vstack([x, y]))(centres.T), 1 if count > 10_000 else 3)
        print(f"{count:>8,} | {ours_gi * 1e3:>7.2f}ms {esda_time * 1e3:>7.1f}ms {esda_time / ours_gi:>5.0f}x "
              f"{difference:>9.1e} | {ours_kde * 1e3:>7.2f}ms {sklearn_time * 1e3:>7.1f}ms "
              f"{sklearn_time / ours_kde:>5.0f}x {scipy_time * 1e3:>7.0f}ms {scipy_time / ours_kde:>5.0f}x")


if __name__ == "__main__":
    main()
