"""TorchBackend against the dense numpy reference, and its gradients against each other and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import Circuit, ParameterVector, PauliSum, Projector, TorchBackend, X, Y, Z
from circuits.errors import (
    BackendUnavailableError,
    BindingError,
    NonFiniteAngleError,
    QubitIndexError,
    SimulationMemoryError,
    UnboundParameterError,
)
from circuits.sim import engine
from circuits.sim.reference import reference_expectation, reference_probabilities, reference_state
from circuits.testing import random_circuit

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


def _random_values(circuit: Circuit, batch: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-np.pi, np.pi, size=(batch, size)) for name, size in circuit.parameters.items()}


def _row(values: dict[str, np.ndarray], b: int) -> dict[str, np.ndarray]:
    return {k: v[b] for k, v in values.items()}


@settings(max_examples=25, deadline=None)
@given(seed=SEEDS, num_qubits=st.integers(1, 7))
def test_random_circuits_match_reference_state(seed, num_qubits):
    circuit = random_circuit(num_qubits, depth=12, seed=seed, parameter_name="theta")
    values = _random_values(circuit, 3, seed)
    batch = 3 if values else 1
    for dtype, atol in ((torch.complex128, 1e-10), (torch.complex64, 1e-5)):
        states = TorchBackend(dtype=dtype).state(circuit, values).numpy()
        assert states.shape == (batch, 2**num_qubits)
        for b in range(batch):
            expected = reference_state(circuit, _row(values, b))
            np.testing.assert_allclose(states[b], expected, atol=atol, err_msg=f"seed={seed}, dtype={dtype}")


@settings(max_examples=10, deadline=None)
@given(seed=SEEDS)
def test_expectations_and_marginals_match_reference(seed):
    n = 4
    circuit = random_circuit(n, depth=15, seed=seed, parameter_name="theta")
    values = _random_values(circuit, 2, seed)
    observables = [
        Z(0),
        X(1) @ Y(3),
        0.5 * Z(0) @ Z(2) - 0.25 * Y(1) + 1.5,
        PauliSum.from_label("XYZX"),
        Projector.from_bitstring("10", qubits=(3, 1)),
    ]
    backend = TorchBackend(dtype=torch.complex128)
    expvals = backend.expval(circuit, observables, values).numpy()
    probs = backend.probs(circuit, values, qubits=(2, 0)).numpy()
    for b in range(2):
        state = reference_state(circuit, _row(values, b))
        expected = [reference_expectation(state, o, n) for o in observables]
        np.testing.assert_allclose(expvals[b], expected, atol=1e-10)
        np.testing.assert_allclose(probs[b], reference_probabilities(state, n, (2, 0)), atol=1e-12)


def _batched_circuit() -> tuple[Circuit, ParameterVector, ParameterVector]:
    x, w = ParameterVector("x", 3), ParameterVector("w", 8)
    c = Circuit(3)
    for layer in range(2):
        for q in range(3):
            c = c.ry(x[q], q).rz(w[4 * layer + q], q)
        c = c.cx(0, 1).crx(w[4 * layer + 3] * x[0] + 0.2, 1, 2).cz(2, 0).rzz(0.7 * w[layer], 0, 2)
    c = c.rx(w[7], 1).append("xx_plus_yy", (0, 1), (w[6], w[5]))
    return c, x, w


OBSERVABLES = [Z(0), X(1) @ Z(2), Y(2) + 0.3 * X(0)]


def _loss_and_grads(backend: TorchBackend, create_graph: bool = False):
    circuit, _, _ = _batched_circuit()
    gen = torch.Generator().manual_seed(7)
    x = torch.rand(5, 3, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.rand(8, generator=gen, dtype=torch.float64, requires_grad=True)
    out = backend.expval(circuit, OBSERVABLES, {"x": x, "w": w})
    loss = (out * torch.arange(1.0, 4.0, dtype=torch.float64)).sum()
    gx, gw = torch.autograd.grad(loss, (x, w), create_graph=create_graph)
    return out, gx, gw, x, w


def test_adjoint_equals_backprop_equals_finite_differences():
    adjoint = _loss_and_grads(TorchBackend(dtype=torch.complex128, diff_method="adjoint"))
    backprop = _loss_and_grads(TorchBackend(dtype=torch.complex128, diff_method="backprop"))
    for a, b in zip(adjoint[:3], backprop[:3], strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)
    circuit, _, _ = _batched_circuit()
    backend = TorchBackend(dtype=torch.complex128)
    _, _, gw, x, w = adjoint
    eps = 1e-6
    weights = torch.arange(1.0, 4.0, dtype=torch.float64)
    for i in range(8):
        shift = torch.zeros(8, dtype=torch.float64)
        shift[i] = eps
        plus = (backend.expval(circuit, OBSERVABLES, {"x": x.detach(), "w": w.detach() + shift}) * weights).sum()
        minus = (backend.expval(circuit, OBSERVABLES, {"x": x.detach(), "w": w.detach() - shift}) * weights).sum()
        assert abs((plus - minus).item() / (2 * eps) - gw[i].item()) < 1e-7


def test_second_derivatives_through_adjoint_match_backprop():
    """Physics-informed models differentiate twice w.r.t. inputs; adjoint falls back to autograd for that."""

    def hessian_diagonal(diff_method: str) -> torch.Tensor:
        _, gx, _, x, _ = _loss_and_grads(TorchBackend(dtype=torch.complex128, diff_method=diff_method), True)
        return torch.autograd.grad(gx[:, 0].sum(), x)[0]

    torch.testing.assert_close(hessian_diagonal("adjoint"), hessian_diagonal("backprop"), atol=1e-10, rtol=0)


def test_complex64_gradients_close_to_complex128():
    lo = _loss_and_grads(TorchBackend(dtype=torch.complex64))
    hi = _loss_and_grads(TorchBackend(dtype=torch.complex128))
    torch.testing.assert_close(lo[2].double(), hi[2], atol=1e-5, rtol=0)


def test_real_arithmetic_path_matches_complex_path():
    x, w = ParameterVector("x", 4), ParameterVector("w", 8)
    c = Circuit(4)
    for q in range(4):
        c = c.ry(x[q], q).ry(w[q], q)
    c = c.cx(0, 1).cz(1, 2).h(3).cx(3, 0).swap(1, 3).cry(w[5], 2, 3)
    for q in range(4):
        c = c.ry(w[4 + q], q)
    values = {"x": torch.rand(6, 4, dtype=torch.float64), "w": torch.rand(8, dtype=torch.float64, requires_grad=True)}
    obs = [Z(0), Z(1) @ Z(3), X(2)]
    real = TorchBackend(dtype=torch.complex128)
    cplx = TorchBackend(dtype=torch.complex128, real_arithmetic=False)
    out_r, out_c = real.expval(c, obs, values), cplx.expval(c, obs, values)
    torch.testing.assert_close(out_r, out_c, atol=1e-12, rtol=0)
    g_r = torch.autograd.grad(out_r.sum(), values["w"])[0]
    g_c = torch.autograd.grad(out_c.sum(), values["w"])[0]
    torch.testing.assert_close(g_r, g_c, atol=1e-12, rtol=0)
    assert real.state(c, values).dtype == torch.complex128


@pytest.mark.parametrize("diff_method", ["adjoint", "backprop"])
def test_chunked_batches_equal_whole_batch(monkeypatch, diff_method):
    whole = _loss_and_grads(TorchBackend(dtype=torch.complex128, diff_method=diff_method))
    monkeypatch.setattr(engine, "_CACHE_TARGET_BYTES", 16 * 8 * 2)  # two samples per chunk
    chunked = _loss_and_grads(TorchBackend(dtype=torch.complex128, diff_method=diff_method))
    for a, b in zip(whole[:3], chunked[:3], strict=True):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_shared_and_batched_bindings_broadcast():
    circuit, _, _ = _batched_circuit()
    backend = TorchBackend(dtype=torch.complex128)
    x = torch.rand(4, 3, dtype=torch.float64)
    w = torch.rand(8, dtype=torch.float64)
    batched = backend.expval(circuit, OBSERVABLES, {"x": x, "w": w.expand(4, 8)})
    shared = backend.expval(circuit, OBSERVABLES, {"x": x, "w": w})
    torch.testing.assert_close(batched, shared)
    single = backend.expval(circuit, OBSERVABLES, {"x": x[2], "w": w})
    torch.testing.assert_close(single[0], shared[2])


def test_samples_follow_probabilities_and_replay_from_generator():
    c = Circuit(3).ry(1.0, 0).h(1).x(2)
    backend = TorchBackend()
    bits = backend.sample(c, shots=20000, generator=torch.Generator().manual_seed(3))
    again = backend.sample(c, shots=20000, generator=torch.Generator().manual_seed(3))
    assert bits.shape == (1, 20000, 3) and bits.dtype == torch.int64
    assert torch.equal(bits, again)
    assert torch.all(bits[0, :, 2] == 1)
    p1 = np.sin(0.5) ** 2
    sigma = np.sqrt(p1 * (1 - p1) / 20000)
    assert abs(bits[0, :, 0].double().mean().item() - p1) < 5 * sigma
    only_q2_q0 = backend.sample(c, shots=10, qubits=(2, 0), generator=torch.Generator().manual_seed(0))
    assert torch.all(only_q2_q0[0, :, 0] == 1)


def test_qubit_zero_is_most_significant():
    state = TorchBackend().state(Circuit(2).x(0))
    assert state[0, 2] == 1  # |10>: qubit 0 is the leftmost bit


def test_global_phase_and_zero_qubit_ops():
    t = ParameterVector("t", 1)
    c = Circuit(1).h(0).append("global_phase", (), (t[0],))
    state = TorchBackend(dtype=torch.complex128).state(c, {"t": [0.3]})
    np.testing.assert_allclose(state[0].numpy(), np.exp(0.3j) * np.array([1, 1]) / np.sqrt(2), atol=1e-12)


# -- errors ----------------------------------------------------------------------------------


def test_binding_errors_are_clear():
    circuit, _, _ = _batched_circuit()
    backend = TorchBackend()
    with pytest.raises(UnboundParameterError, match=r"No values for parameter vector\(s\) \['w'\]"):
        backend.expval(circuit, Z(0), {"x": torch.zeros(3)})
    with pytest.raises(BindingError, match=r"Values given for \['y'\], which the circuit does not use"):
        backend.expval(circuit, Z(0), {"x": torch.zeros(3), "w": torch.zeros(8), "y": torch.zeros(1)})
    with pytest.raises(
        BindingError, match=r"'w' has size 8: expected values of shape \(8,\) or \(batch_size, 8\), got \(7,\)"
    ):
        backend.expval(circuit, Z(0), {"x": torch.zeros(3), "w": torch.zeros(7)})
    with pytest.raises(BindingError, match="Batch sizes do not broadcast"):
        backend.expval(circuit, Z(0), {"x": torch.zeros(4, 3), "w": torch.zeros(5, 8)})
    with pytest.raises(NonFiniteAngleError, match="'x' contains NaN or infinite values"):
        backend.expval(circuit, Z(0), {"x": torch.tensor([0.0, float("nan"), 0.0]), "w": torch.zeros(8)})
    with pytest.raises(QubitIndexError, match=r"acts on qubit\(s\) \[5\], outside the 3-qubit circuit"):
        backend.expval(circuit, Z(5), {"x": torch.zeros(3), "w": torch.zeros(8)})


def test_auto_switches_to_adjoint_when_intermediate_states_would_not_fit(monkeypatch):
    from circuits.sim import torch_backend

    calls = []
    original = torch_backend.simulate

    def spy(*args):
        calls.append(args[-1])
        return original(*args)

    monkeypatch.setattr(torch_backend, "simulate", spy)
    _loss_and_grads(TorchBackend(dtype=torch.complex128))
    monkeypatch.setattr(torch_backend, "_BACKPROP_MEMORY_LIMIT", 1024)
    monkeypatch.setattr(torch_backend, "_BACKPROP_ALWAYS_AFFORDABLE", 0)
    _loss_and_grads(TorchBackend(dtype=torch.complex128))
    assert calls == ["backprop", "adjoint"]
    with pytest.raises(ValueError, match="diff_method must be 'auto', 'adjoint' or 'backprop', got 'fast'"):
        TorchBackend(diff_method="fast")


def test_too_many_qubits_reports_memory_needed():
    with pytest.raises(SimulationMemoryError, match=r"Simulating 45 qubits for a batch of 1 needs about 512\.0 TiB"):
        TorchBackend().state(Circuit(45).h(0))


def test_cuda_request_without_cuda_is_clear():
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(BackendUnavailableError, match="CUDA is not available"):
        TorchBackend(device="cuda")


@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, num_qubits=st.integers(2, 7))
def test_adjoint_gradients_equal_backprop_on_random_circuits(seed, num_qubits):
    """Every gate kind (fused, monomial, diagonal, constant and parametrized matrices) through the adjoint sweep."""
    circuit = random_circuit(num_qubits, depth=10, seed=seed, parameter_name="theta")
    x = random_circuit(num_qubits, depth=3, seed=seed + 1, gates=["ry", "rz", "h", "cx", "ch", "cz"])
    circuit = x.compose(circuit)
    observables = [Z(0), X(num_qubits - 1) @ Y(0), Projector.from_bitstring("1", qubits=(1,))]
    grads = {}
    for method in ("adjoint", "backprop"):
        values = _random_values(circuit, 4, seed)
        leaves = {k: torch.tensor(v, requires_grad=True) for k, v in values.items()}
        if not leaves:
            return
        out = TorchBackend(dtype=torch.complex128, diff_method=method).expval(circuit, observables, leaves)
        weights = torch.linspace(0.5, 1.5, out.numel(), dtype=torch.float64).view_as(out)
        grads[method] = torch.autograd.grad((out * weights).sum(), list(leaves.values()))
    for a, b in zip(grads["adjoint"], grads["backprop"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0, msg=f"seed={seed}")


def test_layered_circuit_compiles_to_one_gather_per_entangling_ring():
    """A rotation layer then a CNOT ring: the ring is one gather, the rotations pair into 4 x 4 steps."""
    from circuits.library import reuploading_hea
    from circuits.sim.plan import compile_plan

    n = 8
    circuit = reuploading_hea(n, 2, ParameterVector("x", n), ParameterVector("w", 2 * n * 2))
    kinds = [(step.kind, len(step.qubits)) for step in compile_plan(circuit).steps]
    assert kinds == ([("matrix", 2)] * (n // 2) + [("monomial", n)]) * 2
    values = _random_values(circuit, 3, 0)
    states = TorchBackend(dtype=torch.complex128).state(circuit, values).numpy()
    for b in range(3):
        np.testing.assert_allclose(states[b], reference_state(circuit, _row(values, b)), atol=1e-10)
