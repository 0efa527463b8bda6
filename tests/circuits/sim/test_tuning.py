"""The engine's per-machine tuning: the cache file, its fallbacks, the off switch, and exactness of every choice."""

from __future__ import annotations

import json

import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, Z
from circuits.sim import engine, kernels, tuning
from circuits.testing import random_circuit

PROBE = tuning.KernelProbe("apply", 1, 8, shared=False, grad=False)
"""A call shape with three candidate forms (matmul, block, elementwise)."""


def _lookup(dtype=torch.complex64):
    return tuning.kernel_form("apply", PROBE.k, PROBE.right, PROBE.shared, PROBE.grad, dtype, torch.device("cpu"))


def _fake_measure(choice: str, calls: list):
    def measure(probe, dtype):
        calls.append((probe.key, dtype))
        return choice, True, {choice: 1e-6}

    return measure


def test_first_use_measures_saves_and_the_next_process_reads_the_file(tuned, monkeypatch):
    calls: list = []
    monkeypatch.setattr(tuning, "_measure_probe", _fake_measure("block", calls))
    assert _lookup() == "block"
    data = json.loads(tuning.cache_path().read_text())
    assert data["version"] == tuning.FORMAT_VERSION
    (entry,) = data["machines"].values()
    assert entry["machine"] == tuning.machine_key("cpu")
    assert entry["kernels"]["complex64"] == {PROBE.key: "block"}

    tuning.reset()  # a new process: the file answers, nothing is measured
    monkeypatch.setattr(tuning, "_measure_probe", lambda *a: pytest.fail("measured although the file had it"))
    assert _lookup() == "block"


def test_a_real_probe_times_every_candidate():
    choice, steady, times = tuning._measure_probe(PROBE, torch.complex64)
    assert set(times) == set(PROBE.candidates())
    assert all(0 < t < 1 for t in times.values())
    assert choice in PROBE.candidates()
    assert isinstance(steady, bool)


def test_chunk_candidates_span_the_cache_and_include_the_built_in():
    assert tuning._chunk_candidates(32 << 20) == (4 << 20, 8 << 20, 16 << 20)
    assert tuning._chunk_candidates(256 << 20) == (8 << 20, 32 << 20, 64 << 20, 128 << 20)
    assert tuning._chunk_candidates(2 << 20) == (1 << 20, 8 << 20)


def test_each_dtype_and_machine_is_measured_separately(tuned, monkeypatch):
    calls: list = []
    monkeypatch.setattr(tuning, "_measure_probe", _fake_measure("block", calls))
    assert _lookup(torch.complex64) == "block"
    assert _lookup(torch.complex64) == "block"
    assert _lookup(torch.complex128) == "block"
    assert calls == [(PROBE.key, torch.complex64), (PROBE.key, torch.complex128)]
    monkeypatch.setattr(tuning, "machine_key", lambda device="cpu": {"cpu": "another", "device": "cpu"})
    tuning.reset()
    assert _lookup(torch.complex64) == "block"
    assert len(calls) == 3
    assert len(json.loads(tuning.cache_path().read_text())["machines"]) == 2


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"version": tuning.FORMAT_VERSION + 1, "machines": {}}),
        json.dumps({"version": 0, "machines": {}}),
        json.dumps([1, 2]),
        json.dumps({"version": tuning.FORMAT_VERSION, "machines": []}),
    ],
    ids=["corrupt", "newer", "older", "not-an-object", "bad-machines"],
)
def test_a_corrupt_or_other_version_file_is_ignored_and_replaced(tuned, monkeypatch, content):
    tuning.cache_path().parent.mkdir(parents=True, exist_ok=True)
    tuning.cache_path().write_text(content)
    calls: list = []
    monkeypatch.setattr(tuning, "_measure_probe", _fake_measure("elementwise", calls))
    assert _lookup() == "elementwise"
    assert len(calls) == 1
    assert json.loads(tuning.cache_path().read_text())["version"] == tuning.FORMAT_VERSION


def test_a_bad_machine_entry_is_ignored(tuned, monkeypatch):
    key = tuning.machine_key("cpu")
    bad = {tuning._machine_id(key): {"kernels": {"complex64": {PROBE.key: 3}}, "chunk_bytes": "big"}}
    tuning.cache_path().write_text(json.dumps({"version": tuning.FORMAT_VERSION, "machines": bad}))
    calls: list = []
    monkeypatch.setattr(tuning, "_measure_probe", _fake_measure("matmul", calls))
    assert _lookup() == "matmul"
    assert calls


def test_the_off_switch_reads_measures_and_writes_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv(tuning.ENV_CACHE_DIR, str(tmp_path))
    tuning.reset()
    monkeypatch.setattr(tuning, "_measure_probe", lambda *a: pytest.fail("measured with tuning off"))
    monkeypatch.setattr(tuning, "_measure_chunk", lambda *a: pytest.fail("measured with tuning off"))
    for value in ("off", "0", "false", "NO"):
        monkeypatch.setenv(tuning.ENV_SWITCH, value)
        assert not tuning.enabled()
        assert _lookup() is None
        assert tuning.chunk_target_bytes(torch.device("cpu")) is None
    backend = TorchBackend()
    x = ParameterVector("x", 14)
    circuit = Circuit(14)
    for q in range(14):
        circuit = circuit.ry(x[q], q)
    backend.expval(circuit, Z(0), {"x": torch.rand(64, 14)})  # 8 MiB of states: chunked, kernels of every size
    assert not tuning.cache_path().exists()


def test_unsteady_measurements_are_used_as_built_in_and_not_saved(tuned, monkeypatch):
    monkeypatch.setattr(tuning, "_measure_probe", lambda probe, dtype: (probe.fallback(dtype), False, {}))
    assert _lookup() == PROBE.fallback(torch.complex64)
    assert not tuning.cache_path().exists()


def test_first_use_measuring_stops_at_the_budget(tuned, monkeypatch):
    calls: list = []
    monkeypatch.setattr(tuning, "_measure_probe", _fake_measure("block", calls))
    tuning._spent[0] = tuning._LAZY_BUDGET_S
    assert _lookup() is None
    assert not calls


def test_an_unwritable_cache_warns_once_and_still_answers(tuned, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(tuning.ENV_CACHE_DIR, str(blocker / "sub"))  # a directory under a file cannot exist
    monkeypatch.setattr(tuning, "_warned_unwritable", False)
    monkeypatch.setattr(tuning, "_measure_probe", _fake_measure("block", []))
    with pytest.warns(RuntimeWarning, match="could not save its kernel tuning"):
        assert _lookup() == "block"
    assert _lookup(torch.complex128) == "block"  # no second warning (pytest's filterwarnings would fail on it)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(tuning.ENV_CACHE_DIR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert tuning.cache_path() == tmp_path / "qml-hybrid" / f"tuning-v{tuning.FORMAT_VERSION}.json"
    monkeypatch.setenv(tuning.ENV_CACHE_DIR, str(tmp_path / "mine"))
    assert tuning.cache_dir() == tmp_path / "mine"


def test_the_tuned_chunk_size_is_used(tuned, monkeypatch):
    monkeypatch.setattr(tuning, "_measure_chunk", lambda: (2 << 20, True, {}))
    cpu = torch.device("cpu")
    assert engine.chunk_size(64, 16, 8, cpu) == 4  # 2 MiB / 512 KiB
    assert engine.chunk_size(2, 16, 8, cpu) == 2  # 1 MiB in all: never split, nothing asked
    saved = json.loads(tuning.cache_path().read_text())
    assert next(iter(saved["machines"].values()))["chunk_bytes"] == 2 << 20
    monkeypatch.setenv(tuning.ENV_SWITCH, "off")
    assert engine.chunk_size(64, 16, 8, cpu) == 16  # the built-in 8 MiB


# -- every choice is exact -------------------------------------------------------------------------


def _random(shape, dtype, gen):
    return tuning._random(shape, dtype, gen)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128, torch.float32, torch.float64])
@pytest.mark.parametrize("shared", [False, True])
def test_every_apply_form_gives_the_built_in_numbers(dtype, shared):
    """Values into ``out`` and out of place, and gradients w.r.t. state and matrix, for every probe shape."""
    n, batch = 8, 3  # run lengths up to 2**7, all the tuner measures
    gen = torch.Generator().manual_seed(7)
    atol = 1e-5 if dtype in (torch.complex64, torch.float32) else 1e-12
    for k in tuning._WIDTHS[shared]:
        for log_r in range(n - k + 1):
            right, qubits = 2**log_r, tuple(range(n - k - log_r, n - log_r))
            state = _random((batch, 2**n), dtype, gen)
            matrix = _random((1 if shared else batch, 2**k, 2**k), dtype, gen)
            cotangent = _random((batch, 2**n), dtype, gen)
            results = {}
            for form in kernels.matrix_form_candidates(k, right):
                out = torch.empty_like(state)
                kernels.apply_matrix(state, matrix, qubits, n, out, form=form)
                leaf, weights = state.clone().requires_grad_(), matrix.clone().requires_grad_()
                value = kernels.apply_matrix(leaf, weights, qubits, n, form=form)
                grads = torch.autograd.grad(value, [leaf, weights], cotangent)
                results[form] = (out, value.detach(), *grads)
            expected = results[kernels.fallback_matrix_form(k, right, "cpu")]
            for form, got in results.items():
                for a, b in zip(got, expected, strict=True):  # entries are O(1) to O(2**n): relative to the largest
                    scale = b.abs().max().item()
                    torch.testing.assert_close(a, b, atol=atol * scale, rtol=0, msg=f"k={k} R={right} {form}")


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_every_gradient_form_gives_the_built_in_numbers(dtype):
    n, batch = 10, 3
    gen = torch.Generator().manual_seed(8)
    atol = 1e-5 if dtype == torch.complex64 else 1e-12
    for k in tuning._WIDTHS[False]:
        for log_r in range(n - k):  # left > 1
            right, qubits = 2**log_r, tuple(range(n - k - log_r, n - log_r))
            phi, psi = _random((batch, 2**n), dtype, gen), _random((batch, 2**n), dtype, gen)
            built_in = kernels.fallback_gradient_form(k, right, "cpu", True)
            expected = kernels.matrix_gradient(phi, psi, qubits, n, form=built_in)
            scale = expected.abs().max().item()
            for form in kernels.gradient_form_candidates(k, right):
                got = kernels.matrix_gradient(phi, psi, qubits, n, form=form)
                torch.testing.assert_close(got, expected, atol=atol * scale, rtol=0, msg=f"k={k} R={right} {form}")


@pytest.mark.parametrize("diff_method", ["backprop", "adjoint"])
def test_the_engine_with_other_choices_everywhere_gives_the_same_results(monkeypatch, diff_method):
    """Through the whole engine: every tuned call shape answered by a non-built-in form, and small chunks."""
    n = 9
    theta = ParameterVector("theta", n)
    circuit = Circuit(n)
    for q in range(n):
        circuit = circuit.ry(theta[q], q)
    circuit = circuit.compose(random_circuit(n, depth=12, seed=5, parameter_name="w"))
    gen = torch.Generator().manual_seed(1)
    values = {
        name: torch.rand(6, size, generator=gen, dtype=torch.float64) for name, size in circuit.parameters.items()
    }

    def run():
        leaves = {name: v.clone().requires_grad_() for name, v in values.items()}
        out = TorchBackend(dtype=torch.complex128, diff_method=diff_method).expval(circuit, [Z(0), Z(n - 1)], leaves)
        return out.detach(), torch.autograd.grad(out.square().sum(), list(leaves.values()))

    expected = run()

    def other_form(op, k, right, shared, grad, dtype, device):
        probe = tuning._probe_for(op, k, right, shared, grad)
        if probe is None:
            return None
        forms = [f for f in probe.candidates() if f != probe.fallback(dtype)]
        return forms[(k + right) % len(forms)]

    monkeypatch.setattr(tuning, "kernel_form", other_form)
    monkeypatch.setattr(tuning, "chunk_target_bytes", lambda device: 2 * 16 * 2**n)  # two samples per chunk
    monkeypatch.setattr(engine, "_SMALLEST_CHUNK_BYTES", 0)
    got = run()
    torch.testing.assert_close(got[0], expected[0], atol=1e-12, rtol=0)
    for a, b in zip(got[1], expected[1], strict=True):
        torch.testing.assert_close(a, b, atol=1e-11, rtol=0)


def test_pick_needs_a_margin_in_both_estimates_and_a_steady_machine():
    assert tuning._pick({"a": [1.0, 1.0, 1.0], "b": [0.5, 0.5, 0.5]}, "a") == ("b", True)
    assert tuning._pick({"a": [1.0, 1.0, 1.0], "b": [0.95, 0.95, 0.95]}, "a") == ("a", True)  # within the margin
    assert tuning._pick({"a": [1.0, 1.0, 1.0], "b": [0.5, 2.0, 2.0, 2.0]}, "a") == ("a", False)  # b's median unsteady
    assert tuning._pick({"a": [1.0, 3.0, 3.0], "b": [2.0, 2.0, 2.0]}, "a") == ("a", False)
    assert tuning._pick({"a": [1.0, 1.0, 1.0], "b": [3.0]}, "a") == ("a", True)  # b dropped after its warm-up


def test_the_layer_choice_is_measured_once_and_steers_the_engine(tuned, monkeypatch):
    from circuits.sim import native
    from circuits.sim.plan import compile_plan

    monkeypatch.setattr(native, "available", lambda: True)
    calls: list = []
    monkeypatch.setattr(tuning, "_measure_probe", _fake_measure("torch", calls))
    assert tuning.layer_form(9, torch.complex64, True) == "torch"
    assert tuning.layer_form(9, torch.complex64, True) == "torch"
    assert tuning.layer_form(3, torch.complex64, True) is None  # below the narrowest probe: the built-in rule
    assert [key for key, _ in calls] == ["layer:n9:grad"]
    saved = next(iter(json.loads(tuning.cache_path().read_text())["machines"].values()))
    assert saved["kernels"]["complex64"]["layer:n9:grad"] == "torch"
    x = ParameterVector("x", 9)
    circuit = Circuit(9)
    for q in range(9):
        circuit = circuit.ry(x[q], q)
    plan = compile_plan(circuit)
    assert engine._layer_tile(plan, torch.complex64, torch.device("cpu"), grad=True) is None  # measured slower
    assert tuning.layer_form(30, torch.complex64, False) == "torch"
    assert calls[-1][0] == "layer:n18:nograd"  # wide plans share the widest probe


# -- the constant-gate fuser's cost model ------------------------------------------------------------

FAST_FIVE = {
    "launch_ns": 2e4,
    "dense_ns": [1.3, 1.1, 1.4, 2.1, 3.2],
    "permute_ns": 2.7,
    "diagonal_ns": 0.4,
    "gather_ns": 1.2,
}
"""A measurement in which 5-qubit blocks pay (3.2 < 2.1 + 1.3)."""


def test_the_fusion_cost_model_is_measured_once_saved_and_steers_compilation(tuned, monkeypatch):
    calls: list = []
    monkeypatch.setattr(tuning, "_measure_fusion", lambda: calls.append(1) or (FAST_FIVE, True, {}))
    costs = tuning.fusion_costs()
    assert costs.dense_max_qubits == 5 and costs.launch_ns == 2e4 and costs.dense(5) == 3.2
    assert tuning.fusion_costs() is costs and calls == [1]
    (entry,) = json.loads(tuning.cache_path().read_text())["machines"].values()
    assert entry["fusion"] == FAST_FIVE

    tuning.reset()  # a new process reads the file
    monkeypatch.setattr(tuning, "_measure_fusion", lambda: pytest.fail("measured although the file had it"))
    assert tuning.fusion_costs() == costs
    from circuits.sim.plan import compile_plan

    layer = Circuit(10)
    for q in range(10):
        layer = layer.h(q)
    assert [len(s.qubits) for s in compile_plan(layer).steps] == [5, 5]


def test_fusion_costs_fall_back_to_the_built_in_model(tuned, monkeypatch):
    from circuits.sim.fusion import DEFAULT_COSTS

    monkeypatch.setattr(tuning, "_measure_fusion", lambda: (FAST_FIVE, False, {}))  # too noisy to keep
    assert tuning.fusion_costs() is DEFAULT_COSTS
    assert not tuning.cache_path().exists()
    tuning.reset()
    key = tuning.machine_key("cpu")
    bad = {tuning._machine_id(key): {"kernels": {}, "fusion": {"dense_ns": [1.0]}}}  # malformed: measured again
    tuning.cache_path().write_text(json.dumps({"version": tuning.FORMAT_VERSION, "machines": bad}))
    monkeypatch.setattr(tuning, "_measure_fusion", lambda: (FAST_FIVE, True, {}))
    assert tuning.fusion_costs().dense_max_qubits == 5
    monkeypatch.setenv(tuning.ENV_SWITCH, "off")
    assert tuning.fusion_costs() is DEFAULT_COSTS


def test_a_real_fusion_measurement_times_every_kind_of_pass():
    measured, steady, fastest = tuning._measure_fusion()
    kinds = {"launch", "dense2_apart", "diagonal", "gather"} | {f"dense{k}" for k in range(1, 6)}
    assert set(fastest) == kinds
    assert all(0 < t < 0.1 for t in fastest.values())
    assert len(measured["dense_ns"]) == 5 and all(x >= 0 for x in measured["dense_ns"])
    assert measured["dense_ns"][4] > measured["dense_ns"][0]  # a 32 x 32 block costs more than a 2 x 2
    assert isinstance(steady, bool)
