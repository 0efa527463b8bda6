"""The compiled layer kernel against the pure-torch path: values, gradients, the engine's layer variant, fallbacks."""

from __future__ import annotations

import shutil
import warnings

import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, X, Z
from circuits.sim import engine, layer, native, tuning
from circuits.sim.plan import compile_plan
from circuits.testing import random_circuit

DTYPES = [torch.complex64, torch.complex128, torch.float32, torch.float64]
TOL = {torch.complex64: 1e-6, torch.float32: 1e-6, torch.complex128: 1e-12, torch.float64: 1e-12}
HAVE_COMPILER = shutil.which("g++") is not None or shutil.which("c++") is not None


@pytest.fixture(scope="module")
def compiled():
    """The compiled kernel (built at first use; skipped only on a machine without a C++ compiler)."""
    if not native.enabled():
        pytest.skip(f"{native.ENV_SWITCH}=off")
    if not HAVE_COMPILER:
        pytest.skip("no C++ compiler on this machine")
    return native.library()


def test_the_kernel_builds_where_there_is_a_compiler(compiled):
    assert compiled is not None, f"the build failed: {native._state.get('error')}"


def _random(shape, dtype, gen):
    return tuning._random(shape, dtype, gen)


def _states(batch, n, dtype, gen):
    """Normalized states (the engine's regime: the tolerances are absolute on entries of order one)."""
    state = _random((batch, 2**n), dtype, gen)
    return state / state.norm(dim=1, keepdim=True)


def _gates(batch, count, dtype, gen):
    """Random unitary (orthogonal, for real dtypes) 2 x 2 matrices, ``(batch, count, 2, 2)``."""
    q, r = torch.linalg.qr(_random((batch, count, 2, 2), torch.complex128 if dtype.is_complex else torch.float64, gen))
    q = q * torch.sgn(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
    return q.to(dtype)


def _close(got, want, dtype, what=""):
    torch.testing.assert_close(got, want, atol=TOL[dtype], rtol=0, msg=what)


def _apply_all(state, mats, qubits, n, tile, out=None):
    """Every group of the layer, one kernel call each."""
    for bits, members in layer.layer_groups(qubits, n, tile):
        index = [qubits.index(q) for q in members]
        state = layer.apply_layer(state, mats[:, index], members, n, bits, tile, out)
    return state


def test_groups_cover_each_qubit_once_and_fit_the_tile():
    for n in range(1, 30):
        for tile in (4, 6, 12):
            qubits = list(range(n))[::-1]
            groups = layer.layer_groups(qubits, n, tile)
            assert sorted(q for _, members in groups for q in members) == list(range(n))
            for (lo, h), members in groups:
                assert h <= tile
                assert all(lo <= n - 1 - q < lo + h for q in members)
            assert len(groups) == (1 if n <= tile else 1 + -(-(n - tile) // (tile - 3)))


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shared", [False, True])
def test_forward_matches_the_torch_path(compiled, dtype, shared):
    gen = torch.Generator().manual_seed(1)
    for n in (1, 2, 3, 5, 8, 11, 14):
        for tile in (4, 7, 12):  # several groups, small tiles, the transposed low bits
            qubits = [q for q in torch.randperm(n, generator=gen).tolist() if torch.rand((), generator=gen) < 0.8]
            qubits = qubits or [0]
            state = _states(3, n, dtype, gen)
            mats = _gates(1 if shared else 3, len(qubits), dtype, gen)
            expected = layer.reference_layer(state, mats, qubits, n)
            _close(_apply_all(state, mats, qubits, n, tile), expected, dtype, f"n={n} tile={tile}")
            out = torch.empty_like(state)
            groups = layer.layer_groups(qubits, n, tile)
            if len(groups) == 1:  # into a buffer (one group: out never aliases the input)
                (bits, members), index = groups[0], [qubits.index(q) for q in groups[0][1]]
                layer.apply_layer(state, mats[:, index], members, n, bits, tile, out)
                _close(out, expected, dtype, f"out n={n} tile={tile}")


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shared", [False, True])
def test_backward_matches_autograd_through_the_torch_path(compiled, dtype, shared):
    gen = torch.Generator().manual_seed(2)
    for n, tile in ((3, 12), (6, 4), (9, 5), (12, 12), (13, 6)):
        qubits = torch.randperm(n, generator=gen).tolist()[: max(1, n - 1)]
        state = _states(4, n, dtype, gen)
        mats = _gates(1 if shared else 4, len(qubits), dtype, gen)
        cotangent = _states(4, n, dtype, gen)
        leaves = [state.clone().requires_grad_(), mats.clone().requires_grad_()]
        want = torch.autograd.grad(layer.reference_layer(*leaves, qubits, n), leaves, cotangent)
        leaves = [state.clone().requires_grad_(), mats.clone().requires_grad_()]
        got = torch.autograd.grad(_apply_all(*leaves, qubits, n, tile), leaves, cotangent)
        for g, w, name in zip(got, want, ("state", "matrices"), strict=True):
            _close(g, w, dtype, f"grad {name} n={n} tile={tile}")


@pytest.mark.parametrize("dtype", [torch.complex128, torch.float64])
def test_gradcheck(compiled, dtype):
    gen = torch.Generator().manual_seed(3)
    n, qubits = 4, (3, 0, 2)
    state = _random((2, 2**n), dtype, gen).requires_grad_()
    mats = _random((2, len(qubits), 2, 2), dtype, gen).requires_grad_()
    for tile in (12, 2):  # one group; three groups
        assert torch.autograd.gradcheck(lambda s, m, tile=tile: _apply_all(s, m, list(qubits), n, tile), (state, mats))


def test_second_derivatives_recompute_through_torch(compiled):
    gen = torch.Generator().manual_seed(4)
    n, qubits = 4, (0, 2, 3)
    state = _random((2, 2**n), torch.complex128, gen)
    mats = _random((2, 3, 2, 2), torch.complex128, gen).requires_grad_()

    def loss(path, m):
        return path(state, m, qubits, n).abs().square().sum()

    def native_path(s, m, qs, n):
        return _apply_all(s, m, list(qs), n, 12)

    (g1,) = torch.autograd.grad(loss(native_path, mats), [mats], create_graph=True)
    (h1,) = torch.autograd.grad(g1.abs().square().sum(), [mats])
    (g2,) = torch.autograd.grad(loss(layer.reference_layer, mats), [mats], create_graph=True)
    (h2,) = torch.autograd.grad(g2.abs().square().sum(), [mats])
    torch.testing.assert_close(h1, h2, atol=0, rtol=1e-12)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_the_adjoint_step_matches_its_definition(compiled, dtype):
    """``layer_backward`` from ``conj(psi_in)``: ``U^dagger phi`` and ``phi_out psi_in^dagger`` per gate."""
    gen = torch.Generator().manual_seed(5)
    n, qubits = 7, (6, 1, 2, 4)
    ((bits, members),) = layer.layer_groups(qubits, n)
    psi, phi = _states(3, n, dtype, gen), _states(3, n, dtype, gen)
    mats = _gates(3, 4, dtype, gen)
    index = [qubits.index(q) for q in members]
    out = torch.empty_like(phi)
    grads = layer.layer_backward(phi, psi.conj(), mats[:, index], members, n, bits, layer.TILE_LOG2, out)
    leaves = [psi.clone(), mats[:, index].clone().requires_grad_()]
    want = torch.autograd.grad(layer.reference_layer(leaves[0], leaves[1], members, n), [leaves[1]], phi)[0]
    _close(grads, want, dtype)
    adjoint = layer.reference_layer(phi, mats[:, index].conj().mT.contiguous(), members, n)
    _close(out, adjoint, dtype)


# -- the engine's layer variant ---------------------------------------------------------------------


def _hea(n: int, layers: int = 2) -> Circuit:
    x, w = ParameterVector("x", n), ParameterVector("w", 2 * n * layers)
    circuit = Circuit(n)
    for layer_index in range(layers):
        for q in range(n):
            circuit = circuit.ry(x[q], q).ry(w[2 * n * layer_index + q], q).rz(w[2 * n * layer_index + n + q], q)
        for q in range(n):
            circuit = circuit.cx(q, (q + 1) % n)
    return circuit


def _run(circuit, dtype, diff_method, values):
    leaves = {k: v.clone().requires_grad_() for k, v in values.items()}
    n = circuit.num_qubits
    out = TorchBackend(dtype=dtype, diff_method=diff_method).expval(circuit, [Z(0), X(n - 1) @ Z(1)], leaves)
    grads = torch.autograd.grad(out.square().sum(), list(leaves.values()))
    with torch.no_grad():
        buffered = TorchBackend(dtype=dtype).expval(circuit, [Z(0), X(n - 1) @ Z(1)], values)
    return out.detach(), buffered, grads


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
def test_the_engine_gives_the_same_numbers_with_and_without_the_kernel(compiled, monkeypatch, dtype, diff_method):
    gen = torch.Generator().manual_seed(6)
    for n in (7, 13):  # one group; two groups (tile 12)
        circuit = _hea(n).compose(random_circuit(n, depth=6, seed=n, parameter_name="t"))
        real = torch.float64 if dtype == torch.complex128 else torch.float32
        values = {k: torch.rand(5, m, generator=gen, dtype=real) * 3 for k, m in circuit.parameters.items()}
        monkeypatch.setenv(native.ENV_SWITCH, "off")
        expected = _run(circuit, dtype, diff_method, values)
        monkeypatch.setenv(native.ENV_SWITCH, "on")
        run = engine._Execution(compile_plan(circuit), dtype, torch.device("cpu"), grad=True)
        assert run.tile is not None and any(step.kind == "layer" for step in run.steps)
        got = _run(circuit, dtype, diff_method, values)
        tol = 1e-5 if dtype == torch.complex64 else 1e-11
        for a, b in zip(got[:2], expected[:2], strict=True):
            torch.testing.assert_close(a, b, atol=tol, rtol=0)
        for a, b in zip(got[2], expected[2], strict=True):
            torch.testing.assert_close(a, b, atol=20 * tol, rtol=0)


def test_the_real_path_and_evolve_use_the_kernel_too(compiled):
    n = 8
    theta = ParameterVector("theta", 2 * n)
    circuit = Circuit(n)
    for q in range(n):
        circuit = circuit.ry(theta[q], q)
    for q in range(n - 1):
        circuit = circuit.cz(q, q + 1)
    for q in range(n):
        circuit = circuit.ry(theta[n + q], q)
    plan = compile_plan(circuit)
    assert plan.real
    values = {"theta": torch.rand(3, 2 * n, dtype=torch.float64, requires_grad=True)}
    tensors = plan.step_tensors(values, 3, torch.float64, torch.device("cpu"))
    state = torch.rand(3, 2**n, dtype=torch.float64)
    got = engine.evolve(plan, tensors, state)
    run = engine._Execution(plan, torch.float64, torch.device("cpu"), grad=True)
    assert run.tile is not None
    steps, _ = plan.layer_steps(layer.TILE_LOG2)
    want = state
    constants = plan.constant_tensors(torch.float64, torch.device("cpu"))
    for step, const in zip(plan.steps, constants, strict=True):  # the torch steps, by hand
        operand = None if step.kind == "monomial" else engine._step_operand(step, tensors, const, slice(0, 3), plan)
        want = engine._apply(step, want, operand, const, n, None)
    assert [s.kind for s in steps].count("layer") == 2
    torch.testing.assert_close(got, want, atol=1e-12, rtol=0)
    (g1,) = torch.autograd.grad(got.sum(), [values["theta"]], retain_graph=True)
    (g2,) = torch.autograd.grad(want.sum(), [values["theta"]])
    torch.testing.assert_close(g1, g2, atol=1e-12, rtol=0)


def test_layer_steps_keep_every_other_step_and_their_constants():
    circuit = _hea(14, layers=3).h(0).cx(0, 5).rz(0.3, 2)
    plan = compile_plan(circuit)
    steps, source = plan.layer_steps(12)
    kinds = [s.kind for s in steps]
    assert kinds.count("layer") == 6  # three layers, two groups each (12 low qubits, 2 high)
    assert [s for s in steps if s.kind != "layer"] == [
        s for s in plan.steps if (s.tensor != 0 and s.tensor < 1 + len(plan._multi_keys)) or s.tensor < 0
    ]
    for step, i in zip(steps, source, strict=True):
        if i >= 0:
            assert plan.steps[i] is step
    covered = sorted(p for s in steps if s.kind == "layer" for p in s.positions)
    assert covered == list(range(3 * 14))


# -- without a compiler -----------------------------------------------------------------------------


def test_a_failed_build_warns_once_and_the_engine_runs_on_torch(monkeypatch):
    def fail(source):
        raise OSError("no C++ compiler found (simulated)")

    monkeypatch.setenv(native.ENV_SWITCH, "on")
    monkeypatch.setattr(native, "_build", fail)
    native.reset()
    try:
        circuit = _hea(8)
        values = {k: torch.rand(4, m) for k, m in circuit.parameters.items()}
        with pytest.warns(RuntimeWarning, match=r"compiled layer kernel could not be built \(OSError: no C\+\+"):
            got = _run(circuit, torch.complex64, "backprop", values)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # a second run: no second warning
            again = _run(circuit, torch.complex64, "adjoint", values)
        assert native.library() is None
        torch.testing.assert_close(got[0], again[0], atol=1e-5, rtol=0)
        monkeypatch.setenv(native.ENV_SWITCH, "off")
        torch.testing.assert_close(_run(circuit, torch.complex64, "backprop", values)[0], got[0], atol=1e-6, rtol=0)
    finally:
        native.reset()


def test_the_off_switch_never_builds(monkeypatch):
    monkeypatch.setenv(native.ENV_SWITCH, "off")
    monkeypatch.setattr(native, "_build", lambda source: pytest.fail("built with the switch off"))
    native.reset()
    try:
        assert native.library() is None
        run = engine._Execution(compile_plan(_hea(9)), torch.complex64, torch.device("cpu"), grad=False)
        assert run.tile is None and run.steps is run.plan.steps
    finally:
        native.reset()


def test_importing_circuits_builds_nothing(tmp_path):
    """The build happens at first use, never at import."""
    import os
    import subprocess
    import sys

    env = dict(os.environ, QML_HYBRID_CACHE_DIR=str(tmp_path), QML_HYBRID_NATIVE="on")
    code = (
        "import circuits, circuits.sim.engine, circuits.sim.torch_backend; from circuits.sim import native; "
        "print(native._state)"
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "{}"
    assert not (tmp_path / "native").exists()


def test_layer_steps_pass_steps_on_no_qubits_through(compiled, monkeypatch):
    theta = ParameterVector("theta", 7)
    circuit = _hea(6, layers=1).append("global_phase", (), [theta[6]])
    for q in range(6):
        circuit = circuit.rx(theta[q], q)
    values = {"x": torch.rand(2, 6), "w": torch.rand(2, 12), "theta": torch.rand(2, 7)}
    steps, _ = compile_plan(circuit).layer_steps(layer.TILE_LOG2)
    assert [s.kind for s in steps].count("layer") == 2 and any(not s.qubits for s in steps)
    got = TorchBackend().state(circuit, values)
    monkeypatch.setenv(native.ENV_SWITCH, "off")
    torch.testing.assert_close(got, TorchBackend().state(circuit, values), atol=1e-6, rtol=0)


@pytest.mark.skipif(not HAVE_COMPILER, reason="no C++ compiler on this machine")
def test_without_ninja_the_compiler_alone_builds_it(monkeypatch, tmp_path):
    from torch.utils import cpp_extension

    monkeypatch.setenv(native.ENV_SWITCH, "on")
    monkeypatch.setenv(tuning.ENV_CACHE_DIR, str(tmp_path))
    monkeypatch.setattr(cpp_extension, "is_ninja_available", lambda: False)
    monkeypatch.setattr(cpp_extension, "load", lambda *a, **k: pytest.fail("cpp_extension.load needs ninja"))
    native.reset()
    try:
        assert native.library() is not None, native._state.get("error")
        assert list(tmp_path.glob("native/layer-*/qml_hybrid_layer_*.so"))
        gen = torch.Generator().manual_seed(9)
        state, mats = _states(2, 5, torch.complex128, gen), _gates(2, 3, torch.complex128, gen)
        got = _apply_all(state, mats, [4, 0, 2], 5, 12)
        _close(got, layer.reference_layer(state, mats, [4, 0, 2], 5), torch.complex128)
    finally:
        native.reset()


def test_the_kernel_rejects_what_would_take_it_out_of_its_buffers(compiled):
    state, mats = torch.zeros(2, 16, dtype=torch.complex64), torch.zeros(2, 2, 2, 2, dtype=torch.complex64)
    out = torch.empty_like(state)
    with pytest.raises(ValueError, match=r"not distinct qubits of the group \(0, 2\)"):
        native.forward(state, mats, (0, 3), 4, (0, 2), 12, out)  # qubit 0 is bit 3, outside bits 0-1
    with pytest.raises(ValueError, match=r"expected matrices of shape \(1 or 2, 2, 2, 2\), got \(2, 3, 2, 2\)"):
        native.forward(state, torch.zeros(2, 3, 2, 2, dtype=torch.complex64), (2, 3), 4, (0, 4), 12, out)
    with pytest.raises(ValueError, match=r"expected states of shape \(B, 32\)"):
        native.forward(state, mats, (2, 3), 5, (0, 5), 12, out)
    with pytest.raises(ValueError, match="CPU states and matrices of one dtype"):
        native.forward(state, mats.to(torch.complex128), (2, 3), 4, (0, 4), 12, out)
    with pytest.raises(ValueError, match="writes only into plain contiguous tensors"):
        native.forward(state, mats, (2, 3), 4, (0, 4), 12, torch.empty(16, 2, dtype=torch.complex64).T)
