"""``run_active``: the Python API behind ``automl-al learn`` (start or resume one active-learning run).

Example:
    >>> from automl_al.config import load_config
    >>> cfg = load_config("study.yaml")                     # doctest: +SKIP
    >>> result = run_active(cfg)                            # doctest: +SKIP
    >>> result.status, result.stop_reason, result.rows[-1]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from automl_al.active.architecture import resolve_architecture
from automl_al.active.initial import kmeans_pp_initial, random_initial
from automl_al.active.labels import LabelStore
from automl_al.active.learner import ModelLearner
from automl_al.active.loop import ActiveLoop, ActiveResult, InitialSelector
from automl_al.active.oracles import Oracle, create_oracle
from automl_al.active.paths import RunPaths
from automl_al.active.summary import write_summary
from automl_al.config import Config, ConfigError, save_config
from automl_al.models import check_pretrained
from automl_al.tracking import NullTracker, Tracker

if TYPE_CHECKING:
    from automl_al.data import PreparedData

log = logging.getLogger(__name__)


def _check_splits(cfg: Config, prepared: PreparedData) -> None:
    split = prepared.splits[cfg.active.monitor]
    if cfg.active.iou_threshold is not None and not split:
        raise ConfigError(
            f"active.monitor is '{cfg.active.monitor}' but the {cfg.active.monitor} split is empty; "
            f"raise data.{cfg.active.monitor}_fraction or monitor the other split"
        )
    if not prepared.splits["pool"]:
        raise ConfigError("the pool is empty: nothing to learn from; lower data.test_fraction / data.val_fraction")
    if not prepared.splits["val"] and not prepared.splits["test"]:
        log.warning(
            "no labeled validation or test images (splits hold labeled images only): the phases train "
            "but get no scores, so there is no learning curve; give masks for a few patients' images"
        )


def _pool(cfg: Config, prepared: PreparedData, oracle: Oracle) -> list[str]:
    """The pool the loop draws from: the images the oracle can label."""
    pool = prepared.splits["pool"]
    usable = oracle.answerable(pool)
    if not usable:
        raise ConfigError(
            f"active.oracle: {cfg.active.oracle} can label none of the {len(pool)} pool images (none has a "
            "label in the data); use active.oracle: folder to have a person label them"
        )
    if len(usable) < len(pool):
        log.info(
            "active.oracle %s: %d of %d pool images are unlabeled and left out (it only reveals labels the "
            "data has; active.oracle: folder asks a person)", cfg.active.oracle, len(pool) - len(usable), len(pool),
        )
    return usable


def _initial_selector(cfg: Config, learner: ModelLearner) -> InitialSelector:
    if cfg.active.initial_strategy == "random":
        return random_initial

    def kmeans_pp(candidates: list[str], k: int, seed: int) -> list[str]:
        return kmeans_pp_initial(learner.encoder_features(candidates, seed=seed), candidates, k, seed)

    return kmeans_pp


def run_active(
    cfg: Config,
    *,
    tracker: Tracker | None = None,
    progress: bool = True,
    prepared: PreparedData | None = None,
) -> ActiveResult:
    """Start, or resume from ``<run_dir>/state/state.json``, the active-learning run of ``cfg``.

    The architecture comes from ``<run_dir>/best.yaml`` when present (see
    :mod:`automl_al.active.architecture`). ``prepared`` lets several runs share one decoded
    dataset (``compare``). Returns with ``status == "waiting"`` when the folder oracle needs a
    human; run again after labeling to continue.
    """
    from automl_al.data import prepare_data

    cfg, best = resolve_architecture(cfg)
    if best is not None:
        model = cfg.model.encoder if cfg.task == "classification" else f"{cfg.model.arch} + {cfg.model.encoder}"
        log.info("architecture from %s: %s", best, model)
    if prepared is None:  # the check saves a data preparation; with data given, the first build tells as fast
        check_pretrained(cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes)
        prepared = prepare_data(cfg, progress=progress)
    tracker = tracker or NullTracker()
    _check_splits(cfg, prepared)
    paths = RunPaths(Path(cfg.run_dir))
    save_config(cfg, paths.report / "config.yaml")
    learner = ModelLearner(cfg, prepared, LabelStore(paths.labels), progress=progress)

    def finish(result: ActiveResult, tracker: Tracker) -> None:
        title = f"{cfg.name}: learning curve"
        result.report_files = write_summary(result, tracker, label=cfg.active.acquisition, title=title)

    oracle = create_oracle(cfg.active.oracle, prepared, cfg)
    loop = ActiveLoop(
        cfg,
        _pool(cfg, prepared, oracle),
        learner,
        oracle,
        initial_selector=_initial_selector(cfg, learner),
        tracker=tracker,
        on_finish=finish,
    )
    return loop.run()
