"""Probabilities and an uncertainty map for a batch: MC dropout when the model has dropout layers,
else the entropy of one softmax pass (a model without dropout gives the same output every pass)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from automl_al.active.acquisition.functional import predictive_entropy


def has_dropout(model: nn.Module) -> bool:
    """True when an explicit dropout layer with p > 0 exists (what MC sampling can switch on)."""
    return any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules())


def uncertainty_method(model: nn.Module, mc_samples: int) -> str:
    return f"MC dropout predictive entropy (T={mc_samples})" if has_dropout(model) else "softmax entropy"


def probs_and_uncertainty(model: nn.Module, x: Tensor, *, mc_samples: int) -> tuple[Tensor, Tensor]:
    """``x`` [N, C_in, *S] -> (mean probabilities [N, C, *S], predictive entropy in nats [N, *S])."""
    from automl_al.models import mc_probs

    model.eval()
    with torch.inference_mode():
        if has_dropout(model):
            probs = mc_probs(model, x, mc_samples)  # [T, N, C, *S]
        else:
            probs = torch.softmax(model(x).float(), dim=1)[None]  # [1, N, C, *S]
        return probs.mean(dim=0), predictive_entropy(probs)
