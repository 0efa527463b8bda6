"""Data-encoding templates: circuits whose angles carry the input features ``x``.

Every template is a pure function returning a :class:`~circuits.ir.circuit.Circuit`.
Inputs are a :class:`~circuits.ir.parameters.ParameterVector` (conventionally ``"x"``)
with one feature per qubit: ``x[i]`` acts on qubit ``i``. Bind a batch of samples as a
tensor of shape ``(batch_size, num_qubits)``. Any classical preprocessing (scaling
into ``[0, pi]``, ``arctan``) happens in torch before binding.

A parameter vector may be given as a name (``inputs="x"``): the template creates
it with the size it needs. Weight layouts are flat; each docstring gives the index of
every angle. Entangling rings follow the convention of :mod:`circuits.library.ansatze`.
"""

from __future__ import annotations

from collections.abc import Sequence

from circuits.ir.circuit import Circuit
from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector
from circuits.library._building import (
    ENTANGLERS,
    ROTATIONS,
    check_choice,
    check_count,
    check_distinct,
    check_rotations,
    check_vector,
    entangler_ops,
    ring_pairs,
    rotation_ops,
)

__all__ = ["angle_encoding", "data_reuploading", "reuploading_hea"]


def _encoding_ops(
    num_qubits: int, rotation: str, inputs: ParameterVector, scaling: ParameterVector | None, layer: int
) -> list[Operation]:
    """``rotation(x[i])`` (or ``rotation(s[l*n + i] * x[i])``) on every qubit ``i``."""
    if scaling is None:
        return [Operation.create(rotation, i, (inputs[i],)) for i in range(num_qubits)]
    return [Operation.create(rotation, i, (scaling[layer * num_qubits + i] * inputs[i],)) for i in range(num_qubits)]


def angle_encoding(num_qubits: int, inputs: ParameterVector | str, rotation: str = "ry") -> Circuit:
    """One rotation per qubit with the feature as its angle: ``rotation(x[i])`` on qubit ``i``.

    Args:
        num_qubits: number of qubits ``n >= 1``.
        inputs: vector of ``n`` features; ``x[i]`` is the angle on qubit ``i``.
        rotation: ``"rx"``, ``"ry"`` (default; real amplitudes) or ``"rz"`` (only a phase on ``|0>``:
            put a Hadamard layer in front for it to matter).

    Returns:
        The circuit; its parameters are ``{inputs.name: n}``.

    Raises:
        TypeError: ``num_qubits`` is not an int, ``inputs`` is not a ParameterVector or name.
        ValueError: ``num_qubits < 1``, ``inputs`` of a size other than ``n``, or an unknown rotation.
    """
    n = check_count("num_qubits", num_qubits)
    gate = check_choice("rotation", rotation, ROTATIONS)
    x = check_vector("inputs", inputs, n, "num_qubits")
    return Circuit(n, _encoding_ops(n, gate, x, None, 0))


def data_reuploading(
    num_qubits: int,
    num_layers: int,
    inputs: ParameterVector | str,
    weights: ParameterVector | str,
    *,
    rotations: Sequence[str] = ("rz", "ry", "rz"),
    entangler: str = "cz",
    ring: bool = True,
    input_scaling: ParameterVector | str | None = None,
) -> Circuit:
    """The data re-uploading classifier (Pérez-Salinas et al. 2020, Quantum 4, 226; arXiv:1907.02085).

    The inputs are encoded again in every layer, each time followed by a trainable block.
    Layer ``l`` of ``num_layers``, on ``n = num_qubits`` qubits with ``R = len(rotations)``::

        for i in range(n):   RY(x[i])  or, with input_scaling s,  RY(s[l*n + i] * x[i])   on qubit i
        for i in range(n):   rotations[k](w[(l*n + i)*R + k]) for k = 0..R-1               on qubit i
        for each ring pair:  entangler(i, i + 1 mod n)

    The default trainable block ``RZ RY RZ`` is a general single-qubit rotation
    (PennyLane's ``Rot``), the paper's ``U(phi)``; the default ``CZ`` entanglers are the
    paper's multi-qubit layout. Trainable input scaling (``input_scaling``) gives the
    paper's ``w * x`` weights and widens the frequency spectrum the model can fit
    (Schuld, Sweke and Meyer 2021, arXiv:2008.08605).

    Args:
        num_qubits: number of qubits ``n >= 1``.
        num_layers: number of re-uploading layers ``L >= 1``.
        inputs: vector of ``n`` features, re-uploaded in every layer.
        weights: vector of ``L * n * R`` angles; ``w[l, i, k]`` is entry ``(l * n + i) * R + k``.
        rotations: the trainable rotations on each qubit, in order (``"rx"``, ``"ry"``, ``"rz"``).
        entangler: ``"cz"`` (default) or ``"cx"`` (control ``i``, target ``i + 1``).
        ring: close the chain of entanglers with ``(n - 1, 0)``.
        input_scaling: optional vector of ``L * n`` factors; ``s[l, i]`` is entry ``l * n + i``.

    Returns:
        The circuit; its parameters are ``{inputs.name: n, weights.name: L * n * R}`` plus
        ``{input_scaling.name: L * n}`` when given.

    Raises:
        TypeError: a count is not an int, a vector is not a ParameterVector or name.
        ValueError: a count below 1, a vector of the wrong size, two vectors with one name, or an unknown gate name.
    """
    n = check_count("num_qubits", num_qubits)
    layers = check_count("num_layers", num_layers)
    rots = check_rotations(rotations)
    gate = check_choice("entangler", entangler, ENTANGLERS)
    x = check_vector("inputs", inputs, n, "num_qubits")
    layout = f"num_layers * num_qubits * len(rotations) = {layers} * {n} * {len(rots)}"
    w = check_vector("weights", weights, layers * n * len(rots), layout)
    vectors = [x, w]
    scaling = None
    if input_scaling is not None:
        scaling = check_vector("input_scaling", input_scaling, layers * n, f"num_layers * num_qubits = {layers} * {n}")
        vectors.append(scaling)
    check_distinct(*vectors)
    pairs = ring_pairs(n, bool(ring))
    ops: list[Operation] = []
    for layer in range(layers):
        ops.extend(_encoding_ops(n, "ry", x, scaling, layer))
        ops.extend(rotation_ops(n, rots, w, layer))
        ops.extend(entangler_ops(gate, pairs))
    return Circuit(n, ops)


def reuploading_hea(
    num_qubits: int, num_layers: int, inputs: ParameterVector | str, weights: ParameterVector | str
) -> Circuit:
    """The benchmark workload of docs/performance.md: a hardware-efficient ansatz with data re-uploading.

    This circuit is fixed (benchmarks compare it across peers and releases); use
    :func:`data_reuploading` to vary the layout. Layer ``l`` of ``num_layers``, on
    ``n = num_qubits`` qubits::

        for i in range(n):   RY(x[i]) on qubit i
        for i in range(n):   RY(w[l,i,0]) then RZ(w[l,i,1]) on qubit i
        for i in range(n):   CNOT i -> (i + 1) mod n          # n > 2; one CNOT(0, 1) for n = 2, none for n = 1

    That is ``4 n L`` gates (for ``n > 2``) and ``2 n L`` trainable angles. The peers' version
    is described in ``docs/peer-baselines.md`` (workload 1), read out as ``<Z_i>`` on every qubit.

    Args:
        num_qubits: number of qubits ``n >= 1``.
        num_layers: number of layers ``L >= 1``.
        inputs: vector of ``n`` features, re-uploaded in every layer.
        weights: vector of ``2 n L`` angles; ``w[l, i, k]`` is entry ``(l * n + i) * 2 + k``
            (``k = 0``: RY, ``k = 1``: RZ), so a tensor of shape ``(L, n, 2)`` binds as ``reshape(-1)``.

    Returns:
        The circuit; its parameters are ``{inputs.name: n, weights.name: 2 * n * L}``.

    Raises:
        TypeError: a count is not an int, a vector is not a ParameterVector or name.
        ValueError: a count below 1, a vector of the wrong size, or inputs and weights with one name.
    """
    n = check_count("num_qubits", num_qubits)
    layers = check_count("num_layers", num_layers)
    x = check_vector("inputs", inputs, n, "num_qubits")
    w = check_vector("weights", weights, layers * n * 2, f"num_layers * num_qubits * 2 = {layers} * {n} * 2")
    check_distinct(x, w)
    pairs = ring_pairs(n, True)
    ops: list[Operation] = []
    for layer in range(layers):
        ops.extend(_encoding_ops(n, "ry", x, None, layer))
        ops.extend(rotation_ops(n, ("ry", "rz"), w, layer))
        ops.extend(entangler_ops("cx", pairs))
    return Circuit(n, ops)
