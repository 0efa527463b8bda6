"""Rollouts against closed-form physics: the leapfrog's conserved modified energy, RK45's drift, order, reversal."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qml.data.hamiltonian import pendulum_field
from qml.physics import IntegrationError, model_field, numpy_field, solve_ivp_rollout, stormer_verlet
from qml.physics.integrators import uniform_step

DOUBLE = torch.float64


def spring(x: torch.Tensor) -> torch.Tensor:
    """Hamilton's equations of ``H = q^2 + p^2``: ``(2p, -2q)``."""
    return torch.stack([2 * x[:, 1], -2 * x[:, 0]], dim=-1)


def non_separable(x: torch.Tensor) -> torch.Tensor:
    """Hamilton's equations of ``H = (1 + q^2)(1 + p^2) / 2``: ``(p (1 + q^2), -q (1 + p^2))``."""
    q, p = x[:, 0], x[:, 1]
    return torch.stack([p * (1 + q**2), -q * (1 + p**2)], dim=-1)


def non_separable_energy(x: torch.Tensor) -> torch.Tensor:
    return 0.5 * (1 + x[..., 0] ** 2) * (1 + x[..., 1] ** 2)


START = torch.tensor([[0.6, -0.3], [0.1, 0.9], [-0.8, 0.0]], dtype=DOUBLE)


def test_the_leapfrog_conserves_the_spring_s_modified_energy_exactly_and_does_not_drift():
    """Kick-drift-kick on H = q^2 + p^2 conserves H~ = p^2 + (1 - h^2) q^2 (closed form) to rounding."""
    h, steps = 0.1, 1000
    path = stormer_verlet(spring, START, h, steps, separable=True)
    q, p = path[..., 0], path[..., 1]
    modified = p**2 + (1 - h**2) * q**2
    torch.testing.assert_close(modified, modified[:, :1].expand_as(modified), rtol=0, atol=1e-13)

    energy_error = (q**2 + p**2 - (START**2).sum(-1, keepdim=True)).abs()
    assert energy_error.max() <= h**2 * (START**2).sum(-1).max() / (1 - h**2)  # bounded by h^2 H
    early, late = energy_error[:, : steps // 10].max(), energy_error[:, -steps // 10 :].max()
    assert late <= early * 1.01  # over 32 periods: no drift, the same oscillation at the end as at the start


def test_rk45_drifts_where_the_leapfrog_does_not():
    t = np.linspace(0.0, 100.0, 101)
    path = solve_ivp_rollout(spring, START, t, rtol=1e-6, atol=1e-9)
    drift = ((path**2).sum(-1) - (START**2).sum(-1, keepdim=True)).abs().max(dim=0).values
    assert drift[-1] > 5 * drift[10] > 0  # the energy error grows with time (linearly: RK45 is dissipative here)

    time = torch.from_numpy(t)
    exact_q = START[:, :1] * torch.cos(2 * time) + START[:, 1:] * torch.sin(2 * time)  # q0 cos 2t + p0 sin 2t
    torch.testing.assert_close(path[..., 0], exact_q, rtol=0, atol=1e-3)


def test_solve_ivp_rollout_at_tight_tolerance_is_the_closed_form_solution():
    t = np.linspace(0.0, 5.0, 26)
    path = solve_ivp_rollout(spring, START, t)  # RK45, rtol = atol = 1e-9
    q0, p0 = START[:, :1], START[:, 1:]
    c, s = torch.from_numpy(np.cos(2 * t)), torch.from_numpy(np.sin(2 * t))
    exact = torch.stack([q0 * c + p0 * s, p0 * c - q0 * s], dim=-1)
    torch.testing.assert_close(path, exact, rtol=0, atol=2e-8)
    assert path.dtype == DOUBLE and path.shape == (3, 26, 2)


def test_the_implicit_leapfrog_equals_the_explicit_one_on_a_separable_field():
    explicit = stormer_verlet(spring, START, 0.1, 50, separable=True)
    implicit = stormer_verlet(spring, START, 0.1, 50)
    torch.testing.assert_close(implicit, explicit, rtol=0, atol=1e-13)


def test_the_leapfrog_is_second_order_on_the_pendulum():
    field = numpy_field(pendulum_field)
    reference = solve_ivp_rollout(field, START, np.array([0.0, 2.0]), method="DOP853", rtol=1e-12, atol=1e-12)[:, -1]
    errors = [(stormer_verlet(field, START, 2.0 / n, n)[:, -1] - reference).abs().max() for n in (40, 80, 160)]
    ratios = [float(errors[i] / errors[i + 1]) for i in range(2)]
    assert all(3.8 < r < 4.2 for r in ratios), ratios


def test_the_generalized_leapfrog_is_reversible_and_bounded_on_a_non_separable_hamiltonian():
    h, steps = 0.05, 200
    forward = stormer_verlet(non_separable, START, h, steps, tolerance=1e-14)
    end = forward[:, -1]
    flipped = torch.cat([end[:, :1], -end[:, 1:]], dim=-1)  # H(q, -p) = H(q, p): flipping p reverses time
    back = stormer_verlet(non_separable, flipped, h, steps, tolerance=1e-14)[:, -1]
    torch.testing.assert_close(torch.cat([back[:, :1], -back[:, 1:]], dim=-1), START, rtol=0, atol=1e-10)

    energy = non_separable_energy(forward)
    error = (energy - energy[:, :1]).abs()
    assert error.max() < 5e-3 and error[:, -steps // 4 :].max() <= 1.05 * error[:, : steps // 4].max()

    # second order on this H as well (a wrong claim of separability would make it first order)
    reference = solve_ivp_rollout(non_separable, START, np.array([0.0, 1.0]), method="DOP853", rtol=1e-12, atol=1e-12)
    errors = [
        (stormer_verlet(non_separable, START, 1.0 / n, n)[:, -1] - reference[:, -1]).abs().max() for n in (20, 40)
    ]
    assert 3.6 < float(errors[0] / errors[1]) < 4.4


def test_an_implicit_stage_that_cannot_converge_is_a_clear_error():
    def stiff(x: torch.Tensor) -> torch.Tensor:  # p_half = p - 50 p_half^3 at dt = 1: not a contraction
        return torch.stack([x[:, 1], -100 * x[:, 1] ** 3], dim=-1)

    with pytest.raises(IntegrationError, match=r"momentum stage diverged at step 1 .* dt=1.0 is too large"):
        stormer_verlet(stiff, START, 1.0, 3)

    def slow(x: torch.Tensor) -> torch.Tensor:  # p_half = p - 0.99 p_half / 2: converges, but slowly
        return torch.stack([x[:, 1], -0.99 * x[:, 1]], dim=-1)

    with pytest.raises(IntegrationError, match=r"momentum stage did not converge in 5 iterations at step 1"):
        stormer_verlet(slow, START, 1.0, 3, max_iterations=5)


def test_a_diverging_rollout_is_a_clear_error():
    def blow_up(x: torch.Tensor) -> torch.Tensor:
        return x**3 * 1e3

    with pytest.raises(IntegrationError, match="solve_ivp \\(RK45\\) stopped at t ="):
        solve_ivp_rollout(blow_up, START, np.linspace(0.0, 10.0, 5))


def test_model_field_evaluates_a_float64_copy_without_touching_the_model():
    linear = torch.nn.Linear(2, 2)
    field = model_field(linear)
    out = field(START)
    assert out.dtype == DOUBLE and not out.requires_grad
    assert linear.weight.dtype == torch.float32 and linear.weight.requires_grad and linear.training
    torch.testing.assert_close(out, START @ linear.weight.double().T + linear.bias.double())


def test_bad_grids_steps_and_starts_are_refused():
    with pytest.raises(ValueError, match="uniform time grid"):
        uniform_step(np.array([0.0, 1.0, 3.0]), 2)
    assert uniform_step(np.linspace(0, 1, 11), 4) == pytest.approx(0.025)
    with pytest.raises(ValueError, match=r"dt must be a positive finite time step, got -0\.1"):
        stormer_verlet(spring, START, -0.1, 3)
    with pytest.raises(ValueError, match="num_steps=5 is not a multiple of record_every=2"):
        stormer_verlet(spring, START, 0.1, 5, record_every=2)
    with pytest.raises(ValueError, match=r"x0 must be floating-point rows \(q, p\) .* shape \(3, 3\)"):
        stormer_verlet(spring, torch.zeros(3, 3), 0.1, 2)
    with pytest.raises(ValueError, match="at least two increasing times"):
        solve_ivp_rollout(spring, START, np.array([1.0, 0.0]))
