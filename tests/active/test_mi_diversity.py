"""S3's mi_diversity: joint-histogram MI of images, min-max normalisation, the combined score."""

from __future__ import annotations

import math

import pytest
import torch

from automl_al.active.mi_diversity import (
    histogram_entropy,
    image_bins,
    mean_mutual_information,
    mi_diversity_scores,
    min_max,
    mutual_information,
)

BINS = 16


def _images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 1, size, size, generator=torch.Generator().manual_seed(seed))


def test_mi_of_an_image_with_itself_is_its_histogram_entropy() -> None:
    binned = image_bins(_images(5), size=32, bins=BINS)
    mi = mutual_information(binned, binned, BINS)
    torch.testing.assert_close(mi.diagonal(), histogram_entropy(binned, BINS), rtol=0, atol=1e-12)
    assert (mi.diagonal() > 2.7).all()  # near log 16 = 2.77 for uniform noise


def test_histogram_entropy_by_hand() -> None:
    binned = torch.tensor([[0, 0, 1, 1], [3, 3, 3, 3], [0, 1, 2, 3]], dtype=torch.uint8)
    torch.testing.assert_close(
        histogram_entropy(binned, 4), torch.tensor([math.log(2), 0.0, math.log(4)], dtype=torch.float64)
    )


def test_mi_of_independent_noise_images_is_near_zero() -> None:
    pool, labeled = image_bins(_images(8, 64, seed=1), size=64, bins=8), image_bins(_images(3, 64, seed=2), size=64, bins=8)
    mi = mutual_information(pool, labeled, 8)
    bias = (8 - 1) ** 2 / (2 * 64 * 64)  # the plug-in estimate's expected upward bias, 0.006 nats
    assert mi.max() < 3 * bias and mi.min() >= 0


def test_mi_grows_with_shared_structure_and_the_mean_is_the_row_mean() -> None:
    labeled = _images(3, seed=3)
    noise = _images(3, seed=4)
    # pool image k = labeled image 0 mixed with noise, weight w_k: the more of it, the more MI
    pool = torch.stack([w * labeled[0] + (1 - w) * noise[k] for k, w in enumerate((0.0, 0.5, 1.0))])
    p, l = image_bins(pool), image_bins(labeled)
    mi = mutual_information(p, l, BINS)
    assert mi[0, 0] < mi[1, 0] < mi[2, 0]
    torch.testing.assert_close(mean_mutual_information(p, l, BINS, chunk=2), mi.mean(dim=1))


def test_image_bins_downsample_average_channels_and_clamp_the_range() -> None:
    images = torch.zeros(1, 3, 8, 8)
    images[0, :, :4] = 1.0  # top half bright
    images[0, 0, 4:] = -5.0  # below the range in one channel: the mean -5/3 still lands in bin 0
    binned = image_bins(images, size=2, bins=4)
    assert binned.dtype == torch.uint8 and binned.tolist() == [[3, 3, 0, 0]]
    volume = image_bins(torch.rand(2, 1, 8, 8, 8), size=4, bins=4)  # 3-D volumes too
    assert volume.shape == (2, 64)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [({"bins": 1}, "2 <= bins <= 256"), ({"value_range": (1.0, 1.0)}, "high > low")],
)
def test_image_bins_refuses_bad_settings(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        image_bins(torch.rand(1, 1, 8, 8), **kwargs)


def test_min_max_edge_cases() -> None:
    torch.testing.assert_close(min_max(torch.tensor([2.0, 4.0, 3.0])), torch.tensor([0.0, 1.0, 0.5]))
    assert min_max(torch.full((4,), 7.0)).tolist() == [0.0] * 4  # constant: nothing to rank by
    assert min_max(torch.tensor([5.0])).tolist() == [0.0]
    assert min_max(torch.empty(0)).numel() == 0
    with pytest.raises(ValueError, match="NaN or inf"):
        min_max(torch.tensor([1.0, float("nan")]))


def test_score_is_alpha_h_minus_mi_over_alpha() -> None:
    h = torch.tensor([1.0, 3.0, 2.0])
    mi = torch.tensor([0.5, 0.5, 1.5])  # normalised: 0, 0, 1
    torch.testing.assert_close(mi_diversity_scores(h, mi), torch.tensor([0.0, 1.0, -0.5], dtype=torch.float64))
    torch.testing.assert_close(
        mi_diversity_scores(h, mi, alpha=2.0), torch.tensor([0.0, 2.0, 0.5], dtype=torch.float64)
    )
    with pytest.raises(ValueError, match="alpha must be > 0"):
        mi_diversity_scores(h, mi, alpha=0.0)


def test_a_near_copy_of_a_labeled_image_loses_to_an_equally_uncertain_new_one() -> None:
    labeled = _images(2, seed=5)
    pool = torch.cat([labeled[:1], _images(1, seed=6)])  # pool 0 duplicates labeled 0
    mean_mi = mean_mutual_information(image_bins(pool), image_bins(labeled), BINS)
    scores = mi_diversity_scores(torch.tensor([1.0, 1.0]), mean_mi)
    assert scores[1] > scores[0]


def test_no_labeled_images_and_mismatched_sizes_are_errors() -> None:
    pool = image_bins(_images(2))
    with pytest.raises(ValueError, match="there are none yet"):
        mean_mutual_information(pool, pool[:0], BINS)
    with pytest.raises(ValueError, match="same P"):
        mean_mutual_information(pool, image_bins(_images(2), size=16), BINS)
