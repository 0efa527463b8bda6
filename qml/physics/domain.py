"""The box a physics-informed problem lives on: named coordinates with bounds, and the checks of points in it.

A PINN's collocation points, normalisation grid and test grid are rows of coordinates: ``(N, d)`` with
one column per named coordinate (``x`` for a stationary Schrödinger problem, ``t, x`` for a
time-dependent PDE). :class:`Domain` says which box they must lie in, draws and grids points in it,
and rejects points outside it with the domain, the offending coordinate and its range in the message.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch

__all__ = ["Domain"]


@dataclass(frozen=True)
class Domain:
    """An axis-aligned box ``[low_0, high_0] x ... x [low_{d-1}, high_{d-1}]`` of named coordinates.

    Attributes:
        names: the coordinates, in column order (``("x",)``, ``("t", "x")``).
        bounds: ``(low, high)`` of each coordinate, ``low < high``, finite.

    Example:
        >>> box = Domain.interval(0.0, 1.0)
        >>> str(box)
        'x in [0, 1]'
        >>> Domain(("t", "x"), ((0.0, 1.0), (-1.0, 1.0))).grid((3, 2)).shape
        torch.Size([6, 2])
    """

    names: tuple[str, ...]
    bounds: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        names, bounds = tuple(self.names), tuple(tuple(pair) for pair in self.bounds)
        if not names or not all(isinstance(name, str) and name for name in names) or len(set(names)) != len(names):
            raise ValueError(f"a Domain needs distinct, non-empty coordinate names such as ('t', 'x'), got {names!r}.")
        if len(bounds) != len(names):
            raise ValueError(f"a Domain needs one (low, high) pair per coordinate {names}, got {len(bounds)} pairs.")
        checked = []
        for name, pair in zip(names, bounds, strict=True):
            if len(pair) != 2:
                raise ValueError(f"the bounds of {name!r} must be a pair (low, high), got {pair!r}.")
            low, high = (float(value) for value in pair)
            if not (math.isfinite(low) and math.isfinite(high) and low < high):
                raise ValueError(f"the bounds of {name!r} must be finite with low < high, got ({low:g}, {high:g}).")
            checked.append((low, high))
        object.__setattr__(self, "names", names)
        object.__setattr__(self, "bounds", tuple(checked))

    @classmethod
    def interval(cls, low: float, high: float, name: str = "x") -> Domain:
        """The one-dimensional domain ``name in [low, high]``."""
        return cls((name,), ((low, high),))

    @property
    def dim(self) -> int:
        """Number of coordinates ``d``."""
        return len(self.names)

    @property
    def low(self) -> tuple[float, ...]:
        """The lower bound of every coordinate."""
        return tuple(low for low, _ in self.bounds)

    @property
    def high(self) -> tuple[float, ...]:
        """The upper bound of every coordinate."""
        return tuple(high for _, high in self.bounds)

    def __str__(self) -> str:
        pairs = zip(self.names, self.bounds, strict=True)
        return " x ".join(f"{name} in [{low:g}, {high:g}]" for name, (low, high) in pairs)

    def index(self, name: str) -> int:
        """The column of coordinate ``name``.

        Raises:
            ValueError: no coordinate of that name.
        """
        if name not in self.names:
            raise ValueError(f"the domain {self} has no coordinate {name!r}; its coordinates are {self.names}.")
        return self.names.index(name)

    def check(self, points: torch.Tensor, what: str = "collocation points") -> None:
        """Raise unless ``points`` is an ``(N, d)`` floating tensor of finite points inside the box.

        Args:
            points: the rows to check.
            what: how the message names them (``"collocation points"``, ``"the normalisation grid"``).

        Raises:
            TypeError: not a floating-point torch tensor.
            ValueError: the wrong shape, a non-finite coordinate, or a coordinate outside its bounds (the
                message names the domain, the coordinate, the range found and how many points are outside).
        """
        if not isinstance(points, torch.Tensor) or not points.is_floating_point():
            given = f"a {points.dtype} tensor" if isinstance(points, torch.Tensor) else type(points).__name__
            raise TypeError(f"{what} must be a floating-point torch.Tensor of shape (N, {self.dim}), got {given}.")
        if points.ndim != 2 or points.shape[1] != self.dim or points.shape[0] == 0:
            raise ValueError(
                f"{what} must have shape (N, {self.dim}) with N >= 1, one column per coordinate {self.names}, "
                f"got {tuple(points.shape)}."
            )
        values = points.detach()
        if not bool(torch.isfinite(values).all()):
            bad = int((~torch.isfinite(values)).any(dim=1).sum())
            raise ValueError(f"{what} must be finite, but {bad} of {len(values)} points hold NaN or infinity.")
        for column, (name, (low, high)) in enumerate(zip(self.names, self.bounds, strict=True)):
            coordinate = values[:, column]
            outside = (coordinate < low) | (coordinate > high)
            if bool(outside.any()):
                raise ValueError(
                    f"{what} must lie in the domain {self}, but {name} ranges over "
                    f"[{float(coordinate.min()):.6g}, {float(coordinate.max()):.6g}] "
                    f"({int(outside.sum())} of {len(values)} points outside [{low:g}, {high:g}]). "
                    "Draw them with Domain.sample or Domain.grid, or clip them to the domain."
                )

    def sample(
        self, count: int, generator: torch.Generator | None = None, *, dtype: torch.dtype = torch.float32
    ) -> torch.Tensor:
        """``count`` points drawn uniformly from the box.

        Shape:
            Returns ``(count, d)``.
        """
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError(f"Domain.sample needs a positive int count, got {count!r}.")
        unit = torch.rand(count, self.dim, generator=generator, dtype=dtype)
        low = torch.tensor(self.low, dtype=dtype)
        return low + unit * (torch.tensor(self.high, dtype=dtype) - low)

    def grid(self, counts: int | Sequence[int], *, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """The tensor grid with ``counts[i]`` evenly spaced values of coordinate ``i`` (both ends included).

        The last coordinate varies fastest: row ``i * counts[1] + j`` of a 2-D grid is ``(c0[i], c1[j])``,
        so ``grid.reshape(*counts, d)`` recovers the axes.

        Shape:
            Returns ``(prod(counts), d)``.
        """
        counts = [counts] * self.dim if isinstance(counts, int) else list(counts)
        if len(counts) != self.dim or any(isinstance(c, bool) or not isinstance(c, int) or c < 2 for c in counts):
            raise ValueError(f"Domain.grid needs {self.dim} counts of at least 2 (one per coordinate), got {counts!r}.")
        axes = [torch.linspace(low, high, c, dtype=dtype) for (low, high), c in zip(self.bounds, counts, strict=True)]
        return torch.stack(torch.meshgrid(*axes, indexing="ij"), dim=-1).reshape(-1, self.dim)
