"""PennyLane's noise channels as our channel operations, for the devices ``qml_hybrid.qubit`` / ``qml_hybrid.mixed``.

Each PennyLane channel with a counterpart in :mod:`circuits.ir.channels` becomes that channel with its
parameters mapped exactly (the conventions differ; checked against the Kraus operators by the tests):

==================================================  ===============================================================
PennyLane                                           ours
==================================================  ===============================================================
``DepolarizingChannel(p)`` (X, Y, Z each ``p/3``)   ``depolarizing(4/3 * p)`` (Qiskit's ``(1 - q) rho + q I / 2``)
``AmplitudeDamping(gamma)``                         ``amplitude_damping(gamma)``
``PhaseDamping(gamma)``                             ``phase_damping(gamma)``
``BitFlip(p)``, ``PhaseFlip(p)``                    ``bit_flip(p)``, ``phase_flip(p)``
``PauliError("X" | "Y" | "Z", p)``                  ``bit_flip(p)``, ``pauli_channel(0, p, 0)``, ``phase_flip(p)``
  (one non-identity letter in the word)               on the wire of that letter
``ThermalRelaxationError(pe, t1, t2, tg)``          ``thermal_relaxation(t1, t2, tg, pe)``
==================================================  ===============================================================

Their parameters stay symbolic in the translated circuit, so they may be trainable torch tensors
(backpropagated through the density-matrix engine) or broadcast over a batch.

Every other channel (``GeneralizedAmplitudeDamping``, ``ResetError``, ``QubitChannel``, a ``PauliError`` on a
word of several letters, a user's ``qp.operation.Channel``) becomes our ``kraus`` channel with PennyLane's
own Kraus operators (big-endian over the operator's wires, as ours). These are constants: a trainable
or broadcast parameter of such a channel is refused with a message naming the channels that take them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pennylane as qp
import torch

from circuits.ir.channels import KrausData
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle

__all__ = ["CHANNEL_OPERATIONS", "is_kraus_fallback", "kraus_channel", "native_channel", "unsupported_channel_error"]

Emit = Callable[[Sequence[int], Sequence[Angle], qp.operation.Operator], list[Operation]]

_PAULI_ERROR_CHANNELS = {"X": "bit_flip", "Z": "phase_flip"}


def _same(name: str) -> Emit:
    return lambda qubits, angles, op: [Operation(name, tuple(qubits), tuple(angles))]


def _depolarizing(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    # PennyLane's p puts X, Y, Z each with p / 3; ours (Qiskit's) q puts each with q / 4: q = 4/3 p.
    return [Operation("depolarizing", tuple(qubits), (angles[0] * (4.0 / 3.0),))]


def _thermal_relaxation(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    excited, t1, t2, gate_time = angles
    return [Operation("thermal_relaxation", tuple(qubits), (t1, t2, gate_time, excited))]


def _pauli_error(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    word = op.hyperparameters["operators"]
    letters = [(q, letter) for q, letter in zip(qubits, word, strict=True) if letter != "I"]
    if not letters:
        return []
    ((qubit, letter),) = letters  # native_channel admits one letter only
    p = angles[0]
    if letter == "Y":
        return [Operation("pauli_channel", (qubit,), (0.0, p, 0.0))]
    return [Operation(_PAULI_ERROR_CHANNELS[letter], (qubit,), (p,))]


CHANNEL_OPERATIONS: dict[str, tuple[Emit, bool]] = {
    "DepolarizingChannel": (_depolarizing, True),
    "AmplitudeDamping": (_same("amplitude_damping"), True),
    "PhaseDamping": (_same("phase_damping"), True),
    "BitFlip": (_same("bit_flip"), True),
    "PhaseFlip": (_same("phase_flip"), True),
    "PauliError": (_pauli_error, True),
    "ThermalRelaxationError": (_thermal_relaxation, True),
}
"""PennyLane channel name -> (how to emit our operations, whether its data are parameters), as the device's table."""


def native_channel(op: qp.operation.Operator) -> bool:
    """Whether ``op`` is a channel of :data:`CHANNEL_OPERATIONS` that maps to one of ours with symbolic parameters."""
    if op.name == "PauliError":
        return sum(letter != "I" for letter in op.hyperparameters["operators"]) <= 1
    return op.name in CHANNEL_OPERATIONS


def _constant(value: object) -> bool:
    if isinstance(value, torch.Tensor):
        return not value.requires_grad
    return qp.math.get_interface(value) in ("numpy", "torch") and not qp.math.requires_grad(value)


def _broadcast(op: qp.operation.Operator) -> bool:
    """Whether a channel's data have a batch axis (scalars, or ``QubitChannel``'s ``(K, d, d)`` matrices)."""
    base = 3 if op.name == "QubitChannel" else 0
    return any(qp.math.ndim(x) > base for x in op.data)


def is_kraus_fallback(op: qp.operation.Operator) -> bool:
    """A channel without a native counterpart whose Kraus operators are constants (not trainable, not broadcast)."""
    return (
        isinstance(op, qp.operation.Channel)
        and not native_channel(op)
        and not _broadcast(op)
        and all(_constant(x) for x in op.data)
    )


def _double(value: object) -> np.ndarray:
    array = value.detach().cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(qp.math.unwrap(value))
    return array.astype(np.complex128 if np.iscomplexobj(array) else np.float64)


def kraus_channel(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    """Our ``kraus`` channel with PennyLane's Kraus operators of ``op`` (checked for trace preservation).

    The operators are computed from the parameters in double precision (single-precision ones would miss
    trace preservation by about 1e-7).
    """
    params = [_double(x) for x in op.data]
    matrices = [np.asarray(k) for k in op.compute_kraus_matrices(*params, **op.hyperparameters)]
    return [Operation("kraus", tuple(qubits), (), KrausData(np.stack(matrices).astype(np.complex128)))]


_DIFFERENTIABLE = (
    "DepolarizingChannel, AmplitudeDamping, PhaseDamping, BitFlip, PhaseFlip, ThermalRelaxationError and "
    "one-letter PauliError"
)


def unsupported_channel_error(op: qp.operation.Operator, device: str) -> qp.exceptions.DeviceError | None:
    """The error for a channel the device runs only with constant Kraus operators (``None`` for other operators)."""
    if not isinstance(op, qp.operation.Channel) or native_channel(op):
        return None
    if _broadcast(op):
        return qp.exceptions.DeviceError(
            f"{device} runs {op.name} on wires {list(op.wires)} as constant Kraus operators, one set per tape, so "
            f"its parameters cannot be broadcast (have a batch axis). The channels {_DIFFERENTIABLE} broadcast; "
            f"otherwise run one tape per value of {op.name}'s parameters."
        )
    if not all(_constant(x) for x in op.data):
        return qp.exceptions.DeviceError(
            f"{device} runs {op.name} on wires {list(op.wires)} as constant Kraus operators, so its parameters "
            f"cannot be trainable. Differentiable channels: {_DIFFERENTIABLE} (their parameters stay symbolic); "
            f"pass {op.name}'s parameters with requires_grad=False, or use default.mixed for its gradient."
        )
    return None
