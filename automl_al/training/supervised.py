"""One supervised model from a config: the building block of search, active learning and ``train``.

Example:
    >>> from automl_al.config import load_config
    >>> from automl_al.data import prepare_data
    >>> cfg = load_config(None, ["data.demo.size=32", "train.epochs=1"])  # doctest: +SKIP
    >>> result = train_supervised(cfg, prepare_data(cfg))                  # doctest: +SKIP
    >>> result.test_metrics["iou"]                                        # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torch import nn
from torch.utils.data import Dataset

from automl_al.config import Config, dump_config, with_class_names
from automl_al.data.records import DataError
from automl_al.models import build_model, check_pretrained
from automl_al.training.evaluate import evaluate
from automl_al.training.loop import FitResult, fit
from automl_al.utils import seed_everything, select_device

if TYPE_CHECKING:
    from automl_al.data import PreparedData
    from automl_al.tracking import Tracker

log = logging.getLogger(__name__)


@dataclass
class SupervisedResult:
    model: nn.Module
    fit: FitResult
    val_metrics: dict[str, float] = field(default_factory=dict)
    test_metrics: dict[str, float] = field(default_factory=dict)
    model_uri: str | None = None


def labeled_train_ids(prepared: PreparedData) -> list[str]:
    """The pool's labeled ids: what ``train`` and ``search`` learn from."""
    return prepared.labeled_among(prepared.splits["pool"])


def _prefixed(metrics: dict[str, float], prefix: str) -> dict[str, float]:
    return {f"{prefix}{k}": v for k, v in metrics.items()}


def train_supervised(
    cfg: Config,
    prepared: PreparedData,
    *,
    train_ids: list[str] | None = None,
    train_dataset: Dataset | None = None,
    tracker: Tracker | None = None,
    on_epoch: Callable[[int, dict[str, float]], None] | None = None,
    checkpoint_path: Path | None = None,
    init_state: dict[str, Any] | None = None,
    progress: bool = True,
    log_model: bool = False,
    score_test: bool = True,
) -> SupervisedResult:
    """Build ``cfg.model``, fit it on the labeled pool (or ``train_ids`` / ``train_dataset``),
    then score it on the test split.

    The validation scores are the best epoch's, which ``fit`` measured on the weights it keeps
    (the metrics sum counts over the whole split, so evaluating again would give the same numbers).
    ``train_dataset`` lets the active-learning loop train on labels the oracle supplied;
    ``init_state`` warm-starts from an earlier model's weights; ``score_test=False`` skips the test
    split where nothing reads it (search trials, the MC-dropout twin).
    """
    seed_everything(cfg.seed)
    if train_dataset is None:
        ids = labeled_train_ids(prepared) if train_ids is None else list(train_ids)
        if not ids:
            raise DataError(
                f"no labeled training images for source '{cfg.data.source}' (pool has "
                f"{len(prepared.splits['pool'])} images, none labeled); add masks/labels or lower "
                "data.test_fraction / data.val_fraction"
            )
        train_dataset = prepared.dataset(ids, augment=cfg.data.augment != "none")
    val_ids = prepared.splits["val"]
    test_ids = prepared.splits["test"]
    val_ds = prepared.dataset(val_ids) if val_ids else None
    model = build_model(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes)
    if init_state is not None:
        model.load_state_dict(init_state)
    fitted = fit(
        model,
        train_dataset,
        val_ds,
        cfg.train,
        task=cfg.task,
        classes=cfg.data.classes,
        seed=cfg.seed,
        tracker=tracker,
        on_epoch=on_epoch,
        checkpoint_path=checkpoint_path,
        progress=progress,
    )
    device = select_device(cfg.train.device)
    val_metrics = {k.removeprefix("val_"): v for k, v in fitted.best_metrics.items() if k.startswith("val_")}
    val_metrics.pop("loss", None)
    result = SupervisedResult(model=model, fit=fitted, val_metrics=val_metrics)
    if score_test and test_ids:
        result.test_metrics = evaluate(
            model, prepared.dataset(test_ids), task=cfg.task, classes=cfg.data.classes,
            batch_size=max(cfg.train.batch_size, 16), device=device,
        )
    if tracker is not None:
        tracker.log_metrics(
            {**_prefixed(result.val_metrics, "final_val_"), **_prefixed(result.test_metrics, "test_")}
        )
        if log_model:
            example = prepared.dataset(test_ids or val_ids or list(prepared.ids[:1]))[0][0][None].numpy()
            result.model_uri = tracker.log_model(model.to(device), example)
    return result


def train_from_config(cfg: Config, tracker: Tracker, *, progress: bool = True) -> SupervisedResult:
    """The ``automl-al train`` verb: one model on the labeled data, logged as one MLflow run."""
    from automl_al.data import prepare_data, summarize
    from automl_al.utils import atomic_write_text

    check_pretrained(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes)
    out_dir = cfg.run_dir / "train"
    out_dir.mkdir(parents=True, exist_ok=True)
    prepared = prepare_data(cfg, progress=progress)
    cfg = with_class_names(cfg, prepared.class_names())  # so predict can name the classes
    atomic_write_text(out_dir / "config.yaml", dump_config(cfg))
    with tracker.start_run("train", tags={"stage": "train", "task": cfg.task}):
        tracker.log_params(cfg.model_dump(mode="json"))
        tracker.log_artifact(out_dir / "config.yaml")
        tracker.set_tags({f"data.{k}": v for k, v in summarize(prepared)["counts"].items()})
        result = train_supervised(
            cfg,
            prepared,
            tracker=tracker,
            checkpoint_path=out_dir / "model.pt",
            progress=progress,
            log_model=True,
        )
    log.info("test metrics: %s", {k: round(v, 4) for k, v in result.test_metrics.items()})
    return result
