"""Batch-diverse selection (S4): k-center greedy, coreset, k-means++ (= scikit-learn), BADGE, consistency."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import kmeans_plusplus

from automl_al.active.diversity import (
    badge_embedding,
    k_center_greedy,
    kmeans_pp,
    scaled_embedding,
)
from automl_al.active.initial import kmeans_pp_initial
from automl_al.active.selection import (
    select_badge,
    select_consistency_embedding,
    select_coreset,
    select_k_center,
    select_kmeans_pp,
)

# Hand-built 2-D set. From A: B 10, C 6, D 7.07, E 1.41 -> B. Nearest of {A, B}: C min(6, 11.66) = 6,
# D min(7.07, 7.07) = 7.07, E min(1.41, 9.06) = 1.41 -> D. Nearest of {A, B, D}: C min(6, 5.10) = 5.10,
# E 1.41 -> C. Then E.
HAND = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 6.0], [5.0, 5.0], [1.0, 1.0]])
HAND_IDS = ["A", "B", "C", "D", "E"]


def test_k_center_greedy_picks_the_farthest_points_in_the_hand_worked_order() -> None:
    assert k_center_greedy(HAND, 5, first=0) == [0, 1, 3, 2, 4]
    assert k_center_greedy(HAND, 2, first=0) == [0, 1]
    assert k_center_greedy(HAND, 9, first=0) == [0, 1, 3, 2, 4]  # k beyond the pool: all of it
    assert k_center_greedy(HAND, 0, first=0) == []


def test_k_center_greedy_from_labeled_centres() -> None:
    # A and B labeled: the pool C, D, E is measured against them first. C 6, D 7.07, E 1.41 -> D;
    # then C min(6, 5.10) = 5.10 -> C; then E.
    pool, labeled = HAND[2:], HAND[:2]
    assert k_center_greedy(pool, 3, centers=labeled) == [1, 0, 2]
    with pytest.raises(ValueError, match="exactly one start"):
        k_center_greedy(pool, 3)
    with pytest.raises(ValueError, match="exactly one start"):
        k_center_greedy(pool, 3, first=0, centers=labeled)


def test_k_center_greedy_picks_distinct_points_even_when_all_coincide() -> None:
    same = torch.ones(6, 3)
    assert k_center_greedy(same, 4, first=2) == [2, 0, 1, 3]  # ties: lowest position, never a repeat


def test_coreset_ids_follow_the_hand_worked_order_and_the_seed_only_picks_the_start() -> None:
    labeled = HAND[:2].numpy()
    for seed in range(3):
        assert select_coreset(HAND_IDS[2:], HAND[2:].numpy(), 3, seed=seed, labeled_features=labeled) == ["D", "C", "E"]
    starts = {select_coreset(HAND_IDS, HAND.numpy(), 1, seed=seed)[0] for seed in range(20)}
    assert len(starts) > 1  # no labeled images: a seeded uniform start
    assert select_coreset(HAND_IDS, HAND.numpy(), 5, seed=4) == select_coreset(HAND_IDS, HAND.numpy(), 5, seed=4)


def test_coreset_refuses_mismatched_labeled_features() -> None:
    with pytest.raises(ValueError, match="3 columns but features 2"):
        select_coreset(HAND_IDS, HAND.numpy(), 2, seed=0, labeled_features=np.zeros((1, 3)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("seed", [0, 1, 7])
def test_kmeans_pp_gives_scikit_learns_picks_for_the_seed(seed: int, dtype: type) -> None:
    x = np.random.default_rng(seed).normal(size=(200, 8)).astype(dtype)
    x[:50] += 6.0  # a second blob
    _, expected = kmeans_plusplus(x, n_clusters=12, random_state=seed)
    assert kmeans_pp(torch.as_tensor(x), 12, seed=seed) == expected.tolist()
    ids = [f"i{n}" for n in range(200)]
    assert select_kmeans_pp(ids, x, 12, seed=seed) == [ids[n] for n in expected]


def test_kmeans_pp_returns_distinct_images_where_scikit_learn_repeats() -> None:
    x = np.zeros((10, 3))
    x[:5] = 1.0  # two distinct points, four picks: scikit-learn returns repeats ([5 3 0 0] for seed 0)
    picks = kmeans_pp(torch.as_tensor(x), 4, seed=0)
    _, raw = kmeans_plusplus(x, n_clusters=4, random_state=0)
    assert len(set(picks)) == 4 and picks[:2] == list(dict.fromkeys(raw.tolist()))[:2]
    assert kmeans_pp_initial(x, [f"c{i}" for i in range(10)], 4, seed=0) == [f"c{i}" for i in picks]


def test_badge_embedding_is_the_last_layer_gradient_at_the_predicted_label() -> None:
    torch.manual_seed(0)
    layer = torch.nn.Linear(5, 3, bias=False)
    features = torch.randn(4, 5)
    logits = layer(features)
    probs = logits.softmax(dim=1).detach()
    expected = []
    for i in range(4):  # autograd, one image at a time: d CE(logits_i, argmax) / d W
        layer.zero_grad()
        torch.nn.functional.cross_entropy(layer(features[i : i + 1]), probs[i : i + 1].argmax(1)).backward()
        expected.append(layer.weight.grad.flatten().clone())  # type: ignore[union-attr]
    torch.testing.assert_close(badge_embedding(probs, features), torch.stack(expected))
    # by hand: p = (0.7, 0.3), f = (1, 2): residual (-0.3, 0.3) -> (-0.3, -0.6, 0.3, 0.6)
    hand = badge_embedding(torch.tensor([[0.7, 0.3]]), torch.tensor([[1.0, 2.0]]))
    torch.testing.assert_close(hand, torch.tensor([[-0.3, -0.6, 0.3, 0.6]]))


def test_badge_selection_for_classification_and_segmentation() -> None:
    rng = np.random.default_rng(0)
    features = rng.normal(size=(30, 4))
    probs = rng.dirichlet(np.ones(3), size=30)
    ids = [f"i{n}" for n in range(30)]
    embedding = badge_embedding(torch.as_tensor(probs), torch.as_tensor(features)).numpy()
    assert select_badge(ids, features, 5, seed=3, probs=probs) == select_kmeans_pp(ids, embedding, 5, seed=3)
    scores = rng.uniform(size=30)
    scaled = scores[:, None] * features
    assert select_badge(ids, features, 5, seed=3, scores=scores) == select_kmeans_pp(ids, scaled, 5, seed=3)
    with pytest.raises(ValueError, match="exactly one of probs"):
        select_badge(ids, features, 5, seed=3)


def test_consistency_embedding_is_k_center_on_consistency_scaled_features() -> None:
    # Two near-copies with the largest variance and one far image: S4 takes one copy and the far one.
    ids = ["a", "b", "c"]
    consistency = np.array([0.08, 0.079, 0.02])
    features = np.array([[1.0, 0.0], [1.0, 0.01], [0.0, 1.0]])
    assert select_consistency_embedding(ids, consistency, features, 2, seed=0) == ["a", "c"]
    assert select_consistency_embedding(ids, consistency, features, 2, seed=0) == select_k_center(
        ids, consistency, features, 2, seed=0
    )


def test_scaled_embedding_refuses_negative_or_missing_scores() -> None:
    with pytest.raises(ValueError, match="finite and >= 0.*row 1: -1.0"):
        scaled_embedding(np.array([1.0, -1.0]), torch.ones(2, 2))
    with pytest.raises(ValueError, match="2 rows but scores of shape"):
        scaled_embedding(np.array([1.0]), torch.ones(2, 2))


def test_nan_features_are_an_error() -> None:
    features = np.ones((3, 2))
    features[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or inf"):
        select_kmeans_pp(["a", "b", "c"], features, 2, seed=0)
