"""Observable coefficients (real only, nothing dropped) and Qiskit ``SparsePauliOp`` interop (bit order pinned)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit.circuit import Parameter
from qiskit.quantum_info import Pauli, SparsePauliOp, Statevector

from circuits import Circuit, Expectation, PauliSum, Projector, TorchBackend, X, Y, Z
from circuits.export.qiskit import circuit_to_qiskit, pauli_sum_from_qiskit, pauli_sum_to_qiskit
from circuits.ir.observables import PauliString, as_observable, identity, is_observable
from circuits.testing import random_circuit


def test_numpy_real_and_zero_imaginary_coefficients_are_accepted():
    assert np.float32(2.0) * Z(0) == 2.0 * Z(0)
    assert Z(0) * np.int64(3) == 3.0 * Z(0)
    assert np.complex128(0.5 + 0j) * Z(0) == 0.5 * Z(0)
    assert PauliSum.from_label("ZX", np.complex64(2 + 0j)) == 2.0 * Z(0) @ X(1)
    assert Z(0) + np.float64(1.5) == Z(0) + identity(1.5)
    assert 1.0 - Z(0) == identity(1.0) + (-1.0) * Z(0)
    assert PauliString(np.float32(0.25), ((0, "Z"),)).coeff == 0.25


@pytest.mark.parametrize(
    "build",
    [
        lambda: np.complex128(1 + 2j) * Z(0),
        lambda: Z(0) * np.complex128(1 + 2j),
        lambda: PauliSum.from_label("Z", np.complex128(1 + 1e-3j)),
        lambda: PauliSum.from_list([("ZZ", 1 - 0.5j)]),
        lambda: PauliString(1j, ((0, "X"),)),
        lambda: Z(0) + 2j,
        lambda: identity(np.complex64(3j)),
    ],
)
def test_complex_coefficients_with_an_imaginary_part_are_refused(build):
    with pytest.raises(ValueError, match=r"must be real \(observables are Hermitian\), got the complex value"):
        build()


def test_non_numbers_are_refused_as_coefficients():
    with pytest.raises(TypeError, match="must be a real number, got the bool True"):
        PauliSum.from_label("Z", True)
    with pytest.raises(TypeError, match=r"must be a real number \(int or float, Python or numpy\), got 'a'"):
        PauliString("a", ((0, "Z"),))
    with pytest.raises(ValueError, match="must be finite, got nan"):
        PauliSum.from_label("Z", float("nan"))


def test_from_qiskit_reverses_the_little_endian_labels():
    op = SparsePauliOp.from_list([("XZI", 0.5), ("III", -1.0), ("YII", 2.0 + 0j)])
    assert PauliSum.from_qiskit(op) == 0.5 * Z(1) @ X(2) - 1.0 + 2.0 * Y(2)
    assert PauliSum.from_qiskit(Pauli("-XZ")) == -1.0 * Z(0) @ X(1)
    assert PauliSum.from_qiskit([("ZI", 1.0)]) == Z(1)
    assert PauliSum.from_qiskit({"IX": 0.5}) == 0.5 * X(0)
    assert PauliSum.from_qiskit("YZ") == Z(0) @ Y(1)


def test_from_qiskit_refusals():
    with pytest.raises(ValueError, match=r"The Qiskit Pauli '-iXZ' has the phase '-i': it is not Hermitian"):
        PauliSum.from_qiskit(Pauli("-iXZ"))
    with pytest.raises(ValueError, match=r"got the complex value \(1\+1j\)"):
        PauliSum.from_qiskit(SparsePauliOp(["Z"], [1 + 1j]))
    with pytest.raises(TypeError, match=r"bind the operator's parameters first"):
        PauliSum.from_qiskit(SparsePauliOp(["Z"], np.array([Parameter("a")])))
    with pytest.raises(ValueError, match="need one length, got lengths"):
        PauliSum.from_qiskit([("Z", 1.0), ("ZZ", 1.0)])
    with pytest.raises(TypeError, match="Expected a Qiskit SparsePauliOp, Pauli"):
        PauliSum.from_qiskit(3.0)


def test_round_trip_through_qiskit():
    obs = 0.5 * Z(0) @ X(2) - 1.25 * Y(1) + 0.75
    op = pauli_sum_to_qiskit(obs)
    assert op.num_qubits == 3
    assert sorted(op.to_list()) == sorted([("XIZ", 0.5), ("IYI", -1.25), ("III", 0.75)])
    assert pauli_sum_from_qiskit(op) == obs
    assert PauliSum.from_qiskit(pauli_sum_to_qiskit(obs, 5)) == obs
    assert pauli_sum_to_qiskit(PauliSum(())).to_list() == [("I", 0.0)]
    with pytest.raises(ValueError, match=r"num_qubits=2 is too small: the observable acts on qubit\(s\) \[0, 1, 2\]"):
        pauli_sum_to_qiskit(obs, 2)
    with pytest.raises(TypeError, match="pauli_sum_to_qiskit expects a circuits PauliSum, got Projector"):
        pauli_sum_to_qiskit(Projector((0,), (1,)))
    with pytest.raises(ValueError, match="has 2 letters, expected 3"):
        pauli_sum_from_qiskit(SparsePauliOp("XZ"), 3)


@pytest.mark.parametrize("seed", range(4))
def test_sparse_pauli_op_expectations_equal_qiskit_statevector(seed):
    """The oracle pins the bit order: Qiskit's own Statevector.expectation_value on the converted circuit."""
    rng = np.random.default_rng(seed)
    circuit = random_circuit(3, depth=6, seed=seed)
    labels = ["".join(rng.choice(list("IXYZ"), 3)) for _ in range(4)]
    op = SparsePauliOp(labels, rng.normal(size=4))
    expected = Statevector(circuit_to_qiskit(circuit)).expectation_value(op).real
    backend = TorchBackend(dtype=torch.complex128)
    got = backend.expval(circuit, op)  # one observable, not one per term
    assert got.shape == (1, 1)
    np.testing.assert_allclose(got.item(), expected, atol=1e-10, rtol=0)
    both = backend.run(circuit, measurement=Expectation((op, pauli_sum_from_qiskit(op))))
    np.testing.assert_allclose(both[0].numpy(), [expected, expected], atol=1e-10, rtol=0)
    round_trip = Statevector(circuit_to_qiskit(circuit)).expectation_value(
        pauli_sum_to_qiskit(PauliSum.from_qiskit(op))
    )
    np.testing.assert_allclose(round_trip.real, expected, atol=1e-10, rtol=0)


def test_a_single_qubit_z_is_qubit_zero_in_both_conventions():
    circuit = Circuit(2).x(0)  # |10> in our order: qubit 0 flipped
    backend = TorchBackend(dtype=torch.complex128)
    assert backend.expval(circuit, SparsePauliOp("IZ")).item() == pytest.approx(-1.0)  # Qiskit's rightmost = qubit 0
    assert backend.expval(circuit, SparsePauliOp("ZI")).item() == pytest.approx(1.0)


def test_as_observable_and_is_observable():
    op = SparsePauliOp(["ZZ", "XX"])
    assert is_observable(op) and is_observable(Z(0)) and is_observable(Projector((0,), (1,)))
    assert not is_observable([Z(0)]) and not is_observable("Z")
    assert as_observable(op) == Z(0) @ Z(1) + X(0) @ X(1)
    assert Expectation(op).observables == (Z(0) @ Z(1) + X(0) @ X(1),)
    with pytest.raises(TypeError, match="Observables are PauliSum or Projector, got str"):
        Expectation(("Z",))
