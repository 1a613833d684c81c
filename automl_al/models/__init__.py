"""Model layer: one factory, compatibility rules known before building, dropout placement, MC sampling.

smp and timm are imported only when a model is built (importing smp takes seconds), so
``from automl_al.models import rules`` stays cheap for the search space loader.
"""

from automl_al.models import rules
from automl_al.models.dropout import DropoutPlacementError
from automl_al.models.factory import build_model, check_pretrained, model_summary
from automl_al.models.features import pooled_features
from automl_al.models.mc import MCDropoutError, mc_dropout_mode, mc_probs, verify_mc_dropout
from automl_al.models.rules import IncompatibleModelError
from automl_al.models.weights import WeightsLoadError, WeightsUnavailableError, check_weights_file

__all__ = [
    "DropoutPlacementError",
    "IncompatibleModelError",
    "MCDropoutError",
    "WeightsLoadError",
    "WeightsUnavailableError",
    "build_model",
    "check_pretrained",
    "check_weights_file",
    "mc_dropout_mode",
    "mc_probs",
    "model_summary",
    "pooled_features",
    "rules",
    "verify_mc_dropout",
]
