"""The vendor-free measurement plan (circuits.measurement) against Qiskit's own simulators.

Exact: with the exact outcome distribution of every measured (rotated) circuit as its "counts", the
plan's expectation values equal ``qiskit.quantum_info`` to 1e-10, so the grouping, the basis rotations
and the readout are right. Sampled: counts from Qiskit Aer, read through the one bit-order helper, agree
with the exact values within shot noise. Exact plans (estimator devices) equal our engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, transpile
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit_aer import AerSimulator

from circuits import Circuit, TorchBackend, X, Y, Z
from circuits.errors import SimulationMemoryError
from circuits.export.qiskit import circuit_to_qiskit
from circuits.ir.observables import PauliSum, Projector
from circuits.measurement import (
    Basis,
    Counts,
    check_shot_budget,
    exact_plan,
    from_qiskit_order,
    probabilities_from_counts,
    probabilities_plan,
    shot_plan,
    sparse_terms,
)
from circuits.testing import random_circuit

ENGINE = TorchBackend(dtype=torch.complex128)


def _exact_expectation(circuit: Circuit, observable: PauliSum | Projector) -> float:
    """``qiskit.quantum_info``: the oracle, independent of our engine and of the plan."""
    state = Statevector(circuit_to_qiskit(circuit))
    n = circuit.num_qubits
    if isinstance(observable, Projector):
        probs = state.probabilities(list(observable.qubits))  # Qiskit order over the projector's qubits
        return float(probs[sum(bit << j for j, bit in enumerate(observable.bits))])
    return float(np.real(state.expectation_value(SparsePauliOp.from_sparse_list(sparse_terms(observable), n))))


def _random_observables(n: int, rng: np.random.Generator) -> list[PauliSum | Projector]:
    observables: list[PauliSum | Projector] = []
    for _ in range(3):
        terms = PauliSum(())
        for _ in range(rng.integers(1, 4)):
            label = "".join(rng.choice(list("IXYZ"), size=n))
            terms = terms + PauliSum.from_label(label, float(rng.normal()))
        observables.append(terms + float(rng.normal()))
    qubits = tuple(int(q) for q in rng.permutation(n)[: rng.integers(1, n + 1)])
    observables.append(Projector(qubits, tuple(int(b) for b in rng.integers(0, 2, size=len(qubits)))))
    return observables


# -- Qiskit's bit order --------------------------------------------------------------------------


def test_qiskit_keys_become_columns_in_classical_bit_order():
    bits = from_qiskit_order(["110", "001", "1 00"], 3)  # bit 0 is the rightmost character
    np.testing.assert_array_equal(bits, [[0, 1, 1], [1, 0, 0], [0, 0, 1]])
    assert bits.dtype == np.uint8
    with pytest.raises(ValueError, match=r"expected bitstrings of 3 bits, got widths \[2, 3\]"):
        from_qiskit_order(["110", "01"], 3)
    with pytest.raises(ValueError, match="only 0 and 1"):
        from_qiskit_order(["120"], 3)


def test_qiskit_index_order_becomes_ours_and_back():
    circuit = random_circuit(4, depth=6, seed=3)
    qiskit_probs = Statevector(circuit_to_qiskit(circuit)).probabilities()  # qubit 0 least significant
    ours = ENGINE.probs(circuit)[0].numpy()
    np.testing.assert_allclose(from_qiskit_order(qiskit_probs, 4), ours, atol=1e-12)
    np.testing.assert_allclose(from_qiskit_order(from_qiskit_order(qiskit_probs, 4), 4), qiskit_probs, atol=0)
    batch = np.stack([qiskit_probs, qiskit_probs[::-1]])
    np.testing.assert_allclose(from_qiskit_order(batch, 4)[0], ours, atol=1e-12)
    with pytest.raises(ValueError, match=r"last axis of 2\*\*4 = 16 entries, got shape \(8,\)"):
        from_qiskit_order(np.ones(8), 4)


def test_counts_read_parities_frequencies_and_probabilities():
    counts = Counts.from_qiskit({"00": 30, "11": 50, "01": 20}, 2)  # "01": column 0 read 1
    assert counts.total == 100
    assert counts.parity([0, 1]) == pytest.approx(0.6, abs=1e-15)
    assert counts.parity([0]) == pytest.approx(-0.4, abs=1e-15)
    assert counts.parity([1]) == pytest.approx(0.0, abs=1e-15)
    assert counts.frequency([0, 1], [1, 0]) == pytest.approx(0.2, abs=1e-15)
    probs = probabilities_from_counts([counts])
    torch.testing.assert_close(probs, torch.tensor([[0.3, 0.0, 0.2, 0.5]], dtype=torch.float64))
    again = Counts.from_distribution(probs[0].numpy())
    np.testing.assert_array_equal(again.bits, [[0, 0], [1, 0], [1, 1]])
    np.testing.assert_allclose(again.weights, [0.3, 0.2, 0.5])


# -- the shot plan -------------------------------------------------------------------------------


def test_grouping_by_qubitwise_commuting_bases():
    plan = shot_plan([Z(0), X(1), Z(0) @ Z(1), X(0) @ X(1), Projector((2, 0), (1, 0)), 0.5 * Y(2) + 1.0])
    assert plan.bases == (
        Basis((0, 1, 2), ("Z", "X", "Z")),  # Z0, X1, then the projector's Z2 and Z0 join
        Basis((0, 1, 2), ("Z", "Z", "Y")),  # Z0 Z1 clashes with X1; Y2 is the first fit after it
        Basis((0, 1), ("X", "X")),
    )
    assert plan.constants == (0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    projector = plan.readouts[4][0]
    assert (projector.basis, projector.columns, projector.bits) == (0, (2, 0), (1, 0))


def test_basis_rotations_are_our_operations():
    basis = Basis((0, 2, 3), ("X", "Z", "Y"))
    assert [(op.name, op.qubits) for op in basis.rotation()] == [("h", (0,)), ("sdg", (3,)), ("h", (3,))]
    circuit = Circuit(4).ry(0.3, 0)
    assert basis.rotate(circuit).operations == circuit.operations + basis.rotation()
    assert Basis((1,), ("Z",)).rotate(circuit) is circuit


def test_a_plan_without_measured_terms_gives_the_constants():
    plan = shot_plan([PauliSum(()) + 2.5])
    assert plan.bases == ()
    torch.testing.assert_close(plan.expectations([], 3), torch.full((3, 1), 2.5, dtype=torch.float64))


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_the_plan_with_exact_distributions_equals_quantum_info(seed):
    """Each basis's exact outcome distribution as counts: the plan's estimates are the exact values."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    circuit = random_circuit(n, depth=5, seed=seed)
    observables = _random_observables(n, rng)
    plan = shot_plan(observables)
    counts = []
    for basis in plan.bases:
        probs = ENGINE.probs(basis.rotate(circuit), qubits=basis.qubits)[0].numpy()
        counts.append([Counts.from_distribution(probs)])
    got = plan.expectations(counts, 1)[0]
    expected = torch.tensor([_exact_expectation(circuit, o) for o in observables], dtype=torch.float64)
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0, msg=f"seed={seed}")


def test_the_plan_with_aer_counts_agrees_within_shot_noise():
    """Measured circuits built from the plan, sampled by Qiskit Aer, read back through the bit-order helper."""
    shots = 20_000
    rng = np.random.default_rng(11)
    simulator = AerSimulator(seed_simulator=5)
    for seed in range(3):
        circuit = random_circuit(3, depth=6, seed=seed)
        observables = _random_observables(3, rng)
        plan = shot_plan(observables)
        counts = []
        for basis in plan.bases:
            qc = circuit_to_qiskit(basis.rotate(circuit))
            register = ClassicalRegister(len(basis.qubits))
            qc.add_register(register)
            for j, q in enumerate(basis.qubits):
                qc.measure(q, register[j])
            raw = simulator.run(transpile(qc, simulator), shots=shots).result().get_counts()
            counts.append([Counts.from_qiskit(raw, len(basis.qubits))])
        got = plan.expectations(counts, 1)[0].numpy()
        for k, obs in enumerate(observables):
            exact = _exact_expectation(circuit, obs)
            scale = 1.0 if isinstance(obs, Projector) else sum(abs(t.coeff) for t in obs.terms if t.paulis)
            assert abs(got[k] - exact) <= 5 * scale / math.sqrt(shots) + 1e-12, (seed, k, got[k], exact)


# -- exact plans ---------------------------------------------------------------------------------


def _estimator_values(circuit: Circuit, operators) -> np.ndarray:
    state = Statevector(circuit_to_qiskit(circuit))
    n = circuit.num_qubits
    ops = [SparsePauliOp.from_sparse_list(sparse_terms(o), n) for o in operators]
    return np.array([[float(np.real(state.expectation_value(o))) for o in ops]])


def test_exact_probabilities_need_one_z_string_per_outcome_not_per_term():
    circuit = random_circuit(8, depth=4, seed=5)
    qubits = (6, 0, 3, 1, 2, 7, 4, 5)
    plan = probabilities_plan(qubits)
    assert len(plan.operators) == 2**8 - 1  # not the 4**8 = 65536 terms of 256 expanded projectors
    assert all(len(o.terms) == 1 and o.is_diagonal for o in plan.operators)
    got = plan.read(_estimator_values(circuit, plan.operators))
    torch.testing.assert_close(got, ENGINE.probs(circuit, qubits=qubits), atol=1e-10, rtol=0)


def test_exact_plan_shares_the_distribution_of_projectors_on_the_same_qubits():
    circuit = random_circuit(3, depth=6, seed=8)
    observables = [Projector((2, 0), (1, 0)), 0.5 * X(0) @ Y(1) - 0.2, Projector((2, 0), (0, 1)), Projector((1,), (1,))]
    plan = exact_plan(observables)
    assert len(plan.operators) == 1 + 3 + 1  # the sum, then Z-strings on (2, 0), then on (1,)
    got = plan.read(_estimator_values(circuit, plan.operators))
    expected = torch.tensor([[_exact_expectation(circuit, o) for o in observables]], dtype=torch.float64)
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)
    assert probabilities_plan(()).read(np.zeros((2, 0))).tolist() == [[1.0], [1.0]]


# -- shot budget ---------------------------------------------------------------------------------


def test_shot_budget_refuses_memory_and_time_before_anything_runs():
    with pytest.raises(SimulationMemoryError, match=r"Test: 1000000000000 shots x 2 circuit execution\(s\)"):
        check_shot_budget(backend="Test", shots=10**12, executions=2, bytes_per_shot=8)
    with pytest.raises(ValueError, match=r"would take about 23.1 days to sample .* the limit is 1 hours"):
        check_shot_budget(backend="Test", shots=10**12, executions=2, shots_per_second=1e6)
    check_shot_budget(backend="Test", shots=1000, executions=10, bytes_per_shot=100, shots_per_second=1e6)
