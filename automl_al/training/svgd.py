"""Stein variational gradient descent (Liu & Wang, NeurIPS 2016), S3's committee optimiser.

M particles theta_1..theta_M (the members' flattened parameters) move along

    phi(theta_i) = (1/M) sum_j [ k(theta_j, theta_i) grad log p(theta_j) + grad_{theta_j} k(theta_j, theta_i) ]

The first term pulls each particle along a kernel-weighted mean of all gradients; the second,
for the RBF kernel k(a, b) = exp(-||a - b||^2 / h), is (2/h) sum_j k_ji (theta_i - theta_j): it
pushes particle i away from the others, which keeps the committee from collapsing onto one mode.

Bandwidth: Liu & Wang's median heuristic h = med^2 / log M, med = the median of the M(M-1)/2
distances between distinct particles (the mean of the two middle ones for an even count), so that
sum_j k_ij is about 1 + 1 in a typical row. Their reference code writes log(M + 1) and takes the
median over the full M x M matrix, zeros included; we follow the paper's formula. Two edge cases:
M = 1 (k = 1, no repulsion: plain gradient ascent) and med = 0 (all particles coincide) use h = 1.
Coinciding particles feel no repulsion (the kernel's gradient at distance 0 is exactly 0) and,
fed the same batches, stay together: a documented fixed point, not jittered away. Committees are
built with a different seed per member (:mod:`automl_al.training.committee`), so it does not arise.

The step is optimizer-compatible, as in the reference implementations: backpropagate each member's
negative log-likelihood (so ``.grad = -grad log p``), call :func:`stein_gradients_`, which
replaces every ``.grad`` by ``-phi``, then any torch optimizer's ``step()`` (S3: Adam, lr 1e-3)
moves the particles along +phi. Memory: distances and phi are computed one parameter tensor at a
time (an ``[M, numel]`` stack of that tensor), never the ``[M, P]`` flattening of whole models;
the kernel is M x M.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


@dataclass(frozen=True)
class SteinKernel:
    """The RBF kernel matrix over the particles and the bandwidth it used."""

    matrix: Tensor  # [M, M], float64, k(theta_i, theta_j)
    bandwidth: float  # h in exp(-d^2 / h)


def median_bandwidth(sq_dists: Tensor) -> float:
    """h = med^2 / log M from the squared pairwise distances ``[M, M]``; 1.0 for M = 1 or med = 0."""
    m = sq_dists.shape[0]
    if m < 2:
        return 1.0
    upper = torch.triu_indices(m, m, offset=1)
    med = torch.quantile(sq_dists[upper[0], upper[1]].double().clamp_min(0).sqrt(), 0.5).item()
    return med * med / math.log(m) if med > 0 else 1.0


def rbf_kernel(sq_dists: Tensor, bandwidth: float | None = None) -> SteinKernel:
    """k_ij = exp(-d_ij^2 / h) with the median heuristic unless ``bandwidth`` is given."""
    h = median_bandwidth(sq_dists) if bandwidth is None else bandwidth
    if not h > 0:
        raise ValueError(f"the SVGD kernel bandwidth must be > 0, but got {h}")
    return SteinKernel(torch.exp(-sq_dists.double() / h), h)


def _sq_dists(x: Tensor) -> Tensor:
    """Squared distances between the rows of ``x [M, n]``, float64, from differences (no cancellation
    between near-copies, as the |a|^2 - 2ab + |b|^2 form would have)."""
    return torch.cdist(x, x, compute_mode="donot_use_mm_for_euclid_dist").double().square()


def _phi(kernel: SteinKernel, x: Tensor, grad_log_p: Tensor) -> Tensor:
    """phi for the rows of ``x [M, n]`` given grad log p ``[M, n]`` and the kernel of all parameters."""
    k = kernel.matrix.to(x.dtype)
    drive = k @ grad_log_p  # sum_j k_ij grad log p(theta_j); k is symmetric
    repulse = (2.0 / kernel.bandwidth) * (k.sum(dim=1, keepdim=True) * x - k @ x)  # sum_j grad_{theta_j} k_ji
    return (drive + repulse) / x.shape[0]


def svgd_direction(x: Tensor, grad_log_p: Tensor, *, bandwidth: float | None = None) -> Tensor:
    """phi(theta_i) for every particle of ``x [M, P]`` (rows = flattened particles) -> ``[M, P]``."""
    if x.ndim != 2 or x.shape != grad_log_p.shape:
        raise ValueError(f"need particles [M, P] and gradients of the same shape, got {tuple(x.shape)} and {tuple(grad_log_p.shape)}")
    return _phi(rbf_kernel(_sq_dists(x), bandwidth), x, grad_log_p)


def _aligned(members: Sequence[nn.Module]) -> list[list[nn.Parameter]]:
    """Per trainable parameter name, that parameter of every member; the members must match."""
    named = [{n: p for n, p in m.named_parameters() if p.requires_grad} for m in members]
    names = list(named[0])
    for i, params in enumerate(named[1:], start=1):
        if list(params) != names or any(params[n].shape != named[0][n].shape for n in names):
            raise ValueError(f"SVGD particles must be copies of one architecture, but member {i} differs from member 0")
    return [[params[n] for params in named] for n in names]


@torch.no_grad()
def stein_gradients_(members: Sequence[nn.Module], *, bandwidth: float | None = None) -> SteinKernel:
    """Replace each member's ``.grad`` (= -grad log p, from backward on its negative log-likelihood)
    by -phi, so that an optimizer step moves the particles along phi. Returns the kernel used.

    A parameter without a gradient (not used by the loss) counts as grad log p = 0 there.
    """
    if not members:
        raise ValueError("SVGD needs at least one particle")
    groups = _aligned(members)
    m = len(members)
    sq = torch.zeros(m, m, dtype=torch.float64, device=groups[0][0].device if groups else None)
    for group in groups:
        sq += _sq_dists(torch.stack([p.detach().flatten() for p in group]))
    kernel = rbf_kernel(sq, bandwidth)
    for group in groups:
        x = torch.stack([p.detach().flatten() for p in group])
        grad_log_p = torch.stack([-p.grad.flatten() if p.grad is not None else torch.zeros_like(p).flatten() for p in group])
        phi = _phi(kernel, x, grad_log_p)
        for p, row in zip(group, phi, strict=True):
            if p.grad is None:
                p.grad = (-row).view_as(p)
            else:
                p.grad.copy_(row.view_as(p)).neg_()
    return kernel


__all__ = ["SteinKernel", "median_bandwidth", "rbf_kernel", "stein_gradients_", "svgd_direction"]
