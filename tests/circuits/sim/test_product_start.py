"""The engine's product start: leading single-qubit steps built as a product state instead of run as passes.

Oracle: the same engine with the product start off (every step a pass over ``|0...0>``), which the rest of the
suite checks against the reference simulator, Aer and finite differences; and the reference simulator itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, X, Z
from circuits.sim import engine, native
from circuits.sim.plan import compile_plan
from circuits.sim.reference import reference_state


def _circuit(n: int, leading_constant: bool = False) -> Circuit:
    """Rotations on all but one qubit, a CNOT chain, rotations again; optionally an H first on qubit 0."""
    x, w = ParameterVector("x", n), ParameterVector("w", 3 * n)
    circuit = Circuit(n)
    if leading_constant:
        circuit = circuit.h(0)
    for q in range(n - 1):  # the last qubit stays |0> in the product
        circuit = circuit.ry(x[q], q).rz(w[q], q)
    for q in range(n - 1):
        circuit = circuit.cx(q, q + 1)
    for q in range(n):
        circuit = circuit.rx(w[n + q], q).ry(w[2 * n + q] * x[q], q)
    return circuit


def _values(n: int, batch: int, dtype: torch.dtype, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(batch, n, generator=gen, dtype=dtype) * 3
    return {"x": x, "w": torch.rand(3 * n, generator=gen, dtype=dtype)}


def _outputs(circuit: Circuit, values, dtype, diff_method, observables):
    leaves = {k: v.clone().requires_grad_() for k, v in values.items()}
    out = TorchBackend(dtype=dtype, diff_method=diff_method).expval(circuit, observables, leaves)
    grads = torch.autograd.grad(out.square().sum(), list(leaves.values()), create_graph=diff_method == "backprop")
    hessian = None
    if diff_method == "backprop":  # second derivatives through the product's outer products
        hessian = torch.autograd.grad(grads[1].square().sum(), list(leaves.values()))
    with torch.no_grad():
        buffered = TorchBackend(dtype=dtype).expval(circuit, observables, values)
    return [out.detach(), buffered, *(g.detach() for g in grads), *(hessian or ())]


@pytest.mark.parametrize("native_kernel", ["on", "off"])  # layer steps, or the torch path's pairs and triples
@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
@pytest.mark.parametrize("n", [6, 13])
def test_the_product_start_gives_the_same_numbers(monkeypatch, native_kernel, diff_method, n):
    monkeypatch.setenv(native.ENV_SWITCH, native_kernel)
    dtype = torch.complex128
    circuit = _circuit(n)
    values = _values(n, 5, torch.float64)
    observables = [Z(0), X(n - 1) @ Z(1), Z(n - 1)]
    run = engine._Execution(compile_plan(circuit), dtype, torch.device("cpu"), grad=True)
    assert run.prefix >= 1
    assert not set().union(*(s.qubits for s in run.steps[: run.prefix])) & {n - 1}
    monkeypatch.setattr(engine, "_PRODUCT_START_MIN_AMPLITUDES", 0)
    got = _outputs(circuit, values, dtype, diff_method, observables)
    monkeypatch.setattr(engine, "_PRODUCT_START_MIN_AMPLITUDES", 1 << 62)  # never: every step a pass
    want = _outputs(circuit, values, dtype, diff_method, observables)
    for a, b in zip(got, want, strict=True):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=0)


def test_the_product_start_matches_the_reference_and_the_real_path(monkeypatch):
    monkeypatch.setattr(engine, "_PRODUCT_START_MIN_AMPLITUDES", 0)
    n = 5
    circuit = _circuit(n)
    values = _values(n, 3, torch.float64, seed=1)
    states = TorchBackend(dtype=torch.complex128).state(circuit, values)
    for b in range(3):
        expected = reference_state(circuit, {k: v[b].numpy() if v.dim() > 1 else v.numpy() for k, v in values.items()})
        np.testing.assert_allclose(states[b].numpy(), expected, atol=1e-12)
    real = Circuit(4).ry(ParameterVector("t", 4)[0], 0).ry(ParameterVector("t", 4)[1], 2).cz(0, 2).ry(0.3, 1)
    t = {"t": torch.rand(2, 4, dtype=torch.float64)}
    plan = compile_plan(real)
    assert plan.real
    got = TorchBackend(dtype=torch.complex128).state(real, t)
    monkeypatch.setattr(engine, "_PRODUCT_START_MIN_AMPLITUDES", 1 << 62)
    torch.testing.assert_close(got, TorchBackend(dtype=torch.complex128).state(real, t), atol=1e-13, rtol=0)


def test_a_leading_constant_gate_or_a_repeated_qubit_ends_the_prefix():
    plan = compile_plan(_circuit(6, leading_constant=True))
    run = engine._Execution(plan, torch.complex64, torch.device("cpu"), grad=False)
    assert all(step.tensor != -1 for step in run.steps[: run.prefix])  # the constant H block is not in it
    qubits = [q for step in run.steps[: run.prefix] for q in step.qubits]
    assert len(qubits) == len(set(qubits))
    entangler_first = Circuit(3).cx(0, 1).ry(ParameterVector("a", 1)[0], 0)
    assert engine._Execution(compile_plan(entangler_first), torch.complex64, torch.device("cpu"), False).prefix == 0
