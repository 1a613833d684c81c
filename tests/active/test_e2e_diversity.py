"""Diversity end to end with real models, on a folder of two kinds of image in a 20 : 4 ratio:
``active.initial_strategy: kmeans++`` spreads the initial set over the encoder's embedding, and
``active.diversity: kcenter`` picks each batch from the phase model's features (S4)."""

from __future__ import annotations

import csv
import logging
from pathlib import Path

import numpy as np
import pytest

from automl_al.active.labels import LabelStore
from automl_al.active.learner import ModelLearner
from automl_al.active.loop import phase_seed
from automl_al.active.paths import RunPaths
from automl_al.active.run import run_active
from automl_al.active.selection import select_k_center, select_top_k
from automl_al.active.state import StateFile
from automl_al.config import Config
from automl_al.data import prepare_data

pytestmark = pytest.mark.slow

COMMON, RARE = 20, 4  # discs, and a few striped images: a random pair misses the stripes 69 % of the time


def _folder(root: Path) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    yy, xx = np.mgrid[:32, :32]
    mask = ((yy - 16) ** 2 + (xx - 16) ** 2 < 36).astype(np.uint8)
    for k in range(COMMON + RARE):
        if k < COMMON:
            image = rng.normal(60, 5, (32, 32)) + 120 * mask
        else:  # stripes one pixel wide all over: another kind of image, whatever the encoder's weights
            image = 40 + 180 * (xx % 2) + rng.normal(0, 5, (32, 32))
        name = f"{'rare' if k >= COMMON else 'common'}{k:02d}_s.png"  # one patient per image
        Image.fromarray(image.clip(0, 255).astype(np.uint8)).save(root / "images" / name)
        Image.fromarray(mask * 255).save(root / "masks" / name)
    return root


def _cfg(tmp_path: Path, seed: int, strategy: str, **active: object) -> Config:
    return Config.model_validate({
        "name": "kmeans-initial",
        "run_dir": str(tmp_path / f"run-{strategy}-{seed}"),
        "seed": seed,
        "data": {"source": "folder", "path": str(tmp_path / "data"), "image_size": [32, 32],
                 "group_pattern": r"^([a-z]+\d+)_", "test_fraction": 0.1, "val_fraction": 0.0, "augment": "none"},
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3},
        "train": {"epochs": 1, "batch_size": 4, "amp": False},
        "active": {"initial": 2, "query_size": 2, "max_phases": 1, "initial_strategy": strategy, **active},
        "tracking": {"enabled": False},
    })


def _initial_set(cfg: Config) -> list[str]:
    result = run_active(cfg, progress=False)
    assert result.stop_reason == "max_phases"
    state = StateFile(RunPaths(Path(cfg.run_dir)).state_file).load()
    return [i for i, entry in state.labeled.items() if entry.phase == 0]


def test_kmeans_initial_set_reaches_the_rare_kind_of_image(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    _folder(tmp_path / "data")
    with caplog.at_level(logging.WARNING):
        picked = {seed: _initial_set(_cfg(tmp_path, seed, "kmeans++")) for seed in range(4)}
    assert all(len(ids) == 2 for ids in picked.values())
    # one of each kind for every seed: k-means++ draws the second pick by squared distance to the first
    assert all(sum("rare" in i for i in ids) == 1 for ids in picked.values()), picked
    assert "randomly initialised encoder" in caplog.text  # encoder_weights is null here, and the log says so
    random_picks = [_initial_set(_cfg(tmp_path, seed, "random")) for seed in range(4)]
    assert sum(sum("rare" in i for i in ids) == 1 for ids in random_picks) < 4  # the test can tell the two apart


def test_kcenter_batches_come_from_the_phase_models_features(tmp_path: Path) -> None:
    _folder(tmp_path / "data")
    cfg = _cfg(tmp_path, 0, "random", diversity="kcenter", acquisition="mfe", mc_samples=2, query_size=4, max_phases=2)
    run_active(cfg, progress=False)
    state = StateFile(RunPaths(Path(cfg.run_dir)).state_file).load()
    phase_dir = Path(cfg.run_dir) / "state" / "phase_01"
    with (phase_dir / "scores.csv").open() as f:
        rows = list(csv.DictReader(f))
    ids, scores = [r["id"] for r in rows], np.array([float(r["score"]) for r in rows])
    features = np.load(phase_dir / "features.npy")
    assert features.shape == (len(ids), 128) and np.isfinite(features).all()  # resnet18 depth 3: 128 channels
    seed = phase_seed(cfg.seed, 1, "ties")
    assert state.phases[1].queried == select_k_center(ids, scores, features, 4, seed=seed)
    assert state.phases[1].queried != select_top_k(ids, scores, 4, seed=seed)  # so a top-K query would fail here
    # the features are the phase's deterministic model's, and they tell the two kinds of image apart
    learner = ModelLearner(cfg, prepare_data(cfg, progress=False), LabelStore(tmp_path / "unused"), progress=False)
    det = Path(cfg.run_dir) / str(state.phases[1].det_checkpoint)
    np.testing.assert_allclose(learner.encoder_features(ids, seed=0, checkpoint=det), features, rtol=1e-5, atol=1e-6)
    rare = np.array(["rare" in i for i in ids])
    spread = np.linalg.norm(features[rare].mean(0) - features[~rare].mean(0))
    assert spread > 3 * max(features[rare].std(0).mean(), features[~rare].std(0).mean())
