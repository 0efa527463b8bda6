"""Helpers for tests: random circuits over the live gate and channel registries.

Free of vendor SDKs (no Qiskit, no PennyLane): the conformance and agreement tests
draw circuits here and compare backends on them. Every draw is reproducible from
its ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from circuits.ir.channels import CHANNELS, KrausData
from circuits.ir.circuit import Circuit
from circuits.ir.gates import GATES, GateData, GateSpec, MatrixData, PauliLabel, gate_spec
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, ParameterVector, as_angle

__all__ = [
    "random_channel_params",
    "random_circuit",
    "random_kraus",
    "random_noisy_circuit",
    "random_gate_data",
    "random_hermitian",
    "random_unitary",
    "variable_width",
]

_MAX_VARIABLE_WIDTH = 4
_MAX_MATRIX_WIDTH = 3


def random_unitary(num_qubits: int, rng: np.random.Generator) -> np.ndarray:
    """A Haar-random unitary of size ``2**num_qubits`` (QR of a complex Gaussian matrix, phases fixed).

    Shape:
        Output: ``(2**num_qubits, 2**num_qubits)`` complex128.
    """
    dim = 2**num_qubits
    z = (rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))) / np.sqrt(2)
    q, r = np.linalg.qr(z)
    d = np.diag(r)
    return q * (d / np.abs(d))


def random_hermitian(num_qubits: int, rng: np.random.Generator) -> np.ndarray:
    """A random Hermitian matrix ``(A + A^dagger) / 2`` with a complex Gaussian ``A``.

    Shape:
        Output: ``(2**num_qubits, 2**num_qubits)`` complex128.
    """
    dim = 2**num_qubits
    a = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    return (a + a.conj().T) / 2


def variable_width(spec: GateSpec) -> bool:
    """True for gates whose width is chosen per operation (``mcx``, ``pauli_rot``, ``unitary`` ...)."""
    return spec.num_qubits is None


def random_gate_data(spec: GateSpec, num_qubits: int, rng: np.random.Generator) -> GateData:
    """Random payload for a gate that needs one: a Pauli word, a Hermitian or a unitary matrix on ``num_qubits``.

    Returns ``None`` for gates without data.
    """
    if spec.needs_data is PauliLabel:
        return PauliLabel("".join(rng.choice(list("IXYZ"), size=num_qubits)))
    if spec.needs_data is MatrixData:
        matrix = random_hermitian(num_qubits, rng) if spec.name == "evolution" else random_unitary(num_qubits, rng)
        return MatrixData(matrix)
    return None


def _width_range(spec: GateSpec, num_qubits: int) -> range:
    """Widths an operation of ``spec`` may take on a circuit of ``num_qubits`` qubits."""
    if not variable_width(spec):
        assert spec.num_qubits is not None
        return range(spec.num_qubits, spec.num_qubits + 1)
    cap = _MAX_MATRIX_WIDTH if spec.needs_data is MatrixData else _MAX_VARIABLE_WIDTH
    return range(max(spec.min_qubits, 1), min(cap, num_qubits) + 1)


def random_circuit(
    num_qubits: int,
    depth: int,
    seed: int,
    gates: Sequence[str] | None = None,
    *,
    parameter_name: str | None = None,
) -> Circuit:
    """A random circuit drawn from the gate registry.

    Each of the ``depth`` layers shuffles the qubits and places random gates on
    disjoint qubits until a drawn gate does not fit (so a layer has depth one); a drawn
    ``global_phase`` (no qubits) ends its layer. Angles are uniform in ``[-pi, pi)``;
    ``pauli_rot`` gets a random Pauli word, ``evolution`` a random Hermitian and
    ``unitary`` a Haar-random unitary (at most 3 qubits), multi-controlled gates up
    to 4 qubits.

    Args:
        num_qubits: width of the circuit, ``>= 1``.
        depth: number of layers, ``>= 0``.
        seed: seed of the ``numpy.random.Generator`` that draws everything.
        gates: gate names to draw from; every registered gate (the live registry
            :data:`circuits.ir.gates.GATES`) when ``None``.
        parameter_name: when given, every angle is symbolic, ``a * name[i] + b`` with
            random ``a`` and ``b`` and a fresh entry ``i`` of a parameter vector of that name.

    Raises:
        ValueError: ``num_qubits`` or ``depth`` out of range, or none of ``gates`` fits on
            ``num_qubits`` qubits.
        UnknownGateError: a name in ``gates`` is not registered.
    """
    if isinstance(num_qubits, bool) or not isinstance(num_qubits, int) or num_qubits < 1:
        raise ValueError(f"random_circuit needs num_qubits >= 1, got {num_qubits!r}.")
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"random_circuit needs depth >= 0, got {depth!r}.")
    names = sorted(GATES) if gates is None else list(gates)
    specs = [gate_spec(name) for name in names]
    fitting = [s for s in specs if len(_width_range(s, num_qubits)) > 0]
    if not fitting:
        raise ValueError(
            f"None of the gates {names} fits on {num_qubits} qubit(s); pass more qubits or gates that fit."
        )
    rng = np.random.default_rng(seed)
    drawn: list[tuple[GateSpec, tuple[int, ...], list[float], GateData]] = []
    for _ in range(depth):
        free = [int(q) for q in rng.permutation(num_qubits)]
        while True:
            spec = fitting[rng.integers(len(fitting))]
            widths = [w for w in _width_range(spec, num_qubits) if w <= len(free)]
            if not widths:
                break
            width = int(rng.choice(widths))
            qubits = tuple(free[:width])
            free = free[width:]
            data = random_gate_data(spec, width, rng)
            angles = [float(a) for a in rng.uniform(-np.pi, np.pi, size=spec.num_params)]
            drawn.append((spec, qubits, angles, data))
            if not free or width == 0:  # at most one zero-qubit gate (global_phase) ends a layer
                break
    count = sum(len(angles) for _, _, angles, _ in drawn)
    vector = ParameterVector(parameter_name, count) if parameter_name is not None and count else None
    operations = []
    index = 0
    for spec, qubits, angles, data in drawn:
        params: list[Angle] = []
        for value in angles:
            if vector is None:
                params.append(as_angle(value))
            else:
                params.append(float(rng.uniform(0.5, 1.5)) * vector[index] + value)
                index += 1
        operations.append(Operation(spec.name, qubits, tuple(params), data))
    return Circuit(num_qubits, operations)


def random_kraus(num_qubits: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """Kraus operators of a random channel: the blocks of a random isometry ``V`` (``V^dagger V = I``).

    Shape:
        Output: ``(count, 2**num_qubits, 2**num_qubits)`` complex128, ``sum_k K_k^dagger K_k = I``.
    """
    dim = 2**num_qubits
    z = rng.normal(size=(count * dim, dim)) + 1j * rng.normal(size=(count * dim, dim))
    isometry, _ = np.linalg.qr(z)
    return isometry.reshape(count, dim, dim)


def random_channel_params(name: str, rng: np.random.Generator, num_qubits: int = 1) -> tuple[float, ...]:
    """Valid random parameters of a registered channel (strong noise, to make differences visible)."""
    if name in ("amplitude_damping", "phase_damping", "bit_flip", "phase_flip"):
        return (float(rng.uniform(0, 1)),)
    if name == "depolarizing":
        return (float(rng.uniform(0, 4**num_qubits / (4**num_qubits - 1))),)
    if name == "pauli_channel":
        return tuple(float(p) for p in rng.dirichlet(np.ones(4))[:3])
    if name == "thermal_relaxation":
        t1 = float(rng.uniform(1, 2))
        return (t1, float(rng.uniform(0.1, 2 * t1)), float(rng.uniform(0, 1)), float(rng.uniform(0, 0.3)))
    assert CHANNELS[name].num_params == 0, name
    return ()


def random_noisy_circuit(
    num_qubits: int,
    depth: int,
    seed: int,
    channels: Sequence[str] | None = None,
    gates: Sequence[str] | None = None,
) -> Circuit:
    """A random circuit (:func:`random_circuit`) with a random channel after each gate.

    The channel acts on one of the gate's qubits, or on two of them (``depolarizing`` and ``kraus`` take two
    qubits half the time); its parameters come from :func:`random_channel_params`.

    Args:
        num_qubits: width, ``>= 1``.
        depth: layers of gates.
        seed: seed of everything drawn.
        channels: channel names to draw from (every registered channel when ``None``).
        gates: gate names for :func:`random_circuit`.
    """
    rng = np.random.default_rng(seed + 1)
    names = sorted(CHANNELS) if channels is None else list(channels)
    base = random_circuit(num_qubits, depth, seed, gates)
    operations: list[Operation] = []
    for op in base:
        operations.append(op)
        if not op.qubits:
            continue
        name = names[rng.integers(len(names))]
        two = name in ("depolarizing", "kraus") and op.num_qubits >= 2 and rng.uniform() < 0.5
        qubits = tuple(int(q) for q in rng.permutation(op.qubits)[: 2 if two else 1])
        data = KrausData(random_kraus(len(qubits), int(rng.integers(1, 4)), rng)) if name == "kraus" else None
        operations.append(Operation(name, qubits, random_channel_params(name, rng, len(qubits)), data))
    return Circuit(num_qubits, operations)
