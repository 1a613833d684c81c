"""``compare``: the per-arm label-efficiency figure on hand-made phase tables, and what an arm sets."""

from __future__ import annotations

import pytest

from automl_al.pipeline.compare.study import CompareResult, _arm_config, arm_settings
from automl_al.config import Config


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
    arm = _arm_config(cfg, tmp_path / "compare", "std+kcenter", 1)
    assert (arm.active.acquisition, arm.active.diversity, arm.seed) == ("std", "kcenter", 1)
    assert arm.run_dir == tmp_path / "compare" / "std+kcenter" / "seed_1"
    assert _arm_config(cfg, tmp_path, "std", 0).active.diversity == "none"  # the config's own
