"""One contract, every backend: shapes, dtypes, agreement, gradients, seeds and errors.

A new backend enrols by adding a factory to ``BACKENDS``. The oracle is the dense numpy
reference simulator (``circuits.sim.reference``); gradients are checked against central
finite differences of the backend itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import GATES, Circuit, ParameterVector, Projector, TorchBackend, X, Y, Z
from circuits.backend import Backend
from circuits.backends.aer import AerBackend
from circuits.backends.pennylane import PennyLaneBackend
from circuits.errors import BindingError, NonFiniteAngleError, QubitIndexError, UnboundParameterError
from circuits.sim.reference import reference_expectation, reference_probabilities, reference_state
from circuits.testing import random_circuit, random_gate_data


def _device_backend() -> Backend:
    """``hardware.ProviderBackend`` on an exact scripted device: the whole hardware path (Qiskit export,
    submission, journal, provider) in a throw-away journal and service directory."""
    import tempfile

    from hardware.backend import ProviderBackend
    from hardware.journal import Journal
    from hardware.providers.scripted import ScriptedProvider

    where = tempfile.mkdtemp(prefix="qmlh-conformance-")
    provider = ScriptedProvider(state_dir=f"{where}/service", num_qubits=5)
    return ProviderBackend(provider, shots=None, journal=Journal(f"{where}/journal.sqlite"), log=lambda line: None)


BACKENDS = {
    "torch-c128": lambda: TorchBackend(dtype=torch.complex128),
    "torch-c64-adjoint": lambda: TorchBackend(diff_method="adjoint"),
    "aer-statevector": lambda: AerBackend(),
    "aer-mps": lambda: AerBackend(method="matrix_product_state"),
    "pennylane-default": lambda: PennyLaneBackend("default.qubit"),
    "pennylane-lightning": lambda: PennyLaneBackend("lightning.qubit"),
    "device-scripted": _device_backend,
}
EXACT_TOL = {"torch-c64-adjoint": 1e-5}


@pytest.fixture(params=sorted(BACKENDS), ids=sorted(BACKENDS))
def backend_case(request) -> tuple[str, Backend]:
    return request.param, BACKENDS[request.param]()


def _circuit() -> Circuit:
    x, w = ParameterVector("x", 3), ParameterVector("w", 5)
    return (
        Circuit(3)
        .ry(x[0], 0)
        .ry(x[1], 1)
        .rx(x[2], 2)
        .cx(0, 1)
        .crz(w[0], 1, 2)
        .rz(0.5 * w[1] * x[0] + 0.1, 0)
        .h(2)
        .rzz(w[2], 0, 2)
        .u(w[3], 0.2, w[4], 1)
        .cz(2, 0)
    )


OBSERVABLES = [Z(0), X(1) @ Y(2), 0.5 * Z(2) - 0.25 * X(0) + 0.1, Projector.from_bitstring("10", qubits=(0, 2))]


def _values(batch: int) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(11)
    return {
        "x": torch.rand(batch, 3, generator=gen, dtype=torch.float64) * 3,
        "w": torch.rand(5, generator=gen, dtype=torch.float64) * 3,
    }


def test_expectations_probabilities_and_states_match_the_reference(backend_case):
    name, backend = backend_case
    circuit, values = _circuit(), _values(3)
    tol = EXACT_TOL.get(name, 1e-8)
    expvals = backend.expval(circuit, OBSERVABLES, values)
    probs = backend.probs(circuit, values, qubits=(2, 0))
    assert expvals.shape == (3, len(OBSERVABLES)) and probs.shape == (3, 4)
    assert expvals.dtype.is_floating_point and not expvals.requires_grad
    for b in range(3):
        row = {"x": values["x"][b].numpy(), "w": values["w"].numpy()}
        state = reference_state(circuit, row)
        expected = [reference_expectation(state, o, 3) for o in OBSERVABLES]
        np.testing.assert_allclose(expvals[b].double().numpy(), expected, atol=tol)
        np.testing.assert_allclose(probs[b].double().numpy(), reference_probabilities(state, 3, (2, 0)), atol=tol)


def test_gradients_match_finite_differences(backend_case):
    name, backend = backend_case
    circuit, values = _circuit(), _values(2)
    w = values["w"].clone().requires_grad_()
    weights = torch.tensor([1.0, -0.5, 2.0, 0.7], dtype=torch.float64)
    loss = (backend.expval(circuit, OBSERVABLES, {"x": values["x"], "w": w}).double() * weights).sum()
    (grad,) = torch.autograd.grad(loss, w)
    eps = 1e-4 if name == "torch-c64-adjoint" else 1e-6
    tol = 2e-3 if name == "torch-c64-adjoint" else 1e-6
    for i in range(5):
        shift = torch.zeros(5, dtype=torch.float64)
        shift[i] = eps
        plus = backend.expval(circuit, OBSERVABLES, {"x": values["x"], "w": values["w"] + shift}).double() * weights
        minus = backend.expval(circuit, OBSERVABLES, {"x": values["x"], "w": values["w"] - shift}).double() * weights
        assert (plus.sum() - minus.sum()).item() / (2 * eps) == pytest.approx(grad[i].item(), abs=tol)


def test_samples_have_the_contract_shape_and_replay_from_a_generator(backend_case):
    _, backend = backend_case
    circuit = Circuit(3).x(0).h(1)
    first = backend.sample(circuit, shots=64, qubits=(2, 0, 1), generator=torch.Generator().manual_seed(5))
    again = backend.sample(circuit, shots=64, qubits=(2, 0, 1), generator=torch.Generator().manual_seed(5))
    assert first.shape == (1, 64, 3) and first.dtype == torch.int64
    assert torch.all(first[0, :, 0] == 0) and torch.all(first[0, :, 1] == 1)
    assert torch.equal(first, again)


def test_invalid_input_is_rejected_before_any_work(backend_case):
    _, backend = backend_case
    circuit = _circuit()
    with pytest.raises(UnboundParameterError, match=r"\['w'\]"):
        backend.expval(circuit, Z(0), {"x": torch.zeros(3)})
    with pytest.raises(BindingError, match="Batch sizes do not broadcast"):
        backend.expval(circuit, Z(0), {"x": torch.zeros(2, 3), "w": torch.zeros(3, 5)})
    with pytest.raises(NonFiniteAngleError, match="NaN or infinite"):
        backend.expval(circuit, Z(0), {"x": torch.zeros(3), "w": torch.tensor([0, 0, float("inf"), 0, 0])})
    with pytest.raises(QubitIndexError, match="outside the 3-qubit circuit"):
        backend.expval(circuit, Z(3), {"x": torch.zeros(3), "w": torch.zeros(5)})
    with pytest.raises(ValueError, match="shots must be a positive int, got 0"):
        backend.sample(Circuit(1).h(0), shots=0)


def _gate_cases() -> list[tuple[str, int]]:
    cases = []
    for name, spec in sorted(GATES.items()):
        if spec.num_qubits is None:
            cases.append((name, 3))
        elif spec.num_qubits > 0:
            cases.append((name, spec.num_qubits))
    return cases


def test_every_registered_gate_acts_as_its_matrix(backend_case):
    """Each gate after a generic state preparation, against the dense reference (new gates enrol themselves)."""
    name, backend = backend_case
    tol = EXACT_TOL.get(name, 1e-8)
    rng = np.random.default_rng(0)
    for gate, width in _gate_cases():
        spec = GATES[gate]
        prepared = Circuit(width)
        for q in range(width):
            prepared = prepared.ry(float(rng.uniform(0, 3)), q).rz(float(rng.uniform(0, 3)), q)
        params = [float(v) for v in rng.uniform(-np.pi, np.pi, size=spec.num_params)]
        circuit = prepared.append(gate, tuple(range(width)), params, random_gate_data(spec, width, rng))
        probs = backend.probs(circuit)[0].double().numpy()
        expvals = backend.expval(circuit, [X(0), Y(width - 1)])[0].double().numpy()
        state = reference_state(circuit)
        np.testing.assert_allclose(probs, np.abs(state) ** 2, atol=tol, err_msg=gate)
        expected = [reference_expectation(state, o, width) for o in (X(0), Y(width - 1))]
        np.testing.assert_allclose(expvals, expected, atol=tol, err_msg=gate)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_circuits_match_the_reference(seed):
    circuit = random_circuit(4, depth=8, seed=seed, parameter_name="theta")
    theta = torch.tensor(np.random.default_rng(seed).uniform(-np.pi, np.pi, size=(2, circuit.parameters["theta"])))
    observables = [Z(0) @ Z(3), X(1) + 0.5 * Y(2)]
    for name in sorted(BACKENDS):
        out = BACKENDS[name]().expval(circuit, observables, {"theta": theta}).double().numpy()
        for b in range(2):
            state = reference_state(circuit, {"theta": theta[b].numpy()})
            expected = [reference_expectation(state, o, 4) for o in observables]
            np.testing.assert_allclose(out[b], expected, atol=EXACT_TOL.get(name, 1e-8), err_msg=f"{name} seed={seed}")


def test_sample_frequencies_follow_the_probabilities_with_seed_zero(backend_case):
    _, backend = backend_case
    circuit = Circuit(2).ry(1.1, 0).cx(0, 1).ry(0.4, 1)
    shots = 4000
    bits = backend.sample(circuit, shots=shots, generator=torch.Generator().manual_seed(0))
    again = backend.sample(circuit, shots=shots, generator=torch.Generator().manual_seed(0))
    assert torch.equal(bits, again), "seed 0 is a seed"
    index = bits[0, :, 0] * 2 + bits[0, :, 1]
    frequencies = torch.bincount(index, minlength=4).double().numpy() / shots
    probs = np.abs(reference_state(circuit)) ** 2
    sigma = np.sqrt(probs * (1 - probs) / shots)
    assert np.all(np.abs(frequencies - probs) <= 5 * sigma + 1e-12), (frequencies, probs)
