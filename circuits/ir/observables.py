"""Observables: weighted sums of Pauli strings, and projectors onto basis states.

Build them from single-qubit Paulis::

    from circuits.ir.observables import X, Z
    h = 0.5 * Z(0) @ Z(1) + 0.2 * X(0)

or from a label whose i-th letter acts on qubit i (qubit 0 first, the order of
this project; Qiskit's labels read the other way)::

    PauliSum.from_label("ZZI")
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from circuits.errors import QubitIndexError

__all__ = ["I", "Observable", "PauliString", "PauliSum", "Projector", "X", "Y", "Z"]

_LETTERS = frozenset("XYZ")


@dataclass(frozen=True)
class PauliString:
    """A coefficient times a tensor product of Paulis.

    Attributes:
        coeff: real coefficient.
        paulis: ``((qubit, letter), ...)`` sorted by qubit, letters in ``"XYZ"``;
            qubits not listed carry the identity.
    """

    coeff: float
    paulis: tuple[tuple[int, str], ...]

    def __post_init__(self) -> None:
        if not math.isfinite(self.coeff):
            raise ValueError(f"A Pauli coefficient must be finite, got {self.coeff}.")
        qubits = [q for q, _ in self.paulis]
        if len(set(qubits)) != len(qubits):
            raise QubitIndexError(f"A Pauli string lists qubit(s) twice: {self.paulis}.")
        for q, letter in self.paulis:
            if letter not in _LETTERS:
                raise ValueError(f"Pauli letters are X, Y, Z (identity is implied), got {letter!r} on qubit {q}.")
            if q < 0:
                raise QubitIndexError(f"Pauli qubit indices must be >= 0, got {q}.")
        object.__setattr__(self, "paulis", tuple(sorted(self.paulis)))

    @property
    def qubits(self) -> tuple[int, ...]:
        """Qubits with a non-identity Pauli."""
        return tuple(q for q, _ in self.paulis)

    @property
    def is_diagonal(self) -> bool:
        """True when the string has only Z factors."""
        return all(letter == "Z" for _, letter in self.paulis)

    def label(self, num_qubits: int) -> str:
        """The label over ``num_qubits`` qubits, qubit 0 first (``"ZIX"``)."""
        letters = ["I"] * num_qubits
        for q, letter in self.paulis:
            letters[q] = letter
        return "".join(letters)

    def __str__(self) -> str:
        word = " ".join(f"{letter}{q}" for q, letter in self.paulis) or "I"
        return f"{self.coeff!r} * {word}"


@dataclass(frozen=True)
class PauliSum:
    """A Hermitian observable ``sum_k coeff_k P_k`` with ``P_k`` Pauli strings.

    Equal strings are merged; terms are kept in a canonical order.
    """

    terms: tuple[PauliString, ...]

    def __post_init__(self) -> None:
        merged: dict[tuple[tuple[int, str], ...], float] = {}
        for term in self.terms:
            if not isinstance(term, PauliString):
                raise TypeError(f"PauliSum terms are PauliString, got {type(term).__name__}.")
            merged[term.paulis] = merged.get(term.paulis, 0.0) + term.coeff
        terms = tuple(PauliString(c, p) for p, c in sorted(merged.items()) if c != 0.0)
        object.__setattr__(self, "terms", terms)

    @classmethod
    def from_label(cls, label: str, coeff: float = 1.0) -> PauliSum:
        """One Pauli string from a label, letter i on qubit i (``"XIZ"`` is X on 0, Z on 2)."""
        if not label or set(label) - set("IXYZ"):
            raise ValueError(f"A Pauli label uses the letters I, X, Y, Z, got {label!r}.")
        return cls((PauliString(float(coeff), tuple((q, c) for q, c in enumerate(label) if c != "I")),))

    @classmethod
    def from_list(cls, items: Iterable[tuple[str, float]]) -> PauliSum:
        """A sum from ``[(label, coeff), ...]``, labels as in :meth:`from_label`."""
        terms: list[PauliString] = []
        for label, coeff in items:
            terms.extend(cls.from_label(label, coeff).terms)
        return cls(tuple(terms))

    @property
    def qubits(self) -> tuple[int, ...]:
        """Every qubit some term acts on, sorted."""
        return tuple(sorted({q for t in self.terms for q in t.qubits}))

    @property
    def is_diagonal(self) -> bool:
        """True when every term is a product of Z's (or the identity)."""
        return all(t.is_diagonal for t in self.terms)

    def __add__(self, other: object) -> PauliSum:
        if isinstance(other, (int, float)):
            other = identity(float(other))
        if not isinstance(other, PauliSum):
            return NotImplemented
        return PauliSum(self.terms + other.terms)

    __radd__ = __add__

    def __sub__(self, other: object) -> PauliSum:
        if isinstance(other, (int, float)):
            other = identity(float(other))
        if not isinstance(other, PauliSum):
            return NotImplemented
        return self + (-1.0) * other

    def __mul__(self, other: object) -> PauliSum:
        if isinstance(other, bool) or not isinstance(other, (int, float)):
            return NotImplemented
        return PauliSum(tuple(PauliString(t.coeff * float(other), t.paulis) for t in self.terms))

    __rmul__ = __mul__

    def __neg__(self) -> PauliSum:
        return self * -1.0

    def __matmul__(self, other: object) -> PauliSum:
        """Tensor product of observables on disjoint qubits."""
        if not isinstance(other, PauliSum):
            return NotImplemented
        overlap = set(self.qubits) & set(other.qubits)
        if overlap:
            raise QubitIndexError(
                f"'@' builds tensor products of observables on disjoint qubits; both act on {sorted(overlap)}."
            )
        return PauliSum(
            tuple(PauliString(a.coeff * b.coeff, a.paulis + b.paulis) for a in self.terms for b in other.terms)
        )

    def __str__(self) -> str:
        return " + ".join(str(t) for t in self.terms) or "0"


@dataclass(frozen=True)
class Projector:
    """The projector ``|b><b|`` onto a computational basis state of some qubits.

    Attributes:
        qubits: the qubits measured.
        bits: one bit (0 or 1) per qubit, in the same order.
    """

    qubits: tuple[int, ...]
    bits: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "qubits", tuple(int(q) for q in self.qubits))
        object.__setattr__(self, "bits", tuple(int(b) for b in self.bits))
        if len(self.qubits) != len(self.bits):
            raise ValueError(f"Projector needs one bit per qubit, got qubits {self.qubits} and bits {self.bits}.")
        if set(self.bits) - {0, 1}:
            raise ValueError(f"Projector bits are 0 or 1, got {self.bits}.")
        if len(set(self.qubits)) != len(self.qubits) or any(q < 0 for q in self.qubits):
            raise QubitIndexError(f"Projector qubits must be distinct and >= 0, got {self.qubits}.")

    @classmethod
    def from_bitstring(cls, bitstring: str, qubits: Sequence[int] | None = None) -> Projector:
        """``Projector.from_bitstring("01")`` projects qubit 0 on 0 and qubit 1 on 1."""
        if not bitstring or set(bitstring) - {"0", "1"}:
            raise ValueError(f"A bitstring uses 0 and 1 only, got {bitstring!r}.")
        qubits = tuple(range(len(bitstring))) if qubits is None else tuple(qubits)
        return cls(qubits, tuple(int(b) for b in bitstring))

    @property
    def is_diagonal(self) -> bool:
        """Always True: projectors onto basis states are diagonal."""
        return True


Observable = PauliSum | Projector


def _single(letter: str, qubit: int) -> PauliSum:
    return PauliSum((PauliString(1.0, ((qubit, letter),)),))


def X(qubit: int) -> PauliSum:  # noqa: N802 - physics notation
    """Pauli X on one qubit."""
    return _single("X", qubit)


def Y(qubit: int) -> PauliSum:  # noqa: N802
    """Pauli Y on one qubit."""
    return _single("Y", qubit)


def Z(qubit: int) -> PauliSum:  # noqa: N802
    """Pauli Z on one qubit."""
    return _single("Z", qubit)


def identity(coeff: float = 1.0) -> PauliSum:
    """``coeff`` times the identity."""
    return PauliSum((PauliString(coeff, ()),))


I = identity  # noqa: E741 - physics notation
