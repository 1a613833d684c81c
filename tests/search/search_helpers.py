"""Search test helpers (a module of its own: every test folder has a conftest, so ``from conftest
import`` would pick whichever folder's was imported first): a tiny space file and a trainer whose
learning curves are known in advance, so the expected best trial can be computed by hand."""

from __future__ import annotations

from collections.abc import Callable

from automl_al.config import Config
from automl_al.search.objective import TrialOutcome

TINY_SPACE = """\
task: segmentation
architecture:
  arch: [Unet, FPN]
  encoder: [resnet18, mobilenet_v2]
  encoder_depth: [3]
  image_size: [32]
valid_architectures: 4
params:
  train.lr: [1.0e-3, 1.0e-4]
  train.batch_size: [8]
"""

# Final validation score of each point = QUALITY[arch, encoder] * LR_FACTOR[lr]; the curve rises as
# 1 - 0.5**epoch, so after 3 epochs a point reaches 0.875 of it.
QUALITY = {("Unet", "resnet18"): 0.8, ("Unet", "mobilenet_v2"): 0.6, ("FPN", "resnet18"): 0.7, ("FPN", "mobilenet_v2"): 0.5}
LR_FACTOR = {1e-3: 1.0, 1e-4: 0.5}


def curve_value(arch: str, encoder: str, lr: float, epoch: int) -> float:
    return QUALITY[(arch, encoder)] * LR_FACTOR[lr] * (1 - 0.5**epoch)


class CurveTrainer:
    """Replays the known curves; ``fail(cfg)`` may return an exception to raise instead."""

    def __init__(self, fail: Callable[[Config], BaseException | None] | None = None) -> None:
        self.fail = fail
        self.calls: list[Config] = []

    def __call__(self, cfg: Config, on_epoch, monitor: str) -> TrialOutcome:
        self.calls.append(cfg)
        error = self.fail(cfg) if self.fail else None
        if error is not None:
            raise error
        value = 0.0
        for epoch in range(1, cfg.train.epochs + 1):
            value = curve_value(cfg.model.arch, cfg.model.encoder, cfg.train.lr, epoch)
            on_epoch(epoch, {monitor: value, "train_loss": 1.0 - value})
        return TrialOutcome(value, {monitor: value})
