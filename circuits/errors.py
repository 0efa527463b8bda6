"""Every exception raised by the ``circuits`` package.

Each class derives from :class:`CircuitError` and from the built-in exception a
caller would expect (``ValueError`` for a wrong value, ``TypeError`` for a wrong
type), so ``except ValueError`` keeps working. Messages say what was expected,
what was given, and how to fix it.

This module imports nothing (not even the rest of ``circuits``): :mod:`circuits._provenance` may load
it by path while the name ``circuits`` belongs to another distribution.
"""

from __future__ import annotations

__all__ = [
    "BackendExecutionError",
    "BackendUnavailableError",
    "BindingError",
    "CircuitError",
    "ConversionError",
    "GateArityError",
    "InvalidChannelError",
    "NoiseModelWarning",
    "NonFiniteAngleError",
    "NotHermitianError",
    "NotUnitaryError",
    "QasmError",
    "QubitIndexError",
    "ShadowedPackageError",
    "SimulationMemoryError",
    "UnboundParameterError",
    "UnknownGateError",
    "UnsupportedChannelError",
]


class CircuitError(Exception):
    """Base class of every error raised by ``circuits``."""


class UnknownGateError(CircuitError, ValueError):
    """A gate name that is not in the registry :data:`circuits.ir.gates.GATES`."""


class GateArityError(CircuitError, ValueError):
    """A gate was given the wrong number of qubits or parameters."""


class QubitIndexError(CircuitError, ValueError):
    """A qubit index outside ``range(num_qubits)`` or repeated within one gate."""


class UnboundParameterError(CircuitError, ValueError):
    """A symbolic parameter vector of the circuit has no value in the binding."""


class BindingError(CircuitError, ValueError):
    """Parameter values that do not fit the circuit: surplus names, wrong length, shapes that do not broadcast."""


class NonFiniteAngleError(CircuitError, ValueError):
    """An angle or a bound parameter value is NaN or infinite."""


class NotHermitianError(CircuitError, ValueError):
    """A matrix that must be Hermitian (an evolution Hamiltonian, an observable) is not."""


class NotUnitaryError(CircuitError, ValueError):
    """A matrix given as a gate is not unitary."""


class InvalidChannelError(CircuitError, ValueError):
    """A noise channel that is not one (the message names the parameter, the value and the valid range).

    Kraus operators that are not trace preserving, a probability outside its range, ``T2 > 2 T1``.
    """


class UnsupportedChannelError(CircuitError, ValueError):
    """A noise channel given to something that handles unitary circuits only; the message names the fix.

    The state-vector engine, inverses, OpenQASM, the parameter-shift rule of a noise strength, devices.
    """


class NoiseModelWarning(UserWarning):
    """A noise model that leaves part of a circuit noiseless: gates it has no rule for (see ``docs/noise.md``).

    Turn it into an error with ``warnings.filterwarnings("error", category=NoiseModelWarning)``.
    """


class SimulationMemoryError(CircuitError, MemoryError):
    """A state vector, or a result such as a ``Samples`` tensor, of the requested size would not fit in memory."""


class ConversionError(CircuitError, ValueError):
    """A circuit from another framework that a ``Circuit`` cannot represent (the message names the part)."""


class QasmError(CircuitError, ValueError):
    """OpenQASM text that cannot be parsed or converted; the message names the line."""


class BackendExecutionError(CircuitError, RuntimeError):
    """A vendor simulator or device reported a failure while running a validated circuit."""


class BackendUnavailableError(CircuitError, RuntimeError):
    """A backend or device that this installation cannot provide (for example Aer on GPU without qiskit-aer-gpu)."""


class ShadowedPackageError(CircuitError, ImportError):
    """``circuits``, ``qml`` or ``hardware`` resolves to another distribution's package, or shares its folder.

    Raised on import by each of the three packages (:mod:`circuits._provenance`); the message names the
    other distribution, where it is installed, and the fix. ``name`` and ``path`` are the import name and
    what it resolved to, as for any ``ImportError``.
    """
