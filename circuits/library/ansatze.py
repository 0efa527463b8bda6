"""Variational templates: trainable layers of rotations and entangling gates.

Every template is a pure function returning a :class:`~circuits.ir.circuit.Circuit`
whose angles are entries of the parameter vectors it is given. Weights live in one
flat :class:`~circuits.ir.parameters.ParameterVector`; each docstring gives its size
and the index of every angle, so a torch tensor of shape ``(num_layers, num_qubits, k)``
binds as ``tensor.reshape(-1)``.

A parameter vector may be given as a name (``weights="w"``): the template then
creates the vector with the size it needs.

Entangling patterns (``ring=True``) follow PennyLane's ``BasicEntanglerLayers``:
gates ``(i, i + 1)`` for ``i < n - 1`` plus the closing gate ``(n - 1, 0)`` when
``n > 2``; two qubits get one gate, one qubit none.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.ir.circuit import Circuit
from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector
from circuits.library._building import (
    ENTANGLERS,
    check_choice,
    check_count,
    check_rotations,
    check_vector,
    entangler_ops,
    ring_pairs,
    rotation_ops,
)

__all__ = ["hardware_efficient_ansatz", "strongly_entangling_layers"]


def hardware_efficient_ansatz(
    num_qubits: int,
    num_layers: int,
    weights: ParameterVector | str,
    *,
    rotations: Sequence[str] = ("ry", "rz"),
    entangler: str = "cx",
    ring: bool = True,
) -> Circuit:
    """Layers of trainable single-qubit rotations followed by a ring of entangling gates.

    Layer ``l`` of ``num_layers``, on ``n = num_qubits`` qubits with ``R = len(rotations)``::

        for i in range(n):   rotations[0](w[(l*n + i)*R + 0]) ... rotations[R-1](w[(l*n + i)*R + R-1]) on qubit i
        for i in range(n):   entangler(i, (i + 1) % n)     # see the module docstring for n <= 2, ring=False

    With the defaults: ``RY(w[l,i,0])`` then ``RZ(w[l,i,1])`` on every qubit, then CNOT
    ``i -> i+1 mod n``.

    Args:
        num_qubits: number of qubits ``n >= 1``.
        num_layers: number of layers ``L >= 1``.
        weights: vector of ``L * n * R`` angles; ``w[l, i, k]`` (the k-th rotation of
            qubit i in layer l) is entry ``(l * n + i) * R + k``.
        rotations: the rotation gates applied to each qubit, in order (``"rx"``, ``"ry"``, ``"rz"``).
        entangler: ``"cx"`` (control ``i``, target ``i + 1``) or ``"cz"``.
        ring: close the chain with the gate ``(n - 1, 0)``; ``False`` gives an open chain.

    Returns:
        The circuit; its parameters are ``{weights.name: L * n * R}``.

    Raises:
        TypeError: a count is not an int, ``weights`` is not a ParameterVector or name.
        ValueError: a count below 1, an unknown gate name, or ``weights`` of the wrong size.
    """
    n = check_count("num_qubits", num_qubits)
    layers = check_count("num_layers", num_layers)
    rots = check_rotations(rotations)
    gate = check_choice("entangler", entangler, ENTANGLERS)
    layout = f"num_layers * num_qubits * len(rotations) = {layers} * {n} * {len(rots)}"
    w = check_vector("weights", weights, layers * n * len(rots), layout)
    pairs = ring_pairs(n, bool(ring))
    ops: list[Operation] = []
    for layer in range(layers):
        ops.extend(rotation_ops(n, rots, w, layer))
        ops.extend(entangler_ops(gate, pairs))
    return Circuit(n, ops)


def strongly_entangling_layers(
    num_qubits: int,
    num_layers: int,
    weights: ParameterVector | str,
    *,
    ranges: Sequence[int] | None = None,
    entangler: str = "cx",
) -> Circuit:
    """PennyLane's ``StronglyEntanglingLayers`` (Schuld et al. 2020, arXiv:1804.00633), gate for gate.

    Layer ``l`` of ``num_layers``, on ``n = num_qubits`` qubits::

        for i in range(n):   Rot(w[l,i,0], w[l,i,1], w[l,i,2]) on qubit i
                             # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi): RZ(phi) is applied first
        for i in range(n):   entangler(i, (i + r_l) % n)          # only when n > 1

    The default range of layer ``l`` is ``r_l = (l mod (n - 1)) + 1``, as in PennyLane.

    Args:
        num_qubits: number of qubits ``n >= 1``.
        num_layers: number of layers ``L >= 1``.
        weights: vector of ``L * n * 3`` angles; ``w[l, i, k]`` is entry ``(l * n + i) * 3 + k``,
            so PennyLane's weight tensor of shape ``(L, n, 3)`` binds as ``weights.reshape(-1)``.
        ranges: the range ``r_l`` of each layer (``L`` ints, none a multiple of ``n``); the default above when ``None``.
        entangler: ``"cx"`` (PennyLane's default ``imprimitive=CNOT``) or ``"cz"``.

    Returns:
        The circuit; its parameters are ``{weights.name: L * n * 3}``.

    Raises:
        TypeError: a count or range is not an int, ``weights`` is not a ParameterVector or name.
        ValueError: a count below 1, ``weights`` of the wrong size, ``ranges`` of the wrong length or with a
            multiple of ``num_qubits``, or an unknown entangler.
    """
    n = check_count("num_qubits", num_qubits)
    layers = check_count("num_layers", num_layers)
    gate = check_choice("entangler", entangler, ENTANGLERS)
    w = check_vector("weights", weights, layers * n * 3, f"num_layers * num_qubits * 3 = {layers} * {n} * 3")
    if ranges is None:
        ranges = tuple((layer % (n - 1)) + 1 for layer in range(layers)) if n > 1 else (0,) * layers
    else:
        if isinstance(ranges, str) or not isinstance(ranges, Sequence):
            raise TypeError(f"ranges must be a sequence of {layers} ints (one per layer), got {ranges!r}.")
        ranges = tuple(check_count("each range", r, minimum=0 if n == 1 else 1) for r in ranges)
        if len(ranges) != layers:
            raise ValueError(f"ranges needs one int per layer: expected {layers}, got {len(ranges)} ({ranges}).")
        if n > 1:
            bad = [r for r in ranges if r % n == 0]
            if bad:
                raise ValueError(
                    f"ranges must not be multiples of num_qubits={n} (the gate would act twice on one qubit), "
                    f"got {bad}."
                )
    ops: list[Operation] = []
    for layer in range(layers):
        ops.extend(rotation_ops(n, ("rz", "ry", "rz"), w, layer))
        if n > 1:
            ops.extend(entangler_ops(gate, [(i, (i + ranges[layer]) % n) for i in range(n)]))
    return Circuit(n, ops)
