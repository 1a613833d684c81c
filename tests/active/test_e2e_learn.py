"""End to end: ``automl-al learn`` in a subprocess on the demo data, killed with SIGKILL and resumed,
round-tripping labels through a human (folder oracle), and logging phases to a sqlite MLflow store.

Each run is tiny (10 demo patients x 4 slices at 32 px, Unet + resnet18 depth 3, 1 epoch, T = 3,
8 initial + 4 per phase, 2 phases), so a whole ``learn`` takes about 10 s on 2 busy cores.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from automl_al.active.crash import ENV as CRASH_ENV
from automl_al.active.labels import LabelStore, safe_name
from automl_al.active.state import StateFile
from automl_al.cli.learn import EXIT_WAITING
from automl_al.config import load_config
from e2e_config import write_demo_config

pytestmark = pytest.mark.slow

INITIAL, QUERY, PHASES = 8, 4, 2


def write_config(tmp_path: Path, *, tracking: bool = False, **active: Any) -> Path:
    """A tiny demo config in ``tmp_path`` (run_dir ``tmp_path/run``); ``active`` keys override."""
    active = {"acquisition": "mfe", "mc_samples": 3, "initial": INITIAL, "query_size": QUERY,
              "max_phases": PHASES, "dropout": "head", **active}
    return write_demo_config(tmp_path, "e2e", train={"epochs": 1, "batch_size": 8, "lr": 1e-3}, active=active,
                             tracking=tracking)


def learn(config: Path, crash_at: str | None = None, *extra: str) -> subprocess.CompletedProcess[str]:
    """``automl-al learn CONFIG`` in a fresh process (the installed console script), one torch thread."""
    env = {**os.environ, "NO_ALBUMENTATIONS_UPDATE": "1", "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    env.pop(CRASH_ENV, None)
    if crash_at is not None:
        env[CRASH_ENV] = crash_at
    script = Path(sys.executable).with_name("automl-al")
    command = [str(script)] if script.is_file() else [sys.executable, "-c", "import sys; from automl_al.cli import main; sys.exit(main())"]
    return subprocess.run(
        [*command, "learn", str(config), "--no-progress", *extra],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def killed(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == -signal.SIGKILL, f"expected SIGKILL, got {proc.returncode}\n{proc.stdout}\n{proc.stderr}"


def finished(proc: subprocess.CompletedProcess[str]) -> None:
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    assert "stopped: max_phases after 2 phase(s)" in proc.stdout


def load_state(run_dir: Path) -> Any:
    """The state file, checked to be valid JSON with the format marker (StateFile.load raises otherwise)."""
    return StateFile(run_dir / "state" / "state.json").load()


def labeled_phases(run_dir: Path) -> dict[str, int]:
    return {i: s.phase for i, s in load_state(run_dir).labeled.items()}


def assert_consistent_finish(run_dir: Path, before: dict[str, int]) -> None:
    """After the resumed run: old labels kept with their phases, no id asked twice, the expected
    count, every label stored, and the final model written."""
    state = load_state(run_dir)
    after = {i: s.phase for i, s in state.labeled.items()}
    assert {i: after.get(i) for i in before} == before
    asked = [i for p in state.phases for i in p.queried]
    assert len(asked) == len(set(asked)), "an id was queried twice"
    # phase 0 labels INITIAL, phase 1 queries QUERY, phase 2 trains and stops at max_phases
    assert len(after) == INITIAL + QUERY * (PHASES - 1)
    assert sorted(after.values()) == [0] * INITIAL + [1] * QUERY
    assert [p.phase for p in state.phases] == list(range(PHASES + 1))
    assert state.stop_reason == "max_phases"
    assert LabelStore(run_dir / "state" / "labels").missing(after) == []
    assert (run_dir / "active" / "model.pt").is_file()
    with (run_dir / "active" / "phases.csv").open() as f:  # the same columns, resumed or not
        header = next(csv.reader(f))
    assert header[:8] == ["phase", "labeled", "labeled_fraction", "val_dice", "val_iou", "test_dice", "test_iou", "train_seconds"]


def test_kill_during_training_resumes(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    run_dir = tmp_path / "run"
    killed(learn(config, "epoch:det:2:1"))  # phase 2's model finished epoch 1, before its checkpoint
    before = labeled_phases(run_dir)
    assert sorted(before.values()) == [0] * INITIAL + [1] * QUERY
    raw = json.loads((run_dir / "state" / "state.json").read_text())  # plain JSON another tool can read
    assert raw["format"] == "automl-al/active-state/v1"
    assert [(p["phase"], p["step"]) for p in raw["phases"]] == [(0, "labeled"), (1, "labeled"), (2, None)]
    assert not (run_dir / "state" / "phase_02" / "det.pt").exists()

    resumed = learn(config)
    finished(resumed)
    assert_consistent_finish(run_dir, before)
    log = resumed.stderr  # progress a user can follow: where it resumed, what each phase does
    assert "resuming phase 2 after step none (12 labeled)" in log
    assert "phase 2/2: training the model on 12 labeled images (50.0% of the pool)" in log
    assert "active learning stops after phase 2: max_phases" in log
    assert "training the MC-dropout twin" not in log  # phase 2 is the last: no twin, no scoring


def test_kill_during_scoring_resumes_without_rescoring_labels(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    run_dir = tmp_path / "run"
    killed(learn(config, "scoring:1:1"))  # phase 1, after the first scoring batch
    before = labeled_phases(run_dir)
    assert sorted(before.values()) == [0] * INITIAL
    phase = load_state(run_dir).phases[1]
    assert phase.step == "trained-mc" and phase.scores_file is None
    assert not (run_dir / "state" / "phase_01" / "scores.csv").exists()

    finished(learn(config))
    assert_consistent_finish(run_dir, before)
    with (run_dir / "state" / "phase_01" / "scores.csv").open() as f:
        scored = [r["id"] for r in csv.DictReader(f)]
    assert set(scored).isdisjoint(before), "an initially labeled image was scored"
    assert len(scored) == load_state(run_dir).pool_size - INITIAL


# ----- the human (folder) oracle -------------------------------------------------------------


def true_masks(config: Path, ids: list[str]) -> dict[str, np.ndarray]:
    """The demo's hidden masks of ``ids``: what a perfect human would draw."""
    from automl_al.data import prepare_data

    prepared = prepare_data(load_config(config), progress=False)
    return {i: np.asarray(t) for i, t in zip(ids, prepared.targets_for(ids), strict=True)}


def queries(run_dir: Path, phase: int) -> list[dict[str, str]]:
    with (run_dir / "queries" / f"phase_{phase:02d}" / "queries.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def save_mask(labels_dir: Path, sample_id: str, mask: np.ndarray) -> Path:
    """A 0/255 greyscale PNG named like the query image, as a labeling tool would save it."""
    labels_dir.mkdir(parents=True, exist_ok=True)
    path = labels_dir / f"{safe_name(sample_id)}.png"
    Image.fromarray((mask * 255).astype(np.uint8)).save(path)
    return path


def test_human_oracle_round_trip_rejects_bad_masks_by_name(tmp_path: Path) -> None:
    config = write_config(tmp_path, oracle="folder", given_labels="initial")  # the demo labels every image
    run_dir = tmp_path / "run"

    first = learn(config)
    assert first.returncode == EXIT_WAITING, first.stderr
    for step in ("initial labeled set: 8 of 24 pool images (8 labeled by the source, 0 for the oracle)",
                 "phase 1/2: training the model on 8 labeled images (33.3% of the pool)",
                 "phase 1: training the MC-dropout twin (dropout: head)",
                 "phase 1: scoring 16 unlabeled images with mfe",
                 "phase 1: asking the folder oracle for 4 images"):
        assert step in first.stderr, step
    rows = queries(run_dir, 1)
    ids = [r["id"] for r in rows]
    assert len(ids) == QUERY
    assert load_state(run_dir).phases[1].queried == ids
    for r in rows:
        with Image.open(run_dir / "queries" / "phase_01" / r["file"]) as img:
            assert img.size == (32, 32) and img.mode == "L"
    assert str(run_dir / "labels") in first.stdout + first.stderr  # tells the user where masks go

    truth = true_masks(config, ids)
    wrong, absent, *good = ids
    for i in good:
        save_mask(run_dir / "labels", i, truth[i])
    wrong_file = save_mask(run_dir / "labels", wrong, np.zeros((16, 16), dtype=np.int64))

    second = learn(config)
    said = second.stdout + second.stderr
    assert second.returncode == EXIT_WAITING, said
    assert said.count(wrong_file.name) == 1 and "16x16" in said  # named, once
    assert absent in said and "missing" in said
    assert not any(i in said for i in good), "valid masks were reported as problems"
    state = load_state(run_dir)
    assert len(state.labeled) == INITIAL and state.phases[1].step == "queried"  # nothing consumed
    assert LabelStore(run_dir / "state" / "labels").missing(good) == good

    save_mask(run_dir / "labels", wrong, truth[wrong])
    save_mask(run_dir / "labels", absent, truth[absent])
    finished(learn(config))
    assert_consistent_finish(run_dir, {i: 1 for i in ids})
    store = LabelStore(run_dir / "state" / "labels")
    for i in ids:
        np.testing.assert_array_equal(store.get(i), truth[i])


def test_kill_while_waiting_and_while_writing_query_pngs(tmp_path: Path) -> None:
    config = write_config(tmp_path, oracle="folder", given_labels="initial")  # the demo labels every image
    run_dir = tmp_path / "run"
    query_dir = run_dir / "queries" / "phase_01"

    killed(learn(config, "queried:1"))  # the query is saved; the oracle has not written anything yet
    ids = load_state(run_dir).phases[1].queried
    assert len(ids) == QUERY and not query_dir.exists()

    killed(learn(config, "query-png:1:1"))  # the second query PNG was just written
    assert len(list(query_dir.glob("*.png"))) == 2
    assert not (query_dir / "queries.csv").exists()  # written last: the folder is not complete

    waiting = learn(config)
    assert waiting.returncode == EXIT_WAITING, waiting.stderr
    assert [r["id"] for r in queries(run_dir, 1)] == ids, "the resumed run asked for other images"
    assert sorted(p.name for p in query_dir.glob("*.png")) == sorted(f"{safe_name(i)}.png" for i in ids)
    before = labeled_phases(run_dir)
    assert sorted(before.values()) == [0] * INITIAL

    truth = true_masks(config, ids)
    for i in ids:
        save_mask(run_dir / "labels", i, truth[i])
    finished(learn(config))
    assert_consistent_finish(run_dir, before)
    assert load_state(run_dir).phases[1].queried == ids


# ----- MLflow ---------------------------------------------------------------------------------


def test_mlflow_parent_run_and_one_child_per_phase_survive_a_kill_and_a_rerun(tmp_path: Path) -> None:
    from mlflow.tracking import MlflowClient

    config = write_config(tmp_path, tracking=True)
    run_dir = tmp_path / "run"
    killed(learn(config, "epoch:det:2:1"))  # phase 2's child run is open when the process dies
    finished(learn(config))
    again = learn(config)  # a finished run, run again: nothing retrained, no new MLflow run
    finished(again)
    assert "already finished (max_phases)" in again.stderr and "training the model" not in again.stderr

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("e2e")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert [r.info.run_name for r in parents] == ["e2e-active"], "the resumed run opened a second parent"
    parent = parents[0]
    children = sorted((r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id), key=lambda r: r.info.run_name)
    assert [r.info.run_name for r in children] == ["phase_01", "phase_02"], "a phase run was duplicated on resume"
    assert len(runs) == 3
    assert {r.info.status for r in runs} == {"FINISHED"}  # the killed phase run was reopened and closed

    state = load_state(run_dir)
    assert state.parent_run_id == parent.info.run_id
    for child, labeled in zip(children, (INITIAL, INITIAL + QUERY), strict=True):
        m = child.data.metrics
        assert m["labeled_count"] == labeled
        assert m["labeled_fraction"] == pytest.approx(labeled / state.pool_size)
        for name in ("val_iou", "val_dice", "test_iou", "test_dice"):
            assert 0.0 <= m[name] <= 1.0, name
        assert m["train_seconds_det"] > 0
        assert "det_train_loss" in m  # the per-epoch training curve went to the phase run
    first = children[0].data.metrics
    assert first["scoring_seconds_per_image"] > 0 and first["train_seconds_mc"] > 0
    queried_csv = Path(client.download_artifacts(children[0].info.run_id, "queries.csv", str(tmp_path / "dl")))
    with queried_csv.open() as f:
        assert [r["id"] for r in csv.DictReader(f)] == state.phases[1].queried

    assert parent.data.tags["stop_reason"] == "max_phases"
    assert parent.data.params["active.acquisition"] == "mfe"
    assert parent.data.metrics["final_labeled"] == INITIAL + QUERY
    assert parent.data.metrics["final_test_iou"] == pytest.approx(children[1].data.metrics["test_iou"])
    logged = {a.path for a in client.list_artifacts(parent.info.run_id, "active")}
    assert {"active/learning_curve.png", "active/phases.csv", "active/phases.md", "active/model.pt"} <= logged
    table = Path(client.download_artifacts(parent.info.run_id, "active/phases.csv", str(tmp_path / "dl")))
    with table.open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["phase"]) for r in rows] == [1, 2]
    assert [int(r["labeled"]) for r in rows] == [INITIAL, INITIAL + QUERY]
    with Image.open(run_dir / "active" / "learning_curve.png") as img:
        assert img.size[0] > 200 and img.size[1] > 100


# ----- scoring path ---------------------------------------------------------------------------


def test_scoring_samples_only_the_head_of_the_mc_twin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``dropout: head``: the twin's encoder and decoder run once per batch (only the head is
    sampled, T different outputs), and the deterministic model (the one reported) has no dropout."""
    import torch

    from automl_al.active import learner as learner_module
    from automl_al.active import uncertainty as uncertainty_module
    from automl_al.active.run import run_active
    from automl_al.models import mc_probs
    from automl_al.models.mc import active_dropouts, sampling_path

    calls: list[dict[str, Any]] = []

    def counting_mc_probs(model: torch.nn.Module, x: torch.Tensor, T: int, **kwargs: Any) -> torch.Tensor:
        counts = {"encoder": 0, "decoder": 0}
        parts = {"encoder": model.encoder, "decoder": model.decoder}
        hooks = [m.register_forward_hook(lambda *_, k=k: counts.__setitem__(k, counts[k] + 1)) for k, m in parts.items()]
        try:
            probs = mc_probs(model, x, T, **kwargs)
        finally:
            for h in hooks:
                h.remove()
        head_dropouts = [d for d in active_dropouts(model) if any(d is m for m in model.segmentation_head.modules())]
        calls.append({"path": sampling_path(model), "T": T, "batch": len(x), "shape": tuple(probs.shape), **counts,
                      "all_in_head": head_dropouts == active_dropouts(model) != [],
                      "samples_differ": not torch.equal(probs[0], probs[1])})
        return probs

    monkeypatch.setattr(uncertainty_module, "mc_probs", counting_mc_probs)  # what the mc_dropout source samples with
    result = run_active(load_config(write_config(tmp_path)), progress=False)

    assert result.status == "finished" and calls
    assert {c["path"] for c in calls} == {"head"} and all(c["all_in_head"] for c in calls)
    assert all(c["T"] == 3 and c["shape"][:2] == (3, c["batch"]) for c in calls)
    assert all(c["encoder"] == 1 and c["decoder"] == 1 and c["samples_differ"] for c in calls)
    assert sum(c["batch"] for c in calls) == result.state.pool_size - INITIAL  # the whole unlabeled pool

    from automl_al.data import prepare_data

    cfg = load_config(tmp_path / "config.yaml")
    learner = learner_module.ModelLearner(cfg, prepare_data(cfg, progress=False), LabelStore(tmp_path / "unused"))
    det = learner.build("det", tmp_path / "run" / "state" / "phase_01" / "det.pt")  # the reported model
    assert active_dropouts(det) == []

    # Dropout masks are seeded per phase seed and batch: rescoring gives the same scores to the
    # last digit (a resumed phase queries the same images), another seed other scores.
    phase_dir = tmp_path / "run" / "state" / "phase_01"
    pool = list(prepare_data(cfg, progress=False).splits["pool"])[:12]
    scored = [learner.score(pool, phase=1, det_checkpoint=phase_dir / "det.pt", mc_checkpoint=phase_dir / "mc.pt", seed=s)
              for s in (5, 5, 6)]
    np.testing.assert_array_equal(scored[0].scores, scored[1].scores)
    assert not np.array_equal(scored[0].scores, scored[2].scores)


def test_a_classifier_learns_with_the_training_augmentation(tmp_path: Path) -> None:
    """Classification on the demo's derived label, augmented as configured: the label store's
    0-d class labels must reach the loss as scalars (a [1] target once crashed phase 1)."""
    from automl_al.active.run import run_active

    cfg = load_config(write_config(tmp_path, acquisition="mi"),
                      ["task=classification", "data.augment=light", "model.encoder=resnet18"])
    result = run_active(cfg, progress=False)

    assert result.status == "finished"
    assert sorted(labeled_phases(tmp_path / "run").values()) == [0] * INITIAL + [1] * QUERY
