"""Conformance tests for every gate of the live registry ``GATES``.

A gate appended to ``circuits.ir.gates._SPECS`` is enrolled here automatically:
its matrix must be unitary (float32 and float64 parameters, batched), its adjoint
must invert it, it must equal Qiskit's gate of the same meaning (after the
qubit-order reversal), its ``diagonal``/``real`` flags must hold, and the
parameter-shift rule built from its declared frequencies must reproduce the
autograd derivative of an expectation value.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch
from qiskit.quantum_info import Operator, Statevector

from circuits import Circuit, TorchBackend
from circuits.export.qiskit import circuit_to_qiskit
from circuits.ir.gates import GATES, GateData, gate_matrix
from circuits.ir.operation import Operation
from circuits.testing import random_gate_data, random_hermitian

NUM_ANGLE_DRAWS = 4


def _widths(name: str) -> list[int]:
    spec = GATES[name]
    if spec.num_qubits is not None:
        return [spec.num_qubits]
    return list(range(max(spec.min_qubits, 1), 5))  # variable width: 1 (or min) to 4 qubits


CASES = [pytest.param(name, width, id=f"{name}-{width}q") for name in GATES for width in _widths(name)]


def _rng(name: str, width: int, salt: str = "") -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(f"{name}/{width}/{salt}".encode()))


def _draw(name: str, width: int) -> tuple[np.ndarray, GateData]:
    """Angles (NUM_ANGLE_DRAWS, num_params) in [-2 pi, 2 pi] and the gate's data."""
    rng = _rng(name, width)
    spec = GATES[name]
    data = random_gate_data(spec, width, rng)
    angles = rng.uniform(-2 * np.pi, 2 * np.pi, size=(NUM_ANGLE_DRAWS, spec.num_params))
    return angles, data


def _matrix(name: str, angles: np.ndarray, data: GateData, width: int, dtype=torch.float64) -> torch.Tensor:
    return gate_matrix(name, torch.as_tensor(angles, dtype=dtype), data, width)


def _op(name: str, width: int, angles_row: np.ndarray, data: GateData) -> Operation:
    return Operation(name, tuple(range(width)), tuple(float(a) for a in angles_row), data)


def _op_matrix(op: Operation) -> np.ndarray:
    params = torch.tensor([p.value() for p in op.params], dtype=torch.float64)
    return gate_matrix(op.name, params, op.data, op.num_qubits).numpy()


def test_registry_is_nonempty_and_named_like_qiskit():
    assert {"rx", "cx", "xx_plus_yy", "mcphase", "pauli_rot", "evolution", "unitary"} <= set(GATES)
    assert len(CASES) >= len(GATES)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_matrix_is_unitary_batched_in_both_precisions(name, width):
    angles, data = _draw(name, width)
    dim = 2**width
    for real, complex_, atol in ((torch.float64, torch.complex128, 1e-12), (torch.float32, torch.complex64, 1e-5)):
        u = _matrix(name, angles, data, width, real)
        assert u.dtype == complex_
        assert u.shape == (NUM_ANGLE_DRAWS, dim, dim)
        eye = torch.eye(dim, dtype=complex_).expand_as(u)
        torch.testing.assert_close(u @ u.mH, eye, atol=atol, rtol=0)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_batched_matrix_equals_one_at_a_time(name, width):
    angles, data = _draw(name, width)
    batched = _matrix(name, angles, data, width)
    for row, expected in zip(angles, batched, strict=True):
        torch.testing.assert_close(_matrix(name, row, data, width), expected, atol=1e-14, rtol=0)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_adjoint_is_the_inverse(name, width):
    angles, data = _draw(name, width)
    for row in angles:
        op = _op(name, width, row, data)
        adjoint = op.adjoint()
        assert adjoint.qubits == op.qubits
        product = _op_matrix(adjoint) @ _op_matrix(op)
        np.testing.assert_allclose(product, np.eye(2**width), atol=1e-12, rtol=0)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_flags_diagonal_and_real_hold(name, width):
    spec = GATES[name]
    angles, data = _draw(name, width)
    u = _matrix(name, angles, data, width).numpy()
    if spec.diagonal:
        off = u - np.einsum("bii->bi", u)[..., None] * np.eye(2**width)
        assert np.abs(off).max() == 0.0
    if spec.real:
        assert np.abs(u.imag).max() == 0.0


@pytest.mark.parametrize(("name", "width"), CASES)
def test_matrix_equals_qiskit_operator_after_qubit_reversal(name, width):
    angles, data = _draw(name, width)
    circuit_width = max(width, 1)  # global_phase acts on no qubit; put it on a 1-qubit circuit
    for row in angles:
        op = _op(name, width, row, data)
        ours = _op_matrix(op)
        if width == 0:
            ours = ours[0, 0] * np.eye(2)
        qiskit_matrix = Operator(circuit_to_qiskit(Circuit(circuit_width, [op]))).reverse_qargs().data
        np.testing.assert_allclose(qiskit_matrix, ours, atol=1e-12, rtol=0)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_matrix_on_permuted_qubits_equals_qiskit(name, width):
    """Qubits given in reverse order on a wider circuit: catches a converter that ignores the qarg order."""
    if width == 0:
        pytest.skip("global_phase has no qubits")
    angles, data = _draw(name, width)
    n = width + 1
    qubits = tuple(range(n - 1, 0, -1))  # e.g. (3, 2, 1) on 4 qubits
    op = Operation(name, qubits, tuple(float(a) for a in angles[0]), data)
    ours = np.asarray(
        TorchBackend(dtype=torch.complex128).state(Circuit(n).h(0).h(n - 1).cx(0, 1).compose(Circuit(n, [op])))[0]
    )
    reference = Statevector(circuit_to_qiskit(Circuit(n).h(0).h(n - 1).cx(0, 1).compose(Circuit(n, [op]))))
    np.testing.assert_allclose(ours, reference.reverse_qargs().data, atol=1e-12, rtol=0)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_frequencies_declared_for_every_parameter(name, width):
    spec = GATES[name]
    _, data = _draw(name, width)
    frequencies = spec.param_frequencies(data)
    assert len(frequencies) == spec.num_params
    assert all(f > 0 for freqs in frequencies for f in freqs)


@pytest.mark.parametrize(("name", "width"), CASES)
def test_parameter_shift_rule_from_frequencies_matches_autograd(name, width):
    from circuits import gradients
    spec = GATES[name]
    if spec.num_params == 0:
        pytest.skip("no parameters")
    angles, data = _draw(name, width)
    rng = _rng(name, width, "shift")
    dim = 2**width
    psi = rng.normal(size=dim) + 1j * rng.normal(size=dim)
    psi = torch.tensor(psi / np.linalg.norm(psi))
    observable = torch.tensor(random_hermitian(width, rng) if width else np.array([[1.7]], dtype=complex))

    def f(theta: torch.Tensor) -> torch.Tensor:
        phi = gate_matrix(name, theta, data, width) @ psi
        return (phi.conj() @ observable @ phi).real

    for row in angles[:2]:
        theta = torch.tensor(row, dtype=torch.float64, requires_grad=True)
        (autograd,) = torch.autograd.grad(f(theta), theta)
        for i, freqs in enumerate(spec.param_frequencies(data)):
            rule = gradients.shift_rule(freqs)
            shifted = 0.0
            for coeff, shift in rule:
                moved = torch.tensor(row, dtype=torch.float64)
                moved[i] += shift
                shifted += coeff * f(moved).item()
            scale = max(1.0, float(np.abs(autograd.numpy()).max()))
            tolerance = 1e-10
            assert shifted == pytest.approx(autograd[i].item(), abs=tolerance * scale), (i, freqs)


def test_evolution_frequencies_are_the_exact_eigenvalue_gaps():
    from circuits.ir.gates import MatrixData

    hamiltonian = random_hermitian(3, np.random.default_rng(3))
    eigenvalues = np.linalg.eigvalsh(hamiltonian)
    gaps = np.abs(eigenvalues[:, None] - eigenvalues[None, :])
    exact = np.unique(gaps[gaps > 1e-9])
    (declared,) = GATES["evolution"].param_frequencies(MatrixData(hamiltonian))
    np.testing.assert_allclose(declared, exact, atol=1e-13, rtol=0)


def test_endianness_pinned_x_on_qubit_0():
    """Our qubit 0 is the most significant bit; Qiskit's qubit 0 is the least significant."""
    circuit = Circuit(2).x(0)
    qiskit_state = Statevector(circuit_to_qiskit(circuit)).data
    assert np.abs(qiskit_state[1]) == pytest.approx(1.0)  # Qiskit index 0b01: qubit 0 set, little-endian
    ours = TorchBackend(dtype=torch.complex128).state(circuit)[0]
    assert abs(ours[2].item()) == pytest.approx(1.0)  # our flat index 0b10: qubit 0 is the high bit
    assert abs(ours[1].item()) == 0.0


def test_endianness_pinned_controlled_gate_matrix():
    """cx(control=0, target=1): our matrix is kron-ordered (control high); Qiskit's Operator reversed equals it."""
    ours = _op_matrix(Operation("cx", (0, 1)))
    np.testing.assert_array_equal(ours, np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]))
    qiskit_matrix = Operator(circuit_to_qiskit(Circuit(2).cx(0, 1))).data
    np.testing.assert_array_equal(qiskit_matrix, np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0], [0, 1, 0, 0]]))
