"""Quantum and QKAN bodies: second derivatives with respect to x by autograd equal finite differences (float64)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from circuits import TorchBackend
from qml.kan import QKAN
from qml.physics import (
    DirichletTrial,
    Domain,
    SchrodingerPINN,
    derivative,
    infinite_well,
    reuploading_body,
    schrodinger_loss,
)

UNIT = Domain.interval(0.0, 1.0)


def _engine() -> TorchBackend:
    return TorchBackend(dtype=torch.complex128, diff_method="backprop")


def _bodies() -> dict[str, nn.Module]:
    generator = torch.Generator().manual_seed(7)
    circuit = reuploading_body(3, _engine(), num_qubits=2, generator=generator, dtype=torch.float64)
    with torch.no_grad():  # a non-trivial frequency spectrum
        circuit[1].weights["s"].uniform_(0.5, 2.0, generator=generator)
    return {"circuit": circuit, "qkan": QKAN([1, 3, 1], reps=2, generator=generator).double()}


def _richardson_second_derivative(function, x: torch.Tensor, h: float = 1e-3) -> torch.Tensor:
    """Central second differences at h and h/2, extrapolated: error O(h^4)."""

    def central(step: float) -> torch.Tensor:
        return (function(x + step) - 2 * function(x) + function(x - step)) / step**2

    return (4 * central(h / 2) - central(h)) / 3


@pytest.mark.parametrize("name", ["circuit", "qkan"])
def test_second_derivatives_through_quantum_bodies_match_finite_differences(name):
    body = _bodies()[name]
    x = torch.linspace(-0.9, 0.9, 13, dtype=torch.float64).reshape(-1, 1)

    def values(points: torch.Tensor) -> torch.Tensor:
        return body(points)[:, 0]

    points = x.clone().requires_grad_(True)
    second = derivative(values(points), points, order=2)
    with torch.no_grad():
        expected = _richardson_second_derivative(values, x)
    scale = expected.abs().max().item()
    assert scale > 1e-2  # a curved function, not a trivially flat one
    assert torch.allclose(second, expected, atol=1e-6 * scale, rtol=0)


@pytest.mark.parametrize("name", ["circuit", "qkan"])
def test_the_residual_loss_trains_the_weights_of_quantum_bodies(name):
    """d loss / d weight by autograd (through psi'') equals a finite difference in that weight."""
    model = SchrodingerPINN(DirichletTrial(_bodies()[name], UNIT), energy=9.0, dtype=torch.float64)
    loss = schrodinger_loss(infinite_well(), UNIT, normalisation_weight=1.0, grid_points=41)
    points = UNIT.grid(17, dtype=torch.float64)
    weight = next(p for n, p in model.named_parameters() if n != "energy" and p.numel() > 1)
    loss(model, points, torch.zeros(17)).backward()
    analytic = weight.grad.reshape(-1)[1].item()
    values = []
    for shift in (1e-6, -2e-6, 1e-6):
        with torch.no_grad():
            weight.reshape(-1)[1] += shift
        values.append(loss(model, points, torch.zeros(17)).item())
    assert analytic == pytest.approx((values[0] - values[1]) / 2e-6, rel=1e-5, abs=1e-8)


def test_a_quantum_pinn_lowers_its_loss():
    body = reuploading_body(2, _engine(), generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    model = SchrodingerPINN(DirichletTrial(body, UNIT), energy=1.0, dtype=torch.float64)
    loss = schrodinger_loss(infinite_well(), UNIT, normalisation_weight=10.0, grid_points=21)
    points = UNIT.grid(12, dtype=torch.float64)
    optimizer = torch.optim.Adam(
        [{"params": list(model.trial.parameters())}, {"params": [model.energy], "lr": 0.2}], lr=0.05
    )
    history = []
    for _ in range(20):
        optimizer.zero_grad()
        value = loss(model, points, torch.zeros(12))
        value.backward()
        optimizer.step()
        history.append(value.item())
    assert history[-1] < 0.5 * history[0]
    assert model.energy.item() > 1.5 and math.isfinite(model.energy.item())
