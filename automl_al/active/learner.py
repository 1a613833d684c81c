"""The real :class:`~automl_al.active.loop.Learner`: trains the phase's two models, scores the pool.

- ``det``: the deterministic model of ``cfg.model`` (the one evaluated, reported and shipped);
- ``mc``: its MC-dropout twin (``active.dropout`` at ``active.dropout_rate``), used only to score.

Both train on labels from the oracle's :class:`~automl_al.active.labels.LabelStore`, never on the
data cache's targets. Scoring reads the pool through an unlabeled dataset (``(image, index)``
items), so no pool label can reach it. Acquisitions that need no MC samples (``random``,
``fg_random``, ``margin``, ``entropy``) score with the deterministic model (T = 1) and no twin is
trained for them.
"""

from __future__ import annotations

import itertools
import logging
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor, nn

from automl_al.active.acquisition import create_acquisition, get_reduction
from automl_al.active.architecture import mc_twin
from automl_al.active.crash import crash_point
from automl_al.active.labels import LabelStore, OverlayDataset
from automl_al.active.loop import ModelKind, Scored, Trained
from automl_al.active.scoring import ProbsFn, score_pool
from automl_al.config import Config
from automl_al.data.transforms import pair_augment
from automl_al.models import build_model, mc_probs, pooled_features, verify_mc_dropout
from automl_al.tracking import PrefixedTracker, Tracker
from automl_al.training.checkpoint import load_checkpoint
from automl_al.training.loaders import eval_loader
from automl_al.training.supervised import train_supervised
from automl_al.utils import progress_bar, select_device

if TYPE_CHECKING:
    from automl_al.data import PreparedData

log = logging.getLogger(__name__)


class ModelLearner:
    """Trains with :func:`train_supervised`, scores with :func:`score_pool` and ``mc_probs``."""

    def __init__(self, cfg: Config, prepared: PreparedData, store: LabelStore, *, progress: bool = True) -> None:
        self.cfg = cfg
        self.mc_cfg = mc_twin(cfg)
        self.prepared = prepared
        self.store = store
        self.progress = progress
        self.device = select_device(cfg.train.device)
        self.needs_mc = create_acquisition(cfg.active.acquisition, seed=cfg.seed).needs_mc
        get_reduction(cfg.active.reduction)  # an unknown name fails now, not after a phase of training

    def _config(self, kind: ModelKind) -> Config:
        return self.cfg if kind == "det" else self.mc_cfg

    def build(self, kind: ModelKind, checkpoint: Path | None = None) -> nn.Module:
        """A fresh model of ``kind``, loaded from ``checkpoint`` when given."""
        cfg = self._config(kind)
        model = build_model(
            cfg.model, cfg.task, cfg.data.in_channels, cfg.data.classes, pretrained=checkpoint is None
        )
        if checkpoint is not None:
            load_checkpoint(checkpoint, model)
        return model

    def _train_dataset(self, ids: list[str]) -> OverlayDataset:
        images = self.prepared.dataset(ids, augment=False, with_target=False)
        return OverlayDataset(images, ids, self.store, transform=pair_augment(self.cfg.data, self.cfg.seed))

    def train(
        self,
        kind: ModelKind,
        train_ids: list[str],
        *,
        phase: int,
        checkpoint: Path,
        init_from: Path | None,
        tracker: Tracker,
    ) -> Trained:
        init_state = self.build(kind, init_from).state_dict() if init_from is not None else None
        result = train_supervised(
            self._config(kind),
            self.prepared,
            train_dataset=self._train_dataset(train_ids),
            tracker=PrefixedTracker(tracker, f"{kind}_"),  # type: ignore[arg-type]
            on_epoch=lambda epoch, metrics: crash_point(f"epoch:{kind}:{phase}:{epoch}"),
            checkpoint_path=checkpoint,
            init_state=init_state,
            progress=self.progress,
            score_test=kind == "det",  # the twin only scores the pool
        )
        metrics = {f"val_{k}": v for k, v in result.val_metrics.items()}
        metrics.update({f"test_{k}": v for k, v in result.test_metrics.items()})
        return Trained(metrics, result.fit.seconds)

    def _probs_fn(self, det_checkpoint: Path, mc_checkpoint: Path | None, example: Tensor, seed: int) -> ProbsFn:
        """MC probabilities ``[T, B, C, *S]`` from the twin, or ``[1, B, C, *S]`` from the
        deterministic model; the twin is checked on ``example`` first (dropout must change its output).
        Batch k's dropout masks come from seed ``(seed, k)``, so a rescored pool gets the same scores."""
        if not self.needs_mc:
            det = self.build("det", det_checkpoint).to(self.device).eval()
            return lambda x: torch.softmax(det(x).float(), dim=1)[None]
        if mc_checkpoint is None:
            raise ValueError(f"acquisition {self.cfg.active.acquisition!r} needs the MC-dropout model's checkpoint")
        mc = self.build("mc", mc_checkpoint).to(self.device).eval()
        verify_mc_dropout(mc, example.to(self.device))
        samples = self.cfg.active.mc_samples
        batch_seeds = itertools.count(seed * 1_000_003)
        return lambda x: mc_probs(mc, x, samples, generator_seed=next(batch_seeds))

    def score(
        self, ids: list[str], *, phase: int, det_checkpoint: Path, mc_checkpoint: Path | None, seed: int
    ) -> Scored:
        acquisition = create_acquisition(self.cfg.active.acquisition, seed=seed)
        reduction = get_reduction(self.cfg.active.reduction)
        dataset = self.prepared.dataset(ids, augment=False, with_target=False)
        loader = eval_loader(dataset, max(self.cfg.train.batch_size, 16), device=self.device)
        probs_fn = self._probs_fn(det_checkpoint, mc_checkpoint, dataset[0][0][None], seed)
        batches = iter(range(1, len(loader) + 1))

        def counted(x: Tensor) -> Tensor:
            probs = probs_fn(x)
            crash_point(f"scoring:{phase}:{next(batches)}")
            return probs

        result = score_pool(counted, loader, acquisition, reduction, device=self.device, progress=self.progress)
        scored_ids = [ids[i] for i in result.indices]
        if self.cfg.active.diversity == "none":
            return Scored(scored_ids, np.asarray(result.scores), result.seconds_per_image)
        start = time.perf_counter()  # the embedding pass counts as scoring time
        features = self.encoder_features(scored_ids, seed=seed, checkpoint=det_checkpoint)
        seconds = result.seconds + time.perf_counter() - start
        return Scored(scored_ids, np.asarray(result.scores), seconds / max(len(scored_ids), 1), features)

    def encoder_features(self, ids: list[str], *, seed: int, checkpoint: Path | None = None) -> np.ndarray:
        """``[N, D]`` embeddings of ``ids`` (:func:`pooled_features`) by the deterministic model:
        ``checkpoint``'s (the phase's, for ``active.diversity``), or before any training (the
        k-means++ initial set) the configured pretrained encoder. With ``model.encoder_weights:
        null`` that one is randomly initialised (seeded by ``seed``): its features follow intensity
        and texture but know nothing of anatomy, which the log says.
        """
        if checkpoint is None and self.cfg.model.encoder_weights is None:
            log.warning(
                "active.initial_strategy kmeans++: model.encoder_weights is null, so the images are embedded "
                "by a randomly initialised encoder; set model.encoder_weights (a name in the local cache or a "
                "weights file) for embeddings that know images"
            )
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = self.build("det", checkpoint).to(self.device).eval()
        dataset = self.prepared.dataset(ids, augment=False, with_target=False)
        loader = eval_loader(dataset, max(self.cfg.train.batch_size, 16), device=self.device)
        parts, order = [], []
        with torch.inference_mode():
            for images, index in progress_bar(loader, desc="embedding pool", unit="batch", disable=not self.progress):
                parts.append(pooled_features(model, images.to(self.device)).float().cpu())
                order.append(torch.as_tensor(index))
        return torch.cat(parts)[torch.argsort(torch.cat(order))].numpy()
