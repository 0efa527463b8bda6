"""Measurement plans: what a shot-based or estimator-only device must run, and how to read it back.

Backends that cannot hand back our observables directly (Qiskit Aer with shots, the hardware
providers) share this vendor-free layer:

* :func:`shot_plan`: the Pauli terms and projectors of some observables grouped into qubit-wise
  commuting measurement :class:`Basis` es (greedily, in the order given); each basis is one
  measured circuit, its rotation given as our own operations (:meth:`Basis.rotate`). A projector
  is read as a bitstring in the Z basis, never expanded into Pauli terms.
* :class:`Counts`: the outcomes of one measured circuit for one binding, as bits in our column
  order, turned into expectation values (:meth:`ShotPlan.expectations`) and probabilities
  (:func:`probabilities_from_counts`).
* :func:`exact_plan` and :func:`probabilities_plan`: for devices that evaluate Pauli sums exactly
  (an estimator) but know no projector: Pauli sums as they are, and the distribution of the
  qubits of projectors or probabilities from the ``2**m`` Z-strings on them (a Walsh-Hadamard
  transform), ``2**m`` strings for all ``2**m`` outcomes rather than ``2**m`` per outcome.
* :func:`from_qiskit_order`: the one place where Qiskit's little-endian bit order (classical bit
  0 rightmost in a key, qubit 0 least significant in an index) becomes ours (column / qubit 0
  first and most significant).
* :func:`check_shot_budget`: refuse a shot count that would exhaust memory or run for hours,
  before anything is allocated.

Conventions: a basis measures ``qubits[j]`` into column ``j`` (classical bit ``j`` on Qiskit);
probability vectors are indexed with column 0 as the most significant bit, as everywhere in
``circuits``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from circuits.backend import available_memory_bytes, format_bytes
from circuits.errors import SimulationMemoryError
from circuits.ir.circuit import Circuit
from circuits.ir.observables import Observable, PauliString, PauliSum, Projector
from circuits.ir.operation import Operation

__all__ = [
    "MAX_SAMPLING_SECONDS",
    "Basis",
    "Counts",
    "ExactPlan",
    "ShotPlan",
    "check_shot_budget",
    "exact_plan",
    "from_qiskit_order",
    "probabilities_from_counts",
    "probabilities_plan",
    "shot_plan",
    "sparse_terms",
]

MAX_SAMPLING_SECONDS = 3600.0
"""The longest a simulator may be asked to sample in one call (estimated); more is refused up front."""

_ALWAYS_FITS_BYTES = 64 * 2**20


# -- Qiskit's bit order ------------------------------------------------------------------------


def from_qiskit_order(data: Iterable[str] | np.ndarray, num_bits: int) -> np.ndarray:
    """Qiskit's little-endian bit order to ours: the only place the project reverses bits for Qiskit.

    Args:
        data: either Qiskit bitstring keys or shots (``"0110"``; spaces between registers are
            ignored), classical bit 0 rightmost; or an array whose last axis, of size
            ``2**num_bits``, is indexed by Qiskit's integer (qubit / bit 0 least significant),
            such as a state vector or probabilities from Qiskit or Aer.
        num_bits: the number of bits of each key, or of the index.

    Returns:
        For keys: ``(len(keys), num_bits)`` uint8 bits, column ``j`` = classical bit ``j``.
        For arrays: the same array indexed by our integer (bit 0 most significant). The
        reordering of arrays is its own inverse, so it also converts our arrays to Qiskit's.

    Raises:
        ValueError: keys of another width or with characters other than 0 and 1, or an array
            whose last axis is not ``2**num_bits`` long.
    """
    if isinstance(data, np.ndarray):
        if data.shape[-1:] != (2**num_bits,):
            raise ValueError(f"expected a last axis of 2**{num_bits} = {2**num_bits} entries, got shape {data.shape}.")
        lead = data.shape[:-1]
        tensor = data.reshape(*lead, *([2] * num_bits))
        axes = [*range(len(lead)), *range(len(lead) + num_bits - 1, len(lead) - 1, -1)]
        return np.ascontiguousarray(tensor.transpose(axes)).reshape(data.shape)
    keys = [key.replace(" ", "") for key in data]
    if not keys:
        return np.zeros((0, num_bits), dtype=np.uint8)
    text = "".join(keys).encode("ascii", errors="replace")
    if len(text) != len(keys) * num_bits or any(len(key) != num_bits for key in keys):
        widths = sorted({len(key) for key in keys})
        raise ValueError(f"expected bitstrings of {num_bits} bits, got widths {widths}.")
    bits = np.frombuffer(text, dtype=np.uint8).reshape(len(keys), num_bits) - ord("0")
    if bits.size and int(bits.max()) > 1:
        raise ValueError("bitstrings hold only 0 and 1 (classical bit 0 rightmost).")
    return np.ascontiguousarray(bits[:, ::-1])


# -- counts ------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Counts:
    """The outcomes of one measured circuit for one binding.

    Attributes:
        bits: ``(outcomes, m)`` uint8, column ``j`` the measured column ``j`` (``Basis.qubits[j]``).
        weights: ``(outcomes,)`` float64 counts, or (quasi-)probabilities after readout mitigation.
    """

    bits: np.ndarray
    weights: np.ndarray

    @classmethod
    def from_qiskit(cls, counts: Mapping[str, float], num_bits: int) -> Counts:
        """Counts keyed by Qiskit bitstrings (classical bit ``j`` = column ``j``, rightmost first)."""
        bits = from_qiskit_order(counts.keys(), num_bits)
        return cls(bits, np.fromiter(counts.values(), dtype=np.float64, count=len(counts)))

    @classmethod
    def from_distribution(cls, weights: np.ndarray) -> Counts:
        """The non-zero entries of a ``(2**m,)`` vector in our order (column 0 most significant)."""
        weights = np.asarray(weights, dtype=np.float64)
        m = weights.size.bit_length() - 1
        if weights.shape != (2**m,):
            raise ValueError(f"expected a vector of 2**m entries, got shape {weights.shape}.")
        outcomes = np.flatnonzero(weights)
        bits = ((outcomes[:, None] >> np.arange(m - 1, -1, -1)) & 1).astype(np.uint8)
        return cls(bits.reshape(len(outcomes), m), weights[outcomes])

    @property
    def num_bits(self) -> int:
        """Measured columns ``m``."""
        return int(self.bits.shape[1])

    @property
    def total(self) -> float:
        """The sum of the weights (the shots, for raw counts)."""
        return float(self.weights.sum())

    def parity(self, columns: Sequence[int]) -> float:
        """``<Z...Z>`` over ``columns``: the weighted mean of ``(-1)^(ones among columns)``."""
        total = self.total
        if not total:
            return 0.0
        ones = self.bits[:, list(columns)].sum(axis=1, dtype=np.int64)
        return float((1.0 - 2.0 * (ones % 2)) @ self.weights) / total

    def frequency(self, columns: Sequence[int], bits: Sequence[int]) -> float:
        """The weighted fraction of outcomes whose ``columns`` read ``bits``."""
        total = self.total
        if not total:
            return 0.0
        hits = np.all(self.bits[:, list(columns)] == np.asarray(bits, dtype=np.uint8), axis=1)
        return float(self.weights[hits].sum()) / total

    def indices(self) -> np.ndarray:
        """Each outcome as our integer (column 0 most significant), ``(outcomes,)`` int64."""
        m = self.num_bits
        if m > 62:
            raise ValueError(f"{m} measured bits do not fit an integer index; read them as bits instead.")
        return self.bits.astype(np.int64) @ (1 << np.arange(m - 1, -1, -1, dtype=np.int64))

    def probabilities(self) -> np.ndarray:
        """The normalised distribution over ``2**m`` outcomes, our order. Shape ``(2**m,)`` float64."""
        out = np.zeros(2**self.num_bits, dtype=np.float64)
        np.add.at(out, self.indices(), self.weights)
        total = out.sum()
        return out / total if total else out


def probabilities_from_counts(counts: Sequence[Counts]) -> torch.Tensor:
    """Probabilities per binding from their counts.

    Shape:
        returns ``(len(counts), 2**m)`` float64, column 0 of the counts the most significant bit.
    """
    return torch.from_numpy(np.stack([c.probabilities() for c in counts]))


# -- measurement bases and the shot plan -------------------------------------------------------


@dataclass(frozen=True)
class Basis:
    """One measured circuit: ``qubits[j]`` rotated into the eigenbasis of ``letters[j]``, measured into column ``j``.

    Attributes:
        qubits: the measured qubits, increasing.
        letters: ``"X"``, ``"Y"`` or ``"Z"`` per measured qubit.
    """

    qubits: tuple[int, ...]
    letters: tuple[str, ...]

    def rotation(self) -> tuple[Operation, ...]:
        """The basis change, as our operations: ``H`` for X, ``S^dagger`` then ``H`` for Y, nothing for Z."""
        ops: list[Operation] = []
        for qubit, letter in zip(self.qubits, self.letters, strict=True):
            if letter == "X":
                ops.append(Operation("h", (qubit,)))
            elif letter == "Y":
                ops += [Operation("sdg", (qubit,)), Operation("h", (qubit,))]
        return tuple(ops)

    def rotate(self, circuit: Circuit) -> Circuit:
        """``circuit`` followed by :meth:`rotation` (measurements are the vendor's to add)."""
        rotation = self.rotation()
        return Circuit(circuit.num_qubits, circuit.operations + rotation) if rotation else circuit


@dataclass(frozen=True)
class _Readout:
    """One term of an observable: a parity (``bits is None``) or a projector's bitstring on some columns of a basis."""

    basis: int
    columns: tuple[int, ...]
    coeff: float
    bits: tuple[int, ...] | None


@dataclass(frozen=True)
class ShotPlan:
    """Expectation values of observables from the counts of a few measured circuits.

    Attributes:
        bases: one measured circuit each.
        constants: per observable, its identity part.
        readouts: per observable, its terms.
    """

    bases: tuple[Basis, ...]
    constants: tuple[float, ...]
    readouts: tuple[tuple[_Readout, ...], ...]

    def expectations(self, counts: Sequence[Sequence[Counts]], batch_size: int) -> torch.Tensor:
        """Estimates from ``counts[g][i]``, the counts of basis ``g`` for binding ``i < batch_size``.

        Shape:
            returns ``(batch_size, len(observables))`` float64 (the constants alone without bases).
        """
        out = np.tile(np.asarray(self.constants, dtype=np.float64), (batch_size, 1))
        for k, readouts in enumerate(self.readouts):
            for r in readouts:
                for i in range(batch_size):
                    table = counts[r.basis][i]
                    value = table.parity(r.columns) if r.bits is None else table.frequency(r.columns, r.bits)
                    out[i, k] += r.coeff * value
        return torch.from_numpy(out)


def shot_plan(observables: Sequence[Observable]) -> ShotPlan:
    """Group the terms of ``observables`` into qubit-wise commuting bases (greedy, first fit).

    A Pauli term joins the first basis whose letters agree with its own on every shared qubit
    (and extends it); a projector is a Z-basis term read as a bitstring. The identity parts are
    constants. Without any measured term the plan has no basis.
    """
    bases: list[dict[int, str]] = []

    def basis_of(requirement: Mapping[int, str]) -> int:
        for g, basis in enumerate(bases):
            if all(basis.get(q, letter) == letter for q, letter in requirement.items()):
                basis.update(requirement)
                return g
        bases.append(dict(requirement))
        return len(bases) - 1

    constants: list[float] = []
    pending: list[list[tuple[int, tuple[int, ...], float, tuple[int, ...] | None]]] = []
    for obs in observables:
        entries: list[tuple[int, tuple[int, ...], float, tuple[int, ...] | None]] = []
        if isinstance(obs, Projector):
            entries.append((basis_of(dict.fromkeys(obs.qubits, "Z")), obs.qubits, 1.0, obs.bits))
            constants.append(0.0)
        else:
            constants.append(float(sum(t.coeff for t in obs.terms if not t.paulis)))
            entries += [(basis_of(dict(t.paulis)), t.qubits, t.coeff, None) for t in obs.terms if t.paulis]
        pending.append(entries)
    measured = [tuple(sorted(basis)) for basis in bases]
    plan_bases = tuple(
        Basis(qubits, tuple(basis[q] for q in qubits)) for basis, qubits in zip(bases, measured, strict=True)
    )
    readouts = tuple(
        tuple(_Readout(g, tuple(measured[g].index(q) for q in qubits), c, b) for g, qubits, c, b in entries)
        for entries in pending
    )
    return ShotPlan(plan_bases, tuple(constants), readouts)


# -- exact plans (estimators) ------------------------------------------------------------------


def sparse_terms(observable: PauliSum, qubits: Sequence[int] | None = None) -> list[tuple[str, list[int], float]]:
    """``[(letters, positions, coeff), ...]`` of a Pauli sum: Qiskit's ``SparsePauliOp.from_sparse_list`` input.

    Args:
        observable: the Pauli sum.
        qubits: positions are indices into this list (the qargs of an operator on a few qubits);
            ``None``: positions are the qubits themselves.

    The identity part comes out as ``("", [], coeff)``; an empty sum as ``[("", [], 0.0)]``.
    """
    position = None if qubits is None else {q: j for j, q in enumerate(qubits)}
    terms = []
    for term in observable.terms:
        letters = "".join(letter for _, letter in term.paulis)
        where = [q if position is None else position[q] for q, _ in term.paulis]
        terms.append((letters, where, float(term.coeff)))
    return terms or [("", [], 0.0)]


def _z_strings(qubits: Sequence[int]) -> tuple[PauliSum, ...]:
    """The ``2**m - 1`` non-identity Z-strings on ``qubits``.

    Entry ``s - 1`` has a Z on ``qubits[j]`` where bit ``m - 1 - j`` of ``s`` is set (our order).
    """
    m = len(qubits)
    return tuple(
        PauliSum((PauliString(1.0, tuple((q, "Z") for j, q in enumerate(qubits) if (s >> (m - 1 - j)) & 1)),))
        for s in range(1, 2**m)
    )


def _walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """``H^{(x)m} v`` over the last axis (``2**m`` long), in ``m 2**m`` additions."""
    out = np.array(values, dtype=np.float64, copy=True)
    size = out.shape[-1]
    lead = out.shape[:-1]
    h = 1
    while h < size:
        view = out.reshape(*lead, size // (2 * h), 2, h)
        a, b = view[..., 0, :].copy(), view[..., 1, :].copy()
        view[..., 0, :], view[..., 1, :] = a + b, a - b
        h *= 2
    return out


@dataclass(frozen=True)
class ExactPlan:
    """Exact expectation values (or probabilities) from the Pauli sums an estimator evaluates.

    Attributes:
        operators: what the device evaluates, one value per binding each.
        distributions: per qubit tuple whose distribution is needed, ``(qubits, start)``: its
            ``2**m - 1`` non-identity Z-strings are ``operators[start : start + 2**m - 1]``.
        sums: ``(output column, operator)`` of the outputs that are an operator's value.
        outcomes: ``(output column, distribution, outcome)`` of the outputs that are a probability.
    """

    operators: tuple[PauliSum, ...]
    distributions: tuple[tuple[tuple[int, ...], int], ...]
    sums: tuple[tuple[int, int], ...]
    outcomes: tuple[tuple[int, int, int], ...]

    def read(self, values: np.ndarray) -> torch.Tensor:
        """Outputs from the evaluated operators.

        Shape:
            ``values``: ``(batch_size, len(operators))``; returns ``(batch_size, outputs)`` float64.
        """
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or values.shape[1] != len(self.operators):
            raise ValueError(f"expected values of shape (batch_size, {len(self.operators)}), got {values.shape}.")
        out = np.empty((values.shape[0], len(self.sums) + len(self.outcomes)), dtype=np.float64)
        if self.sums:
            columns, operators = (list(a) for a in zip(*self.sums, strict=True))
            out[:, columns] = values[:, operators]
        outcomes = np.asarray(self.outcomes, dtype=np.int64).reshape(-1, 3)
        for d, (qubits, start) in enumerate(self.distributions):
            size = 2 ** len(qubits)
            z = np.concatenate([np.ones((values.shape[0], 1)), values[:, start : start + size - 1]], axis=1)
            table = _walsh_hadamard(z) / size  # p(b) = 2^-m sum_s (-1)^(b.s) <Z^s>
            mine = outcomes[outcomes[:, 1] == d]
            out[:, mine[:, 0]] = table[:, mine[:, 2]]
        return torch.from_numpy(out)


def exact_plan(observables: Sequence[Observable]) -> ExactPlan:
    """Pauli sums evaluated as they are; projectors through the distribution of their qubits.

    The projectors on one tuple of ``m`` qubits share ``2**m - 1`` Z-string evaluations, whatever
    their number.
    """
    operators: list[PauliSum] = []
    distributions: dict[tuple[int, ...], int] = {}
    sums: list[tuple[int, int]] = []
    projectors: list[tuple[int, Projector]] = []
    for k, obs in enumerate(observables):
        if isinstance(obs, Projector):
            distributions.setdefault(obs.qubits, len(distributions))
            projectors.append((k, obs))
        else:
            sums.append((k, len(operators)))
            operators.append(obs)
    starts = []
    for qubits in distributions:
        starts.append((qubits, len(operators)))
        operators += _z_strings(qubits)
    outcomes = tuple((k, distributions[p.qubits], int("".join(map(str, p.bits)), 2)) for k, p in projectors)
    return ExactPlan(tuple(operators), tuple(starts), tuple(sums), outcomes)


def probabilities_plan(qubits: Sequence[int]) -> ExactPlan:
    """Exact probabilities of ``qubits`` (our order) from their ``2**m - 1`` Z-strings."""
    qubits = tuple(qubits)
    size = 2 ** len(qubits)
    return ExactPlan(_z_strings(qubits), ((qubits, 0),), (), tuple((i, 0, i) for i in range(size)))


# -- shot budget -------------------------------------------------------------------------------


def check_shot_budget(
    *,
    backend: str,
    shots: int,
    executions: int,
    bytes_per_shot: float = 0.0,
    shots_per_second: float | None = None,
    max_seconds: float = MAX_SAMPLING_SECONDS,
) -> None:
    """Refuse, before anything is allocated or sent, a sampling job too large for this machine.

    Args:
        backend: the backend's name, for the message.
        shots: shots per circuit execution.
        executions: circuit executions in the call (bindings times measured circuits).
        bytes_per_shot: memory held per shot (0 when results are counts, bounded by the outcomes).
        shots_per_second: the simulator's sampling rate, for the time estimate (``None``: no time limit).
        max_seconds: the longest sampling time accepted.

    Raises:
        SimulationMemoryError: the shots' memory exceeds what is available.
        ValueError: the estimated sampling time exceeds ``max_seconds``.
    """
    total = int(shots) * int(executions)
    needed = total * bytes_per_shot
    if needed > _ALWAYS_FITS_BYTES:
        available = available_memory_bytes(torch.device("cpu"))
        if needed > available:
            raise SimulationMemoryError(
                f"{backend}: {shots} shots x {executions} circuit execution(s) = {total:.3g} shots need about "
                f"{format_bytes(int(min(needed, 2**63)))} ({bytes_per_shot:g} bytes per shot), but only "
                f"{format_bytes(available)} is available. Ask for fewer shots (or a smaller batch), or shots=None for "
                "exact results."
            )
    if shots_per_second:
        seconds = total / shots_per_second
        if seconds > max_seconds:
            raise ValueError(
                f"{backend}: {shots} shots x {executions} circuit execution(s) = {total:.3g} shots would take about "
                f"{_duration(seconds)} to sample (at about {shots_per_second:.0e} shots per second); the limit is "
                f"{_duration(max_seconds)} per call. Ask for fewer shots (the error of an estimate falls only as "
                "1/sqrt(shots)), or shots=None for exact results."
            )


def _duration(seconds: float) -> str:
    for unit, size in (("days", 86400.0), ("hours", 3600.0), ("minutes", 60.0)):
        if seconds >= size:
            return f"{seconds / size:.3g} {unit}"
    return f"{seconds:.3g} s"
