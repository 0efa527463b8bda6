"""Symbolic circuit parameters: named vectors and polynomial angle expressions.

A circuit's angles are expressions of named parameter vectors, for example the
inputs ``x`` and the weights ``theta``::

    x = ParameterVector("x", 4)
    theta = ParameterVector("theta", 8)
    angle = 0.5 * theta[0] * x[1] + 0.1     # a * s1 * s2 + b

An :class:`Angle` is a polynomial: a constant plus a sum of terms, each a
coefficient times a product of symbols. That covers DARUAN's ``w * x + b`` and
any product of inputs and weights. Nonlinear preprocessing (``arctan(x)``,
``x ** 2`` as a feature) happens in torch before binding.

Values are bound per vector name as tensors of shape ``(batch_size, size)`` or
``(size,)`` (shared by the whole batch).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np
import torch

from circuits.errors import NonFiniteAngleError

__all__ = ["Angle", "AngleLike", "ParameterVector", "Symbol", "as_angle", "real_angle"]


@dataclass(frozen=True, order=True)
class Symbol:
    """One entry of a named parameter vector.

    Attributes:
        vector: name of the vector, e.g. ``"theta"``.
        index: position in the vector, ``0 <= index < size``.
        size: length of the vector the symbol belongs to.
    """

    vector: str
    index: int
    size: int

    def __str__(self) -> str:
        return f"{self.vector}[{self.index}]"


Term = tuple[float, tuple[Symbol, ...]]
"""A coefficient and the sorted symbols whose product it multiplies."""


@dataclass(frozen=True)
class Angle:
    """A polynomial expression ``constant + sum_k coeff_k * prod(symbols_k)``.

    Immutable and hashable; arithmetic with numbers and other angles returns a
    new ``Angle``. Terms are kept in a canonical order (sorted by symbols, equal
    monomials merged, zero coefficients dropped) so equal expressions compare and
    hash equal.
    """

    terms: tuple[Term, ...] = ()
    constant: float = 0.0

    def __post_init__(self) -> None:
        values = [self.constant, *(c for c, _ in self.terms)]
        if not all(math.isfinite(v) for v in values):
            raise NonFiniteAngleError(
                f"Angle {self} has a NaN or infinite coefficient; angles must be finite real numbers."
            )

    @staticmethod
    def _canonical(terms: list[Term], constant: float) -> Angle:
        merged: dict[tuple[Symbol, ...], float] = {}
        for coeff, symbols in terms:
            key = tuple(sorted(symbols))
            merged[key] = merged.get(key, 0.0) + coeff
        # "+ 0.0" turns -0.0 into 0.0: equal angles must serialize, and so hash, identically
        kept = tuple(sorted(((c + 0.0, s) for s, c in merged.items() if c != 0.0), key=lambda t: t[1]))
        return Angle(kept, float(constant) + 0.0)

    @property
    def is_constant(self) -> bool:
        """True when the angle has no symbols."""
        return not self.terms

    @property
    def symbols(self) -> frozenset[Symbol]:
        """Every symbol that appears in the expression."""
        return frozenset(s for _, syms in self.terms for s in syms)

    @property
    def is_single_symbol(self) -> bool:
        """True for ``coeff * s + constant`` with one symbol of degree one."""
        return len(self.terms) == 1 and len(self.terms[0][1]) == 1

    def value(self) -> float:
        """The numeric value of a constant angle.

        Raises:
            ValueError: the angle has symbols.
        """
        if self.terms:
            raise ValueError(f"Angle {self} is symbolic; bind its parameters before asking for a number.")
        return self.constant

    def __add__(self, other: AngleLike) -> Angle:
        other = as_angle(other)
        return Angle._canonical([*self.terms, *other.terms], self.constant + other.constant)

    __radd__ = __add__

    def __neg__(self) -> Angle:
        return self * -1.0

    def __sub__(self, other: AngleLike) -> Angle:
        return self + (-as_angle(other))

    def __rsub__(self, other: AngleLike) -> Angle:
        return as_angle(other) + (-self)

    def __mul__(self, other: AngleLike) -> Angle:
        other = as_angle(other)
        terms: list[Term] = []
        for c1, s1 in [*self.terms, (self.constant, ())]:
            for c2, s2 in [*other.terms, (other.constant, ())]:
                if s1 or s2:
                    terms.append((c1 * c2, s1 + s2))
        return Angle._canonical(terms, self.constant * other.constant)

    __rmul__ = __mul__

    def __truediv__(self, other: float) -> Angle:
        if isinstance(other, bool) or not isinstance(other, (int, float, np.integer, np.floating)):
            raise TypeError(f"An Angle can only be divided by a real number, got {type(other).__name__}.")
        return self * (1.0 / float(other))

    def __str__(self) -> str:
        parts = []
        for coeff, symbols in self.terms:
            product = "*".join(str(s) for s in symbols)
            parts.append(product if coeff == 1.0 else f"{coeff!r}*{product}")
        if self.constant != 0.0 or not parts:
            parts.append(repr(self.constant))
        return " + ".join(parts)

    def evaluate(self, values: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Evaluate the angle for a batch of bindings.

        Args:
            values: vector name to values of shape ``(batch_size, size)`` or ``(1, size)``.

        Returns:
            Tensor of shape ``(batch_size,)`` or ``(1,)``; a constant angle gives a 0-d
            float64 tensor (callers cast and broadcast).
        """
        result: torch.Tensor | float = self.constant
        for coeff, symbols in self.terms:
            term: torch.Tensor | float = coeff
            for s in symbols:
                term = term * values[s.vector][:, s.index]
            result = result + term
        if isinstance(result, float):
            return torch.tensor(result, dtype=torch.float64)
        return result

    def partial(self, symbol: Symbol) -> Angle:
        """The derivative of the expression with respect to one symbol (still an :class:`Angle`)."""
        terms: list[Term] = []
        constant = 0.0
        for coeff, symbols in self.terms:
            count = symbols.count(symbol)
            if count == 0:
                continue
            rest = list(symbols)
            rest.remove(symbol)
            if rest:
                terms.append((coeff * count, tuple(rest)))
            else:
                constant += coeff * count
        return Angle._canonical(terms, constant)


AngleLike = Angle | Symbol | int | float


def as_angle(value: object) -> Angle:
    """Coerce a number, :class:`Symbol` or :class:`Angle` into an :class:`Angle`.

    Raises:
        TypeError: ``value`` is none of those (a tensor, a string, ...).
        NonFiniteAngleError: ``value`` is NaN or infinite.
    """
    if isinstance(value, Angle):
        return value
    if isinstance(value, Symbol):
        return Angle(((1.0, (value,)),), 0.0)
    if isinstance(value, torch.Tensor):
        raise TypeError(
            "A torch tensor cannot be a gate angle: the circuit would keep only its number and lose its "
            "gradient. Use a symbol (theta[0]) and bind the tensor through the params passed to Backend.run."
        )
    return Angle((), real_angle(value) + 0.0)


def real_angle(value: object) -> float:
    """A numeric angle as a finite float: Python or numpy ints and floats, or a one-element real tensor.

    Raises:
        TypeError: a bool, a complex number, a complex or bool tensor, or a non-number; the message
            says why nothing is silently converted (a bool is no angle; the imaginary part would be dropped).
        NonFiniteAngleError: NaN or infinite.
    """
    if isinstance(value, torch.Tensor):
        if value.numel() != 1 or value.is_complex() or value.dtype == torch.bool:
            raise TypeError(
                f"An angle value must be a real number, got a {value.dtype} tensor of shape {tuple(value.shape)}."
            )
        value = float(value.detach())
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(
            f"An angle must be a real number, got the bool {value!r}; write the angle (e.g. math.pi or 0.0) instead."
        )
    if isinstance(value, (complex, np.complexfloating)):
        raise TypeError(
            f"An angle must be a real number, got the complex value {value!r}; gate angles are real. Pass its "
            "real part (value.real) if the imaginary part is meant to be zero."
        )
    if isinstance(value, (np.integer, np.floating)):
        value = float(value)  # numpy real scalars
    if not isinstance(value, (int, float)):
        raise TypeError(
            f"An angle must be a number, a Symbol such as theta[0], or an Angle expression; "
            f"got {type(value).__name__}. Bind tensors through the parameter values passed to "
            f"Backend.run instead of putting them into the circuit."
        )
    if not math.isfinite(value):
        raise NonFiniteAngleError(f"Angle value {value} is not finite; gate angles must be finite real numbers.")
    return float(value)


class ParameterVector:
    """A named vector of symbolic parameters.

    Args:
        name: identifier used as the key when binding values, e.g. ``"x"`` or ``"theta"``.
        size: number of entries.

    Example:
        >>> theta = ParameterVector("theta", 3)
        >>> str(2.0 * theta[1] + 0.5)
        '2.0*theta[1] + 0.5'
    """

    def __init__(self, name: str, size: int) -> None:
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"A parameter vector name must be a Python identifier, got {name!r}.")
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"A parameter vector needs a positive integer size, got {size!r}.")
        self.name = name
        self.size = size

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, index: int) -> Angle:
        if not isinstance(index, int):
            raise TypeError(f"Index ParameterVector {self.name!r} with an int, got {type(index).__name__}.")
        if not -self.size <= index < self.size:
            raise IndexError(f"Index {index} is out of range for ParameterVector {self.name!r} of size {self.size}.")
        return as_angle(Symbol(self.name, index % self.size, self.size))

    def __iter__(self) -> Iterator[Angle]:
        return (self[i] for i in range(self.size))

    def __repr__(self) -> str:
        return f"ParameterVector({self.name!r}, {self.size})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ParameterVector) and (self.name, self.size) == (other.name, other.size)

    def __hash__(self) -> int:
        return hash((self.name, self.size))
