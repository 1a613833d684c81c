"""S2's query step: E random candidates, class entropy in bits, the top L."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
import torch

from automl_al.active.entropy_query import entropy_query

# Two-class predictions by id; entropies in bits worked out by hand:
# [0.5, 0.5] -> 1; [0.9, 0.1] -> -(0.9 log2 0.9 + 0.1 log2 0.1) = 0.468996; [0.99, 0.01] -> 0.080793;
# [1, 0] -> 0
PROBS = {
    "a": [1.0, 0.0],
    "b": [0.9, 0.1],
    "c": [0.5, 0.5],
    "d": [0.99, 0.01],
    "e": [0.1, 0.9],
    "f": [0.0, 1.0],
}
H_09 = -(0.9 * math.log2(0.9) + 0.1 * math.log2(0.1))


class Model:
    """Records which ids it was asked about; returns ``[T=1, N, C]``."""

    def __init__(self, probs: dict[str, list[float]] = PROBS) -> None:
        self.probs = probs
        self.asked: list[list[str]] = []

    def __call__(self, ids: Sequence[str]) -> torch.Tensor:
        self.asked.append(list(ids))
        return torch.tensor([self.probs[i] for i in ids]).unsqueeze(0)


def test_whole_pool_top_l_by_entropy_in_bits() -> None:
    result = entropy_query(list(PROBS), Model(), candidates=None, take=3, seed=0)
    assert result.chosen[0] == "c" and set(result.chosen[1:]) == {"b", "e"}  # 1 bit, then two 0.469
    assert result.scores["c"] == pytest.approx(1.0)
    assert result.scores["b"] == pytest.approx(H_09) and result.scores["e"] == pytest.approx(H_09)
    assert result.scores["d"] == pytest.approx(0.080793, abs=1e-6) and result.scores["a"] == 0.0
    assert result.candidates == list(PROBS)


def test_only_e_random_candidates_are_scored_and_the_draw_is_seeded() -> None:
    pool = [f"id{i:03d}" for i in range(40)]
    probs = {i: [0.5 + 0.01 * n, 0.5 - 0.01 * n] for n, i in enumerate(pool)}
    model = Model(probs)
    result = entropy_query(pool, model, candidates=5, take=1, seed=7)
    assert model.asked == [result.candidates] and len(result.candidates) == 5
    assert result.candidates == [i for i in pool if i in result.candidates]  # pool order
    best = min(result.candidates, key=lambda i: int(i[2:]))  # closest to [0.5, 0.5]
    assert result.chosen == [best]
    again = entropy_query(pool, Model(probs), candidates=5, take=1, seed=7)
    other = entropy_query(pool, Model(probs), candidates=5, take=1, seed=8)
    assert again == result and other.candidates != result.candidates


def test_e_equal_to_l_is_random_sampling() -> None:
    result = entropy_query(list("abcdef"), Model(), candidates=2, take=2, seed=3)
    assert sorted(result.chosen) == sorted(result.candidates)


def test_segmentation_maps_are_reduced_to_one_score_per_image() -> None:
    probs = torch.zeros(1, 2, 2, 4, 4)  # [T, N, C, H, W]
    probs[0, 0, 0] = 1.0  # image x: certain everywhere
    probs[0, 1, 0] = 1.0
    probs[0, 1, :, :2] = 0.5  # image y: half its pixels at 1 bit -> mean 0.5 bit
    result = entropy_query(["x", "y"], lambda ids: probs, candidates=None, take=1, seed=0)
    assert result.chosen == ["y"] and result.scores == pytest.approx({"x": 0.0, "y": 0.5})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"candidates": None, "take": 0}, "take .* must be >= 1"), ({"candidates": 1, "take": 2}, r"E = 1\) must be >= take")],
)
def test_bad_sizes(kwargs: dict[str, int | None], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        entropy_query(list("abc"), Model(), seed=0, **kwargs)  # type: ignore[arg-type]


def test_predictions_without_the_sample_axis_are_refused() -> None:
    with pytest.raises(ValueError, match=r"expected \[T, N, C, \*S\]"):
        entropy_query(list("abc"), lambda ids: torch.full((len(ids), 2), 0.5), candidates=None, take=1, seed=0)


def test_empty_pool() -> None:
    assert entropy_query([], Model(), candidates=5, take=1, seed=0).chosen == []
