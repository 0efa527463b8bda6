"""Physics-informed models: Hamiltonian neural networks, their rollouts and the energy metric.

Greydanus, Dzamba, Yosinski, "Hamiltonian Neural Networks" (NeurIPS 2019); ``docs/hnn.md``.
"""

from __future__ import annotations

from qml.physics.energy import EnergyRollout, energy_rollout
from qml.physics.errors import IntegrationError, PhysicsError
from qml.physics.hnn import HNN, baseline_mlp, canonical_matrix, hamiltonian_mlp, symplectic_gradient, tanh_mlp
from qml.physics.integrators import model_field, numpy_field, solve_ivp_rollout, stormer_verlet

__all__ = [
    "HNN",
    "EnergyRollout",
    "IntegrationError",
    "PhysicsError",
    "baseline_mlp",
    "canonical_matrix",
    "energy_rollout",
    "hamiltonian_mlp",
    "model_field",
    "numpy_field",
    "solve_ivp_rollout",
    "stormer_verlet",
    "symplectic_gradient",
    "tanh_mlp",
]
