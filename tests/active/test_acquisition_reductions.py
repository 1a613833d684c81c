"""Reductions hand-checked on a 2x2 map, plus the registry's error messages."""

from __future__ import annotations

import pytest
import torch

from automl_al.active.acquisition import get_reduction
from automl_al.active.acquisition.reductions import REDUCTIONS


@pytest.fixture
def maps() -> torch.Tensor:
    return torch.tensor([[[1.0, 2.0], [3.0, 4.0]]], dtype=torch.float64)  # [N=1, 2, 2]


def _mean_probs(background: list[list[float]]) -> torch.Tensor:
    """[N=1, C=2, 2, 2] from the background probability per pixel."""
    bg = torch.tensor([background], dtype=torch.float64)
    return torch.stack([bg, 1 - bg], dim=1)


def test_mean_and_sum(maps: torch.Tensor) -> None:
    probs = _mean_probs([[0.5, 0.5], [0.5, 0.5]])
    # (1 + 2 + 3 + 4) = 10; / 4 pixels = 2.5
    assert get_reduction("mean")(maps, probs).tolist() == [2.5]
    assert get_reduction("sum")(maps, probs).tolist() == [10.0]


def test_fg_weighted(maps: torch.Tensor) -> None:
    # weights w = 1 - p_bg = [[0.5, 0], [0.25, 1]], sum 1.75;
    # sum(w * u) = 0.5*1 + 0*2 + 0.25*3 + 1*4 = 5.25;  5.25 / 1.75 = 3.0
    probs = _mean_probs([[0.5, 1.0], [0.75, 0.0]])
    assert get_reduction("fg_weighted")(maps, probs).item() == pytest.approx(3.0)


def test_fg_weighted_without_foreground_is_zero_not_nan(maps: torch.Tensor) -> None:
    probs = _mean_probs([[1.0, 1.0], [1.0, 1.0]])
    assert get_reduction("fg_weighted")(maps, probs).tolist() == [0.0]


def test_each_image_is_reduced_on_its_own() -> None:
    maps = torch.tensor([[[1.0, 3.0]], [[10.0, 30.0]]])  # [N=2, 1, 2]
    probs = torch.full((2, 2, 1, 2), 0.5)
    assert get_reduction("mean")(maps, probs).tolist() == [2.0, 20.0]


@pytest.mark.parametrize("name", ["mean", "sum", "fg_weighted"])
def test_classification_maps_pass_through(name: str) -> None:
    maps = torch.tensor([0.1, 0.7, 0.3])  # already [N]
    probs = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.5, 0.5]])
    assert torch.equal(get_reduction(name)(maps, probs), maps)


def test_unknown_reduction_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"'max'.*active\.reduction.*fg_weighted, mean, sum"):
        get_reduction("max")


def test_duplicate_reduction_is_an_error() -> None:
    with pytest.raises(ValueError, match="'mean' is already registered"):
        REDUCTIONS.register("mean", lambda maps, probs: maps)
