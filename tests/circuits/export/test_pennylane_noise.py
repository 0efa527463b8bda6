"""Our noise channels exported to PennyLane, checked on ``default.mixed`` against our dense reference and engine."""

from __future__ import annotations

import numpy as np
import pennylane as qp
import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, Z
from circuits.backends.pennylane import PennyLaneBackend
from circuits.errors import InvalidChannelError, UnsupportedChannelError
from circuits.export.pennylane import circuit_to_qfunc, operation_to_pennylane
from circuits.ir.channels import CHANNELS, KrausData
from circuits.ir.operation import Operation
from circuits.sim.reference import reference_density_matrix
from circuits.testing import random_channel_params, random_kraus, random_noisy_circuit

ATOL = 1e-10


def _mixed_density(circuit: Circuit, values: dict | None = None) -> np.ndarray:
    dev = qp.device("default.mixed", wires=circuit.num_qubits)
    wires = list(range(circuit.num_qubits))
    node = qp.QNode(lambda: (circuit_to_qfunc(circuit)(values), qp.density_matrix(wires=wires))[1], dev)
    return np.asarray(node())


def _channel(name: str, width: int, rng: np.random.Generator) -> Operation:
    if name == "kraus":
        return Operation("kraus", tuple(range(width)), (), KrausData(random_kraus(width, 3, rng)))
    return Operation(name, tuple(range(width)), random_channel_params(name, rng, width))


WIDTHS = [(name, 1) for name in sorted(CHANNELS)] + [("depolarizing", 2), ("kraus", 2)]


@pytest.mark.parametrize(("name", "width"), WIDTHS, ids=[f"{n}-{w}q" for n, w in WIDTHS])
@pytest.mark.parametrize("seed", [0, 1])
def test_each_channel_on_default_mixed_equals_our_reference(name: str, width: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    # a state with populations and coherences on every qubit, then the channel on the first `width` qubits
    circuit = Circuit(2).ry(0.7, 0).rx(1.1, 1).cx(0, 1).rz(0.4, 1)
    circuit = Circuit(2, [*circuit.operations, _channel(name, width, rng)])
    np.testing.assert_allclose(_mixed_density(circuit), reference_density_matrix(circuit), atol=ATOL, rtol=0)


def test_native_pennylane_channels_carry_the_converted_parameters() -> None:
    def names(op: Operation) -> list[tuple[str, list[float]]]:
        converted = operation_to_pennylane(op, [p.value() for p in op.params])
        return [(o.name, [float(d) for d in o.data]) for o in converted]

    assert names(Operation("depolarizing", (0,), (0.4,))) == [("DepolarizingChannel", [pytest.approx(0.3)])]
    assert names(Operation("thermal_relaxation", (0,), (5.0, 7.0, 0.5, 0.1))) == [
        ("ThermalRelaxationError", [0.1, 5.0, 7.0, 0.5])
    ]
    assert names(Operation("amplitude_damping", (0,), (0.2,))) == [("AmplitudeDamping", [0.2])]
    two = operation_to_pennylane(Operation("depolarizing", (0, 1), (0.4,)), [0.4])
    assert [o.name for o in two] == ["QubitChannel"] and len(two[0].data) == 16


@pytest.mark.parametrize("seed", range(4))
def test_random_noisy_circuits_on_default_mixed_equal_our_density_matrix_engine(seed: int) -> None:
    circuit = random_noisy_circuit(3, 4, seed)
    ours = TorchBackend(dtype=torch.complex128, method="density_matrix").probs(circuit)
    theirs = PennyLaneBackend("default.mixed").probs(circuit)
    torch.testing.assert_close(theirs, ours, atol=ATOL, rtol=0)


def test_parameter_shift_through_noise_on_default_mixed_equals_autograd_on_our_engine() -> None:
    theta = ParameterVector("theta", 3)
    circuit = (
        Circuit(2)
        .ry(theta[0], 0)
        .amplitude_damping(0.3, 0)
        .cx(0, 1)
        .depolarizing(0.2, [0, 1])
        .rx(theta[1], 1)
        .thermal_relaxation(2.0, 3.0, 0.5, 1, excited_state_population=0.1)
        .crz(theta[2], 1, 0)
        .phase_damping(0.25, 0)
    )
    values = torch.tensor([[0.3, -1.2, 0.8], [1.4, 0.5, -0.6]], dtype=torch.float64)
    observables = [Z(0), Z(0) @ Z(1)]
    grads = []
    for backend in (TorchBackend(dtype=torch.complex128), PennyLaneBackend("default.mixed")):
        x = values.clone().requires_grad_(True)
        out = backend.expval(circuit, observables, {"theta": x})
        (out * torch.tensor([1.0, -0.5], dtype=torch.float64)).sum().backward()
        grads.append((out.detach(), x.grad))
    torch.testing.assert_close(grads[1][0], grads[0][0], atol=ATOL, rtol=0)
    torch.testing.assert_close(grads[1][1], grads[0][1], atol=1e-8, rtol=0)


def test_symbolic_noise_strength_backpropagates_through_default_mixed() -> None:
    """Torch strengths make torch Kraus operators (QubitChannel too), which default.mixed differentiates."""
    p = ParameterVector("p", 3)
    circuit = (
        Circuit(2)
        .h(0)
        .cx(0, 1)
        .depolarizing(p[0], 0)
        .pauli_channel(p[1], 0.5 * p[1], p[2], 1)
        .depolarizing(p[2], [0, 1])
        .ry(0.4, 1)
        .amplitude_damping(p[1], 1)
    )
    value = torch.tensor([0.2, 0.1, 0.3], dtype=torch.float64)
    observable = Z(0) @ Z(1) + 0.5 * Z(1)
    x = value.clone().requires_grad_(True)
    ours = TorchBackend(dtype=torch.complex128, method="density_matrix").expval(circuit, observable, {"p": x[None]})
    ours.sum().backward()
    dev = qp.device("default.mixed", wires=2)

    @qp.qnode(dev, interface="torch", diff_method="backprop")
    def theirs(strengths: torch.Tensor) -> torch.Tensor:
        circuit_to_qfunc(circuit)({"p": strengths})
        return qp.expval(qp.Z(0) @ qp.Z(1) + 0.5 * qp.Z(1))

    y = value.clone().requires_grad_(True)
    result = theirs(y)
    result.backward()
    torch.testing.assert_close(result.detach(), ours.detach()[0, 0], atol=ATOL, rtol=0)
    torch.testing.assert_close(y.grad, x.grad, atol=1e-9, rtol=0)


def test_a_state_vector_device_refuses_channels_and_names_mixed_devices() -> None:
    with pytest.raises(UnsupportedChannelError, match=r"'default.qubit' cannot run the noise channels \['bit_flip'\]"):
        PennyLaneBackend("default.qubit").probs(Circuit(1).h(0).bit_flip(0.1, 0))


def test_noisy_circuits_have_no_state_vector() -> None:
    with pytest.raises(UnsupportedChannelError, match="mixed state, which has no state vector"):
        PennyLaneBackend("default.mixed").state(Circuit(1).h(0).bit_flip(0.1, 0))


def test_a_bound_strength_out_of_range_gets_our_message() -> None:
    p = ParameterVector("p", 1)
    with pytest.raises(InvalidChannelError, match=r"Channel 'bit_flip': p must be a probability in \[0, 1\], got 1\.5"):
        PennyLaneBackend("default.mixed").probs(Circuit(1).bit_flip(p[0], 0), {"p": [[1.5]]})
