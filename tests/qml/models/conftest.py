"""Shared checks of the image-classifier tests: autograd against central finite differences, and the fast path
(``backend=None``) against the model's circuits on our engine and on Aer."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch

from circuits import TorchBackend
from circuits.backends.aer import AerBackend


def _check(loss: Callable[[], torch.Tensor], parameter: torch.nn.Parameter, indices: Sequence) -> None:
    """``d loss / d parameter[index]`` by autograd equals the central difference with step 1e-6, to 1e-7."""
    (grad,) = torch.autograd.grad(loss(), parameter)
    for index in indices:
        original = float(parameter.data[index])
        values = []
        for shift in (1e-6, -1e-6):
            parameter.data[index] = original + shift
            with torch.no_grad():
                values.append(float(loss()))
        parameter.data[index] = original
        assert abs((values[0] - values[1]) / 2e-6 - float(grad[index])) < 1e-7, index


@pytest.fixture
def matches_finite_differences() -> Callable[[Callable[[], torch.Tensor], torch.nn.Parameter, Sequence], None]:
    """``check(loss, parameter, indices)``: float64 models only."""
    return _check


def _matches_its_circuit(
    model: torch.nn.Module, images: torch.Tensor, parameter: torch.nn.Parameter, column: int
) -> torch.Tensor:
    """The fast path equals the model's circuits on our complex128 engine: the outputs to 1e-12, the gradient of
    ``outputs[:, column].sum()`` in ``parameter`` to 1e-10. Leaves ``model.backend`` None; returns the outputs."""
    model.backend = None
    fast = model(images)
    (fast_grad,) = torch.autograd.grad(fast[:, column].sum(), parameter)
    model.backend = TorchBackend(dtype=torch.complex128)
    try:
        circuit_out = model(images)
        (circuit_grad,) = torch.autograd.grad(circuit_out[:, column].sum(), parameter)
    finally:
        model.backend = None
    torch.testing.assert_close(circuit_out, fast, atol=1e-12, rtol=0)
    torch.testing.assert_close(circuit_grad, fast_grad, atol=1e-10, rtol=0)
    return fast.detach()


@pytest.fixture
def matches_its_circuit() -> Callable[[torch.nn.Module, torch.Tensor, torch.nn.Parameter, int], torch.Tensor]:
    """``check(model, images, parameter, column)``: float64 models only."""
    return _matches_its_circuit


def _matches_aer(model: torch.nn.Module, images: torch.Tensor, seed: int, shots: int = 4000) -> None:
    """The fast path's probabilities equal Aer's exact ones to 1e-10, and ``shots`` samples within 5 sigma."""
    model.backend = None
    fast = model(images).detach()
    try:
        model.backend = AerBackend()
        torch.testing.assert_close(model(images).detach().double(), fast, atol=1e-10, rtol=0)
        model.backend = AerBackend(shots=shots, seed=seed)
        sampled = model(images).detach().double()
    finally:
        model.backend = None
    sigma = torch.sqrt(fast * (1 - fast) / shots)
    assert bool(((sampled - fast).abs() <= 5 * sigma + 1e-12).all())


@pytest.fixture
def matches_aer() -> Callable[[torch.nn.Module, torch.Tensor, int], None]:
    """``check(model, images, seed)``: models whose outputs are probabilities, float64."""
    return _matches_aer
