"""Committee and consistency acquisitions on ``[M, N, C, *S]``: S3's summed entropy, JSD, S4's variance."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.spatial.distance import jensenshannon
from torch.utils.data import DataLoader, Dataset

from automl_al.active.acquisition import functional as F
from automl_al.active.acquisition.committee import (
    CommitteeEntropy,
    ConsistencyVariance,
    JensenShannon,
    consistency_variance,
    jensen_shannon,
    summed_entropy,
)
from automl_al.active.acquisition.heuristics import MutualInformation
from automl_al.active.acquisition.reductions import reduce_mean, reduce_sum
from automl_al.active.scoring import score_pool


def _probs(members: int, n: int, classes: int, *spatial: int, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(members, n, classes, *spatial, generator=g, dtype=torch.float64).mul(2).softmax(dim=2)


def test_summed_entropy_by_hand_and_as_members_times_cfe() -> None:
    # member 1 certain (entropy 0), member 2 uniform over 2 classes (log 2): sum = log 2
    probs = torch.tensor([[[1.0, 0.0]], [[0.5, 0.5]]])  # [M=2, N=1, C=2]
    torch.testing.assert_close(summed_entropy(probs), torch.tensor([math.log(2.0)]))
    p = _probs(5, 3, 4, 6, 6)
    torch.testing.assert_close(summed_entropy(p), 5 * F.expected_entropy(p))


def test_committee_entropy_sums_over_pixels_with_reduce_sum_and_takes_one_member() -> None:
    p = _probs(3, 2, 2, 4, 4)
    expected = summed_entropy(p).flatten(1).sum(1)
    torch.testing.assert_close(CommitteeEntropy()(p, reduce_sum), expected)
    one = _probs(1, 2, 2, 4, 4)  # a single member is just its entropy
    torch.testing.assert_close(CommitteeEntropy()(one, reduce_mean), F.predictive_entropy(one).flatten(1).mean(1))


def test_jsd_of_two_members_is_scipys_jensen_shannon_divergence_and_equals_mi() -> None:
    p = _probs(2, 6, 3)  # classification: [M, N, C]
    ours = jensen_shannon(p).numpy()
    scipy = np.array([jensenshannon(p[0, i].numpy(), p[1, i].numpy()) ** 2 for i in range(6)])  # base e
    np.testing.assert_allclose(ours, scipy, rtol=1e-10, atol=1e-12)
    many = _probs(5, 4, 3, 5, 5)
    torch.testing.assert_close(JensenShannon()(many), MutualInformation()(many))


def test_consistency_variance_by_hand() -> None:
    # copies (0.2, 0.8) and (0.6, 0.4): population variance 0.04 per class, summed 0.08
    probs = torch.tensor([[[0.2, 0.8]], [[0.6, 0.4]]], dtype=torch.float64)
    torch.testing.assert_close(consistency_variance(probs), torch.tensor([0.08], dtype=torch.float64))
    agreeing = torch.tensor([[[0.3, 0.7]]] * 4)
    assert ConsistencyVariance()(agreeing).item() == 0.0
    with pytest.raises(ValueError, match="needs MC samples"):
        ConsistencyVariance()(agreeing[:1])


class _Images(Dataset):
    def __init__(self, n: int) -> None:
        self.x = torch.randn(n, 1, 8, 8, generator=torch.Generator().manual_seed(1))

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.x[i], i


def test_committee_samples_stream_through_score_pool_batch_by_batch() -> None:
    torch.manual_seed(0)
    members = [torch.nn.Conv2d(1, 3, 3, padding=1) for _ in range(4)]

    def probs_fn(x: torch.Tensor) -> torch.Tensor:  # [M, B, C, H, W], one batch at a time
        return torch.stack([m(x).softmax(dim=1) for m in members])

    data = _Images(10)
    result = score_pool(probs_fn, DataLoader(data, batch_size=3), CommitteeEntropy(), reduce_sum, device="cpu")
    with torch.no_grad():
        whole = CommitteeEntropy()(probs_fn(data.x), reduce_sum).double().numpy()
    np.testing.assert_allclose(result.scores, whole, rtol=1e-5)
    assert result.indices.tolist() == list(range(10))
