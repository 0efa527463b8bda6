r"""The quantum-well PINN of Sarkar 2025 (arXiv 2504.05367; docs/papers.md §6): ``psi`` and ``E`` learnt together.

The time-independent Schrödinger equation in the units :math:`-\psi'' + V(x)\,\psi = E\,\psi` on
``[a, b]`` with :math:`\psi(a) = \psi(b) = 0`. The model is a trial function that meets the walls
exactly (:class:`~qml.physics.trial.DirichletTrial`) and the energy ``E``, a trainable
``nn.Parameter`` (or a fixed buffer). The loss (:func:`schrodinger_loss`) is

.. math::

    L = \frac{1}{N} \sum_n \frac{r(x_n)^2}{\int \psi^2} + \lambda \Big(\int_a^b \psi^2\,dx - 1\Big)^2,
    \qquad r = -\psi'' + V\psi - E\psi,

with the integrals by the trapezoid rule on a fixed grid. The residual is measured relative to the
norm (``relative=True``, our choice): papers.md's :math:`\text{mean}(r^2) + \lambda(\int\psi^2 - 1)^2`
has its minimum at :math:`\psi = 0` whenever :math:`\lambda` is below half the mean squared residual of
the normalised trial function, which for a potential of height 100 is the case at initialisation;
divided by :math:`\int\psi^2` the residual term is blind to the scale of :math:`\psi` and the
normalisation term alone sets it.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from qml.physics.autodiff import derivative
from qml.physics.domain import Domain
from qml.physics.pinn import Normalisation, PINNLoss, unwrap
from qml.physics.quantum_wells import Potential

__all__ = ["SchrodingerPINN", "SchrodingerResidual", "check_potential", "schrodinger_loss"]


def check_potential(potential: Potential, x: torch.Tensor) -> torch.Tensor:
    """``V(x)``, checked: the same shape as ``x`` and finite.

    Raises:
        TypeError: ``potential`` is not callable or returns no tensor.
        ValueError: a value of the wrong shape, or not finite (the message says where).
    """
    if not callable(potential):
        raise TypeError(
            f"the potential must be a callable V(x) on a tensor of positions, got {type(potential).__name__}."
        )
    values = potential(x)
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"the potential must return a torch.Tensor, got {type(values).__name__}.")
    if values.shape != x.shape:
        raise ValueError(
            f"the potential must return one value per position, shape {tuple(x.shape)}, got {tuple(values.shape)}."
        )
    bad = ~torch.isfinite(values.detach())
    if bool(bad.any()):
        where = x.detach()[bad]
        shown = ", ".join(f"{float(v):.6g}" for v in where[:5]) + (", ..." if len(where) > 5 else "")
        raise ValueError(
            f"the potential is not finite at x = {shown} ({int(bad.sum())} of {x.numel()} points). A PINN needs a "
            "finite V on the whole domain: model an infinite wall by the domain's end (psi vanishes there), "
            "or use a large finite height."
        )
    return values


class SchrodingerPINN(nn.Module):
    """A wavefunction ``psi(x)`` and its energy ``E``.

    Args:
        trial: the wavefunction, ``(N, 1) -> (N,)`` (a :class:`~qml.physics.trial.DirichletTrial`).
        energy: the initial (or fixed) ``E``.
        trainable_energy: ``E`` is an ``nn.Parameter`` trained with the weights (default), else a buffer.
        dtype: dtype of ``E``.

    Attributes:
        energy: ``E``, a 0-d tensor.

    Shape:
        - Input: ``(N, 1)``.
        - Output: ``(N,)``, ``psi`` at the points.
    """

    def __init__(
        self, trial: nn.Module, energy: float, *, trainable_energy: bool = True, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        if not isinstance(trial, nn.Module):
            raise TypeError(f"SchrodingerPINN needs a torch.nn.Module trial function, got {type(trial).__name__}.")
        if isinstance(energy, bool) or not isinstance(energy, int | float) or not math.isfinite(energy):
            raise ValueError(f"SchrodingerPINN needs a finite initial energy, got {energy!r}.")
        self.trial = trial
        value = torch.tensor(float(energy), dtype=dtype)
        if trainable_energy:
            self.energy = nn.Parameter(value)
        else:
            self.register_buffer("energy", value)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """``psi`` at ``points``."""
        return self.trial(points)


class SchrodingerResidual:
    r""":math:`r = -\psi'' + V\psi - E\psi` at collocation points, optionally over :math:`\sqrt{\int\psi^2}`.

    Args:
        potential: ``V(x)``, elementwise; checked finite on a grid of the domain here and at every batch.
        domain: the one-dimensional box.
        normalisation: with ``relative=True``, the grid whose :math:`\int \psi^2` divides the residual.
        relative: divide by :math:`\sqrt{\int\psi^2}` (see the module's docstring).
    """

    __name__ = "schrodinger_residual"

    def __init__(
        self, potential: Potential, domain: Domain, normalisation: Normalisation | None = None, *, relative: bool = True
    ) -> None:
        if domain.dim != 1:
            raise ValueError(f"the Schrödinger residual here is one-dimensional; got the domain {domain}.")
        check_potential(potential, domain.grid(1001, dtype=torch.float64)[:, 0])
        if relative and normalisation is None:
            raise ValueError("a relative residual needs the Normalisation whose integral it divides by.")
        self.potential, self.normalisation, self.relative = potential, normalisation, relative

    def __call__(self, model: nn.Module, points: torch.Tensor) -> torch.Tensor:
        """The residual at ``points`` ``(N, 1)``, ``(N,)``."""
        psi = model(points)
        second = derivative(psi, points, 0, order=2)
        potential = check_potential(self.potential, points[:, 0].detach())
        energy = getattr(unwrap(model), "energy", None)
        if not isinstance(energy, torch.Tensor):
            raise TypeError(
                "the Schrödinger residual needs a model with an energy tensor (a SchrodingerPINN), "
                f"got {type(model).__name__}."
            )
        residual = -second + (potential - energy) * psi
        if self.relative:
            assert self.normalisation is not None
            residual = residual / self.normalisation.integral(model).sqrt()
        return residual


def schrodinger_loss(
    potential: Potential,
    domain: Domain,
    *,
    normalisation_weight: float = 1.0,
    grid_points: int = 201,
    relative: bool = True,
) -> PINNLoss:
    r"""Sarkar's loss: the Schrödinger residual on the collocation points plus the normalisation term.

    Args:
        potential: ``V(x)``.
        domain: the box (the collocation points must lie in it).
        normalisation_weight: :math:`\lambda`.
        grid_points: points of the trapezoid grid of :math:`\int \psi^2`.
        relative: measure the residual relative to the norm (module docstring).
    """
    normalisation = Normalisation(domain, grid_points, normalisation_weight)
    residual = SchrodingerResidual(potential, domain, normalisation, relative=relative)
    return PINNLoss(residual, domain, constraints=[normalisation])
