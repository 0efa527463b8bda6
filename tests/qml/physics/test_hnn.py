"""The HNN field against closed forms, its weight gradients (second derivatives) against finite differences.

Oracles: Hamilton's equations of analytic Hamiltonians, a one-layer circuit whose expectation is a
closed form, and central finite differences in float64 of the Eq. 3 loss with respect to every weight,
through an MLP, a QKAN and a quantum circuit on the torch engine.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from circuits import Circuit, ParameterVector, TorchBackend, Z
from circuits.library import reuploading_hea
from qml.kan import QKAN
from qml.layers import QuantumLayer
from qml.physics import HNN, baseline_mlp, canonical_matrix, hamiltonian_mlp, orthogonal_tanh_mlp, symplectic_gradient

DOUBLE = torch.float64


class Quadratic(nn.Module):
    """``H = q^2 + p^2`` (the reference code's spring) as a module."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x**2).sum(-1)


class Kepler(nn.Module):
    """``H = |p|^2 / 2 - 1 / |q|`` in the plane, ``x = (qx, qy, px, py)``; returns ``(batch_size, 1)``."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, p = x[:, :2], x[:, 2:]
        return (0.5 * (p**2).sum(-1) - 1.0 / q.norm(dim=-1)).unsqueeze(-1)


def _points(rows: int, dim: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed), dtype=DOUBLE)


def test_the_field_of_the_spring_is_hamiltons_equations():
    x = _points(7, 2)
    q, p = x[:, 0], x[:, 1]
    expected = torch.stack([2 * p, -2 * q], dim=-1)
    torch.testing.assert_close(HNN(Quadratic())(x), expected, rtol=0, atol=1e-14)


def test_the_field_is_generic_in_the_dimension_with_the_canonical_permutation():
    x = _points(6, 4, seed=1) + torch.tensor([3.0, 0.0, 0.0, 0.0], dtype=DOUBLE)  # keep |q| away from 0
    q, p = x[:, :2], x[:, 2:]
    r = q.norm(dim=-1, keepdim=True)
    expected = torch.cat([p, -q / r**3], dim=-1)  # dq/dt = p, dp/dt = -grad V = -q / r^3
    field = HNN(Kepler(), dim=4)(x)
    torch.testing.assert_close(field, expected, rtol=1e-13, atol=1e-13)

    x_leaf = x.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(Kepler()(x_leaf).sum(), x_leaf)
    torch.testing.assert_close(field, gradient @ canonical_matrix(4, dtype=DOUBLE).T)  # J grad H, row by row


def test_canonical_matrix_is_the_symplectic_form():
    j = canonical_matrix(6, dtype=DOUBLE)
    assert torch.equal(j[:3, 3:], torch.eye(3, dtype=DOUBLE)) and torch.equal(j[3:, :3], -torch.eye(3, dtype=DOUBLE))
    torch.testing.assert_close(j @ j, -torch.eye(6, dtype=DOUBLE))
    torch.testing.assert_close(j.T, -j)


def test_under_no_grad_the_field_is_computed_without_a_graph():
    model = HNN(hamiltonian_mlp(2, hidden=8, generator=torch.Generator().manual_seed(0))).double()
    x = _points(5, 2)
    trained = model(x)
    with torch.no_grad():
        evaluated = model(x)
    assert trained.requires_grad and trained.grad_fn is not None
    assert not evaluated.requires_grad
    torch.testing.assert_close(evaluated, trained.detach(), rtol=0, atol=0)


def test_inference_mode_is_refused_with_the_fix():
    with torch.inference_mode(), pytest.raises(RuntimeError, match=r"call the HNN under torch\.no_grad\(\) instead"):
        HNN(Quadratic())(_points(2, 2))


def test_an_input_that_already_requires_grad_keeps_its_graph():
    x = _points(3, 2).requires_grad_(True)
    field = HNN(Quadratic())(x)
    (second,) = torch.autograd.grad(field[:, 0].sum(), x)  # d(2p)/dx = (0, 2)
    torch.testing.assert_close(second, torch.tensor([[0.0, 2.0]] * 3, dtype=DOUBLE))


def _loss(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.mse_loss(model(x), y)  # Eq. 3: the field against (dq/dt, dp/dt)


def _check_weight_gradient(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float = 1e-6) -> int:
    """Autograd's d(loss)/d(weight) against central differences for every trainable weight; returns how many."""
    parameters = [p for p in model.parameters() if p.requires_grad]
    gradients = torch.autograd.grad(_loss(model, x, y), parameters)
    checked = 0
    for parameter, gradient in zip(parameters, gradients, strict=True):
        flat = parameter.data.view(-1)
        numeric = torch.empty_like(flat)
        for index in range(flat.numel()):
            original = flat[index].item()
            with torch.no_grad():
                flat[index] = original + eps
                up = _loss(model, x, y).item()
                flat[index] = original - eps
                down = _loss(model, x, y).item()
                flat[index] = original
            numeric[index] = (up - down) / (2 * eps)
        torch.testing.assert_close(gradient.reshape(-1), numeric, rtol=1e-6, atol=1e-8)
        checked += flat.numel()
    return checked


def test_the_loss_gradient_through_an_mlp_hamiltonian_matches_finite_differences():
    model = HNN(orthogonal_tanh_mlp([2, 5, 5, 1], generator=torch.Generator().manual_seed(3))).double()
    x, y = _points(6, 2, seed=4), _points(6, 2, seed=5)
    assert _check_weight_gradient(model, x, y) == 2 * 5 + 5 + 5 * 5 + 5 + 5


def test_second_derivatives_through_a_qkan_hamiltonian_match_finite_differences():
    qkan = QKAN([2, 2, 1], reps=2, generator=torch.Generator().manual_seed(0), dtype=DOUBLE)
    model = HNN(qkan, dim=2)
    x, y = _points(5, 2, seed=6), _points(5, 2, seed=7)
    assert _check_weight_gradient(model, x, y) > 20

    # and the field itself, dH/dx, against finite differences of the QKAN's output
    eps, field = 1e-6, model(x)
    for axis, sign, column in ((1, 1.0, 0), (0, -1.0, 1)):  # dq/dt = dH/dp, dp/dt = -dH/dq
        step = torch.zeros(2, dtype=DOUBLE)
        step[axis] = eps
        numeric = sign * (model.energy(x + step) - model.energy(x - step)) / (2 * eps)
        torch.testing.assert_close(field[:, column].detach(), numeric.detach(), rtol=1e-7, atol=1e-9)


def _circuit_hamiltonian() -> QuantumLayer:
    """``H = <Z0 Z1>`` after ``RY(q) RY(w0)`` on qubit 0, ``RY(p) RY(w1)`` on qubit 1: ``cos(q + w0) cos(p + w1)``."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    circuit = Circuit(2).ry(x[0], 0).ry(w[0], 0).ry(x[1], 1).ry(w[1], 1)
    backend = TorchBackend(dtype=torch.complex128, diff_method="backprop")
    return QuantumLayer(circuit, Z(0) @ Z(1), backend, generator=torch.Generator().manual_seed(1), dtype=DOUBLE)


def test_a_circuit_hamiltonian_gives_its_closed_form_field():
    layer = _circuit_hamiltonian()
    x = _points(5, 2, seed=8)
    a, b = x[:, 0] + layer.weights["w"][0], x[:, 1] + layer.weights["w"][1]
    expected = torch.stack([-torch.cos(a) * torch.sin(b), torch.sin(a) * torch.cos(b)], dim=-1)
    torch.testing.assert_close(HNN(layer)(x), expected, rtol=1e-12, atol=1e-12)


def test_second_derivatives_through_a_quantum_circuit_hamiltonian_match_finite_differences():
    closed_form = HNN(_circuit_hamiltonian())
    x, y = _points(4, 2, seed=9), _points(4, 2, seed=10)
    assert _check_weight_gradient(closed_form, x, y) == 2

    circuit = reuploading_hea(2, 2, inputs="x", weights="w")  # re-uploads x: H is not a product of cosines
    backend = TorchBackend(dtype=torch.complex128, diff_method="backprop")
    layer = QuantumLayer(circuit, Z(0) + 0.5 * Z(1), backend, generator=torch.Generator().manual_seed(2), dtype=DOUBLE)
    assert _check_weight_gradient(HNN(layer, dim=2), x, y) == 8


def test_a_network_that_is_not_scalar_is_refused_with_the_shapes_and_the_fix():
    model = HNN(baseline_mlp(2, hidden=4, generator=torch.Generator().manual_seed(0)))  # outputs (B, 2)
    with pytest.raises(
        ValueError, match=r"returned \(5, 2\) for points of shape \(5, 2\); expected \(5,\) or \(5, 1\)"
    ):
        model(torch.zeros(5, 2))
    with pytest.raises(ValueError, match=r"End it with a layer of one output"):
        model.energy(torch.zeros(5, 2))


def test_bad_points_and_bad_networks_are_refused():
    model = HNN(Quadratic(), dim=4)
    with pytest.raises(ValueError, match=r"built for 4-dimensional phase space .* got points of shape \(3, 2\)"):
        model(torch.zeros(3, 2))
    with pytest.raises(ValueError, match=r"even width, got shape \(3, 3\)"):
        HNN(Quadratic())(torch.zeros(3, 3))
    with pytest.raises(ValueError, match=r"got shape \(4,\)"):
        HNN(Quadratic())(torch.zeros(4))
    with pytest.raises(TypeError, match=r"must be floating point, got a torch\.int64 tensor"):
        HNN(Quadratic())(torch.zeros(3, 2, dtype=torch.long))
    with pytest.raises(TypeError, match=r"HNN wraps a torch\.nn\.Module .* got function"):
        HNN(lambda x: x.sum(-1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"even dimension 2n >= 2 .* got dim=3"):
        HNN(Quadratic(), dim=3)


def test_symplectic_gradient_takes_a_plain_function():
    x = _points(4, 2)
    torch.testing.assert_close(symplectic_gradient(lambda z: (z**2).sum(-1), x), HNN(Quadratic())(x))


def test_the_paper_mlp_is_seeded_by_its_generator_and_leaves_the_global_one_alone():
    state = torch.random.get_rng_state()
    first = hamiltonian_mlp(2, generator=torch.Generator().manual_seed(5))
    second = hamiltonian_mlp(2, generator=torch.Generator().manual_seed(5))
    assert torch.equal(torch.random.get_rng_state(), state)
    for a, b in zip(first.parameters(), second.parameters(), strict=True):
        assert torch.equal(a, b)
    linears = [m for m in first if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(200, 2), (200, 200), (1, 200)]
    assert linears[-1].bias is None and sum(isinstance(m, nn.Tanh) for m in first) == 2
    square = linears[1].weight.detach()
    torch.testing.assert_close(square @ square.T, torch.eye(200), atol=1e-5, rtol=0)  # orthogonal initial weights
