"""Tests of the Qiskit converter: round trips, qubit order, parameters, decomposition, errors, Aer binds."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter, ParameterVector, ParameterVectorElement
from qiskit.circuit.library import (
    CXGate,
    MCXGate,
    PauliEvolutionGate,
    QFTGate,
    RYGate,
    SGate,
    UnitaryGate,
)
from qiskit.quantum_info import Operator, SparsePauliOp, Statevector

from circuits import Circuit, TorchBackend
from circuits import ParameterVector as OurVector
from circuits.errors import BindingError, CircuitError, UnboundParameterError
from circuits.export.qiskit import (
    ConversionError,
    EvolutionGate,
    circuit_from_qiskit,
    circuit_to_qiskit,
    qiskit_parameter_binds,
    reverse_qubit_order,
)
from circuits.ir.gates import GATES
from circuits.ir.parameters import Symbol, as_angle
from circuits.sim.reference import reference_unitary as dense_unitary
from circuits.testing import random_circuit, random_hermitian, random_unitary

SEEDS = st.integers(0, 2**32 - 1)


def qiskit_unitary(qc: QuantumCircuit) -> np.ndarray:
    """Qiskit's operator in our (big-endian) qubit order."""
    return Operator(qc).reverse_qargs().data


# -- round trips and agreement ---------------------------------------------------------------


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, num_qubits=st.integers(1, 4))
def test_round_trip_through_qiskit_keeps_the_unitary(seed, num_qubits):
    circuit = random_circuit(num_qubits, 3, seed)
    qc = circuit_to_qiskit(circuit)
    expected = dense_unitary(circuit)
    np.testing.assert_allclose(qiskit_unitary(qc), expected, atol=1e-12, rtol=0)
    np.testing.assert_allclose(dense_unitary(circuit_from_qiskit(qc)), expected, atol=1e-12, rtol=0)


@settings(max_examples=20, deadline=None)
@given(seed=SEEDS)
def test_round_trip_of_gates_that_map_one_to_one_is_exact(seed):
    one_to_one = [g for g in GATES if not g.startswith("mc") and g != "global_phase"]
    circuit = random_circuit(4, 3, seed, one_to_one)
    assert circuit_from_qiskit(circuit_to_qiskit(circuit)) == circuit


@pytest.mark.parametrize(("dtype", "atol"), [(torch.complex128, 1e-10), (torch.complex64, 1e-5)], ids=["c128", "c64"])
@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, num_qubits=st.integers(1, 5))
def test_torch_backend_state_equals_qiskit_statevector(dtype, atol, seed, num_qubits):
    circuit = random_circuit(num_qubits, 4, seed)
    ours = TorchBackend(dtype=dtype).state(circuit)[0].to(torch.complex128).numpy()
    reference = Statevector(circuit_to_qiskit(circuit)).reverse_qargs().data
    np.testing.assert_allclose(ours, reference, atol=atol, rtol=0)


def test_statevector_index_is_bit_reversed_between_conventions():
    circuit = Circuit(3).x(0).h(2)  # |1> on qubit 0, |+> on qubit 2
    ours = TorchBackend(dtype=torch.complex128).state(circuit)[0].numpy()
    qiskit_state = Statevector(circuit_to_qiskit(circuit)).data
    for index in range(8):
        reversed_index = int(f"{index:03b}"[::-1], 2)
        assert ours[index] == pytest.approx(qiskit_state[reversed_index], abs=1e-12)
    assert abs(ours[0b100]) == pytest.approx(2**-0.5)  # qubit 0 is our most significant bit


def test_qargs_keep_their_order_for_named_gates():
    qc = circuit_to_qiskit(Circuit(3).cx(2, 0).crx(0.3, 1, 2))
    assert [(i.operation.name, [qc.find_bit(q).index for q in i.qubits]) for i in qc.data] == [
        ("cx", [2, 0]),
        ("crx", [1, 2]),
    ]


def test_unitary_matrix_is_converted_to_little_endian():
    matrix = random_unitary(2, np.random.default_rng(0))
    qc = circuit_to_qiskit(Circuit(2).unitary(matrix, (0, 1)))
    gate = qc.data[0].operation
    assert isinstance(gate, UnitaryGate)
    np.testing.assert_array_equal(gate.to_matrix(), reverse_qubit_order(matrix))
    back = circuit_from_qiskit(qc)
    np.testing.assert_array_equal(back.operations[0].data.array, matrix)


def test_reverse_qubit_order_permutes_kron_factors():
    a, b, c = np.random.default_rng(0).integers(-9, 9, size=(3, 2, 2))  # integers: kron products are exact
    np.testing.assert_array_equal(reverse_qubit_order(np.kron(np.kron(a, b), c)), np.kron(np.kron(c, b), a))


# -- evolution and Pauli rotations ------------------------------------------------------------


def test_evolution_gate_is_exact_for_noncommuting_terms():
    hamiltonian = random_hermitian(2, np.random.default_rng(1))
    t = ParameterVector("t", 1)
    gate = EvolutionGate(hamiltonian, 0.5 * t[0] + 0.25)
    qc = QuantumCircuit(2)
    qc.append(gate, [0, 1])
    bound = qc.assign_parameters({t[0]: 1.1})
    expected = scipy.linalg.expm(-1j * 0.8 * hamiltonian)
    np.testing.assert_allclose(Operator(bound.data[0].operation).data, expected, atol=1e-12)
    np.testing.assert_allclose(Operator(bound.decompose()).data, expected, atol=1e-12)  # the definition


def test_evolution_keeps_time_symbolic_and_round_trips():
    hamiltonian = random_hermitian(2, np.random.default_rng(2))
    time = OurVector("t", 2)
    circuit = Circuit(3).evolution(hamiltonian, 2.0 * time[1] + 0.1, (2, 0))
    qc = circuit_to_qiskit(circuit)
    assert [p.name for p in qc.parameters] == ["t[1]"]
    assert circuit_from_qiskit(qc) == circuit
    values = {"t": [0.0, 0.3]}
    np.testing.assert_allclose(
        qiskit_unitary(qc.assign_parameters(qiskit_binds_single(qc, values))),
        dense_unitary(circuit.bind(values)),
        atol=1e-12,
    )


def qiskit_binds_single(qc: QuantumCircuit, values: dict) -> dict:
    return {p: v[0] for p, v in qiskit_parameter_binds(qc, values).items()}


def test_pauli_rot_is_a_pauli_evolution_with_half_angle():
    theta = OurVector("theta", 1)
    circuit = Circuit(3).pauli_rot(theta[0], "XYZ", (0, 2, 1))
    qc = circuit_to_qiskit(circuit)
    gate = qc.data[0].operation
    assert isinstance(gate, PauliEvolutionGate)
    assert gate.operator.paulis[0].to_label() == "ZYX"  # little-endian label on the same qargs
    assert circuit_from_qiskit(qc) == circuit
    bound = qc.assign_parameters([0.9])
    np.testing.assert_allclose(qiskit_unitary(bound), dense_unitary(circuit.bind({"theta": [0.9]})), atol=1e-12)


def test_multi_term_pauli_evolution_loads_as_exact_evolution():
    op = SparsePauliOp(["XX", "ZI", "IY"], [0.5, -0.3, 0.8])
    qc = QuantumCircuit(2)
    qc.append(PauliEvolutionGate(op, time=0.7), [0, 1])
    circuit = circuit_from_qiskit(qc)
    assert [o.name for o in circuit] == ["evolution"]
    expected = scipy.linalg.expm(-1j * 0.7 * reverse_qubit_order(op.to_matrix()))
    np.testing.assert_allclose(dense_unitary(circuit), expected, atol=1e-12)


# -- parameters -------------------------------------------------------------------------------


def test_vectors_map_to_one_parameter_vector_per_name():
    theta, x = OurVector("theta", 3), OurVector("x", 2)
    circuit = Circuit(2).rx(theta[0], 0).ry(0.5 * theta[2] * x[1] + 0.1, 1).rz(x[0], 0).rzz(theta[0], 0, 1)
    qc = circuit_to_qiskit(circuit)
    names = sorted(p.name for p in qc.parameters)
    assert names == ["theta[0]", "theta[2]", "x[0]", "x[1]"]
    for p in qc.parameters:
        assert isinstance(p, ParameterVectorElement)
        assert len(p.vector) == {"theta": 3, "x": 2}[p.vector.name]
    vectors = {p.vector for p in qc.parameters if p.vector.name == "theta"}
    assert len(vectors) == 1  # reused, not one vector per gate
    values = {"theta": [0.3, -1.0, 0.7], "x": [1.5, -0.4]}
    bound = qc.assign_parameters(qiskit_binds_single(qc, values))
    np.testing.assert_allclose(qiskit_unitary(bound), dense_unitary(circuit.bind(values)), atol=1e-12)
    assert circuit_from_qiskit(qc) == circuit


def test_plain_parameters_and_polynomials_load_exactly():
    a, b = Parameter("a"), Parameter("b")
    v = ParameterVector("theta", 2)
    qc = QuantumCircuit(1)
    qc.rx(2 * a * v[1] + a * a - 0.5, 0)
    qc.ry((a + b) * (a - b), 0)
    circuit = circuit_from_qiskit(qc)
    assert circuit.parameters == {"a": 1, "b": 1, "theta": 2}
    sa, sb, t1 = (as_angle(Symbol(n, i, s)) for n, i, s in (("a", 0, 1), ("b", 0, 1), ("theta", 1, 2)))
    assert circuit.operations[0].params[0] == 2.0 * sa * t1 + sa * sa - 0.5
    assert circuit.operations[1].params[0] == sa * sa - sb * sb


def test_global_phase_becomes_an_operation():
    a = Parameter("a")
    qc = QuantumCircuit(1)
    qc.h(0)
    qc.global_phase = 0.5 * a + 0.25
    circuit = circuit_from_qiskit(qc)
    assert circuit.operations[-1].name == "global_phase"
    assert circuit.operations[-1].params[0] == 0.5 * as_angle(Symbol("a", 0, 1)) + 0.25
    bound = circuit.bind({"a": [0.7]})
    np.testing.assert_allclose(dense_unitary(bound), Operator(qc.assign_parameters([0.7])).data, atol=1e-12)
    assert circuit_from_qiskit(QuantumCircuit(1)).operations == ()  # no phase, no operation


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda a, v: a.sin(), "not a polynomial"),
        (lambda a, v: a / v[0], "not a polynomial"),
        (lambda a, v: a.exp(), "not a polynomial"),
        (lambda a, v: 1j * a, "complex"),
    ],
    ids=["sin", "division", "exp", "complex"],
)
def test_non_polynomial_expressions_raise(make, match):
    a, v = Parameter("a"), ParameterVector("v", 1)
    qc = QuantumCircuit(1)
    qc.rz(make(a, v), 0)
    with pytest.raises(CircuitError, match=match):
        circuit_from_qiskit(qc)


def test_parameter_names_that_are_not_identifiers_raise():
    qc = QuantumCircuit(1)
    qc.rz(Parameter("a b"), 0)
    with pytest.raises(CircuitError, match="not a valid parameter vector name: expected a Python identifier"):
        circuit_from_qiskit(qc)


def test_plain_parameter_clashing_with_a_vector_raises():
    qc = QuantumCircuit(1)
    qc.rz(Parameter("theta"), 0)
    qc.rx(ParameterVector("theta", 2)[1], 0)
    with pytest.raises(CircuitError, match="both a ParameterVector and a plain Parameter named 'theta'"):
        circuit_from_qiskit(qc)


# -- decomposition ----------------------------------------------------------------------------


def test_custom_gate_with_parameters_decomposes_through_its_definition():
    a = Parameter("a")
    sub = QuantumCircuit(2, name="block")
    sub.rx(a, 0)
    sub.cx(0, 1)
    sub.append(SGate().control(1, ctrl_state=0), [1, 0])  # open control: through its definition too
    qc = QuantumCircuit(3)
    qc.append(sub.to_gate(), [2, 0])
    qc.append(QFTGate(3), [0, 1, 2])  # a library gate outside our registry
    circuit = circuit_from_qiskit(qc)
    assert circuit.parameters == {"a": 1}
    assert {op.name for op in circuit} <= set(GATES)
    np.testing.assert_allclose(
        dense_unitary(circuit.bind({"a": [0.4]})), qiskit_unitary(qc.assign_parameters([0.4])), atol=1e-12
    )


def test_multi_controlled_gates_map_to_registry_gates():
    a = Parameter("a")
    qc = QuantumCircuit(4)
    qc.append(MCXGate(3), [0, 1, 2, 3])
    qc.append(RYGate(a).control(2, annotated=False), [3, 1, 0])
    qc.append(RYGate(a).control(2, annotated=True), [0, 2, 1])
    qc.append(CXGate(ctrl_state=0), [1, 2])
    circuit = circuit_from_qiskit(qc)
    assert [op.name for op in circuit][:3] == ["mcx", "mcry", "mcry"]
    np.testing.assert_allclose(
        dense_unitary(circuit.bind({"a": [1.3]})), qiskit_unitary(qc.assign_parameters([1.3])), atol=1e-12
    )


def test_annotated_inverse_is_loaded_as_the_adjoint():
    sub = QuantumCircuit(2, name="block")
    sub.h(0)
    sub.cp(0.3, 0, 1)
    sub.sx(1)
    sub.global_phase = 0.2
    qc = QuantumCircuit(2)
    qc.append(sub.to_gate().inverse(annotated=True), [1, 0])
    np.testing.assert_allclose(dense_unitary(circuit_from_qiskit(qc)), qiskit_unitary(qc), atol=1e-12)


def test_barriers_and_delays_are_ignored():
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.barrier()
    qc.delay(100, 1)
    assert [op.name for op in circuit_from_qiskit(qc)] == ["h"]


# -- measurements and errors ----------------------------------------------------------------


def test_measurements_raise_unless_ignored():
    qc = QuantumCircuit(2, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    with pytest.raises(CircuitError, match=r"measurements are not part of a circuits\.Circuit"):
        circuit_from_qiskit(qc)
    assert [op.name for op in circuit_from_qiskit(qc, ignore_measurements=True)] == ["h", "cx"]


def test_mid_circuit_measurement_raises_even_when_ignoring():
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.x(0)
    with pytest.raises(CircuitError, match="after they were measured"):
        circuit_from_qiskit(qc, ignore_measurements=True)


def test_resets_of_untouched_qubits_are_dropped():
    qc = QuantumCircuit(2)
    qc.reset([0, 1])  # the usual preamble: both qubits are still |0>
    qc.h(0)
    qc.reset(1)  # qubit 1 is still untouched
    qc.cx(0, 1)
    assert circuit_from_qiskit(qc) == Circuit(2).h(0).cx(0, 1)


@pytest.mark.parametrize("touch", ["gate", "measure"])
def test_reset_after_an_operation_raises(touch):
    qc = QuantumCircuit(2, 2)
    if touch == "gate":
        qc.h(1)
    else:
        qc.measure(1, 1)
    qc.reset(1)
    with pytest.raises(ValueError, match=r"'reset' on qubits \[1\]\): a reset after an operation") as info:
        circuit_from_qiskit(qc, ignore_measurements=True)
    assert isinstance(info.value, ConversionError)  # a CircuitError and a ValueError
    assert isinstance(info.value, CircuitError)


def test_reset_inside_a_definition_after_a_gate_raises():
    inner = QuantumCircuit(1, name="prep")
    inner.x(0)
    inner.reset(0)
    qc = QuantumCircuit(1)
    qc.append(inner.to_instruction(), [0])
    with pytest.raises(ConversionError, match=r"only resets of qubits still in \|0> \(nothing applied yet\)"):
        circuit_from_qiskit(qc)


def test_classical_control_raises():
    qc = QuantumCircuit(1, 1)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(0)
    with pytest.raises(CircuitError, match="classical control"):
        circuit_from_qiskit(qc)


def test_wrong_types_raise_type_error():
    with pytest.raises(TypeError, match=r"expects a circuits\.Circuit, got QuantumCircuit"):
        circuit_to_qiskit(QuantumCircuit(1))
    with pytest.raises(TypeError, match="expects a qiskit QuantumCircuit, got Circuit"):
        circuit_from_qiskit(Circuit(1))


def test_circuit_without_qubits_raises():
    with pytest.raises(CircuitError, match="has no qubits"):
        circuit_from_qiskit(QuantumCircuit())


# -- parameter binds for Aer --------------------------------------------------------------------


def test_parameter_binds_give_each_parameter_its_column():
    theta, x = OurVector("theta", 3), OurVector("x", 1)
    qc = circuit_to_qiskit(Circuit(1).rx(theta[0], 0).ry(theta[2] * x[0], 0))
    values = {"theta": np.arange(6.0).reshape(2, 3), "x": torch.tensor([[0.5], [0.25]], requires_grad=True)}
    binds = qiskit_parameter_binds(qc, values)
    assert {p.name: v for p, v in binds.items()} == {
        "theta[0]": [0.0, 3.0],
        "theta[2]": [2.0, 5.0],
        "x[0]": [0.5, 0.25],
    }
    plain = QuantumCircuit(1)
    plain.rz(Parameter("a"), 0)
    assert list(qiskit_parameter_binds(plain, {"a": [0.3]}).values()) == [[0.3]]


@pytest.mark.parametrize("seed", [3, 7, 11])
def test_parameter_binds_run_a_batch_in_one_aer_call(seed):
    qiskit_aer = pytest.importorskip("qiskit_aer")
    from qiskit import transpile

    circuit = random_circuit(3, 3, seed, parameter_name="theta")
    # Aer 0.18 drops parameter_binds of parametrized controlled gates (cp, crx, ...; Qiskit/qiskit-aer#2403):
    # a basis of u + cx keeps every parameter on gates it binds correctly; names survive transpilation.
    qc = transpile(circuit_to_qiskit(circuit), basis_gates=["u", "cx"], optimization_level=0)
    qc.save_statevector()
    values = np.random.default_rng(seed).uniform(-2, 2, size=(3, circuit.parameters["theta"]))
    simulator = qiskit_aer.AerSimulator(method="statevector", precision="double")
    result = simulator.run(qc, parameter_binds=[qiskit_parameter_binds(qc, {"theta": values})]).result()
    ours = TorchBackend(dtype=torch.complex128).state(circuit, {"theta": torch.tensor(values)}).numpy()
    for i in range(3):
        aer_state = Statevector(result.get_statevector(i)).reverse_qargs().data
        # Aer also ignores a symbolic global phase under parameter_binds: compare up to a phase
        anchor = np.argmax(np.abs(ours[i]))
        aer_state = aer_state * (ours[i][anchor] / aer_state[anchor])
        np.testing.assert_allclose(ours[i], aer_state, atol=1e-10)


def test_parameter_binds_errors():
    theta = OurVector("theta", 2)
    qc = circuit_to_qiskit(Circuit(1).rx(theta[0], 0).ry(theta[1], 0))
    with pytest.raises(UnboundParameterError, match="needs values under 'theta'"):
        qiskit_parameter_binds(qc, {})
    with pytest.raises(BindingError, match="has size 2, got values of shape"):
        qiskit_parameter_binds(qc, {"theta": np.zeros((4, 3))})
    with pytest.raises(BindingError, match="which the Qiskit circuit does not use"):
        qiskit_parameter_binds(qc, {"theta": np.zeros(2), "x": np.zeros(1)})
    with pytest.raises(BindingError, match="same batch size"):
        qiskit_parameter_binds(qc, {"theta": np.zeros((2, 2)), "x": np.zeros((3, 1))})
    with pytest.raises(BindingError, match=r"shape \(batch_size, size\) or \(size,\)"):
        qiskit_parameter_binds(qc, {"theta": np.zeros((1, 2, 2))})
