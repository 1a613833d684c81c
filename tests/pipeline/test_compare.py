"""``compare``: the per-arm label-efficiency figures on hand-made phase tables, and what an arm sets."""

from __future__ import annotations

import pytest

from automl_al.config import Config
from automl_al.pipeline.compare import CompareResult, arm_config, arm_settings
from automl_al.pipeline.compare.stats import (
    area_over_seeds,
    fraction_to_reach,
    phase_table,
    shared_phases,
    study_metrics,
    summary_rows,
)


def _seed(*ious: float) -> list[dict[str, float]]:
    return [{"labeled_fraction": 0.1 * (i + 1), "test_iou": v} for i, v in enumerate(ious)]


def _result(**runs: list[list[dict[str, float]]]) -> CompareResult:
    return CompareResult(metric="test_iou", reference=1.0, runs=runs, phases=[], summary=[])


def test_the_fraction_to_reach_is_the_mean_over_seeds_when_every_seed_reached():
    result = _result(steady=[_seed(0.5, 0.98), _seed(0.5, 0.9, 0.99)])
    # seed 0 reaches 0.98 at 0.2, seed 1 at 0.3
    assert result.fraction_to_reach("steady", 0.98) == pytest.approx(0.25)


def test_an_arm_that_reached_in_one_seed_only_has_no_fraction():
    # one lucky seed at 0.1 must not beat an arm that got there every time at 0.2
    result = _result(lucky=[_seed(0.99), _seed(0.5, 0.6), _seed(0.5, 0.7)], steady=[_seed(0.5, 0.98)] * 3)
    assert result.fraction_to_reach("lucky", 0.98) is None
    assert result.fraction_to_reach("steady", 0.98) == pytest.approx(0.2)
    assert result.fraction_to_reach("lucky", 0.5) == pytest.approx(0.1)


def test_the_curve_area_covers_only_the_phases_every_run_reached():
    # "early" stopped after 2 phases, so every arm is compared on phases 1-2 only
    result = _result(full=[_seed(0.5, 0.7, 0.6), _seed(0.3, 0.5, 0.9)], early=[_seed(0.5, 0.9)])
    assert result.area_phases == 2
    mean, sd = result.curve_area("full")  # seeds: (0.5 + 0.7) / 2 = 0.6 and (0.3 + 0.5) / 2 = 0.4
    assert (mean, sd) == (pytest.approx(0.5), pytest.approx(0.1))
    assert result.curve_area("early") == (pytest.approx(0.7), pytest.approx(0.0))
    assert _result(none=[[]]).curve_area("none") is None


def test_an_arm_names_an_acquisition_and_optionally_kcenter_batches(tmp_path):
    assert arm_settings("mi") == {"acquisition": "mi"}
    assert arm_settings("mi+kcenter") == {"acquisition": "mi", "diversity": "kcenter"}
    cfg = Config.model_validate({"run_dir": str(tmp_path)})
    arm = arm_config(cfg, tmp_path / "compare", "std+kcenter", 1)
    assert (arm.active.acquisition, arm.active.diversity, arm.seed) == ("std", "kcenter", 1)
    assert arm.run_dir == tmp_path / "compare" / "std+kcenter" / "seed_1"
    assert arm_config(cfg, tmp_path, "std", 0).active.diversity == "none"  # the config's own


def test_the_pure_figures_match_the_result_methods():
    lucky, steady = [_seed(0.99), _seed(0.5, 0.6)], [_seed(0.5, 0.98)] * 2
    assert fraction_to_reach(steady, "test_iou", 0.98) == pytest.approx(0.2)
    assert fraction_to_reach(lucky, "test_iou", 0.98) is None
    assert fraction_to_reach([], "test_iou", 0.98) is None  # no seed: nothing reached
    assert shared_phases({"lucky": lucky, "steady": steady}) == 1
    assert area_over_seeds(steady, "test_iou", 0) is None
    assert area_over_seeds(steady, "test_iou", 2) == (pytest.approx(0.74), pytest.approx(0.0))


def test_the_phase_table_puts_each_arm_side_by_side_with_its_spread():
    rows = phase_table({"a": [_seed(0.4, 0.6), _seed(0.6)], "b": [_seed(0.5, 0.7)]}, "test_iou")
    assert [r["phase"] for r in rows] == [1, 2]
    first, second = rows
    assert first["labeled_fraction"] == pytest.approx(0.1)
    assert (first["a"], first["a_sd"], first["b"]) == (pytest.approx(0.5), pytest.approx(0.1), pytest.approx(0.5))
    assert (second["a"], second["a_sd"]) == (pytest.approx(0.6), pytest.approx(0.0))  # the seed that stopped is left out


def test_the_summary_says_how_many_seeds_reached_and_what_is_logged():
    result = _result(lucky=[_seed(0.99), _seed(0.5, 0.6)], steady=[_seed(0.5, 0.98), _seed(0.5, 1.0)])
    lucky, steady = summary_rows(result, seeds=2)
    assert lucky == {"acquisition": "lucky", "fraction_to_98pct": "not reached", "fraction_to_98pct_seeds": "1/2",
                     "fraction_to_100pct": "not reached", "fraction_to_100pct_seeds": "0/2",
                     "final_test_iou": pytest.approx(0.795), "area_test_iou": pytest.approx(0.745),
                     "area_test_iou_sd": pytest.approx(0.245)}
    assert (steady["fraction_to_98pct"], steady["fraction_to_98pct_seeds"]) == (pytest.approx(0.2), "2/2")
    assert (steady["fraction_to_100pct"], steady["fraction_to_100pct_seeds"]) == ("not reached", "1/2")
    assert study_metrics(result) == {"full_test_iou": 1.0, "lucky_area_test_iou": pytest.approx(0.745),
                                     "steady_fraction_to_98pct": pytest.approx(0.2), "steady_area_test_iou": pytest.approx(0.5)}
