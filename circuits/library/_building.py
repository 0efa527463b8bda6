"""Shared pieces of the templates: argument checks and the operation builders they compose.

A private module of :mod:`circuits.library` (the templates in ``ansatze`` and ``encodings``
both use it); its names carry no leading underscore inside the module, the module does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector

__all__ = [
    "ENTANGLERS",
    "ROTATIONS",
    "check_choice",
    "check_count",
    "check_distinct",
    "check_rotations",
    "check_vector",
    "entangler_ops",
    "ring_pairs",
    "rotation_ops",
]

ROTATIONS = ("rx", "ry", "rz")
"""Single-qubit rotation gates a template may use."""

ENTANGLERS = ("cx", "cz")
"""Two-qubit gates a template may use to entangle neighbours."""


def check_count(name: str, value: object, *, minimum: int = 1) -> int:
    """Validate a count argument such as ``num_qubits`` (an int ``>= minimum``)."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__}).")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}.")
    return int(value)


def check_vector(role: str, vector: ParameterVector | str, size: int, layout: str) -> ParameterVector:
    """Return ``vector`` (or a new vector of that name) after checking that it has ``size`` entries.

    Args:
        role: the argument's name, for messages (``"weights"``).
        vector: a parameter vector, or a name to create one with ``size`` entries.
        size: the number of entries the template needs.
        layout: how ``size`` is computed, e.g. ``"num_layers * num_qubits * 3 = 2 * 4 * 3"``.
    """
    if isinstance(vector, str):
        return ParameterVector(vector, size)
    if not isinstance(vector, ParameterVector):
        raise TypeError(
            f"{role} must be a ParameterVector (or a name to create one), got {type(vector).__name__}. "
            f"Create it as ParameterVector({role!r}, {size})."
        )
    if vector.size != size:
        raise ValueError(
            f"{role} ParameterVector {vector.name!r} must have {layout} = {size} entries, got {vector.size}. "
            f"Create it as ParameterVector({vector.name!r}, {size}) or pass the name {vector.name!r} instead."
        )
    return vector


def check_distinct(*vectors: ParameterVector) -> None:
    """Raise when two roles (inputs, weights, ...) share a vector name."""
    names = [v.name for v in vectors]
    if len(set(names)) != len(names):
        raise ValueError(
            f"The parameter vectors of a template need distinct names, got {names}; "
            "for example inputs 'x' and weights 'w'."
        )


def check_choice(role: str, value: object, choices: Sequence[str]) -> str:
    """Validate a gate-name option against the allowed ``choices``."""
    if not isinstance(value, str):
        raise TypeError(f"{role} must be one of {list(choices)}, got {value!r} ({type(value).__name__}).")
    if value not in choices:
        raise ValueError(f"{role} must be one of {list(choices)}, got {value!r}.")
    return value


def check_rotations(rotations: object) -> tuple[str, ...]:
    """Validate a non-empty sequence of rotation gate names."""
    if isinstance(rotations, str) or not isinstance(rotations, Sequence):
        raise TypeError(
            f"rotations must be a sequence of gate names from {list(ROTATIONS)}, e.g. ('ry', 'rz'); got {rotations!r}."
        )
    if not rotations:
        raise ValueError(f"rotations needs at least one gate name from {list(ROTATIONS)}, got an empty sequence.")
    return tuple(check_choice("each rotation", r, ROTATIONS) for r in rotations)


def ring_pairs(num_qubits: int, ring: bool) -> list[tuple[int, int]]:
    """Nearest-neighbour pairs ``(i, i + 1)``, closed into a ring when ``ring`` and ``num_qubits > 2``."""
    pairs = [(i, i + 1) for i in range(num_qubits - 1)]
    if ring and num_qubits > 2:
        pairs.append((num_qubits - 1, 0))
    return pairs


def entangler_ops(gate: str, pairs: Sequence[tuple[int, int]]) -> list[Operation]:
    """One two-qubit ``gate`` per pair."""
    return [Operation.create(gate, pair) for pair in pairs]


def rotation_ops(num_qubits: int, rotations: Sequence[str], weights: ParameterVector, layer: int) -> list[Operation]:
    """``rotations[k](weights[(layer * n + i) * R + k])`` on every qubit ``i``, qubit by qubit."""
    width = len(rotations)
    ops = []
    for i in range(num_qubits):
        base = (layer * num_qubits + i) * width
        ops.extend(Operation.create(gate, i, (weights[base + k],)) for k, gate in enumerate(rotations))
    return ops
