"""qml-hybrid's circuit layer: circuit description, observables, backends.

Importing ``circuits`` never loads Qiskit or PennyLane; the converters
(:mod:`circuits.export`) and the Aer / PennyLane backends (:mod:`circuits.backends`)
import them when used.

The names ``circuits``, ``qml`` and ``hardware`` are also used by other distributions: importing this
package raises :class:`~circuits.errors.ShadowedPackageError` when one of them shadows ours
(:mod:`circuits._provenance`).
"""

# The installation check runs before the package's own imports:
# ruff: noqa: E402

from __future__ import annotations

from circuits._provenance import verify_installation

verify_installation(__file__)  # first: a foreign `circuits`, `qml` or `hardware` fails here, loudly

from circuits.backend import Backend, Expectation, Probabilities, Samples, StateVector
from circuits.ir.channels import CHANNELS, ChannelSpec, KrausData
from circuits.ir.circuit import Circuit
from circuits.ir.gates import GATES, GateSpec, MatrixData, PauliLabel
from circuits.ir.observables import PauliString, PauliSum, Projector, X, Y, Z
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, ParameterVector
from circuits.noise import Channel, NoiseModel, ReadoutError
from circuits.sim.torch_backend import TorchBackend, TorchOptions

__all__ = [
    "CHANNELS",
    "GATES",
    "Angle",
    "Backend",
    "Channel",
    "ChannelSpec",
    "Circuit",
    "Expectation",
    "GateSpec",
    "KrausData",
    "MatrixData",
    "NoiseModel",
    "Operation",
    "ParameterVector",
    "PauliLabel",
    "PauliString",
    "PauliSum",
    "Probabilities",
    "Projector",
    "ReadoutError",
    "Samples",
    "StateVector",
    "TorchBackend",
    "TorchOptions",
    "X",
    "Y",
    "Z",
]
