"""State-vector kernels: apply a gate to a batch of states, and the contractions gradients need.

Pure functions without validation. States are flat ``(batch_size, 2**num_qubits)``
tensors, complex or (on the real-arithmetic path) real; qubit 0 is the most
significant bit. Matrices and diagonals carry the batch axis too (``(batch_size, d, d)``
and ``(batch_size, d)``; a batch of 1 broadcasts).

Every kernel takes an optional ``out`` buffer. Without it the kernel is
out-of-place and differentiable by torch autograd (``diff_method="backprop"``); with
it (inside the adjoint :class:`torch.autograd.Function`, where autograd is off) the
result is written into ``out``, which must not overlap the input: fresh allocations
of large states cost more in page faults than the arithmetic.

Which formulation is fastest depends on ``R = 2**(n - last_qubit - 1)``, the length of
the contiguous runs a gate mixes (measured on 2 CPU cores, torch 2.13; see
docs/performance.md):

* ``R >= 128`` or tiny states: one broadcast ``matmul`` on the ``(B, L, d, R)`` view;
* ``R`` in ``{2, 4}``: one ``matmul`` against the block matrix ``kron(M, I_R)``;
* otherwise (``R == 1`` or ``8 <= R <= 64``, single-qubit gates): four elementwise ops.

On CUDA the batched GEMMs of small matrices are far from the memory bandwidth (cuBLAS picks
tile shapes for large matrices; measured on an H200 with benchmarks/gpu_kernels.py, see
docs/performance.md), so single-qubit gates always take the elementwise form, and the gradient
contraction takes a broadcast product and sum where that measured faster (single precision,
or ``d == 2``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import torch

__all__ = [
    "apply_diagonal",
    "apply_matrix",
    "apply_monomial",
    "diagonal_gradient",
    "matrix_gradient",
]

_TINY_STATE = 2048
"""Below this many amplitudes per call, launch overhead dominates: use the fewest ops."""

ELEMENTWISE_DEVICES = {"cuda"}
"""Device types whose kernels take the elementwise forms measured faster on GPUs (see the module doc)."""

_PRODUCT_CHUNK_BYTES = 256 * 2**20
"""Largest temporary of the broadcast-product gradient contraction; larger ones are summed in slices."""


def _is_contiguous_run(qubits: Sequence[int]) -> bool:
    return all(b == a + 1 for a, b in itertools.pairwise(qubits))


def _move_to_front(state: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """``(B, 2**n)`` -> ``(B, 2**k, 2**(n-k))`` with ``qubits`` (in order) as the row index."""
    batch = state.shape[0]
    rest = [q for q in range(num_qubits) if q not in qubits]
    order = [0, *(1 + q for q in qubits), *(1 + q for q in rest)]
    tensor = state.reshape(batch, *([2] * num_qubits)).permute(order)
    return tensor.reshape(batch, 2 ** len(qubits), 2 ** len(rest))


def _move_back(block: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """Inverse of :func:`_move_to_front`."""
    batch = block.shape[0]
    rest = [q for q in range(num_qubits) if q not in qubits]
    order = [*qubits, *rest]
    inverse = [0, *(1 + order.index(q) for q in range(num_qubits))]
    tensor = block.reshape(batch, *([2] * num_qubits)).permute(inverse)
    return tensor.reshape(batch, 2**num_qubits)


def _kron_eye(matrix: torch.Tensor, size: int) -> torch.Tensor:
    """``kron(M, I_size)`` for a batch of matrices ``(B, d, d)`` -> ``(B, d*size, d*size)``."""
    d = matrix.shape[-1]
    eye = torch.eye(size, dtype=matrix.dtype, device=matrix.device)
    return (matrix[..., :, None, :, None] * eye[:, None, :]).reshape(*matrix.shape[:-2], d * size, d * size)


def _finish(result: torch.Tensor, out: torch.Tensor | None) -> torch.Tensor:
    if out is None:
        return result.reshape(result.shape[0], -1)
    out.copy_(result.reshape(out.shape))
    return out


def apply_matrix(
    state: torch.Tensor,
    matrix: torch.Tensor,
    qubits: Sequence[int],
    num_qubits: int,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Apply a ``2**k x 2**k`` matrix on ``qubits`` (first qubit most significant in the matrix).

    Shape:
        state: ``(B, 2**n)``; matrix: ``(B or 1, 2**k, 2**k)``; out: like state. Returns ``(B, 2**n)``.
    """
    batch, k = state.shape[0], len(qubits)
    d = 2**k
    if not _is_contiguous_run(qubits):
        block = _move_to_front(state, qubits, num_qubits)
        return _finish(_move_back(torch.matmul(matrix, block), qubits, num_qubits), out)
    left, right = 2 ** qubits[0], 2 ** (num_qubits - qubits[-1] - 1)
    view = state.view(batch, left, d, right)
    tiny = state.numel() <= _TINY_STATE
    gpu_form = state.device.type in ELEMENTWISE_DEVICES and k == 1 and not tiny
    if not gpu_form and (right >= 128 or tiny or (k > 1 and right > 8)):
        operand = matrix.view(matrix.shape[0], 1, d, d)
        if out is None:
            return torch.matmul(operand, view).reshape(batch, -1)
        torch.matmul(operand, view, out=out.view(batch, left, d, right))
        return out
    if not gpu_form and (right in (2, 4) or k > 1):  # k > 1 here means right <= 8
        block = (_kron_eye(matrix, right) if right > 1 else matrix).mT  # (B or 1, d*R, d*R)
        width = d * right
        if block.shape[0] == 1:  # shared matrix: one GEMM over every row of every sample
            rows = state.view(batch * left, width)
            if out is None:
                return torch.mm(rows, block[0]).reshape(batch, -1)
            torch.mm(rows, block[0], out=out.view(batch * left, width))
            return out
        rows = state.view(batch, left, width)  # bmm, not a broadcast matmul: no copy of the block per row
        if out is None:
            return torch.bmm(rows, block).reshape(batch, -1)
        torch.bmm(rows, block, out=out.view(batch, left, width))
        return out
    m = matrix.reshape(matrix.shape[0], 1, 4, 1)
    s0, s1 = view[:, :, 0], view[:, :, 1]
    if out is None:
        o0 = s0 * m[:, :, 0] + s1 * m[:, :, 1]
        o1 = s0 * m[:, :, 2] + s1 * m[:, :, 3]
        return torch.stack((o0, o1), dim=2).reshape(batch, -1)
    out_view = out.view(batch, left, 2, right)
    o0, o1 = out_view[:, :, 0], out_view[:, :, 1]
    torch.mul(s0, m[:, :, 0], out=o0)
    o0.addcmul_(s1, m[:, :, 1])
    torch.mul(s0, m[:, :, 2], out=o1)
    o1.addcmul_(s1, m[:, :, 3])
    return out


def matrix_gradient(phi: torch.Tensor, psi_conj: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """``G[b, i, j] = sum_rest phi[b, ..i..] * psi_conj[b, ..j..]``.

    With ``phi`` the cotangent and ``psi_conj`` the conjugated state, this is the gradient
    of ``U psi`` w.r.t. ``U`` (taking the conjugate here would copy the state).

    Shape:
        phi, psi_conj: ``(B, 2**n)``. Returns ``(B, 2**k, 2**k)``.
    """
    batch, k = phi.shape[0], len(qubits)
    d = 2**k
    if not _is_contiguous_run(qubits):
        a = _move_to_front(phi, qubits, num_qubits)
        b = _move_to_front(psi_conj, qubits, num_qubits)
        return torch.matmul(a, b.mT)
    left, right = 2 ** qubits[0], 2 ** (num_qubits - qubits[-1] - 1)
    single = phi.dtype in (torch.complex64, torch.float32)
    if phi.device.type in ELEMENTWISE_DEVICES and (single or d == 2) and phi.numel() > _TINY_STATE:
        return _product_gradient(phi.view(batch, left, d, right), psi_conj.view(batch, left, d, right))
    if left == 1:
        return torch.matmul(phi.view(batch, d, right), psi_conj.view(batch, d, right).mT)
    if right <= 4:
        a = phi.view(batch, left, d * right)
        b = psi_conj.view(batch, left, d * right)
        full = torch.matmul(a.mT, b).view(batch, d, right, d, right)
        return torch.diagonal(full, dim1=2, dim2=4).sum(-1)
    a = phi.view(batch, left, d, right)
    b = psi_conj.view(batch, left, d, right)
    return torch.matmul(a, b.mT).sum(1)


def _product_gradient(phi: torch.Tensor, psi_conj: torch.Tensor) -> torch.Tensor:
    """``G[b, i, j] = sum_{l, r} phi[b, l, i, r] * psi_conj[b, l, j, r]`` as a broadcast product and sum.

    The ``(B, L, d, d, R)`` temporary is summed in slices (of rows, then of runs) of at most
    ``_PRODUCT_CHUNK_BYTES``.

    Shape:
        phi, psi_conj: ``(B, L, d, R)``. Returns ``(B, d, d)``.
    """
    _, left, d, right = phi.shape
    pieces = -(-phi.numel() * d * phi.element_size() // _PRODUCT_CHUNK_BYTES)
    row_step = max(1, left // pieces)
    run_step = right if pieces <= left else max(1, right // -(-pieces // left))
    total = None
    for row in range(0, left, row_step):
        for run in range(0, right, run_step):
            a = phi[:, row : row + row_step, :, None, run : run + run_step]
            b = psi_conj[:, row : row + row_step, None, :, run : run + run_step]
            part = (a * b).sum(dim=(1, 4))
            total = part if total is None else total + part
    return total


def _expand_diagonal(diagonal: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """``(B, 2**k)`` diagonal on ``qubits`` -> ``(B, 2, 1, 2, ...)`` broadcastable against ``(B, 2, ..., 2)``."""
    batch, k = diagonal.shape[0], len(qubits)
    tensor = diagonal.reshape(batch, *([2] * k))
    order = sorted(range(k), key=lambda i: qubits[i])
    tensor = tensor.permute(0, *(1 + i for i in order))
    shape = [1] * num_qubits
    for q in qubits:
        shape[q] = 2
    return tensor.reshape(batch, *shape)


def apply_diagonal(
    state: torch.Tensor,
    diagonal: torch.Tensor,
    qubits: Sequence[int],
    num_qubits: int,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multiply by a diagonal gate given by its diagonal on ``qubits`` (empty for a global phase).

    Shape:
        state: ``(B, 2**n)``; diagonal: ``(B or 1, 2**k)``. Returns ``(B, 2**n)``.
    """
    batch = state.shape[0]
    if not qubits:
        factor = diagonal.reshape(diagonal.shape[0], 1)
        view = state
    else:
        factor = _expand_diagonal(diagonal, qubits, num_qubits)
        view = state.view(batch, *([2] * num_qubits))
    if out is None:
        return (view * factor).reshape(batch, -1)
    torch.mul(view, factor, out=out.view(view.shape))
    return out


def diagonal_gradient(
    phi: torch.Tensor, psi_conj: torch.Tensor, qubits: Sequence[int], num_qubits: int
) -> torch.Tensor:
    """``g[b, i] = sum_rest phi[b, ..i..] * psi_conj[b, ..i..]``: the gradient of ``D psi`` w.r.t. ``D``.

    Shape:
        phi, psi_conj: ``(B, 2**n)``. Returns ``(B, 2**k)``.
    """
    batch = phi.shape[0]
    product = (phi * psi_conj).view(batch, *([2] * num_qubits))
    if not qubits:
        return product.reshape(batch, -1).sum(-1, keepdim=True)
    others = [1 + q for q in range(num_qubits) if q not in qubits]
    reduced = product.sum(dim=others) if others else product
    kept = sorted(qubits)
    reduced = reduced.permute(0, *(1 + kept.index(q) for q in qubits))
    return reduced.reshape(batch, 2 ** len(qubits))


def apply_monomial(
    state: torch.Tensor,
    source: torch.Tensor,
    phase: torch.Tensor | None,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """``out[b, i] = phase[i] * state[b, source[i]]``: a permutation with phases (X, CNOT, SWAP, CZ runs ...).

    Shape:
        state: ``(B, 2**n)``; source: ``(2**n,)`` int64; phase: ``(2**n,)``, ``(B, 2**n)`` or ``None``.
        Returns ``(B, 2**n)``.
    """
    index = source.expand(state.shape[0], -1)
    if out is None:
        result = torch.gather(state, 1, index)
        return result if phase is None else result * phase
    torch.gather(state, 1, index, out=out)
    if phase is not None:
        out.mul_(phase)
    return out
