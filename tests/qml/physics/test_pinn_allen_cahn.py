"""Allen-Cahn: the residual on a manufactured field, the periodic model, and the spectral ETDRK4 reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from torch import nn

from qml.physics import AllenCahn, Domain, PeriodicPINN, tanh_mlp


class _Manufactured(nn.Module):
    """u = exp(-t) sin(pi x)."""

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        return torch.exp(-points[:, 0]) * torch.sin(math.pi * points[:, 1])


def test_the_residual_of_a_known_field():
    problem = AllenCahn()
    points = problem.domain.sample(50, torch.Generator().manual_seed(0), dtype=torch.float64).requires_grad_(True)
    u = _Manufactured()(points).detach()
    expected = -u + 1e-4 * math.pi**2 * u + 5.0 * (u**3 - u)
    assert torch.allclose(problem.residual(_Manufactured(), points), expected, atol=1e-12)


def test_the_periodic_model_is_periodic_and_meets_the_initial_condition_exactly():
    problem = AllenCahn()
    body = tanh_mlp([9, 16, 1], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    model = PeriodicPINN(body, problem.domain, harmonics=4, initial=problem.initial).double()
    t = torch.rand(20, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    left = torch.stack([t, -torch.ones_like(t)], 1).requires_grad_(True)
    right = torch.stack([t, torch.ones_like(t)], 1).requires_grad_(True)
    u_left, u_right = model(left), model(right)
    assert torch.allclose(u_left, u_right, atol=1e-12)
    (slope_left,) = torch.autograd.grad(u_left.sum(), left)
    (slope_right,) = torch.autograd.grad(u_right.sum(), right)
    assert torch.allclose(slope_left[:, 1] - slope_right[:, 1], torch.full_like(t, 4.0), atol=1e-10)  # u0' jumps by 4
    x = torch.linspace(-1, 1, 33, dtype=torch.float64)
    start = torch.stack([torch.zeros_like(x), x], 1)
    assert torch.allclose(model(start), x**2 * torch.cos(math.pi * x), atol=1e-14)
    free = PeriodicPINN(body, problem.domain, harmonics=4)
    assert not torch.allclose(free(start), model(start))
    with pytest.raises(
        ValueError, match=r"PeriodicPINN expects points of shape \(N, 2\), columns \(t, x\); got \(33,\)"
    ):
        model(x)
    with pytest.raises(ValueError, match=r"needs a domain with coordinates \('t', 'x'\)"):
        PeriodicPINN(body, Domain.interval(0, 1), 4)


def _spectral_rhs(problem: AllenCahn, modes: int):
    k = math.pi * np.fft.fftfreq(modes, d=1.0 / modes)

    def rhs(_t, u):
        u_xx = np.real(np.fft.ifft(-(k**2) * np.fft.fft(u)))
        return problem.diffusion * u_xx + problem.reaction * (u - u**3)

    return rhs


def test_the_etdrk4_reference_agrees_with_an_independent_integrator():
    """Same Fourier discretisation, time by scipy's DOP853 at tight tolerances: the time stepping is right."""
    problem = AllenCahn()
    reference = problem.reference(num_modes=256, time_step=1e-3, num_times=11, num_points=256)
    assert torch.allclose(reference.u[0], problem.initial(reference.x), atol=1e-14)
    x = reference.x.numpy()
    solved = solve_ivp(
        _spectral_rhs(problem, 256), (0.0, 1.0), problem.initial(reference.x).numpy(), method="DOP853",
        t_eval=reference.t.numpy(), rtol=1e-11, atol=1e-12,
    )  # fmt: skip
    assert solved.success and x.shape == (256,)
    assert np.abs(solved.y.T - reference.u.numpy()).max() < 1e-7
    assert reference.u[-1].abs().max() == pytest.approx(1.0, abs=0.01)  # plateaus at u = +-1 by t = 1


def test_the_reference_converges_in_modes_and_steps():
    problem = AllenCahn(duration=0.5)
    base = problem.reference(num_modes=512, time_step=1e-3, num_times=11, num_points=256)
    finer_time = problem.reference(num_modes=512, time_step=5e-4, num_times=11, num_points=256)
    finer_space = problem.reference(num_modes=1024, time_step=1e-3, num_times=11, num_points=256)
    assert (base.u - finer_time.u).abs().max() < 1e-9
    assert (base.u - finer_space.u).norm() / finer_space.u.norm() < 3e-5
    assert (base.u - finer_space.u).abs().max() < 5e-4
    assert base.points().shape == (11 * 256, 2)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match=r"AllenCahn.diffusion must be a finite number > 0, got 0"):
        AllenCahn(diffusion=0)
    with pytest.raises(ValueError, match=r"num_modes \(500\) must be a multiple of num_points \(128\)"):
        AllenCahn().reference(num_modes=500, num_points=128)
    with pytest.raises(ValueError, match=r"time_step 0.003 must divide the duration 1"):
        AllenCahn().reference(time_step=3e-3)
