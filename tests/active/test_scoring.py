"""score_pool: streaming equals scoring the pool at once, batch-sized calls, index bookkeeping."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from automl_al.active.acquisition import create_acquisition, get_reduction
from automl_al.active.scoring import PoolScores, score_pool

T, POOL, BATCH = 3, 10, 3


class FakeMC:
    """Deterministic stand-in for the models layer's mc_probs: the T 'samples' are softmax([x, -x])
    at temperatures 1..T, so samples disagree but the output depends on the input alone."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, ...]] = []
        self.inference_mode: list[bool] = []

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(tuple(x.shape))
        self.inference_mode.append(torch.is_inference_mode_enabled())
        logits = torch.cat([x, -x], dim=1)  # [B, 2, H, W]
        scale = torch.arange(1, T + 1, dtype=x.dtype).view(T, *([1] * x.ndim))
        return (logits.unsqueeze(0) * scale).softmax(dim=2)  # [T, B, 2, H, W]


@pytest.fixture
def images() -> torch.Tensor:
    return torch.randn(POOL, 1, 8, 8, generator=torch.Generator().manual_seed(0))


def _loader(images: torch.Tensor, index: torch.Tensor | None = None, **kw) -> DataLoader:
    index = torch.arange(len(images)) if index is None else index
    return DataLoader(TensorDataset(images, index), batch_size=BATCH, **kw)


def _score(loader: DataLoader, probs_fn=None, name: str = "mfe", reduction: str = "mean") -> PoolScores:
    acq = create_acquisition(name, seed=0)
    return score_pool(probs_fn or FakeMC(), loader, acq, get_reduction(reduction), device="cpu")


@pytest.mark.parametrize("name", ["mfe", "mi", "std", "margin"])
@pytest.mark.parametrize("reduction", ["mean", "fg_weighted"])
def test_streaming_equals_scoring_the_whole_pool_at_once(images, name: str, reduction: str) -> None:
    acq, red = create_acquisition(name, seed=0), get_reduction(reduction)
    result = score_pool(FakeMC(), _loader(images), acq, red, device="cpu")
    whole = acq(FakeMC()(images), red).double().numpy()
    assert result.scores.dtype == np.float64
    np.testing.assert_allclose(result.scores, whole, rtol=1e-6)
    assert result.indices.tolist() == list(range(POOL))


def test_probs_fn_sees_only_batches_and_runs_in_inference_mode(images) -> None:
    fake = FakeMC()
    _score(_loader(images), fake, name="mi")
    # 10 images in batches of 3: four calls, never more than one batch, so at most [T, 3, ...] lives.
    assert fake.calls == [(3, 1, 8, 8), (3, 1, 8, 8), (3, 1, 8, 8), (1, 1, 8, 8)]
    assert all(fake.inference_mode)


def test_shuffled_loader_and_cache_indices_are_sorted_back(images) -> None:
    cache_index = torch.arange(POOL) * 7 + 100  # e.g. rows of the memory-mapped cache
    plain = _score(_loader(images, cache_index))
    shuffled = _score(_loader(images, cache_index, shuffle=True, generator=torch.Generator().manual_seed(1)))
    assert plain.indices.tolist() == cache_index.tolist()
    np.testing.assert_array_equal(shuffled.indices, plain.indices)
    np.testing.assert_allclose(shuffled.scores, plain.scores, rtol=1e-6)


def test_timing(images) -> None:
    result = _score(_loader(images), name="std", reduction="sum")
    assert result.seconds > 0
    assert result.seconds_per_image == pytest.approx(result.seconds / POOL)


def test_random_is_reproducible_through_score_pool(images) -> None:
    def run(seed: int) -> np.ndarray:
        acq = create_acquisition("random", seed=seed)
        return score_pool(FakeMC(), _loader(images), acq, get_reduction("mean"), device="cpu").scores

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_real_mc_dropout_model_for_classification() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 3), nn.Dropout(0.5)).train()  # dropout on: samples differ

    def mc_probs(x: torch.Tensor) -> torch.Tensor:
        return torch.stack([model(x).softmax(dim=1) for _ in range(4)])  # [T=4, B, 3]

    features = torch.randn(7, 6)
    loader = DataLoader(TensorDataset(features, torch.arange(7)), batch_size=2)
    result = _score(loader, mc_probs, name="mi")
    assert result.scores.shape == (7,)
    assert np.isfinite(result.scores).all() and (result.scores > 0).all()


def test_empty_pool() -> None:
    result = _score(_loader(torch.zeros(0, 1, 8, 8)))
    assert result.scores.shape == (0,) and result.seconds_per_image == 0.0


def test_drop_last_is_an_error(images) -> None:
    with pytest.raises(ValueError, match=r"yielded 9 of the 10 .*drop_last=False"):
        _score(_loader(images, drop_last=True))


def test_repeated_index_is_an_error(images) -> None:
    with pytest.raises(ValueError, match="same index twice"):
        _score(_loader(images, torch.zeros(POOL, dtype=torch.int64)))


def test_probs_without_sample_axis_is_an_error(images) -> None:
    def deterministic(x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, -x], dim=1).softmax(dim=1)  # [B, C, H, W]: forgot the T axis

    with pytest.raises(ValueError, match=r"\[T, B, C, \*S\] for a batch of B=3.*\(3, 2, 8, 8\)"):
        _score(_loader(images), deterministic)
