"""The density-matrix engine against Qiskit Aer's density_matrix method (issue 14's bar), gradients against finite
differences, and its limits (memory, unitary-only options)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import CHANNELS, Channel, Circuit, NoiseModel, ParameterVector, PauliSum, Projector, TorchBackend, X, Y, Z
from circuits.errors import InvalidChannelError, SimulationMemoryError, UnsupportedChannelError
from circuits.export.qiskit import circuit_to_qiskit, reverse_qubit_order
from circuits.sim.reference import reference_density_matrix
from circuits.testing import random_noisy_circuit

qiskit = pytest.importorskip("qiskit")
qiskit_aer = pytest.importorskip("qiskit_aer")

# every registered gate except the widest ones keeps the circuits small enough for a quick test
GATES = ["h", "x", "sx", "rx", "ry", "rz", "u", "cx", "cz", "crx", "rzz", "swap", "ccx", "unitary", "pauli_rot"]


def _aer_density(circuit: Circuit) -> np.ndarray:
    """Aer's final density matrix, in our qubit order."""
    simulator = qiskit_aer.AerSimulator(method="density_matrix", precision="double")
    qc = qiskit.transpile(circuit_to_qiskit(circuit), simulator, optimization_level=0)
    qc.save_density_matrix()
    return reverse_qubit_order(np.asarray(simulator.run(qc).result().data(0)["density_matrix"]))


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), num_qubits=st.integers(1, 4))
def test_random_noisy_circuits_agree_with_aer_density_matrix(seed: int, num_qubits: int) -> None:
    circuit = random_noisy_circuit(num_qubits, 4, seed, gates=GATES)
    ours = TorchBackend(dtype=torch.complex128, method="density_matrix").state(circuit)[0].numpy()
    np.testing.assert_allclose(ours, _aer_density(circuit), atol=1e-10)


@pytest.mark.parametrize("channel", sorted(CHANNELS))
@pytest.mark.parametrize("seed", [0, 1])
def test_every_channel_in_random_circuits_agrees_with_aer(channel: str, seed: int) -> None:
    circuit = random_noisy_circuit(3, 5, seed, channels=[channel], gates=GATES)
    assert any(op.name == channel for op in circuit)
    ours = TorchBackend(dtype=torch.complex128, method="density_matrix").state(circuit)[0].numpy()
    np.testing.assert_allclose(ours, _aer_density(circuit), atol=1e-10)
    np.testing.assert_allclose(ours, reference_density_matrix(circuit), atol=1e-12)


def test_measurements_agree_with_aer_and_batches_with_single_runs() -> None:
    theta = ParameterVector("theta", 3)
    circuit = (
        Circuit(3)
        .ry(theta[0], 0)
        .amplitude_damping(0.2, 0)
        .cx(0, 1)
        .depolarizing(0.1, (0, 1))
        .rx(theta[1], 2)
        .crz(theta[2], 1, 2)
        .thermal_relaxation(1.0, 1.2, 0.3, 2)
        .h(1)
        .phase_damping(0.3, 1)
    )
    values = torch.tensor([[0.3, -1.2, 0.7], [2.1, 0.4, -0.5]], dtype=torch.float64)
    observables = [Z(0), X(1) @ Y(2), PauliSum.from_label("XZY") * 0.5 + Z(2) * 0.25, Projector((0, 2), (1, 0))]
    backend = TorchBackend(dtype=torch.complex128)
    expvals = backend.expval(circuit, observables, {"theta": values})
    probs = backend.probs(circuit, {"theta": values}, qubits=[2, 0])
    aer = qiskit_aer.AerSimulator(method="density_matrix")
    qk_observables = [
        qiskit.quantum_info.SparsePauliOp("IIZ"),
        qiskit.quantum_info.SparsePauliOp("YXI"),
        qiskit.quantum_info.SparsePauliOp(["YZX", "ZII"], [0.5, 0.25]),
    ]
    for row, angles in enumerate(values.tolist()):
        bound = circuit.bind({"theta": angles})
        qc = qiskit.transpile(circuit_to_qiskit(bound), aer, optimization_level=0)
        for k, obs in enumerate(qk_observables):
            qc.save_expectation_value(obs, range(3), label=f"e{k}")
        qc.save_probabilities([0, 2], label="p")  # Qiskit order: qubit 0 least significant -> our [2, 0]
        data = aer.run(qc).result().data(0)
        for k in range(3):
            assert expvals[row, k].item() == pytest.approx(data[f"e{k}"], abs=1e-10)
        rho = reference_density_matrix(bound)
        projector = np.kron(np.kron(np.diag([0, 1]), np.eye(2)), np.diag([1, 0]))
        assert expvals[row, 3].item() == pytest.approx(np.trace(rho @ projector).real, abs=1e-12)
        np.testing.assert_allclose(probs[row].numpy(), data["p"], atol=1e-10)
        single = backend.probs(circuit, {"theta": values[row]}, qubits=[2, 0])
        torch.testing.assert_close(single[0], probs[row], atol=1e-13, rtol=0)


def test_complex64_agrees_loosely_and_outputs_are_float32() -> None:
    circuit = random_noisy_circuit(4, 4, 11, gates=GATES)
    exact = TorchBackend(dtype=torch.complex128).probs(circuit)
    single = TorchBackend(dtype=torch.complex64).probs(circuit)
    assert single.dtype == torch.float32
    torch.testing.assert_close(single.double(), exact, atol=2e-6, rtol=0)


def test_noise_model_on_the_backend_equals_channels_in_the_circuit() -> None:
    model = (
        NoiseModel()
        .add_all_qubit_error([Channel.depolarizing(0.05), Channel.amplitude_damping(0.1)], ["h", "ry"])
        .add_all_qubit_error(Channel.depolarizing(0.08, 2), "cx")
    )
    circuit = Circuit(2).h(0).ry(0.4, 1).cx(0, 1)
    explicit = (
        Circuit(2)
        .h(0)
        .depolarizing(0.05, 0)
        .amplitude_damping(0.1, 0)
        .ry(0.4, 1)
        .depolarizing(0.05, 1)
        .amplitude_damping(0.1, 1)
        .cx(0, 1)
        .depolarizing(0.08, (0, 1))
    )
    noisy = TorchBackend(dtype=torch.complex128, noise_model=model).state(circuit)
    torch.testing.assert_close(noisy, TorchBackend(dtype=torch.complex128).state(explicit))
    assert TorchBackend(noise_model=model).options.method == "auto"


def test_readout_errors_match_aer_counts() -> None:
    circuit = Circuit(2).ry(1.1, 0).cx(0, 1).rx(0.4, 1)
    a0, a1 = np.array([[0.9, 0.1], [0.25, 0.75]]), np.array([[0.97, 0.03], [0.1, 0.9]])
    model = NoiseModel().add_readout_error(a0, 0).add_readout_error(a1, 1)
    ours = TorchBackend(dtype=torch.complex128, noise_model=model).probs(circuit)[0].numpy()
    exact = TorchBackend(dtype=torch.complex128).probs(circuit)[0].numpy()
    np.testing.assert_allclose(ours, exact @ np.kron(a0, a1), atol=1e-14)
    noise = qiskit_aer.noise.NoiseModel()
    noise.add_readout_error(qiskit_aer.noise.ReadoutError(a0), [0])
    noise.add_readout_error(qiskit_aer.noise.ReadoutError(a1), [1])
    qc = circuit_to_qiskit(circuit)
    qc.measure_all()
    shots = 200_000
    counts = qiskit_aer.AerSimulator(noise_model=noise, seed_simulator=5).run(qc, shots=shots).result().get_counts()
    frequencies = np.array([counts.get(format(i, "02b")[::-1], 0) for i in range(4)]) / shots  # our index order
    sigma = np.sqrt(ours * (1 - ours) / shots)
    assert np.all(np.abs(frequencies - ours) < 5 * sigma + 1e-12)
    # on the state-vector path too (a model with readout errors only), and for samples
    statevector = TorchBackend(dtype=torch.complex128, noise_model=model, method="statevector")
    np.testing.assert_allclose(statevector.probs(circuit)[0].numpy(), ours, atol=1e-14)
    bits = statevector.sample(circuit, shots=40_000, generator=torch.Generator().manual_seed(3))
    sampled = np.bincount((bits[0, :, 0] * 2 + bits[0, :, 1]).numpy(), minlength=4) / 40_000
    assert np.all(np.abs(sampled - ours) < 5 * np.sqrt(ours * (1 - ours) / 40_000) + 1e-12)
    # expectation values stay exact, as Aer's save_expectation_value
    torch.testing.assert_close(
        TorchBackend(dtype=torch.complex128, noise_model=model).expval(circuit, Z(0)),
        TorchBackend(dtype=torch.complex128).expval(circuit, Z(0)),
    )


def test_samples_follow_the_noisy_distribution() -> None:
    circuit = Circuit(2).h(0).cx(0, 1).amplitude_damping(0.6, 0).bit_flip(0.2, 1)
    backend = TorchBackend(dtype=torch.complex128)
    probs = backend.probs(circuit)[0].numpy()
    bits = backend.sample(circuit, shots=50_000, generator=torch.Generator().manual_seed(0))
    assert bits.shape == (1, 50_000, 2) and bits.dtype == torch.int64
    sampled = np.bincount((bits[0, :, 0] * 2 + bits[0, :, 1]).numpy(), minlength=4) / 50_000
    assert np.all(np.abs(sampled - probs) < 5 * np.sqrt(probs * (1 - probs) / 50_000) + 1e-12)


def _noisy_model_circuit() -> tuple[Circuit, dict[str, torch.Tensor]]:
    theta, p = ParameterVector("theta", 3), ParameterVector("p", 3)
    circuit = (
        Circuit(2)
        .ry(theta[0], 0)
        .depolarizing(p[0], 0)
        .rx(theta[1], 1)
        .amplitude_damping(p[1], 1)
        .cx(0, 1)
        .thermal_relaxation(1.0, 1.5, p[2], 0)
        .rz(theta[2] * theta[0], 1)
        .phase_damping(0.5 * p[1], 1)
        .h(1)
    )
    values = {
        "theta": torch.tensor([[0.4, -0.8, 1.3], [1.9, 0.2, -0.6]], dtype=torch.float64, requires_grad=True),
        "p": torch.tensor([0.15, 0.3, 0.4], dtype=torch.float64, requires_grad=True),
    }
    return circuit, values


def _loss(circuit: Circuit, values: dict[str, torch.Tensor]) -> torch.Tensor:
    out = TorchBackend(dtype=torch.complex128).expval(circuit, [Z(0), X(1), Y(0) @ Y(1)], values)
    return (out * torch.tensor([1.0, -0.7, 0.4], dtype=torch.float64)).sum() + out[:, 1].square().sum()


def test_gradients_through_noise_equal_finite_differences() -> None:
    circuit, values = _noisy_model_circuit()
    grads = torch.autograd.grad(_loss(circuit, values), [values["theta"], values["p"]])
    step = 1e-6
    for name, grad in zip(["theta", "p"], grads, strict=True):
        flat = values[name].detach().clone()
        numeric = torch.zeros_like(flat)
        for index in np.ndindex(*flat.shape):
            shifted = []
            for sign in (1, -1):
                moved = {k: v.detach().clone() for k, v in values.items()}
                moved[name][index] += sign * step
                shifted.append(_loss(circuit, moved))
            numeric[index] = (shifted[0] - shifted[1]) / (2 * step)
        torch.testing.assert_close(grad, numeric, atol=1e-7, rtol=1e-6)
        assert grad.abs().max() > 1e-2


def test_second_derivatives_through_noise() -> None:
    circuit, values = _noisy_model_circuit()
    (grad_p,) = torch.autograd.grad(_loss(circuit, values), values["p"], create_graph=True)
    (hessian_row,) = torch.autograd.grad(grad_p[1], values["theta"])
    step = 1e-5
    numeric = torch.zeros_like(values["theta"])
    for index in np.ndindex(*values["theta"].shape):
        shifted = []
        for sign in (1, -1):
            moved = {k: v.detach().clone().requires_grad_(True) for k, v in values.items()}
            with torch.no_grad():
                moved["theta"][index] += sign * step
            (g,) = torch.autograd.grad(_loss(circuit, moved), moved["p"])
            shifted.append(g[1])
        numeric[index] = (shifted[0] - shifted[1]) / (2 * step)
    torch.testing.assert_close(hessian_row, numeric, atol=1e-6, rtol=1e-5)


def test_gradient_at_zero_noise_is_finite() -> None:
    p = ParameterVector("p", 2)
    circuit = Circuit(1).h(0).amplitude_damping(p[0], 0).depolarizing(p[1], 0).rx(0.3, 0)
    values = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    out = TorchBackend(dtype=torch.complex128).expval(circuit, [X(0), Z(0)], {"p": values}).sum()
    (grad,) = torch.autograd.grad(out, values)
    assert torch.isfinite(grad).all() and grad.abs().min() > 0.1


def test_bad_inputs_to_the_noisy_engine() -> None:
    p = ParameterVector("p", 1)
    circuit = Circuit(1).h(0).bit_flip(p[0], 0)
    with pytest.raises(InvalidChannelError, match=r"'bit_flip': p must be a probability in \[0, 1\], got 1.5"):
        TorchBackend().probs(circuit, {"p": torch.tensor([[0.1], [1.5]])})
    with pytest.raises(UnsupportedChannelError, match=r"method='statevector'.*\['bit_flip'\].*method='density_matrix'"):
        TorchBackend(method="statevector").probs(circuit, {"p": [0.1]})
    with pytest.raises(ValueError, match="diff_method='adjoint' un-computes a unitary circuit"):
        TorchBackend(method="density_matrix", diff_method="adjoint")
    with pytest.raises(ValueError, match="does not apply to noisy circuits"):
        TorchBackend(diff_method="adjoint").probs(circuit, {"p": [0.1]})
    with pytest.raises(ValueError, match=r"TorchOptions\.method must be one of"):
        TorchBackend(method="mixed")
    with pytest.raises(TypeError, match="noise_model_from_qiskit"):
        TorchBackend(noise_model=qiskit_aer.noise.NoiseModel())


def test_a_density_matrix_too_large_for_memory_is_refused_with_the_estimate() -> None:
    circuit = Circuit(20).h(0).bit_flip(0.1, 0)
    message = r"density matrix of 20 qubits .* needs about 24\.0 TiB .*trajectory"
    with pytest.raises(SimulationMemoryError, match=message):
        TorchBackend().probs(circuit)


def test_under_autograd_the_memory_check_counts_every_kept_pass(monkeypatch) -> None:
    """Backprop keeps each pass's input: a deep noisy circuit that fits without gradients may not with them."""
    from circuits.sim import density

    n, depth = 8, 20
    p = ParameterVector("p", 1)
    circuit = Circuit(n)
    for _ in range(depth):
        for q in range(n):
            circuit = circuit.rx(p[0], q).depolarizing(0.01, q)
        for q in range(n - 1):
            circuit = circuit.cz(q, q + 1)
    passes = sum(1 if block.lifted else 2 for block in density.compile_density_plan(circuit).blocks)
    one_copy = 64 * 8 * 4**n  # batch 64, complex64
    monkeypatch.setattr(density, "available_memory_bytes", lambda device: 10 * one_copy)
    angle = torch.full((64, 1), 0.3)
    TorchBackend(method="density_matrix").expval(circuit, Z(0), {"p": angle})  # 3 copies fit
    assert passes > 8
    message = rf"under autograd .* needs about .* \({passes + 2} copies of .*without requires_grad"
    with pytest.raises(SimulationMemoryError, match=message):
        TorchBackend(method="density_matrix").expval(circuit, Z(0), {"p": angle.requires_grad_()})


def test_statevector_of_a_noiseless_circuit_is_unchanged_by_auto() -> None:
    circuit = Circuit(2).h(0).cx(0, 1)
    state = TorchBackend(dtype=torch.complex128).state(circuit)
    assert state.shape == (1, 4)
    rho = TorchBackend(dtype=torch.complex128, method="density_matrix").state(circuit)
    torch.testing.assert_close(rho[0], torch.outer(state[0], state[0].conj()))


def test_agrees_with_pennylane_default_mixed() -> None:
    """An independent oracle, and PennyLane's depolarising convention: DepolarizingChannel(3/4 * p)."""
    qp = pytest.importorskip("pennylane")
    p, gamma = 0.12, 0.2
    circuit = Circuit(3).ry(0.4, 0).depolarizing(p, 0).cx(0, 2).amplitude_damping(gamma, 2).rx(1.1, 1)
    circuit = circuit.phase_damping(0.3, 1).cz(1, 2).bit_flip(0.1, 2).thermal_relaxation(1.0, 1.5, 0.4, 0, 0.2)

    @qp.qnode(qp.device("default.mixed", wires=3))
    def reference():
        qp.RY(0.4, wires=0)
        qp.DepolarizingChannel(0.75 * p, wires=0)
        qp.CNOT(wires=[0, 2])
        qp.AmplitudeDamping(gamma, wires=2)
        qp.RX(1.1, wires=1)
        qp.PhaseDamping(0.3, wires=1)
        qp.CZ(wires=[1, 2])
        qp.BitFlip(0.1, wires=2)
        qp.ThermalRelaxationError(0.2, 1.0, 1.5, 0.4, wires=0)
        return qp.density_matrix(wires=[0, 1, 2])

    ours = TorchBackend(dtype=torch.complex128, method="density_matrix").state(circuit)[0].numpy()
    np.testing.assert_allclose(ours, np.asarray(reference()), atol=1e-12)
