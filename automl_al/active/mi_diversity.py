"""S3's ``mi_diversity``: uncertainty minus the mutual information with the labeled images.

score_i = alpha * H_norm,i - MI_norm,i / alpha (S3 eq. 5, alpha = 1), where H is the image's
uncertainty score and MI_i the mean over the labeled images l of the mutual information between the
intensities of image i and image l (S3 eq. 4), each vector min-max normalised over the pool. An
image much like those already labeled shares much information with them and drops in the ranking;
this is what keeps S3's no-delete mode from choosing one hard case over and over.

MI comes from the joint intensity histogram of the two images, pixel by pixel (no labels used):
MI(u, l) = H(u) + H(l) - H(u, l), with the marginal entropies H(u), H(l) of each image's own
histogram (the joint histogram's marginals) and natural logs. To stay cheap the images are first
downsampled (:func:`image_bins`: channels averaged, area-averaged to ``size`` per side) and their
intensities put in ``bins`` equal bins over a fixed ``value_range`` (the range the preprocessing
normalised to, [0, 1] for min-max; values outside fall in the end bins), stored as uint8. The joint
histograms are one ``bincount`` per (pool chunk, labeled image): O(|pool| x |labeled| x (P + bins^2))
time for P = size^ndim pixels, O(|pool| x P) bytes for the binned pool and O(chunk x (P + bins^2))
working memory.

The histogram estimate of MI is biased upwards by about (bins - 1)^2 / (2 P) nats for independent
images (32 x 32 px, 16 bins: 0.11 nats, against log 16 = 2.77 for the entropy); the bias is much
the same for every pair, and min-max normalisation removes a constant shift.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.nn import functional as F

DEFAULT_SIZE = 32  # pixels per side after downsampling
DEFAULT_BINS = 16  # intensity bins
_CHUNK = 512  # pool images per bincount call: ~chunk x P int64 indices (4 MB at 32 x 32)


def image_bins(
    images: Tensor, *, size: int = DEFAULT_SIZE, bins: int = DEFAULT_BINS, value_range: tuple[float, float] = (0.0, 1.0)
) -> Tensor:
    """``images [N, C, *S]`` (2-D or 3-D) -> uint8 bin indices ``[N, size^ndim]`` for :func:`mean_mutual_information`.

    Channels are averaged (one intensity per pixel), the grid area-averaged to ``size`` per side,
    each value put in one of ``bins`` equal bins over ``value_range``. Call it per batch of the pool.
    """
    if images.ndim not in (4, 5):
        raise ValueError(f"images must be [N, C, H, W] or [N, C, D, H, W], but got shape {tuple(images.shape)}")
    if not 2 <= bins <= 256 or size < 1:
        raise ValueError(f"mi_diversity needs 2 <= bins <= 256 and size >= 1, but got bins={bins}, size={size}")
    lo, hi = value_range
    if not hi > lo:
        raise ValueError(f"value_range must be (low, high) with high > low, but got {value_range}")
    x = images.float().mean(dim=1, keepdim=True)
    pool = F.adaptive_avg_pool2d if images.ndim == 4 else F.adaptive_avg_pool3d
    x = pool(x, size).flatten(1)  # [N, P]
    if not bool(torch.isfinite(x).all()):
        raise ValueError("images hold NaN or inf; mi_diversity bins intensities and cannot place them")
    index = ((x - lo) * (bins / (hi - lo))).floor().clamp_(0, bins - 1)
    return index.to(torch.uint8)


def _entropy_of_counts(counts: Tensor, total: int) -> Tensor:
    """Entropy in nats of histograms ``[..., K]`` of ``total`` values each: log n - sum c log c / n."""
    counts = counts.double()
    return torch.log(torch.tensor(float(total), dtype=torch.float64)) - torch.special.xlogy(counts, counts).sum(-1) / total


def histogram_entropy(binned: Tensor, bins: int) -> Tensor:
    """Entropy (nats) of each image's intensity histogram: ``[N, P]`` bin indices -> float64 ``[N]``."""
    n, p = binned.shape
    offsets = torch.arange(n)[:, None] * bins
    counts = torch.bincount((binned.long() + offsets).flatten(), minlength=n * bins).view(n, bins)
    return _entropy_of_counts(counts, p)


def mutual_information(pool: Tensor, labeled: Tensor, bins: int, *, chunk: int = _CHUNK) -> Tensor:
    """MI (nats) of every pool image with every labeled image: ``[Nu, P]``, ``[Nl, P]`` -> float64 ``[Nu, Nl]``.

    Memory: the result is Nu x Nl; :func:`mean_mutual_information` keeps only the row means.
    """
    return _mi_rows(pool, labeled, bins, chunk=chunk, mean=False)


def mean_mutual_information(pool: Tensor, labeled: Tensor, bins: int, *, chunk: int = _CHUNK) -> Tensor:
    """Mean over the labeled images of MI(pool image, labeled image): float64 ``[Nu]`` (S3's row mean)."""
    return _mi_rows(pool, labeled, bins, chunk=chunk, mean=True)


def _mi_rows(pool: Tensor, labeled: Tensor, bins: int, *, chunk: int, mean: bool) -> Tensor:
    if pool.ndim != 2 or labeled.ndim != 2 or pool.shape[1] != labeled.shape[1]:
        raise ValueError(
            f"pool and labeled must be bin indices [N, P] with the same P (same size), but got "
            f"{tuple(pool.shape)} and {tuple(labeled.shape)}; bin both with image_bins at one size"
        )
    if labeled.shape[0] == 0:
        raise ValueError("mi_diversity compares the pool with the labeled images, but there are none yet")
    pixels, squared = pool.shape[1], bins * bins
    h_labeled = histogram_entropy(labeled, bins)  # [Nl]
    out = torch.empty(pool.shape[0], *(() if mean else (labeled.shape[0],)), dtype=torch.float64)
    for start in range(0, pool.shape[0], chunk):
        part = pool[start : start + chunk]
        rows = part.shape[0]
        h_part = histogram_entropy(part, bins)  # [rows]
        base = part.long() * bins + torch.arange(rows)[:, None] * squared  # [rows, P]: joint bin of (u, .) per pixel
        mi = torch.empty(rows, labeled.shape[0], dtype=torch.float64)
        for j, image in enumerate(labeled.long()):
            joint = torch.bincount((base + image).flatten(), minlength=rows * squared).view(rows, squared)
            mi[:, j] = h_part + h_labeled[j] - _entropy_of_counts(joint, pixels)
        out[start : start + rows] = mi.mean(dim=1) if mean else mi
    return out.clamp_min_(0.0)  # >= 0 exactly; float rounding can leave -1e-16


def min_max(values: Tensor) -> Tensor:
    """Rescale to [0, 1] over the vector; a constant vector (nothing to rank by) becomes all zeros."""
    if values.ndim != 1:
        raise ValueError(f"min_max normalises a vector [N], but got shape {tuple(values.shape)}")
    if values.numel() and not bool(torch.isfinite(values).all()):
        raise ValueError("min_max got NaN or inf; the scores it normalises must be finite")
    if values.numel() == 0:
        return values.clone()
    low, span = values.min(), values.max() - values.min()
    if span == 0:
        return torch.zeros_like(values)
    return (values - low) / span


def mi_diversity_scores(uncertainty: Tensor, mean_mi: Tensor, *, alpha: float = 1.0) -> Tensor:
    """S3 eq. 5: ``alpha * minmax(uncertainty) - minmax(mean_mi) / alpha`` per pool image, in [-1/alpha, alpha]."""
    if not alpha > 0:
        raise ValueError(f"mi_diversity alpha must be > 0 (S3 uses 1), but got alpha={alpha}")
    if uncertainty.shape != mean_mi.shape:
        raise ValueError(f"need one MI per uncertainty score: {tuple(uncertainty.shape)} vs {tuple(mean_mi.shape)}")
    u = min_max(uncertainty.double())
    return alpha * u - min_max(mean_mi.double()) / alpha


__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_SIZE",
    "histogram_entropy",
    "image_bins",
    "mean_mutual_information",
    "mi_diversity_scores",
    "min_max",
    "mutual_information",
]
