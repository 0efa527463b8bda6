"""Physics-informed components: PINNs with trial functions, constraints and causal training, quantum wells.

* :class:`PINNLoss`: a differential operator's residual on collocation points (autograd derivatives,
  :func:`derivative`) plus constraints (:class:`Normalisation`, :class:`Condition`), optionally causally
  weighted in time (:class:`CausalWeighting`); a :class:`qml.training.ModelLoss`, so ``fit`` trains it.
* :class:`DirichletTrial`: trial functions that vanish at both ends of an interval for any weights, with any
  body (:func:`tanh_mlp`, a QKAN, a quantum circuit: :func:`reuploading_body`).
* The quantum-well PINN of Sarkar 2025: :class:`SchrodingerPINN` (``psi`` and a trainable energy) and
  :func:`schrodinger_loss`; square wells and barriers with their exact and finite-difference references.
* :class:`AllenCahn` and :class:`PeriodicPINN`: the time-dependent showcase of causal training (Wang,
  Sankaran, Perdikaris 2022), with a spectral reference solution.

See docs/pinn.md.
"""

from __future__ import annotations

from qml.physics.allen_cahn import AllenCahn, PeriodicPINN, SpaceTimeSolution
from qml.physics.autodiff import derivative, gradient
from qml.physics.causal import CausalWeighting
from qml.physics.domain import Domain
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
    "Levels",
    "Normalisation",
    "PINNLoss",
    "PeriodicPINN",
    "Residual",
    "SchrodingerPINN",
    "SchrodingerResidual",
    "SpaceTimeSolution",
    "SquarePotential",
    "check_potential",
    "derivative",
    "exact_ground_energy",
    "finite_difference_levels",
    "gradient",
    "infinite_well",
    "infinite_well_ground_state",
    "reuploading_body",
    "schrodinger_loss",
    "square_barrier",
    "square_well",
    "tanh_mlp",
]
