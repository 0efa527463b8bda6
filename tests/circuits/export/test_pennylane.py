"""The PennyLane converter: every gate's matrix, conventions, observables, bindings, autodiff."""

from __future__ import annotations

import numpy as np
import pennylane as qp
import pytest
import torch

from circuits import Circuit, ParameterVector, PauliSum, Projector, TorchBackend, X, Y, Z
from circuits.errors import BindingError, UnboundParameterError, UnknownGateError
from circuits.export.pennylane import (
    circuit_to_pennylane_batch,
    circuit_to_pennylane_ops,
    circuit_to_qfunc,
    observable_to_pennylane,
    operation_to_pennylane,
)
from circuits.ir.gates import GATES, gate_matrix
from circuits.ir.observables import identity
from circuits.ir.operation import Operation
from circuits.sim.reference import reference_unitary
from circuits.testing import random_gate_data, random_unitary

NUM_WIRES = 5


def _product(ops, wire_order) -> np.ndarray:
    """The matrix of a list of PennyLane operators applied in order."""
    out = np.eye(2 ** len(wire_order), dtype=np.complex128)
    for op in ops:
        out = qp.matrix(op, wire_order=wire_order) @ out
    return out


@pytest.mark.parametrize("name", sorted(GATES))
@pytest.mark.parametrize("seed", [0, 1])
def test_every_gate_matches_our_matrix(name, seed):
    rng = np.random.default_rng([seed, *name.encode()])
    spec = GATES[name]
    widths = [spec.num_qubits] if spec.num_qubits is not None else [spec.min_qubits, 3, 4]
    for width in widths:
        qubits = tuple(int(q) for q in rng.permutation(NUM_WIRES)[:width])
        data = random_gate_data(spec, width, rng)
        params = rng.uniform(-np.pi, np.pi, spec.num_params)
        op = Operation(name, qubits, tuple(float(p) for p in params), data)
        ours = gate_matrix(name, torch.tensor(params, dtype=torch.float64), data, width).numpy()
        wires = list(qubits) or [0]
        if not qubits:  # global_phase: a 1x1 matrix, a phase on every wire
            ours = ours[0, 0] * np.eye(2)
        theirs = _product(operation_to_pennylane(op, list(params)), wires)
        np.testing.assert_allclose(theirs, ours, atol=1e-12, rtol=0)


def test_conventions_pinned():
    # global_phase(t) = exp(+i t) I here; PennyLane's GlobalPhase(phi) = exp(-i phi) I: the angle is negated.
    (op,) = circuit_to_pennylane_ops(Circuit(1).append("global_phase", (), (0.4,)))
    assert isinstance(op, qp.GlobalPhase)
    assert op.data[0] == pytest.approx(-0.4)
    np.testing.assert_allclose(qp.matrix(op, wire_order=[0]), np.exp(0.4j) * np.eye(2), atol=1e-15)
    # u(theta, phi, lam) is PennyLane's U3 with the same arguments.
    (u3,) = circuit_to_pennylane_ops(Circuit(1).u(0.1, 0.2, 0.3, 0))
    assert isinstance(u3, qp.U3)
    assert tuple(u3.data) == pytest.approx((0.1, 0.2, 0.3))
    # rxx is IsingXX, pauli_rot is PauliRot with the same word, letter i on qubit i.
    (ising,) = circuit_to_pennylane_ops(Circuit(2).rxx(0.7, 1, 0))
    assert isinstance(ising, qp.IsingXX) and list(ising.wires) == [1, 0]
    (rot,) = circuit_to_pennylane_ops(Circuit(3).pauli_rot(0.5, "XZ", [2, 0]))
    assert isinstance(rot, qp.PauliRot) and rot.hyperparameters["pauli_word"] == "XZ" and list(rot.wires) == [2, 0]


def test_wire_order_is_big_endian():
    # x on qubit 0 of 3 gives |100>, index 4, in PennyLane as here.
    ops = circuit_to_pennylane_ops(Circuit(3).x(0))
    state = qp.matrix(qp.tape.QuantumScript(ops), wire_order=[0, 1, 2])[:, 0]
    assert np.argmax(np.abs(state)) == 4


def test_random_circuit_unitary_matches_reference():
    rng = np.random.default_rng(7)
    theta = ParameterVector("theta", 4)
    circuit = (
        Circuit(4)
        .h(0)
        .append("cu", (2, 0), (theta[0], 0.2, theta[1] * theta[2] + 0.3, -0.4))
        .append("evolution", (1, 3), (0.5 * theta[3],), _hermitian(rng))
        .mcrz(theta[1], [0, 1, 2], 3)
        .append("xx_minus_yy", (3, 1), (theta[2], 0.1))
        .unitary(random_unitary(2, rng), [2, 1])
        .append("global_phase", (), (theta[0],))
    )
    values = {"theta": rng.uniform(-np.pi, np.pi, 4)}
    ops = circuit_to_pennylane_ops(circuit, values)
    np.testing.assert_allclose(_product(ops, [0, 1, 2, 3]), reference_unitary(circuit, values), atol=1e-12)


def _hermitian(rng):
    from circuits.ir.gates import MatrixData

    a = rng.normal(size=(4, 4)) + 1j * rng.normal(size=(4, 4))
    return MatrixData(a + a.conj().T)


@pytest.mark.parametrize(
    "observable",
    [
        Z(0),
        X(1) @ Y(2),
        0.5 * Z(0) @ Z(2) - 0.25 * X(0) + 1.5,
        PauliSum.from_label("YXZ", 0.7),
        identity(2.0),
        Projector((0, 2), (1, 0)),
        Projector.from_bitstring("011"),
    ],
    ids=str,
)
def test_observable_matrix(observable):
    wires = [0, 1, 2]
    expected = _observable_matrix(observable, 3)
    np.testing.assert_allclose(qp.matrix(observable_to_pennylane(observable), wire_order=wires), expected, atol=1e-14)


def _observable_matrix(observable, n):
    paulis = {
        "I": np.eye(2),
        "X": np.array([[0, 1], [1, 0]]),
        "Y": np.array([[0, -1j], [1j, 0]]),
        "Z": np.diag([1, -1]),
    }
    if isinstance(observable, Projector):
        diag = np.ones(2**n)
        for index in range(2**n):
            bits = [(index >> (n - 1 - q)) & 1 for q in range(n)]
            diag[index] = all(bits[q] == b for q, b in zip(observable.qubits, observable.bits, strict=True))
        return np.diag(diag)
    out = np.zeros((2**n, 2**n), dtype=np.complex128)
    for term in observable.terms:
        m = np.ones((1, 1))
        for letter in term.label(n):
            m = np.kron(m, paulis[letter])
        out += term.coeff * m
    return out


def test_zero_observable():
    zero = Z(0) - Z(0)
    np.testing.assert_allclose(qp.matrix(observable_to_pennylane(zero), wire_order=[0]), np.zeros((2, 2)))


def test_observable_type_error():
    with pytest.raises(TypeError, match=r"Observables are PauliSum or Projector, got str"):
        observable_to_pennylane("Z0")


def test_binding_errors():
    theta = ParameterVector("theta", 2)
    circuit = Circuit(1).rx(theta[0], 0).ry(theta[1], 0)
    with pytest.raises(UnboundParameterError, match=r"No values for parameter vector\(s\) \['theta'\]"):
        circuit_to_pennylane_ops(circuit)
    with pytest.raises(BindingError, match=r"Values given for \['x'\], which the circuit does not use"):
        circuit_to_pennylane_ops(circuit, {"theta": [0.1, 0.2], "x": [1.0]})
    with pytest.raises(BindingError, match=r"expected one binding of shape \(2,\), got shape \(3, 2\)"):
        circuit_to_pennylane_ops(circuit, {"theta": np.zeros((3, 2))})
    with pytest.raises(TypeError, match=r"values is a mapping from parameter vector name"):
        circuit_to_pennylane_ops(circuit, [0.1, 0.2])


def test_unknown_gate_name():
    op = Operation("x", (0,))
    object.__setattr__(op, "name", "not_a_gate")  # only reachable by bypassing validation
    with pytest.raises(UnknownGateError, match=r"Unknown gate 'not_a_gate'"):
        operation_to_pennylane(op, [])


def test_batch_conversion_matches_one_binding_at_a_time():
    x, w = ParameterVector("x", 2), ParameterVector("w", 1)
    circuit = (
        Circuit(3)
        .h(0)
        .ry(x[0] * w[0], 1)
        .cx(0, 2)
        .rz(x[1], 2)
        .unitary(random_unitary(2, np.random.default_rng(2)), [2, 0])
    )
    values = {"x": np.array([[0.1, 0.2], [0.3, -0.4], [1.0, 2.0]]), "w": np.array([[0.5]])}
    batch = circuit_to_pennylane_batch(circuit, values, 3)
    assert len(batch) == 3
    for b, ops in enumerate(batch):
        single = circuit_to_pennylane_ops(circuit, {"x": values["x"][b], "w": values["w"][0]})
        np.testing.assert_allclose(_product(ops, [0, 1, 2]), _product(single, [0, 1, 2]), atol=1e-15)
    assert batch[0][0] is batch[2][0]  # constant operations are converted once and shared
    assert batch[0][1] is not batch[1][1]


def test_torch_values_keep_autograd_history():
    theta = ParameterVector("theta", 2)
    circuit = Circuit(2).rx(theta[0], 0).append("evolution", (0, 1), (theta[1],), _hermitian(np.random.default_rng(3)))
    values = torch.tensor([0.3, -0.8], dtype=torch.float64, requires_grad=True)
    ops = circuit_to_pennylane_ops(circuit, {"theta": values})
    assert isinstance(ops[0].data[0], torch.Tensor) and ops[0].data[0].requires_grad
    assert isinstance(ops[1].data[0], torch.Tensor) and ops[1].data[0].requires_grad  # the evolution's matrix


def test_qfunc_in_qnode_backprop_matches_torch_backend():
    """PennyLane's own autodiff flows through converted circuits (symbolic angles, products, evolution)."""
    rng = np.random.default_rng(11)
    x, w = ParameterVector("x", 2), ParameterVector("w", 3)
    circuit = (
        Circuit(3)
        .ry(x[0], 0)
        .ry(x[1], 1)
        .cx(0, 1)
        .append("u", (2,), (w[0] * x[0] + 0.1, w[1], -0.3))
        .append("evolution", (1, 2), (w[2],), _hermitian(rng))
        .append("xx_plus_yy", (0, 2), (w[0], w[1] * x[1]))
        .mcry(w[2], [0, 1], 2)
    )
    observable = 0.5 * Z(0) @ X(2) + Y(1)
    xv = torch.tensor([0.4, -1.1], dtype=torch.float64)
    wv = torch.tensor([0.7, 0.2, -0.5], dtype=torch.float64, requires_grad=True)
    qfunc = circuit_to_qfunc(circuit)

    @qp.qnode(qp.device("default.qubit", wires=3), interface="torch", diff_method="backprop")
    def f(values):
        qfunc(values)
        return qp.expval(observable_to_pennylane(observable))

    value = f({"x": xv, "w": wv})
    (grad,) = torch.autograd.grad(value, wv)
    w_ref = wv.detach().clone().requires_grad_()
    expected = TorchBackend(dtype=torch.complex128).expval(circuit, observable, {"x": xv, "w": w_ref})[0, 0]
    (grad_ref,) = torch.autograd.grad(expected, w_ref)
    assert value.item() == pytest.approx(expected.item(), abs=1e-10)
    torch.testing.assert_close(grad, grad_ref, atol=1e-10, rtol=0)
