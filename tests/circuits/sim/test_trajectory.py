"""The trajectory engine against the density matrix (within 5 standard errors, issue 14's bar), its gradients
(unbiased: the mean of independent estimates agrees with the exact gradient), and its limits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from circuits import CHANNELS, Channel, Circuit, NoiseModel, ParameterVector, TorchBackend, X, Y, Z
from circuits.backend import Expectation, Probabilities, Samples, StateVector
from circuits.errors import SimulationMemoryError
from circuits.testing import random_noisy_circuit

GATES = ["h", "x", "sx", "rx", "ry", "rz", "u", "cx", "cz", "crx", "rzz", "swap", "unitary"]


def _within(estimate, error, exact, sigmas: float = 5.0) -> None:
    gap = (estimate - exact).abs()
    assert torch.all(gap <= sigmas * error + 1e-12), f"max gap in standard errors: {(gap / error).max():.2f}"


@pytest.mark.parametrize("channel", sorted(CHANNELS))
def test_every_channel_agrees_with_the_density_matrix_within_five_standard_errors(channel: str) -> None:
    circuit = random_noisy_circuit(3, 4, 5, channels=[channel], gates=GATES)
    observables = [Z(0), X(1) @ Z(2), Y(0) @ Y(2) + 0.5 * Z(1)]
    exact = TorchBackend(dtype=torch.complex128).expval(circuit, observables)
    backend = TorchBackend(dtype=torch.complex128, method="trajectory", trajectories=4000)
    result = backend.run_trajectories(
        circuit, measurement=Expectation(observables), generator=torch.Generator().manual_seed(1)
    )
    assert result.value.shape == exact.shape and result.trajectories == 4000
    _within(result.value, result.standard_error, exact)
    probs = TorchBackend(dtype=torch.complex128).probs(circuit, qubits=[2, 0])
    sampled = backend.run_trajectories(
        circuit, measurement=Probabilities((2, 0)), generator=torch.Generator().manual_seed(2)
    )
    _within(sampled.value, sampled.standard_error, probs)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_noisy_circuits_with_a_noise_model_and_batches(seed: int) -> None:
    theta = ParameterVector("theta", 2)
    model = (
        NoiseModel()
        .add_all_qubit_error([Channel.amplitude_damping(0.15), Channel.depolarizing(0.1)], ["ry", "rx", "h"])
        .add_all_qubit_error(Channel.depolarizing(0.1, 2), "cx")
        .add_readout_error([[0.9, 0.1], [0.2, 0.8]], 1)
    )
    circuit = random_noisy_circuit(3, 3, seed, gates=["h", "cx"]).ry(theta[0], 0).rx(theta[1], 2).cx(2, 1)
    values = {"theta": torch.tensor([[0.3, -1.1], [2.0, 0.6]], dtype=torch.float64)}
    exact = TorchBackend(dtype=torch.complex128, noise_model=model)
    sampled = TorchBackend(dtype=torch.complex128, noise_model=model, method="trajectory", trajectories=3000)
    generator = torch.Generator().manual_seed(seed)
    for measurement in (Expectation([Z(0), X(2) @ Z(1)]), Probabilities((1, 2))):
        result = sampled.run_trajectories(circuit, values, measurement=measurement, generator=generator)
        assert result.value.shape[0] == 2
        _within(result.value, result.standard_error, exact.run(circuit, values, measurement=measurement))


def test_a_fixed_generator_reproduces_and_run_returns_the_estimate() -> None:
    circuit = Circuit(2).h(0).cx(0, 1).amplitude_damping(0.4, 1).bit_flip(0.2, 0)
    backend = TorchBackend(method="trajectory", trajectories=200)
    first = backend.run(circuit, measurement=Expectation(Z(1)), generator=torch.Generator().manual_seed(3))
    again = backend.run(circuit, measurement=Expectation(Z(1)), generator=torch.Generator().manual_seed(3))
    other = backend.run(circuit, measurement=Expectation(Z(1)), generator=torch.Generator().manual_seed(4))
    assert first.dtype == torch.float32
    torch.testing.assert_close(first, again)
    assert not torch.equal(first, other)


def test_gradients_are_unbiased() -> None:
    theta, p = ParameterVector("theta", 2), ParameterVector("p", 2)
    circuit = (
        Circuit(2)
        .ry(theta[0], 0)
        .depolarizing(p[0], 0)
        .cx(0, 1)
        .amplitude_damping(p[1], 1)
        .rx(theta[1], 1)
        .thermal_relaxation(1.0, 1.4, 0.5 * p[1], 0)
    )
    observables = [Z(0) @ Z(1), X(1)]
    weights = torch.tensor([1.0, -0.6], dtype=torch.float64)
    start = {"theta": torch.tensor([0.7, -0.4]).double(), "p": torch.tensor([0.2, 0.3]).double()}

    def gradient(backend: TorchBackend, generator: torch.Generator | None = None) -> torch.Tensor:
        values = {k: v.clone().requires_grad_(True) for k, v in start.items()}
        loss = (backend.run(circuit, values, measurement=Expectation(observables), generator=generator) @ weights).sum()
        return torch.cat(torch.autograd.grad(loss, [values["theta"], values["p"]]))

    exact = gradient(TorchBackend(dtype=torch.complex128))
    sampled = TorchBackend(dtype=torch.complex128, method="trajectory", trajectories=400)
    estimates = torch.stack([gradient(sampled, torch.Generator().manual_seed(s)) for s in range(30)])
    mean, error = estimates.mean(0), estimates.std(0) / 30**0.5
    _within(mean, error, exact)
    assert error.max() < 0.05  # the estimates are informative, not noise


def test_samples_and_refusals() -> None:
    circuit = Circuit(2).h(0).cx(0, 1).amplitude_damping(0.5, 0)
    backend = TorchBackend(dtype=torch.complex128, method="trajectory", trajectories=2000)
    bits = backend.sample(circuit, shots=20_000, generator=torch.Generator().manual_seed(0))
    assert bits.shape == (1, 20_000, 2)
    probs = TorchBackend(dtype=torch.complex128).probs(circuit)[0].numpy()
    frequencies = np.bincount((bits[0, :, 0] * 2 + bits[0, :, 1]).numpy(), minlength=4) / 20_000
    assert np.abs(frequencies - probs).max() < 0.03  # trajectory estimate plus shot noise
    with pytest.raises(ValueError, match="StateVector is not available with method='trajectory'"):
        backend.run(circuit, measurement=StateVector())
    with pytest.raises(ValueError, match=r"trajectories must be an int >= 2"):
        TorchBackend(method="trajectory", trajectories=1)
    with pytest.raises(SimulationMemoryError, match=r"trajectories \(batch_size \* trajectories\) of 30 qubits"):
        TorchBackend(method="trajectory", trajectories=100).probs(Circuit(30).h(0).bit_flip(0.1, 0))
    with pytest.raises(ValueError, match="does not apply to method='trajectory'"):
        TorchBackend(method="trajectory", diff_method="adjoint")


def test_samples_measurement_has_zero_standard_error_field() -> None:
    circuit = Circuit(1).h(0).phase_flip(0.3, 0)
    result = TorchBackend(method="trajectory", trajectories=10).run_trajectories(
        circuit, measurement=Samples(5), generator=torch.Generator().manual_seed(0)
    )
    assert result.value.shape == (1, 5, 1) and not result.standard_error.any()
