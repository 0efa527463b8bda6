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
the contiguous runs a gate mixes, and on the machine. :mod:`circuits.sim.tuning` measures the
choice per (gate width, ``R``, shared or per-sample matrix, autograd or not, dtype) on the CPU it
runs on, at first use (:data:`MATRIX_FORMS`, :data:`GRADIENT_FORMS`); without tuning, these
built-in rules apply (measured on 2 CPU cores, torch 2.13; see docs/performance.md):

* ``R >= 128`` or tiny states: one broadcast ``matmul`` on the ``(B, L, d, R)`` view;
* ``R`` in ``{2, 4}`` (single-qubit gates), or ``d * R <= 32`` or ``R <= 2`` (wider gates): one
  ``matmul`` against the block matrix ``kron(M, I_R)``;
* other wider gates: the broadcast ``matmul``;
* a single-qubit gate on the last qubit (``R == 1``): ``I (x) M`` on the last two qubits, one GEMM;
* otherwise (``8 <= R <= 64``, single-qubit gates): four elementwise ops.

Gates on qubits that are not one contiguous run move them to the front through a permuted copy of
the state whose axes are coalesced into runs (:func:`_front_layout`).

On CUDA the batched GEMMs of small matrices are far from the memory bandwidth (cuBLAS picks
tile shapes for large matrices; measured on an H200 with benchmarks/gpu_kernels.py, see
docs/performance.md), so single-qubit gates always take the elementwise form, and the gradient
contraction takes a broadcast product and sum where that measured faster (single precision,
or ``d == 2``).
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Sequence

import torch

from circuits.sim import tuning

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


@functools.lru_cache(maxsize=4096)
def _front_layout(qubits: tuple[int, ...], num_qubits: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The state's axes coalesced into runs, and the order that puts ``qubits`` (in order) first.

    A run is a maximal stretch of qubits that are all outside ``qubits``, or all inside and in the
    same order there: a 2-qubit gate on qubits 0 and 17 of 18 sees a ``(2, 2**16, 2)`` view, not 18
    axes of size 2 (torch copies few large axes many times faster than many small ones).

    Returns:
        ``(sizes, order)``: the run sizes in state order, and the permutation of the runs that
        lists the runs of ``qubits`` in gate order, then the others in state order.
    """
    position = {q: i for i, q in enumerate(qubits)}
    runs: list[tuple[int, int, bool]] = []  # (first qubit, length, inside)
    q = 0
    while q < num_qubits:
        inside = q in position
        length = 1
        while q + length < num_qubits and ((q + length) in position) == inside:
            if inside and position[q + length] != position[q] + length:
                break
            length += 1
        runs.append((q, length, inside))
        q += length
    sizes = tuple(2**length for _, length, _ in runs)
    inside_runs = sorted((i for i, run in enumerate(runs) if run[2]), key=lambda i: position[runs[i][0]])
    order = (*inside_runs, *(i for i, run in enumerate(runs) if not run[2]))
    return sizes, order


_SCRATCH = threading.local()
_SCRATCH_MAX_BYTES = 1 << 30
"""Largest state for which kernels writing into ``out`` keep reusable scratch buffers (CPU only)."""


def _scratch(slot: int, like: torch.Tensor) -> torch.Tensor:
    """A reusable buffer with ``like``'s shape, dtype and device (contents undefined).

    Only for kernels that write into ``out`` (autograd off): on CPU a fresh state-sized tensor costs more in
    page faults than the copy it holds. One buffer per slot, dtype and device, per thread.
    """
    nbytes = like.numel() * like.element_size()
    if like.device.type != "cpu" or nbytes > _SCRATCH_MAX_BYTES:
        return torch.empty_like(like)
    buffers = _SCRATCH.__dict__.setdefault("buffers", {})
    key = (slot, like.dtype)
    buffer = buffers.get(key)
    if buffer is None or buffer.numel() < like.numel():
        buffer = buffers[key] = torch.empty(like.numel(), dtype=like.dtype)
    return buffer[: like.numel()].view(like.shape)


def _move_to_front(
    state: torch.Tensor, qubits: Sequence[int], num_qubits: int, buffer: torch.Tensor | None = None
) -> torch.Tensor:
    """``(B, 2**n)`` -> ``(B, 2**k, 2**(n-k))`` with ``qubits`` (in order) as the row index.

    A copy; into ``buffer`` when given.
    """
    batch = state.shape[0]
    sizes, order = _front_layout(tuple(qubits), num_qubits)
    tensor = state.reshape(batch, *sizes).permute(0, *(1 + i for i in order))
    if buffer is not None:
        buffer.view(tensor.shape).copy_(tensor)
        return buffer.view(batch, 2 ** len(qubits), -1)
    return tensor.reshape(batch, 2 ** len(qubits), -1)


def _move_back(
    block: torch.Tensor, qubits: Sequence[int], num_qubits: int, out: torch.Tensor | None = None
) -> torch.Tensor:
    """Inverse of :func:`_move_to_front`, written into ``out`` when given."""
    batch = block.shape[0]
    sizes, order = _front_layout(tuple(qubits), num_qubits)
    inverse = [0] * len(order)
    for i, axis in enumerate(order):
        inverse[axis] = i
    moved = block.reshape(batch, *(sizes[i] for i in order))
    if out is not None:
        out.view(batch, *sizes).copy_(moved.permute(0, *(1 + i for i in inverse)))
        return out
    return moved.permute(0, *(1 + i for i in inverse)).reshape(batch, 2**num_qubits)


def _kron_eye(matrix: torch.Tensor, size: int) -> torch.Tensor:
    """``kron(M, I_size)`` for a batch of matrices ``(B, d, d)`` -> ``(B, d*size, d*size)``."""
    d = matrix.shape[-1]
    eye = torch.eye(size, dtype=matrix.dtype, device=matrix.device)
    return (matrix[..., :, None, :, None] * eye[:, None, :]).reshape(*matrix.shape[:-2], d * size, d * size)


MATRIX_FORMS = ("matmul", "block", "elementwise", "wide")
"""Formulations of :func:`apply_matrix` on a contiguous run of qubits (see the module doc):

* ``"matmul"``: one broadcast ``matmul`` on the ``(B, L, d, R)`` view;
* ``"block"``: one GEMM against the block matrix ``kron(M, I_R)`` (``mm`` for a shared matrix, else ``bmm``);
* ``"elementwise"``: four elementwise products (single-qubit gates only);
* ``"wide"``: a single-qubit gate on the last qubit as ``I (x) M`` on the last two, then ``"block"``.
"""

GRADIENT_FORMS = ("rows", "full", "product")
"""Formulations of :func:`matrix_gradient` on a contiguous run of ``k`` qubits with run length ``R``:

* ``"rows"``: ``matmul`` of the ``(B, L, d, R)`` views, summed over the rows ``L``;
* ``"full"``: one ``(d R) x (d R)`` product over the rows, then the sum of its ``R`` diagonals;
* ``"product"``: a broadcast product and sum (in slices of at most ``_PRODUCT_CHUNK_BYTES``).
"""


def matrix_form_candidates(k: int, right: int) -> tuple[str, ...]:
    """The formulations of :func:`apply_matrix` that apply to a ``k``-qubit gate with run length ``right``."""
    forms = ["matmul"]
    if (2**k) * right <= 64:
        forms.append("block")
    if k == 1:
        forms.append("elementwise")
        if right == 1:
            forms.append("wide")
    return tuple(forms)


def fallback_matrix_form(k: int, right: int, device_type: str) -> str:
    """The formulation :func:`apply_matrix` takes without tuning (the rules of the module doc)."""
    if k == 1 and device_type in ELEMENTWISE_DEVICES:
        return "elementwise"
    if k == 1:
        if right == 1:
            return "wide"
        if right in (2, 4):
            return "block"
        return "matmul" if right >= 128 else "elementwise"
    return "block" if right <= 2 or (2**k) * right <= 32 else "matmul"


def gradient_form_candidates(k: int, right: int) -> tuple[str, ...]:
    """The formulations of :func:`matrix_gradient` for ``k`` qubits and run length ``right`` (more than one row)."""
    return ("rows", "full", "product") if (2**k) * right <= 64 else ("rows", "product")


def fallback_gradient_form(k: int, right: int, device_type: str, single: bool) -> str:
    """The formulation :func:`matrix_gradient` takes without tuning."""
    if device_type in ELEMENTWISE_DEVICES and (single or k == 1):
        return "product"
    return "full" if right <= 4 else "rows"


def _matrix_form(k: int, right: int, state: torch.Tensor, shared: bool, grad: bool) -> str:
    tuned = tuning.kernel_form("apply", k, right, shared, grad, state.dtype, state.device)
    return tuned if tuned is not None else fallback_matrix_form(k, right, state.device.type)


def apply_matrix(
    state: torch.Tensor,
    matrix: torch.Tensor,
    qubits: Sequence[int],
    num_qubits: int,
    out: torch.Tensor | None = None,
    *,
    form: str | None = None,
) -> torch.Tensor:
    """Apply a ``2**k x 2**k`` matrix on ``qubits`` (first qubit most significant in the matrix).

    Args:
        state: the states.
        matrix: the matrices, one per sample or one shared.
        qubits: where the matrix acts.
        num_qubits: the state's width.
        out: where to write the result (autograd off); out-of-place when ``None``.
        form: one of :data:`MATRIX_FORMS` (the tuner measures each); ``None`` takes the tuned or fallback choice.

    Shape:
        state: ``(B, 2**n)``; matrix: ``(B or 1, 2**k, 2**k)``; out: like state. Returns ``(B, 2**n)``.
    """
    batch, k = state.shape[0], len(qubits)
    d = 2**k
    if not _is_contiguous_run(qubits):
        if out is None:
            return _move_back(torch.matmul(matrix, _move_to_front(state, qubits, num_qubits)), qubits, num_qubits)
        block = _move_to_front(state, qubits, num_qubits, _scratch(0, state))
        result = _scratch(1, state).view(block.shape)
        torch.matmul(matrix, block, out=result)
        return _move_back(result, qubits, num_qubits, out)
    left, right = 2 ** qubits[0], 2 ** (num_qubits - qubits[-1] - 1)
    if form is None:
        if state.numel() <= _TINY_STATE:
            form = "matmul"
        else:
            grad = out is None and torch.is_grad_enabled() and (state.requires_grad or matrix.requires_grad)
            form = _matrix_form(k, right, state, matrix.shape[0] == 1, grad)
    if form == "wide" and right == 1 and num_qubits > 1:
        # the last qubit: I (x) M on the last two is one GEMM, 2 to 2.5x faster than four strided elementwise ops
        eye = torch.eye(2, dtype=matrix.dtype, device=matrix.device)
        wide = (eye[:, None, :, None] * matrix[:, None, :, None, :]).reshape(matrix.shape[0], 4, 4)
        return apply_matrix(state, wide, (num_qubits - 2, num_qubits - 1), num_qubits, out, form="block")
    view = state.view(batch, left, d, right)
    if form == "block":
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
    if form == "elementwise" and k == 1:
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
    operand = matrix.view(matrix.shape[0], 1, d, d)  # "matmul", and any form that does not apply here
    if out is None:
        return torch.matmul(operand, view).reshape(batch, -1)
    torch.matmul(operand, view, out=out.view(batch, left, d, right))
    return out


def matrix_gradient(
    phi: torch.Tensor, psi_conj: torch.Tensor, qubits: Sequence[int], num_qubits: int, *, form: str | None = None
) -> torch.Tensor:
    """``G[b, i, j] = sum_rest phi[b, ..i..] * psi_conj[b, ..j..]``.

    With ``phi`` the cotangent and ``psi_conj`` the conjugated state, this is the gradient
    of ``U psi`` w.r.t. ``U`` (taking the conjugate here would copy the state).

    Args:
        phi: the cotangents.
        psi_conj: the conjugated states.
        qubits: the gate's qubits.
        num_qubits: the state's width.
        form: one of :data:`GRADIENT_FORMS` (the tuner measures each); ``None`` takes the tuned or fallback choice.

    Shape:
        phi, psi_conj: ``(B, 2**n)``. Returns ``(B, 2**k, 2**k)``.
    """
    batch, k = phi.shape[0], len(qubits)
    d = 2**k
    if not _is_contiguous_run(qubits):
        grad_mode = torch.is_grad_enabled()
        a = _move_to_front(phi, qubits, num_qubits, None if grad_mode else _scratch(0, phi))
        b = _move_to_front(psi_conj, qubits, num_qubits, None if grad_mode else _scratch(1, psi_conj))
        return torch.matmul(a, b.mT)
    left, right = 2 ** qubits[0], 2 ** (num_qubits - qubits[-1] - 1)
    if form is None:
        if phi.numel() <= _TINY_STATE:
            form = "full" if right <= 4 else "rows"
        else:
            tuned = tuning.kernel_form("gradient", k, right, False, False, phi.dtype, phi.device)
            single = phi.dtype in (torch.complex64, torch.float32)
            form = tuned if tuned is not None else fallback_gradient_form(k, right, phi.device.type, single)
    if form == "product":
        return _product_gradient(phi.view(batch, left, d, right), psi_conj.view(batch, left, d, right))
    if left == 1:
        return torch.matmul(phi.view(batch, d, right), psi_conj.view(batch, d, right).mT)
    if form == "full":
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


@functools.lru_cache(maxsize=4096)
def _diagonal_layout(
    qubits: tuple[int, ...], num_qubits: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...] | None]:
    """Coalesced views for a diagonal on ``qubits``.

    Returns:
        ``(state_sizes, table_sizes, order)``: the state viewed as runs of qubits that are all in
        ``qubits`` or all outside; the diagonal's view against it (size 1 on the outside runs);
        and the permutation that sorts ``qubits`` (``None`` when they are sorted already).
    """
    kept = sorted(qubits)
    inside = set(kept)
    state_sizes: list[int] = []
    table_sizes: list[int] = []
    q = 0
    while q < num_qubits:
        flag = q in inside
        length = 1
        while q + length < num_qubits and ((q + length) in inside) == flag:
            length += 1
        state_sizes.append(2**length)
        table_sizes.append(2**length if flag else 1)
        q += length
    order = None if list(qubits) == kept else tuple(sorted(range(len(qubits)), key=lambda i: qubits[i]))
    return tuple(state_sizes), tuple(table_sizes), order


def _sorted_diagonal(diagonal: torch.Tensor, qubits: tuple[int, ...], order: tuple[int, ...] | None) -> torch.Tensor:
    """``(B, 2**k)`` diagonal on ``qubits`` -> the same diagonal with its qubits in ascending order."""
    if order is None:
        return diagonal
    batch = diagonal.shape[0]
    tensor = diagonal.reshape(batch, *([2] * len(qubits))).permute(0, *(1 + i for i in order))
    return tensor.reshape(batch, -1)


def apply_diagonal(
    state: torch.Tensor,
    diagonal: torch.Tensor,
    qubits: Sequence[int],
    num_qubits: int,
    out: torch.Tensor | None = None,
) -> torch.Tensor:
    """Multiply by a diagonal gate given by its diagonal on ``qubits`` (empty for a global phase).

    The state is viewed as runs of qubits inside or outside ``qubits`` (few large axes, which
    torch's elementwise kernels handle many times faster than one axis per qubit).

    Shape:
        state: ``(B, 2**n)``; diagonal: ``(B or 1, 2**k)``. Returns ``(B, 2**n)``.
    """
    batch = state.shape[0]
    if not qubits:
        factor = diagonal.reshape(diagonal.shape[0], 1)
        view = state
    else:
        qubits = tuple(qubits)
        state_sizes, table_sizes, order = _diagonal_layout(qubits, num_qubits)
        factor = _sorted_diagonal(diagonal, qubits, order).reshape(diagonal.shape[0], *table_sizes)
        view = state.view(batch, *state_sizes)
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
    if not qubits:
        return (phi * psi_conj).sum(-1, keepdim=True)
    qubits = tuple(qubits)
    state_sizes, table_sizes, order = _diagonal_layout(qubits, num_qubits)
    product = (phi * psi_conj).view(batch, *state_sizes)
    outside = [1 + i for i, size in enumerate(table_sizes) if size == 1]
    reduced = (product.sum(dim=outside) if outside else product).reshape(batch, *([2] * len(qubits)))
    if order is not None:  # back from ascending qubits to the gate's order
        inverse = [0] * len(order)
        for i, axis in enumerate(order):
            inverse[axis] = i
        reduced = reduced.permute(0, *(1 + i for i in inverse))
    return reduced.reshape(batch, 2 ** len(qubits))


def apply_monomial(
    state: torch.Tensor,
    source: torch.Tensor,
    phase: torch.Tensor | None,
    out: torch.Tensor | None = None,
    *,
    inverse: tuple[torch.Tensor, torch.Tensor | None] | None = None,
) -> torch.Tensor:
    """``out[b, h, t] = phase[t] * state[b, h, source[t]]``: a permutation with phases (CNOT rings, SWAP layers ...).

    The permutation acts on the last ``log2(W)`` qubits (``W = len(source)``): the state is viewed as
    ``(B * 2**n / W, W)`` rows, each gathered with the same index, so a permutation of the last
    qubits needs an index of ``W`` entries, not ``2**n``.

    Args:
        state: the states.
        source: the gather index.
        phase: the phases (unit modulus), or ``None``.
        out: where to write the result (autograd off).
        inverse: the inverse's ``(source, phase)`` (:meth:`~circuits.sim.plan.Plan.inverse_constants`). Under
            autograd the backward is then that gather (``U^dagger`` of the cotangent), where torch's own is a
            zero fill and a ``scatter_add``, about three times slower.

    Shape:
        state: ``(B, 2**n)``; source: ``(W,)`` int64 with ``W`` a power of two dividing ``2**n``;
        phase: ``(W,)`` or ``None``. Returns ``(B, 2**n)``.
    """
    if out is None and inverse is not None and torch.is_grad_enabled() and state.requires_grad:
        return _Monomial.apply(state, source, phase, *inverse)
    width = source.shape[0]
    rows = state.view(-1, width)
    index = source.expand(rows.shape[0], -1)
    if out is None:
        result = torch.gather(rows, 1, index)
        result = result if phase is None else result * phase
        return result.reshape(state.shape)
    torch.gather(rows, 1, index, out=out.view(-1, width))
    if phase is not None:
        out.view(-1, width).mul_(phase)
    return out


class _Monomial(torch.autograd.Function):
    """A permutation with phases whose backward is the inverse permutation (it is unitary): a gather."""

    @staticmethod
    def forward(ctx, state, source, phase, inverse_source, inverse_phase):
        ctx.inverse = (inverse_source, inverse_phase)
        return apply_monomial(state, source, phase)

    @staticmethod
    def backward(ctx, grad):
        inverse_source, inverse_phase = ctx.inverse
        return apply_monomial(grad.contiguous(), inverse_source, inverse_phase), None, None, None, None
