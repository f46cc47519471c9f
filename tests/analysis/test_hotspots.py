"""Gi* against PySAL esda (the test-only oracle), the FDR bins, quartic density against a direct sum, target areas
and the hotspot FeatureCollection from a real store."""

import warnings
from pathlib import Path

import numpy as np
import pytest
from shapely.geometry import Point, box

from mapper.analysis.grid import bin_points, grid_for_boundary, grid_for_zone
from mapper.analysis.hotspots import (LayerInput, LayerPoints, confidence_bins, disc_kernel, fdr_cutoff,
                                      gi_star_grid, hotspot_layer, kernel_density, parse_layer_input,
                                      quartic_kernel)
from mapper.analysis.targets import target_areas, target_layer
from mapper.errors import ValidationError
from mapper.importers.police_uk import import_police

esda = pytest.importorskip("esda")
libpysal = pytest.importorskip("libpysal")

POLICE = Path(__file__).resolve().parent.parent / "data" / "police"
BELL_FOUNDRY = POLICE / "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"


def esda_z(grid, values, band):
    """esda.G_Local(y, w, transform='B', star=True) on the study-area cells with a DistanceBand of their centres."""
    from esda.getisord import G_Local
    from libpysal.weights import DistanceBand

    x, y = grid.centres()
    centres = np.column_stack([x[grid.mask], y[grid.mask]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = DistanceBand(centres, threshold=band, binary=True, silence_warnings=True)
        result = G_Local(values[grid.mask], w, transform="B", star=True, permutations=0)
    return result.Zs, np.asarray(w.sparse.sum(axis=1)).ravel() + 1


GRIDS = [
    # (boundary in metres, cell, band): squares, an L-shape with a hole, and bands that land exactly on centres
    (box(454000, 319000, 455000, 320000), 50, 200),
    (box(454000, 319000, 455000, 320000), 50, 250),
    (box(454010, 319020, 455530, 319990), 100, 300),
    (box(454000, 319000, 456000, 320000).difference(box(455000, 319500, 456000, 320000))
     .difference(Point(454500, 319500).buffer(180)), 50, 150),
    (Point(454000, 319000).buffer(700), 25, 100),
]


@pytest.mark.parametrize("boundary, cell, band", GRIDS)
@pytest.mark.parametrize("seed", [1, 2])
def test_gi_star_equals_esda(boundary, cell, band, seed):
    grid = grid_for_boundary(boundary, cell)
    rng = np.random.default_rng(seed)
    values = rng.poisson(0.4, grid.shape) * 1.0 + (rng.random(grid.shape) < 0.05) * rng.random(grid.shape) * 7
    result = gi_star_grid(grid, values, band)
    expected_z, expected_neighbours = esda_z(grid, values, band)
    assert np.max(np.abs(result.z[grid.mask] - expected_z)) < 1e-9
    assert (result.neighbours[grid.mask] == expected_neighbours).all()
    assert (result.z[~grid.mask] == 0).all() and (result.p[~grid.mask] == 1).all()


def test_gi_star_equals_esda_on_a_zone_with_real_crime(resources):
    import_police([BELL_FOUNDRY], "bell-foundry", schema=resources.schema, zones=resources.zones(),
                  store=resources.store)
    zone = resources.zones().get("bell-foundry")
    collection = hotspot_layer(resources.store, zone, ["crime:anti-social-behaviour"], schema=resources.schema,
                               suppress_below=0)
    grid = grid_for_zone(zone, 50)
    counts = np.zeros(grid.shape)
    for feature in collection["features"]:
        p = feature["properties"]
        counts[int((p["northing"] - grid.south) // 50), int((p["easting"] - grid.west) // 50)] = p["count"]
    assert counts.sum() == 260  # every ASB record of the extract sits in a study-area cell
    expected_z, _ = esda_z(grid, counts, 200)
    ours = np.array([f["properties"]["GiZScore"] for f in collection["features"]])
    assert len(ours) == grid.mask.sum() and np.max(np.abs(ours - expected_z)) < 1e-9


def test_disc_kernel_includes_centres_at_exactly_the_band():
    kernel = disc_kernel(50, 200)
    assert kernel.shape == (9, 9) and kernel[4, 0] == 1 and kernel[0, 0] == 0 and kernel.sum() == 49


P_VALUES = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216])


def test_fdr_by_hand():
    # alpha 0.10: k/10 * 0.10 = .01 .02 .03 .04 .05 .06 ... -> p(6) = .06 <= .06 is the last pass
    assert fdr_cutoff(P_VALUES, 0.10) == 0.06
    # alpha 0.05: .005 .010 ... -> only p(2) = .008 <= .010
    assert fdr_cutoff(P_VALUES, 0.05) == 0.008
    # alpha 0.01: .001 .002 ... -> p(1) = .001 <= .001
    assert fdr_cutoff(P_VALUES, 0.01) == 0.001
    assert fdr_cutoff(np.array([0.5, 0.9]), 0.1) == -1.0
    z = np.array([3.3, 2.6, -2.1, 2.0, 2.0, 1.9, 1.8, 1.3, 1.2, -1.2])
    mask = np.ones(10, bool)
    assert confidence_bins(z, P_VALUES, mask).tolist() == [3, 2, -1, 1, 1, 1, 0, 0, 0, 0]
    assert confidence_bins(z, P_VALUES, mask, fdr=False).tolist() == [3, 3, -2, 2, 2, 1, 1, 0, 0, 0]


def test_gi_star_of_a_flat_or_empty_grid_is_not_significant():
    grid = grid_for_boundary(box(0, 0, 500, 500), 50)
    for values in (np.zeros(grid.shape), np.ones(grid.shape)):
        result = gi_star_grid(grid, values, 200)
        assert (result.z == 0).all() and (result.bins == 0).all()


def direct_quartic(grid, x, y, bandwidth):
    cx, cy = grid.centres()
    d2 = (cx[..., None] - x) ** 2 + (cy[..., None] - y) ** 2
    k = np.where(d2 < bandwidth ** 2, 3 / (np.pi * bandwidth ** 2) * (1 - d2 / bandwidth ** 2) ** 2, 0)
    return k.sum(axis=-1) * 1e6


@pytest.mark.parametrize("bandwidth", [120, 200, 2000])  # 2000 m: the FFT path
def test_kernel_density_equals_a_direct_sum(bandwidth):
    grid = grid_for_boundary(box(0, 0, 1500, 1000), 50)
    rng = np.random.default_rng(3)
    x, y = rng.uniform(0, 1500, 40), rng.uniform(0, 1000, 40)
    density = kernel_density(grid, bin_points(grid, x, y), bandwidth)
    # Binned: each point counts at its cell centre; the direct sum over those centres must agree exactly.
    snapped_x = (np.floor(x / 50) + 0.5) * 50
    snapped_y = (np.floor(y / 50) + 0.5) * 50
    assert np.allclose(density, direct_quartic(grid, snapped_x, snapped_y, bandwidth), rtol=1e-9, atol=1e-9)
    # Against the true points the binning error shrinks as the bandwidth grows past a few cells (docs/hotspots.md).
    if bandwidth >= 4 * grid.cell:
        exact = direct_quartic(grid, x, y, bandwidth)
        assert np.abs(density - exact).max() < 0.25 * exact.max()


def test_quartic_kernel_integrates_to_one():
    assert quartic_kernel(5, 400).sum() * 25 == pytest.approx(1, abs=2e-3)


def test_parse_layer_input_errors():
    assert parse_layer_input("lights") == LayerInput("lights", (), 1.0)
    for bad in ("", "a:b:c:d", "crime:asb:-1", "crime:asb:x"):
        with pytest.raises(ValidationError):
            parse_layer_input(bad)


def test_target_areas_merge_adjacent_cells_and_respect_the_share():
    grid = grid_for_boundary(box(0, 0, 1000, 1000), 50)  # 400 cells of 2,500 m^2
    score = np.zeros(grid.shape)
    score[2, 2:5] = [5, 6, 5]  # three cells in a row: one area
    score[10, 10] = 9  # a single cell
    score[11, 11] = 4  # touches it only at a corner: a separate area
    x = np.array([125.0, 125.0, 175.0, 525.0, 575.0])
    y = np.array([125.0, 125.0, 125.0, 525.0, 575.0])
    points = LayerPoints(LayerInput("crime"), x, y, np.array(["burglary", "drugs", "drugs", "drugs", "robbery"],
                                                                  object),
                         np.array(["On or near Cobden Street"] * 3 + ["On or near Park", "On or near "], object))
    areas = target_areas(grid, score, bin_points(grid, x, y), 1_000_000, [points], share=0.0125)  # 5 cells
    assert [a.cells for a in areas] == [3, 1, 1]
    first = areas[0]
    assert first.rank == 1 and first.records == 3 and first.counts == {"drugs": 2, "burglary": 1}
    assert first.streets == ["Cobden Street"] and first.zone_share == 0.0075
    assert areas[1].streets == ["Park"] and areas[2].streets == []
    assert len(target_areas(grid, score, bin_points(grid, x, y), 1_000_000, [points], share=0.005)) == 2


def test_hotspot_layer_and_targets_from_the_store(resources):
    import_police([BELL_FOUNDRY], "bell-foundry", schema=resources.schema, zones=resources.zones(),
                  store=resources.store)
    zone = resources.zones().get("bell-foundry")
    public = hotspot_layer(resources.store, zone, ["crime:anti-social-behaviour", "crime:burglary:2"],
                           start="2024-01", end="2024-12", schema=resources.schema)
    # Some ASB cells hold 1-2 records, so the public total is withheld: 162 less the cells shown would give them away.
    assert public["analysis"]["layers"][0]["records"] is None
    unsuppressed = hotspot_layer(resources.store, zone, ["crime:anti-social-behaviour"], start="2024-01",
                                 end="2024-12", suppress_below=0, schema=resources.schema)
    assert unsuppressed["analysis"]["layers"][0]["records"] == 162  # ASB in 2024
    cell = public["features"][0]
    assert cell["geometry"]["type"] == "Polygon" and len(cell["geometry"]["coordinates"][0]) == 5
    assert {"GiZScore", "GiPValue", "NNeighbors", "Gi_Bin", "label", "count", "count_crime_anti_social_behaviour",
            "count_crime_burglary", "weighted_count"} <= set(cell["properties"])
    small = [f["properties"] for f in public["features"] if f["properties"]["suppressed"]]
    assert small and all(p["count"] is None and p["weighted_count"] is None for p in small)
    shown = [f["properties"]["count"] for f in public["features"] if not f["properties"]["suppressed"]]
    assert all(c == 0 or c >= 3 for c in shown)
    assert any(f["properties"]["label"] == "Hot Spot with 99% Confidence" for f in public["features"])
    density = hotspot_layer(resources.store, zone, ["crime"], method="kde", schema=resources.schema,
                            suppress_below=0)
    assert sum(f["properties"]["count"] for f in density["features"]) == 2494
    targets = target_layer(resources.store, zone, ["crime:anti-social-behaviour"], schema=resources.schema)
    shares = [f["properties"]["zone_share"] for f in targets["features"]]
    assert targets["features"][0]["properties"]["rank"] == 1 and 0 < sum(shares) <= 0.05
    with pytest.raises(ValidationError, match="Unknown filter 'asb'"):
        hotspot_layer(resources.store, zone, ["crime:asb"], schema=resources.schema)


@pytest.mark.parametrize("records, counts, hidden", [
    (5, {"burglary": 3, "drugs": 2}, True),   # 5 beside a shown 3 gives the withheld 2 away
    (2, {"burglary": 2}, True),               # a total below the threshold is itself a small count
    (7, {"burglary": 4, "drugs": 3}, False),  # nothing withheld: totals shown
])
def test_target_area_totals_are_withheld_where_they_could_reveal_a_small_count(records, counts, hidden):
    from mapper.analysis.targets import TargetArea, target_features

    area = TargetArea(rank=1, polygon=box(-1.2, 52.7, -1.19, 52.71), centroid=(-1.195, 52.705), cells=2,
                      area_m2=5000.0, zone_share=0.01, records=records, weighted_records=float(records),
                      counts=counts, streets=[])
    (public,) = target_features([area], suppress_below=3)
    assert (public["properties"]["records"] is None) is hidden
    assert (public["properties"]["weighted_records"] is None) is hidden
    assert public["properties"].get("suppressed", False) is hidden
    (unsuppressed,) = target_features([area], suppress_below=0)
    assert unsuppressed["properties"]["records"] == records and unsuppressed["properties"]["counts"] == counts


def test_a_cell_with_one_record_of_a_layer_is_withheld_and_so_is_that_layers_total():
    """Regression (issue #11, finding 9): a shown cell of 4 burglaries and 1 robbery showed count_..._robbery = 1,
    and a layer's total less the cells shown gave a withheld cell's count away."""
    from mapper.analysis.hotspots import layer_summaries, withheld_cells

    burglary, robbery = np.array([[4, 0, 5]]), np.array([[1, 0, 0]])
    counts = {"burglary": burglary, "robbery": robbery}
    hidden = withheld_cells(counts, burglary + robbery, 3)
    assert hidden.tolist() == [[True, False, False]]
    assert not withheld_cells(counts, burglary + robbery, 0).any()
    layers = [LayerPoints(LayerInput("crime", (kind,)), np.zeros(n), np.zeros(n), np.array([kind] * n),
                          np.array([""] * n)) for kind, n in (("burglary", 9), ("robbery", 1))]
    counts = {layers[0].source.label: burglary, layers[1].source.label: robbery}
    summaries = layer_summaries(layers, counts, withheld_cells(counts, burglary + robbery, 3), 3)
    assert [s["records"] for s in summaries] == [None, None]  # 9 - 5 shown = the withheld cell's 4 burglaries
    assert [s["records"] for s in layer_summaries(layers, counts, withheld_cells(counts, burglary, 0), 0)] == [9, 1]
