"""DARUAN: the single-qubit data re-uploading activation of QKAN (Jiang, Huang, Chen, Goan 2025, arXiv 2509.14026).

One activation ``phi(x) = <0| U^dagger Z U |0>`` (Born rule) with
``U = W^(r+1) S(a_r) W^(r) ... S(a_1) W^(1) H``: trainable blocks ``W`` and data gates ``S`` whose
angles ``a_l`` are the pre-processed inputs (``a_l = w_l * x + b_l`` in QKAN). The ansatzes follow
the reference package (``qkan``, ``solver/exact.py``), gate for gate:

=========  =====================================================================  ==================
ansatz     circuit (after ``H`` on ``|0>``)                                      ``theta`` per edge
=========  =====================================================================  ==================
``pz``     ``[RZ(t_l0) RY(t_l1) RZ(a_l)]_{l<r}  RZ(t_r0) RY(t_r1)`` (the default)  ``(r + 1, 2)``
``rpz``    ``[RY(t_l0) RZ(a_l)]_{l<r}  RY(t_r0)``                                 ``(r + 1, 1)``
``px``     ``[RZ(t_l0) RX(a_l)]_{l<r}  RZ(t_r0)`` (qkan passes ``acos(w x + b)``)   ``(r + 1, 1)``
``mix``    ``[RZ(t_l0) RX(t_l1) RY(a_l)]_{l<r}  RZ(t_r0) RX(t_r1)``               ``(r + 1, 2)``
``real``   ``[X RY(t_l0) Z RY(a_l)]_{l<r}`` (no final block)                       ``(r, 1)``
=========  =====================================================================  ==================

A program (:func:`daruan_program`) lists the gates once; :func:`daruan_circuit` turns it into a
:class:`~circuits.ir.circuit.Circuit` that any backend runs, and the fast path of ``qml.kan``
executes the same program on Bloch vectors, so both always describe the same function.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from circuits.ir.circuit import Circuit
from circuits.ir.parameters import ParameterVector

__all__ = ["DARUAN_ANSATZES", "DaruanGate", "daruan_circuit", "daruan_program", "daruan_theta_shape"]

DARUAN_ANSATZES = ("pz", "rpz", "px", "mix", "real")
"""The ansatz names :func:`daruan_program` knows."""

_BLOCKS: dict[str, tuple[tuple[str, ...], str, tuple[str, ...] | None]] = {
    # ansatz: (trainable gates of one block, data gate, gates of the final block or None)
    "pz": (("rz", "ry"), "rz", ("rz", "ry")),
    "rpz": (("ry",), "rz", ("ry",)),
    "px": (("rz",), "rx", ("rz",)),
    "mix": (("rz", "rx"), "ry", ("rz", "rx")),
    "real": (("x", "ry", "z"), "ry", None),
}


@dataclass(frozen=True)
class DaruanGate:
    """One gate of a DARUAN program.

    Attributes:
        name: ``"h"``, ``"x"``, ``"z"``, ``"rx"``, ``"ry"`` or ``"rz"``.
        source: where a rotation's angle comes from: ``("theta", layer, k)`` (trainable,
            ``theta[layer, k]``), ``("angle", layer)`` (the data angle ``a_layer``), or ``None``
            for a fixed gate.
    """

    name: str
    source: tuple[str, int] | tuple[str, int, int] | None = None


def _check(reps: int, ansatz: str) -> None:
    if isinstance(reps, bool) or not isinstance(reps, int) or reps < 1:
        raise ValueError(f"DARUAN needs reps >= 1 (data re-uploadings), got {reps!r}.")
    if ansatz not in _BLOCKS:
        raise ValueError(f"unknown DARUAN ansatz {ansatz!r}; choose one of {', '.join(DARUAN_ANSATZES)}.")


def daruan_theta_shape(reps: int, ansatz: str = "pz") -> tuple[int, int]:
    """Shape ``(blocks, angles per block)`` of one activation's trainable ``theta``."""
    _check(reps, ansatz)
    block, _, final = _BLOCKS[ansatz]
    width = sum(1 for g in block if g.startswith("r"))
    return (reps + (final is not None), width)


def daruan_program(reps: int, ansatz: Literal["pz", "rpz", "px", "mix", "real"] = "pz") -> tuple[DaruanGate, ...]:
    """The gates of one DARUAN activation, in order, starting from ``|0>``."""
    _check(reps, ansatz)
    block, data_gate, final = _BLOCKS[ansatz]
    gates = [DaruanGate("h")]
    for layer in range(reps):
        k = 0
        for name in block:
            if name.startswith("r"):
                gates.append(DaruanGate(name, ("theta", layer, k)))
                k += 1
            else:
                gates.append(DaruanGate(name))
        gates.append(DaruanGate(data_gate, ("angle", layer)))
    if final is not None:
        gates.extend(DaruanGate(name, ("theta", reps, k)) for k, name in enumerate(final))
    return tuple(gates)


def daruan_circuit(
    reps: int,
    ansatz: Literal["pz", "rpz", "px", "mix", "real"] = "pz",
    *,
    theta: ParameterVector | str = "theta",
    angles: ParameterVector | str = "angle",
) -> Circuit:
    """One DARUAN activation as a one-qubit circuit; measure ``Z(0)`` for ``phi``.

    Args:
        reps: data re-uploadings ``r >= 1``.
        ansatz: one of :data:`DARUAN_ANSATZES`.
        theta: the trainable angles, flattened: ``theta[l, k]`` is entry ``l * K + k`` of a vector of
            ``blocks * K`` entries (:func:`daruan_theta_shape`).
        angles: the ``r`` data angles ``a_l`` (QKAN binds ``a_l = w_l * x + b_l``, computed classically so
            the same circuit serves every pre-processing).

    Returns:
        A one-qubit circuit with parameters ``{theta: blocks * K, angles: r}``.
    """
    blocks, width = daruan_theta_shape(reps, ansatz)
    theta = ParameterVector(theta, blocks * width) if isinstance(theta, str) else theta
    angles = ParameterVector(angles, reps) if isinstance(angles, str) else angles
    if theta.size != blocks * width or angles.size != reps:
        raise ValueError(
            f"a {ansatz!r} DARUAN with {reps} reps needs theta of size {blocks * width} and angles of size "
            f"{reps}, got {theta.size} and {angles.size}."
        )
    circuit = Circuit(1)
    for gate in daruan_program(reps, ansatz):
        if gate.source is None:
            circuit = circuit.append(gate.name, (0,))
        elif gate.source[0] == "theta":
            _, layer, k = gate.source
            circuit = circuit.append(gate.name, (0,), (theta[layer * width + k],))
        else:
            circuit = circuit.append(gate.name, (0,), (angles[gate.source[1]],))
    return circuit
