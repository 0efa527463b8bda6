"""The QCNN with deferred pooling equals the circuit with mid-circuit measurements (two oracles)."""

from __future__ import annotations

import numpy as np
import pennylane as qp
import pytest
import torch

from circuits import Circuit, ParameterVector
from circuits.library import (
    amplitude_encoding,
    amplitude_encoding_angles,
    arbitrary_unitary_words,
    qcnn_circuit,
    qcnn_readout_qubits,
)
from circuits.sim.reference import reference_probabilities, reference_state, reference_unitary


def _u3(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return np.array([[c, -np.exp(1j * lam) * s], [np.exp(1j * phi) * s, np.exp(1j * (phi + lam)) * c]])


def _embed(matrix: np.ndarray, qubit: int, num_qubits: int) -> np.ndarray:
    return np.kron(np.kron(np.eye(2**qubit), matrix), np.eye(2 ** (num_qubits - qubit - 1)))


def _measured_probabilities(circuit: Circuit, values: dict, amplitudes: np.ndarray, readout) -> np.ndarray:
    """Density-matrix oracle: every ``cu`` of the deferred circuit is replaced by what it stands for, a
    measurement of its control followed by a ``U3`` on its target when the outcome is 1, i.e. the channel
    ``rho -> P0 rho P0 + U3 P1 rho P1 U3^dagger``; every other gate applies as it is."""
    n = circuit.num_qubits
    psi = amplitudes / np.linalg.norm(amplitudes)
    rho = np.outer(psi, psi.conj())
    bound = {name: torch.tensor(value)[None] for name, value in values.items()}
    for op in circuit:
        if op.name == "cu":
            control, target = op.qubits
            theta, phi, lam = (float(a.evaluate(bound)) for a in op.params[:3])
            p1 = _embed(np.diag([0.0, 1.0]), control, n)
            p0 = np.eye(2**n) - p1
            flip = _embed(_u3(theta, phi, lam), target, n)
            rho = p0 @ rho @ p0 + flip @ p1 @ rho @ p1 @ flip.conj().T
        else:
            u = reference_unitary(Circuit(n, [op]), values)
            rho = u @ rho @ u.conj().T
    return reference_probabilities(np.sqrt(np.clip(np.real(np.diag(rho)), 0, None)), n, readout)


def _deferred_qcnn(num_qubits: int, num_layers: int, seed: int) -> tuple[dict, np.ndarray, tuple, np.ndarray]:
    """Random weights and image: ``(weights {"w", "v"}, amplitudes, readout qubits, read-out probabilities)``
    of the amplitude-encoded QCNN with deferred pooling, on the dense oracle."""
    rng = np.random.default_rng(seed)
    weights = rng.normal(size=18 * num_layers)
    readout = qcnn_readout_qubits(num_qubits, num_layers)
    values = {"w": weights, "v": rng.normal(size=4 ** len(readout) - 1)}
    amplitudes = rng.random(2**num_qubits)
    circuit = amplitude_encoding(num_qubits).compose(qcnn_circuit(num_qubits, num_layers))
    angles = amplitude_encoding_angles(torch.tensor(amplitudes)[None])[0].numpy()
    state = reference_state(circuit, {"x": angles, **values})
    return values, amplitudes, readout, reference_probabilities(state, num_qubits, readout)


@pytest.mark.parametrize(("num_qubits", "num_layers"), [(4, 1), (6, 2)])  # (6, 2): a pooling over 3 wires
def test_deferred_pooling_equals_measuring_in_the_middle(num_qubits, num_layers):
    values, amplitudes, readout, deferred = _deferred_qcnn(num_qubits, num_layers, seed=num_qubits)
    measured = _measured_probabilities(qcnn_circuit(num_qubits, num_layers), values, amplitudes, readout)
    np.testing.assert_allclose(deferred, measured, atol=1e-12)


def _pennylane_qcnn(num_qubits, weights, dense, amplitudes):
    """PennyLane's "generalization from few data" QCNN, gate for gate, with real mid-circuit measurements."""

    def convolution(w, wires, skip_first_layer):
        for parity in (0, 1):
            for index, wire in enumerate(wires):
                if index % 2 == parity and index < len(wires) - 1:
                    if index % 2 == 0 and not skip_first_layer:
                        qp.U3(*w[:3], wires=wire)
                        qp.U3(*w[3:6], wires=wires[index + 1])
                    qp.IsingXX(w[6], wires=[wire, wires[index + 1]])
                    qp.IsingYY(w[7], wires=[wire, wires[index + 1]])
                    qp.IsingZZ(w[8], wires=[wire, wires[index + 1]])
                    qp.U3(*w[9:12], wires=wire)
                    qp.U3(*w[12:15], wires=wires[index + 1])

    def pooling(w, wires):
        for index, wire in enumerate(wires):
            if index % 2 == 1:
                outcome = qp.measure(wire)
                qp.cond(outcome, qp.U3)(*w, wires=wires[index - 1])

    @qp.qnode(qp.device("default.qubit", wires=num_qubits), mcm_method="tree-traversal")
    def net():
        wires = list(range(num_qubits))
        qp.AmplitudeEmbedding(amplitudes, wires=wires, normalize=True)
        for layer in range(len(weights) // 18):
            block = weights[18 * layer : 18 * layer + 18]
            convolution(block[:15], wires, skip_first_layer=layer != 0)
            pooling(block[15:], wires)
            wires = wires[::2]
        qp.ArbitraryUnitary(dense, wires)
        return qp.probs(wires=wires)

    return net()


@pytest.mark.parametrize(
    ("num_qubits", "num_layers", "expected_readout"), [(6, 1, (0, 2, 4)), (6, 2, (0, 4)), (5, 2, (0, 4))]
)
def test_the_circuit_equals_pennylanes_qcnn_with_mid_circuit_measurements(num_qubits, num_layers, expected_readout):
    values, amplitudes, readout, ours = _deferred_qcnn(num_qubits, num_layers, seed=10 * num_qubits + num_layers)
    assert readout == expected_readout
    pennylane = _pennylane_qcnn(num_qubits, values["w"], values["v"], amplitudes)
    np.testing.assert_allclose(ours, pennylane, atol=1e-12)


def test_dense_layer_words_are_pennylanes_arbitrary_unitary_order():
    weights = np.random.default_rng(0).normal(size=63)
    circuit = Circuit(3)
    for k, word in enumerate(arbitrary_unitary_words(3)):
        circuit = circuit.pauli_rot(weights[k], word, [0, 1, 2])
    expected = qp.matrix(qp.ArbitraryUnitary(weights, wires=[0, 1, 2]))
    np.testing.assert_allclose(reference_unitary(circuit), expected, atol=1e-12)
    assert len(arbitrary_unitary_words(2)) == 15 and arbitrary_unitary_words(1) == ("X", "Y", "Z")


def test_sizes_and_errors():
    circuit = qcnn_circuit(6, 1)
    assert circuit.parameters == {"v": 63, "w": 18}
    assert circuit.count_ops()["cu"] == 3 and "measure" not in circuit.count_ops()
    assert qcnn_readout_qubits(10, 3) == (0, 8) and qcnn_readout_qubits(2, 1) == (0,)
    with pytest.raises(ValueError, match="has 1 active qubit\\(s\\) before layer 2"):
        qcnn_readout_qubits(2, 2)
    with pytest.raises(ValueError, match="num_qubits must be an int >= 2"):
        qcnn_circuit(1, 1)
    with pytest.raises(ValueError, match="distinct names"):
        qcnn_circuit(4, 1, weights="w", dense_weights=ParameterVector("w", 15))
