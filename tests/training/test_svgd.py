"""SVGD: the update against a hand derivation and against the definition, repulsion, edge cases."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from automl_al.training.svgd import (
    median_bandwidth,
    rbf_kernel,
    stein_gradients_,
    svgd_direction,
)

# Two particles on the line, log p(theta) = -theta^2 / 2 (standard normal), so grad log p = -theta.
# theta_1 = 0, theta_2 = 1: d = 1, med = 1, h = med^2 / log M = 1 / log 2, k_12 = exp(-1 * log 2) = 0.5.
# grad_{theta_j} k(theta_j, theta_i) = -(2 / h) (theta_j - theta_i) k_ji = -2 log 2 (theta_j - theta_i) k_ji.
# phi_1 = 1/2 [k_11 * (-0) + k_21 * (-1) + 0 + (-2 log 2)(1 - 0)(0.5)] = 1/2 [-0.5 - log 2] = -0.596574
# phi_2 = 1/2 [k_12 * (-0) + k_22 * (-1) + (-2 log 2)(0 - 1)(0.5) + 0] = 1/2 [-1 + log 2] = -0.153426
# With step 0.1: theta_1 -> -0.0596574, theta_2 -> 0.9846574.
PHI_1 = 0.5 * (-0.5 - math.log(2))
PHI_2 = 0.5 * (-1.0 + math.log(2))


def test_two_particle_update_matches_the_hand_derivation() -> None:
    x = torch.tensor([[0.0], [1.0]], dtype=torch.float64)
    phi = svgd_direction(x, -x)
    torch.testing.assert_close(phi, torch.tensor([[PHI_1], [PHI_2]], dtype=torch.float64))
    assert PHI_1 == pytest.approx(-0.596574, abs=1e-6) and PHI_2 == pytest.approx(-0.153426, abs=1e-6)


class _Scalar(nn.Module):
    def __init__(self, value: float) -> None:
        super().__init__()
        self.theta = nn.Parameter(torch.tensor([value], dtype=torch.float64))


def test_the_optimizer_step_applies_phi_through_grad() -> None:
    members = [_Scalar(0.0), _Scalar(1.0)]
    for m in members:
        (m.theta.square().sum() / 2).backward()  # negative log-likelihood: .grad = theta = -grad log p
    kernel = stein_gradients_(members)
    assert kernel.bandwidth == pytest.approx(1 / math.log(2))
    assert kernel.matrix[0, 1].item() == pytest.approx(0.5)
    torch.optim.SGD([p for m in members for p in m.parameters()], lr=0.1).step()
    assert members[0].theta.item() == pytest.approx(-0.0596574, abs=1e-7)
    assert members[1].theta.item() == pytest.approx(0.9846574, abs=1e-7)


def test_direction_matches_the_definition_with_autograd_kernel_gradients() -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(4, 3, generator=g, dtype=torch.float64)
    grad_log_p = torch.randn(4, 3, generator=g, dtype=torch.float64)
    h = 0.7
    expected = torch.zeros_like(x)
    for i in range(4):
        for j in range(4):
            theta_j = x[j].clone().requires_grad_(True)
            k = torch.exp(-(theta_j - x[i]).square().sum() / h)
            (dk,) = torch.autograd.grad(k, theta_j)
            expected[i] += k.detach() * grad_log_p[j] + dk
    torch.testing.assert_close(svgd_direction(x, grad_log_p, bandwidth=h), expected / 4)


def test_the_repulsive_term_pushes_nearly_identical_particles_apart() -> None:
    x = torch.tensor([[0.3, -0.2], [0.3 + 1e-4, -0.2]], dtype=torch.float64)
    phi = svgd_direction(x, torch.zeros_like(x))  # a flat log p: only the kernel term acts
    assert phi[0, 0] < 0 < phi[1, 0] and phi[:, 1].abs().max() == 0  # apart, along their difference
    torch.testing.assert_close(phi[0], -phi[1])
    moved = x + 1e-6 * phi
    assert (moved[1] - moved[0]).norm() > (x[1] - x[0]).norm()


def test_identical_particles_feel_no_repulsion_and_stay_together() -> None:
    # Documented fixed point: med = 0 -> h = 1, the kernel gradient at distance 0 is exactly 0.
    x = torch.tensor([[0.5, 1.0], [0.5, 1.0]], dtype=torch.float64)
    assert svgd_direction(x, torch.zeros_like(x)).abs().max() == 0
    grad = -x  # the same log p for both: both move by the same mean gradient
    phi = svgd_direction(x, grad)
    assert torch.isfinite(phi).all() and torch.equal(phi[0], phi[1])
    torch.testing.assert_close(phi[0], grad[0])


def test_one_particle_is_plain_gradient_ascent() -> None:
    x = torch.tensor([[2.0, -1.0]], dtype=torch.float64)
    torch.testing.assert_close(svgd_direction(x, -x), -x)


def test_median_bandwidth_by_hand() -> None:
    x = torch.tensor([[0.0], [1.0], [3.0]], dtype=torch.float64)  # distances 1, 3, 2: median 2
    sq = torch.cdist(x, x).square()
    assert median_bandwidth(sq) == pytest.approx(4 / math.log(3))
    four = torch.tensor([[0.0], [1.0], [3.0], [7.0]], dtype=torch.float64)  # 1 2 3 4 6 7: median 3.5
    assert median_bandwidth(torch.cdist(four, four).square()) == pytest.approx(3.5**2 / math.log(4))
    with pytest.raises(ValueError, match="bandwidth must be > 0"):
        rbf_kernel(sq, bandwidth=0.0)


def test_many_particles_approximate_a_gaussian() -> None:
    x = torch.randn(50, 1, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 0.5 - 5
    for _ in range(2000):  # target N(2, 1): grad log p = -(theta - 2)
        x = x + 0.1 * svgd_direction(x, -(x - 2.0))
    assert x.mean().item() == pytest.approx(2.0, abs=0.05)
    assert x.std(correction=0).item() == pytest.approx(1.0, abs=0.1)  # spread kept by the repulsion


def test_members_of_different_architectures_are_refused() -> None:
    a, b = nn.Linear(2, 2), nn.Linear(2, 3)
    with pytest.raises(ValueError, match="member 1 differs"):
        stein_gradients_([a, b])
