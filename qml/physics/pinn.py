r"""The physics-informed loss: a differential operator's residual on collocation points, plus constraints.

A PINN (Raissi, Perdikaris, Karniadakis 2019) trains a network :math:`u_\theta` so that a residual
:math:`r[u_\theta](p)` of its differential equation vanishes at collocation points :math:`p_n` of the
domain, together with extra conditions that pin the solution down (initial values, a normalisation):

.. math::

    L(\theta) = \frac{1}{N} \sum_n r[u_\theta](p_n)^2 + \sum_c \lambda_c\, C_c[u_\theta].

:class:`PINNLoss` is that loss as a :class:`~qml.training.ModelLoss`, so the fit loop calls it with the
model and a batch of collocation points. The residual is any function ``residual(model, points)``;
it takes derivatives with :func:`~qml.physics.autodiff.derivative` (the points arrive with
``requires_grad`` set). With a :class:`~qml.physics.causal.CausalWeighting` the residual term is the
causally weighted one while the model trains; evaluation (validation, test) always reports the plain
mean, so causal and plain runs are compared on the same number.
"""

from __future__ import annotations

import abc
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from qml.physics.causal import CausalWeighting
from qml.physics.domain import Domain
from qml.training.losses import ModelLoss

__all__ = ["Condition", "Constraint", "Normalisation", "PINNLoss", "Residual", "one_per_point", "unwrap"]

Residual = Callable[[nn.Module, torch.Tensor], torch.Tensor]
"""``residual(model, points) -> (N,)``: the equation's residual at each point (``points`` is ``(N, d)``
and requires gradients)."""


def unwrap(model: nn.Module) -> nn.Module:
    """The module inside a ``DistributedDataParallel`` wrapper (the model itself otherwise)."""
    return model.module if isinstance(model, nn.parallel.DistributedDataParallel) else model


def _check_weight(owner: str, weight: float) -> float:
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight) or weight < 0:
        raise ValueError(f"{owner} weight must be a finite number >= 0, got {weight!r}.")
    return float(weight)


def one_per_point(values: torch.Tensor, count: int, owner: str) -> torch.Tensor:
    """``values`` as ``(count,)``, accepting ``(count, 1)``; a clear error for any other shape.

    Raises:
        ValueError: not one value per point (names ``owner``, the expected and the given shapes).
    """
    if values.ndim == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if values.shape != (count,):
        raise ValueError(
            f"{owner} must return one value per point, shape ({count},) or ({count}, 1), got {tuple(values.shape)}."
        )
    return values


def _scalar_outputs(model: nn.Module, points: torch.Tensor, owner: str) -> torch.Tensor:
    """``model(points)`` as ``(N,)``."""
    return one_per_point(model(points), points.shape[0], f"the model of {owner}")


class Constraint(abc.ABC):
    r"""An extra term of a PINN loss, ``weight * penalty(model)``, evaluated on points of its own.

    Attributes:
        name: the term's name (in :attr:`PINNLoss.last_terms`).
        weight: its factor :math:`\lambda_c` in the loss.
    """

    name: str
    weight: float

    @abc.abstractmethod
    def penalty(self, model: nn.Module) -> torch.Tensor:
        """The unweighted penalty, a differentiable scalar (zero when the constraint holds)."""


class Normalisation(Constraint):
    r"""``(integral of u^2 over the domain - 1)^2`` by the trapezoid rule on a fixed grid.

    For a wavefunction :math:`\int_a^b \psi(x)^2\,dx = 1` (Sarkar 2025; docs/papers.md §6).

    Args:
        domain: a one-dimensional domain ``[a, b]``.
        num_points: grid points, both ends included (the trapezoid rule's error is
            :math:`O(h^2)`, ``h = (b - a) / (num_points - 1)``).
        weight: :math:`\lambda` of the term.
    """

    name = "normalisation"

    def __init__(self, domain: Domain, num_points: int = 201, weight: float = 1.0) -> None:
        if domain.dim != 1:
            raise ValueError(f"Normalisation integrates over one coordinate; got the domain {domain}.")
        self.domain, self.weight = domain, _check_weight("Normalisation", weight)
        self.grid = domain.grid(num_points, dtype=torch.float64)

    def integral(self, model: nn.Module) -> torch.Tensor:
        r""":math:`\int u^2`, differentiable, in the dtype of the model's first parameter."""
        dtype = next((p.dtype for p in model.parameters()), torch.float32)
        device = next((p.device for p in model.parameters()), torch.device("cpu"))
        grid = self.grid.to(dtype=dtype, device=device)
        values = _scalar_outputs(model, grid, "Normalisation")
        return torch.trapezoid(values.pow(2), grid[:, 0])

    def penalty(self, model: nn.Module) -> torch.Tensor:
        """``(integral - 1)^2``."""
        return (self.integral(model) - 1.0).pow(2)


class Condition(Constraint):
    r"""``mean((u(points) - values)^2)``: values the solution must take at given points (an initial condition).

    Args:
        points: where, ``(P, d)``, inside ``domain``.
        values: the values there, ``(P,)``.
        domain: the problem's domain (the points are checked against it).
        weight: :math:`\lambda` of the term.
        name: the term's name (``"initial"``, ``"boundary"`` ...).
    """

    def __init__(
        self,
        points: torch.Tensor,
        values: torch.Tensor,
        domain: Domain,
        *,
        weight: float = 1.0,
        name: str = "condition",
    ) -> None:
        domain.check(points, f"the points of the {name!r} condition")
        if not isinstance(values, torch.Tensor) or values.shape != (points.shape[0],):
            given = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(
                f"the {name!r} condition needs one value per point, shape ({points.shape[0]},), got {given}."
            )
        self.points, self.values = points, values
        self.weight, self.name = _check_weight(f"the {name!r} condition", weight), name

    def penalty(self, model: nn.Module) -> torch.Tensor:
        """The mean squared miss."""
        dtype = next((p.dtype for p in model.parameters()), self.points.dtype)
        device = next((p.device for p in model.parameters()), self.points.device)
        outputs = _scalar_outputs(model, self.points.to(dtype=dtype, device=device), f"the {self.name!r} condition")
        return (outputs - self.values.to(dtype=dtype, device=device)).pow(2).mean()


class PINNLoss(ModelLoss):
    """Mean squared residual on the batch's collocation points plus weighted constraints.

    Args:
        residual: ``residual(model, points) -> (N,)`` (see :data:`Residual`).
        domain: where collocation points may lie; every batch is checked against it.
        constraints: extra terms (:class:`Normalisation`, :class:`Condition`, your own :class:`Constraint`).
        causal: weight the residual by time chunks while training (:class:`CausalWeighting`); its time is
            the domain's coordinate ``time``.
        time: the name of the time coordinate for ``causal``.

    Attributes:
        last_terms: the value of every term at the last call: ``residual`` and each constraint's name
            (weighted), floats.

    Shape:
        The fit loop's inputs are the collocation points ``(N, d)``; targets are ignored.

    Raises (when called):
        TypeError, ValueError: points that are not ``(N, d)`` floats, not finite, or outside the domain
            (from :meth:`Domain.check`), or a residual that is not ``(N,)``.
    """

    def __init__(
        self,
        residual: Residual,
        domain: Domain,
        *,
        constraints: Sequence[Constraint] = (),
        causal: CausalWeighting | None = None,
        time: str = "t",
    ) -> None:
        if not callable(residual):
            raise TypeError(f"PINNLoss needs a callable residual(model, points), got {type(residual).__name__}.")
        if not isinstance(domain, Domain):
            raise TypeError(f"PINNLoss needs a qml.physics.Domain, got {type(domain).__name__}.")
        for constraint in constraints:
            if not isinstance(constraint, Constraint):
                raise TypeError(f"PINNLoss constraints must be Constraint objects, got {type(constraint).__name__}.")
        if causal is not None and not isinstance(causal, CausalWeighting):
            raise TypeError(f"PINNLoss causal must be a CausalWeighting or None, got {type(causal).__name__}.")
        self.residual, self.domain, self.constraints, self.causal = residual, domain, tuple(constraints), causal
        self.time_column = domain.index(time) if causal is not None else None
        self.last_terms: dict[str, float] = {}

    def __repr__(self) -> str:
        parts = [getattr(self.residual, "__name__", type(self.residual).__name__), str(self.domain)]
        parts += [f"{c.name} x {c.weight:g}" for c in self.constraints]
        if self.causal is not None:
            parts.append(repr(self.causal))
        return f"PINNLoss({', '.join(parts)})"

    def residuals(self, model: nn.Module, points: torch.Tensor) -> torch.Tensor:
        """The residual at every point, ``(N,)``, after checking the points (gradients kept)."""
        self.domain.check(points)
        points = points.detach().clone().requires_grad_(True)
        values = self.residual(model, points)
        if not isinstance(values, torch.Tensor) or values.shape != (points.shape[0],):
            given = tuple(values.shape) if isinstance(values, torch.Tensor) else type(values).__name__
            raise ValueError(
                f"the residual must return one value per collocation point, ({points.shape[0]},), got {given}."
            )
        return values

    def __call__(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """The loss on the collocation points ``inputs``."""
        squared = self.residuals(model, inputs).pow(2)
        if self.causal is not None and model.training:
            residual_term = self.causal(squared, inputs[:, self.time_column])
        else:
            residual_term = squared.mean()
        terms = {"residual": residual_term}
        for constraint in self.constraints:
            terms[constraint.name] = constraint.weight * constraint.penalty(model)
        self.last_terms = {name: float(value.detach()) for name, value in terms.items()}
        return torch.stack(list(terms.values())).sum()
