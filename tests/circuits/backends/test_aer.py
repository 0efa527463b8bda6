"""AerBackend against TorchBackend (complex128), closed-form noise, shot statistics, and its error messages."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
import torch
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, depolarizing_error

from circuits import Circuit, ParameterVector, PauliSum, Projector, TorchBackend, X, Y, Z
from circuits.backend import Expectation
from circuits.backends.aer import AerBackend, AerOptions
from circuits.errors import BackendUnavailableError, SimulationMemoryError
from circuits.ir.observables import I
from circuits.testing import random_circuit

REF = TorchBackend(dtype=torch.complex128)
OBSERVABLES = [
    Z(0),
    X(1) @ Y(3),
    0.5 * Z(0) @ Z(2) - 0.25 * Y(1) + 1.5,
    PauliSum.from_label("XYZX"),
    Projector.from_bitstring("10", qubits=(3, 1)),
]


def _values(circuit: Circuit, batch: int, seed: int) -> dict[str, torch.Tensor]:
    rng = np.random.default_rng(seed)
    return {
        name: torch.from_numpy(rng.uniform(-np.pi, np.pi, size=(batch, size)))
        for name, size in circuit.parameters.items()
    }


def _depolarizing(p: float, gates: list[str]) -> NoiseModel:
    noise = NoiseModel()
    noise.add_all_qubit_quantum_error(depolarizing_error(p, 1), gates)
    return noise


def _feature_circuit() -> Circuit:
    """Inputs and weights, products of symbols, a shared symbol and controlled rotations (Aer binding pitfalls)."""
    x, w = ParameterVector("x", 2), ParameterVector("w", 4)
    return (
        Circuit(3)
        .ry(x[0] * w[0] + 0.1, 0)
        .rx(x[1], 1)
        .cx(0, 2)
        .crx(w[1], 0, 1)
        .rzz(2.0 * w[0], 1, 2)
        .cp(w[2] - x[0], 2, 0)
        .u(w[3], 0.3, x[1], 1)
        .h(2)
    )


# -- exact agreement with the torch engine ----------------------------------------------------


@pytest.mark.parametrize("seed", range(6))
def test_statevector_matches_torch_on_random_circuits(seed):
    circuit = random_circuit(4, depth=6, seed=seed, parameter_name="theta")
    values = _values(circuit, 3, seed)
    aer = AerBackend()
    torch.testing.assert_close(aer.state(circuit, values), REF.state(circuit, values), atol=1e-10, rtol=0)
    torch.testing.assert_close(aer.probs(circuit, values), REF.probs(circuit, values), atol=1e-10, rtol=0)
    torch.testing.assert_close(
        aer.probs(circuit, values, qubits=(3, 0)), REF.probs(circuit, values, qubits=(3, 0)), atol=1e-10, rtol=0
    )
    expected = REF.expval(circuit, OBSERVABLES, values)
    torch.testing.assert_close(aer.expval(circuit, OBSERVABLES, values), expected, atol=1e-10, rtol=0)


def test_outputs_are_float64_batch_first():
    circuit = _feature_circuit()
    values = _values(circuit, 5, 0)
    aer = AerBackend()
    assert aer.expval(circuit, [Z(0), Z(1)], values).shape == (5, 2)
    assert aer.expval(circuit, [Z(0)], values).dtype == torch.float64
    assert aer.probs(circuit, values, qubits=(1,)).shape == (5, 2)
    state = aer.state(circuit, values)
    assert state.shape == (5, 8) and state.dtype == torch.complex128


def test_shared_values_broadcast_over_the_batch():
    circuit = _feature_circuit()
    values = _values(circuit, 4, 1)
    values["w"] = values["w"][0]  # shape (size,): one weight vector for every input
    torch.testing.assert_close(
        AerBackend().expval(circuit, OBSERVABLES[:1], values), REF.expval(circuit, [Z(0)], values)
    )


def test_global_phase_reaches_the_state():
    theta = ParameterVector("theta", 2)
    circuit = Circuit(2).append("global_phase", (), (theta[0],)).rx(theta[1], 0).cx(0, 1)
    values = {"theta": torch.tensor([[0.3, 0.5], [1.0, 2.0], [-2.5, 0.7]], dtype=torch.float64)}
    torch.testing.assert_close(AerBackend().state(circuit, values), REF.state(circuit, values), atol=1e-12, rtol=0)


def test_state_is_in_our_qubit_order():
    state = AerBackend().state(Circuit(3).x(0))
    expected = torch.zeros(1, 8, dtype=torch.complex128)
    expected[0, 0b100] = 1.0  # qubit 0 is the most significant bit
    torch.testing.assert_close(state, expected)


def test_circuit_without_parameters():
    circuit = Circuit(2).h(0).cx(0, 1)
    torch.testing.assert_close(
        AerBackend().expval(circuit, [Z(0) @ Z(1), X(0)]), torch.tensor([[1.0, 0.0]], dtype=torch.float64)
    )
    counts = AerBackend(seed=1).sample(circuit, shots=64)
    assert counts.shape == (1, 64, 2) and bool((counts[..., 0] == counts[..., 1]).all())


def test_constant_observables_need_no_run():
    circuit = Circuit(1).h(0)
    out = AerBackend().expval(circuit, [I(2.5), 0.0 * Z(0)])
    torch.testing.assert_close(out, torch.tensor([[2.5, 0.0]], dtype=torch.float64))


@pytest.mark.parametrize("seed", range(3))
def test_matrix_product_state_matches_torch(seed):
    circuit = random_circuit(4, depth=5, seed=10 + seed, parameter_name="theta")
    values = _values(circuit, 2, seed)
    mps = AerBackend(method="matrix_product_state")
    torch.testing.assert_close(
        mps.expval(circuit, OBSERVABLES, values), REF.expval(circuit, OBSERVABLES, values), atol=1e-8, rtol=0
    )
    torch.testing.assert_close(mps.probs(circuit, values), REF.probs(circuit, values), atol=1e-8, rtol=0)
    torch.testing.assert_close(mps.state(circuit, values), REF.state(circuit, values), atol=1e-8, rtol=0)


def test_density_matrix_without_noise_matches_torch():
    circuit = random_circuit(4, depth=5, seed=21, parameter_name="theta")
    values = _values(circuit, 2, 21)
    dm = AerBackend(method="density_matrix")
    torch.testing.assert_close(
        dm.expval(circuit, OBSERVABLES, values), REF.expval(circuit, OBSERVABLES, values), atol=1e-10, rtol=0
    )
    torch.testing.assert_close(
        dm.probs(circuit, values, qubits=(2, 1)), REF.probs(circuit, values, qubits=(2, 1)), atol=1e-10, rtol=0
    )


def test_cache_blocking_options_run_on_cpu():
    circuit = random_circuit(4, depth=5, seed=3, parameter_name="theta")
    values = _values(circuit, 2, 3)
    blocked = AerBackend(blocking_enable=True, blocking_qubits=2)
    torch.testing.assert_close(blocked.state(circuit, values), REF.state(circuit, values), atol=1e-10, rtol=0)


# -- gradients: parameter shift, one Aer call for the backward pass ---------------------------


@pytest.mark.parametrize("kind", ["expectation", "probabilities"])
def test_gradients_match_torch_autograd_with_one_call_per_backward(kind):
    circuit = _feature_circuit()
    data = _values(circuit, 3, 7)
    observables = [Z(0) @ X(2) + 0.5 * Y(1), Projector.from_bitstring("1", qubits=(2,))]

    def loss(backend, values):
        if kind == "expectation":
            out = backend.expval(circuit, observables, values)
        else:
            out = backend.probs(circuit, values, qubits=(1, 2))
        weights = torch.linspace(0.5, 1.5, out.shape[-1], dtype=torch.float64)
        return (out * weights).sum()

    ref_values = {k: v.clone().requires_grad_(True) for k, v in data.items()}
    loss(REF, ref_values).backward()

    aer = AerBackend()
    calls = []
    runs = []
    execute = aer._execute
    simulator_run = aer._simulator.run

    def counting_execute(*args, **kwargs):
        calls.append(args[2])  # the batch size of the call
        return execute(*args, **kwargs)

    def counting_run(*args, **kwargs):
        runs.append(1)
        return simulator_run(*args, **kwargs)

    aer._execute = counting_execute
    aer._simulator.run = counting_run
    values = {k: v.clone().requires_grad_(True) for k, v in data.items()}
    value = loss(aer, values)
    assert (len(calls), len(runs)) == (1, 1)
    value.backward()
    assert len(calls) == 2 and len(runs) == 2, "the backward pass must make exactly one execute call / one Aer run"
    assert calls[1] > calls[0]  # all shifted bindings at once
    for name in data:
        torch.testing.assert_close(values[name].grad, ref_values[name].grad, atol=1e-8, rtol=0)


def test_samples_and_states_do_not_track_gradients():
    x = ParameterVector("x", 1)
    values = {"x": torch.tensor([[0.4]], dtype=torch.float64, requires_grad=True)}
    circuit = Circuit(1).ry(x[0], 0)
    assert not AerBackend(seed=0).sample(circuit, values, shots=4).requires_grad
    assert not AerBackend().state(circuit, values).requires_grad


# -- shots ------------------------------------------------------------------------------------


def test_shot_expectations_within_five_sigma():
    circuit = random_circuit(4, depth=6, seed=5, parameter_name="theta")
    values = _values(circuit, 2, 5)
    shots = 4000
    observables = [*OBSERVABLES, 2.0 * X(0) @ X(1) - Y(2) @ Z(3) + 0.3 * Z(1)]
    estimate = AerBackend(shots=shots, seed=11).expval(circuit, observables, values)
    for k, obs in enumerate(observables):
        exact = REF.expval(circuit, [obs], values)[:, 0]
        if isinstance(obs, Projector):
            sigma = torch.sqrt(exact * (1 - exact) / shots)
        else:  # sd of a sum <= sum of the terms' sd (whatever their correlations)
            sigma = sum(
                abs(t.coeff)
                * torch.sqrt((1 - REF.expval(circuit, [PauliSum((t,))], values)[:, 0] ** 2).clamp(min=0) / shots)
                for t in obs.terms
                if t.paulis
            )
        assert bool((abs(estimate[:, k] - exact) <= 5 * sigma + 1e-12).all()), (
            f"observable {k}: {estimate[:, k]} vs {exact}"
        )


def test_shot_expectation_signs_per_basis():
    theta = ParameterVector("theta", 1)
    circuit = Circuit(1).rx(theta[0], 0)  # <Y> = -sin, <Z> = cos, <X> = 0
    shots = 20000
    out = AerBackend(shots=shots, seed=2).expval(circuit, [X(0), Y(0), Z(0)], {"theta": [1.0]})[0]
    expected = torch.tensor([0.0, -math.sin(1.0), math.cos(1.0)], dtype=torch.float64)
    sigma = torch.sqrt((1 - expected**2) / shots)
    assert bool((abs(out - expected) <= 5 * sigma).all()), out


def test_shot_probabilities_within_five_sigma():
    circuit = random_circuit(3, depth=6, seed=8, parameter_name="theta")
    values = _values(circuit, 3, 8)
    shots = 5000
    estimate = AerBackend(shots=shots, seed=4).probs(circuit, values, qubits=(2, 0))
    exact = REF.probs(circuit, values, qubits=(2, 0))
    torch.testing.assert_close(estimate.sum(-1), torch.ones(3, dtype=torch.float64))
    assert bool((abs(estimate - exact) <= 5 * torch.sqrt(exact * (1 - exact) / shots) + 1e-12).all())
    counts = estimate * shots  # counts / shots
    torch.testing.assert_close(counts, torch.round(counts), atol=1e-9, rtol=0)


def test_samples_shape_and_qubit_order():
    samples = AerBackend(seed=0).sample(Circuit(3).x(0), shots=50)
    assert samples.shape == (1, 50, 3) and samples.dtype == torch.int64
    assert bool((samples == torch.tensor([1, 0, 0])).all())
    picked = AerBackend(seed=0).sample(Circuit(3).x(0), shots=7, qubits=(2, 0))
    assert bool((picked == torch.tensor([0, 1])).all())


def test_samples_follow_each_binding():
    x = ParameterVector("x", 1)
    circuit = Circuit(2).ry(x[0], 1)
    samples = AerBackend(seed=3).sample(circuit, {"x": [[0.0], [math.pi], [0.0]]}, shots=20)
    assert samples.shape == (3, 20, 2)
    assert bool((samples[0] == 0).all()) and bool((samples[2] == 0).all())
    assert bool((samples[1] == torch.tensor([0, 1])).all())


def test_sample_frequencies_match_probabilities():
    circuit = random_circuit(3, depth=5, seed=9, parameter_name="theta")
    values = _values(circuit, 1, 9)
    shots = 4000
    bits = AerBackend(seed=5).sample(circuit, values, shots=shots)[0]
    index = bits @ torch.tensor([4, 2, 1])
    freq = torch.bincount(index, minlength=8).double() / shots
    exact = REF.probs(circuit, values)[0]
    assert bool((abs(freq - exact) <= 5 * torch.sqrt(exact * (1 - exact) / shots) + 1e-12).all())


def test_seed_zero_is_a_seed_and_generators_reproduce():
    circuit = Circuit(2).h(0).h(1)
    first = AerBackend(seed=0).sample(circuit, shots=64)
    assert torch.equal(first, AerBackend(seed=0).sample(circuit, shots=64))
    assert not torch.equal(first, AerBackend(seed=1).sample(circuit, shots=64))
    backend = AerBackend(shots=100)
    one, two, three = (
        backend.run(circuit, measurement=Expectation((Z(0),)), generator=torch.Generator().manual_seed(s))
        for s in (4, 4, 5)
    )
    assert torch.equal(one, two)
    assert not torch.equal(one, three)


# -- noise ------------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.3])
def test_depolarizing_noise_exact(p):
    # Qiskit's depolarizing_error(p, 1): rho -> (1 - p) rho + p I / 2, so <Z> after x is -(1 - p).
    backend = AerBackend(noise_model=_depolarizing(p, ["x"]))
    assert backend.options.method == "density_matrix"
    torch.testing.assert_close(backend.expval(Circuit(1).x(0), Z(0)), torch.tensor([[-(1 - p)]], dtype=torch.float64))
    torch.testing.assert_close(
        backend.expval(Circuit(1).x(0).x(0), Z(0)), torch.tensor([[(1 - p) ** 2]], dtype=torch.float64)
    )
    torch.testing.assert_close(backend.probs(Circuit(1).x(0)), torch.tensor([[p / 2, 1 - p / 2]], dtype=torch.float64))


def test_depolarizing_noise_with_shots():
    p, shots = 0.3, 20000
    backend = AerBackend(noise_model=_depolarizing(p, ["x"]), shots=shots, seed=9)
    assert backend.options.method == "statevector"
    value = backend.expval(Circuit(1).x(0), Z(0))[0, 0].item()
    expected = -(1 - p)
    assert abs(value - expected) <= 5 * math.sqrt((1 - expected**2) / shots)
    samples = backend.sample(Circuit(1).x(0), shots=shots)
    ones = samples.double().mean().item()
    assert abs(ones - (1 - p / 2)) <= 5 * math.sqrt(p / 2 * (1 - p / 2) / shots)


def test_noisy_gradients_are_parameter_shift_of_the_noisy_expectation():
    # <Z> of ry(theta) then a depolarized x gate: -(1 - p) cos(theta); d/dtheta = (1 - p) sin(theta).
    p = 0.2
    theta = ParameterVector("theta", 1)
    circuit = Circuit(1).ry(theta[0], 0).x(0)
    values = {"theta": torch.tensor([[0.7], [2.0]], dtype=torch.float64, requires_grad=True)}
    out = AerBackend(noise_model=_depolarizing(p, ["x"])).expval(circuit, Z(0), values)
    out.sum().backward()
    angles = values["theta"].detach()
    torch.testing.assert_close(out.detach(), -(1 - p) * torch.cos(angles), atol=1e-10, rtol=0)
    torch.testing.assert_close(values["theta"].grad, (1 - p) * torch.sin(angles), atol=1e-10, rtol=0)


def test_from_backend_uses_the_device_noise():
    fake_provider = pytest.importorskip("qiskit.providers.fake_provider")
    device = fake_provider.GenericBackendV2(num_qubits=2, seed=1)
    backend = AerBackend.from_backend(device)
    assert backend.options.method == "density_matrix" and backend.options.noise_model is not None
    value = backend.expval(Circuit(2).x(0), Z(0))[0, 0].item()
    assert -1.0 < value < -0.8  # noisy, but close to -1
    with pytest.raises(TypeError, match="do not pass noise_model"):
        AerBackend.from_backend(device, noise_model=NoiseModel())


def test_from_backend_with_an_ibm_fake_device():
    fake = pytest.importorskip("qiskit_ibm_runtime.fake_provider")
    backend = AerBackend.from_backend(fake.FakeManilaV2(), shots=2000, seed=1)
    value = backend.expval(Circuit(2).x(0), Z(0))[0, 0].item()
    assert -1.0 <= value < -0.8


# -- options and errors -----------------------------------------------------------------------


@pytest.mark.parametrize("shots", [0, -1])
def test_nonpositive_shots_are_rejected(shots):
    with pytest.raises(ValueError, match=rf"shots must be a positive int, got {shots}\. Use shots=None"):
        AerBackend(shots=shots)


def test_non_integer_shots_are_rejected():
    with pytest.raises(TypeError, match=r"shots must be a positive int, got 1\.5"):
        AerBackend(shots=1.5)


def test_gpu_without_gpu_build_is_unavailable():
    if "GPU" in AerSimulator().available_devices():
        pytest.skip("this qiskit-aer has GPU support")
    with pytest.raises(BackendUnavailableError, match=r"pip install qiskit-aer-gpu.*qml-hybrid\[gpu\]"):
        AerBackend(device="GPU")


def test_unknown_method_is_rejected():
    with pytest.raises(
        ValueError,
        match=re.escape("AerOptions.method must be one of 'statevector', 'density_matrix', 'matrix_product_state'"),
    ):
        AerBackend(method="stabilizer")


def test_invalid_options_are_rejected():
    with pytest.raises(ValueError, match="A noise model with shots=None needs method='density_matrix'"):
        AerBackend(method="statevector", noise_model=_depolarizing(0.1, ["x"]))
    with pytest.raises(ValueError, match="matrix_product_state' on CPU only"):
        AerBackend(method="matrix_product_state", device="GPU")
    with pytest.raises(ValueError, match="blocking_enable=True needs blocking_qubits"):
        AerBackend(blocking_enable=True)
    with pytest.raises(ValueError, match="set blocking_enable=True"):
        AerBackend(blocking_qubits=20)
    with pytest.raises(ValueError, match=r"AerOptions\.device must be 'CPU' or 'GPU', got 'TPU'"):
        AerBackend(device="TPU")
    with pytest.raises(ValueError, match=r"AerOptions\.seed must be >= 0, got -1"):
        AerBackend(seed=-1)
    with pytest.raises(TypeError, match=r"AerOptions\.noise_model must be a qiskit_aer\.noise\.NoiseModel"):
        AerBackend(noise_model="depolarizing")
    with pytest.raises(ValueError, match=r"AerOptions\.precision must be 'double' or 'single'"):
        AerBackend(precision="half")
    assert AerOptions(device="gpu").device == "GPU"


def test_state_vector_needs_a_pure_state():
    with pytest.raises(ValueError, match="StateVector is not available with method='density_matrix'"):
        AerBackend(method="density_matrix").state(Circuit(1).h(0))
    with pytest.raises(ValueError, match="StateVector is not available with a noise model"):
        AerBackend(noise_model=_depolarizing(0.1, ["x"]), shots=10).state(Circuit(1).h(0))


def test_single_precision_and_simulator_options():
    circuit = random_circuit(3, depth=4, seed=2, parameter_name="theta")
    values = _values(circuit, 2, 2)
    single = AerBackend(precision="single", simulator_options={"max_parallel_experiments": 1})
    out = single.expval(circuit, [Z(0)], values)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, REF.expval(circuit, [Z(0)], values), atol=1e-5, rtol=0)
    assert "method='statevector'" in repr(single)


def test_per_binding_circuits_match_runtime_binding():
    circuit = random_circuit(4, depth=6, seed=31, parameter_name="theta")
    values = _values(circuit, 3, 31)
    plain = AerBackend(runtime_parameter_bind=False)
    torch.testing.assert_close(plain.state(circuit, values), REF.state(circuit, values), atol=1e-10, rtol=0)
    torch.testing.assert_close(
        plain.expval(circuit, OBSERVABLES, values), REF.expval(circuit, OBSERVABLES, values), atol=1e-10, rtol=0
    )


# -- what a forward pass sends; sizes refused before anything runs (issue 10, items 1 and 7) ----------


def test_a_forward_pass_sends_no_shifted_circuit(monkeypatch):
    """Weights that require grad, no backward: only the forward bindings go to Aer, in any mode."""
    from circuits.gradients import training_step
    from circuits.library import data_reuploading

    backend = AerBackend(shots=100, seed=1)
    rows: list[int] = []
    execute = backend._execute
    monkeypatch.setattr(backend, "_execute", lambda c, v, b, m, **k: rows.append(b) or execute(c, v, b, m, **k))
    circuit = data_reuploading(2, 2, inputs="x", weights="w")
    weights = torch.linspace(-1, 1, circuit.parameters["w"], dtype=torch.float64, requires_grad=True)
    inputs = torch.rand(4, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    backend.expval(circuit, [Z(0), X(1)], {"x": inputs, "w": weights})
    with training_step():  # Aer is not eager: a marked step changes nothing either
        out = backend.expval(circuit, [Z(0), X(1)], {"x": inputs, "w": weights})
    assert rows == [4, 4]
    out.sum().backward()
    assert len(rows) == 3 and rows[2] > 4 and weights.grad is not None


def test_too_many_qubits_give_the_memory_estimate_not_a_transpiler_error():
    with pytest.raises(SimulationMemoryError, match=r"cannot simulate 45 qubits: the 2\*\*45-amplitude state vector"):
        AerBackend().probs(Circuit(45).h(0))
    with pytest.raises(SimulationMemoryError, match=r"needs about 512.0 TiB, but Qiskit Aer allows at most \d+ qubits"):
        AerBackend().expval(Circuit(45).h(0), Z(0))
    with pytest.raises(SimulationMemoryError, match="cannot simulate 20 qubits: the 2\\*\\*40-entry density matrix"):
        AerBackend(method="density_matrix").expval(Circuit(20).h(0), Z(0))
    with pytest.raises(SimulationMemoryError, match="matrix_product_state'\\) simulates at most 63 qubits"):
        AerBackend(method="matrix_product_state").expval(Circuit(70).h(0), Z(0))
    wide = AerBackend(method="matrix_product_state").expval(Circuit(45).h(0).cx(0, 44), Z(0) @ Z(44))
    torch.testing.assert_close(wide, torch.ones(1, 1, dtype=torch.float64))  # MPS is exempt from the estimate


def test_the_command_line_reports_the_memory_estimate(tmp_path, capsys):
    from qml.cli import main

    path = tmp_path / "wide.qasm"
    path.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[50];\nh q[0];\ncx q[0],q[49];\n')
    assert main(["run", str(path), "--backend", "aer"]) == 2
    error = capsys.readouterr().err
    assert re.search(r"cannot simulate 50 qubits: the 2\*\*50-amplitude state vector needs about [\d.]+ PiB", error)
    assert "Traceback" not in error and "coupling_map" not in error
    assert main(["run", str(path), "--backend", "aer", "--shots", "1000"]) == 2
    assert "cannot simulate 50 qubits" in capsys.readouterr().err
    bell = tmp_path / "bell.qasm"
    bell.write_text('OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\nh q[0];\ncx q[0],q[1];\n')
    assert main(["run", str(bell), "--backend", "aer", "--shots", "1000000000000"]) == 2
    assert "Samples(shots=1000000000000) of 2 qubit(s)" in capsys.readouterr().err  # Backend.run's check, first


def test_huge_shot_counts_are_refused_before_sampling():
    circuit = Circuit(2).h(0).cx(0, 1)
    with pytest.raises(ValueError, match=r"AerBackend: 1000000000000 shots x 2 circuit execution\(s\) .* would take"):
        AerBackend(shots=10**12).expval(circuit, [Z(0), X(0)])  # counts: bounded memory, but hours of sampling
    with pytest.raises(SimulationMemoryError, match=r"Samples\(shots=1000000000000\) of 2 qubit\(s\)"):
        AerBackend().sample(circuit, shots=10**12)  # Backend.run's check comes first
    with pytest.raises(ValueError, match="would take"):
        AerBackend(shots=10**12).probs(circuit)
