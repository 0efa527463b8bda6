"""The quantum-neuron circuit against a dense numpy oracle of its postselected map, on the engine and on Aer."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import Circuit, ParameterVector, TorchBackend
from circuits.errors import QubitIndexError
from circuits.library import (
    DEFAULT_NEURON_OFFSET,
    neuron_ancilla_count,
    neuron_subsets,
    neuron_weight_count,
    quantum_neuron,
)

REF = TorchBackend(dtype=torch.complex128)


def _random_state(num_qubits: int, rng: np.random.Generator) -> np.ndarray:
    v = rng.normal(size=2**num_qubits) + 1j * rng.normal(size=2**num_qubits)
    return v / np.linalg.norm(v)


def _preparation(state: np.ndarray, num_lanes: int, width: int) -> Circuit:
    """A circuit that prepares ``state`` on qubits ``0 .. num_lanes - 1`` (a unitary whose first column it is)."""
    matrix = np.linalg.qr(np.column_stack([state, np.eye(len(state))[:, 1:]]))[0]
    matrix = matrix * (state[0] / matrix[0, 0])  # the QR column is state up to a phase
    return Circuit(width).unitary(matrix, list(range(num_lanes)))


def _oracle(state, sources, target, weights, bias, order, degree, offset=DEFAULT_NEURON_OFFSET):
    """Dense reference: on each source basis state, M = cos^(2^k) eta I + sin^(2^k) eta (-iY) on the target."""
    n = int(np.log2(len(state)))
    psi = state.reshape([2] * n)
    out = np.zeros_like(psi)
    subsets = list(
        itertools.chain.from_iterable(itertools.combinations(range(len(sources)), r) for r in range(1, degree + 1))
    )
    for index in itertools.product((0, 1), repeat=n):
        if index[target]:
            continue
        x = [index[q] for q in sources]
        eta = 0.5 * (sum(w for w, s in zip(weights, subsets, strict=True) if all(x[i] for i in s)) + bias + offset)
        c, s = math.cos(eta) ** 2**order, math.sin(eta) ** 2**order
        zero = index
        one = tuple(1 if q == target else b for q, b in enumerate(index))
        out[zero] = c * psi[zero] - s * psi[one]
        out[one] = s * psi[zero] + c * psi[one]
    flat = out.reshape(-1)
    kept = np.vdot(flat, flat).real
    return flat / math.sqrt(kept), kept


def _postselected(state: np.ndarray, num_lanes: int) -> tuple[np.ndarray, float]:
    """Project every qubit after the first ``num_lanes`` onto |0> and renormalise."""
    ancillas = int(np.log2(len(state))) - num_lanes
    kept = state.reshape(2**num_lanes, 2**ancillas)[:, 0]
    probability = np.vdot(kept, kept).real
    return kept / math.sqrt(probability), probability


CASES = [
    # (lanes, sources, target, order, degree)
    (3, [0, 1], 2, 1, 2),
    (4, [0, 1, 3], 2, 2, 2),
    (4, [3, 0], 1, 2, 1),
    (3, [2, 1], 0, 3, 2),
    (4, [1, 2, 3], 0, 2, 3),
]


def _run(backend, lanes, sources, target, order, degree, seed):
    rng = np.random.default_rng(seed)
    ancillas = neuron_ancilla_count(order)
    width = lanes + ancillas
    circuit = quantum_neuron(width, sources, target, list(range(lanes, width)), order=order, degree=degree)
    state = _random_state(lanes, rng)
    weights = rng.normal(0.0, 1.5, size=neuron_weight_count(len(sources), degree))
    bias = float(rng.normal())
    out = backend.state(_preparation(state, lanes, width).compose(circuit), {"phi": weights, "theta": [bias]})
    got, probability = _postselected(out[0].numpy(), lanes)
    expected, kept = _oracle(state, sources, target, weights, bias, order, degree)
    return got, probability, expected, kept


@settings(max_examples=10, deadline=None)
@given(case=st.sampled_from(CASES), seed=st.integers(0, 2**32 - 1))
def test_circuit_postselected_on_the_engine_is_the_neuron_map(case, seed):
    got, probability, expected, kept = _run(REF, *case, seed)
    np.testing.assert_allclose(got, expected, atol=1e-10)
    assert probability == pytest.approx(kept, abs=1e-12)


@pytest.mark.parametrize("case", CASES[:3])
def test_circuit_postselected_on_aer_is_the_neuron_map(case):
    aer = pytest.importorskip("circuits.backends.aer").AerBackend()
    got, probability, expected, kept = _run(aer, *case, seed=7)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    assert probability == pytest.approx(kept, abs=1e-6)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_the_target_is_rotated_to_the_closed_form_activation(order):
    """One source in |1> with weight phi: the target ends at angle arctan(tan(eta)^(2^k)), eta = (phi + beta) / 2."""
    width = 2 + neuron_ancilla_count(order)
    circuit = Circuit(width).x(0).compose(quantum_neuron(width, [0], 1, list(range(2, width)), order=order, degree=1))
    etas = np.linspace(0.05, math.pi / 2 - 0.05, 9)
    phis = 2 * etas - DEFAULT_NEURON_OFFSET
    for eta, phi in zip(etas, phis, strict=True):
        state = REF.state(circuit, {"phi": [phi], "theta": [0.0]})[0].numpy().reshape(4, -1)[:, 0]
        amplitudes = state[2:] / np.linalg.norm(state[2:])  # source in |1>: target amplitudes
        angle = math.atan2(amplitudes[1].real, amplitudes[0].real)
        assert angle == pytest.approx(math.atan(math.tan(eta) ** (2**order)), abs=1e-10)


def test_subsets_are_ordered_by_size_then_lexicographically():
    assert neuron_subsets(3, 2) == ((0,), (1,), (2,), (0, 1), (0, 2), (1, 2))
    assert neuron_subsets(3, 3)[-1] == (0, 1, 2)
    assert neuron_weight_count(9, 2) == 45 and neuron_weight_count(7, 3) == 63
    assert [neuron_ancilla_count(k) for k in (1, 2, 3)] == [1, 3, 7]


def test_gate_layout_of_order_two():
    circuit = quantum_neuron(7, [0, 1], 2, [3, 4, 5], order=2, degree=2)
    names = [op.name for op in circuit]
    # 2^k parameter blocks of (3 controlled RY + 1 RY) and 2^k - 1 CRY(+-pi) between them
    assert names.count("mcry") == 4 and names.count("ry") == 4 and names.count("cry") == 4 * 2 + 3
    flips = [op for op in circuit if op.name == "cry" and op.params[0].is_constant]
    assert [(op.qubits, float(op.params[0].constant)) for op in flips] == [
        ((4, 3), math.pi),  # B_0 on ancilla 3 (its own ancilla 4), postselect 4
        ((3, 2), math.pi),  # CRY(pi) ancilla 3 -> target
        ((5, 3), -math.pi),  # B_0^dagger on ancilla 3 (fresh ancilla 5)
    ]
    assert circuit.parameters == {"phi": 3, "theta": 1}
    assert 6 not in {q for op in circuit for q in op.qubits}


def test_named_vectors_and_offset():
    w, b = ParameterVector("w7", 1), ParameterVector("b7", 1)
    circuit = quantum_neuron(3, [0], 1, [2], order=1, degree=1, weights=w, bias=b, offset=0.25)
    assert circuit.parameters == {"b7": 1, "w7": 1}
    assert str(circuit.operations[1].params[0]) in {"b7[0] + 0.25", "0.25 + b7[0]"}


def test_bad_arguments_name_the_problem_and_the_fix():
    with pytest.raises(ValueError, match=r"order 2 postselects 2\*\*order - 1 = 3 fresh ancilla\(s\).*got 2"):
        quantum_neuron(6, [0, 1], 2, [3, 4], order=2)
    with pytest.raises(QubitIndexError, match=r"needs num_qubits >= 7, got 6"):
        quantum_neuron(6, [0, 1], 2, [3, 4, 6], order=2)
    with pytest.raises(ValueError, match=r"order must be an int >= 1, got 0"):
        quantum_neuron(6, [0, 1], 2, [], order=0)
    with pytest.raises(ValueError, match=r"degree .* must be in 1\.\.2 \(the number of sources\), got 3"):
        quantum_neuron(4, [0, 1], 2, [3], order=1, degree=3)
    with pytest.raises(TypeError, match=r"degree must be an int"):
        quantum_neuron(4, [0, 1], 2, [3], order=1, degree=1.5)
    with pytest.raises(ValueError, match=r"must be distinct qubits"):
        quantum_neuron(4, [0, 1], 1, [3], order=1)
    with pytest.raises(ValueError, match=r"at least one source"):
        quantum_neuron(4, [], 1, [3], order=1)
    with pytest.raises(ValueError, match=r"weights ParameterVector 'w' must have .* = 3 entries, got 2"):
        quantum_neuron(4, [0, 1], 2, [3], order=1, weights=ParameterVector("w", 2))
    with pytest.raises(ValueError, match=r"distinct names"):
        quantum_neuron(4, [0, 1], 2, [3], order=1, weights="x", bias="x")
