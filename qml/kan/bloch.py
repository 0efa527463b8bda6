"""The DARUAN fast path: a one-qubit program run on real Bloch vectors, for every edge and sample at once.

A pure one-qubit state is a unit Bloch vector ``(x, y, z)``; every gate of a DARUAN program is a rotation
of it (``H``: ``(z, -y, x)``; ``X``: ``(x, -y, -z)``; ``Z``: ``(-x, -y, z)``; ``RZ(a)`` turns ``(x, y)``
by ``a``, ``RY(a)`` turns ``(z, x)`` by ``a``, ``RX(a)`` turns ``(y, z)`` by ``a``), and the Born-rule
``<Z>`` is the final ``z``. Written by hand because no library evaluates millions of independent
one-qubit circuits in real arithmetic under autograd: three real components instead of two complex
amplitudes, batch-independent gates evaluated once per edge, neighbouring rotations about the same axis
merged into one (a data ``RZ`` and the next trainable ``RZ``), data angles ``w * x + b`` in one fused
multiply-add, and at the end only the components that reach ``z`` computed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from circuits.library.daruan import DaruanGate

__all__ = ["daruan_expectation"]

Component = torch.Tensor | float
"""A Bloch-vector component: a tensor, or a Python number while it is still the same for every edge."""

_ROTATION_PLANES = {"rz": (0, 1), "ry": (2, 0), "rx": (1, 2)}
"""Rotation ``R(a)`` maps ``(u, v) -> (u cos a - v sin a, u sin a + v cos a)`` on these components."""


@dataclass(frozen=True)
class _Step:
    name: str  # "h", "x", "z", or a rotation
    thetas: tuple[tuple[int, int], ...] = ()  # (block, k) of merged trainable angles
    data: int | None = None  # the data angle's layer, if one is merged in


def _compile(program: Sequence[DaruanGate]) -> list[_Step]:
    """Merge runs of rotations about the same axis (at most one data angle per merged step)."""
    steps: list[_Step] = []
    for gate in program:
        if gate.source is None:
            steps.append(_Step(gate.name))
            continue
        thetas = ((gate.source[1], gate.source[2]),) if gate.source[0] == "theta" else ()
        data = gate.source[1] if gate.source[0] == "angle" else None
        last = steps[-1] if steps else None
        if last is not None and last.name == gate.name and (data is None or last.data is None):
            steps[-1] = _Step(gate.name, last.thetas + thetas, last.data if data is None else data)
        else:
            steps.append(_Step(gate.name, thetas, data))
    return steps


def _needed(steps: list[_Step]) -> list[set[int]]:
    """For each step, which output components later steps (and the final ``z``) read."""
    needs = [set() for _ in steps]
    wanted = {2}
    for index in range(len(steps) - 1, -1, -1):
        needs[index] = set(wanted)
        name = steps[index].name
        if name == "h":
            wanted = {{0: 2, 1: 1, 2: 0}[c] for c in wanted}
        elif name in _ROTATION_PLANES:
            plane = set(_ROTATION_PLANES[name])
            wanted = (wanted - plane) | (plane if wanted & plane else set())
    return needs


def _neg(c: Component | None) -> Component | None:
    return None if c is None else -c


def _turn(a: Component, b: Component, cos: torch.Tensor, sin: torch.Tensor, first: bool) -> Component:
    """``a cos - b sin`` (``first``) or ``a sin + b cos``, skipping exact zeros (0 for every edge)."""
    a_zero = isinstance(a, float) and a == 0.0
    b_zero = isinstance(b, float) and b == 0.0
    if first:
        if b_zero:
            return 0.0 if a_zero else a * cos
        return -(b * sin) if a_zero else a * cos - b * sin
    if b_zero:
        return 0.0 if a_zero else a * sin
    return b * cos if a_zero else a * sin + b * cos


def daruan_expectation(
    program: Sequence[DaruanGate],
    theta: torch.Tensor,
    data_angle: Callable[[int, torch.Tensor | None], torch.Tensor],
) -> torch.Tensor:
    """``<Z>`` after a DARUAN program, for all activations at once.

    Args:
        program: from :func:`circuits.library.daruan.daruan_program`.
        theta: trainable angles ``(*edges, blocks, K)``.
        data_angle: ``data_angle(layer, offset)`` returns the data angle of ``layer`` with ``offset``
            (the merged trainable angles, shape ``edges``, or ``None``) added, broadcastable against the
            edges with any leading batch axes; it lets the caller fuse ``w * x + b + offset``.

    Returns:
        ``<Z>`` with the broadcast shape of the data angles and ``theta.shape[:-2]``.
    """
    steps = _compile(program)
    needs = _needed(steps)
    v: list[Component | None] = [0.0, 0.0, 1.0]  # |0>
    for step, need in zip(steps, needs, strict=True):
        if step.name == "h":
            v = [v[2], _neg(v[1]), v[0]]
        elif step.name == "x":
            v = [v[0], _neg(v[1]), _neg(v[2])]
        elif step.name == "z":
            v = [_neg(v[0]), _neg(v[1]), v[2]]
        else:
            offset = None
            for block, k in step.thetas:
                angle = theta[..., block, k]
                offset = angle if offset is None else offset + angle
            angle = data_angle(step.data, offset) if step.data is not None else offset
            cos, sin = torch.cos(angle), torch.sin(angle)
            u, w = _ROTATION_PLANES[step.name]
            new_u = _turn(v[u], v[w], cos, sin, first=True) if u in need else None
            new_w = _turn(v[u], v[w], cos, sin, first=False) if w in need else None
            v = list(v)
            v[u], v[w] = new_u, new_w
    z = v[2]
    if isinstance(z, float):
        return torch.full(theta.shape[:-2], z, dtype=theta.dtype, device=theta.device)
    return z
