"""``ProviderBackend``: the Backend protocol through the job runner, on a scripted provider.

Exact results equal our engine; sampled ones agree within shot noise; a training step of a model with
P trainable parameters sends exactly one submission; bad input is refused before anything is sent.
"""

from __future__ import annotations

import math

import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, X, Y, Z
from circuits.gradients import training_step
from circuits.ir.observables import Projector
from circuits.library import data_reuploading
from circuits.testing import random_circuit
from hardware.backend import ProviderBackend, derive_seed
from hardware.errors import DeviceTooSmallError
from hardware.journal import Journal
from hardware.providers.scripted import ScriptedProvider
from qml import QuantumLayer


def _backend(tmp_path, shots=None, **options) -> tuple[ProviderBackend, ScriptedProvider]:
    provider = ScriptedProvider(state_dir=tmp_path / "service", num_qubits=options.pop("num_qubits", 5))
    backend = ProviderBackend(
        provider, shots=shots, journal=Journal(tmp_path / "journal.sqlite"), poll_interval=0.001, log=None, **options
    )
    return backend, provider


def test_exact_results_and_gradients_equal_our_engine(tmp_path):
    backend, provider = _backend(tmp_path)
    circuit = random_circuit(3, depth=6, seed=2, parameter_name="theta")
    theta = torch.rand(2, circuit.parameters["theta"], dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    observables = [Z(0), X(1) @ Y(2), 0.5 * Z(2) + 0.25, Projector((0, 2), (1, 0))]
    leaf = theta.clone().requires_grad_()
    with training_step():
        got = backend.expval(circuit, observables, {"theta": leaf})
        (grad,) = torch.autograd.grad(got.sum(), leaf)
    expected = TorchBackend(dtype=torch.complex128).expval(circuit, observables, {"theta": theta})
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)
    reference = theta.clone().requires_grad_()
    (expected_grad,) = torch.autograd.grad(
        TorchBackend(dtype=torch.complex128).expval(circuit, observables, {"theta": reference}).sum(), reference
    )
    torch.testing.assert_close(grad, expected_grad, atol=1e-9, rtol=0)
    assert len(provider.submissions()) == 1  # forward and every shifted circuit in one job
    probs = backend.probs(circuit, {"theta": theta}, qubits=[2, 0])  # exact probabilities too
    expected_probs = TorchBackend(dtype=torch.complex128).probs(circuit, {"theta": theta}, qubits=[2, 0])
    torch.testing.assert_close(probs, expected_probs, atol=1e-10, rtol=0)


def test_sampled_expectations_and_probabilities_within_shot_noise(tmp_path):
    shots = 20000
    backend, _ = _backend(tmp_path, shots=shots, seed=3)
    x = ParameterVector("x", 2)
    circuit = Circuit(2).ry(x[0], 0).cx(0, 1).rx(x[1], 1)
    values = {"x": torch.tensor([[0.4, 1.1], [2.0, -0.3]], dtype=torch.float64)}
    observables = [Z(0), X(1), Y(0) @ Z(1), Z(0) @ Z(1)]
    exact = TorchBackend(dtype=torch.complex128).expval(circuit, observables, values)
    sampled = backend.expval(circuit, observables, values)
    assert bool(((sampled - exact).abs() <= 5 / math.sqrt(shots)).all())
    probs = backend.probs(circuit, values, qubits=[1, 0])
    exact_probs = TorchBackend(dtype=torch.complex128).probs(circuit, values, qubits=[1, 0])
    assert bool(((probs - exact_probs).abs() <= 5 * 0.5 / math.sqrt(shots)).all())


def test_a_training_step_sends_exactly_one_submission(tmp_path):
    backend, provider = _backend(tmp_path, shots=200, seed=0)
    circuit = data_reuploading(3, 2, inputs="x", weights="w")
    layer = QuantumLayer(circuit, [Z(0), Z(1) @ Z(2)], backend, generator=torch.Generator().manual_seed(0))
    trainable = sum(p.numel() for p in layer.parameters())
    assert trainable >= 12
    optimizer = torch.optim.SGD(layer.parameters(), lr=0.1)
    inputs = torch.rand(4, 3, generator=torch.Generator().manual_seed(1))
    for step in range(2):
        before = len(provider.submissions())
        optimizer.zero_grad()
        with training_step():
            layer(inputs).sum().backward()
        optimizer.step()
        assert len(provider.submissions()) == before + 1, f"step {step}"
    assert all(p.grad is not None and bool(p.grad.abs().sum() > 0) for p in layer.parameters())


def test_rerunning_the_same_steps_reuses_the_journal(tmp_path):
    """A script run twice (same seeds, same data) pays for its jobs once: the second run reads the journal."""
    for _ in range(2):
        backend, provider = _backend(tmp_path, shots=100, seed=7)
        circuit = data_reuploading(2, 1, inputs="x", weights="w")
        layer = QuantumLayer(circuit, [Z(0)], backend, generator=torch.Generator().manual_seed(0))
        with training_step():
            layer(torch.rand(3, 2, generator=torch.Generator().manual_seed(2))).sum().backward()
    assert len(provider.submissions()) == 1


def test_seeds_differ_per_step_and_rank_and_zero_is_a_seed():
    assert derive_seed(0, 0, 0) != derive_seed(0, 0, 1) != derive_seed(0, 1, 0)
    assert derive_seed(0, 0, 0) == derive_seed(0, 0, 0) and 0 <= derive_seed(0, 0, 0) < 2**31


def test_bad_input_is_refused_before_sending(tmp_path):
    backend, provider = _backend(tmp_path, num_qubits=2)
    with pytest.raises(DeviceTooSmallError, match="circuit needs 3 qubits but scripted:sim has 2"):
        backend.expval(Circuit(3).h(2), [Z(0)])
    with pytest.raises(ValueError, match="not state vectors"):
        backend.state(Circuit(1).h(0))
    with pytest.raises(ValueError, match="shots must be a positive int or None"):
        ProviderBackend(provider, shots=0, journal=Journal(tmp_path / "j2.sqlite"))
    assert provider.submissions() == []


def test_a_qkan_layer_runs_on_a_device_unchanged(tmp_path):
    """The DARUAN circuits of every (sample, edge) as one submission; equal to the fast path (exact device)."""
    from qml.kan import QKANLayer

    backend, provider = _backend(tmp_path)
    fast = QKANLayer(2, 2, reps=2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    on_device = QKANLayer(2, 2, reps=2, backend=backend, dtype=torch.float64)
    on_device.load_state_dict(fast.state_dict())
    x = torch.tensor([[0.3, -0.8], [1.2, 0.1], [-0.5, 0.4]], dtype=torch.float64)
    torch.testing.assert_close(on_device(x), fast(x), atol=1e-10, rtol=0)
    assert len(provider.submissions()) == 1


def test_readout_mitigation_through_the_backend_on_a_noisy_device(tmp_path):
    """A Bell pair's <ZZ> on a fake device's noise: mitigation removes most of the readout bias."""
    pytest.importorskip("qiskit_ibm_runtime")
    circuit = Circuit(2).h(0).cx(0, 1)
    values = {}
    results = {}
    for mitigation in (False, True):
        backend = ProviderBackend(
            "qiskit:aer_noise:fake_manila",
            shots=20000,
            seed=4,
            mitigation=mitigation,
            journal=Journal(tmp_path / f"j{mitigation}.sqlite"),
            log=lambda line: None,
        )
        results[mitigation] = float(backend.expval(circuit, [Z(0) @ Z(1)], values)[0, 0])
    raw, mitigated = 1 - results[False], 1 - results[True]
    assert raw > 0.02  # the device's readout (and gate) errors bias <ZZ> below 1
    assert mitigated < raw / 2, (results, "mitigation should remove most of the readout part of the bias")
