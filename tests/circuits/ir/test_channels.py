"""Noise channels in the circuit description: the registry against Qiskit Aer's and PennyLane's channels,
validation messages, and every circuit feature (draw, depth, bind, serialize) with channels in it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from circuits import CHANNELS, Circuit, KrausData, Operation, ParameterVector
from circuits.errors import GateArityError, InvalidChannelError, UnknownGateError, UnsupportedChannelError
from circuits.ir.channels import channel_kraus, channel_superoperator, superoperator_from_kraus
from circuits.ir.serialize import circuit_from_json, circuit_to_json, content_hash

qiskit_noise = pytest.importorskip("qiskit_aer.noise")
quantum_info = pytest.importorskip("qiskit.quantum_info")

VALID = {
    "depolarizing": [(0.0,), (0.3,), (1.0,), (4 / 3,)],
    "amplitude_damping": [(0.0,), (0.25,), (1.0,)],
    "phase_damping": [(0.0,), (0.4,), (1.0,)],
    "bit_flip": [(0.0,), (0.1,), (1.0,)],
    "phase_flip": [(0.2,), (1.0,)],
    "pauli_channel": [(0.1, 0.2, 0.3), (0.0, 0.0, 1.0), (0.0, 0.0, 0.0)],
    "thermal_relaxation": [
        (50.0, 70.0, 0.3, 0.0),
        (50.0, 100.0, 5.0, 0.0),
        (40.0, 20.0, 3.0, 0.1),
        (1.0, 1.5, 0.0, 0.3),
    ],
}


def _random_density(dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    rho = a @ a.conj().T
    return rho / np.trace(rho)


def _evolve(kraus: np.ndarray, rho: np.ndarray) -> np.ndarray:
    return sum(k @ rho @ k.conj().T for k in kraus)


def _qiskit_error(name: str, params: tuple[float, ...]):
    if name == "depolarizing":
        return qiskit_noise.depolarizing_error(params[0], 1)
    if name == "amplitude_damping":
        return qiskit_noise.amplitude_damping_error(params[0])
    if name == "phase_damping":
        return qiskit_noise.phase_damping_error(params[0])
    if name == "bit_flip":
        return qiskit_noise.pauli_error([("X", params[0]), ("I", 1 - params[0])])
    if name == "phase_flip":
        return qiskit_noise.pauli_error([("Z", params[0]), ("I", 1 - params[0])])
    if name == "pauli_channel":
        px, py, pz = params
        return qiskit_noise.pauli_error([("X", px), ("Y", py), ("Z", pz), ("I", 1 - px - py - pz)])
    assert name == "thermal_relaxation"
    return qiskit_noise.thermal_relaxation_error(*params)


@pytest.mark.parametrize(("name", "params"), [(n, p) for n, ps in VALID.items() for p in ps])
def test_every_channel_matches_qiskit_aer(name: str, params: tuple[float, ...]) -> None:
    values = torch.tensor(params, dtype=torch.float64)
    kraus = channel_kraus(name, values).numpy()
    total = np.einsum("kji,kjl->il", kraus.conj(), kraus)
    np.testing.assert_allclose(total, np.eye(2), atol=1e-12)
    expected_kraus = np.asarray(quantum_info.Kraus(_qiskit_error(name, params)).data)
    for seed in range(3):
        rho = _random_density(2, seed)
        np.testing.assert_allclose(_evolve(kraus, rho), _evolve(expected_kraus, rho), atol=1e-12)
    # the explicit superoperator (no square roots) is the Kraus operators' one
    np.testing.assert_allclose(
        channel_superoperator(name, values).numpy(),
        superoperator_from_kraus(torch.from_numpy(kraus)).numpy(),
        atol=1e-12,
    )


@pytest.mark.parametrize("p", [0.0, 0.2, 1.0, 16 / 15])
def test_two_qubit_depolarizing_matches_qiskit(p: float) -> None:
    kraus = channel_kraus("depolarizing", torch.tensor([p], dtype=torch.float64), None, 2).numpy()
    expected = np.asarray(quantum_info.Kraus(qiskit_noise.depolarizing_error(p, 2)).data)
    rho = _random_density(4, 7)
    np.testing.assert_allclose(_evolve(kraus, rho), _evolve(expected, rho), atol=1e-12)


def test_depolarizing_is_pennylane_with_three_quarters() -> None:
    qp = pytest.importorskip("pennylane")
    p = 0.36
    ours = channel_kraus("depolarizing", torch.tensor([p], dtype=torch.float64)).numpy()
    theirs = np.asarray(qp.DepolarizingChannel.compute_kraus_matrices(0.75 * p))
    rho = _random_density(2, 3)
    np.testing.assert_allclose(_evolve(ours, rho), _evolve(theirs, rho), atol=1e-12)


def test_kraus_operators_batch_over_leading_axes() -> None:
    params = torch.tensor([[[0.1], [0.2]], [[0.3], [0.4]]], dtype=torch.float32)
    kraus = channel_kraus("amplitude_damping", params)
    assert kraus.shape == (2, 2, 2, 2, 2) and kraus.dtype == torch.complex64
    assert channel_superoperator("depolarizing", params, None, 2).shape == (2, 2, 16, 16)


@pytest.mark.parametrize(
    ("build", "match"),
    [
        (lambda: Circuit(1).bit_flip(1.2, 0), r"'bit_flip': p must be a probability in \[0, 1\], got 1.2"),
        (lambda: Circuit(1).phase_flip(-0.1, 0), r"'phase_flip': p must be a probability in \[0, 1\], got -0.1"),
        (lambda: Circuit(1).amplitude_damping(1.5, 0), r"gamma must be a probability in \[0, 1\], got 1.5"),
        (lambda: Circuit(1).phase_damping(-1.0, 0), r"gamma must be a probability"),
        (lambda: Circuit(1).pauli_channel(0.5, 0.4, 0.3, 0), r"sum to 1.2 > 1"),
        (lambda: Circuit(1).pauli_channel(-0.1, 0.0, 0.0, 0), r"px must be a probability"),
        (lambda: Circuit(1).depolarizing(1.4, 0), r"p must be in \[0, 1.33333\].*got 1.4"),
        (lambda: Circuit(2).depolarizing(1.1, (0, 1)), r"on 2 qubit\(s\): p must be in \[0, 1.06667\]"),
        (lambda: Circuit(1).thermal_relaxation(1.0, 3.0, 0.1, 0), r"T2 must be <= 2 \* T1.*'t2': 3.0"),
        (lambda: Circuit(1).thermal_relaxation(-1.0, 1.0, 0.1, 0), r"T1 must be > 0"),
        (lambda: Circuit(1).thermal_relaxation(1.0, 1.0, -0.1, 0), r"gate time must be >= 0"),
        (lambda: Circuit(1).thermal_relaxation(1.0, 1.0, 0.1, 0, excited_state_population=2.0), r"population"),
        (
            lambda: Circuit(1).kraus([np.eye(2), np.eye(2)], 0),
            r"not trace preserving: max \|sum_k K_k\^dagger K_k - I\| = 1 > 1e-08",
        ),
        (lambda: Circuit(1).kraus([np.diag([1.0, 0.9])], 0), r"not trace preserving: .* = 0.19"),
    ],
)
def test_invalid_channels_are_refused_with_the_value(build, match: str) -> None:
    with pytest.raises(InvalidChannelError, match=match):
        build()


def test_symbolic_strengths_are_checked_when_bound() -> None:
    p = ParameterVector("p", 2)
    circuit = Circuit(2).h(0).depolarizing(p[0], 0).bit_flip(0.5 * p[1], 1)
    assert circuit.parameters == {"p": 2}
    bound = circuit.bind({"p": [0.2, 1.0]})
    assert bound.operations[2].params[0].value() == 0.5
    with pytest.raises(InvalidChannelError, match=r"'bit_flip': p must be a probability in \[0, 1\], got 3.0"):
        circuit.bind({"p": [0.2, 6.0]})


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: Circuit(3).depolarizing(0.1, (0, 1, 2)), GateArityError, r"acts on 1 or 2 qubit\(s\), got 3"),
        (lambda: Circuit(2).append("amplitude_damping", (0, 1), (0.1,)), GateArityError, r"acts on 1 qubit"),
        (lambda: Circuit(1).append("bit_flip", 0, ()), GateArityError, r"takes 1 parameter\(s\) \(p\), got 0"),
        (lambda: Circuit(2).kraus([np.eye(4)], 0), GateArityError, r"2-qubit Kraus operators acts on 2"),
        (lambda: Circuit(1).append("kraus", 0), TypeError, r"needs data of type KrausData"),
        (lambda: Circuit(1).kraus(np.ones((2, 3)), 0), ValueError, r"square matrices"),
        (lambda: Circuit(1).append("depolarisation", 0, (0.1,)), UnknownGateError, r"Noise channels: amplitude_damp"),
    ],
)
def test_malformed_channel_operations(build, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        build()


def _noisy_circuit() -> Circuit:
    p = ParameterVector("p", 1)
    kraus = [np.sqrt(0.7) * np.eye(2), np.sqrt(0.3) * np.array([[0, 1], [1, 0]])]
    return (
        Circuit(3)
        .h(0)
        .depolarizing(0.01, 0)
        .cx(0, 1)
        .depolarizing(p[0], (0, 1))
        .amplitude_damping(0.2, 1)
        .phase_damping(0.1, 2)
        .thermal_relaxation(50.0, 70.0, 0.3, 2)
        .pauli_channel(0.1, 0.2, 0.3, 2)
        .kraus(kraus, 1)
    )


def test_circuit_features_work_with_channels() -> None:
    circuit = _noisy_circuit()
    assert circuit.has_channels and not Circuit(1).h(0).has_channels
    assert [op.is_channel for op in circuit][:3] == [False, True, False]
    assert circuit.depth() == 6  # q1: cx, depolarizing, amplitude_damping, kraus after h, depolarizing on q0
    assert circuit.count_ops()["depolarizing"] == 2
    text = circuit.draw()
    assert "DEPOL(0.01)" in text and "╭DEPOL(p[0])" in text and "KRAUS" in text and "THERMAL(50, 70, 0.3, 0)" in text
    again = circuit_from_json(circuit_to_json(circuit))
    assert again == circuit and content_hash(again) == content_hash(circuit)
    assert content_hash(circuit) != content_hash(circuit.bind({"p": [0.1]}))
    assert str(circuit.operations[-1]) == "kraus[2 Kraus] q[1]"
    assert KrausData(circuit.operations[-1].data.matrices) == circuit.operations[-1].data


def test_consumers_that_need_unitaries_refuse_channels() -> None:
    circuit = _noisy_circuit().bind({"p": [0.1]})
    with pytest.raises(UnsupportedChannelError, match="has no inverse"):
        circuit.inverse()
    with pytest.raises(UnsupportedChannelError, match="has no inverse"):
        Operation("bit_flip", (0,), (0.1,)).adjoint()
    from circuits.export.qasm import circuit_to_qasm2, circuit_to_qasm3

    with pytest.raises(UnsupportedChannelError, match="OpenQASM has no noise channels"):
        circuit_to_qasm2(circuit)
    with pytest.raises(UnsupportedChannelError, match="OpenQASM has no noise channels"):
        circuit_to_qasm3(circuit)
    from circuits.sim.reference import reference_unitary

    with pytest.raises(UnsupportedChannelError, match="reference_density_matrix"):
        reference_unitary(circuit)


def test_parameter_shift_refuses_symbolic_noise_but_keeps_constant_noise() -> None:
    from circuits.gradients import slot_circuit

    theta = ParameterVector("theta", 1)
    rewritten, slots, _ = slot_circuit(Circuit(1).rx(theta[0], 0).bit_flip(0.1, 0))
    assert len(slots) == 1 and rewritten.operations[1].name == "bit_flip"
    p = ParameterVector("p", 1)
    with pytest.raises(UnsupportedChannelError, match=r"cannot differentiate the symbolic parameters.*density_matrix"):
        slot_circuit(Circuit(1).rx(theta[0], 0).bit_flip(p[0], 0))


def test_pennylane_backend_refuses_channels_on_pure_state_devices() -> None:
    pytest.importorskip("pennylane")
    from circuits.backends.pennylane import PennyLaneBackend

    # channels convert to PennyLane's (tests/circuits/export/test_pennylane_noise.py); pure-state devices refuse them
    with pytest.raises(UnsupportedChannelError, match=r"'default\.qubit' cannot run the noise channels.*mixed"):
        PennyLaneBackend("default.qubit").probs(Circuit(1).h(0).bit_flip(0.1, 0))


def test_registry_names_do_not_collide_with_gates() -> None:
    from circuits import GATES

    assert not set(CHANNELS) & set(GATES)
