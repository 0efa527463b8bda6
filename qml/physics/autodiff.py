"""Derivatives of a model's outputs with respect to its inputs, by autograd, batched over collocation points.

A PINN residual needs ``u_x``, ``u_xx``, ``u_t`` at every collocation point. For a model that maps each
row independently (no batch statistics), ``d/dx sum_n u(x_n) = u'(x_n)`` row by row, so one
``torch.autograd.grad`` of the summed outputs gives the derivative at every point at once. Every
derivative is taken with ``create_graph=True``: it is itself differentiable, so a higher derivative
can be taken from it and a loss built from it trains the model's weights.
"""

from __future__ import annotations

import torch

__all__ = ["derivative", "gradient"]


def gradient(outputs: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
    """``d outputs[n] / d inputs[n, :]`` for every row ``n``, differentiable (``create_graph=True``).

    Args:
        outputs: one value per row, computed from ``inputs`` row by row.
        inputs: the points, with ``requires_grad`` set before ``outputs`` was computed.

    Returns:
        The gradient of each output with respect to its row (zeros where the output does not depend on it).

    Shape:
        - outputs: ``(N,)``.
        - inputs: ``(N, d)``.
        - Output: ``(N, d)``.

    Raises:
        ValueError: ``inputs`` does not require gradients, or ``outputs`` is not ``(N,)``.
    """
    if not inputs.requires_grad:
        raise ValueError(
            "gradient() needs inputs that require gradients: call points.requires_grad_(True) before "
            "evaluating the model on them."
        )
    if outputs.ndim != 1 or outputs.shape[0] != inputs.shape[0]:
        raise ValueError(
            f"gradient() needs one output per input row, shape ({inputs.shape[0]},), got {tuple(outputs.shape)}."
        )
    if not outputs.requires_grad:
        return torch.zeros_like(inputs)
    (grad,) = torch.autograd.grad(outputs.sum(), inputs, create_graph=True, allow_unused=True)
    return torch.zeros_like(inputs) if grad is None else grad


def derivative(outputs: torch.Tensor, inputs: torch.Tensor, column: int = 0, order: int = 1) -> torch.Tensor:
    """The ``order``-th derivative of ``outputs`` with respect to coordinate ``column`` of ``inputs``.

    ``derivative(u, points, 1, 2)`` is ``u_xx`` for points with columns ``(t, x)``.

    Shape:
        - outputs: ``(N,)``; inputs: ``(N, d)``; returns ``(N,)``.

    Raises:
        ValueError: ``order < 1``, ``column`` outside ``0..d-1``, or as :func:`gradient`.
    """
    if isinstance(order, bool) or not isinstance(order, int) or order < 1:
        raise ValueError(f"derivative() needs a positive int order, got {order!r}.")
    if isinstance(column, bool) or not isinstance(column, int) or not 0 <= column < inputs.shape[-1]:
        raise ValueError(f"derivative() needs a column in 0..{inputs.shape[-1] - 1}, got {column!r}.")
    result = outputs
    for _ in range(order):
        result = gradient(result, inputs)[:, column]
    return result
