"""A deliberately simple dense-matrix simulator in numpy: the test oracle for the fast engine.

Every gate becomes a full ``2**n x 2**n`` matrix (``numpy.kron`` order, qubit 0
first) multiplied onto the state in complex128. No fusion, no batching, no
special cases: slow and obviously right. Do not optimise it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from circuits.errors import UnsupportedChannelError
from circuits.ir.channels import channel_kraus
from circuits.ir.circuit import Circuit
from circuits.ir.gates import gate_matrix
from circuits.ir.observables import Observable, Projector

__all__ = [
    "reference_density_matrix",
    "reference_expectation",
    "reference_probabilities",
    "reference_state",
    "reference_unitary",
]

_PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def _embed(matrix: np.ndarray, qubits: Sequence[int], num_qubits: int) -> np.ndarray:
    """The full matrix of ``matrix`` acting on ``qubits`` (first of them most significant)."""
    rest = [q for q in range(num_qubits) if q not in qubits]
    full = np.kron(matrix, np.eye(2 ** len(rest)))  # acts on (qubits..., rest...) in that order
    order = list(qubits) + rest
    inverse = list(np.argsort(order))
    tensor = full.reshape([2] * (2 * num_qubits))
    tensor = tensor.transpose(inverse + [num_qubits + i for i in inverse])
    return tensor.reshape(2**num_qubits, 2**num_qubits)


def _angle_value(angle, values: Mapping[str, np.ndarray]) -> float:
    total = angle.constant
    for coeff, symbols in angle.terms:
        term = coeff
        for s in symbols:
            term *= float(values[s.vector][s.index])
        total += term
    return total


def reference_unitary(circuit: Circuit, values: Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
    """The circuit's full unitary for one binding, complex128 ``(2**n, 2**n)``."""
    if circuit.has_channels:
        raise UnsupportedChannelError(
            "A circuit with noise channels has no unitary; use reference_density_matrix for its final state."
        )
    values = {k: np.asarray(v, dtype=np.float64) for k, v in (values or {}).items()}
    n = circuit.num_qubits
    unitary = np.eye(2**n, dtype=np.complex128)
    for op in circuit:
        params = torch.tensor([[_angle_value(p, values) for p in op.params]], dtype=torch.float64)
        matrix = gate_matrix(op.name, params, op.data, op.num_qubits)[0].numpy()
        if op.num_qubits == 0:
            unitary = matrix[0, 0] * unitary
        else:
            unitary = _embed(matrix, op.qubits, n) @ unitary
    return unitary


def reference_density_matrix(circuit: Circuit, values: Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
    """Final density matrix from ``|0...0><0...0|`` for one binding, complex128 ``(2**n, 2**n)``.

    Gates act as ``U rho U^dagger`` and channels as ``sum_k K_k rho K_k^dagger``, each with its full matrices.
    """
    values = {k: np.asarray(v, dtype=np.float64) for k, v in (values or {}).items()}
    n = circuit.num_qubits
    rho = np.zeros((2**n, 2**n), dtype=np.complex128)
    rho[0, 0] = 1.0
    for op in circuit:
        params = torch.tensor([[_angle_value(p, values) for p in op.params]], dtype=torch.float64)
        if op.is_channel:
            kraus = channel_kraus(op.name, params, op.data, op.num_qubits)[0].numpy()
            full = [_embed(k, op.qubits, n) for k in kraus]
            rho = sum(k @ rho @ k.conj().T for k in full)
            continue
        matrix = gate_matrix(op.name, params, op.data, op.num_qubits)[0].numpy()
        full = matrix[0, 0] * np.eye(2**n) if op.num_qubits == 0 else _embed(matrix, op.qubits, n)
        rho = full @ rho @ full.conj().T
    return rho


def reference_state(circuit: Circuit, values: Mapping[str, Sequence[float]] | None = None) -> np.ndarray:
    """Final state from ``|0...0>`` for one binding, complex128 ``(2**n,)``."""
    return reference_unitary(circuit, values)[:, 0]


def reference_probabilities(state: np.ndarray, num_qubits: int, qubits: Sequence[int]) -> np.ndarray:
    """Marginal probabilities of ``qubits`` (first listed most significant)."""
    probs = (np.abs(state) ** 2).reshape([2] * num_qubits)
    others = tuple(q for q in range(num_qubits) if q not in qubits)
    marginal = probs.sum(axis=others) if others else probs
    kept = sorted(qubits)
    marginal = marginal.transpose([kept.index(q) for q in qubits])
    return marginal.reshape(-1)


def observable_matrix(observable: Observable, num_qubits: int) -> np.ndarray:
    """Dense matrix of an observable, complex128 ``(2**n, 2**n)``."""
    if isinstance(observable, Projector):
        proj = np.ones((1, 1))
        for b in observable.bits:
            proj = np.kron(proj, np.diag([1.0 - b, float(b)]))
        return _embed(proj, observable.qubits, num_qubits).astype(np.complex128)
    total = np.zeros((2**num_qubits, 2**num_qubits), dtype=np.complex128)
    for term in observable.terms:
        letters = ["I"] * num_qubits
        for q, letter in term.paulis:
            letters[q] = letter
        matrix = np.ones((1, 1))
        for letter in letters:
            matrix = np.kron(matrix, _PAULI[letter])
        total += term.coeff * matrix
    return total


def reference_expectation(state: np.ndarray, observable: Observable, num_qubits: int) -> float:
    """``<state| O |state>`` (real part)."""
    return float(np.real(state.conj() @ observable_matrix(observable, num_qubits) @ state))
