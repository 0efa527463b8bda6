"""The circuit description: immutability, parameters, validation messages, serialization and hashing."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import Circuit, MatrixData, Operation, ParameterVector, PauliSum, Projector, X, Y, Z
from circuits.errors import (
    BindingError,
    CircuitError,
    GateArityError,
    NonFiniteAngleError,
    NotHermitianError,
    NotUnitaryError,
    QubitIndexError,
    UnknownGateError,
)
from circuits.ir import gates as gates_module
from circuits.ir.circuit import Circuit as CircuitClass
from circuits.ir.gates import PauliLabel
from circuits.ir.parameters import Angle, Symbol
from circuits.ir.serialize import circuit_from_json, circuit_to_json, content_hash
from circuits.sim.reference import reference_unitary
from circuits.testing import random_circuit


def test_builders_return_new_circuits_and_circuits_are_immutable():
    base = Circuit(2)
    grown = base.h(0).cx(0, 1)
    assert len(base) == 0 and len(grown) == 2
    with pytest.raises(AttributeError, match="Circuit is immutable"):
        grown.num_qubits = 3


def test_repr_evaluates_back_to_an_equal_circuit():
    theta = ParameterVector("theta", 2)
    c = (
        Circuit(3)
        .h(0)
        .rz(0.5 * theta[0] * theta[1] + 0.1, 2)
        .unitary(np.eye(2), (1,))
        .pauli_rot(theta[1], "XZ", (0, 2))
    )
    namespace = {
        "Circuit": CircuitClass,
        "Operation": Operation,
        "Angle": Angle,
        "Symbol": Symbol,
        "MatrixData": MatrixData,
        "PauliLabel": PauliLabel,
    }
    assert eval(repr(c), namespace) == c


def test_angle_expressions_are_polynomials():
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    a = 2.0 * w[0] * x[1] + 0.5
    assert str(a) == "2.0*w[0]*x[1] + 0.5"
    assert (a + a) == 4.0 * x[1] * w[0] + 1.0
    assert (a - a).is_constant and (a - a).constant == 0.0
    assert a.partial(Symbol("w", 0, 2)) == 2.0 * x[1]
    with pytest.raises(NonFiniteAngleError, match="not finite"):
        Circuit(1).rx(float("nan"), 0)
    with pytest.raises(TypeError, match="An angle must be a number, a Symbol"):
        Circuit(1).rx("0.3", 0)


def test_parameters_and_binding():
    x, w = ParameterVector("x", 2), ParameterVector("w", 3)
    c = Circuit(2).ry(x[0], 0).rz(w[2] * x[1] + 1.0, 1)
    assert c.parameters == {"w": 3, "x": 2}
    bound = c.bind({"x": [0.1, 0.2]})
    assert bound.parameters == {"w": 3}
    assert bound.operations[1].params[0] == 0.2 * w[2] + 1.0
    with pytest.raises(BindingError, match="Parameter vector 'x' has size 2, got 3 values"):
        c.bind({"x": [1, 2, 3]})
    with pytest.raises(BindingError, match="Parameter vector 'x' is used with sizes 2 and 5"):
        c.ry(ParameterVector("x", 5)[0], 0)


def test_validation_messages():
    with pytest.raises(UnknownGateError, match=r"Unknown gate 'foo'\. Known gates: .*ccx.*use the 'unitary' gate"):
        Circuit(1).append("foo", 0)
    with pytest.raises(GateArityError, match=r"Gate 'cx' acts on 2 qubit\(s\), got 1"):
        Circuit(2).append("cx", 0)
    with pytest.raises(GateArityError, match=r"Gate 'rx' takes 1 parameter\(s\), got 0"):
        Circuit(1).append("rx", 0)
    with pytest.raises(QubitIndexError, match=r"uses qubit 2, but the circuit has 2 qubit\(s\)"):
        Circuit(2).h(2)
    with pytest.raises(QubitIndexError, match=r"acts on repeated qubits \(1, 1\)"):
        Circuit(2).cx(1, 1)
    with pytest.raises(NotUnitaryError, match="The matrix is not unitary"):
        Circuit(1).unitary(np.array([[1, 1], [0, 1]]), (0,))
    with pytest.raises(NotHermitianError, match="The Hamiltonian is not Hermitian"):
        Circuit(1).evolution(np.array([[0, 1], [0, 0]]), 0.3, (0,))
    with pytest.raises(GateArityError, match=r"with a 2-qubit MatrixData acts on 2 qubit\(s\), got 1"):
        Circuit(2).unitary(np.eye(4), (0,))
    with pytest.raises(GateArityError, match="acts on at least 2 qubits"):
        Circuit(2).append("mcx", (0,))
    with pytest.raises(ValueError, match="positive integer number of qubits"):
        Circuit(0)


def test_inverse_undoes_the_circuit():
    c = random_circuit(3, depth=20, seed=11, parameter_name="theta")
    values = {k: np.linspace(-1, 1, n) for k, n in c.parameters.items()}
    u = reference_unitary(c, values)
    u_inv = reference_unitary(c.inverse(), values)
    np.testing.assert_allclose(u_inv @ u, np.eye(8), atol=1e-10)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_serialization_round_trips_and_hash_is_stable(seed):
    c = random_circuit(4, depth=10, seed=seed, parameter_name="theta")
    text = circuit_to_json(c)
    again = circuit_from_json(text)
    assert again == c
    assert circuit_to_json(again) == text
    assert content_hash(c) == content_hash(again)
    assert content_hash(c) != content_hash(c.h(0))


def test_hash_is_pinned_across_versions():
    """The journal keys hardware jobs on this hash: it must not drift between releases."""
    theta = ParameterVector("theta", 2)
    c = Circuit(2).h(0).cx(0, 1).rz(theta[0] * 0.5 + 0.25, 1).ry(theta[1], 0)
    assert json.loads(circuit_to_json(c))["version"] == 1
    assert content_hash(c) == content_hash(circuit_from_json(circuit_to_json(c)))
    assert content_hash(c) == "ac126dd8b4e84833a00698ef03e15b56b32a4f7a211309e0412a74d2feedef9c"
    assert content_hash(c, Z(0) @ Z(1), {"shots": 100}) != content_hash(c, Z(0), {"shots": 100})


def test_unknown_schema_version_is_rejected():
    data = json.loads(circuit_to_json(Circuit(1).h(0)))
    data["version"] = 99
    with pytest.raises(CircuitError, match="schema version 99; this qml-hybrid reads version 1"):
        circuit_from_json(json.dumps(data))


def test_observables():
    h = 0.5 * Z(0) @ Z(1) + 0.2 * X(0) - 0.2 * X(0) + Y(2)
    assert len(h.terms) == 2
    assert PauliSum.from_label("ZIX") == Z(0) @ X(2)
    with pytest.raises(QubitIndexError, match="disjoint qubits; both act on \\[0\\]"):
        Z(0) @ X(0)
    with pytest.raises(ValueError, match="Pauli label uses the letters I, X, Y, Z"):
        PauliSum.from_label("ZA")
    with pytest.raises(ValueError, match="Projector bits are 0 or 1"):
        Projector((0,), (2,))


def test_every_registered_gate_is_listed_in_the_registry_once():
    names = [spec.name for spec in gates_module._SPECS]
    assert len(names) == len(set(names))


def test_negative_zero_does_not_change_the_hash():
    """-theta and inverse() produce -0.0; equal circuits must still serialize (and so hash) identically."""
    theta = ParameterVector("theta", 1)
    a = Circuit(1).rz(theta[0] * 1.0 + 0.0, 0).unitary(np.eye(2), (0,))
    b = Circuit(1).rz(-(-1.0 * theta[0]) - 0.0, 0).unitary(np.eye(2).conj() * -1 * -1, (0,))
    assert a == b
    assert circuit_to_json(a) == circuit_to_json(b)
    assert content_hash(a) == content_hash(b)
    assert hash(MatrixData(np.diag([1, -0.0 + 1j]).conj())) == hash(MatrixData(np.diag([1, -1j])))


def test_tensors_are_rejected_as_angles():
    import torch

    with pytest.raises(TypeError, match="A torch tensor cannot be a gate angle"):
        Circuit(1).rx(torch.tensor(0.3, requires_grad=True), 0)


def test_observable_serialization_round_trips():
    from circuits.ir.serialize import observable_from_dict, observable_to_dict

    for obs in (0.5 * Z(0) @ X(2) - Y(1) + 0.25, Projector((2, 0), (1, 0))):
        assert observable_from_dict(json.loads(json.dumps(observable_to_dict(obs)))) == obs


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (
            lambda: Circuit(2).h(1.0),
            r"Circuit\.h\(qubit\): qubit must be a qubit index \(an int\), got 1\.0 \(float\)\.",
        ),
        (lambda: Circuit(2).h(True), r"Circuit\.h\(qubit\): qubit must be a qubit index \(an int\), got True \(bool\)"),
        (
            lambda: Circuit(2).rx(0, 0.5),
            r"Circuit\.rx\(theta, qubit\): qubit must be a qubit index \(an int\), got 0\.5 \(float\) "
            r"\(angles come first\)",
        ),
        (
            lambda: Circuit(2).rx(0),
            r"Circuit\.rx\(theta, qubit\) takes 2 argument\(s\) \(theta, qubit\), got \(0\): missing a required "
            r"argument: 'qubit'",
        ),
        (lambda: Circuit(2).cx(0, 1, 2), r"Circuit\.cx\(control, target\) takes 2 argument\(s\).*got \(0, 1, 2\)"),
        (lambda: Circuit(3).mcx(0, 2), r"Circuit\.mcx\(controls, target\): controls must be a sequence of qubit"),
        (lambda: Circuit(1).rx("a", 0), r"Circuit\.rx\(theta, qubit\): theta: An angle must be a number"),
        (lambda: Circuit(1).append("h", 1.0), r"Gate 'h': qubits are an int or a sequence of ints, got 1\.0"),
        (lambda: Circuit(1).append("rx", 0, 0.5), r"Gate 'rx': params are a sequence of angles.*\(0\.5,\)"),
    ],
)
def test_builder_argument_errors_name_the_signature(build, message):
    with pytest.raises(TypeError, match=message):
        build()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (np.complex128(1 + 2j), r"got the complex value np\.complex128\(1\+2j\); gate angles are real"),
        (1 + 0j, r"got the complex value \(1\+0j\)"),
        (np.bool_(True), r"got the bool np\.True_"),
        (True, "got the bool True"),
    ],
)
def test_complex_and_bool_angles_are_refused(value, message):
    with pytest.raises(TypeError, match=message):
        Circuit(1).rx(value, 0)
    with pytest.raises(TypeError, match=message):
        ParameterVector("x", 1)[0] * value


def test_numpy_real_angles_and_bind_values():
    assert Circuit(1).rx(np.float32(0.5), 0) == Circuit(1).rx(0.5, 0)
    x = ParameterVector("x", 2)
    c = Circuit(1).rx(x[0], 0).ry(x[1], 0)
    import torch

    assert c.bind({"x": torch.tensor([0.5, 1.0])}) == Circuit(1).rx(0.5, 0).ry(1.0, 0)
    with pytest.raises(TypeError, match="got the complex value"):
        c.bind({"x": np.array([0.5, 1 + 1j])})
    with pytest.raises(TypeError, match=r"got a torch\.complex64 tensor"):
        c.bind({"x": torch.tensor([0.5, 1 + 1j])})


def test_circuits_pickle_round_trip_equal_with_the_same_content_hash():
    import pickle

    from circuits.ir.serialize import content_hash

    theta = ParameterVector("theta", 2)
    circuit = Circuit(3).h(0).cx(0, 2).ry(0.5 * theta[1] + 0.25, 1).rz(theta[0], 2)
    hash(circuit)  # the cached hash must not travel: it is per process
    copy = pickle.loads(pickle.dumps(circuit))
    assert copy == circuit and hash(copy) == hash(circuit)
    assert content_hash(copy) == content_hash(circuit)
    assert copy.parameters == {"theta": 2}
