"""select_top_k, select_k_center and subsample_pool: IDs in, IDs out, seeded ties, helpful errors."""

from __future__ import annotations

import numpy as np
import pytest

from automl_al.active.selection import select_k_center, select_top_k, subsample_pool

IDS = [f"img{i:02d}" for i in range(20)]


def test_highest_scores_first() -> None:
    ids = ["a", "b", "c", "d"]
    assert select_top_k(ids, np.array([0.1, 0.9, -np.inf, 0.5]), 2, seed=0) == ["b", "d"]
    assert select_top_k(ids, np.array([0.1, 0.9, -np.inf, 0.5]), 4, seed=0) == ["b", "d", "a", "c"]


def test_k_beyond_the_pool_returns_it_all_and_zero_returns_none() -> None:
    assert select_top_k(["a", "b"], np.array([1.0, 2.0]), 5, seed=0) == ["b", "a"]
    assert select_top_k(["a", "b"], np.array([1.0, 2.0]), 0, seed=0) == []


def test_ties_are_reproducible_by_seed_and_differ_across_seeds() -> None:
    flat = np.zeros(len(IDS))
    first = select_top_k(IDS, flat, 5, seed=0)
    assert select_top_k(IDS, flat, 5, seed=0) == first
    assert select_top_k(IDS, flat, 5, seed=1) != first
    assert len(set(first)) == 5 and set(first) <= set(IDS)


def test_ties_only_reorder_equal_scores() -> None:
    scores = np.array([1.0] * 10 + [2.0] * 10)  # the last ten ids are strictly better
    for seed in range(5):
        assert set(select_top_k(IDS, scores, 10, seed=seed)) == set(IDS[10:])


def test_nan_scores_are_an_error_naming_the_ids() -> None:
    scores = np.arange(len(IDS), dtype=float)
    scores[[3, 7]] = np.nan
    with pytest.raises(ValueError, match=r"2 NaN acquisition scores.*'img03', 'img07'"):
        select_top_k(IDS, scores, 3, seed=0)


def test_length_mismatch_negative_k_and_duplicate_ids_are_errors() -> None:
    with pytest.raises(ValueError, match="3 ids but scores of shape"):
        select_top_k(["a", "b", "c"], np.zeros(2), 1, seed=0)
    with pytest.raises(ValueError, match="query_size.*k=-1"):
        select_top_k(["a"], np.zeros(1), -1, seed=0)
    with pytest.raises(ValueError, match=r"repeat: \['a'\]"):
        select_top_k(["a", "b", "a"], np.zeros(3), 1, seed=0)


def test_subsample_is_a_seeded_subset_in_pool_order() -> None:
    sub = subsample_pool(IDS, 6, seed=0)
    assert len(sub) == 6 and len(set(sub)) == 6
    assert sub == [i for i in IDS if i in sub]  # pool order kept
    assert subsample_pool(IDS, 6, seed=0) == sub
    assert subsample_pool(IDS, 6, seed=1) != sub


def test_subsample_keeps_everything_when_e_covers_the_pool() -> None:
    assert subsample_pool(IDS, None, seed=0) == IDS
    assert subsample_pool(IDS, len(IDS), seed=0) == IDS
    assert subsample_pool(IDS, 500, seed=0) == IDS  # S2's E = 500 on a smaller pool


def test_subsample_rejects_e_below_one() -> None:
    with pytest.raises(ValueError, match=r"active\.subsample.*e=0"):
        subsample_pool(IDS, 0, seed=0)


# k-center on g = score * f. a and b are near-copies with the top scores; c and d lie elsewhere.
# g: a (3, 0), b (2.9, 0.29), c (0, 1), d (0.05, 0). From a: |b-a| = 0.307, |c-a| = 3.162,
# |d-a| = 2.950 -> c. Then the distance to {a, c}: b min(0.307, 2.985) = 0.307, d min(2.950, 1.001)
# = 1.001 -> d. Top-K would take a, b, c.
KC_IDS = ["a", "b", "c", "d"]
KC_SCORES = np.array([3.0, 2.9, 1.0, 0.5])
KC_FEATURES = np.array([[1.0, 0.0], [1.0, 0.1], [0.0, 1.0], [0.1, 0.0]])


def test_k_center_passes_over_near_copies_of_a_pick() -> None:
    assert select_top_k(KC_IDS, KC_SCORES, 3, seed=0) == ["a", "b", "c"]
    assert select_k_center(KC_IDS, KC_SCORES, KC_FEATURES, 2, seed=0) == ["a", "c"]
    assert select_k_center(KC_IDS, KC_SCORES, KC_FEATURES, 3, seed=0) == ["a", "c", "d"]
    assert select_k_center(KC_IDS, KC_SCORES, KC_FEATURES, 9, seed=0) == ["a", "c", "d", "b"]
    assert select_k_center(KC_IDS, KC_SCORES, KC_FEATURES, 0, seed=0) == []


def test_k_center_breaks_ties_by_seed_like_top_k() -> None:
    flat, same = np.ones(len(IDS)), np.ones((len(IDS), 3))  # every image alike: only the seed decides
    for seed in range(3):
        assert select_k_center(IDS, flat, same, 4, seed=seed) == select_top_k(IDS, flat, 4, seed=seed)


@pytest.mark.parametrize(
    ("scores", "features", "match"),
    [
        (np.array([1.0, -0.5, 1.0, 1.0]), KC_FEATURES, "finite and >= 0.*b: -0.5"),
        (np.array([1.0, np.nan, 1.0, 1.0]), KC_FEATURES, "NaN"),
        (KC_SCORES, KC_FEATURES[:3], r"one feature row per id: 4 ids but features of shape \(3, 2\)"),
    ],
    ids=["negative", "nan", "rows"],
)
def test_k_center_refuses_bad_scores_and_features(scores, features, match) -> None:
    with pytest.raises(ValueError, match=match):
        select_k_center(KC_IDS, scores, features, 2, seed=0)
