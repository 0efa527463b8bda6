"""Run a compiled :class:`~circuits.sim.plan.Plan` on batched states, with two ways to differentiate.

* ``diff_method="backprop"``: the kernels run under torch autograd. Every
  intermediate state is kept; derivatives of any order work (physics-informed
  models need second derivatives with respect to inputs).
* ``diff_method="adjoint"``: a :class:`torch.autograd.Function` whose
  backward is the adjoint method (Jones and Gacon 2020, PennyLane's
  ``adjoint_jacobian``): it walks the plan backwards, un-computing the state
  (``psi <- U^dagger psi``) and carrying the cotangent ``phi``, so memory does not
  grow with depth. The gradient of each step's matrix is one contraction
  ``sum phi psi^dagger``; torch autograd then carries it through the small
  matrix-construction graph to the parameters. Second derivatives fall back to
  recomputing the forward pass under autograd.

On the CPU, where the compiled layer kernel (:mod:`circuits.sim.layer`) is available and measured faster
(:func:`circuits.sim.tuning.layer_form`), both run the plan's layer variant (:meth:`Plan.layer_steps`):
a layer of single-qubit gates is one pass per group of qubits instead of one per pair or triple.

Both process the batch in chunks sized to stay in the CPU caches
(:func:`chunk_size`; the bytes per chunk are tuned per machine by :mod:`circuits.sim.tuning`), which is
what makes 16-qubit batches fast. A chunk of at least ``2**16`` amplitudes does not run the plan's leading
single-qubit steps on ``|0...0>``: their product state is built directly (:func:`_product_start`).
"""

from __future__ import annotations

import torch

from circuits.sim import layer, native, tuning
from circuits.sim.kernels import (
    apply_diagonal,
    apply_matrix,
    apply_monomial,
    diagonal_gradient,
    matrix_gradient,
)
from circuits.sim.plan import Plan, Step

__all__ = ["chunk_size", "evolve", "simulate"]

_CACHE_TARGET_BYTES = 8 << 20
"""Bytes of state per chunk on CPU without tuning. 16-qubit batches run about 2x faster in 8 MiB chunks
than whole on a 32 MiB L3 (the working set stays in cache); a batch under 8 MiB runs whole
(docs/performance.md)."""

_SMALLEST_CHUNK_BYTES = 1 << 20
"""Batches of states under this many bytes run whole without asking the tuner (every candidate would)."""


def chunk_size(batch_size: int, num_qubits: int, itemsize: int, device: torch.device) -> int:
    """How many samples to simulate at once (the whole batch on GPU or for small states)."""
    if device.type != "cpu":
        return batch_size
    per_sample = itemsize * (2**num_qubits)
    if batch_size * per_sample <= _SMALLEST_CHUNK_BYTES:
        return batch_size
    target = tuning.chunk_target_bytes(device) or _CACHE_TARGET_BYTES
    return max(1, min(batch_size, target // per_sample))


_LAYER_DTYPES = (torch.complex64, torch.complex128, torch.float32, torch.float64)

_LAYER_MIN_QUBITS = 6
"""Without tuning, plans of at least this many qubits run their layers on the compiled kernel (when it is
available): where the torch path starts fusing pairs (below, a layer costs a few microseconds either way)."""


def _layer_tile(plan: Plan, dtype: torch.dtype, device: torch.device, grad: bool) -> int | None:
    """The tile size to run ``plan``'s layer variant with, or ``None`` for its torch steps.

    The layer variant runs on the CPU, when the plan has layers, the compiled kernel builds (at the first
    such call) and the tuner measured it faster for this width, dtype and mode (without tuning: from
    ``_LAYER_MIN_QUBITS`` qubits).
    """
    if device.type != "cpu" or dtype not in _LAYER_DTYPES or not native.enabled() or not plan.has_layers():
        return None
    use = tuning.layer_form(plan.num_qubits, dtype, grad)
    if use is None:
        use = "native" if plan.num_qubits >= _LAYER_MIN_QUBITS else "torch"
    if use != "native" or not native.available():
        return None
    return layer.TILE_LOG2


class _Execution:
    """The steps a simulation runs and their constants: the plan's own, or its layer variant."""

    __slots__ = ("constants", "plan", "prefix", "source", "steps", "tile")

    def __init__(self, plan: Plan, dtype: torch.dtype, device: torch.device, grad: bool) -> None:
        self.plan = plan
        self.tile = _layer_tile(plan, dtype, device, grad)
        constants = plan.constant_tensors(dtype, device)
        if self.tile is None:
            self.steps, self.source, self.constants = plan.steps, None, constants
        else:
            self.steps, self.source = plan.layer_steps(self.tile)
            self.constants = [() if i < 0 else constants[i] for i in self.source]
        self.prefix = _product_prefix(self.steps, plan)

    def inverse_constants(self, dtype: torch.dtype, device: torch.device) -> list:
        inverses = self.plan.inverse_constants(dtype, device)
        return inverses if self.source is None else [() if i < 0 else inverses[i] for i in self.source]


def _initial_state(batch: int, num_qubits: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    state = torch.zeros(batch, 2**num_qubits, dtype=dtype, device=device)
    state[:, 0] = 1
    return state


_PRODUCT_START_MIN_AMPLITUDES = 1 << 16
"""From this many amplitudes per chunk, the leading single-qubit steps are built as a product state
(:func:`_product_start`); below, their few tensor operations cost more than the passes they save."""


def _start(
    run: _Execution, tensors: list[torch.Tensor], rows: slice, dtype: torch.dtype, device: torch.device
) -> tuple[torch.Tensor, int]:
    """A chunk's starting state and the first step still to run on it.

    The prefix's product state and ``run.prefix`` when the chunk is large enough, else ``|0...0>`` and 0.
    """
    if run.prefix and (rows.stop - rows.start) << run.plan.num_qubits >= _PRODUCT_START_MIN_AMPLITUDES:
        return _product_start(run, tensors, rows, dtype), run.prefix
    return _initial_state(rows.stop - rows.start, run.plan.num_qubits, dtype, device), 0


def _product_prefix(steps: list[Step], plan: Plan) -> int:
    """How many leading steps only apply single-qubit gates (per sample) to distinct qubits.

    From ``|0...0>`` they make a product state, which :func:`_product_start` builds directly: one write of
    the state, instead of a pass (and its backward) per step.
    """
    seen: set[int] = set()
    count = 0
    for step in steps:
        if not plan.applies_single_qubit_gates(step) or seen.intersection(step.qubits):
            break
        seen.update(step.qubits)
        count += 1
    return count


def _product_start(run: _Execution, tensors: list[torch.Tensor], rows: slice, dtype: torch.dtype) -> torch.Tensor:
    """The state after the plan's first ``run.prefix`` steps, from ``|0...0>``.

    It is the product of each gate's first column (differentiable; ``(rows, 2**n)``).
    """
    columns: dict[int, torch.Tensor] = {}  # first qubit -> amplitudes of qubits q .. q + k - 1, (rows, 2**k)
    for step, const in zip(run.steps[: run.prefix], run.constants[: run.prefix], strict=True):
        operand = _step_operand(step, tensors, const, rows, run.plan)
        if step.kind == "layer":
            for j, q in enumerate(step.qubits):
                columns[q] = operand[:, j, :, 0]
        else:  # a fused single-qubit run, or a kron of runs on ascending neighbouring qubits
            columns[step.qubits[0]] = operand[..., :, 0]
    count = rows.stop - rows.start
    zero = torch.tensor([1.0, 0.0], dtype=dtype, device=tensors[0].device).expand(count, 2)
    factors: list[torch.Tensor] = []  # in qubit order (qubit 0 is the most significant bit)
    q = 0
    while q < run.plan.num_qubits:
        factor = columns.get(q, zero).to(dtype)
        factors.append(factor)
        q += factor.shape[-1].bit_length() - 1
    return _outer_product(factors, count)


def _outer_product(factors: list[torch.Tensor], count: int) -> torch.Tensor:
    """``factors[0] (x) factors[1] (x) ...`` per row, as a balanced tree of batched outer products.

    Each outer product is a ``bmm``, whose backward reads the cotangent once per side (an elementwise product
    and a sum would make full-size temporaries at every level).
    """
    if len(factors) == 1:
        return factors[0]
    widths = [f.shape[-1].bit_length() - 1 for f in factors]
    half, total, split = sum(widths) / 2, 0, 1
    for i, width in enumerate(widths[:-1]):
        total += width
        split = i + 1
        if total >= half:
            break
    left, right = _outer_product(factors[:split], count), _outer_product(factors[split:], count)
    return torch.bmm(left.unsqueeze(2), right.unsqueeze(1)).reshape(count, -1)


def _step_operand(step: Step, tensors: list[torch.Tensor], constants: tuple, rows: slice, plan: Plan) -> torch.Tensor:
    if step.kind == "layer":
        return tensors[0][rows].index_select(1, plan.position_index(step.positions, tensors[0].device))
    if step.tensor >= 0:
        return tensors[step.tensor][rows, step.index]
    return constants[0]


def _apply(
    step: Step,
    state: torch.Tensor,
    operand: torch.Tensor | None,
    constants: tuple,
    num_qubits: int,
    tile: int | None,
    out: torch.Tensor | None = None,
    inverse: tuple = (),
) -> torch.Tensor:
    if step.kind == "monomial":
        return apply_monomial(state, constants[0], constants[1], out, inverse=inverse[:2] or None)
    if step.kind == "diagonal":
        return apply_diagonal(state, operand, step.qubits, num_qubits, out)
    if step.kind == "layer":
        return layer.apply_layer(state, operand, step.qubits, num_qubits, step.bits, tile, out)
    return apply_matrix(state, operand, step.qubits, num_qubits, out)


def _run_forward(
    run: _Execution,
    tensors: list[torch.Tensor],
    state: torch.Tensor,
    rows: slice,
    target: torch.Tensor | None = None,
    first: int = 0,
) -> torch.Tensor:
    """Apply the steps from ``first`` on.

    With ``target`` (autograd off), ping-pong between two buffers and end in ``target``.
    """
    spare = None if target is None else torch.empty_like(state)
    last = len(run.steps) - 1
    n = run.plan.num_qubits
    # under autograd, permutations take their inverse gather as backward (built once per plan)
    autograd = target is None and torch.is_grad_enabled() and any(s.kind == "monomial" for s in run.steps)
    inverses = run.inverse_constants(state.dtype, state.device) if autograd else None
    for i, (step, const) in enumerate(zip(run.steps, run.constants, strict=True)):
        if i < first:
            continue
        operand = None if step.kind == "monomial" else _step_operand(step, tensors, const, rows, run.plan)
        if target is None:
            state = _apply(step, state, operand, const, n, run.tile, inverse=() if inverses is None else inverses[i])
            continue
        out = target if i == last else spare
        spare = state
        state = _apply(step, state, operand, const, n, run.tile, out)
    if target is not None and state is not target:
        target.copy_(state)
    return state


def _undo_constant(
    step: Step, operand: torch.Tensor, pair: torch.Tensor, out: torch.Tensor, rows: int, num_qubits: int
) -> None:
    """Un-apply a constant step to the stacked ``[conj(psi); phi]`` into ``out``, one half at a time.

    ``conj(psi) <- conj(U^dagger psi) = U^T conj(psi)`` and ``phi <- U^dagger phi`` (for a diagonal:
    ``D`` and ``conj(D)``); a shared operand takes the single-matrix kernels, with no per-sample copy.
    """
    if step.kind == "diagonal":
        apply_diagonal(pair[:rows], operand, step.qubits, num_qubits, out[:rows])
        apply_diagonal(pair[rows:], operand.conj(), step.qubits, num_qubits, out[rows:])
    else:
        apply_matrix(pair[:rows], operand.mT, step.qubits, num_qubits, out[:rows])
        apply_matrix(pair[rows:], operand.mH, step.qubits, num_qubits, out[rows:])


def _stacked(conj_part: torch.Tensor, plain_part: torch.Tensor, rows: int) -> torch.Tensor:
    """Operands for the stacked ``[conj(psi); phi]`` batch (``2 * rows`` states) of the adjoint sweep."""
    shape = (rows, *plain_part.shape[1:])
    return torch.cat([conj_part.expand(shape), plain_part.expand(shape)])


class _AdjointSimulation(torch.autograd.Function):
    """Final states from step tensors; backward by the adjoint method (see the module docstring)."""

    @staticmethod
    def forward(ctx, plan: Plan, batch_size: int, dtype: torch.dtype, device: torch.device, *tensors: torch.Tensor):
        run = _Execution(plan, dtype, device, grad=True)
        out = _simulate_buffered(plan, list(tensors), batch_size, dtype, device, run=run)
        chunk = chunk_size(batch_size, plan.num_qubits, dtype.itemsize, device)
        ctx.plan, ctx.batch_size, ctx.dtype, ctx.device, ctx.chunk = plan, batch_size, dtype, device, chunk
        ctx.run = run
        ctx.save_for_backward(out, *tensors)
        return out

    @staticmethod
    def backward(ctx, grad_state: torch.Tensor):
        final, *tensors = ctx.saved_tensors
        plan: Plan = ctx.plan
        if torch.is_grad_enabled():  # create_graph=True: recompute under autograd for higher derivatives
            with torch.enable_grad():
                out = _simulate_backprop(plan, tensors, ctx.batch_size, ctx.dtype, ctx.device)
                wanted = [t for t in tensors if t.requires_grad]
                grads = torch.autograd.grad(out, wanted, grad_state, create_graph=True, allow_unused=True)
            it = iter(grads)
            return (None, None, None, None, *(next(it) if t.requires_grad else None for t in tensors))
        needs = ctx.needs_input_grad[4:]
        run: _Execution = ctx.run
        inverses = run.inverse_constants(ctx.dtype, ctx.device)
        n = plan.num_qubits
        chunk_grads: list[list[torch.Tensor]] = [[] for _ in tensors]
        grad_state = grad_state.contiguous()
        for start in range(0, ctx.batch_size, ctx.chunk):
            rows = slice(start, min(start + ctx.chunk, ctx.batch_size))
            here = rows.stop - rows.start
            step_grads: list[list[torch.Tensor | None]] = [[None] * t.shape[1] for t in tensors]
            # conj(psi) (the state being un-computed) and phi (the cotangent) travel stacked, so one kernel
            # call moves both; carrying conj(psi) makes each gradient a plain product, with no conj copy.
            pair = torch.cat([final[rows].conj(), grad_state[rows]])
            spare = torch.empty_like(pair)
            for step, const, inv in zip(reversed(run.steps), reversed(run.constants), reversed(inverses), strict=True):
                if step.kind == "monomial":
                    source, _, pair_phase = inv
                    pair, spare = apply_monomial(pair, source, None, spare), pair
                    if pair_phase is not None:
                        pair.view(2, -1, source.shape[0]).mul_(pair_phase)
                    continue
                operand = _step_operand(step, tensors, const, rows, plan)
                if step.tensor < 0:  # constant: one operand for every sample, so each half takes its own
                    _undo_constant(step, operand, pair, spare, here, n)
                    pair, spare = spare, pair
                    continue
                wanted = step.tensor >= 0 and needs[step.tensor]
                if step.kind == "layer":
                    _undo_layer(step, operand, pair, spare, here, n, run.tile, step_grads[0] if wanted else None)
                    pair, spare = spare, pair
                elif step.kind == "diagonal":  # conj(psi) <- D conj(psi), phi <- conj(D) phi
                    both = _stacked(operand, operand.conj(), here)
                    pair, spare = apply_diagonal(pair, both, step.qubits, n, spare), pair
                    if wanted:  # dL/dD = D * sum(phi_in conj(psi_in)), as phi_out = D phi_in
                        g = diagonal_gradient(pair[here:], pair[:here], step.qubits, n)
                        step_grads[step.tensor][step.index] = operand * g
                else:  # conj(psi) <- U^T conj(psi), phi <- U^dagger phi
                    both = _stacked(operand.mT, operand.mH, here)
                    pair, spare = apply_matrix(pair, both, step.qubits, n, spare), pair
                    if wanted:  # dL/dU = phi_out psi_in^dagger = U (phi_in psi_in^dagger)
                        g = matrix_gradient(pair[here:], pair[:here], step.qubits, n)
                        step_grads[step.tensor][step.index] = operand @ g
            for t, entries in enumerate(step_grads):
                if needs[t] and entries:
                    # entries no step used (single-qubit matrices folded into pairs) get zero gradient
                    template = tensors[t][rows, 0]
                    filled = [torch.zeros_like(template) if g is None else g for g in entries]
                    chunk_grads[t].append(torch.stack(filled, dim=1))
        grads = [
            (torch.cat(chunk_grads[t]) if len(chunk_grads[t]) > 1 else chunk_grads[t][0])
            if needs[t] and chunk_grads[t]
            else (torch.zeros_like(tensor) if needs[t] else None)
            for t, tensor in enumerate(tensors)
        ]
        return (None, None, None, None, *grads)


def _undo_layer(
    step: Step,
    operand: torch.Tensor,
    pair: torch.Tensor,
    out: torch.Tensor,
    rows: int,
    num_qubits: int,
    tile: int,
    grads: list[torch.Tensor | None] | None,
) -> None:
    """Un-apply a layer step to the stacked ``[conj(psi); phi]`` into ``out``; with ``grads``, fill its entries.

    ``conj(psi_in) = U^T conj(psi_out)``; then the kernel's backward takes ``phi_out`` and ``conj(psi_in)`` to
    ``phi_in = U^dagger phi_out`` and each gate's ``dL/dM = phi_out psi_in^dagger`` (the other gates of the layer
    applied), in one pass.
    """
    if grads is None:
        both = _stacked(operand.mT, operand.mH, rows)
        layer.apply_layer(pair, both, step.qubits, num_qubits, step.bits, tile, out)
        return
    layer.apply_layer(pair[:rows], operand.mT, step.qubits, num_qubits, step.bits, tile, out[:rows])
    g = layer.layer_backward(pair[rows:], out[:rows], operand, step.qubits, num_qubits, step.bits, tile, out[rows:])
    for j, position in enumerate(step.positions):
        grads[position] = g[:, j]


def _simulate_buffered(
    plan: Plan,
    tensors: list[torch.Tensor],
    batch_size: int,
    dtype: torch.dtype,
    device: torch.device,
    chunk: int | None = None,
    run: _Execution | None = None,
) -> torch.Tensor:
    """Final states without autograd: each chunk ping-pongs between two buffers and ends in the output.

    ``chunk`` (samples per chunk) overrides :func:`chunk_size` (the tuner's probe sets it); ``run`` the
    steps (by default chosen for a forward pass without autograd).
    """
    run = run or _Execution(plan, dtype, device, grad=False)
    chunk = chunk or chunk_size(batch_size, plan.num_qubits, dtype.itemsize, device)
    out = torch.empty(batch_size, 2**plan.num_qubits, dtype=dtype, device=device)
    for start in range(0, batch_size, chunk):
        rows = slice(start, min(start + chunk, batch_size))
        initial, first = _start(run, tensors, rows, dtype, device)
        _run_forward(run, tensors, initial, rows, target=out[rows], first=first)
    return out


def _simulate_backprop(
    plan: Plan, tensors: list[torch.Tensor], batch_size: int, dtype: torch.dtype, device: torch.device
) -> torch.Tensor:
    run = _Execution(plan, dtype, device, grad=True)
    chunk = chunk_size(batch_size, plan.num_qubits, dtype.itemsize, device)
    pieces = []
    for start in range(0, batch_size, chunk):
        rows = slice(start, min(start + chunk, batch_size))
        initial, first = _start(run, tensors, rows, dtype, device)
        pieces.append(_run_forward(run, tensors, initial, rows, first=first))
    return torch.cat(pieces) if len(pieces) > 1 else pieces[0]


def evolve(plan: Plan, tensors: list[torch.Tensor], state: torch.Tensor) -> torch.Tensor:
    """Apply the plan to given states under torch autograd (what :func:`simulate` does from ``|0...0>``).

    Args:
        plan: the compiled circuit.
        tensors: :meth:`Plan.step_tensors` output, with ``1`` or ``rows`` rows each.
        state: the starting states (a prepared amplitude vector, say), ``(rows, 2**num_qubits)``, contiguous,
            complex, or real when ``plan.real``.

    Shape:
        Returns ``(rows, 2**num_qubits)``, differentiable in ``tensors`` and ``state``.
    """
    run = _Execution(plan, state.dtype, state.device, grad=torch.is_grad_enabled())
    return _run_forward(run, tensors, state, slice(0, state.shape[0]))


def simulate(
    plan: Plan,
    tensors: list[torch.Tensor],
    batch_size: int,
    dtype: torch.dtype,
    device: torch.device,
    diff_method: str = "adjoint",
) -> torch.Tensor:
    """Final states of the plan, starting from ``|0...0>``.

    Args:
        plan: the compiled circuit.
        tensors: :meth:`Plan.step_tensors` output.
        batch_size: number of bindings.
        dtype: state dtype (complex, or real when ``plan.real``).
        device: where the states live.
        diff_method: ``"adjoint"`` or ``"backprop"`` (see the module docstring).

    Shape:
        Returns ``(batch_size, 2**num_qubits)``.
    """
    needs_grad = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    if not needs_grad:
        with torch.no_grad():
            return _simulate_buffered(plan, tensors, batch_size, dtype, device)
    if diff_method == "backprop":
        return _simulate_backprop(plan, tensors, batch_size, dtype, device)
    return _AdjointSimulation.apply(plan, batch_size, dtype, device, *tensors)
