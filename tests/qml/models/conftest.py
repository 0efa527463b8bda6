"""Shared check of the image-classifier tests: autograd against central finite differences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import pytest
import torch


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
