"""Hypothesis properties of the uncertainty maps, on random probabilities with exact zeros."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from automl_al.active.acquisition import functional as F

ALL = [F.predictive_entropy, F.expected_entropy, F.mutual_information, F.std, F.margin, F.class_entropy_bits]
TOL = 1e-9
SETTINGS = settings(max_examples=60, deadline=None)


@st.composite
def probabilities(draw: st.DrawFn) -> torch.Tensor:
    """float64 ``[T, N, C, *S]`` summing to 1 over C; many entries exactly 0 (one-hot included)."""
    t, n, c = draw(st.integers(1, 4)), draw(st.integers(1, 3)), draw(st.integers(2, 4))
    spatial = draw(st.sampled_from([(), (1,), (2, 3)]))
    element = st.one_of(st.just(0.0), st.floats(0.0, 1.0))
    raw = draw(arrays(np.float64, (t, n, c, *spatial), elements=element))
    raw[:, :, 0][raw.sum(axis=2) == 0] = 1.0  # all-zero rows become one-hot on class 0
    return torch.from_numpy(raw / raw.sum(axis=2, keepdims=True))


@SETTINGS
@given(probabilities())
def test_mi_between_zero_and_entropy_and_entropy_below_log_c(probs: torch.Tensor) -> None:
    mi, h_mean = F.mutual_information(probs), F.predictive_entropy(probs)
    assert (mi >= 0).all()
    assert (mi <= h_mean + TOL).all()
    assert (h_mean <= math.log(probs.shape[2]) + TOL).all()
    assert (F.expected_entropy(probs) <= h_mean + TOL).all()  # Jensen: mean H <= H of the mean


@SETTINGS
@given(probabilities())
def test_other_maps_stay_in_range(probs: torch.Tensor) -> None:
    assert ((F.std(probs) >= 0) & (F.std(probs) <= 0.5 + TOL)).all()  # std of values in [0, 1]
    assert ((F.margin(probs) >= -TOL) & (F.margin(probs) <= 1 + TOL)).all()


@SETTINGS
@given(probabilities(), st.integers(2, 5))
def test_agreeing_samples_carry_no_mutual_information(probs: torch.Tensor, t: int) -> None:
    agreeing = probs[:1].repeat(t, *([1] * (probs.ndim - 1)))
    assert F.mutual_information(agreeing).abs().max() <= 1e-12
    assert F.std(agreeing).abs().max() <= 1e-12


@SETTINGS
@given(probabilities(), st.randoms(use_true_random=False))
def test_invariant_to_permuting_samples_and_classes(probs: torch.Tensor, rnd) -> None:
    t_perm = torch.tensor(rnd.sample(range(probs.shape[0]), probs.shape[0]))
    c_perm = torch.tensor(rnd.sample(range(probs.shape[2]), probs.shape[2]))
    for fn in ALL:
        expected = fn(probs)
        torch.testing.assert_close(fn(probs[t_perm]), expected, atol=TOL, rtol=0, msg=fn.__name__)
        torch.testing.assert_close(fn(probs[:, :, c_perm]), expected, atol=TOL, rtol=0, msg=fn.__name__)


@SETTINGS
@given(probabilities())
def test_finite_with_exact_zeros_and_right_shape(probs: torch.Tensor) -> None:
    for fn in ALL:
        out = fn(probs)
        assert out.shape == probs.shape[1:2] + probs.shape[3:], fn.__name__
        assert torch.isfinite(out).all(), fn.__name__


def test_one_hot_samples_score_zero_everywhere() -> None:
    probs = torch.zeros(3, 2, 4, 5, 5)
    probs[:, :, 1] = 1.0  # every sample certain of class 1: everything else exactly 0
    for fn in ALL:
        assert torch.equal(fn(probs), torch.zeros(2, 5, 5)), fn.__name__
