"""Readout-error mitigation on our side: calibration circuits, confusion matrices, inversion, projection.

The same code runs for a fake backend, a simulator with a noise model, and real hardware: the
calibration circuits are ordinary ISA circuits (only ``x`` and ``measure``) sent in a submission
like any other, and everything else happens here, on the client. Steps:

1. :func:`calibration_circuits` (or :func:`calibration_batches`) for the physical qubits the
   circuits measure (:func:`measured_physical_qubits` reads them off an ISA circuit);
2. :meth:`ReadoutCalibration.from_counts` turns their counts into confusion matrices, which the
   caller records in the journal (:meth:`ReadoutCalibration.to_dict`);
3. :func:`mitigate` applies the inverse confusion matrix to a circuit's
   :class:`~circuits.measurement.Counts` (our column order, what :class:`~hardware.backend.ProviderBackend`
   reads counts into) and projects the result back onto probability distributions;
   :func:`mitigate_counts` and :func:`mitigate_probabilities` do the same for Qiskit-keyed counts and
   Qiskit-ordered vectors; :func:`expectation_from_counts` reads ``<Z...Z>`` parities off raw or
   mitigated distributions.

**Bit order.** Counts are keyed by bitstrings in Qiskit's order, classical bit 0 rightmost. A
calibration over ``qubits = (q_0, q_1, ..., q_{m-1})`` assumes that physical qubit ``q_i`` is
measured into classical bit ``i``, that is the ``i``-th character **from the right** of every key
(``key[-1 - i]``), or bit ``i`` of the integer ``int(key, 2)``. Probability vectors here are
indexed by that integer. Example: ``qubits = (5, 2)`` and key ``"10"`` mean qubit 5 read 0 and
qubit 2 read 1. The inversion itself works in our order (column ``i`` = classical bit ``i`` =
``qubits[i]``, the first column most significant), where the confusion matrix of ``qubits[i]`` acts on
axis ``i``; :func:`~circuits.measurement.from_qiskit_order` converts at the boundary.

**Two calibration methods.**

* ``"tensored"`` (per qubit, as in TREX without the twirling or qiskit-experiments' local readout
  error): two circuits, all qubits in ``|0>`` then all in ``|1>``; one 2x2 matrix per qubit. It
  cannot see correlated readout errors, but the inverse is a Kronecker product of 2x2 inverses,
  applied one factor at a time to the probability vector (``O(m 2^m)``, no ``2^m x 2^m`` matrix).
* ``"full"`` (correlated): ``2^m`` circuits, one per basis state, for ``m <= 5``; one
  ``2^m x 2^m`` matrix, inverted by ``numpy.linalg.solve``.

**Projection.** The inverse gives quasi-probabilities (they sum to 1 but may be negative). We take
the nearest probability distribution in the Euclidean norm with the algorithm of Smolin, Gambetta
and Smith (PRL 108, 070502 (2012)): sort, zero the most negative entries and spread their weight
evenly over the rest. It is exact (it is the Euclidean projection onto the simplex), needs
``O(2^m log 2^m)`` time and no iterative solver, so it scales as far as the tensored inversion does
and gives the same answer every time; it is also what Qiskit's
``QuasiDistribution.nearest_probability_distribution`` and mthree use. Non-negative least squares
(``scipy.optimize.nnls`` on ``A x = p``) would minimise the misfit in the *measured* space instead,
but it needs the dense ``2^m x 2^m`` matrix and an iterative active-set solve (``O(8^m)``-ish),
which rules it out for tensored calibrations on many qubits. Pass ``project=False`` for the raw
quasi-probabilities (unbiased for expectation values; the projection trades a small bias for a
valid distribution).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import numpy as np
from qiskit import QuantumCircuit

from circuits.errors import QubitIndexError
from circuits.measurement import Counts, from_qiskit_order
from hardware.providers.base import CircuitBatch

__all__ = [
    "CALIBRATION_FORMAT",
    "MAX_FULL_CALIBRATION_QUBITS",
    "MAX_MITIGATED_BITS",
    "ReadoutCalibration",
    "calibration_batches",
    "calibration_circuits",
    "counts_to_probabilities",
    "expectation_from_counts",
    "measured_physical_qubits",
    "mitigate",
    "mitigate_counts",
    "mitigate_probabilities",
    "nearest_probability_distribution",
]

CalibrationMethod = Literal["tensored", "full"]
_METHODS: tuple[str, ...] = ("tensored", "full")

MAX_FULL_CALIBRATION_QUBITS = 5
"""The most qubits a ``"full"`` calibration covers (``2^5 = 32`` calibration circuits)."""

MAX_MITIGATED_BITS = 20
"""The most classical bits :func:`mitigate_counts` handles: it works on a dense ``2^m`` vector (8 MiB at 20)."""

CALIBRATION_FORMAT = "qml-hybrid.readout-calibration"
"""The ``format`` tag of :meth:`ReadoutCalibration.to_dict` (version 1)."""

_FORMAT_VERSION = 1
_STOCHASTIC_ATOL = 1e-9
_MAX_CONDITION = 1e8


# --------------------------------------------------------------------------------------------- circuits


def _check_qubits(physical_qubits: Sequence[int], num_device_qubits: int | None) -> tuple[int, ...]:
    """Distinct non-negative ints, below ``num_device_qubits`` when given."""
    if num_device_qubits is not None and (
        isinstance(num_device_qubits, bool) or not isinstance(num_device_qubits, int | np.integer)
    ):
        raise TypeError(f"num_device_qubits must be an int, got {type(num_device_qubits).__name__}.")
    if isinstance(physical_qubits, str) or not isinstance(physical_qubits, Sequence | np.ndarray):
        raise TypeError(f"physical_qubits must be a sequence of ints, got {type(physical_qubits).__name__}.")
    qubits = []
    for q in physical_qubits:
        if isinstance(q, bool) or not isinstance(q, int | np.integer):
            raise TypeError(f"physical_qubits must hold ints, got {q!r} ({type(q).__name__}).")
        qubits.append(int(q))
    if not qubits:
        raise ValueError("physical_qubits is empty; give the physical qubits the circuits measure, e.g. [0, 1].")
    if len(set(qubits)) != len(qubits):
        raise ValueError(f"physical_qubits must be distinct, got {qubits}; list each measured qubit once.")
    if num_device_qubits is None:
        bad = [q for q in qubits if q < 0]
        if bad:
            raise QubitIndexError(f"physical qubits must be non-negative, got {bad}.")
    else:
        bad = [q for q in qubits if not 0 <= q < num_device_qubits]
        if bad:
            raise QubitIndexError(
                f"physical qubits {bad} are outside the device's 0..{num_device_qubits - 1}; "
                "give physical (post-layout) qubit indices of this device."
            )
    return tuple(qubits)


def _check_method(method: str) -> None:
    if method not in _METHODS:
        raise ValueError(f"method must be 'tensored' or 'full', got {method!r}.")


def _check_full_size(m: int) -> None:
    if m > MAX_FULL_CALIBRATION_QUBITS:
        raise ValueError(
            f"a 'full' calibration of {m} qubits needs 2**{m} circuits; the limit is "
            f"{MAX_FULL_CALIBRATION_QUBITS} qubits. Use method='tensored' for more qubits."
        )


def calibration_circuits(
    physical_qubits: Sequence[int], num_device_qubits: int, method: CalibrationMethod = "tensored"
) -> list[QuantumCircuit]:
    """Readout calibration circuits: prepare basis states with ``x`` and measure.

    Every circuit acts on all ``num_device_qubits`` qubits (so it is already laid out on the device)
    and has ``m = len(physical_qubits)`` classical bits; ``physical_qubits[i]`` is measured into
    classical bit ``i``. Only ``x`` and ``measure`` appear, which every device supports natively.

    Args:
        physical_qubits: the device qubits to calibrate, in classical-bit order.
        num_device_qubits: the device's qubit count (the circuits' width).
        method: ``"tensored"``: two circuits, all qubits in ``|0>`` then all in ``|1>``;
            ``"full"``: ``2^m`` circuits (``m <= 5``), circuit ``k`` prepares the basis state whose
            bit ``i`` (of the integer ``k``) is the state of ``physical_qubits[i]``, so that its
            ideal outcome is the key ``format(k, f"0{m}b")``.

    Returns:
        The circuits, in the order :meth:`ReadoutCalibration.from_counts` expects their counts.

    Raises:
        TypeError: qubits that are not ints.
        ValueError: an empty or repeated qubit list, an unknown method, a ``"full"`` calibration of
            more than 5 qubits.
        QubitIndexError: a qubit outside the device.
    """
    qubits = _check_qubits(physical_qubits, num_device_qubits)
    _check_method(method)
    m = len(qubits)
    if method == "full":
        _check_full_size(m)
        preparations = list(range(2**m))
    else:
        preparations = [0, 2**m - 1]
    circuits = []
    for k in preparations:
        circuit = QuantumCircuit(int(num_device_qubits), m, name=f"readout_cal_{method}_{k:0{m}b}")
        for i, q in enumerate(qubits):
            if (k >> i) & 1:
                circuit.x(q)
        for i, q in enumerate(qubits):
            circuit.measure(q, i)
        circuit.metadata = {"readout_calibration": {"method": method, "qubits": list(qubits), "prepared": k}}
        circuits.append(circuit)
    return circuits


def calibration_batches(
    physical_qubits: Sequence[int], num_device_qubits: int, method: CalibrationMethod = "tensored"
) -> tuple[CircuitBatch, ...]:
    """:func:`calibration_circuits` as :class:`CircuitBatch` es (one binding each), ready to add to a submission.

    Sending them in the same submission as the circuits to mitigate calibrates in the same job,
    with the same drift. Their counts come back in the same order, one binding per batch.
    """
    return tuple(
        CircuitBatch(circuit, np.zeros((1, 0), dtype=np.float64))
        for circuit in calibration_circuits(physical_qubits, num_device_qubits, method)
    )


def measured_physical_qubits(circuit: QuantumCircuit) -> tuple[int, ...]:
    """The qubit measured into each classical bit of an ISA circuit: entry ``i`` is for classical bit ``i``.

    This is the ``physical_qubits`` argument of :func:`calibration_circuits` that matches the circuit.

    Raises:
        ValueError: a classical bit that is never measured, or one written by two different qubits.
    """
    assignment: dict[int, int] = {}
    for instruction in circuit.data:
        if instruction.operation.name != "measure":
            continue
        for qubit, clbit in zip(instruction.qubits, instruction.clbits, strict=True):
            q, c = circuit.find_bit(qubit).index, circuit.find_bit(clbit).index
            if assignment.get(c, q) != q:
                raise ValueError(
                    f"classical bit {c} is written by qubits {assignment[c]} and {q}; readout mitigation needs "
                    "one qubit per classical bit. Measure each qubit into its own classical bit."
                )
            assignment[c] = q
    missing = [c for c in range(circuit.num_clbits) if c not in assignment]
    if missing or not assignment:
        raise ValueError(
            f"classical bits {missing or '(all)'} of circuit {circuit.name!r} are never measured; "
            "readout mitigation needs every classical bit to hold one measured qubit."
        )
    return tuple(assignment[c] for c in range(circuit.num_clbits))


# --------------------------------------------------------------------------------------------- calibration


def _as_confusion_matrix(value: Any, size: int, what: str) -> np.ndarray:
    matrix = np.array(value, dtype=np.float64)
    if matrix.shape != (size, size):
        raise ValueError(f"{what} must be a {size}x{size} matrix, got shape {matrix.shape}.")
    if not np.all(np.isfinite(matrix)) or np.any(matrix < 0):
        raise ValueError(f"{what} must hold probabilities (finite, non-negative), got {matrix.tolist()}.")
    columns = matrix.sum(axis=0)
    if not np.allclose(columns, 1.0, rtol=0.0, atol=_STOCHASTIC_ATOL):
        raise ValueError(
            f"{what} must have columns summing to 1 (entry [measured, prepared] = P(measured | prepared)), "
            f"got column sums {columns.tolist()}."
        )
    matrix.setflags(write=False)
    return matrix


@dataclass(frozen=True, eq=False)
class ReadoutCalibration:
    """Measured readout confusion matrices for some physical qubits of one device.

    Entry ``[a, b]`` of a confusion matrix is ``P(measured a | prepared b)``, so columns sum to 1
    and a measured distribution is ``A @ true distribution``.

    Attributes:
        qubits: the calibrated physical qubits; ``qubits[i]`` is classical bit ``i`` (rightmost
            character of a key is bit 0).
        method: ``"tensored"`` or ``"full"``.
        matrices: ``"tensored"``: one 2x2 matrix per qubit, ``matrices[i]`` for ``qubits[i]``,
            rows/columns indexed by the bit value (0, 1); ``"full"``: a single ``2^m x 2^m``
            matrix, rows/columns indexed by the integer ``int(key, 2)`` (bit ``i`` = ``qubits[i]``).
        shots: shots per calibration circuit.
        timestamp: when the calibration counts were taken or processed (ISO 8601, UTC).
        device: ``provider:device`` (or the device's name) the calibration belongs to.
    """

    qubits: tuple[int, ...]
    method: CalibrationMethod
    matrices: tuple[np.ndarray, ...]
    shots: int
    timestamp: str
    device: str = ""

    def __post_init__(self) -> None:
        _check_method(self.method)
        qubits = _check_qubits(tuple(self.qubits), None)
        m = len(qubits)
        if isinstance(self.matrices, np.ndarray) and self.method == "full":
            raw: tuple[Any, ...] = (self.matrices,)
        else:
            raw = tuple(self.matrices)
        if self.method == "tensored":
            if len(raw) != m:
                raise ValueError(
                    f"a tensored calibration of {m} qubits needs {m} 2x2 matrices (one per qubit), got {len(raw)}."
                )
            matrices = tuple(
                _as_confusion_matrix(a, 2, f"the confusion matrix of qubit {q}")
                for a, q in zip(raw, qubits, strict=True)
            )
        else:
            _check_full_size(m)
            if len(raw) != 1:
                raise ValueError(f"a full calibration holds one 2**{m} x 2**{m} matrix, got {len(raw)} matrices.")
            matrices = (_as_confusion_matrix(raw[0], 2**m, f"the full confusion matrix of qubits {list(qubits)}"),)
        if isinstance(self.shots, bool) or not isinstance(self.shots, int | np.integer) or self.shots < 1:
            raise ValueError(f"shots must be a positive int, got {self.shots!r}.")
        object.__setattr__(self, "qubits", qubits)
        object.__setattr__(self, "matrices", matrices)
        object.__setattr__(self, "shots", int(self.shots))

    @property
    def num_bits(self) -> int:
        """The number of calibrated qubits (classical bits of the counts it mitigates)."""
        return len(self.qubits)

    def assignment_fidelities(self) -> tuple[float, ...]:
        """Per qubit, ``(P(0|0) + P(1|1)) / 2`` (from the marginals of the full matrix for ``"full"``)."""
        if self.method == "tensored":
            return tuple(float(0.5 * (a[0, 0] + a[1, 1])) for a in self.matrices)
        m = self.num_bits
        full = self.matrices[0]
        states = np.arange(2**m)
        result = []
        for i in range(m):
            bit = (states >> i) & 1
            # P(measured bit i == prepared bit i), averaged over the uniformly weighted preparations.
            agree = (bit[:, None] == bit[None, :]).astype(np.float64)
            result.append(float((full * agree).sum() / 2**m))
        return tuple(result)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe description (lists and builtin numbers only) for the journal."""
        return {
            "format": CALIBRATION_FORMAT,
            "version": _FORMAT_VERSION,
            "device": self.device,
            "qubits": list(self.qubits),
            "method": self.method,
            "shots": self.shots,
            "timestamp": self.timestamp,
            "matrices": [a.tolist() for a in self.matrices],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReadoutCalibration:
        """Rebuild a calibration from :meth:`to_dict` output (as read back from JSON).

        Raises:
            TypeError: ``data`` is not a mapping.
            ValueError: another format or version, missing fields, or invalid matrices.
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"expected a dict from ReadoutCalibration.to_dict(), got {type(data).__name__}.")
        if data.get("format") != CALIBRATION_FORMAT or data.get("version") != _FORMAT_VERSION:
            raise ValueError(
                f"expected a {CALIBRATION_FORMAT!r} record of version {_FORMAT_VERSION}, got format "
                f"{data.get('format')!r} version {data.get('version')!r}; "
                "it was not written by ReadoutCalibration.to_dict."
            )
        missing = [k for k in ("qubits", "method", "matrices", "shots", "timestamp") if k not in data]
        if missing:
            raise ValueError(f"the calibration record lacks {missing}; it is truncated or was edited by hand.")
        return cls(
            qubits=tuple(data["qubits"]),
            method=data["method"],
            matrices=tuple(np.array(a, dtype=np.float64) for a in data["matrices"]),
            shots=data["shots"],
            timestamp=data["timestamp"],
            device=data.get("device", ""),
        )

    @classmethod
    def from_counts(
        cls,
        calibration_counts: Sequence[Mapping[str, int]],
        qubits: Sequence[int],
        method: CalibrationMethod = "tensored",
        shots: int | None = None,
        device: str = "",
        *,
        timestamp: str | None = None,
    ) -> ReadoutCalibration:
        """Confusion matrices from the counts of :func:`calibration_circuits` (same qubits, same method, same order).

        Args:
            calibration_counts: one counts dict per calibration circuit, in the circuits' order.
            qubits: the physical qubits given to :func:`calibration_circuits`.
            method: the method given to :func:`calibration_circuits`.
            shots: shots per calibration circuit to record; ``None``: the total of the first counts.
                Each circuit's own total is what normalises its counts.
            device: the device the counts came from (recorded).
            timestamp: ISO 8601 time to record; ``None``: now (UTC).

        Raises:
            ValueError: the wrong number of counts dicts, keys of the wrong width, empty counts.
        """
        _check_method(method)
        qubits = _check_qubits(qubits, None)
        m = len(qubits)
        if method == "full":
            _check_full_size(m)
        expected = 2 if method == "tensored" else 2**m
        counts_list = list(calibration_counts)
        if len(counts_list) != expected:
            raise ValueError(
                f"a {method} calibration of {m} qubits takes the counts of {expected} circuits, got "
                f"{len(counts_list)}; pass the counts of calibration_circuits(..., method={method!r}) in order."
            )
        distributions = [counts_to_probabilities(c, m) for c in counts_list]
        if method == "tensored":
            zeros, ones = distributions
            states = np.arange(2**m)
            matrices: tuple[np.ndarray, ...] = ()
            for i in range(m):
                bit = (states >> i) & 1
                p1_given0 = float(zeros[bit == 1].sum())
                p0_given1 = float(ones[bit == 0].sum())
                matrices += (np.array([[1.0 - p1_given0, p0_given1], [p1_given0, 1.0 - p0_given1]]),)
        else:
            matrices = (np.stack(distributions, axis=1),)
        if shots is None:
            shots = round(float(sum(counts_list[0].values())))
        if timestamp is None:
            timestamp = datetime.now(UTC).isoformat(timespec="seconds")
        return cls(qubits=qubits, method=method, matrices=matrices, shots=shots, timestamp=timestamp, device=device)


# --------------------------------------------------------------------------------------------- mitigation


def _key_to_int(key: str | int, num_bits: int | None) -> tuple[int, int | None]:
    """``(integer, width)`` of a counts key; width ``None`` for integer keys."""
    if isinstance(key, bool):
        raise TypeError(f"counts keys must be bitstrings like '0110' or ints, got {key!r}.")
    if isinstance(key, int | np.integer):
        value = int(key)
        if value < 0 or (num_bits is not None and value >= 2**num_bits):
            raise ValueError(f"integer key {value} is outside 0..2**{num_bits} - 1.")
        return value, None
    if not isinstance(key, str):
        raise TypeError(f"counts keys must be bitstrings like '0110' or ints, got {key!r} ({type(key).__name__}).")
    bits = key.replace(" ", "")
    if not bits or set(bits) - {"0", "1"}:
        raise ValueError(f"counts keys must be bitstrings of 0 and 1 (classical bit 0 rightmost), got {key!r}.")
    if num_bits is not None and len(bits) != num_bits:
        raise ValueError(
            f"key {key!r} has {len(bits)} bits but the calibration covers {num_bits} qubits; measure exactly "
            "the calibrated qubits, qubit i into classical bit i."
        )
    return int(bits, 2), len(bits)


def counts_to_probabilities(counts: Mapping[str | int, float], num_bits: int) -> np.ndarray:
    """Normalised ``2^num_bits`` probability vector, entry ``int(key, 2)`` (classical bit 0 = least significant).

    ``counts`` may hold integer counts or (non-negative) probabilities; keys are bitstrings of
    width ``num_bits`` (spaces between registers are ignored) or integers.

    Shape:
        returns ``(2**num_bits,)`` float64.

    Raises:
        TypeError: keys that are not strings or ints.
        ValueError: keys of another width, negative or non-finite values, nothing counted.
    """
    if not isinstance(counts, Mapping):
        raise TypeError(f"counts must be a dict {{bitstring: count}}, got {type(counts).__name__}.")
    if num_bits > MAX_MITIGATED_BITS:
        raise ValueError(
            f"{num_bits} bits need a dense vector of 2**{num_bits} entries; the limit is {MAX_MITIGATED_BITS}. "
            "Mitigate marginals on fewer bits, or use a subspace method (e.g. mthree) for wide registers."
        )
    probabilities = np.zeros(2**num_bits, dtype=np.float64)
    for key, value in counts.items():
        index, _ = _key_to_int(key, num_bits)
        v = float(value)
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"counts must be finite and non-negative, got {v} for key {key!r}.")
        probabilities[index] += v
    total = probabilities.sum()
    if total <= 0:
        raise ValueError("the counts are empty (total 0); nothing to mitigate.")
    return probabilities / total


def nearest_probability_distribution(quasi: np.ndarray) -> np.ndarray:
    """The probability vector nearest to ``quasi`` in the Euclidean norm (Smolin-Gambetta-Smith).

    Sorts the entries, zeroes the most negative ones and spreads their (negative) weight evenly over
    the others, stopping at the first entry that stays non-negative. The result keeps the total of
    ``quasi`` (1 for mitigated quasi-probabilities) and is exactly the Euclidean projection onto the
    simplex: ``max(quasi - theta, 0)`` for the ``theta`` that restores the total.

    Shape:
        ``quasi``: ``(n,)``; returns ``(n,)`` float64.

    Raises:
        ValueError: not a 1-d finite vector, or a total that is not positive.
    """
    q = np.asarray(quasi, dtype=np.float64)
    if q.ndim != 1 or q.size == 0 or not np.all(np.isfinite(q)):
        raise ValueError(f"expected a non-empty 1-d finite vector of quasi-probabilities, got shape {q.shape}.")
    if q.sum() <= 0:
        raise ValueError(f"quasi-probabilities must have a positive total (1 after mitigation), got {q.sum()}.")
    order = np.argsort(q, kind="stable")
    s = q[order]
    n = s.size
    # beta[j]: the weight of the j smallest entries, all zeroed if the loop reaches j.
    beta = np.concatenate(([0.0], np.cumsum(s[:-1])))
    remaining = n - np.arange(n)
    keep_from = int(np.argmax(s + beta / remaining >= 0))  # the last entry always passes (total > 0)
    shifted = np.zeros(n)
    shifted[keep_from:] = s[keep_from:] + beta[keep_from] / remaining[keep_from]
    result = np.empty(n)
    result[order] = np.maximum(shifted, 0.0)
    return result


def _check_invertible(matrix: np.ndarray, what: str) -> None:
    condition = np.linalg.cond(matrix)
    if not np.isfinite(condition) or condition > _MAX_CONDITION:
        raise ValueError(
            f"{what} cannot be inverted (condition number {condition:.3g}): the readout cannot tell the states "
            "apart. Recalibrate, drop that qubit, or turn readout mitigation off."
        )


def _invert(probabilities: np.ndarray, calibration: ReadoutCalibration) -> np.ndarray:
    """Quasi-probabilities in our order (column ``i`` = ``calibration.qubits[i]``, column 0 most significant).

    ``"tensored"``: ``inv(A_i)`` on axis ``i`` of the vector viewed as a ``(2,) * m`` tensor, one factor at
    a time; ``"full"``: ``numpy.linalg.solve`` with the matrix brought to our order.
    """
    m = calibration.num_bits
    if calibration.method == "tensored":
        tensor = probabilities.reshape((2,) * m)
        for axis, (qubit, matrix) in enumerate(zip(calibration.qubits, calibration.matrices, strict=True)):
            _check_invertible(matrix, f"the confusion matrix of qubit {qubit}")
            tensor = np.moveaxis(np.tensordot(np.linalg.inv(matrix), tensor, axes=([1], [axis])), 0, axis)
        return tensor.reshape(-1)
    full = calibration.matrices[0]
    _check_invertible(full, f"the full confusion matrix of qubits {list(calibration.qubits)}")
    ours = from_qiskit_order(from_qiskit_order(full, m).T, m).T  # rows and columns to our order
    return np.linalg.solve(ours, probabilities)


def mitigate(counts: Counts, calibration: ReadoutCalibration, *, project: bool = True) -> Counts:
    """Readout-mitigated distribution of one circuit's counts, in our column order.

    Column ``i`` of ``counts`` must hold the measurement of ``calibration.qubits[i]`` (classical bit
    ``i``), which is how :class:`~hardware.backend.ProviderBackend` measures.

    Args:
        counts: the raw counts (:meth:`Counts.from_qiskit`).
        calibration: the readout calibration of the measured qubits.
        project: return the nearest probability distribution (default); ``False`` keeps the
            quasi-probabilities, which may be negative.

    Returns:
        Weights that are (quasi-)probabilities, over the outcomes with a non-zero one.

    Raises:
        ValueError: counts of another width, empty counts, a calibration that cannot be inverted.
    """
    m = calibration.num_bits
    if counts.num_bits != m:
        raise ValueError(
            f"the counts have {counts.num_bits} bits but the calibration covers {m} qubits; measure exactly "
            "the calibrated qubits, qubit i into classical bit i."
        )
    if m > MAX_MITIGATED_BITS:
        raise ValueError(f"{m} bits need a dense vector of 2**{m} entries; the limit is {MAX_MITIGATED_BITS}.")
    if counts.total <= 0:
        raise ValueError("the counts are empty (total 0); nothing to mitigate.")
    quasi = _invert(counts.probabilities(), calibration)
    return Counts.from_distribution(nearest_probability_distribution(quasi) if project else quasi)


def mitigate_probabilities(
    probabilities: np.ndarray, calibration: ReadoutCalibration, *, project: bool = True
) -> np.ndarray:
    """Apply the inverse confusion matrix to a measured distribution, then (optionally) project it.

    The vector is in Qiskit's order (entry ``int(key, 2)``); the inversion runs in ours
    (:func:`from_qiskit_order` on the way in and out).

    Args:
        probabilities: measured distribution, entry ``k`` = probability of key ``format(k, f"0{m}b")``.
        calibration: the calibration of the measured qubits, ``calibration.qubits[i]`` in classical bit ``i``.
        project: project the quasi-probabilities onto probability distributions
            (:func:`nearest_probability_distribution`); ``False`` returns them as they are.

    Shape:
        ``probabilities``: ``(2**m,)``; returns ``(2**m,)`` float64.

    Raises:
        ValueError: a vector of another length, or a calibration that cannot be inverted.
    """
    m = calibration.num_bits
    p = np.asarray(probabilities, dtype=np.float64)
    if p.shape != (2**m,):
        raise ValueError(f"expected a probability vector of shape ({2**m},) for {m} calibrated qubits, got {p.shape}.")
    quasi = from_qiskit_order(_invert(from_qiskit_order(p, m), calibration), m)
    return nearest_probability_distribution(quasi) if project else quasi


def mitigate_counts(
    counts: Mapping[str | int, float], calibration: ReadoutCalibration, *, project: bool = True
) -> dict[str, float]:
    """Readout-mitigated distribution of one circuit's counts.

    The counts' classical bit ``i`` (``key[-1 - i]``) must hold the measurement of
    ``calibration.qubits[i]``, and the keys must be exactly ``calibration.num_bits`` wide.

    Args:
        counts: ``{bitstring: count}`` in Qiskit's order (or non-negative probabilities).
        calibration: the readout calibration of the measured qubits.
        project: return the nearest probability distribution (default); ``False`` returns the
            quasi-probabilities, which may be negative.

    Returns:
        ``{bitstring: probability}`` over the non-zero entries, keys ``calibration.num_bits`` wide.

    Raises:
        ValueError: keys of another width, empty counts, a calibration that cannot be inverted.
    """
    m = calibration.num_bits
    mitigated = mitigate_probabilities(counts_to_probabilities(counts, m), calibration, project=project)
    nonzero = np.flatnonzero(mitigated)
    return {format(int(k), f"0{m}b"): float(mitigated[k]) for k in nonzero}


def _parse_mask(pauli_z_mask: int | str | Sequence[int]) -> tuple[int, int | None]:
    """``(bitmask, label width or None)``."""
    if isinstance(pauli_z_mask, bool):
        raise TypeError(
            "pauli_z_mask must be an int bitmask, a 'ZIZ' label or a sequence of classical bits, got a bool."
        )
    if isinstance(pauli_z_mask, int | np.integer):
        if pauli_z_mask < 0:
            raise ValueError(f"pauli_z_mask must be a non-negative bitmask, got {pauli_z_mask}.")
        return int(pauli_z_mask), None
    if isinstance(pauli_z_mask, str):
        label = pauli_z_mask.upper()
        if not label or set(label) - {"Z", "I"}:
            raise ValueError(
                f"a Pauli label must hold only 'Z' and 'I' (classical bit 0 rightmost), got {pauli_z_mask!r}."
            )
        bits = from_qiskit_order([label.replace("Z", "1").replace("I", "0")], len(label))[0]  # column i = bit i
        return sum(1 << i for i, bit in enumerate(bits) if bit), len(label)
    if isinstance(pauli_z_mask, Sequence | np.ndarray):
        mask = 0
        for bit in pauli_z_mask:
            if isinstance(bit, bool) or not isinstance(bit, int | np.integer) or bit < 0:
                raise ValueError(f"classical bit indices must be non-negative ints, got {bit!r}.")
            mask |= 1 << int(bit)
        return mask, None
    raise TypeError(
        "pauli_z_mask must be an int bitmask, a 'ZIZ' label or a sequence of classical bits, "
        f"got {type(pauli_z_mask).__name__}."
    )


def expectation_from_counts(
    counts_or_probs: Mapping[str | int, float], pauli_z_mask: int | str | Sequence[int]
) -> float:
    """``<Z...Z>`` over the selected classical bits: the average parity ``(-1)^(number of selected 1s)``.

    Works for raw counts, probabilities and (possibly negative) quasi-probabilities; the values are
    normalised by their total.

    Args:
        counts_or_probs: ``{bitstring: weight}`` in Qiskit's order (classical bit 0 rightmost), or
            integer keys.
        pauli_z_mask: the classical bits carrying a ``Z``: an int bitmask (bit ``i`` = classical bit
            ``i``), a label such as ``"ZIZ"`` read like a Qiskit Pauli label (rightmost letter =
            classical bit 0; as wide as the keys), or a sequence of classical-bit indices.
            Selecting no bit gives 1.

    Raises:
        TypeError: a mask or keys of the wrong type.
        ValueError: empty counts, a zero total, a mask selecting bits beyond the keys' width.
    """
    if not isinstance(counts_or_probs, Mapping):
        raise TypeError(f"counts_or_probs must be a dict {{bitstring: weight}}, got {type(counts_or_probs).__name__}.")
    if not counts_or_probs:
        raise ValueError("counts_or_probs is empty; nothing to average.")
    mask, label_width = _parse_mask(pauli_z_mask)
    widths = set()
    total = 0.0
    signed = 0.0
    for key, value in counts_or_probs.items():
        index, width = _key_to_int(key, None)
        if width is not None:
            widths.add(width)
        v = float(value)
        if not math.isfinite(v):
            raise ValueError(f"weights must be finite, got {v} for key {key!r}.")
        total += v
        signed += -v if (index & mask).bit_count() % 2 else v
    if len(widths) > 1:
        raise ValueError(f"all keys must have the same width, got widths {sorted(widths)}.")
    if widths:
        (width,) = widths
        if label_width is not None and label_width != width:
            raise ValueError(
                f"the label {pauli_z_mask!r} has {label_width} letters but the keys have {width} bits; "
                "give one letter per classical bit."
            )
        if mask >> width:
            raise ValueError(
                f"the mask selects classical bits up to {mask.bit_length() - 1} but the keys have only {width} bits."
            )
    if total == 0:
        raise ValueError("the weights sum to 0; cannot normalise.")
    return signed / total
