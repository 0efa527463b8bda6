"""The quantum neuron's fast path against its circuit (engine and Aer, postselected), the closed-form activation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import Circuit, TorchBackend
from circuits.library import neuron_ancilla_count, neuron_weight_count, quantum_neuron
from qml.recurrent import apply_quantum_neuron, neuron_activation, neuron_factors

REF = TorchBackend(dtype=torch.complex128)


def _random_unitary(dim: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim)))
    return q * (np.diag(r) / np.abs(np.diag(r)))


def _circuit_output(backend, lanes, sources, target, order, degree, unitary, weights, bias):
    """Prepare U|0> on the lanes, run the neuron circuit, project the ancillas onto |0>: (state, probability)."""
    width = lanes + neuron_ancilla_count(order)
    circuit = Circuit(width).unitary(unitary, list(range(lanes)))
    circuit = circuit.compose(
        quantum_neuron(width, sources, target, list(range(lanes, width)), order=order, degree=degree)
    )
    state = backend.state(circuit, {"phi": weights, "theta": [bias]})[0].numpy()
    kept = state.reshape(2**lanes, -1)[:, 0]
    probability = float(np.vdot(kept, kept).real)
    return kept / math.sqrt(probability), probability


CASES = [
    # (lanes, sources or None for "every other qubit", target, order, degree)
    (3, None, 1, 1, 2),
    (4, None, 3, 2, 2),
    (4, [3, 0], 1, 2, 2),
    (4, [2], 0, 3, 1),
    (3, None, 0, 3, 2),
]


@settings(max_examples=10, deadline=None)
@given(case=st.sampled_from(CASES), seed=st.integers(0, 2**32 - 1))
def test_fast_path_equals_the_postselected_circuit_on_the_engine(case, seed):
    lanes, sources, target, order, degree = case
    rng = np.random.default_rng(seed)
    read = [q for q in range(lanes) if q != target] if sources is None else sources
    unitary = _random_unitary(2**lanes, rng)
    weights = rng.normal(0.0, 1.5, size=neuron_weight_count(len(read), degree))
    bias = float(rng.normal())
    expected, probability = _circuit_output(REF, lanes, read, target, order, degree, unitary, weights, bias)
    state = torch.from_numpy(unitary[:, 0].copy()).reshape(1, *[2] * lanes)
    got, kept = apply_quantum_neuron(
        state, target, torch.from_numpy(weights), bias, order=order, degree=degree, sources=sources
    )
    np.testing.assert_allclose(got.reshape(-1).numpy(), expected, atol=1e-10)
    assert float(kept) == pytest.approx(probability, abs=1e-12)


@pytest.mark.parametrize("case", CASES[1:4])
def test_fast_path_in_single_precision_equals_the_postselected_circuit_on_aer(case):
    aer = pytest.importorskip("circuits.backends.aer").AerBackend()
    lanes, sources, target, order, degree = case
    rng = np.random.default_rng(11)
    read = [q for q in range(lanes) if q != target] if sources is None else sources
    unitary = _random_unitary(2**lanes, rng)
    weights = rng.normal(0.0, 1.5, size=neuron_weight_count(len(read), degree))
    bias = float(rng.normal())
    expected, probability = _circuit_output(aer, lanes, read, target, order, degree, unitary, weights, bias)
    state = torch.from_numpy(unitary[:, 0].copy()).to(torch.complex64).reshape(1, *[2] * lanes)
    got, kept = apply_quantum_neuron(
        state,
        target,
        torch.from_numpy(weights).float(),
        torch.tensor(bias),
        order=order,
        degree=degree,
        sources=sources,
    )
    np.testing.assert_allclose(got.reshape(-1).numpy(), expected, atol=1e-6)
    assert float(kept) == pytest.approx(probability, abs=1e-6)


@pytest.mark.parametrize("order", [1, 2, 3])
def test_activation_is_arctan_of_tan_to_the_power_two_to_the_k(order):
    eta = torch.linspace(-1.4, 1.4, 57, dtype=torch.float64)
    closed = torch.atan(torch.tan(eta) ** (2**order))
    torch.testing.assert_close(neuron_activation(eta, order), closed, rtol=0, atol=1e-12)
    cos, sin = neuron_factors(eta, order)
    torch.testing.assert_close(torch.atan2(sin, cos), closed, rtol=0, atol=1e-12)


def test_activation_is_a_step_at_pi_over_4_that_sharpens_with_the_order():
    eta = torch.tensor([math.pi / 4 - 0.2, math.pi / 4, math.pi / 4 + 0.2], dtype=torch.float64)
    rises = []
    for order in (1, 2, 3):
        f = neuron_activation(eta, order)
        assert float(f[1]) == pytest.approx(math.pi / 4)
        assert float(f[0]) < math.pi / 4 < float(f[2])
        rises.append(float(f[2] - f[0]))
    assert rises[0] < rises[1] < rises[2]


def test_fast_path_on_batched_basis_states_rotates_the_target_by_the_activation():
    """Batch of 4 basis states of two sources; the target (|0>) ends at angle f(eta(x)) for each."""
    weights, bias = torch.tensor([0.3, -0.8, 1.2], dtype=torch.float64), torch.tensor(0.1, dtype=torch.float64)
    states = torch.zeros(4, 2, 2, 2, dtype=torch.float64)
    bits = [(0, 0), (0, 1), (1, 0), (1, 1)]
    for row, (a, b) in enumerate(bits):
        states[row, a, b, 0] = 1.0
    out, kept = apply_quantum_neuron(states, 2, weights, bias, order=2, degree=2)
    for row, (a, b) in enumerate(bits):
        eta = 0.5 * (0.3 * a - 0.8 * b + 1.2 * a * b + 0.1 + math.pi / 2)
        f = math.atan(math.tan(eta) ** 4)
        torch.testing.assert_close(out[row, a, b], torch.tensor([math.cos(f), math.sin(f)], dtype=torch.float64))
        assert float(kept[row]) == pytest.approx(math.cos(eta) ** 8 + math.sin(eta) ** 8)


def test_fast_path_is_differentiable_against_finite_differences():
    generator = torch.Generator().manual_seed(3)
    state = torch.randn(2, 2, 2, 2, generator=generator, dtype=torch.float64)
    state = state / state.flatten(1).norm(dim=1).reshape(2, 1, 1, 1)
    weights = torch.randn(3, generator=generator, dtype=torch.float64, requires_grad=True)
    bias = torch.tensor(0.2, dtype=torch.float64, requires_grad=True)

    def f(s, w, b):
        out, kept = apply_quantum_neuron(s, 0, w, b, order=2, degree=2)
        return out, kept

    assert torch.autograd.gradcheck(f, (state.requires_grad_(True), weights, bias))


def test_bad_arguments_name_the_problem():
    state = torch.zeros(1, 2, 2, 2)
    weights = torch.zeros(3)
    with pytest.raises(ValueError, match=r"order must be in 1\.\.6 .* got 7"):
        apply_quantum_neuron(state, 0, weights, torch.tensor(0.0), order=7)
    with pytest.raises(ValueError, match=r"order must be in 1\.\.6 .* got 0"):
        neuron_factors(torch.zeros(2), 0)
    with pytest.raises(ValueError, match=r"degree is the largest source subset .* in 1\.\.2 .* got 3"):
        apply_quantum_neuron(state, 0, weights, torch.tensor(0.0), degree=3)
    with pytest.raises(ValueError, match=r"has 3 weights .* got weights of shape \(2,\)"):
        apply_quantum_neuron(state, 0, torch.zeros(2), torch.tensor(0.0))
    with pytest.raises(ValueError, match=r"shape \(B, 2, \.\.\., 2\) .* got \(1, 8\)"):
        apply_quantum_neuron(torch.zeros(1, 8), 0, weights, torch.tensor(0.0))
    with pytest.raises(ValueError, match=r"target must be a qubit index in 0\.\.2, got 3"):
        apply_quantum_neuron(state, 3, weights, torch.tensor(0.0))
    with pytest.raises(ValueError, match=r"sources must be distinct qubits other than the target 0"):
        apply_quantum_neuron(state, 0, torch.zeros(1), torch.tensor(0.0), degree=1, sources=[0])
    with pytest.raises(TypeError, match=r"needs a torch.Tensor state, got list"):
        apply_quantum_neuron([0.0], 0, weights, torch.tensor(0.0))


@pytest.mark.parametrize("shots", [None, 20000])
def test_deferred_postselection_runs_through_provider_backend(tmp_path, shots):
    """docs/qrnn.md, option 2: send the neuron circuit to a device, keep the shots with every ancilla at 0."""
    from hardware.backend import ProviderBackend
    from hardware.journal import Journal
    from hardware.providers.scripted import ScriptedProvider

    provider = ScriptedProvider(state_dir=tmp_path / "service", num_qubits=5)
    device = ProviderBackend(provider, shots=shots, journal=Journal(tmp_path / "journal.sqlite"), poll_interval=0.001)
    lanes, order = 3, 1
    width = lanes + neuron_ancilla_count(order)
    circuit = Circuit(width).ry(1.1, 0).ry(-0.4, 2).cx(0, 2)  # a superposition of the two sources
    circuit = circuit.compose(quantum_neuron(width, [0, 2], 1, [3], order=order, degree=2))
    weights, bias = [0.9, -1.3, 2.0], 0.3
    probs = device.probs(circuit, {"phi": weights, "theta": [bias]}).double()
    kept = probs.reshape(1, 2**lanes, 2 ** (width - lanes))[:, :, 0]
    success = kept.sum(dim=1)
    prepared = REF.state(Circuit(lanes).ry(1.1, 0).ry(-0.4, 2).cx(0, 2)).reshape(1, 2, 2, 2)
    state, probability = apply_quantum_neuron(prepared, 1, torch.tensor(weights, dtype=torch.float64), bias, order=1)
    expected = state.abs().square().reshape(1, -1)
    tolerance = 1e-8 if shots is None else 0.02
    torch.testing.assert_close(kept / success, expected, rtol=0, atol=tolerance)
    torch.testing.assert_close(success, probability, rtol=0, atol=tolerance)
