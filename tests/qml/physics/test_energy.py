"""The energy metric of Table 1 against closed forms: exact, time-rescaled and damped springs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from qml.data.hamiltonian import mass_spring_field, mass_spring_hamiltonian, two_body_field, two_body_hamiltonian
from qml.physics import energy_rollout, numpy_field

X0 = np.array([[0.6, -0.3], [0.1, 0.9], [-0.8, 0.2]])
T = np.linspace(0.0, 20.0, 100)


def test_the_true_field_scores_zero():
    rollout = energy_rollout(numpy_field(mass_spring_field), mass_spring_field, mass_spring_hamiltonian, X0, T)
    assert rollout.energy_mse < 1e-14 and rollout.state_mse < 1e-14  # RK45 at 1e-9 over 6 periods
    np.testing.assert_allclose(rollout.true_energy, (X0**2).sum(-1, keepdims=True).repeat(len(T), 1), rtol=1e-10)
    assert rollout.true_states.shape == rollout.predicted_states.shape == (3, 100, 2)


def test_a_field_that_conserves_the_energy_scores_zero_energy_error_whatever_its_phase_error():
    def fast(x: torch.Tensor) -> torch.Tensor:  # three times the true speed: the same energy surfaces
        return 3.0 * torch.stack([2 * x[:, 1], -2 * x[:, 0]], dim=-1)

    rollout = energy_rollout(fast, mass_spring_field, mass_spring_hamiltonian, X0, T)
    assert rollout.energy_mse < 1e-14
    assert rollout.state_mse > 0.05  # the states are far from the truth


@pytest.mark.parametrize("method", ["rk45", "leapfrog"])
def test_a_damped_field_scores_its_closed_form_energy_mse(method):
    gamma = 0.05

    def damped(x: torch.Tensor) -> torch.Tensor:  # d(q^2 + p^2)/dt = -2 gamma (q^2 + p^2): H(t) = H0 exp(-2 gamma t)
        return torch.stack([2 * x[:, 1], -2 * x[:, 0]], dim=-1) - gamma * x

    rollout = energy_rollout(damped, mass_spring_field, mass_spring_hamiltonian, X0, T, method=method, substeps=4)
    h0 = (X0**2).sum(-1, keepdims=True)
    expected = h0**2 * (1.0 - np.exp(-2 * gamma * T)) ** 2
    np.testing.assert_allclose(
        rollout.energy_mse_per_trajectory(), expected.mean(axis=1), rtol=3e-3 if method == "leapfrog" else 1e-7
    )
    assert rollout.energy_mse == pytest.approx(expected.mean(), rel=3e-3)  # leapfrog: O(h^2) with h = 0.05


def test_two_body_energy_is_scored_in_eight_dimensions():
    x0 = np.array([[1.0, -1.0, 0.5, -0.5, -0.2, 0.2, 0.3, -0.3]])
    rollout = energy_rollout(
        numpy_field(two_body_field), two_body_field, two_body_hamiltonian, x0, np.linspace(0, 5, 21)
    )
    assert rollout.energy_mse < 1e-16 and rollout.predicted_energy.shape == (1, 21)


def test_an_unknown_method_is_refused():
    with pytest.raises(ValueError, match="method must be 'rk45' or 'leapfrog', got 'euler'"):
        energy_rollout(
            numpy_field(mass_spring_field), mass_spring_field, mass_spring_hamiltonian, X0, T, method="euler"
        )
