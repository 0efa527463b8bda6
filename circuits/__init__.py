"""qml-hybrid's circuit layer: circuit description, observables, backends.

Importing ``circuits`` never loads Qiskit or PennyLane; the converters
(:mod:`circuits.export`) and the Aer / PennyLane backends (:mod:`circuits.backends`)
import them when used.
"""

from __future__ import annotations

from circuits.backend import Backend, Expectation, Probabilities, Samples, StateVector
from circuits.ir.circuit import Circuit
from circuits.ir.gates import GATES, GateSpec, MatrixData, PauliLabel
from circuits.ir.observables import PauliString, PauliSum, Projector, X, Y, Z
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, ParameterVector
from circuits.sim.torch_backend import TorchBackend, TorchOptions

__all__ = [
    "GATES",
    "Angle",
    "Backend",
    "Circuit",
    "Expectation",
    "GateSpec",
    "MatrixData",
    "Operation",
    "ParameterVector",
    "PauliLabel",
    "PauliString",
    "PauliSum",
    "Probabilities",
    "Projector",
    "Samples",
    "StateVector",
    "TorchBackend",
    "TorchOptions",
    "X",
    "Y",
    "Z",
]
