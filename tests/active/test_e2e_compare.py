"""End to end: ``automl-al compare CONFIG --acquisition mfe,random --seeds 2`` on the tiny demo.

Runs the verb in-process (``automl_al.cli.main``) with a spy on the arm runs, so the test can see
that every arm got the same decoded data (one test set) and, per seed, the same initial labeled set.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from e2e_config import write_demo_config

from automl_al.active.curves import first_reaching
from automl_al.active.state import StateFile
from automl_al.cli import main
from automl_al.pipeline.compare import study as compare_module

pytestmark = pytest.mark.slow

ARMS, SEEDS = ("mfe", "random"), 2


def write_config(tmp_path: Path, **active: Any) -> Path:
    # a high rate and small batches: the tiny models move enough in one epoch for some arms to
    # reach 98 % of the full-data score, so the label-efficiency numbers are not all "not reached"
    return write_demo_config(tmp_path, "cmp", train={"epochs": 1, "batch_size": 4, "lr": 1e-2},
                             active={"mc_samples": 3, "initial": 8, "query_size": 4, "max_phases": 2, **active})


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def test_compare_shares_initial_and_test_sets_and_reports_label_efficiency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    calls: list[tuple[str, int, list[str]]] = []  # (acquisition, seed, test ids) per arm run
    real_run_active = compare_module.run_active

    def spy(cfg: Any, **kwargs: Any) -> Any:
        calls.append((cfg.active.acquisition, cfg.seed, list(kwargs["prepared"].splits["test"])))
        return real_run_active(cfg, **kwargs)

    monkeypatch.setattr(compare_module, "run_active", spy)
    config = write_config(tmp_path)
    code = main(["compare", str(config), "--acquisition", ",".join(ARMS), "--seeds", str(SEEDS), "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0, out
    root = tmp_path / "run" / "compare"

    # every arm x seed ran once, on one test set
    assert sorted((a, s) for a, s, _ in calls) == sorted((a, s) for a in ARMS for s in range(SEEDS))
    test_sets = {tuple(t) for _, _, t in calls}
    assert len(test_sets) == 1 and len(next(iter(test_sets))) > 0

    # per seed, all arms start from the same initial labeled set; the seeds differ
    initial: dict[tuple[str, int], set[str]] = {}
    for arm in ARMS:
        for s in range(SEEDS):
            state = StateFile(root / arm / f"seed_{s}" / "state" / "state.json").load()
            initial[arm, s] = {i for i, lab in state.labeled.items() if lab.phase == 0}
            assert len(initial[arm, s]) == 8 and len(state.labeled) == 12
    for s in range(SEEDS):
        assert initial["mfe", s] == initial["random", s]
    assert initial["mfe", 0] != initial["mfe", 1]

    # the full-data model: trained on the whole pool, its score is the reference printed
    full = json.loads((root / "full" / "metrics.json").read_text())
    assert (root / "full" / "model.pt").is_file()
    assert f"full-data test_iou: {full['test_iou']:.4f}" in out

    # the summary's 98 % / 100 % fractions, recomputed by hand from each arm's own phase table
    summary = {r["acquisition"]: r for r in read_csv(root / "summary.csv")}
    assert set(summary) == set(ARMS)
    for arm in ARMS:
        tables = [read_csv(root / arm / f"seed_{s}" / "active" / "phases.csv") for s in range(SEEDS)]
        for target, key in ((0.98, "fraction_to_98pct"), (1.0, "fraction_to_100pct")):
            reached = [first_reaching(t, "test_iou", target * full["test_iou"]) for t in tables]
            hits = [f for f in reached if f is not None]
            expected = "not reached" if len(hits) < SEEDS else float(np.mean(hits))
            got = summary[arm][key]
            assert (got == expected) if isinstance(expected, str) else float(got) == pytest.approx(expected)
            assert summary[arm][f"{key}_seeds"] == f"{len(hits)}/{SEEDS}"
        final = np.mean([float(t[-1]["test_iou"]) for t in tables])
        assert float(summary[arm]["final_test_iou"]) == pytest.approx(final)
        # two phases of equal width: the area under each curve is the mean of its two scores
        areas = [(float(t[0]["test_iou"]) + float(t[1]["test_iou"])) / 2 for t in tables]
        assert float(summary[arm]["area_test_iou"]) == pytest.approx(np.mean(areas))
        assert float(summary[arm]["area_test_iou_sd"]) == pytest.approx(np.std(areas))

    numeric = [summary[a]["fraction_to_98pct"] for a in ARMS if summary[a]["fraction_to_98pct"] != "not reached"]
    assert numeric, "no arm reached 98 %: the hand check above only covered 'not reached'"

    phases = read_csv(root / "phases.csv")
    assert [int(r["phase"]) for r in phases] == [1, 2]
    # phase 1 trains on the shared initial set with the seed's own init: identical in every arm
    assert phases[0]["mfe"] == phases[0]["random"] and phases[0]["mfe_sd"] == phases[0]["random_sd"]
    for arm in ARMS:
        assert {f"{arm}", f"{arm}_sd"} <= set(phases[0])
    for name in ("curves.png", "phases.md", "summary.md"):
        assert (root / name).stat().st_size > 0

    # logged: one compare parent with the files, the reference and the fractions reached
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("cmp").experiment_id])
    parent = next(r for r in runs if r.info.run_name == "cmp-compare")
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.info.run_name for r in children) == sorted(
        ["full-data", *(f"cmp-{a}-seed{s}-active" for a in ARMS for s in range(SEEDS))]
    )
    assert parent.data.metrics["full_test_iou"] == pytest.approx(full["test_iou"])
    for arm in ARMS:
        value = summary[arm]["fraction_to_98pct"]
        if value != "not reached":
            assert parent.data.metrics[f"{arm}_fraction_to_98pct"] == pytest.approx(float(value))
        assert parent.data.metrics[f"{arm}_area_test_iou"] == pytest.approx(float(summary[arm]["area_test_iou"]))
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "compare")}
    assert {f"compare/{n}" for n in ("curves.png", "phases.csv", "phases.md", "summary.csv", "summary.md")} <= logged


def test_compare_refuses_bad_arms_metric_and_oracle_before_any_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path)
    assert main(["compare", str(config), "--acquisition", "mfe,bogus", "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert "bogus" in err and "random" in err and "mfe" in err  # names the bad one and the valid ones
    assert main(["compare", str(config), "--acquisition", "mfe+coreset", "--seeds", "1"]) == 2
    err = capsys.readouterr().err
    assert "unknown option 'coreset'" in err and "kcenter" in err  # names the bad option and the valid ones
    assert main(["compare", str(config), "--acquisition", "power_mi+kcenter", "--seeds", "1"]) == 2
    assert "use 'mi' with kcenter" in capsys.readouterr().err

    assert main(["compare", str(config), "--acquisition", "mfe", "--seeds", "1", "--metric", "test_iou_1"]) == 2
    assert "test_iou_1" in capsys.readouterr().err  # per-class: not in the phase tables
    assert main(["compare", str(config), "--acquisition", "mfe", "--seeds", "1", "--metric", "test_accuracy"]) == 2
    err = capsys.readouterr().err  # a classification score on a segmentation study
    assert "test_accuracy" in err and "test_iou, test_dice" in err

    folder = write_config(tmp_path, oracle="folder")
    assert main(["compare", str(folder), "--acquisition", "mfe", "--seeds", "1"]) == 2
    assert "active.oracle: simulated" in capsys.readouterr().err
    assert not (tmp_path / "run").exists() and not (tmp_path / "mlflow.db").exists()


def test_a_classification_study_compares_balanced_accuracy_by_default(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = write_config(tmp_path, max_phases=1)
    overrides = ["--set", "task=classification", "--set", "tracking.enabled=false"]
    assert main(["compare", str(config), "--acquisition", "mi,random", "--seeds", "1", "--no-progress", *overrides]) == 0
    full = json.loads((tmp_path / "run" / "compare" / "full" / "metrics.json").read_text())
    assert f"full-data test_balanced_accuracy: {full['test_balanced_accuracy']:.4f}" in capsys.readouterr().out
    phases = read_csv(tmp_path / "run" / "compare" / "phases.csv")
    tables = {arm: read_csv(tmp_path / "run" / "compare" / arm / "seed_0" / "active" / "phases.csv") for arm in ("mi", "random")}
    for arm, table in tables.items():  # the study's table is read from each arm's own
        assert float(phases[0][arm]) == pytest.approx(float(table[0]["test_balanced_accuracy"]))
