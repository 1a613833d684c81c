"""Power sampling (``power_*``): the top K of its keys are a draw weighted by the wrapped score."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pytest
import torch
from torch import Tensor

from automl_al.active.acquisition import create_acquisition, get_reduction
from automl_al.active.acquisition.heuristics import Acquisition, power_sampling
from automl_al.active.acquisition.reductions import Reduction
from automl_al.active.selection import select_top_k


class _Fixed(Acquisition):
    """Scores given by the test, whatever the probabilities."""

    name = "test_fixed"
    needs_mc = False
    values: ClassVar[list[float]] = []

    def score(self, probs: Tensor, reduction: Reduction) -> Tensor:
        return torch.tensor(self.values, dtype=probs.dtype)


def _draws(values: list[float], k: int, seeds: int) -> np.ndarray:
    """How often each image is among the K selected over ``seeds`` seeds, as the loop selects."""
    _Fixed.values = values
    power = power_sampling(_Fixed)
    probs = torch.full((1, len(values), 2), 0.5)
    ids = [str(i) for i in range(len(values))]
    counts = np.zeros(len(values))
    for seed in range(seeds):
        keys = power(seed)(probs).numpy()
        for chosen in select_top_k(ids, keys, k, seed=seed):
            counts[int(chosen)] += 1
    return counts / seeds


def test_key_is_log_score_plus_gumbel_noise_from_the_seed() -> None:
    probs = torch.randn(3, 4, 3, 8, 8, generator=torch.Generator().manual_seed(0)).softmax(dim=2)
    keys = create_acquisition("power_mi", seed=5)(probs, get_reduction("mean"))
    mi = create_acquisition("mi", seed=0)(probs, get_reduction("mean"))
    u = torch.rand(4, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(keys, mi.log() - (-u.log()).log())


def test_one_pick_follows_the_scores() -> None:
    # P(pick image 1) = 3 / (1 + 3) = 0.75
    assert _draws([1.0, 3.0], k=1, seeds=2000)[1] == pytest.approx(0.75, abs=0.03)


def test_a_batch_is_drawn_without_replacement() -> None:
    # Image 2 (score 2 of 4) is first with P 2/4, or second after image 0 or 1 (1/4 each, then 2/3):
    # 1/2 + 2 * (1/4) * (2/3) = 5/6.
    share = _draws([1.0, 1.0, 2.0], k=2, seeds=2000)
    assert share[2] == pytest.approx(5 / 6, abs=0.03)
    assert share.sum() == pytest.approx(2.0)


def test_power_variant_keeps_the_wrapped_heuristics_needs() -> None:
    assert create_acquisition("power_mi", seed=0).needs_mc
    assert not create_acquisition("power_margin", seed=0).needs_mc
    assert create_acquisition("power_mi", seed=0).name == "power_mi"


def test_zero_score_stays_finite_and_is_drawn_last() -> None:
    share = _draws([0.0, 1.0, 1.0], k=2, seeds=200)
    assert share[0] == 0.0
