"""Training layer: fit / evaluate / predict, losses (smp.losses), metrics (smp.metrics), checkpoints."""

from automl_al.training.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from automl_al.training.evaluate import evaluate, predict_labels, predict_probs
from automl_al.training.loop import FitResult, NonFiniteLossError, fit
from automl_al.training.losses import LOSSES, build_loss
from automl_al.training.metrics import classification_metrics, monitored_metric
from automl_al.training.optim import OPTIMIZERS, SCHEDULERS, build_optimizer, build_scheduler

__all__ = [
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULERS",
    "CheckpointError",
    "FitResult",
    "NonFiniteLossError",
    "build_loss",
    "build_optimizer",
    "build_scheduler",
    "classification_metrics",
    "evaluate",
    "fit",
    "load_checkpoint",
    "monitored_metric",
    "predict_labels",
    "predict_probs",
    "save_checkpoint",
]
