"""Observables: weighted sums of Pauli strings, and projectors onto basis states.

Build them from single-qubit Paulis::

    from circuits.ir.observables import X, Z
    h = 0.5 * Z(0) @ Z(1) + 0.2 * X(0)

or from a label whose i-th letter acts on qubit i (qubit 0 first, the order of
this project; Qiskit's labels read the other way)::

    PauliSum.from_label("ZZI")

A Qiskit ``SparsePauliOp`` (or ``Pauli``) converts with :meth:`PauliSum.from_qiskit`, which
reverses its little-endian labels; :func:`as_observable` does it wherever an observable is
expected (``Expectation``, ``Backend.expval``, ``QuantumLayer``). Both read the Qiskit object
by duck typing (``to_list()`` / ``to_label()``), so this module never imports Qiskit (the
import contracts keep ``circuits.ir`` vendor-free); the reverse direction, which must build a
Qiskit object, is :func:`circuits.export.qiskit.pauli_sum_to_qiskit`.

Coefficients are real numbers (Python or numpy, integer or floating point). A complex
coefficient is accepted when its imaginary part is zero (to ``1e-12`` relative to its real
part); otherwise the observable is not Hermitian and :class:`ValueError` says so.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from circuits.errors import QubitIndexError

__all__ = [
    "I",
    "Observable",
    "PauliString",
    "PauliSum",
    "Projector",
    "X",
    "Y",
    "Z",
    "as_observable",
    "is_observable",
    "real_coefficient",
]

_LETTERS = frozenset("XYZ")
_IMAG_RTOL = 1e-12
"""A complex coefficient counts as real when ``|imag| <= _IMAG_RTOL * max(1, |real|)``."""


def real_coefficient(value: object, what: str = "An observable coefficient") -> float:
    """``value`` as a finite float, refusing what would lose information.

    Args:
        value: an int or float (Python or numpy), or a complex number whose imaginary part is zero
            (to ``1e-12`` relative).
        what: how the value is called in messages.

    Raises:
        TypeError: a bool, a string, a tensor or another non-number.
        ValueError: a complex value with a nonzero imaginary part, or NaN / infinity.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool_":
        raise TypeError(f"{what} must be a real number, got the bool {value!r}; write 1.0 or 0.0 if that is meant.")
    if isinstance(value, numbers.Real):
        result = float(value)
    elif isinstance(value, numbers.Complex):
        c = complex(value)
        if abs(c.imag) > _IMAG_RTOL * max(1.0, abs(c.real)):
            raise ValueError(
                f"{what} must be real (observables are Hermitian), got the complex value {c}. "
                "Pass the real part if the imaginary part is rounding noise, or split the term into Hermitian parts."
            )
        result = c.real
    else:
        raise TypeError(
            f"{what} must be a real number (int or float, Python or numpy), got {value!r} ({type(value).__name__})."
        )
    if not math.isfinite(result):
        raise ValueError(f"{what} must be finite, got {result}.")
    return result


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


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
        object.__setattr__(self, "coeff", real_coefficient(self.coeff, "A Pauli coefficient"))
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
        return cls((PauliString(coeff, tuple((q, c) for q, c in enumerate(label) if c != "I")),))

    @classmethod
    def from_list(cls, items: Iterable[tuple[str, float]]) -> PauliSum:
        """A sum from ``[(label, coeff), ...]``, labels as in :meth:`from_label`."""
        terms: list[PauliString] = []
        for label, coeff in items:
            terms.extend(cls.from_label(label, coeff).terms)
        return cls(tuple(terms))

    @classmethod
    def from_qiskit(cls, operator: Any) -> PauliSum:
        """A Qiskit Pauli observable in our qubit order.

        Qiskit labels are little-endian: the rightmost letter acts on qubit 0, so the
        label ``"XZ"`` is ``Z(0) @ X(1)`` here. The objects are read by duck typing; Qiskit
        is not imported.

        Args:
            operator: a ``SparsePauliOp`` (anything with ``to_list()`` and ``num_qubits``), a
                ``Pauli`` (anything with ``to_label()``), one Qiskit label string, or
                ``(label, coeff)`` pairs / a ``{label: coeff}`` mapping in Qiskit's order (what
                ``SparsePauliOp.from_list`` takes).

        Raises:
            TypeError: none of those, or symbolic (parameter) coefficients.
            ValueError: a complex coefficient with a nonzero imaginary part (not Hermitian), a
                ``Pauli`` with phase ``i`` or ``-i``, letters other than I, X, Y, Z, or labels of
                different lengths.
        """
        items = _qiskit_items(operator)
        lengths = {len(label) for label, _ in items}
        if len(lengths) > 1:
            raise ValueError(f"Qiskit Pauli labels of one observable need one length, got lengths {sorted(lengths)}.")
        terms: list[PauliString] = []
        for label, coeff in items:
            if not isinstance(label, str) or not label or set(label) - set("IXYZ"):
                raise ValueError(f"A Qiskit Pauli label uses the letters I, X, Y, Z, got {label!r}.")
            if hasattr(coeff, "parameters") and not isinstance(coeff, numbers.Number):  # a ParameterExpression
                raise TypeError(
                    f"The coefficient of {label!r} is {coeff!r} ({type(coeff).__name__}), not a number; "
                    "bind the operator's parameters first (SparsePauliOp.assign_parameters)."
                )
            value = real_coefficient(coeff, f"The coefficient of the Qiskit term {label!r}")
            word = tuple((q, letter) for q, letter in enumerate(reversed(label)) if letter != "I")
            terms.append(PauliString(value, word))
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
        if _is_number(other):
            other = identity(real_coefficient(other, "A number added to an observable"))
        if not isinstance(other, PauliSum):
            return NotImplemented
        return PauliSum(self.terms + other.terms)

    __radd__ = __add__

    def __sub__(self, other: object) -> PauliSum:
        if _is_number(other):
            other = identity(real_coefficient(other, "A number subtracted from an observable"))
        if not isinstance(other, PauliSum):
            return NotImplemented
        return self + (-1.0) * other

    def __rsub__(self, other: object) -> PauliSum:
        if not _is_number(other):
            return NotImplemented
        return identity(real_coefficient(other, "A number an observable is subtracted from")) + (-1.0) * self

    def __mul__(self, other: object) -> PauliSum:
        if not _is_number(other):
            return NotImplemented
        factor = real_coefficient(other, "A factor of an observable")
        return PauliSum(tuple(PauliString(t.coeff * factor, t.paulis) for t in self.terms))

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


def _qiskit_items(operator: Any) -> list[tuple[Any, Any]]:
    """``(label, coeff)`` pairs, Qiskit's order, from the objects :meth:`PauliSum.from_qiskit` accepts."""
    if isinstance(operator, str):
        return [(operator, 1.0)]
    if isinstance(operator, Mapping):
        return list(operator.items())
    if _is_sparse_pauli_op(operator):
        return list(operator.to_list())
    if _is_pauli(operator):
        label = operator.to_label()
        word = label.lstrip("-ij")
        prefix = label[: len(label) - len(word)]
        coeff = {"": 1.0, "-": -1.0}.get(prefix)
        if coeff is None:
            raise ValueError(
                f"The Qiskit Pauli {label!r} has the phase {prefix!r}: it is not Hermitian. "
                "Use a Pauli with phase +1 or -1."
            )
        return [(word, coeff)]
    if isinstance(operator, Sequence) and all(isinstance(t, (tuple, list)) and len(t) == 2 for t in operator):
        return [tuple(t) for t in operator]
    raise TypeError(
        f"Expected a Qiskit SparsePauliOp, Pauli, label string or (label, coeff) pairs, got {type(operator).__name__}."
    )


def _is_sparse_pauli_op(value: object) -> bool:
    return callable(getattr(value, "to_list", None)) and hasattr(value, "num_qubits") and hasattr(value, "paulis")


def _is_pauli(value: object) -> bool:
    return callable(getattr(value, "to_label", None)) and hasattr(value, "num_qubits") and hasattr(value, "phase")


def is_observable(value: object) -> bool:
    """True for one observable: a :class:`PauliSum`, a :class:`Projector`, or a Qiskit ``SparsePauliOp`` / ``Pauli``.

    A ``SparsePauliOp`` is iterable (over its terms); callers that accept "an observable or a
    sequence of them" ask this first so that it stays one observable.
    """
    return isinstance(value, (PauliSum, Projector)) or _is_sparse_pauli_op(value) or _is_pauli(value)


def as_observable(value: object) -> Observable:
    """One observable as ours: a :class:`PauliSum` or :class:`Projector` unchanged, a Qiskit operator converted.

    Qiskit's ``SparsePauliOp`` and ``Pauli`` go through :meth:`PauliSum.from_qiskit` (labels are
    little-endian there: the rightmost letter acts on qubit 0).

    Raises:
        TypeError: anything else; the message names the accepted types.
    """
    if isinstance(value, (PauliSum, Projector)):
        return value
    if _is_sparse_pauli_op(value) or _is_pauli(value):
        return PauliSum.from_qiskit(value)
    hint = ""
    module = type(value).__module__ or ""
    if module.startswith("pennylane"):
        hint = " A PennyLane operator runs on a PennyLane device; here build it from X, Y, Z (circuits.X(0) @ ...)."
    raise TypeError(
        f"Observables are PauliSum or Projector, got {type(value).__name__}; build them from X, Y, Z "
        f"(e.g. 0.5 * Z(0) @ Z(1)), or pass a Qiskit SparsePauliOp / Pauli.{hint}"
    )


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
    return PauliSum((PauliString(real_coefficient(coeff, "The identity's coefficient"), ()),))


I = identity  # noqa: E741 - physics notation
