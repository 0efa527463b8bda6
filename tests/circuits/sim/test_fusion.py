"""Constant-gate fusion (circuits/sim/fusion.py) and the kernels it relies on.

Oracles: the dense numpy reference simulator for states, the backprop path and finite differences for the
adjoint path's gradients through fused blocks, and the plan's structure (how many passes a known circuit
takes). Compilation must be linear in the number of gates: counted, not timed.
"""

from __future__ import annotations

import math
import sys
import tracemalloc

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import Circuit, ParameterVector, TorchBackend, X, Y, Z
from circuits.ir.gates import MatrixData
from circuits.ir.operation import Operation
from circuits.sim import kernels, tuning
from circuits.sim.fusion import DEFAULT_COSTS, DENSE_MAX_QUBITS, DIAGONAL_MAX_QUBITS, FusionCosts, expand_matrix
from circuits.sim.plan import Plan, compile_plan
from circuits.sim.reference import reference_state
from circuits.testing import random_circuit, random_unitary

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)
FUSABLE = ["h", "x", "sx", "s", "t", "rz", "ry", "p", "cx", "cz", "cp", "swap", "ccx", "crz", "rzz", "unitary"]


def _transpiled_like(n: int, gates: int, seed: int, symbolic: bool = False) -> Circuit:
    """What Qiskit's transpiler makes: ``rz``, ``sx``, ``x`` and ``cx`` on random qubits (symbolic ``rz`` angles)."""
    rng = np.random.default_rng(seed)
    theta = ParameterVector("theta", gates)
    ops = []
    while len(ops) < gates:
        kind = rng.integers(5)
        if kind == 0:
            a, b = (int(q) for q in rng.choice(n, size=2, replace=False))
            ops.append(Operation.create("cx", (a, b)))
        elif kind == 1:
            ops.append(Operation.create("sx", int(rng.integers(n))))
        elif kind == 2 and rng.random() < 0.2:
            ops.append(Operation.create("x", int(rng.integers(n))))
        else:
            angle = theta[len(ops)] if symbolic else float(rng.uniform(-math.pi, math.pi))
            ops.append(Operation.create("rz", int(rng.integers(n)), (angle,)))
    return Circuit(n, ops)


def _qft(n: int) -> Circuit:
    ops = [Operation.create("h", q) for q in range(n)]
    for j in range(n):
        ops.append(Operation.create("h", j))
        ops.extend(Operation.create("cp", (k, j), (math.pi / 2 ** (k - j),)) for k in range(j + 1, n))
    ops.extend(Operation.create("swap", (j, n - 1 - j)) for j in range(n // 2))
    return Circuit(n, ops)


def _assert_state(circuit: Circuit, values=None) -> None:
    values = values or {}
    expected = reference_state(circuit, {k: np.asarray(v)[0] for k, v in values.items()})
    for dtype, atol in ((torch.complex128, 1e-10), (torch.complex64, 2e-5)):
        for real in (True, False):
            got = TorchBackend(dtype=dtype, real_arithmetic=real).state(circuit, values)[0].numpy()
            np.testing.assert_allclose(got, expected, atol=atol, err_msg=f"{dtype}, real_arithmetic={real}")


# -- values -------------------------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(seed=SEEDS, num_qubits=st.integers(2, 7))
def test_random_constant_circuits_match_reference(seed, num_qubits):
    """Every fusable gate with constant angles: dense blocks up to 4 qubits, diagonal and permutation blocks."""
    gates = [g for g in FUSABLE if g != "ccx" or num_qubits >= 3]
    circuit = random_circuit(num_qubits, depth=25, seed=seed, gates=gates)
    _assert_state(circuit)


@settings(max_examples=4, deadline=None)
@given(seed=SEEDS)
def test_transpiled_like_circuits_match_reference(seed):
    circuit = _transpiled_like(6, 150, seed)
    _assert_state(circuit)


@pytest.mark.parametrize("n", [3, 6, 8])
def test_qft_matches_reference(n):
    _assert_state(_qft(n))


def _wide_ops(n: int) -> list[Operation]:
    """H layer, then diagonal chains, CNOT ladders, SWAPs and phases wider than a dense block."""
    ops = [Operation.create("h", q) for q in range(n)]
    ops += [Operation.create("cp", (k, 0), (0.3 * k,)) for k in range(1, n)]
    ops += [Operation.create("cz", (k, k + 2)) for k in range(n - 2)]
    ops += [Operation.create("cx", (k, k + 1)) for k in range(n - 1)]
    ops += [Operation.create("x", 3), Operation.create("swap", (0, n - 1)), Operation.create("swap", (1, n - 2))]
    ops += [Operation.create("swap", (2, n - 3)), Operation.create("cx", (n - 1, 0))]
    ops += [Operation.create("rz", q, (0.1 * q,)) for q in range(n)]
    return [*ops, Operation.create("global_phase", (), (0.7,))]


def test_wide_blocks_match_reference():
    n = 8
    ops = _wide_ops(n)
    circuit = Circuit(n, ops)
    # the H layer in two dense blocks, then everything else is one permutation with phases
    assert _kinds(circuit) == [("matrix", 4), ("matrix", 4), ("monomial", n)]
    _assert_state(circuit)
    # H layer, cp chain, H layer: cp(1..3, 0) join the first dense block, the rest is one diagonal pass
    chain = Circuit(n, ops[: 2 * n - 1] + [Operation.create("h", q) for q in range(n)])
    steps = compile_plan(chain).steps
    assert [s.kind for s in steps] == ["matrix", "matrix", "diagonal", "matrix", "matrix"]
    assert steps[2].support == (0, 4, 5, 6, 7)
    _assert_state(chain)


def test_gathers_past_the_index_budget_fall_back_to_small_blocks(monkeypatch):
    """Wide permutations need an index of ``2**(n - first qubit)`` entries; past the plan's budget they are not made."""
    from circuits.sim import fusion, torch_backend

    mcx = Operation.create("mcx", (0, 1, 2, 3, 4, 5))
    wide = Circuit(28, [mcx, *(Operation.create("cx", (q, q + 1)) for q in range(10))])
    plan = compile_plan(wide)  # 28 qubits: a 2 GiB index would be over the 256 MiB budget
    assert all(step.kind != "monomial" or step.qubits[0] >= 3 for step in plan.steps)
    assert ("matrix", 6) in [(step.kind, len(step.qubits)) for step in plan.steps]
    monkeypatch.setattr(fusion, "GATHER_BUDGET_BYTES", 0)
    torch_backend._cached_plan.cache_clear()
    try:
        circuit = Circuit(7, [*_wide_ops(7), Operation.create("mcx", (6, 0, 1, 2, 3, 4))])
        assert "monomial" not in {step.kind for step in compile_plan(circuit).steps}
        _assert_state(circuit)
    finally:
        torch_backend._cached_plan.cache_clear()


def test_global_phase_alone_and_folded():
    only = Circuit(2).append("global_phase", (), (0.4,))
    np.testing.assert_allclose(TorchBackend(dtype=torch.complex128).state(only)[0].numpy(), [np.exp(0.4j), 0, 0, 0])
    folded = Circuit(3).h(0).cx(0, 1).append("global_phase", (), (-1.1,)).t(2)
    assert all(step.qubits for step in compile_plan(folded).steps)  # no pass for the phase alone
    _assert_state(folded)


# -- gradients through fused constant blocks ------------------------------------------------------------


def _mixed_circuit(n: int, seed: int) -> Circuit:
    """Parametrized gates between constant blocks of every kind."""
    x, w = ParameterVector("x", n), ParameterVector("w", 3 * n)
    ops = [Operation.create("ry", q, (x[q],)) for q in range(n)]
    ops += list(_transpiled_like(n, 60, seed))
    ops += [Operation.create("crz", (0, n - 1), (w[0],)), Operation.create("rzz", (1, n - 2), (w[1] * x[0],))]
    ops += list(_qft(n))
    ops += [Operation.create("ry", q, (w[2 + q] * x[q],)) for q in range(n)]
    ops += _wide_ops(n)  # a permutation with phases over every qubit
    ops += [Operation.create("rx", q, (w[2 + q],)) for q in range(n)]
    ops += [Operation.create("cx", (q, q + 1)) for q in range(n - 1)]
    ops += [Operation.create("unitary", (2, 0, 4), (), MatrixData(random_unitary(3, np.random.default_rng(seed))))]
    ops += [Operation.create("ry", q, (w[2 + n + q],)) for q in range(n - 2)]
    return Circuit(n, ops)


@pytest.mark.parametrize("seed", [0, 1])
def test_adjoint_equals_backprop_and_finite_differences_through_fused_blocks(seed):
    n = 7
    circuit = _mixed_circuit(n, seed)
    assert {s.kind for s in compile_plan(circuit).steps if s.tensor == -1} == {"matrix", "diagonal", "monomial"}
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(3, n, generator=gen, dtype=torch.float64, requires_grad=True)
    w = torch.rand(3 * n, generator=gen, dtype=torch.float64, requires_grad=True)
    observables = [Z(0), X(n - 1) @ Y(2), Z(3) @ Z(4)]
    weights = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
    grads = {}
    for method in ("adjoint", "backprop"):
        out = TorchBackend(dtype=torch.complex128, diff_method=method).expval(circuit, observables, {"x": x, "w": w})
        grads[method] = torch.autograd.grad((out * weights).sum(), (x, w))
    for a, b in zip(grads["adjoint"], grads["backprop"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
    backend = TorchBackend(dtype=torch.complex128)

    def loss(wv: torch.Tensor) -> float:
        return (backend.expval(circuit, observables, {"x": x.detach(), "w": wv}) * weights).sum().item()

    eps = 1e-6
    for i in (0, 1, 2, n + 1, 2 * n + 2):
        shift = torch.zeros(3 * n, dtype=torch.float64)
        shift[i] = eps
        numeric = (loss(w.detach() + shift) - loss(w.detach() - shift)) / (2 * eps)
        assert abs(numeric - grads["adjoint"][1][i].item()) < 1e-7


def test_symbolic_transpiled_circuit_gradients_agree():
    """A transpiled variational circuit: symbolic ``rz`` runs around constant ``sx``/``cx`` blocks."""
    circuit = _transpiled_like(6, 200, seed=5, symbolic=True)
    theta = torch.rand(200, dtype=torch.float64, generator=torch.Generator().manual_seed(1)).requires_grad_()
    values = {"theta": theta}
    _assert_state(circuit, {"theta": theta.detach().numpy()[None]})
    grads = []
    for method in ("adjoint", "backprop"):
        out = TorchBackend(dtype=torch.complex128, diff_method=method).expval(circuit, [Z(0), X(5)], values)
        grads.append(torch.autograd.grad(out.sum(), theta)[0])
    torch.testing.assert_close(grads[0], grads[1], atol=1e-10, rtol=0)


# -- what the planner makes of known circuits ---------------------------------------------------------


def _kinds(circuit: Circuit) -> list[tuple[str, int]]:
    return [(step.kind, len(step.qubits)) for step in compile_plan(circuit).steps]


def test_a_layer_of_h_takes_one_pass_per_four_qubits():
    assert _kinds(Circuit(8, [Operation.create("h", q) for q in range(8)])) == [("matrix", 4), ("matrix", 4)]


def test_cx_rz_cx_on_distant_qubits_is_one_diagonal_pass():
    circuit = Circuit(12).cx(0, 11).rz(0.4, 11).cx(0, 11)
    plan = compile_plan(circuit)
    assert [step.kind for step in plan.steps] == ["diagonal"]
    assert plan.steps[0].support == (0, 11)


def test_transpiled_controlled_phases_join_one_diagonal_block():
    """``cp`` as a transpiler writes it (``rz cx rz cx rz``) on distant pairs: one diagonal pass for the row."""
    n = 8
    ops = [Operation.create("h", q) for q in range(n)]
    for k in range(1, n):
        angle = math.pi / 2**k
        ops += [Operation.create("rz", k, (angle / 2,)), Operation.create("cx", (k, 0))]
        ops += [Operation.create("rz", 0, (-angle / 2,)), Operation.create("cx", (k, 0))]
        ops += [Operation.create("rz", 0, (angle / 2,))]
    circuit = Circuit(n, ops)
    kinds = [step.kind for step in compile_plan(circuit).steps]
    assert kinds.count("diagonal") == 1 and "monomial" not in kinds
    assert len(kinds) <= 3  # the H layer in 4-qubit blocks, and the diagonal
    _assert_state(circuit)
    broken = Circuit(n, [*ops[: n + 3], Operation.create("sx", 0), *ops[n + 3 :]])  # an sx inside one sandwich
    _assert_state(broken)


def test_cnot_ladder_is_one_gather_and_cancellations_vanish():
    ladder = Circuit(10, [Operation.create("cx", (q, q + 1)) for q in range(9)])
    assert _kinds(ladder) == [("monomial", 10)]
    assert _kinds(Circuit(10).h(3).h(3).cx(2, 7).cx(2, 7)) == []


def test_qft_takes_about_two_passes_per_qubit():
    n = 12
    circuit = _qft(n)
    steps = compile_plan(circuit).steps
    assert len(steps) <= 2 * n + 4 < len(circuit) // 3
    assert max(len(s.qubits) for s in steps if s.kind == "matrix") <= DENSE_MAX_QUBITS
    assert max(len(s.support) for s in steps if s.kind == "diagonal") <= DIAGONAL_MAX_QUBITS


def test_parametrized_single_qubit_runs_still_absorb_constant_gates():
    """``sx rz(theta) sx`` stays one fused single-qubit step: constant gates wait for a later symbolic one."""
    t = ParameterVector("t", 2)
    circuit = Circuit(2).sx(0).rz(t[0], 0).sx(0).cx(0, 1).rz(t[1], 1)
    assert [(s.kind, s.tensor) for s in compile_plan(circuit).steps] == [("matrix", 0), ("matrix", -1), ("matrix", 0)]


def test_rotation_layers_fuse_in_threes_from_twelve_qubits(monkeypatch):
    """Fused single-qubit steps on neighbouring qubits: 8 x 8 steps from 12 qubits; values and gradients of
    both differentiation paths agree with the same circuit compiled without the kron steps."""
    from circuits.library import reuploading_hea
    from circuits.sim import plan as plan_module
    from circuits.sim import torch_backend

    n = 13
    circuit = reuploading_hea(n, 1, ParameterVector("x", n), ParameterVector("w", 2 * n))
    assert _kinds(circuit) == [("matrix", 3)] * 4 + [("matrix", 1), ("monomial", n)]
    gen = torch.Generator().manual_seed(4)
    x = torch.rand(3, n, generator=gen, dtype=torch.float64)
    w = torch.rand(2 * n, generator=gen, dtype=torch.float64, requires_grad=True)
    observables = [Z(0), Z(n - 1) @ X(5)]

    def run(method: str):
        out = TorchBackend(dtype=torch.complex128, diff_method=method).expval(circuit, observables, {"x": x, "w": w})
        return out.detach(), torch.autograd.grad(out.sum(), w)[0]

    fused = {method: run(method) for method in ("adjoint", "backprop")}
    monkeypatch.setattr(plan_module, "_PAIR_FUSION_MIN_QUBITS", 100)
    monkeypatch.setattr(plan_module, "_TRIPLE_FUSION_MIN_QUBITS", 100)
    torch_backend._cached_plan.cache_clear()
    try:
        assert _kinds(circuit) == [("matrix", 1)] * n + [("monomial", n)]
        plain = run("backprop")
    finally:
        torch_backend._cached_plan.cache_clear()
    for out, grad in fused.values():
        torch.testing.assert_close(out, plain[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(grad, plain[1], atol=1e-12, rtol=0)


# -- compilation is linear in the number of gates --------------------------------------------------------


def _count_lines(fn) -> int:
    """Python lines executed by ``fn()`` (each loop iteration counts): work, measured without a clock."""
    lines = 0

    def local(frame, event, arg):
        nonlocal lines
        lines += event == "line"
        return local

    sys.settrace(lambda frame, event, arg: local)
    try:
        fn()
    finally:
        sys.settrace(None)
    return lines


@pytest.mark.parametrize("symbolic", [False, True])
def test_compilation_work_and_memory_grow_linearly(symbolic):
    """Per gate, compile_plan's executed lines, fuser work and peak memory do not grow with the gate count.

    Lines are counted, not timed, so the test is deterministic; a loop over the steps emitted so far, once per
    step, already breaks the 5 % margin at 4000 gates.
    """
    circuits = [_transpiled_like(10, count, seed=3, symbolic=symbolic) for count in (400, 4000)]
    lines = [_count_lines(lambda c=c: compile_plan(c)) / len(c) for c in circuits]
    assert lines[1] <= 1.05 * lines[0], lines
    peaks = []
    for circuit in circuits:
        tracemalloc.start()
        plan = compile_plan(circuit)
        peaks.append(tracemalloc.get_traced_memory()[1] / len(circuit))
        tracemalloc.stop()
        assert plan.fusion.options <= 12 * len(circuit)
        assert plan.fusion.elements <= 16 * 16 * 8 * len(circuit)
    assert peaks[1] <= 1.3 * peaks[0], peaks
    assert peaks[1] < 4096, peaks


def test_inverse_gathers_are_built_once_and_only_for_gradients(monkeypatch):
    calls = []
    original = Plan._build_inverses
    monkeypatch.setattr(Plan, "_build_inverses", lambda self, *a: calls.append(1) or original(self, *a))
    w = ParameterVector("w", 6)
    circuit = Circuit(6, [Operation.create("ry", q, (w[q],)) for q in range(6)])
    circuit = circuit.extend(Operation.create("cx", (q, (q + 1) % 6)) for q in range(6))
    values = {"w": torch.rand(6, dtype=torch.float64, requires_grad=True)}
    TorchBackend(dtype=torch.complex128).probs(circuit, {"w": values["w"].detach()})
    assert calls == []
    out = TorchBackend(dtype=torch.complex128, diff_method="backprop").expval(circuit, Z(0), values)
    out.sum().backward()  # the CNOT ring's backward is its inverse gather
    assert calls == [1]
    out = TorchBackend(dtype=torch.complex128, diff_method="adjoint").expval(circuit, Z(0), values)
    out.sum().backward()
    assert calls == [1]


# -- kernels ---------------------------------------------------------------------------------------------


def _dense_reference(state: torch.Tensor, matrix: torch.Tensor, qubits, n: int) -> torch.Tensor:
    full = torch.as_tensor(expand_matrix(matrix[0].numpy(), qubits, range(n)))
    return state @ full.T


@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_apply_matrix_every_width_and_position(k):
    n = 9
    gen = torch.Generator().manual_seed(k)
    state = torch.randn(2, 2**n, dtype=torch.complex128, generator=gen)
    matrix = torch.randn(1, 2**k, 2**k, dtype=torch.complex128, generator=gen)
    for first in range(n - k + 1):
        qubits = list(range(first, first + k))
        out = torch.empty_like(state)
        expected = _dense_reference(state, matrix, qubits, n)
        torch.testing.assert_close(kernels.apply_matrix(state, matrix, qubits, n), expected, atol=1e-10, rtol=0)
        kernels.apply_matrix(state, matrix, qubits, n, out)
        torch.testing.assert_close(out, expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("qubits", [(0, 8), (7, 2), (5, 0, 6), (1, 2, 8, 4), (3, 4, 0)])
def test_non_contiguous_matrix_diagonal_and_gradients(qubits):
    n = 9
    gen = torch.Generator().manual_seed(len(qubits))
    state = torch.randn(3, 2**n, dtype=torch.complex128, generator=gen)
    other = torch.randn(3, 2**n, dtype=torch.complex128, generator=gen)
    d = 2 ** len(qubits)
    matrix = torch.randn(3, d, d, dtype=torch.complex128, generator=gen)
    expected = torch.stack([_dense_reference(state[b : b + 1], matrix[b : b + 1], qubits, n)[0] for b in range(3)])
    out = torch.empty_like(state)
    torch.testing.assert_close(kernels.apply_matrix(state, matrix, qubits, n), expected, atol=1e-10, rtol=0)
    kernels.apply_matrix(state, matrix, qubits, n, out)
    torch.testing.assert_close(out, expected, atol=1e-10, rtol=0)
    diagonal = torch.randn(3, d, dtype=torch.complex128, generator=gen)
    expected = torch.stack(
        [_dense_reference(state[b : b + 1], torch.diag(diagonal[b])[None], qubits, n)[0] for b in range(3)]
    )
    torch.testing.assert_close(kernels.apply_diagonal(state, diagonal, qubits, n), expected, atol=1e-10, rtol=0)
    # gradients: G = sum over the other qubits of phi psi^T, with the qubits moved to the front by numpy
    rest = [q for q in range(n) if q not in qubits]
    order = [0, *(1 + q for q in qubits), *(1 + q for q in rest)]
    phi = other.numpy().reshape(3, *[2] * n).transpose(order).reshape(3, d, -1)
    psi = state.numpy().reshape(3, *[2] * n).transpose(order).reshape(3, d, -1)
    reference = torch.as_tensor(phi @ psi.transpose(0, 2, 1))
    torch.testing.assert_close(kernels.matrix_gradient(other, state, qubits, n), reference, atol=1e-10, rtol=0)
    torch.testing.assert_close(
        kernels.diagonal_gradient(other, state, qubits, n),
        torch.diagonal(reference, dim1=-2, dim2=-1),
        atol=1e-10,
        rtol=0,
    )


@pytest.mark.parametrize("width", [1, 3, 9])
def test_tail_gather_permutes_the_last_qubits(width):
    n = 9
    gen = torch.Generator().manual_seed(width)
    state = torch.randn(2, 2**n, dtype=torch.complex128, generator=gen)
    source = torch.randperm(2**width, generator=gen)
    phase = torch.exp(1j * torch.rand(2**width, dtype=torch.float64, generator=gen))
    full_source = (torch.arange(2**n) >> width << width) | source.repeat(2 ** (n - width))
    expected = state[:, full_source] * phase.repeat(2 ** (n - width))
    torch.testing.assert_close(kernels.apply_monomial(state, source, phase), expected, atol=1e-12, rtol=0)
    out = torch.empty_like(state)
    kernels.apply_monomial(state, source, phase, out)
    torch.testing.assert_close(out, expected, atol=1e-12, rtol=0)


# -- the cost model ---------------------------------------------------------------------------------


def test_the_measured_cost_model_builds_the_widest_block_that_still_saves_a_pass():
    def widest(dense):
        return FusionCosts.from_measurement(1e4, dense, 2.0, 0.5, 1.3).dense_max_qubits

    assert widest((1.4, 1.4, 1.7, 2.5, 4.1)) == DEFAULT_COSTS.dense_max_qubits == 4  # the built-in table
    assert widest((1.3, 1.1, 1.4, 2.1, 3.2)) == 5  # a 5-qubit block costs less than a 4-qubit one and a pass
    assert widest((1.0, 1.2, 1.9, 3.5, 9.0)) == 3  # never below 3
    with pytest.raises(ValueError, match=r"dense_ns for k = 1\.\.5 \(got 3\)"):
        FusionCosts.from_measurement(1e4, (1.0, 1.0, 1.0), 2.0, 0.5, 1.3)


WIDE_COSTS = FusionCosts(dense_ns=(1.4, 1.4, 1.5, 1.6, 1.7), dense_max_qubits=5)
"""A machine where 5-qubit dense blocks are nearly free."""


@pytest.fixture
def wide_costs(monkeypatch):
    monkeypatch.setattr(tuning, "fusion_costs", lambda: WIDE_COSTS)


def test_a_layer_of_h_takes_one_pass_per_five_qubits_where_that_is_cheap(wide_costs):
    assert _kinds(Circuit(10, [Operation.create("h", q) for q in range(10)])) == [("matrix", 5), ("matrix", 5)]


@pytest.mark.parametrize(("seed", "num_qubits"), [(0, 5), (1, 6), (2, 7), (3, 7), (4, 6)])
def test_five_qubit_blocks_match_reference(wide_costs, seed, num_qubits):
    circuit = random_circuit(num_qubits, depth=25, seed=seed, gates=FUSABLE)
    assert max(len(s.support) for s in compile_plan(circuit).steps if s.kind == "matrix") <= DENSE_MAX_QUBITS
    _assert_state(circuit)


def test_adjoint_and_backprop_agree_through_five_qubit_blocks(wide_costs):
    n = 7
    circuit = _mixed_circuit(n, 3)
    assert any(len(s.support) == 5 for s in compile_plan(circuit).steps if s.kind == "matrix" and s.tensor == -1)
    x = torch.rand(2, n, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    w = torch.rand(3 * n, dtype=torch.float64, generator=torch.Generator().manual_seed(1), requires_grad=True)
    grads = {}
    for method in ("adjoint", "backprop"):
        out = TorchBackend(dtype=torch.complex128, diff_method=method).expval(circuit, [Z(0), X(4)], {"x": x, "w": w})
        grads[method] = torch.autograd.grad(out.sum(), w)[0]
    torch.testing.assert_close(grads["adjoint"], grads["backprop"], atol=1e-10, rtol=0)


@pytest.mark.parametrize("phases", [False, True])
def test_the_inverse_gather_backward_matches_torch_to_second_order(phases):
    """Backprop through a permutation (with phases) uses the inverse gather; gradients and Hessians unchanged."""
    torch.manual_seed(0)
    source = torch.randperm(16)
    phase = torch.exp(1j * torch.rand(16, dtype=torch.float64)) if phases else None
    inverse = torch.argsort(source)
    inverse_phase = None if phase is None else phase.conj()[inverse]
    probe = torch.randn(3, 64, dtype=torch.complex128)

    def loss(state, custom):
        out = kernels.apply_monomial(state, source, phase, inverse=(inverse, inverse_phase) if custom else None)
        return (out.abs() ** 2 * probe.real).sum() + (out * probe).real.sum()

    state = torch.randn(3, 64, dtype=torch.complex128, requires_grad=True)
    (g_custom,) = torch.autograd.grad(loss(state, True), state, create_graph=True)
    (g_torch,) = torch.autograd.grad(loss(state, False), state, create_graph=True)
    torch.testing.assert_close(g_custom, g_torch, atol=1e-12, rtol=0)
    direction = torch.randn_like(probe)
    (h_custom,) = torch.autograd.grad((g_custom * direction).real.sum(), state)
    (h_torch,) = torch.autograd.grad((g_torch * direction).real.sum(), state)
    torch.testing.assert_close(h_custom, h_torch, atol=1e-12, rtol=0)
