"""Where an image's T probability samples come from (``active.uncertainty``).

Acquisition functions read ``probs [T, N, C, *S]`` and do not care how the T samples were made. A
source turns the phase's stochastic model into a function ``images -> probs`` for scoring. Only
``mc_dropout`` is registered so far: T passes of the MC-dropout twin with only dropout active.
A committee (several trained members) is the next source to come.
"""

from __future__ import annotations

import itertools
from typing import Protocol

from torch import Tensor, nn

from automl_al.active.scoring import ProbsFn
from automl_al.models import mc_probs, verify_mc_dropout
from automl_al.registries import UNCERTAINTIES


class UncertaintySource(Protocol):
    """``(model, example batch, T, seed) -> probs_fn``; ``example`` lets the source check the model first."""

    def __call__(self, model: nn.Module, example: Tensor, samples: int, seed: int) -> ProbsFn: ...


@UNCERTAINTIES.register("mc_dropout")
def mc_dropout(model: nn.Module, example: Tensor, samples: int, seed: int) -> ProbsFn:
    """T MC-dropout passes; the twin is checked on ``example`` first (dropout must change its output).
    Batch k's dropout masks come from seed ``(seed, k)``, so a rescored pool gets the same scores."""
    verify_mc_dropout(model, example)
    batch_seeds = itertools.count(seed * 1_000_003)
    return lambda x: mc_probs(model, x, samples, generator_seed=next(batch_seeds))
