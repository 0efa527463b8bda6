"""Losses that see the model and the raw batch, not only the model's outputs.

The fit loop's usual loss is ``loss_fn(outputs, targets)``. A physics-informed loss cannot be written that
way: a PINN's residual ``-psi'' + V psi - E psi`` needs second derivatives of the model with respect to its
inputs at the collocation points, and extra terms (a normalisation integral, boundary values) evaluate the
model at other points. Wrap such a loss in :class:`ModelLoss` (or decorate a function with
:func:`model_loss`) and :func:`~qml.training.fit.fit` calls it as ``loss(model, inputs, targets)``::

    @model_loss
    def residual_loss(model, x, _targets):
        x = x.requires_grad_(True)
        u = model(x)
        (du,) = torch.autograd.grad(u.sum(), x, create_graph=True)
        return (du - u).pow(2).mean()

    fit(model, residual_loss, optimizer, (points, torch.zeros(len(points))), config=config)

Validation evaluates it batch by batch with gradients enabled (so derivatives with respect to the inputs
exist) but with the model in evaluation mode, and never steps the weights.
"""

from __future__ import annotations

import abc
import functools
from collections.abc import Callable

import torch
from torch import nn

__all__ = ["LossFn", "ModelLoss", "compute_loss", "model_loss"]


class ModelLoss(abc.ABC):
    """A loss computed from the model and the batch: ``loss(model, inputs, targets) -> scalar``.

    Subclass it and implement :meth:`__call__`, or wrap a function with :func:`model_loss`. The value must
    be a mean over the batch (validation weights batches by their row counts).
    """

    @abc.abstractmethod
    def __call__(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The scalar loss of ``model`` on one batch ``(inputs, targets)``."""


class _FunctionLoss(ModelLoss):
    def __init__(self, function: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]) -> None:
        functools.update_wrapper(self, function)
        self._function = function

    def __call__(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        return self._function(model, inputs, targets)

    def __repr__(self) -> str:
        return f"model_loss({getattr(self._function, '__qualname__', self._function)!r})"


def model_loss(function: Callable[[nn.Module, torch.Tensor, torch.Tensor], torch.Tensor]) -> ModelLoss:
    """Mark ``function(model, inputs, targets) -> scalar`` as a loss that sees the model (a decorator).

    Raises:
        TypeError: ``function`` is not callable.
    """
    if not callable(function):
        raise TypeError(f"model_loss wraps a function (model, inputs, targets) -> loss, got {type(function).__name__}.")
    return _FunctionLoss(function)


LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | ModelLoss
"""What :func:`~qml.training.fit.fit` accepts: ``loss(outputs, targets)`` or a :class:`ModelLoss`."""


def compute_loss(loss_fn: LossFn, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """The loss of one batch.

    ``loss_fn(model, inputs, targets)`` for a :class:`ModelLoss`, else ``loss_fn(model(inputs), targets)``.
    """
    if isinstance(loss_fn, ModelLoss):
        return loss_fn(model, inputs, targets)
    return loss_fn(model(inputs), targets)
