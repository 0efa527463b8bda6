r"""The energy metric of the HNN paper: roll a learned field out and score the true energy along the rollout.

Greydanus et al. 2019, Table 1, "energy MSE" (the reference's ``analyze-*.ipynb`` notebooks and
README): from an initial state, integrate the true dynamics and the learned field over the same
time grid, evaluate the **true** Hamiltonian :math:`H` on both trajectories, and take

.. math::
    \mathrm{MSE}_E = \frac{1}{B\,T} \sum_{b=1}^{B} \sum_{k=1}^{T}
        \left( H\big(x_b(t_k)\big) - H\big(\hat x_b(t_k)\big) \right)^2,

the mean over trajectories and report times. Along the true trajectory :math:`H` is constant (up to the
integration error, ``1e-12`` here), so this is the mean squared drift of the true energy along the
prediction away from its initial value. A model that conserves a wrong energy still scores: its
rollout leaves the true energy surface.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from qml.physics.integrators import Field, numpy_field, solve_ivp_rollout, stormer_verlet, uniform_step

__all__ = ["EnergyRollout", "energy_rollout"]

#: Tolerance of the reference trajectories (as :mod:`qml.data.hamiltonian` integrates its data).
TRUE_TOLERANCE = 1e-12


@dataclass(frozen=True)
class EnergyRollout:
    """True and predicted trajectories from the same initial states, with the true energy along both.

    Attributes:
        t: the report times.
        true_states: the exact dynamics (DOP853, tolerance ``1e-12``).
        predicted_states: the learned field's rollout.
        true_energy: the true Hamiltonian along ``true_states``.
        predicted_energy: the true Hamiltonian along ``predicted_states``.
        method: ``"rk45"`` or ``"leapfrog"``.

    Shape:
        - ``t``: ``(T,)``; states: ``(batch_size, T, 2n)``; energies: ``(batch_size, T)``.
    """

    t: np.ndarray
    true_states: np.ndarray
    predicted_states: np.ndarray
    true_energy: np.ndarray
    predicted_energy: np.ndarray
    method: str

    @property
    def energy_mse(self) -> float:
        """Table 1's energy MSE: the mean of ``(H(x) - H(x_hat))^2`` over trajectories and times."""
        return float(np.mean((self.true_energy - self.predicted_energy) ** 2))

    @property
    def state_mse(self) -> float:
        """The mean squared distance between the true and predicted states (over trajectories, times, coordinates)."""
        return float(np.mean((self.true_states - self.predicted_states) ** 2))

    def energy_mse_per_trajectory(self) -> np.ndarray:
        """The energy MSE of each trajectory, ``(batch_size,)``."""
        return np.mean((self.true_energy - self.predicted_energy) ** 2, axis=1)


def energy_rollout(
    field: Field,
    true_field: Callable[[np.ndarray], np.ndarray],
    hamiltonian: Callable[[np.ndarray], np.ndarray],
    x0: torch.Tensor | np.ndarray,
    t_eval: np.ndarray,
    *,
    method: Literal["rk45", "leapfrog"] = "rk45",
    rtol: float = 1e-9,
    atol: float = 1e-9,
    substeps: int = 10,
) -> EnergyRollout:
    """Roll ``field`` out from ``x0`` beside the true dynamics and measure the true energy along both.

    Args:
        field: the learned field (:func:`~qml.physics.integrators.model_field` of a trained model).
        true_field: the exact numpy field (e.g. :func:`qml.data.hamiltonian.mass_spring_field`).
        hamiltonian: the exact numpy Hamiltonian, ``(..., 2n) -> (...)``.
        x0: initial states (noiseless).
        t_eval: report times, starting at the initial time (uniform for ``"leapfrog"``).
        method: ``"rk45"``: :func:`~qml.physics.integrators.solve_ivp_rollout` (RK45, the paper's metric);
            ``"leapfrog"``: :func:`~qml.physics.integrators.stormer_verlet` (generalized, implicit stages).
        rtol: relative tolerance of RK45.
        atol: absolute tolerance of RK45.
        substeps: leapfrog steps between report times.

    Shape:
        - ``x0``: ``(batch_size, 2n)``; ``t_eval``: ``(T,)``.

    Raises:
        ValueError: an unknown method, a bad grid or bad initial states.
        IntegrationError: a rollout could not be integrated.
    """
    start = torch.as_tensor(x0, dtype=torch.float64)
    t = np.asarray(t_eval, dtype=np.float64)
    true_states = solve_ivp_rollout(
        numpy_field(true_field), start, t, method="DOP853", rtol=TRUE_TOLERANCE, atol=TRUE_TOLERANCE
    ).numpy()
    if method == "rk45":
        predicted = solve_ivp_rollout(field, start, t, method="RK45", rtol=rtol, atol=atol)
    elif method == "leapfrog":
        dt = uniform_step(t, substeps)
        predicted = stormer_verlet(field, start, dt, (len(t) - 1) * substeps, record_every=substeps)
    else:
        raise ValueError(f"method must be 'rk45' or 'leapfrog', got {method!r}.")
    predicted_states = predicted.double().numpy()
    return EnergyRollout(
        t=t,
        true_states=true_states,
        predicted_states=predicted_states,
        true_energy=hamiltonian(true_states),
        predicted_energy=hamiltonian(predicted_states),
        method=method,
    )
