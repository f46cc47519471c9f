"""Does a hotspot method predict? Hit rate, PAI and PEI of each method on a later period.

As Chainey, Tompson & Uhlig (2008): a method scores every cell from a training period; the top cells covering a
share ``a/A`` of the study area are the predicted hotspots; on the test period, with N records of which ``n`` fall in
those cells, the hit rate is n/N, the Predictive Accuracy Index PAI = (n/N) / (a/A), and the Predictive Efficiency
Index PEI = n / n* where n* is the most records any set of cells of the same area caught (Hunt 2016).

Scores often tie (a count of 1 in a hundred cells): tied cells at the cut-off are taken in proportion, i.e. the
hits are those expected when the ties are broken at random, so no method gains from the order of the grid.
"""

import math
from dataclasses import dataclass

import numpy as np

from mapper.analysis.grid import grid_for_zone
from mapper.analysis.hotspots import collect_points, count_cells, gi_star_grid, kernel_density
from mapper.analysis.targets import check_share
from mapper.errors import ValidationError

KDE_BANDWIDTHS = (100, 150, 200, 300)
BASELINE = "counts"  # previous-period counts per cell: also the default for target areas (see docs/hotspots.md)


@dataclass(frozen=True)
class Accuracy:
    method: str
    cells: int  # cells selected
    area_share: float  # a/A
    records: int  # N: test records in the study area
    hits: float  # n (expected, with random tie-breaking)
    best_hits: float  # n*: the most any same-sized set of cells caught

    @property
    def hit_rate(self):
        return self.hits / self.records if self.records else 0.0

    @property
    def pai(self):
        return self.hit_rate / self.area_share if self.area_share else 0.0

    @property
    def pei(self):
        return self.hits / self.best_hits if self.best_hits else 0.0


def accuracy(score, test_counts, mask, share, method="score"):
    """Hit rate, PAI and PEI of selecting the top ``share`` of the study-area cells by ``score``.

    >>> score = np.array([[3., 2., 1., 1.]]); test = np.array([[1., 4., 2., 0.]])
    >>> result = accuracy(score, test, np.ones((1, 4), bool), 0.75)
    >>> result.cells, result.hits, result.best_hits, round(result.pai, 3), round(result.pei, 3)
    (3, 6.0, 7.0, 1.143, 0.857)
    """
    share = check_share(share)
    inside_score = np.asarray(score, float)[mask]
    inside_test = np.asarray(test_counts, float)[mask]
    cells = int(math.floor(share * inside_score.size + 1e-9))
    records = int(round(inside_test.sum()))
    if cells == 0 or inside_score.size == 0:
        return Accuracy(method, 0, 0.0, records, 0.0, 0.0)
    hits = expected_hits(inside_score, inside_test, cells)
    best = float(np.sort(inside_test)[::-1][:cells].sum())
    return Accuracy(method, cells, cells / inside_score.size, records, hits, best)


def expected_hits(score, test, cells):
    """Test records in the ``cells`` top-scoring cells, ties at the cut-off taken in proportion."""
    order = np.argsort(-score, kind="stable")
    cut = score[order[cells - 1]]
    above = score > cut
    tied = score == cut
    taken = cells - int(above.sum())
    return float(test[above].sum() + test[tied].sum() * taken / tied.sum())


def method_scores(grid, train_counts, band=200.0, bandwidths=KDE_BANDWIDTHS):
    """Each method's per-cell score from training counts: name -> array."""
    scores = {BASELINE: train_counts}
    for bandwidth in bandwidths:
        scores[f"kde-{bandwidth:g}"] = kernel_density(grid, train_counts, bandwidth)
    scores[f"gi-{band:g}"] = gi_star_grid(grid, train_counts, band).z
    return scores


def parse_period(text, name):
    """``YYYY-MM..YYYY-MM`` (or one month) as (start, end)."""
    from mapper.analysis.hotspots import parse_window_bound

    parts = str(text).split("..")
    if len(parts) == 1:
        parts = parts * 2
    if len(parts) != 2 or not all(parts):
        raise ValidationError(f"{name!r} must be YYYY-MM..YYYY-MM, got {text!r}.", field=name)
    start, end = (parse_window_bound(part, name) for part in parts)
    if start > end:
        raise ValidationError(f"{name!r} starts after it ends: {text!r}.", field=name)
    return start, end


def evaluate_methods(store, zone, layers, train, test, share=0.05, cell=50.0, band=200.0, *, schema):
    """:class:`Accuracy` per method, predicting ``test`` from ``train`` (each ``(start, end)``), best PAI first."""
    grid = grid_for_zone(zone, cell)
    _, _, train_counts = count_cells(grid, collect_points(store, zone, schema, layers, *train))
    _, _, test_counts = count_cells(grid, collect_points(store, zone, schema, layers, *test))
    results = [accuracy(score, test_counts, grid.mask, share, method)
               for method, score in method_scores(grid, train_counts, band).items()]
    return sorted(results, key=lambda r: (-r.pai, r.method))


def format_table(results):
    """A plain-text table of results, one method per line."""
    lines = [f"{'method':<12} {'cells':>5} {'area':>6} {'N':>5} {'hits':>7} {'hit rate':>8} {'PAI':>6} {'PEI':>5}"]
    for r in results:
        lines.append(f"{r.method:<12} {r.cells:>5} {r.area_share:>6.1%} {r.records:>5} {r.hits:>7.1f} "
                     f"{r.hit_rate:>8.1%} {r.pai:>6.2f} {r.pei:>5.2f}")
    return "\n".join(lines)
