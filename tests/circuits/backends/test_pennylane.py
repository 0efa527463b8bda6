"""PennyLaneBackend against TorchBackend (complex128) and the dense reference: values, shots, samples, gradients."""

from __future__ import annotations

import numpy as np
import pennylane as qp
import pytest
import torch

from circuits import Circuit, ParameterVector, PauliSum, Projector, TorchBackend, X, Y, Z
from circuits.backend import Expectation, Probabilities, Samples, StateVector
from circuits.backends.pennylane import PennyLaneBackend, PennyLaneOptions, installed_devices
from circuits.errors import BackendUnavailableError, SimulationMemoryError
from circuits.gradients import slot_circuit
from circuits.sim.reference import reference_state
from circuits.testing import random_circuit

DEVICES = ["default.qubit", "lightning.qubit"]
TORCH = TorchBackend(dtype=torch.complex128)
OBSERVABLES = [
    Z(0),
    X(1) @ Y(2),
    0.5 * Z(0) @ Z(3) - 0.25 * X(2) + 0.75 * Y(0) @ X(1) @ Z(2) + 1.5,
    PauliSum.from_label("YXZY", 0.3),
    Projector((0, 2), (1, 0)),
    Projector.from_bitstring("0110"),
]


def _values(circuit: Circuit, batch_size: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        name: (torch.rand(batch_size, size, generator=g, dtype=torch.float64) * 2 - 1) * np.pi
        for name, size in circuit.parameters.items()
    }


@pytest.fixture(scope="module", params=DEVICES)
def backend(request) -> PennyLaneBackend:
    return PennyLaneBackend(request.param)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_circuits_agree_with_torch_backend(backend, seed):
    circuit = random_circuit(4, 6, seed, parameter_name="theta")
    values = _values(circuit, 3, seed)
    expected = TORCH.expval(circuit, OBSERVABLES, values)
    got = backend.expval(circuit, OBSERVABLES, values)
    assert got.shape == (3, len(OBSERVABLES)) and got.dtype == torch.float64
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)
    for qubits in (None, (2, 0), (3,)):
        torch.testing.assert_close(
            backend.probs(circuit, values, qubits=qubits),
            TORCH.probs(circuit, values, qubits=qubits),
            atol=1e-10,
            rtol=0,
        )
    state = backend.state(circuit, values)
    assert state.shape == (3, 16) and state.dtype == torch.complex128
    torch.testing.assert_close(state, TORCH.state(circuit, values), atol=1e-10, rtol=0)


@pytest.mark.parametrize("seed", [3, 4])
def test_constant_circuits_agree_with_reference(backend, seed):
    """Circuits with numeric angles (no parameters), against the dense numpy reference simulator."""
    circuit = random_circuit(4, 6, seed)
    expected = reference_state(circuit)
    got = backend.state(circuit)
    assert got.shape == (1, 16)
    np.testing.assert_allclose(got[0].numpy(), expected, atol=1e-10, rtol=0)


def test_unused_qubits_and_wider_device_instances():
    # Qubit 1 carries no gate; a device instance with extra, reordered wires still gives our order.
    circuit = Circuit(3).h(0).ry(0.4, 2)
    expected = torch.as_tensor(reference_state(circuit))[None]
    for device in ("default.qubit", qp.device("default.qubit"), qp.device("default.qubit", wires=[4, 2, 1, 0, 3])):
        got = PennyLaneBackend(device).state(circuit)
        torch.testing.assert_close(got, expected, atol=1e-12, rtol=0)


def test_broadcast_binding():
    # A (size,) binding with a (batch, size) one: every row of the output uses the shared vector.
    x, w = ParameterVector("x", 2), ParameterVector("w", 1)
    circuit = Circuit(2).ry(x[0] * w[0], 0).rx(x[1], 1).cz(0, 1)
    values = {"x": torch.tensor([[0.1, 0.2], [0.3, -0.4], [1.0, 2.0]], dtype=torch.float64), "w": [0.5]}
    torch.testing.assert_close(
        PennyLaneBackend().expval(circuit, [X(0), Z(1)], values), TORCH.expval(circuit, [X(0), Z(1)], values)
    )


def test_shots_within_five_sigma():
    circuit = random_circuit(3, 4, 5, parameter_name="theta")
    values = _values(circuit, 2, 5)
    shots = 4000
    backend = PennyLaneBackend(shots=shots, seed=123)
    # Several single Pauli strings in one tape: PennyLane 0.45 drops results for single-term qp.Hamiltonian
    # observables under shots, which the converter avoids (a column would go missing here).
    observables = [Z(0), Z(1), X(1) @ Y(2), Projector((0, 2), (1, 0))]
    exact = TORCH.expval(circuit, observables, values)
    got = backend.expval(circuit, observables, values)
    assert got.shape == (2, 4)
    # Pauli strings: Var = 1 - <P>^2; projectors: p (1 - p).
    variance = torch.cat([1 - exact[:, :3] ** 2, exact[:, 3:] * (1 - exact[:, 3:])], dim=1)
    sigma = (variance / shots).sqrt().clamp_min(1e-3)
    assert bool(((got - exact).abs() <= 5 * sigma).all()), (got, exact)
    assert not torch.equal(got, exact)  # it really sampled
    p_exact = TORCH.probs(circuit, values)
    p_got = backend.probs(circuit, values)
    sigma_p = (p_exact * (1 - p_exact) / shots).sqrt().clamp_min(1e-3)
    assert bool(((p_got - p_exact).abs() <= 5 * sigma_p).all())


def test_seeds_reproduce_shots():
    circuit = Circuit(2).h(0).ry(0.7, 1)
    first = PennyLaneBackend(shots=50, seed=7).expval(circuit, [Z(0), Z(1)])
    again = PennyLaneBackend(shots=50, seed=7).expval(circuit, [Z(0), Z(1)])
    other = PennyLaneBackend(shots=50, seed=8).expval(circuit, [Z(0), Z(1)])
    assert torch.equal(first, again) and not torch.equal(first, other)
    backend = PennyLaneBackend("lightning.qubit", seed=3)
    a = backend.sample(circuit, shots=64, generator=torch.Generator().manual_seed(1))
    b = backend.sample(circuit, shots=64, generator=torch.Generator().manual_seed(1))
    c = backend.sample(circuit, shots=64, generator=torch.Generator().manual_seed(2))
    assert torch.equal(a, b) and not torch.equal(a, c)


@pytest.mark.parametrize("device", DEVICES)
def test_samples_qubit_order_pinned(device):
    backend = PennyLaneBackend(device, seed=0)
    bits = backend.sample(Circuit(3).x(0), shots=5)
    assert bits.shape == (1, 5, 3) and bits.dtype == torch.int64
    assert bits[0].tolist() == [[1, 0, 0]] * 5
    bits = backend.sample(Circuit(3).x(0).x(1), shots=2, qubits=[2, 0])
    assert bits.tolist() == [[[0, 1], [0, 1]]]
    bits = backend.sample(Circuit(3).x(2), shots=1, qubits=[2])
    assert bits.tolist() == [[[1]]]


def test_samples_statistics_match_probabilities():
    theta = ParameterVector("theta", 2)
    circuit = Circuit(2).ry(theta[0], 0).ry(theta[1], 1)
    values = {"theta": torch.tensor([[0.4, 2.0], [1.5, 0.2]], dtype=torch.float64)}
    shots = 4000
    bits = PennyLaneBackend(seed=11).sample(circuit, values, shots=shots)
    assert bits.shape == (2, shots, 2)
    p1 = bits.double().mean(dim=1)  # probability of bit 1 per qubit
    expected = torch.sin(values["theta"] / 2) ** 2
    assert bool(((p1 - expected).abs() <= 5 * (expected * (1 - expected) / shots).sqrt()).all())


def _counting(device: qp.devices.Device) -> list[int]:
    """Wrap ``device.execute``; the returned list gets the number of tapes of each call."""
    calls: list[int] = []
    original = device.execute

    def execute(circuits, *args, **kwargs):
        calls.append(len(circuits))
        return original(circuits, *args, **kwargs)

    device.execute = execute
    return calls


@pytest.mark.parametrize("device", DEVICES)
def test_gradients_match_torch_autograd_in_one_device_call(device):
    x, w = ParameterVector("x", 3), ParameterVector("w", 6)
    circuit = (
        Circuit(3)
        .ry(x[0], 0)
        .ry(x[1], 1)
        .ry(x[2], 2)
        .append("u", (0,), (w[0] * x[0] + 0.1, w[1], w[5] - 0.3))
        .crx(w[2], 0, 1)
        .append("xx_plus_yy", (1, 2), (w[3], w[4] * x[1]))
        .rzz(w[5], 0, 2)
        .mcry(w[0], [0, 1], 2)
        .pauli_rot(w[1] - w[2], "XYZ", [2, 0, 1])
        .append("cu", (2, 0), (w[3], w[4], w[5], w[0]))
    )
    observables = [Z(0), X(1) @ Y(2) + 0.5 * Z(2), Projector((0, 1), (1, 0))]
    xv = (torch.rand(4, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) - 0.5) * 3
    wv = torch.linspace(-1.0, 1.2, 6, dtype=torch.float64)
    upstream = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)

    def gradients(backend):
        xs, ws = xv.clone().requires_grad_(), wv.clone().requires_grad_()
        out = backend.expval(circuit, observables, {"x": xs, "w": ws})
        return out, torch.autograd.grad((out * upstream).sum(), (xs, ws))

    backend = PennyLaneBackend(device)
    calls = _counting(backend.device_for(3))
    xs, ws = xv.clone().requires_grad_(), wv.clone().requires_grad_()
    out = backend.expval(circuit, observables, {"x": xs, "w": ws})
    assert calls == [4]  # forward: one call, one tape per binding
    grads = torch.autograd.grad((out * upstream).sum(), (xs, ws))
    assert len(calls) == 2  # backward: exactly one more device call, with every shifted circuit
    _, slots, rules = slot_circuit(circuit)
    assert len(slots) == 16 and calls[1] == 4 * sum(len(rule) for rule in rules)  # every shift of every binding
    expected_out, expected_grads = gradients(TORCH)
    torch.testing.assert_close(out, expected_out, atol=1e-10, rtol=0)
    for got, expected in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, expected, atol=1e-8, rtol=0)


def test_probability_and_random_circuit_gradients_with_tracker():
    circuit = random_circuit(3, 3, 9, parameter_name="theta", gates=["rx", "ry", "crz", "rzx", "u", "cp", "ecr", "r"])
    values = _values(circuit, 2, 9)
    backend = PennyLaneBackend()
    theta = values["theta"].clone().requires_grad_()
    with qp.Tracker(backend.device_for(3)) as tracker:
        probs = backend.probs(circuit, {"theta": theta}, qubits=[1, 2])
        forward_batches = tracker.totals["batches"]
        (grad,) = torch.autograd.grad(probs[:, 1].sum() - probs[:, 2].sum(), theta)
    assert forward_batches == 1 and tracker.totals["batches"] == 2
    theta_ref = values["theta"].clone().requires_grad_()
    ref = TORCH.probs(circuit, {"theta": theta_ref}, qubits=[1, 2])
    (grad_ref,) = torch.autograd.grad(ref[:, 1].sum() - ref[:, 2].sum(), theta_ref)
    torch.testing.assert_close(grad, grad_ref, atol=1e-8, rtol=0)


def test_evolution_gradient_uses_general_shift_rule():
    # exp(-i t H) with H of eigenvalues {-1, 0.5, 2}: frequencies 1.5, 2.5, 3 (a three-frequency rule).
    h = np.diag([-1.0, 0.5, 2.0, 0.5]).astype(complex)
    basis = np.linalg.qr(np.array([[1, 1, 0, 0], [1, -1, 1, 0], [0, 1, 1, 1], [1, 0, 0, -1]], dtype=complex))[0]
    t = ParameterVector("t", 1)
    circuit = Circuit(2).h(0).ry(0.3, 1).evolution(basis @ h @ basis.conj().T, t[0], [0, 1])
    tv = torch.tensor([[0.4], [-1.3]], dtype=torch.float64, requires_grad=True)
    out = PennyLaneBackend("lightning.qubit").expval(circuit, [X(0) @ Z(1), Y(1)], {"t": tv})
    (grad,) = torch.autograd.grad(out.sum(), tv)
    t_ref = tv.detach().clone().requires_grad_()
    (grad_ref,) = torch.autograd.grad(TORCH.expval(circuit, [X(0) @ Z(1), Y(1)], {"t": t_ref}).sum(), t_ref)
    torch.testing.assert_close(grad, grad_ref, atol=1e-8, rtol=0)


def test_samples_and_state_are_not_differentiable_but_run():
    theta = ParameterVector("theta", 1)
    circuit = Circuit(1).rx(theta[0], 0)
    value = torch.tensor([0.2], dtype=torch.float64, requires_grad=True)
    backend = PennyLaneBackend(seed=1)
    assert not backend.state(circuit, {"theta": value}).requires_grad
    assert backend.run(circuit, {"theta": value}, measurement=Samples(3)).shape == (1, 3, 1)


def test_measurement_objects_directly():
    circuit = Circuit(2).h(0).cx(0, 1)
    backend = PennyLaneBackend()
    expectation = backend.run(circuit, measurement=Expectation((Z(0) @ Z(1),)))
    torch.testing.assert_close(expectation, torch.tensor([[1.0]], dtype=torch.float64))
    probabilities = backend.run(circuit, measurement=Probabilities((1,)))
    torch.testing.assert_close(probabilities, torch.tensor([[0.5, 0.5]], dtype=torch.float64))
    assert backend.run(circuit, measurement=StateVector()).shape == (1, 4)


# -- validation -----------------------------------------------------------------------------


def test_unknown_device_name():
    with pytest.raises(
        ValueError, match=r"Unknown PennyLane device 'lightning\.qbit'\. Installed devices: .*default\.qubit"
    ):
        PennyLaneBackend("lightning.qbit")
    with pytest.raises(ValueError, match=r"PennyLane devices are installed as plugins"):
        PennyLaneBackend("no.such.device")
    assert "lightning.qubit" in installed_devices()


def test_device_type_error():
    with pytest.raises(TypeError, match=r"device must be a PennyLane device name .* got int"):
        PennyLaneBackend(3)


def test_bad_device_options():
    with pytest.raises(BackendUnavailableError, match=r"could not create device 'default\.qubit'.*nonsense"):
        PennyLaneBackend("default.qubit", device_options={"nonsense": 1})
    with pytest.raises(ValueError, match=r"device_options may not set \['seed', 'wires'\]"):
        PennyLaneBackend(device_options={"wires": 3, "seed": 1})
    with pytest.raises(ValueError, match=r"device_options apply to devices created by name"):
        PennyLaneBackend(qp.device("default.qubit"), device_options={"max_workers": 1})
    with pytest.raises(ValueError, match=r"seed applies to devices created by name"):
        PennyLaneBackend(qp.device("default.qubit"), seed=1)


def test_bad_shots_and_seed():
    with pytest.raises(ValueError, match=r"shots must be a positive int, got 0"):
        PennyLaneBackend(shots=0)
    with pytest.raises(TypeError, match=r"shots must be a positive int, got 1\.5"):
        PennyLaneBackend(shots=1.5)
    with pytest.raises(TypeError, match=r"seed must be an int or None, got '1'"):
        PennyLaneBackend(seed="1")


def test_device_instance_without_enough_wires():
    backend = PennyLaneBackend(qp.device("default.qubit", wires=2))
    with pytest.raises(ValueError, match=r"The device has wires \[0, 1\], but a 3-qubit circuit uses wires 0\.\.2"):
        backend.probs(Circuit(3).h(2))


def test_options_are_frozen_and_repr():
    backend = PennyLaneBackend("lightning.qubit", shots=10, seed=2)
    assert backend.options == PennyLaneOptions("lightning.qubit", 10, 2, {})
    with pytest.raises(AttributeError):
        backend.options.shots = 5
    with pytest.raises(TypeError):
        backend.options.device_options["x"] = 1
    assert repr(backend) == "PennyLaneBackend('lightning.qubit', shots=10, seed=2)"


def test_a_forward_pass_sends_no_shifted_circuit(monkeypatch):
    """Weights that require grad, no backward (even inside a marked training step): forward tapes only."""
    from circuits.gradients import training_step

    backend = PennyLaneBackend("default.qubit")
    rows: list[int] = []
    execute = backend._execute
    monkeypatch.setattr(backend, "_execute", lambda d, c, v, b, m: rows.append(b) or execute(d, c, v, b, m))
    theta = ParameterVector("theta", 2)
    circuit = Circuit(2).ry(theta[0], 0).cx(0, 1).rx(theta[1], 1)
    weights = torch.tensor([0.3, -0.7], dtype=torch.float64, requires_grad=True)
    backend.expval(circuit, [Z(0), X(1)], {"theta": weights.expand(4, 2)})
    with training_step():
        out = backend.expval(circuit, [Z(0), X(1)], {"theta": weights.expand(4, 2)})
    assert rows == [4, 4]
    out.sum().backward()
    assert rows[2] == 4 * 2 * 2 and weights.grad is not None  # the backward: 2 slots x 2 shifts x 4 bindings


def test_huge_shot_counts_are_refused_before_the_device_samples():
    circuit = Circuit(2).h(0).cx(0, 1)
    with pytest.raises(SimulationMemoryError, match=r"PennyLaneBackend\('default.qubit'\): 1000000000000 shots"):
        PennyLaneBackend("default.qubit", shots=10**12).expval(circuit, [Z(0)])
    theta = ParameterVector("theta", 1)
    batch_of_three = {"theta": torch.tensor([[0.1], [0.2], [0.3]], dtype=torch.float64)}
    with pytest.raises(SimulationMemoryError, match=r"Samples\(shots=1000000000000\) of 1 qubit\(s\) for a batch of 3"):
        PennyLaneBackend("default.qubit").sample(Circuit(1).ry(theta[0], 0), batch_of_three, shots=10**12)
