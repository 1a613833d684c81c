"""Learning-curve aggregation, tables and the label-efficiency read-out, on hand-made rows."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from automl_al.active.curves import curve_area, curve_stats, curves_png, first_reaching, table_csv, table_markdown

SEED_A = [{"labeled_fraction": 0.1, "test_iou": 0.5}, {"labeled_fraction": 0.2, "test_iou": 0.7}]
SEED_B = [{"labeled_fraction": 0.1, "test_iou": 0.6}, {"labeled_fraction": 0.2, "test_iou": 0.8},
          {"labeled_fraction": 0.3, "test_iou": 0.9}]


def test_curve_stats_aggregate_position_by_position():
    stats = curve_stats([SEED_A, SEED_B], "test_iou")
    np.testing.assert_allclose(stats.fraction, [0.1, 0.2, 0.3])
    np.testing.assert_allclose(stats.mean, [0.55, 0.75, 0.9])
    np.testing.assert_allclose(stats.low, [0.5, 0.7, 0.9])
    np.testing.assert_allclose(stats.high, [0.6, 0.8, 0.9])
    np.testing.assert_array_equal(stats.seeds, [2, 2, 1])


def test_first_reaching_returns_the_first_fraction_at_or_above_target():
    assert first_reaching(SEED_B, "test_iou", 0.8) == pytest.approx(0.2)
    assert first_reaching(SEED_B, "test_iou", 0.95) is None


def test_curve_area_is_the_trapezoid_mean_over_the_labeled_fraction():
    uneven = [{"labeled_fraction": x, "test_iou": y} for x, y in ((0.1, 0.5), (0.2, 0.7), (0.4, 0.6))]
    # (0.1 * (0.5 + 0.7) / 2 + 0.2 * (0.7 + 0.6) / 2) / 0.3 = 0.19 / 0.3, not the plain mean 0.6
    assert curve_area(uneven, "test_iou", 3) == pytest.approx(0.19 / 0.3)
    assert curve_area(uneven, "test_iou", 2) == pytest.approx(0.6)
    assert curve_area(uneven, "test_iou", 1) == pytest.approx(0.5)
    assert np.isnan(curve_area([*SEED_A, {"labeled_fraction": 0.3}], "test_iou", 3))
    with pytest.raises(ValueError, match="4 phases asked for, the run has 3"):
        curve_area(uneven, "test_iou", 4)


def test_tables_keep_first_seen_column_order():
    rows = [{"phase": 1, "test_iou": 0.51234}, {"phase": 2, "test_iou": 0.6, "extra": "x"}]
    assert table_csv(rows).splitlines() == ["phase,test_iou,extra", "1,0.51234,", "2,0.6,x"]
    md = table_markdown(rows).splitlines()
    assert md[0] == "| phase | test_iou | extra |" and md[2] == "| 1 | 0.5123 |  |"


def test_curves_png_is_a_png():
    png = curves_png({"mfe": [SEED_A, SEED_B], "random": [SEED_A]}, "test_iou", title="t", reference=0.9)
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (700, 450)
