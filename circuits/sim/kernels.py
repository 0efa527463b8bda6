"""State-vector kernels: apply a gate to a batch of states, and the contractions gradients need.

Pure functions without validation. States are flat ``(batch_size, 2**num_qubits)``
tensors, complex or (on the real-arithmetic path) real; qubit 0 is the most
significant bit. Matrices and diagonals carry the batch axis too (``(batch_size, d, d)``
and ``(batch_size, d)``; a batch of 1 broadcasts).

Every kernel is out-of-place and differentiable by torch autograd, so the same
functions serve the plain-autograd path (``diff_method="backprop"``, higher-order
derivatives) and the hand-written adjoint backward.
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


def apply_matrix(state: torch.Tensor, matrix: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """Apply a ``2**k x 2**k`` matrix on ``qubits`` (first qubit most significant in the matrix).

    Shape:
        state: ``(B, 2**n)``; matrix: ``(B or 1, 2**k, 2**k)``. Returns ``(B, 2**n)``.
    """
    batch = state.shape[0]
    k = len(qubits)
    if _is_contiguous_run(qubits):
        left = 2 ** qubits[0]
        right = 2 ** (num_qubits - qubits[-1] - 1)
        view = state.view(batch, left, 2**k, right)
        if right == 1:
            # (B, L, d) @ (B, 1, d, d)^T keeps the long axis as the GEMM's M dimension
            out = torch.matmul(view.squeeze(-1), matrix.transpose(-1, -2))
        else:
            out = torch.matmul(matrix.unsqueeze(1), view)
        return out.reshape(batch, -1)
    block = _move_to_front(state, qubits, num_qubits)
    return _move_back(torch.matmul(matrix, block), qubits, num_qubits)


def matrix_gradient(phi: torch.Tensor, psi: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """``G[b, i, j] = sum_rest phi[b, ..i..] * conj(psi[b, ..j..])``: the gradient of ``U psi`` w.r.t. ``U``.

    Shape:
        phi, psi: ``(B, 2**n)``. Returns ``(B, 2**k, 2**k)``.
    """
    batch = phi.shape[0]
    k = len(qubits)
    if _is_contiguous_run(qubits):
        left = 2 ** qubits[0]
        right = 2 ** (num_qubits - qubits[-1] - 1)
        a = phi.view(batch, left, 2**k, right)
        b = psi.view(batch, left, 2**k, right)
        if left == 1:
            return torch.matmul(a[:, 0], b[:, 0].conj().transpose(-1, -2))
        if right == 1:
            return torch.matmul(a[..., 0].transpose(-1, -2), b[..., 0].conj())
        return torch.einsum("bldr,bler->bde", a, b.conj())
    a = _move_to_front(phi, qubits, num_qubits)
    b = _move_to_front(psi, qubits, num_qubits)
    return torch.matmul(a, b.conj().transpose(-1, -2))


def _diagonal_view_shape(qubits: Sequence[int], num_qubits: int) -> list[int]:
    shape = [1] * num_qubits
    for q in qubits:
        shape[q] = 2
    return shape


def _expand_diagonal(diagonal: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """``(B, 2**k)`` diagonal on ``qubits`` -> ``(B, 2, 1, 2, ...)`` broadcastable against ``(B, 2, ..., 2)``."""
    batch = diagonal.shape[0]
    k = len(qubits)
    tensor = diagonal.reshape(batch, *([2] * k))
    order = sorted(range(k), key=lambda i: qubits[i])
    tensor = tensor.permute(0, *(1 + i for i in order))
    return tensor.reshape(batch, *_diagonal_view_shape(qubits, num_qubits))


def apply_diagonal(state: torch.Tensor, diagonal: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """Multiply by a diagonal gate given by its diagonal on ``qubits``.

    Shape:
        state: ``(B, 2**n)``; diagonal: ``(B or 1, 2**k)``. Returns ``(B, 2**n)``.
    """
    batch = state.shape[0]
    if not qubits:  # global phase
        return state * diagonal.reshape(diagonal.shape[0], 1)
    factor = _expand_diagonal(diagonal, qubits, num_qubits)
    return (state.view(batch, *([2] * num_qubits)) * factor).reshape(batch, -1)


def diagonal_gradient(phi: torch.Tensor, psi: torch.Tensor, qubits: Sequence[int], num_qubits: int) -> torch.Tensor:
    """``g[b, i] = sum_rest phi[b, ..i..] * conj(psi[b, ..i..])``: the gradient of ``D psi`` w.r.t. the diagonal ``D``.

    Shape:
        phi, psi: ``(B, 2**n)``. Returns ``(B, 2**k)``.
    """
    batch = phi.shape[0]
    product = (phi * psi.conj()).view(batch, *([2] * num_qubits))
    if not qubits:
        return product.reshape(batch, -1).sum(-1, keepdim=True)
    others = [1 + q for q in range(num_qubits) if q not in qubits]
    reduced = product.sum(dim=others) if others else product
    kept = sorted(qubits)
    reduced = reduced.permute(0, *(1 + kept.index(q) for q in qubits))
    return reduced.reshape(batch, 2 ** len(qubits))


def apply_monomial(state: torch.Tensor, source: torch.Tensor, phase: torch.Tensor | None) -> torch.Tensor:
    """``out[b, i] = phase[i] * state[b, source[i]]``: a permutation with phases (X, CNOT, SWAP, CZ runs ...).

    Shape:
        state: ``(B, 2**n)``; source: ``(2**n,)`` int64; phase: ``(2**n,)`` or ``None``. Returns ``(B, 2**n)``.
    """
    out = state.index_select(1, source)
    if phase is not None:
        out = out * phase
    return out
