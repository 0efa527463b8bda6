r"""One-dimensional square potentials in a box, and their reference energies.

Units (Sarkar 2025; docs/papers.md §6): :math:`-\psi'' + V(x)\,\psi = E\,\psi` on ``[a, b]`` with hard walls,
:math:`\psi(a) = \psi(b) = 0` (that is :math:`\hbar^2 / 2m = 1`). The infinite well on ``[0, 1]`` has
:math:`E_n = n^2 \pi^2`.

A :class:`SquarePotential` is ``inside`` for :math:`|x - c| < w/2` and ``outside`` elsewhere in the box,
with ``c`` the middle of the box: a finite well (``inside = 0``, ``outside = depth``), a barrier
(``inside = height``, ``outside = 0``), or the empty box (the infinite well). Two references:

* :func:`exact_ground_energy`: the even ground state's transcendental equation *with the box's walls*
  (derived in docs/pinn.md), solved by bracketing:

  - well, :math:`k = \sqrt{E}`, :math:`\kappa = \sqrt{V_0 - E}`, half-width :math:`\alpha = w/2`,
    gap to the wall :math:`d = (b - a)/2 - \alpha`: :math:`k \tan(k \alpha) = \kappa \coth(\kappa d)`
    (the textbook :math:`k \tan(k\alpha) = \kappa` is the limit :math:`d \to \infty`);
  - barrier: :math:`k \cot(k d) + \kappa \tanh(\kappa \alpha) = 0`;

* :func:`finite_difference_levels`: the lowest eigenpairs of the three-point discretisation of
  :math:`-d^2/dx^2 + V` on a fine grid (scipy's tridiagonal eigensolver), with ``V`` at each grid point
  averaged against the hat function of the three-point stencil, so that a jump of ``V`` between grid
  points costs :math:`O(h / m)` for ``m`` quadrature samples instead of :math:`O(h)` (defaults: relative
  error below 1e-6 for the wells and barrier of the recipes, tested against the exact energies).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from scipy.linalg import eigh_tridiagonal
from scipy.optimize import brentq

from qml.physics.domain import Domain

__all__ = [
    "Levels",
    "SquarePotential",
    "exact_ground_energy",
    "finite_difference_levels",
    "infinite_well",
    "infinite_well_ground_state",
    "square_barrier",
    "square_well",
]

Potential = Callable[[torch.Tensor], torch.Tensor]
"""``V(x)``: elementwise on a tensor of positions."""


def _positive(owner: str, name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{owner} needs a finite {name} > 0, got {value!r}.")
    return float(value)


def _box(domain: Domain | tuple[float, float]) -> Domain:
    box = domain if isinstance(domain, Domain) else Domain.interval(*domain)
    if box.dim != 1:
        raise ValueError(f"a square potential lives on one coordinate; got the domain {box}.")
    return box


@dataclass(frozen=True)
class SquarePotential:
    """``V(x) = inside`` for ``|x - c| < width / 2``, ``outside`` elsewhere in the box; hard walls at its ends.

    Build one with :func:`infinite_well`, :func:`square_well` or :func:`square_barrier`.

    Attributes:
        kind: ``"infinite well"``, ``"finite well"`` or ``"barrier"``.
        domain: the box ``[a, b]``; ``c = (a + b) / 2``.
        width: ``w``, the width of the inner region, ``0 < w <= b - a``.
        inside: ``V`` in the inner region.
        outside: ``V`` between the inner region and the walls.
    """

    kind: str
    domain: Domain
    width: float
    inside: float
    outside: float

    @property
    def center(self) -> float:
        """``c``, the middle of the box."""
        ((low, high),) = self.domain.bounds
        return 0.5 * (low + high)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """``V(x)``, elementwise, in the dtype of ``x``."""
        inner = (x - self.center).abs() < 0.5 * self.width
        return torch.where(inner, torch.full_like(x, self.inside), torch.full_like(x, self.outside))

    def facts(self) -> dict[str, Any]:
        """The parameters as plain JSON values (the ``"potential"`` of a recipe's summary)."""
        ((low, high),) = self.domain.bounds
        facts: dict[str, Any] = {"kind": self.kind, "domain": [low, high], "width": self.width}
        if self.kind == "finite well":
            facts["depth"] = self.outside - self.inside
        elif self.kind == "barrier":
            facts["height"] = self.inside - self.outside
        facts.update(inside=self.inside, outside=self.outside, center=self.center)
        facts["units"] = "-psi'' + V(x) psi = E psi, psi = 0 at both ends of the domain"
        return facts


def infinite_well(domain: Domain | tuple[float, float] = (0.0, 1.0)) -> SquarePotential:
    r"""``V = 0`` in the box: the infinite square well, :math:`E_n = n^2 \pi^2 / (b - a)^2`."""
    box = _box(domain)
    ((low, high),) = box.bounds
    return SquarePotential("infinite well", box, high - low, 0.0, 0.0)


def square_well(depth: float, width: float, domain: Domain | tuple[float, float] = (0.0, 1.0)) -> SquarePotential:
    """A finite well: ``V = 0`` for ``|x - c| < width / 2``, ``V = depth`` out to the walls.

    Raises:
        ValueError: ``depth`` or ``width`` not positive and finite, or ``width`` not below the box's length.
    """
    return _square("square_well", "depth", depth, width, domain, inner_is_step=False)


def square_barrier(height: float, width: float, domain: Domain | tuple[float, float] = (0.0, 1.0)) -> SquarePotential:
    """A barrier: ``V = height`` for ``|x - c| < width / 2``, ``V = 0`` out to the walls.

    Raises:
        ValueError: ``height`` or ``width`` not positive and finite, or ``width`` not below the box's length.
    """
    return _square("square_barrier", "height", height, width, domain, inner_is_step=True)


def _square(
    owner: str, name: str, step: float, width: float, domain: Domain | tuple[float, float], *, inner_is_step: bool
) -> SquarePotential:
    box = _box(domain)
    step, width = _positive(owner, name, step), _positive(owner, "width", width)
    ((low, high),) = box.bounds
    if width >= high - low:
        raise ValueError(f"{owner} width must be below the length of the box {box} ({high - low:g}), got {width:g}.")
    if inner_is_step:
        return SquarePotential("barrier", box, width, step, 0.0)
    return SquarePotential("finite well", box, width, 0.0, step)


def infinite_well_ground_state(x: torch.Tensor, domain: Domain | tuple[float, float] = (0.0, 1.0)) -> torch.Tensor:
    r""":math:`\sqrt{2/L}\,\sin(\pi (x - a)/L)`, ``L = b - a``: the normalised ground state of the empty box."""
    ((low, high),) = _box(domain).bounds
    length = high - low
    return math.sqrt(2.0 / length) * torch.sin(math.pi * (x - low) / length)


def exact_ground_energy(potential: SquarePotential, *, xtol: float = 1e-13) -> float:
    """The ground-state energy from the even state's transcendental equation, walls included (docs/pinn.md).

    Raises:
        ValueError: the ground state lies above the step (``E >= V0``), where these equations do not apply
            (make the well deeper or wider, the barrier higher).
    """
    if not isinstance(potential, SquarePotential):
        raise TypeError(f"exact_ground_energy needs a SquarePotential, got {type(potential).__name__}.")
    ((low, high),) = potential.domain.bounds
    half_width = 0.5 * potential.width
    gap = 0.5 * (high - low) - half_width  # from the edge of the inner region to the wall
    if potential.inside == potential.outside or gap <= 0:
        return potential.inside + (math.pi / (high - low)) ** 2
    well = potential.inside < potential.outside
    base = min(potential.inside, potential.outside)
    step = abs(potential.outside - potential.inside)

    def wavenumbers(energy: float) -> tuple[float, float]:
        return math.sqrt(energy), math.sqrt(step - energy)

    if well:  # k tan(k alpha) = kappa coth(kappa d), increasing in E on (0, (pi / 2 alpha)^2)

        def mismatch(energy: float) -> float:
            k, kappa = wavenumbers(energy)
            outer = 1.0 / gap if kappa == 0 else kappa / math.tanh(kappa * gap)
            return k * math.tan(k * half_width) - outer

        pole = (math.pi / (2.0 * half_width)) ** 2
    else:  # k cot(k d) + kappa tanh(kappa alpha) = 0, decreasing in E on (0, (pi / d)^2)

        def mismatch(energy: float) -> float:
            k, kappa = wavenumbers(energy)
            return -(k / math.tan(k * gap) + kappa * math.tanh(kappa * half_width))

        pole = (math.pi / gap) ** 2
    upper = min(step, pole * (1.0 - 1e-15))
    lower = 1e-12 * min(step, pole)
    if upper == step and mismatch(step) <= 0:
        raise ValueError(
            f"the ground state of this {potential.kind} lies at or above the step V0 = {step:g}, where the "
            "transcendental equation used here does not apply; make the step higher or the inner region wider, "
            "or use finite_difference_levels."
        )
    return base + brentq(mismatch, lower, upper, xtol=xtol, rtol=4 * np.finfo(float).eps)


@dataclass(frozen=True)
class Levels:
    """The lowest eigenpairs of a discretised Schrödinger operator.

    Attributes:
        energies: ascending, ``(k,)``.
        x: the grid, walls included, ``(n + 2,)``.
        states: normalised (``∫ psi^2 = 1`` by the trapezoid rule), zero at the walls, each signed so that
            its value of largest magnitude is positive, ``(n + 2, k)``.
    """

    energies: torch.Tensor
    x: torch.Tensor
    states: torch.Tensor

    def state_at(self, points: torch.Tensor, level: int = 0) -> torch.Tensor:
        """State ``level`` interpolated linearly at ``points`` (any shape), float64."""
        values = np.interp(points.detach().cpu().double().numpy(), self.x.numpy(), self.states[:, level].numpy())
        return torch.from_numpy(values)


def finite_difference_levels(
    potential: Potential,
    domain: Domain | tuple[float, float],
    *,
    num_levels: int = 1,
    num_points: int = 20_000,
    subsamples: int = 256,
) -> Levels:
    r"""The lowest ``num_levels`` eigenpairs of :math:`-\psi'' + V\psi` with :math:`\psi = 0` at the walls.

    Three-point second difference on ``num_points`` interior points, spacing ``h = (b - a) / (num_points + 1)``;
    ``V`` at point ``x_j`` is its average over ``[x_j - h, x_j + h]`` weighted by the stencil's hat function
    ``1 - |x - x_j| / h``, by the midpoint rule on ``subsamples`` points (the finite-element view of the
    stencil: a jump of ``V`` inside a cell then costs ``O(h / subsamples)``, not ``O(h)``).

    Raises:
        ValueError: ``V`` is not finite somewhere on the grid, or bad counts.
    """
    box = _box(domain)
    for name, value, least in (
        ("num_levels", num_levels, 1),
        ("num_points", num_points, 3),
        ("subsamples", subsamples, 1),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"finite_difference_levels needs an int {name} >= {least}, got {value!r}.")
    ((low, high),) = box.bounds
    x = torch.linspace(low, high, num_points + 2, dtype=torch.float64)
    h = (high - low) / (num_points + 1)
    offsets = 2.0 * (torch.arange(subsamples, dtype=torch.float64) + 0.5) / subsamples - 1.0  # midpoints in (-1, 1)
    hat = 1.0 - offsets.abs()
    samples = x[1:-1, None] + h * offsets[None, :]
    values = potential(samples)
    if not bool(torch.isfinite(values).all()):
        where = samples[~torch.isfinite(values)]
        raise ValueError(
            f"the potential is not finite at {len(where)} grid points, x from {float(where.min()):.6g} to "
            f"{float(where.max()):.6g}; finite_difference_levels needs a finite V on {box}."
        )
    diagonal = 2.0 / h**2 + (values @ (hat / hat.sum())).numpy()
    off_diagonal = np.full(num_points - 1, -1.0 / h**2)
    energies, vectors = eigh_tridiagonal(diagonal, off_diagonal, select="i", select_range=(0, num_levels - 1))
    states = np.zeros((num_points + 2, num_levels))
    states[1:-1] = vectors
    states /= np.sqrt(np.trapezoid(states**2, x.numpy(), axis=0))
    states *= np.sign(states[np.abs(states).argmax(axis=0), np.arange(num_levels)])
    return Levels(torch.from_numpy(energies), x, torch.from_numpy(states))
