"""The final model: the search's architecture trained on every label active learning collected,
scored on the test split, logged and registered in MLflow, with example predictions for the report.

Files in ``<run_dir>/final/``: ``model.pt`` (weights, ``weights_only`` loadable), ``config.yaml``
(what ``automl-al predict RUN_DIR`` rebuilds the model from), ``metrics.json``, ``samples.npz``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import nn

from automl_al.active.architecture import resolve_architecture
from automl_al.active.labels import LabelStore, OverlayDataset
from automl_al.active.paths import RunPaths
from automl_al.config import Config, save_config, with_class_names
from automl_al.data.transforms import pair_augment
from automl_al.predict.uncertainty import probs_and_uncertainty, uncertainty_method
from automl_al.tracking import Tracker
from automl_al.utils import atomic_write_json, select_device

if TYPE_CHECKING:
    from automl_al.data import PreparedData

CHAMPION_ALIAS = "champion"
SAMPLES_PER_KIND = 2  # most and least uncertain test images shown in the report


@dataclass(frozen=True)
class FinalPaths:
    run_dir: Path

    @property
    def root(self) -> Path:
        return Path(self.run_dir) / "final"

    @property
    def checkpoint(self) -> Path:
        return self.root / "model.pt"

    @property
    def config(self) -> Path:
        return self.root / "config.yaml"

    @property
    def metrics(self) -> Path:
        return self.root / "metrics.json"

    @property
    def samples(self) -> Path:
        return self.root / "samples.npz"


def per_class_metrics(
    cfg: Config, names: list[str], test_metrics: dict[str, float], model: nn.Module, test_ds: Any
) -> dict[str, dict[str, float]]:
    """Segmentation: the ``iou_<k>`` / ``dice_<k>`` the evaluator computed; classification:
    precision / recall / F1 per class from the test predictions (scikit-learn)."""
    if cfg.task == "segmentation":
        return {
            name: {m: test_metrics[f"{m}_{k}"] for m in ("iou", "dice") if f"{m}_{k}" in test_metrics}
            for k, name in enumerate(names)
        }
    from sklearn.metrics import precision_recall_fscore_support

    from automl_al.training.evaluate import predict_labels

    pred = predict_labels(model, test_ds)
    target = np.array([int(test_ds[i][1]) for i in range(len(test_ds))])
    p, r, f, _ = precision_recall_fscore_support(target, pred, labels=list(range(len(names))), zero_division=0)
    return {name: {"precision": float(p[k]), "recall": float(r[k]), "f1": float(f[k])} for k, name in enumerate(names)}


def sample_predictions(cfg: Config, model: nn.Module, prepared: PreparedData, ids: list[str]) -> dict[str, np.ndarray]:
    """Predictions and uncertainty for ``ids``; keeps the most and least uncertain images."""
    device = select_device(cfg.train.device)
    model.to(device)
    dataset = prepared.dataset(ids, augment=False, with_target=False)
    images, probs, maps = [], [], []
    batch = max(cfg.train.batch_size, 16)
    for start in range(0, len(ids), batch):
        x = torch.stack([dataset[i][0] for i in range(start, min(start + batch, len(ids)))]).to(device)
        p, u = probs_and_uncertainty(model, x, mc_samples=cfg.active.mc_samples)
        images.append(x[:, 0].cpu().numpy())
        probs.append(p.cpu().numpy())
        maps.append(u.cpu().numpy())
    image, prob, umap = np.concatenate(images), np.concatenate(probs), np.concatenate(maps)
    scores = umap.reshape(len(ids), -1).mean(axis=1)
    order = np.argsort(-scores, kind="stable")
    k = min(SAMPLES_PER_KIND, len(ids) // 2) or 1
    picked = list(order[:k]) + [i for i in order[::-1][:k] if i not in order[:k]]
    kinds = ["most"] * k + ["least"] * (len(picked) - k)
    out = {
        "ids": np.array([ids[i] for i in picked]),
        "images": image[picked],
        "predictions": prob[picked].argmax(axis=1),
        "scores": scores[picked],
        "kinds": np.array(kinds),
        "method": np.array(uncertainty_method(model, cfg.active.mc_samples)),
    }
    if cfg.task == "segmentation":
        out["uncertainty"] = umap[picked]
    return out


def train_final(
    cfg: Config, prepared: PreparedData, labeled_ids: list[str], *, tracker: Tracker, progress: bool = True
) -> dict[str, Any]:
    """Train, score, save, log and register the final model; returns what ``metrics.json`` holds."""
    from automl_al.training.supervised import train_supervised

    cfg, _ = resolve_architecture(cfg)
    names = prepared.class_names()
    cfg = with_class_names(cfg, names)  # so predict and the report name the classes
    paths = FinalPaths(Path(cfg.run_dir))
    save_config(cfg, paths.config)
    store = LabelStore(RunPaths(Path(cfg.run_dir)).labels)
    train_ds = OverlayDataset(
        prepared.dataset(labeled_ids, augment=False, with_target=False), labeled_ids, store,
        transform=pair_augment(cfg.data, cfg.seed),
    )
    with tracker.start_run("final", tags={"stage": "final", "task": cfg.task}):
        tracker.log_params({"labeled": len(labeled_ids), "model": cfg.model.model_dump(mode="json"), "train": cfg.train.model_dump(mode="json")})
        tracker.log_artifact(paths.config)
        result = train_supervised(
            cfg, prepared, train_dataset=train_ds, tracker=tracker, checkpoint_path=paths.checkpoint,
            progress=progress, log_model=True,
        )
        test_ids = list(prepared.splits["test"])
        per_class = per_class_metrics(cfg, names, result.test_metrics, result.model, prepared.dataset(test_ids)) if test_ids else {}
        summary: dict[str, Any] = {
            "labeled": len(labeled_ids),
            "test": result.test_metrics,
            "val": result.val_metrics,
            "per_class": per_class,
            "model_uri": result.model_uri,
            "architecture": {"arch": cfg.model.arch, "encoder": cfg.model.encoder, "lr": cfg.train.lr},
        }
        tracker.log_metrics({f"test_{c}_{m}": v for c, ms in per_class.items() for m, v in ms.items()})
        if result.model_uri:
            version = tracker.register_model(result.model_uri, cfg.name, CHAMPION_ALIAS)
            if version:
                summary["registered_model"] = f"models:/{cfg.name}@{CHAMPION_ALIAS}"
                summary["registered_version"] = version
        sample_ids = test_ids or list(prepared.splits["val"]) or labeled_ids
        np.savez_compressed(paths.samples, **sample_predictions(cfg, result.model, prepared, sample_ids))
        tracker.log_artifact(paths.samples, artifact_path="final")
        atomic_write_json(paths.metrics, summary)
        tracker.log_artifact(paths.metrics, artifact_path="final")
    return summary
