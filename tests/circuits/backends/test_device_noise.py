"""A fake IBM device's calibrated noise for our engines (circuits.backends.device_noise)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from circuits import Circuit, TorchBackend, Z
from circuits.errors import BackendUnavailableError

pytest.importorskip("qiskit_ibm_runtime", reason="the fake devices come with qiskit-ibm-runtime (the ibm extra)")

from circuits.backends.device_noise import device_noise, fake_backend


@pytest.fixture(scope="module")
def manila():
    return device_noise("fake_manila")


def test_manila_is_read_with_its_gates_chain_and_readout_errors(manila) -> None:
    assert (manila.name, manila.num_qubits) == ("fake_manila", 5)
    assert set(manila.basis_gates) == {"cx", "id", "rz", "sx", "x"}
    assert {(0, 1), (1, 0), (3, 4)} <= set(manila.coupling_map) and (0, 4) not in manila.coupling_map
    assert manila.dropped == ("reset",)
    assert manila.noise_model.ideal_gates == {"rz"}
    assert {gate for gate, _ in manila.noise_model.qubit_errors} >= {"sx", "cx"}
    facts = manila.facts()
    assert facts["readout_errors"]["2"]["p1_given_0"] == pytest.approx(0.0964)
    assert 0.005 < facts["gate_errors"]["cx"]["1,2"] < 0.05


def test_recorded_z_is_z_estimated_through_the_readout_error(manila) -> None:
    """Exact <recorded_z(q)> equals P(0) - P(1) of the readout-corrupted distribution, which our engine gives."""
    circuit = Circuit(5).sx(0).rz(0.7, 0).sx(0).cx(0, 1).sx(2).rz(1.9, 2).cx(2, 3).sx(4).cx(3, 4).cx(1, 2)
    backend = TorchBackend(dtype=torch.complex128, noise_model=manila.noise_model)
    recorded = backend.expval(circuit, [manila.recorded_z(q) for q in range(5)])[0]
    for q in range(5):
        probs = backend.probs(circuit, qubits=[q])[0]  # readout errors apply to measured outcomes
        assert float(recorded[q]) == pytest.approx(float(probs[0] - probs[1]), abs=1e-12)
    exact = backend.expval(circuit, [Z(q) for q in range(5)])[0]
    assert not torch.allclose(recorded, exact, atol=1e-3)  # the readout errors matter


def test_the_aer_target_agrees_with_our_engine_on_the_device_noise(manila) -> None:
    circuit = Circuit(5).sx(0).rz(0.3, 0).sx(0).cx(0, 1).sx(1).cx(1, 2).rz(2.1, 2).sx(2).cx(2, 3).cx(3, 4)
    observables = [manila.recorded_z(q) for q in range(5)]
    ours = TorchBackend(dtype=torch.complex128, noise_model=manila.noise_model).expval(circuit, observables)
    aer = manila.aer_backend().expval(circuit, observables)
    np.testing.assert_allclose(aer.numpy(), ours.numpy(), atol=1e-9, rtol=0)


def test_unknown_fake_devices_and_wrong_types_are_refused() -> None:
    with pytest.raises(BackendUnavailableError, match=r"No fake device named 'fake_nowhere'; .*fake_manila"):
        fake_backend("fake_nowhere")
    with pytest.raises(TypeError, match="device_noise takes a fake device name such as 'fake_manila'"):
        device_noise(42)
