"""``ProviderBackend``: the Backend protocol through the job runner, on a scripted provider.

Exact results equal our engine; sampled ones agree within shot noise; a training step of a model with
P trainable parameters sends exactly one submission; bad input is refused before anything is sent.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, X, Y, Z
from circuits.errors import SimulationMemoryError
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


# -- what a forward pass sends (issue 10, item 1) --------------------------------------------------


def _jobs(journal: Journal) -> list[tuple[int, int]]:
    """``(circuit executions, of them gradient ones)`` of every job in the journal, oldest first."""
    return [(job.summary["bindings"], job.summary.get("gradient_bindings", 0)) for job in journal.list()]


def _predict(backend, inputs: torch.Tensor, observables=None) -> torch.Tensor:
    """A 4-input prediction in eval mode, without torch.no_grad(): the weights still require grad."""
    circuit = data_reuploading(2, 2, inputs="x", weights="w")
    layer = QuantumLayer(circuit, observables or [Z(0)], backend, generator=torch.Generator().manual_seed(0))
    layer.eval()
    assert all(p.requires_grad for p in layer.parameters())
    return layer(inputs)


INPUTS = torch.tensor([[0.2, -0.4], [1.0, 0.3], [-0.7, 0.9], [0.5, 0.5]])


@pytest.mark.parametrize("shots", [None, 300])
def test_a_forward_pass_sends_only_the_forward_circuits(tmp_path, shots):
    backend, provider = _backend(tmp_path, shots=shots)
    out = _predict(backend, INPUTS, [Z(0), X(0)])  # two measurement bases when sampled
    groups = 1 if shots is None else 2
    assert _jobs(backend.runner.journal) == [(4 * groups, 0)]
    assert len(provider.submissions()) == 1
    out.sum().backward()  # a backward that does follow sends the shifted circuits, in one more job
    (forward, backward) = _jobs(backend.runner.journal)
    assert forward == (4 * groups, 0) and backward[0] == backward[1] > 4 * groups


def test_a_forward_pass_on_a_fake_ibm_device_is_one_job_of_four_circuits(tmp_path):
    """The issue's case: a 4-input prediction on a fake IBM device was one job of 132 executions."""
    pytest.importorskip("qiskit_ibm_runtime")
    journal = Journal(tmp_path / "journal.sqlite")
    lines: list[str] = []
    backend = ProviderBackend("ibm:fake_manila", shots=200, seed=1, journal=journal, log=lines.append)
    _predict(backend, INPUTS)
    assert _jobs(journal) == [(4, 0)]
    assert lines[0].startswith("1 job, 4 circuit executions x 200 shots = 800 shots on ibm:fake_manila")
    assert "gradient" not in lines[0]


def _step_gradients(tmp_path, name: str, marked: bool) -> tuple[torch.Tensor, list[tuple[int, int]]]:
    backend, _ = _backend(tmp_path / name)
    circuit = data_reuploading(2, 2, inputs="x", weights="w")
    weights = torch.linspace(-1.0, 1.2, circuit.parameters["w"], dtype=torch.float64).requires_grad_()
    values = {"x": INPUTS.double(), "w": weights}

    def step():
        loss = backend.expval(circuit, [Z(0), X(1) @ Z(0)], values).square().sum()
        (grad,) = torch.autograd.grad(loss, weights)
        return grad

    if marked:
        with training_step():
            grad = step()
    else:
        grad = step()
    return grad, _jobs(backend.runner.journal)


def test_a_marked_training_step_is_one_job_with_the_gradients_of_the_two_job_path(tmp_path):
    one_job, jobs_marked = _step_gradients(tmp_path, "marked", marked=True)
    two_jobs, jobs_unmarked = _step_gradients(tmp_path, "unmarked", marked=False)
    assert len(jobs_marked) == 1 and jobs_marked[0][1] > 0 and jobs_marked[0][0] == jobs_marked[0][1] + 4
    assert len(jobs_unmarked) == 2 and jobs_unmarked[0] == (4, 0) and jobs_unmarked[1][0] == jobs_unmarked[1][1]
    torch.testing.assert_close(one_job, two_jobs, atol=1e-12, rtol=0)

    circuit = data_reuploading(2, 2, inputs="x", weights="w")  # central finite differences on our engine
    engine = TorchBackend(dtype=torch.complex128)
    base = torch.linspace(-1.0, 1.2, circuit.parameters["w"], dtype=torch.float64)

    def loss(w: torch.Tensor) -> float:
        return float(engine.expval(circuit, [Z(0), X(1) @ Z(0)], {"x": INPUTS.double(), "w": w}).square().sum())

    h = 1e-6
    finite = torch.stack(
        [torch.tensor((loss(base + h * e) - loss(base - h * e)) / (2 * h)) for e in torch.eye(len(base))]
    )
    torch.testing.assert_close(one_job, finite.double(), atol=1e-6, rtol=0)


def test_a_marked_forward_without_backward_has_paid_for_the_shifted_circuits(tmp_path):
    """Documented: inside training_step() the shifted circuits ride along whether or not backward follows."""
    backend, _ = _backend(tmp_path)
    with training_step():
        _predict(backend, INPUTS)
    ((total, gradient),) = _jobs(backend.runner.journal)
    assert total == 4 + gradient and gradient > 0


# -- exact probabilities (issue 10, item 9) --------------------------------------------------------


def test_probabilities_of_eight_qubits_are_one_circuit_and_2_to_the_m_z_strings(tmp_path, monkeypatch):
    backend, provider = _backend(tmp_path, num_qubits=8)
    sent = []
    submit = provider.submit
    monkeypatch.setattr(provider, "submit", lambda submission: sent.append(submission) or submit(submission))
    circuit = random_circuit(8, depth=3, seed=1)
    probs = backend.probs(circuit)
    ((submission,),) = [sent]
    assert len(submission.batches) == 1 and len(submission.observables) == 2**8 - 1
    assert all(len(op) == 1 for op in submission.observables)  # one Pauli term each, not 2**8 per projector
    torch.testing.assert_close(probs, TorchBackend(dtype=torch.complex128).probs(circuit), atol=1e-10, rtol=0)


# -- shots beyond a device's limit or a simulator's means (issue 10, item 7) ----------------------------


def test_shots_past_the_device_limit_are_refused_when_the_backend_is_made(tmp_path):
    provider = ScriptedProvider(state_dir=tmp_path / "service")
    provider._target = dataclasses.replace(provider.target(), max_shots=100_000)  # a device that states its limit
    with pytest.raises(ValueError, match=r"shots=1000000 exceeds scripted:sim's limit of 100000 shots per circuit"):
        ProviderBackend(provider, shots=1_000_000, journal=Journal(tmp_path / "j.sqlite"))
    backend = ProviderBackend(provider, shots=1000, journal=Journal(tmp_path / "j.sqlite"), log=None)
    with pytest.raises(ValueError, match="shots=200000 exceeds scripted:sim's limit of 100000"):
        backend.sample(Circuit(1).h(0), shots=200_000)
    assert provider.submissions() == []


def test_huge_shots_on_a_simulator_are_refused_before_anything_is_sent(tmp_path):
    backend, provider = _backend(tmp_path, shots=10**12)
    with pytest.raises(  # its samples would not fit, nor would sampling them end (no limit known: a simulator)
        (SimulationMemoryError, ValueError), match=r"ProviderBackend\(scripted:sim\): 1000000000000 shots x 2 circuit"
    ):
        backend.expval(Circuit(2).h(0), [Z(0), X(0)])  # two bases: two executions
    small, _ = _backend(tmp_path / "small", shots=10)
    with pytest.raises(SimulationMemoryError, match=r"Samples\(shots=1000000000000\) of 2 qubit\(s\)"):  # Backend.run
        small.sample(Circuit(2).h(0), shots=10**12)
    assert provider.submissions() == []


def test_a_rerun_finds_its_job_after_the_exporter_and_the_transpiler_change(tmp_path, monkeypatch):
    """A Qiskit upgrade between a crash and the rerun, simulated: other exporter output, other ISA circuits."""
    import qiskit
    from qiskit import qasm3, qpy
    from qiskit.providers.fake_provider import GenericBackendV2

    from hardware.submission import legacy_submission_key, submission_key

    provider = ScriptedProvider(state_dir=tmp_path / "service", num_qubits=5)
    provider._target = dataclasses.replace(provider.target(), qiskit_target=GenericBackendV2(5, seed=3).target)
    circuit = data_reuploading(2, 1, inputs="x", weights="w")
    values = {"x": INPUTS, "w": torch.linspace(-1, 1, circuit.parameters["w"])}

    def run() -> tuple[torch.Tensor, list]:
        backend = ProviderBackend(provider, shots=500, seed=2, journal=Journal(tmp_path / "j.sqlite"), log=None)
        sent = []
        runner_run = backend.runner.run
        monkeypatch.setattr(backend.runner, "run", lambda s: sent.append(s) or runner_run(s))
        return backend.expval(circuit, [Z(0), X(1)], values), sent

    before, (first,) = run()
    real_transpile, real_dumps, real_dump = qiskit.transpile, qasm3.dumps, qpy.dump

    def upgraded_transpile(*args, **kwargs):
        isa = real_transpile(*args, **kwargs)
        isa.barrier()  # a new Qiskit lays the same work out differently
        return isa

    monkeypatch.setattr(qiskit, "transpile", upgraded_transpile)
    monkeypatch.setattr(qasm3, "dumps", lambda c, **k: "// exported by a newer Qiskit\n" + real_dumps(c, **k))
    monkeypatch.setattr(qpy, "dump", lambda programs, f, **k: f.write(b"newer") and real_dump(programs, f, **k))
    after, (second,) = run()
    assert len(provider.submissions()) == 1  # found in the journal, not paid again
    torch.testing.assert_close(after, before, atol=0, rtol=0)
    assert second.batches[0].circuit != first.batches[0].circuit  # what would be sent did change ...
    target = provider.target()
    assert legacy_submission_key(second, target) != legacy_submission_key(first, target)  # ... and the old key
    assert submission_key(second, target) == submission_key(first, target)
