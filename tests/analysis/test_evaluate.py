"""Hit rate, PAI and PEI (mapper.analysis.evaluate) by hand, and the methods compared on a real ward extract."""

from pathlib import Path

import numpy as np
import pytest

from mapper.analysis.evaluate import BASELINE, accuracy, evaluate_methods, parse_period
from mapper.errors import ValidationError
from mapper.importers.police_uk import import_police

POLICE = Path(__file__).resolve().parent.parent / "data" / "police"


def test_pai_and_pei_by_hand():
    # 5 cells, 2 selected (40 %). Score 2 is taken; three cells tie at 1 for the last place, so each counts 1/3.
    score = np.array([2.0, 1.0, 1.0, 1.0, 0.0])
    test = np.array([3.0, 0.0, 3.0, 0.0, 4.0])
    result = accuracy(score, test, np.ones(5, bool), 0.4)
    assert (result.cells, result.records, result.hits) == (2, 10, 4.0)  # 3 + 3 * 1/3
    assert result.hit_rate == pytest.approx(0.4)
    assert result.pai == pytest.approx(1.0)  # (4 / 10) / (2 / 5)
    assert result.best_hits == 7.0 and result.pei == pytest.approx(4 / 7)  # best two cells: 4 + 3


def test_cells_outside_the_study_area_do_not_count():
    mask = np.array([True, True, False, True])
    result = accuracy(np.array([1.0, 0, 9, 0]), np.array([2.0, 1, 50, 1]), mask, 1 / 3)
    assert (result.cells, result.records, result.hits, result.pai) == (1, 4, 2.0, 1.5)


def test_parse_period():
    assert parse_period("2023-01..2023-12", "train") == ("2023-01", "2023-12")
    assert parse_period("2024-06", "test") == ("2024-06", "2024-06")
    for bad in ("2023..2024", "2024-12..2024-01", "2023-01.."):
        with pytest.raises(ValidationError):
            parse_period(bad, "train")


@pytest.mark.parametrize("zone, name", [
    ("bell-foundry", "loughborough_hastings_bell_foundry_2023-01_to_2024-12.csv"),
    ("new-parks", "new_parks_leicester_2023-01_to_2024-12.csv"),
    ("thringstone-whitwick", "thringstone_whitwick_2023-01_to_2024-12.csv"),
])
def test_previous_period_counts_predict_asb_best_on_the_real_extracts(resources, zone, name):
    """Why target areas default to counts: police.uk's snapping makes last year's cells next year's (docs)."""
    import_police([POLICE / name], zone, schema=resources.schema, zones=resources.zones(), store=resources.store)
    results = evaluate_methods(resources.store, resources.zones().get(zone), ["crime:anti-social-behaviour"],
                               ("2023-01", "2023-12"), ("2024-01", "2024-12"), 0.05, schema=resources.schema)
    by_method = {r.method: r for r in results}
    assert set(by_method) == {"counts", "kde-100", "kde-150", "kde-200", "kde-300", "gi-200"}
    assert results[0].method == BASELINE and by_method[BASELINE].pai > 14
    assert all(0.049 <= r.area_share <= 0.05 for r in results)
