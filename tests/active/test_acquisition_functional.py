"""Hand-computed values of every uncertainty map on tiny known probability tensors."""

from __future__ import annotations

import math

import pytest
import torch

from automl_al.active.acquisition import functional as F

LN2 = math.log(2.0)


def _h(*p: float) -> float:
    """Entropy in nats written out by hand: -sum p ln p, with 0 ln 0 = 0."""
    return -sum(x * math.log(x) for x in p if x > 0)


@pytest.fixture
def seg_probs() -> torch.Tensor:
    """T=3 samples, N=1 image, C=2 classes, 1x2 pixels.

    Pixel A: foreground prob 0.2, 0.4, 0.6 over the samples (mean 0.4).
    Pixel B: background with probability exactly 1 in every sample (exact zeros).
    """
    fg_a = torch.tensor([0.2, 0.4, 0.6], dtype=torch.float64)
    probs = torch.zeros(3, 1, 2, 1, 2, dtype=torch.float64)
    probs[:, 0, 1, 0, 0] = fg_a
    probs[:, 0, 0, 0, 0] = 1 - fg_a
    probs[:, 0, 0, 0, 1] = 1.0
    return probs


@pytest.fixture
def cls_probs() -> torch.Tensor:
    """T=3, N=2 images, C=3. Image 0: every sample says (0.5, 0.3, 0.2). Image 1: three confident,
    disagreeing one-hot samples (1,0,0), (0,1,0), (0,0,1); mean (1/3, 1/3, 1/3)."""
    probs = torch.zeros(3, 2, 3, dtype=torch.float64)
    probs[:, 0] = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64)
    probs[:, 1] = torch.eye(3, dtype=torch.float64)
    return probs


def test_predictive_entropy_segmentation(seg_probs: torch.Tensor) -> None:
    # A: mean (0.6, 0.4) -> 0.6*0.5108 + 0.4*0.9163 = 0.6730 nats.  B: mean (1, 0) -> 0.
    expected = torch.tensor([[[_h(0.6, 0.4), 0.0]]], dtype=torch.float64)
    torch.testing.assert_close(F.predictive_entropy(seg_probs), expected)
    assert F.predictive_entropy(seg_probs)[0, 0, 0].item() == pytest.approx(0.673012, abs=1e-6)


def test_expected_entropy_segmentation(seg_probs: torch.Tensor) -> None:
    # A: (H(0.2) + H(0.4) + H(0.6)) / 3 = (0.5004 + 0.6730 + 0.6730) / 3 = 0.6155.  B: 0.
    cfe_a = (_h(0.8, 0.2) + _h(0.6, 0.4) + _h(0.4, 0.6)) / 3
    assert cfe_a == pytest.approx(0.615475, abs=1e-6)
    torch.testing.assert_close(
        F.expected_entropy(seg_probs), torch.tensor([[[cfe_a, 0.0]]], dtype=torch.float64)
    )


def test_mutual_information_segmentation(seg_probs: torch.Tensor) -> None:
    # A: 0.6730 - 0.6155 = 0.0575.  B: 0 - 0 = 0.
    mi_a = _h(0.6, 0.4) - (_h(0.8, 0.2) + 2 * _h(0.6, 0.4)) / 3
    assert mi_a == pytest.approx(0.057536, abs=1e-6)
    torch.testing.assert_close(
        F.mutual_information(seg_probs), torch.tensor([[[mi_a, 0.0]]], dtype=torch.float64)
    )


def test_std_segmentation(seg_probs: torch.Tensor) -> None:
    # A: values 0.2, 0.4, 0.6 (mean 0.4): population variance (0.04 + 0 + 0.04) / 3, std 0.1633;
    # the background class 0.8, 0.6, 0.4 has the same std, so the mean over classes is 0.1633.
    std_a = math.sqrt((0.2**2 + 0.0 + 0.2**2) / 3)
    assert std_a == pytest.approx(0.163299, abs=1e-6)
    torch.testing.assert_close(F.std(seg_probs), torch.tensor([[[std_a, 0.0]]], dtype=torch.float64))


def test_margin_segmentation(seg_probs: torch.Tensor) -> None:
    # A: mean (0.6, 0.4) -> 1 - (0.6 - 0.4) = 0.8.  B: mean (1, 0) -> 1 - 1 = 0.
    torch.testing.assert_close(F.margin(seg_probs), torch.tensor([[[0.8, 0.0]]], dtype=torch.float64))


def test_class_entropy_bits_segmentation(seg_probs: torch.Tensor) -> None:
    # A: -(0.6 log2 0.6 + 0.4 log2 0.4) = 0.97095 bits.  B: 0.
    bits_a = -(0.6 * math.log2(0.6) + 0.4 * math.log2(0.4))
    assert bits_a == pytest.approx(0.970951, abs=1e-6)
    torch.testing.assert_close(
        F.class_entropy_bits(seg_probs), torch.tensor([[[bits_a, 0.0]]], dtype=torch.float64)
    )


def test_classification_values(cls_probs: torch.Tensor) -> None:
    h0 = _h(0.5, 0.3, 0.2)  # 1.0297 nats: image 0, every sample the same
    # Image 1: mean is uniform -> H = ln 3; each one-hot sample has H = 0, so cfe = 0 and mi = ln 3.
    expected = {
        F.predictive_entropy: [h0, math.log(3)],
        F.expected_entropy: [h0, 0.0],
        F.mutual_information: [0.0, math.log(3)],
        # Image 1, per class the values are {1, 0, 0}: mean 1/3, variance (4/9 + 1/9 + 1/9) / 3 = 2/9.
        F.std: [0.0, math.sqrt(2) / 3],
        # Image 0: 1 - (0.5 - 0.3) = 0.8.  Image 1: 1 - (1/3 - 1/3) = 1.
        F.margin: [0.8, 1.0],
        F.class_entropy_bits: [h0 / LN2, math.log2(3)],
    }
    for fn, values in expected.items():
        out = fn(cls_probs)
        assert out.shape == (2,), fn.__name__
        torch.testing.assert_close(out, torch.tensor(values, dtype=torch.float64), msg=fn.__name__)


ALL = [F.predictive_entropy, F.expected_entropy, F.mutual_information, F.std, F.margin, F.class_entropy_bits]


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_input_is_not_mutated(fn, seg_probs: torch.Tensor) -> None:
    before = seg_probs.clone()
    fn(seg_probs)
    assert torch.equal(seg_probs, before)


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
def test_half_precision_is_upcast(fn, seg_probs: torch.Tensor) -> None:
    out = fn(seg_probs.half())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, fn(seg_probs).float(), atol=2e-3, rtol=0)


def test_missing_sample_axis_is_an_error() -> None:
    with pytest.raises(ValueError, match=r"\[T, N, C, \*S\].*unsqueeze\(0\)"):
        F.predictive_entropy(torch.full((4, 2), 0.5))


def test_integer_input_is_an_error() -> None:
    with pytest.raises(TypeError, match="floating-point"):
        F.std(torch.ones(2, 3, 2, dtype=torch.int64))


def test_margin_needs_two_classes() -> None:
    with pytest.raises(ValueError, match="at least 2 classes"):
        F.margin(torch.ones(2, 3, 1))
