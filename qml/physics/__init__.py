"""Physics-informed components: Hamiltonian neural networks and PINNs, with classical, QKAN or quantum bodies.

* Hamiltonian neural networks (Greydanus, Dzamba, Yosinski, NeurIPS 2019; ``docs/hnn.md``): :class:`HNN`
  wraps any scalar network ``H(q, p)`` and returns the symplectic field; the baseline MLP; symplectic
  (:func:`stormer_verlet`) and adaptive (:func:`solve_ivp_rollout`) rollouts; the paper's energy metric
  (:func:`energy_rollout`).
* Physics-informed networks (``docs/pinn.md``): :class:`PINNLoss`, a differential operator's residual on
  collocation points (autograd derivatives, :func:`derivative`) plus constraints (:class:`Normalisation`,
  :class:`Condition`), optionally causally weighted in time (:class:`CausalWeighting`); a
  :class:`qml.training.ModelLoss`, so ``fit`` trains it. :class:`DirichletTrial`: trial functions that vanish
  at both ends of an interval, with any body (an MLP, a QKAN, a quantum circuit: :func:`reuploading_body`).
  The quantum-well PINN of Sarkar 2025 (:class:`SchrodingerPINN`, a trainable energy) with square wells and
  barriers and their exact and finite-difference references; :class:`AllenCahn` and :class:`PeriodicPINN`,
  the time-dependent showcase of causal training (Wang, Sankaran, Perdikaris 2022).

Two MLPs: :func:`orthogonal_tanh_mlp` is the HNN reference code's (orthogonal weights, no output bias);
:func:`tanh_mlp` is the PINN bodies' (PyTorch's default ranges, any dtype).
"""

from __future__ import annotations

from qml.physics.allen_cahn import AllenCahn, PeriodicPINN, SpaceTimeSolution
from qml.physics.autodiff import derivative, gradient
from qml.physics.causal import CausalWeighting
from qml.physics.domain import Domain
from qml.physics.energy import EnergyRollout, energy_rollout
from qml.physics.errors import IntegrationError, PhysicsError
from qml.physics.hnn import (
    HNN,
    baseline_mlp,
    canonical_matrix,
    hamiltonian_mlp,
    orthogonal_tanh_mlp,
    symplectic_gradient,
)
from qml.physics.integrators import model_field, numpy_field, solve_ivp_rollout, stormer_verlet
from qml.physics.pinn import Condition, Constraint, Normalisation, PINNLoss, Residual
from qml.physics.quantum_wells import (
    Levels,
    SquarePotential,
    exact_ground_energy,
    finite_difference_levels,
    infinite_well,
    infinite_well_ground_state,
    square_barrier,
    square_well,
)
from qml.physics.schrodinger import SchrodingerPINN, SchrodingerResidual, check_potential, schrodinger_loss
from qml.physics.trial import DirichletTrial, reuploading_body, tanh_mlp

__all__ = [
    "AllenCahn",
    "CausalWeighting",
    "Condition",
    "Constraint",
    "DirichletTrial",
    "Domain",
    "EnergyRollout",
    "HNN",
    "IntegrationError",
    "Levels",
    "Normalisation",
    "PINNLoss",
    "PeriodicPINN",
    "PhysicsError",
    "Residual",
    "SchrodingerPINN",
    "SchrodingerResidual",
    "SpaceTimeSolution",
    "SquarePotential",
    "baseline_mlp",
    "canonical_matrix",
    "check_potential",
    "derivative",
    "energy_rollout",
    "exact_ground_energy",
    "finite_difference_levels",
    "gradient",
    "hamiltonian_mlp",
    "infinite_well",
    "infinite_well_ground_state",
    "model_field",
    "numpy_field",
    "orthogonal_tanh_mlp",
    "reuploading_body",
    "schrodinger_loss",
    "solve_ivp_rollout",
    "square_barrier",
    "square_well",
    "stormer_verlet",
    "symplectic_gradient",
    "tanh_mlp",
]
