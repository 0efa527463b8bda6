"""Noise between qml-hybrid and Qiskit Aer: a device's calibrated noise (FakeManilaV2) gives Aer's probabilities on
our density-matrix engine (issue 14's bar), channels and noise models convert both ways, qubit order is kept."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from circuits import Channel, Circuit, NoiseModel, ParameterVector, TorchBackend, X, Z
from circuits.errors import ConversionError
from circuits.export.qiskit import circuit_to_qiskit, reverse_qubit_order
from circuits.testing import random_kraus

qiskit = pytest.importorskip("qiskit")
qiskit_aer = pytest.importorskip("qiskit_aer")
quantum_info = pytest.importorskip("qiskit.quantum_info")
aer_noise = pytest.importorskip("qiskit_aer.noise")

from circuits.backends.aer import AerBackend  # noqa: E402
from circuits.export.qiskit_noise import (  # noqa: E402
    channel_from_qiskit,
    channel_to_qiskit,
    noise_model_from_qiskit,
    noise_model_to_qiskit,
)


def _manila_circuit(seed: int, coupling: list[tuple[int, int]], depth: int = 12) -> Circuit:
    """A random circuit in Manila's basis gates (rz, sx, x, cx) on its coupling map."""
    rng = np.random.default_rng(seed)
    circuit = Circuit(5)
    for _ in range(depth):
        kind = rng.choice(["rz", "sx", "x", "cx"], p=[0.3, 0.35, 0.1, 0.25])
        if kind == "cx":
            control, target = coupling[rng.integers(len(coupling))]
            circuit = circuit.cx(int(control), int(target))
        elif kind == "rz":
            circuit = circuit.rz(float(rng.uniform(-np.pi, np.pi)), int(rng.integers(5)))
        else:
            circuit = circuit.append(str(kind), int(rng.integers(5)))
    return circuit


@pytest.fixture(scope="module")
def manila():
    fake_provider = pytest.importorskip("qiskit_ibm_runtime.fake_provider")
    device = fake_provider.FakeManilaV2()
    model = aer_noise.NoiseModel.from_backend(device)
    coupling = [tuple(pair) for pair in device.coupling_map.get_edges()]
    return model, noise_model_from_qiskit(model), coupling


@pytest.mark.parametrize("seed", range(4))
def test_manila_noise_gives_aers_probabilities(manila, seed: int) -> None:
    qiskit_model, ours, coupling = manila
    circuit = _manila_circuit(seed, coupling)
    probs = TorchBackend(dtype=torch.complex128, noise_model=ours).probs(circuit)[0].numpy()
    # Aer, exact: the gate noise through the density matrix (save_probabilities reads the state, before any
    # readout error), then each qubit's readout matrix from the Qiskit model applied to the outcome distribution
    simulator = qiskit_aer.AerSimulator(method="density_matrix", noise_model=qiskit_model)
    qc = circuit_to_qiskit(circuit)
    qc.save_probabilities(list(range(5)))
    exact = np.asarray(simulator.run(qc).result().data(0)["probabilities"])
    exact = exact.reshape([2] * 5).transpose(range(4, -1, -1)).reshape(-1)  # qubit 0 most significant
    confusion = np.ones((1, 1))
    for q in range(5):
        confusion = np.kron(confusion, np.asarray(qiskit_model._local_readout_errors[(q,)].probabilities))
    np.testing.assert_allclose(probs, exact @ confusion, atol=1e-10)
    assert np.abs(exact @ confusion - exact).max() > 1e-3  # the readout errors matter


def test_manila_noise_agrees_with_aer_counts_including_readout(manila) -> None:
    _, ours, coupling = manila
    circuit = _manila_circuit(7, coupling, depth=10)
    probs = TorchBackend(dtype=torch.complex128, noise_model=ours).probs(circuit, qubits=[0, 1, 2])[0].numpy()
    shots = 100_000
    device = pytest.importorskip("qiskit_ibm_runtime.fake_provider").FakeManilaV2()
    aer = AerBackend.from_backend(device, shots=shots, seed=11, method="density_matrix")  # samples include readout
    sampled = aer.probs(circuit, qubits=[0, 1, 2])[0].numpy()
    sigma = np.sqrt(probs * (1 - probs) / shots)
    assert np.all(np.abs(sampled - probs) < 5 * sigma + 1e-9)


def test_manila_model_converts_every_rule(manila) -> None:
    qiskit_model, ours, coupling = manila
    assert set(ours.noisy_gates) == {"cx", "id", "sx", "x"}
    assert "rz" in ours.ideal_gates
    assert {q for g, q in ours.qubit_errors if g == "cx"} == set(coupling)
    assert all(ours.readout_error(q) is not None for q in range(5))
    back = noise_model_to_qiskit(ours)
    circuit = _manila_circuit(3, coupling)
    first = AerBackend(noise_model=qiskit_model).probs(circuit)
    second = AerBackend(noise_model=back).probs(circuit)
    torch.testing.assert_close(second, first, atol=1e-10, rtol=0)


def _noisy_model() -> NoiseModel:
    kraus = random_kraus(2, 3, np.random.default_rng(4))
    return (
        NoiseModel(ideal_gates=["rz"])
        .add_all_qubit_error([Channel.depolarizing(0.05), Channel.amplitude_damping(0.1)], ["h", "ry", "sx"])
        .add_all_qubit_error(Channel.depolarizing(0.08, 2), "cx")
        .add_error([Channel.thermal_relaxation(1.0, 1.3, 0.2, 0.05), Channel.phase_damping(0.2)], "cx", (1, 2))
        .add_error(Channel.kraus(kraus), "cx", (2, 0))
        .add_error(Channel.pauli_channel(0.02, 0.03, 0.05), "ry", 2)
        .add_all_qubit_error([Channel.bit_flip(0.05), Channel.phase_flip(0.07)], "x")
        .add_readout_error([[0.95, 0.05], [0.1, 0.9]])
    )


def test_our_noise_model_runs_the_same_on_aer() -> None:
    circuit = Circuit(3).h(0).ry(0.7, 1).ry(-0.4, 2).cx(0, 1).cx(1, 2).cx(2, 0).x(1).rz(0.3, 2).sx(0).cx(1, 2)
    model = _noisy_model()
    observables = [Z(0), X(1) @ Z(2), Z(0) @ Z(1) @ Z(2)]
    ours = TorchBackend(dtype=torch.complex128, noise_model=model).expval(circuit, observables)
    aer = AerBackend(noise_model=model).expval(circuit, observables)  # converted on construction
    torch.testing.assert_close(ours, aer, atol=1e-10, rtol=0)
    noiseless = TorchBackend(dtype=torch.complex128).expval(circuit, observables)
    assert (ours - noiseless).abs().max() > 1e-2


def test_channels_in_a_circuit_run_on_aer_and_need_the_density_matrix_method() -> None:
    circuit = Circuit(2).h(0).depolarizing(0.2, 0).cx(0, 1).kraus(random_kraus(2, 2, np.random.default_rng(0)), (1, 0))
    ours = TorchBackend(dtype=torch.complex128).probs(circuit)
    torch.testing.assert_close(AerBackend(method="density_matrix").probs(circuit), ours, atol=1e-10, rtol=0)
    with pytest.raises(ValueError, match=r"noise channels; exact results \(shots=None\) need .*density_matrix"):
        AerBackend().probs(circuit)
    with pytest.raises(ValueError, match="StateVector is not available for a circuit with noise channels"):
        AerBackend().state(circuit)
    p = ParameterVector("p", 1)
    with pytest.raises(ConversionError, match="symbolic parameters; Qiskit Aer needs numbers"):
        circuit_to_qiskit(Circuit(1).bit_flip(p[0], 0))


def test_channel_conversion_keeps_qubit_order_and_accepts_any_qiskit_form() -> None:
    rng = np.random.default_rng(2)
    kraus = random_kraus(2, 2, rng)
    channel = Channel.kraus(kraus)
    error = channel_to_qiskit(channel)
    again = channel_from_qiskit(error)
    for form in (error, quantum_info.SuperOp(error), quantum_info.Choi(error)):
        converted = channel_from_qiskit(form)
        circuit = Circuit(2).h(0).ry(0.3, 1).append("kraus", (0, 1), (), converted.data)
        expected = Circuit(2).h(0).ry(0.3, 1).append("kraus", (0, 1), (), again.data)
        torch.testing.assert_close(
            TorchBackend(dtype=torch.complex128).state(circuit), TorchBackend(dtype=torch.complex128).state(expected)
        )
    # the same error on qargs (0, 1) in Qiskit and our channel on qubits (0, 1)
    qc = qiskit.QuantumCircuit(2)
    qc.h(0)
    qc.ry(0.3, 1)
    qc.append(error.to_instruction(), [0, 1])
    aer = quantum_info.DensityMatrix(qc).data
    ours = TorchBackend(dtype=torch.complex128).state(Circuit(2).h(0).ry(0.3, 1).kraus(kraus, (0, 1)))[0].numpy()
    np.testing.assert_allclose(ours, reverse_qubit_order(aer), atol=1e-12)
    # a mixture of circuits with resets (thermal relaxation with T2 < T1)
    mixture = aer_noise.thermal_relaxation_error(2.0, 1.0, 0.5)
    converted = channel_from_qiskit(mixture)
    rho = TorchBackend(dtype=torch.complex128).state(Circuit(1).h(0).append("kraus", 0, (), converted.data))
    direct = TorchBackend(dtype=torch.complex128).state(Circuit(1).h(0).thermal_relaxation(2.0, 1.0, 0.5, 0))
    torch.testing.assert_close(rho, direct)


def test_conversion_errors() -> None:
    transpose = quantum_info.SuperOp(np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]]))
    with pytest.raises(ConversionError, match="not completely positive"):
        channel_from_qiskit(transpose)
    with pytest.raises(TypeError, match=r"NoiseModel\.from_backend"):
        noise_model_from_qiskit(NoiseModel())
    correlated = aer_noise.NoiseModel()
    correlated.add_readout_error(
        aer_noise.ReadoutError(np.kron([[0.9, 0.1], [0.1, 0.9]], [[0.8, 0.2], [0.2, 0.8]])), [0, 1]
    )
    with pytest.raises(ConversionError, match="correlated readout error"):
        noise_model_from_qiskit(correlated)
    with pytest.raises(ConversionError, match="variable-width gate 'mcx'"):
        noise_model_to_qiskit(NoiseModel().add_all_qubit_error(Channel.bit_flip(0.1), "mcx"))
