"""A dataset with labeled and unlabeled images (``images/`` + ``masks/`` + ``unlabeled/``, as real
exports are): the simulated oracle learns from the labeled part, and ``compare``'s full-data model
trains on the labeled pool; the folder oracle is the one that asks for the unlabeled images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from automl_al.active.paths import RunPaths
from automl_al.active.run import run_active
from automl_al.active.state import StateFile
from automl_al.config import Config, ConfigError
from automl_al.data import prepare_data
from automl_al.pipeline.compare import run_compare

pytestmark = pytest.mark.slow


def _disc(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[:32, :32]
    cy, cx = rng.integers(10, 22, size=2)
    mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < 36).astype(np.uint8)
    image = (rng.normal(60, 10, (32, 32)) + 120 * mask).clip(0, 255).astype(np.uint8)
    return image, mask


def _mixed_folder(root: Path, labeled: int, unlabeled: int) -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for sub in ("images", "masks", "unlabeled"):
        (root / sub).mkdir(parents=True)
    for k in range(labeled + unlabeled):
        image, mask = _disc(rng)
        name = f"p{k % 6}_{k:02d}.png"  # six patients: the split keeps each patient in one split
        if k < labeled:
            Image.fromarray(image).save(root / "images" / name)
            Image.fromarray(mask * 255).save(root / "masks" / name)
        else:
            Image.fromarray(image).save(root / "unlabeled" / name)
    return root


@pytest.fixture
def mixed_cfg(tmp_path: Path) -> Config:
    return Config.model_validate({
        "name": "mixed",
        "run_dir": str(tmp_path / "run"),
        "data": {"source": "folder", "path": str(_mixed_folder(tmp_path / "data", 24, 12)), "image_size": [32, 32],
                 "group_pattern": r"(p\d)_", "test_fraction": 0.2, "val_fraction": 0.0, "augment": "none"},
        "model": {"arch": "Unet", "encoder": "resnet18", "encoder_depth": 3},
        "train": {"epochs": 1, "batch_size": 4, "amp": False},
        "active": {"initial": 3, "query_size": 2, "max_phases": 2, "mc_samples": 2, "dropout": "head"},
        "tracking": {"enabled": False},
    })


def test_simulated_oracle_draws_only_from_labeled_pool_images(mixed_cfg: Config) -> None:
    prepared = prepare_data(mixed_cfg, progress=False)
    pool = prepared.splits["pool"]
    labeled = set(prepared.labeled_ids())
    assert any(i not in labeled for i in pool)  # the case at hand: unlabeled images in the pool

    result = run_active(mixed_cfg, progress=False, prepared=prepared)

    state = StateFile(RunPaths(Path(mixed_cfg.run_dir)).state_file).load()
    assert result.stop_reason == "max_phases" and len(state.labeled) == 3 + 2
    assert set(state.labeled) <= labeled
    labeled_pool = [i for i in pool if i in labeled]
    assert [r["labeled_fraction"] for r in result.rows] == pytest.approx([3 / len(labeled_pool), 5 / len(labeled_pool)])


def test_compare_full_data_model_trains_on_the_labeled_pool(mixed_cfg: Config, monkeypatch: pytest.MonkeyPatch) -> None:
    import automl_al.training.supervised as supervised

    trained_on: list[list[str]] = []
    real = supervised.train_supervised

    def spy(cfg, prepared, *args, train_ids=None, **kwargs):
        trained_on.append(list(train_ids) if train_ids is not None else supervised.labeled_train_ids(prepared))
        return real(cfg, prepared, *args, train_ids=train_ids, **kwargs)

    monkeypatch.setattr(supervised, "train_supervised", spy)
    prepared = prepare_data(mixed_cfg, progress=False)
    result = run_compare(mixed_cfg, ["random"], 1, progress=False, prepared=prepared)

    full = trained_on[0]  # the full-data model is trained first
    assert sorted(full) == sorted(i for i in prepared.splits["pool"] if i in set(prepared.labeled_ids()))
    assert result.reference >= 0 and len(result.runs["random"]) == 1


def test_folder_oracle_starts_from_every_mask_and_asks_only_for_unlabeled_images(mixed_cfg: Config) -> None:
    import csv

    cfg = mixed_cfg.model_copy(update={"active": mixed_cfg.active.model_copy(update={"oracle": "folder"})})
    prepared = prepare_data(cfg, progress=False)
    labeled = set(prepared.labeled_ids())
    labeled_pool = {i for i in prepared.splits["pool"] if i in labeled}
    assert len(labeled_pool) > cfg.active.initial  # more masks than active.initial

    result = run_active(cfg, progress=False, prepared=prepared)

    assert result.status == "waiting"
    state = StateFile(RunPaths(Path(cfg.run_dir)).state_file).load()
    assert set(state.labeled) == labeled_pool
    with (Path(cfg.run_dir) / "queries" / "phase_01" / "queries.csv").open(newline="") as f:
        asked = [row["id"] for row in csv.DictReader(f)]
    assert len(asked) == cfg.active.query_size and not set(asked) & labeled


def test_a_pool_without_labels_needs_the_folder_oracle(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cfg = Config.model_validate({
        "run_dir": str(tmp_path / "run"),
        "data": {"source": "folder", "path": str(_mixed_folder(tmp_path / "data", 0, 12)), "image_size": [32, 32]},
        "model": {"encoder_depth": 3},
        "active": {"initial": 3},
        "tracking": {"enabled": False},
    })
    with pytest.raises(ConfigError, match="active.oracle: simulated can label none of the 12 pool images.*folder"):
        run_active(cfg, progress=False)
    assert "no labeled validation or test images" in caplog.text  # nothing will score the phases

    folder = cfg.model_copy(update={"active": cfg.active.model_copy(update={"oracle": "folder"})})
    assert run_active(folder, progress=False).status == "waiting"  # a person labels the first 3
