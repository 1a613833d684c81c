"""The compare study's arms and arguments: what an arm name sets, and the checks that refuse a bad
study before anything is opened or trained."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from automl_al.active.acquisition import available_acquisitions
from automl_al.config import ActiveConfig, Config, ConfigError, Task
from automl_al.training.metrics import SUMMARY_METRICS

ARM_OPTIONS = {"kcenter": {"diversity": "kcenter"}}  # "mi+kcenter": mi with k-center batches


def arm_settings(arm: str) -> dict[str, str]:
    """The ``active`` keys an arm sets: ``mi`` -> acquisition mi (the config's diversity);
    ``mi+kcenter`` -> acquisition mi, diversity kcenter. Raises ValueError for an unknown option."""
    acquisition, *options = arm.split("+")
    settings = {"acquisition": acquisition}
    for option in options:
        if option not in ARM_OPTIONS:
            raise ValueError(f"unknown option {option!r} in arm {arm!r}; options: {', '.join(ARM_OPTIONS)}")
        settings.update(ARM_OPTIONS[option])
    return settings


def check_compare_args(cfg: Config, acquisitions: Sequence[str], seeds: int, metric: str | None) -> str:
    """Refuse a bad study before anything is opened or trained (the CLI calls it before the tracker);
    returns the metric to compare, ``metric`` or :func:`default_metric` of the task."""
    try:
        settings = {arm: arm_settings(arm) for arm in acquisitions}
    except ValueError as e:
        raise ConfigError(f"--acquisition: {e}") from e
    unknown = [a for a, s in settings.items() if s["acquisition"] not in available_acquisitions()]
    if unknown:
        raise ConfigError(
            f"unknown acquisition(s) {unknown} for --acquisition; valid names: {', '.join(available_acquisitions())}, "
            f"each optionally with {', '.join('+' + o for o in ARM_OPTIONS)}"
        )
    for arm, arm_active in settings.items():
        try:
            ActiveConfig.model_validate({**cfg.active.model_dump(), **arm_active})
        except ValidationError as e:
            raise ConfigError(f"--acquisition arm {arm!r}: {e.errors()[0]['msg']}") from e
    if not acquisitions or len(set(acquisitions)) != len(acquisitions):
        raise ConfigError(f"--acquisition needs distinct names, got {list(acquisitions)}")
    if seeds < 1:
        raise ConfigError(f"--seeds must be >= 1, got {seeds}")
    if cfg.active.oracle != "simulated":
        raise ConfigError("compare needs active.oracle: simulated (every arm must be labeled automatically)")
    metric = metric or default_metric(cfg.task)
    valid = [f"{split}_{name}" for split in ("test", "val") for name in SUMMARY_METRICS[cfg.task]]
    if metric not in valid:  # per-class ones (test_iou_1) are not in the phase tables either
        raise ConfigError(f"--metric {metric} is not a score of a {cfg.task} phase; valid: {', '.join(valid)}")
    return metric


def default_metric(task: Task) -> str:
    """What ``compare`` reads when not told: test IoU, or test balanced accuracy for classification."""
    return f"test_{SUMMARY_METRICS[task][0]}"


def arm_config(cfg: Config, root: Path, arm: str, seed_index: int) -> Config:
    """The config of one arm x seed: its own run directory under ``root`` and seed ``cfg.seed +
    seed_index``, so every arm of a seed draws the same initial labeled set."""
    return cfg.model_copy(
        update={
            "name": f"{cfg.name}-{arm}-seed{seed_index}",
            "run_dir": root / arm / f"seed_{seed_index}",
            "seed": cfg.seed + seed_index,
            "active": cfg.active.model_copy(update=arm_settings(arm)),
        }
    )
