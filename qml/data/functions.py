"""Function-regression datasets of the KAN and QKAN papers (pykan's ``create_dataset`` recipe).

Inputs are drawn uniformly from ``[-1, 1]^d`` with a seeded generator, targets are ``f(x)``; the
QKAN repository's examples fit the J0-like ``sinc(20 x) = sin(20 x) / (20 x)`` and the KAN paper's
``exp(sin(pi x1) + x2^2)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from qml.data.base import Split

__all__ = ["FUNCTIONS", "function_regression"]


def _sinc20(x: torch.Tensor) -> torch.Tensor:
    z = 20.0 * x[:, 0]
    return torch.where(z == 0, torch.ones_like(z), torch.sin(z) / torch.where(z == 0, torch.ones_like(z), z))


def _exp_sin(x: torch.Tensor) -> torch.Tensor:
    return torch.exp(torch.sin(math.pi * x[:, 0]) + x[:, 1] ** 2)


FUNCTIONS: dict[str, tuple[int, Callable[[torch.Tensor], torch.Tensor], str]] = {
    "sinc20": (1, _sinc20, "sin(20 x) / (20 x)"),
    "exp_sin": (2, _exp_sin, "exp(sin(pi x1) + x2^2)"),
}
"""name -> (input dimension, f, formula)."""


def function_regression(name: str, num_train: int = 1000, num_test: int = 1000, seed: int = 0) -> Split:
    """``x ~ U[-1, 1]^d`` and ``y = f(x)`` for one of :data:`FUNCTIONS`.

    Args:
        name: ``"sinc20"`` or ``"exp_sin"``.
        num_train: training samples.
        num_test: test samples (drawn after the training ones from the same generator).
        seed: seeds the input draws.

    Returns:
        A :class:`Split` (``info``: ``task``, ``formula``, ``seed``).

    Shape:
        - ``x_*``: ``(N, d)`` float32; ``y_*``: ``(N,)`` float32.
    """
    if name not in FUNCTIONS:
        raise ValueError(f"unknown function {name!r}; choose one of {', '.join(FUNCTIONS)}.")
    dim, function, formula = FUNCTIONS[name]
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(num_train + num_test, dim, generator=generator, dtype=torch.float64) * 2 - 1
    y = function(x)
    x, y = x.float(), y.float()
    return Split(
        name,
        x[:num_train],
        y[:num_train],
        x[num_train:],
        y[num_train:],
        {"task": "regression", "formula": formula, "seed": seed, "source": "Liu et al. 2024 (KAN); qkan examples"},
    )
