"""PennyLane's channels on ``qml_hybrid.qubit`` and ``qml_hybrid.mixed`` (density matrix) vs ``default.mixed``."""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pennylane as qp
import pytest
import torch
from pennylane.devices import device_constructor

from circuits.backends.pennylane_device import QmlHybridMixed, tape_to_circuit

DEVICES = {
    "qml_hybrid.qubit": "circuits.backends.pennylane_device:QmlHybridQubit",
    "qml_hybrid.mixed": "circuits.backends.pennylane_device:QmlHybridMixed",
}
ATOL = 1e-10
TORCH_ATOL = 1e-7
"""default.mixed loses precision under torch backprop (about 4e-8 relative: a single-precision step), so
comparisons with it there use this; its numpy runs agree with ours to ``ATOL``."""

for _name, _target in DEVICES.items():  # qp.device works before the package's entry points are installed
    if _name not in device_constructor.plugin_devices:
        device_constructor.plugin_devices[_name] = importlib.metadata.EntryPoint(
            name=_name, value=_target, group="pennylane.plugins"
        )


CHANNELS: dict[str, Callable[[torch.Tensor, int], None]] = {
    "DepolarizingChannel": lambda p, w: qp.DepolarizingChannel(p, wires=w),
    "AmplitudeDamping": lambda p, w: qp.AmplitudeDamping(p, wires=w),
    "PhaseDamping": lambda p, w: qp.PhaseDamping(p, wires=w),
    "BitFlip": lambda p, w: qp.BitFlip(p, wires=w),
    "PhaseFlip": lambda p, w: qp.PhaseFlip(p, wires=w),
    "PauliError-X": lambda p, w: qp.PauliError("X", p, wires=w),
    "PauliError-Y": lambda p, w: qp.PauliError("Y", p, wires=w),
    "PauliError-IZ": lambda p, w: qp.PauliError("IZ", p, wires=[1 - w, w]),
    "ThermalRelaxationError": lambda p, w: qp.ThermalRelaxationError(0.1, 1.0 + p, 1.5, 0.4, wires=w),
}
"""Channels whose parameter the device keeps symbolic: trainable and broadcastable."""

CONSTANT_CHANNELS: dict[str, Callable[[int], None]] = {
    "GeneralizedAmplitudeDamping": lambda w: qp.GeneralizedAmplitudeDamping(0.3, 0.7, wires=w),
    "ResetError": lambda w: qp.ResetError(0.1, 0.25, wires=w),
    "PauliError-XY": lambda w: qp.PauliError("XY", 0.2, wires=[w, 1 - w]),
    "QubitChannel": lambda w: qp.QubitChannel(
        [np.sqrt(0.6) * np.eye(2), np.sqrt(0.4) * np.array([[0.6, 0.8j], [0.8j, 0.6]])], wires=w
    ),
    "QubitChannel-2q": lambda w: qp.QubitChannel(
        [np.sqrt(0.7) * np.eye(4), np.sqrt(0.3) * np.kron(np.array([[0, 1], [1, 0]]), np.diag([1, -1]))],
        wires=[w, 1 - w],
    ),
}
"""Channels the device runs as constant Kraus operators."""


def _body(params: torch.Tensor, channel: Callable[[], None]) -> None:
    qp.RY(params[..., 0], wires=0)
    qp.CNOT(wires=[0, 1])
    qp.RX(params[..., 1], wires=1)
    channel()
    qp.CRZ(params[..., 2], wires=[1, 0])
    qp.Hadamard(wires=1)


def _results(device: str, channel: Callable[[], None], params: np.ndarray) -> list[np.ndarray]:
    dev = qp.device(device, wires=2)

    @qp.qnode(dev)
    def node(x: np.ndarray) -> tuple:
        _body(x, channel)
        return qp.expval(qp.Z(0) @ qp.X(1)), qp.probs(wires=[1, 0]), qp.density_matrix(wires=[0, 1])

    return [np.asarray(r) for r in node(params)]


PARAMS = torch.tensor([0.7, -1.3, 0.9], dtype=torch.float64)


@pytest.mark.parametrize("device", sorted(DEVICES))
@pytest.mark.parametrize("name", sorted(CHANNELS) + sorted(CONSTANT_CHANNELS))
def test_every_channel_equals_default_mixed(device: str, name: str) -> None:
    channel = (lambda: CHANNELS[name](0.3, 0)) if name in CHANNELS else (lambda: CONSTANT_CHANNELS[name](0))
    ours = _results(device, channel, PARAMS.numpy())
    theirs = _results("default.mixed", channel, PARAMS.numpy())
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, atol=ATOL, rtol=0)


def test_channels_become_our_channels_with_converted_parameters() -> None:
    ops = [
        qp.DepolarizingChannel(0.3, wires=0),
        qp.ThermalRelaxationError(0.1, 2.0, 3.0, 0.5, wires=1),
        qp.PauliError("IY", 0.2, wires=[0, 1]),
        qp.GeneralizedAmplitudeDamping(0.3, 0.7, wires=1),
    ]
    translation = tape_to_circuit(qp.tape.QuantumScript(ops), 2)
    circuit = translation.circuit.bind(translation.params)
    assert [(op.name, op.qubits) for op in circuit] == [
        ("depolarizing", (0,)),
        ("thermal_relaxation", (1,)),
        ("pauli_channel", (1,)),
        ("kraus", (1,)),
    ]
    values = [[p.value() for p in op.params] for op in circuit]
    np.testing.assert_allclose(values[0], [0.4], atol=1e-15)  # PennyLane's p = 3/4 of Qiskit's
    np.testing.assert_allclose(values[1], [2.0, 3.0, 0.5, 0.1], atol=1e-15)
    np.testing.assert_allclose(values[2], [0.0, 0.2, 0.0], atol=1e-15)


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_backprop_through_gates_and_noise_strengths_equals_default_mixed(device: str) -> None:
    def circuit(x: torch.Tensor, strengths: torch.Tensor) -> torch.Tensor:
        _body(x, lambda: None)
        qp.DepolarizingChannel(strengths[0], wires=0)
        qp.AmplitudeDamping(strengths[1], wires=1)
        qp.BitFlip(strengths[2] / 3, wires=0)
        qp.PauliError("Y", strengths[0] / 2, wires=1)
        qp.IsingXX(x[..., 0] * x[..., 1], wires=[0, 1])
        qp.PhaseDamping(strengths[1] ** 2, wires=0)
        return qp.expval(qp.Z(0) @ qp.Z(1) + 0.3 * qp.Y(0))

    grads = {}
    for name in (device, "default.mixed"):
        node = qp.QNode(circuit, qp.device(name, wires=2), interface="torch", diff_method="backprop")
        x = PARAMS.clone().requires_grad_(True)
        s = torch.tensor([0.2, 0.35, 0.4], dtype=torch.float64, requires_grad=True)
        value = node(x, s)
        value.backward()
        grads[name] = (value.detach(), x.grad, s.grad)
    for ours, theirs in zip(grads[device], grads["default.mixed"], strict=True):
        torch.testing.assert_close(ours, theirs, atol=TORCH_ATOL, rtol=0)
    assert bool((grads[device][2].abs() > 1e-3).all())  # every strength matters


def test_gradient_through_noise_equals_finite_differences() -> None:
    dev = qp.device("qml_hybrid.mixed", wires=2)

    @qp.qnode(dev, interface="torch", diff_method="backprop")
    def node(s: torch.Tensor) -> torch.Tensor:
        _body(PARAMS, lambda: qp.AmplitudeDamping(s[0], wires=1))
        qp.DepolarizingChannel(s[1], wires=0)
        # a trainable T1 (default.mixed cannot differentiate this channel's parameters)
        qp.ThermalRelaxationError(0.05, s[2], 1.2, 0.3, wires=0)
        qp.RX(0.4, wires=0)
        return qp.expval(qp.Z(0) + qp.Z(1))

    s = torch.tensor([0.3, 0.2, 1.4], dtype=torch.float64, requires_grad=True)
    node(s).backward()
    eps = 1e-6
    fd = [(node(s.detach() + eps * e) - node(s.detach() - eps * e)) / (2 * eps) for e in torch.eye(3, dtype=s.dtype)]
    torch.testing.assert_close(s.grad, torch.stack(fd).detach(), atol=1e-7, rtol=0)


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_parameter_shift_of_gate_angles_in_noisy_circuits_equals_default_mixed(device: str) -> None:
    """With the autograd interface PennyLane differentiates by its shift rules, each shifted tape run on the device."""

    def circuit(x: qp.numpy.tensor) -> qp.numpy.tensor:
        _body(x, lambda: qp.AmplitudeDamping(0.3, wires=1))
        qp.DepolarizingChannel(0.2, wires=0)
        return qp.expval(qp.Z(0) @ qp.Z(1))

    x = qp.numpy.array(PARAMS.numpy(), requires_grad=True)
    grads = []
    for name in (device, "default.mixed"):
        node = qp.QNode(circuit, qp.device(name, wires=2), interface="autograd", diff_method="parameter-shift")
        grads.append(qp.grad(node)(x))
    np.testing.assert_allclose(grads[0], grads[1], atol=1e-9, rtol=0)


def test_broadcast_channel_strengths_run_as_one_batch() -> None:
    """default.mixed cannot broadcast channels; ours runs the batch at once and equals a loop over it."""
    dev = qp.device("qml_hybrid.mixed", wires=2)

    @qp.qnode(dev, interface="torch")
    def node(x: torch.Tensor, g: torch.Tensor) -> tuple:
        _body(x, lambda: qp.AmplitudeDamping(g, wires=1))
        qp.DepolarizingChannel(g / 2, wires=0)
        return qp.expval(qp.Z(0)), qp.probs(wires=[0, 1])

    strengths = torch.tensor([0.0, 0.3, 0.9], dtype=torch.float64)
    batched = node(PARAMS, strengths)
    reference = qp.QNode(node.func, qp.device("default.mixed", wires=2), interface="torch")
    for b, g in enumerate(strengths):
        single = reference(PARAMS, g)
        torch.testing.assert_close(batched[0][b], single[0], atol=TORCH_ATOL, rtol=0)
        torch.testing.assert_close(batched[1][b], single[1], atol=TORCH_ATOL, rtol=0)


@pytest.mark.parametrize("device", sorted(DEVICES))
def test_state_preparations_open_a_noisy_circuit(device: str) -> None:
    rho = np.array([[0.3, 0.2 - 0.1j], [0.2 + 0.1j, 0.7]])

    def circuit(features: torch.Tensor) -> tuple:
        qp.AmplitudeEmbedding(features, wires=[0, 1], normalize=True)
        qp.BitFlip(0.2, wires=0)
        qp.CNOT(wires=[0, 1])
        return qp.density_matrix(wires=[0, 1]), qp.expval(qp.X(1))

    def prepared(_: torch.Tensor) -> tuple:
        qp.QubitDensityMatrix(rho, wires=1)
        qp.PhaseDamping(0.3, wires=1)
        qp.CNOT(wires=[1, 0])
        return qp.density_matrix(wires=[0, 1]), qp.expval(qp.X(1))

    features = torch.tensor([[0.2, 0.0, 0.9, 0.4], [1.0, 0.5, 0.0, 0.0]], dtype=torch.float64)
    for fn in (circuit, prepared):
        ours = qp.QNode(fn, qp.device(device, wires=2), interface="torch")(features)
        theirs = qp.QNode(fn, qp.device("default.mixed", wires=2), interface="torch")(features)
        for a, b in zip(ours, theirs, strict=True):
            torch.testing.assert_close(torch.as_tensor(a), torch.as_tensor(b), atol=TORCH_ATOL, rtol=0)


def test_shots_sample_the_noisy_distribution() -> None:
    dev = qp.device("qml_hybrid.mixed", wires=2, seed=11)

    @qp.qnode(dev, interface="torch")
    def node() -> tuple:
        _body(PARAMS, lambda: qp.AmplitudeDamping(0.4, wires=1))
        return qp.expval(qp.Z(0) @ qp.Z(1)), qp.probs(wires=[0, 1])

    shots = 20000
    exact = node()
    sampled = qp.set_shots(node, shots=shots)()
    sigma = np.sqrt((1 - float(exact[0]) ** 2) / shots)
    assert abs(float(sampled[0]) - float(exact[0])) < 5 * sigma
    probs = exact[1].numpy()
    np.testing.assert_allclose(sampled[1], probs, atol=float(5 * np.sqrt(probs * (1 - probs) / shots).max()), rtol=0)


def test_qml_hybrid_qubit_uses_the_state_vector_without_channels() -> None:
    dev = qp.device("qml_hybrid.qubit", wires=2)
    tape = qp.tape.QuantumScript([qp.Hadamard(0), qp.CNOT([0, 1])], [qp.state()])
    assert dev.execute(tape).shape == (4,)
    noisy = qp.tape.QuantumScript([qp.Hadamard(0), qp.BitFlip(0.1, 1)], [qp.state()])
    assert dev.execute(noisy).shape == (4, 4)  # a mixed state: PennyLane's qp.state() gives its density matrix
    assert qp.device("qml_hybrid.mixed", wires=2).execute(tape).shape == (4, 4)
    assert isinstance(qp.device("qml_hybrid.mixed", wires=1), QmlHybridMixed)


def test_statevector_method_refuses_channels() -> None:
    dev = qp.device("qml_hybrid.qubit", wires=1, method="statevector")
    node = qp.QNode(lambda: (qp.AmplitudeDamping(0.1, wires=0), qp.expval(qp.Z(0)))[1], dev)
    with pytest.raises(qp.exceptions.DeviceError, match=r"'statevector' simulates pure states.*qml_hybrid\.mixed"):
        node()


def test_unknown_method_is_refused() -> None:
    with pytest.raises(ValueError, match=r"method must be one of 'auto', 'statevector', 'density_matrix', got 'dm'"):
        qp.device("qml_hybrid.qubit", wires=1, method="dm")


def test_constant_kraus_channels_refuse_trainable_and_broadcast_parameters() -> None:
    dev = qp.device("qml_hybrid.qubit", wires=1)
    node = qp.QNode(lambda g: (qp.GeneralizedAmplitudeDamping(g, 0.3, wires=0), qp.expval(qp.Z(0)))[1], dev)
    with pytest.raises(qp.exceptions.DeviceError, match=r"cannot be trainable\. Differentiable channels: Depolarizing"):
        node(torch.tensor(0.2, requires_grad=True))
    with pytest.raises(qp.exceptions.DeviceError, match=r"cannot be broadcast \(have a batch axis\)"):
        node(torch.tensor([0.2, 0.4]))
    reference = qp.QNode(node.func, qp.device("default.mixed", wires=1))
    assert float(node(torch.tensor(0.2))) == pytest.approx(float(reference(0.2)), abs=1e-7)


def test_a_density_matrix_preparation_must_open_the_tape() -> None:
    dev = qp.device("qml_hybrid.mixed", wires=1)
    node = qp.QNode(lambda: (qp.RX(0.2, 0), qp.QubitDensityMatrix(np.eye(2) / 2, wires=0), qp.expval(qp.Z(0)))[2], dev)
    with pytest.raises(qp.exceptions.DeviceError, match=r"QubitDensityMatrix on wires \[0\] is not the first op"):
        node()


def test_mixed_entry_point_is_installed() -> None:
    names = {e.name: e.value for e in importlib.metadata.entry_points(group="pennylane.plugins")}
    if "qml_hybrid.mixed" not in names:
        pytest.skip(
            "the 'pennylane.plugins' entry point 'qml_hybrid.mixed' is not installed; reinstall with "
            "`pip install -e . --no-deps` (this module registers the device in-process meanwhile)."
        )
    assert names["qml_hybrid.mixed"] == DEVICES["qml_hybrid.mixed"]


# -- PennyLane's own device suite on the density-matrix engine ------------------------------------------

_SUITE_RUNNER = textwrap.dedent(
    f"""
    import importlib.metadata, sys
    from pennylane.devices import device_constructor
    for name, target in {DEVICES!r}.items():
        if name not in device_constructor.plugin_devices:
            device_constructor.plugin_devices[name] = importlib.metadata.EntryPoint(
                name=name, value=target, group="pennylane.plugins")
    import pytest
    from pennylane.devices.tests import get_device_tests
    sys.exit(pytest.main([get_device_tests(), *sys.argv[1:]]))
    """
)


@pytest.mark.parametrize("shots", [None, pytest.param(10000, marks=pytest.mark.slow)], ids=["analytic", "shots"])
def test_pennylane_device_suite_on_the_density_matrix_engine(shots: int | None, tmp_path: Path) -> None:
    """``qml_hybrid.mixed`` runs every tape of the suite as a density matrix (its name makes the suite treat it as
    a mixed-state device, as ``default.mixed``); the autograd backprop tests are deselected as for ``qml_hybrid.qubit``
    (tests/circuits/backends/test_pennylane_device.py says why)."""
    pytest.importorskip("pytest_mock", reason="PennyLane's device suite needs pytest-mock")
    pytest.importorskip("flaky", reason="PennyLane's device suite needs flaky")
    args = ["--device=qml_hybrid.mixed", "-q", "-p", "no:cacheprovider", "-W", "ignore::DeprecationWarning"]
    args += ["-k", "not (test_gradients_autograd and backprop)"]
    if shots is not None:
        args += [f"--shots={shots}", "--device-kwargs", "seed=7"]
    proc = subprocess.run(
        [sys.executable, "-c", _SUITE_RUNNER, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    summary = [line for line in proc.stdout.splitlines() if " passed" in line][-1]
    counts = {word: int(n) for n, word in re.findall(r"(\d+) (\w+)", summary)}
    assert counts.get("failed", 0) == 0 and counts.get("error", 0) == counts.get("errors", 0) == 0, summary
    assert counts["passed"] >= (370 if shots else 390), summary
