"""A layer of single-qubit gates (one ``2 x 2`` per qubit and sample) in one pass over the state.

Torch has no operation that applies ``n`` independent ``2 x 2`` matrices, one per qubit, to a state in one
pass: the pure-torch engine fuses them into ``4 x 4`` or ``8 x 8`` blocks (:mod:`circuits.sim.plan`), one
pass per block. The compiled kernel (:mod:`circuits.sim.native`, ``csrc/layer.cpp``) applies every gate
of a *group* of qubits in one pass, working on tiles of ``2**tile_log2`` amplitudes that stay in cache:

* the lowest ``tile_log2`` qubits (the last ones: contiguous blocks of amplitudes) are one group;
* the qubits above them form groups of ``tile_log2 - 3`` qubits, each tile holding ``2**h`` strided rows of
  at least 8 contiguous amplitudes.

So a layer on up to ``tile_log2`` qubits is one pass, and 16 to ``2 * tile_log2 - 3`` qubits two passes,
where the block-fused torch path takes ``n / 3``. :func:`layer_groups` makes the split; each group is
one step of the plan's layer variant (:meth:`circuits.sim.plan.Plan.layer_steps`).

:func:`apply_layer` is differentiable (the backward is the kernel's own, exact for any matrices; second
derivatives recompute through :func:`reference_layer` under autograd). :func:`reference_layer` is the
pure-torch form, one :func:`~circuits.sim.kernels.apply_matrix` per qubit: the oracle in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from circuits.sim import native
from circuits.sim.kernels import apply_matrix

__all__ = ["TILE_LOG2", "apply_layer", "layer_backward", "layer_groups", "reference_layer"]

TILE_LOG2 = 12
"""Amplitudes per tile, log2 (4096: 32 KiB of complex64 split into real and imaginary parts)."""

_COLUMN_BITS = 3
"""Contiguous amplitudes per tile row in the upper groups, log2 (8: a cache line of complex64)."""


def layer_groups(
    qubits: Sequence[int], num_qubits: int, tile_log2: int = TILE_LOG2
) -> list[tuple[tuple[int, int], tuple[int, ...]]]:
    """Split the qubits of a layer into the groups the kernel applies in one pass each.

    Returns:
        ``[((lo, h), qubits_in_group), ...]``: the group's index bits ``lo .. lo + h - 1`` (bit 0 is the
        last qubit) and its qubits, in the order given; groups without qubits are left out.
    """
    low = min(num_qubits, tile_log2)
    bounds = [(0, low)]
    height = max(1, tile_log2 - _COLUMN_BITS)
    lo = low
    while lo < num_qubits:
        h = min(num_qubits - lo, height)
        bounds.append((lo, h))
        lo += h
    groups = []
    for lo, h in bounds:
        members = tuple(q for q in qubits if lo <= num_qubits - 1 - q < lo + h)
        if members:
            groups.append(((lo, h), members))
    return groups


def reference_layer(state: torch.Tensor, mats: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """The layer in pure torch, one gate at a time (differentiable).

    Shape:
        state: ``(B, 2**n)``; mats: ``(B or 1, g, 2, 2)``. Returns ``(B, 2**n)``.
    """
    for j, q in enumerate(qubits):
        state = apply_matrix(state, mats[:, j], (q,), num_qubits)
    return state


class _Layer(torch.autograd.Function):
    """One group of a layer by the compiled kernel; backward by the kernel too."""

    @staticmethod
    def forward(ctx, state, mats, qubits, num_qubits, group, tile_log2):
        out = torch.empty(state.shape, dtype=state.dtype, device=state.device)
        native.forward(state.contiguous(), mats.contiguous(), qubits, num_qubits, group, tile_log2, out)
        ctx.save_for_backward(state, mats)
        ctx.layout = (qubits, num_qubits, group, tile_log2)
        return out

    @staticmethod
    def backward(ctx, grad_out):
        state, mats = ctx.saved_tensors
        qubits, num_qubits, group, tile_log2 = ctx.layout
        needs = ctx.needs_input_grad[:2]
        if torch.is_grad_enabled():  # create_graph=True: recompute in torch for higher derivatives
            with torch.enable_grad():
                out = reference_layer(state, mats, qubits, num_qubits)
                wanted = [t for t, need in zip((state, mats), needs, strict=True) if need]
                grads = iter(torch.autograd.grad(out, wanted, grad_out, create_graph=True))
            return (*(next(grads) if need else None for need in needs), None, None, None, None)
        grad_out = grad_out.contiguous()
        grad_in = torch.empty_like(grad_out)
        mats = mats.contiguous()
        grad_mats = native.backward(grad_out, state.contiguous(), mats, qubits, num_qubits, group, tile_log2, grad_in)
        return (grad_in if needs[0] else None, grad_mats if needs[1] else None, None, None, None, None)


def apply_layer(
    state: torch.Tensor,
    mats: torch.Tensor,
    qubits: tuple[int, ...],
    num_qubits: int,
    group: tuple[int, int],
    tile_log2: int = TILE_LOG2,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply ``mats[:, j]`` on ``qubits[j]`` for every ``j`` (one group of :func:`layer_groups`) in one pass.

    Needs the compiled kernel (:func:`circuits.sim.native.available`) and CPU tensors of one dtype
    (float32, float64, complex64 or complex128).

    Args:
        state: the states.
        mats: the gates' matrices, per sample or shared.
        qubits: the group's qubits.
        num_qubits: the state's width.
        group: the group's ``(lo, h)`` from :func:`layer_groups`.
        tile_log2: the tile size the groups were made for.
        out: where to write the result (autograd off; may not overlap ``state``); differentiable when ``None``.

    Shape:
        state: ``(B, 2**n)``; mats: ``(B or 1, g, 2, 2)``. Returns ``(B, 2**n)``.
    """
    if out is None:
        return _Layer.apply(state, mats, qubits, num_qubits, group, tile_log2)
    return native.forward(state.contiguous(), mats.contiguous(), qubits, num_qubits, group, tile_log2, out)


def layer_backward(
    phi: torch.Tensor,
    psi_conj: torch.Tensor,
    mats: torch.Tensor,
    qubits: tuple[int, ...],
    num_qubits: int,
    group: tuple[int, int],
    tile_log2: int,
    out: torch.Tensor,
) -> torch.Tensor:
    """The adjoint method's step for a layer group: ``out = U^dagger phi`` and each gate's ``phi psi^dagger``.

    Args:
        phi: the cotangent after the group.
        psi_conj: the conjugated state *before* the group.
        mats: the gates' matrices, one per sample.
        qubits: the group's qubits.
        num_qubits: the state's width.
        group: the group's ``(lo, h)``.
        tile_log2: the tile size the groups were made for.
        out: where to write ``U^dagger phi`` (may be ``phi``).

    Shape:
        phi, psi_conj, out: ``(B, 2**n)``; mats: ``(B, g, 2, 2)``. Returns the gradient w.r.t. ``mats``.
    """
    return native.backward(phi, psi_conj, mats.contiguous(), qubits, num_qubits, group, tile_log2, out, conj_x=True)
