"""The density-matrix engine: exact noisy simulation, batched and differentiable by torch autograd.

The density matrix ``rho`` of ``n`` qubits, ``(batch_size, 2**n, 2**n)``, is simulated as a vector of
``2n`` qubits, ``(batch_size, 4**n)``, with the row and column bit of each circuit qubit side by side:
vector qubit ``2q`` is the row bit of qubit ``q`` and ``2q + 1`` its column bit (qubit 0 most significant).
On that vector the state-vector kernels do all the work (:func:`circuits.sim.kernels.apply_matrix`): a
gate ``U`` acts as its superoperator ``kron(U, conj(U))`` (``rho -> U rho U^dagger``), a channel with Kraus
operators ``K_k`` as ``S = sum_k kron(K_k, conj(K_k))`` (see :mod:`circuits.ir.channels`), each on the
vector qubits ``(2q, 2q + 1)`` of its circuit qubits; with the bits interleaved, an operation on
neighbouring circuit qubits is one contiguous block (one matrix product per pass, no permuted copy).
The results are returned in the usual layout, ``rho_flat[b, r * 2**n + c] = rho[b, r, c]``.

Compilation (once per circuit, :class:`DensityPlan`) fuses before anything runs: every run of one-qubit
gates and channels on a qubit becomes one operator (it waits until a multi-qubit operation touches the
qubit), a multi-qubit gate takes the channels that follow it on its qubits, and consecutive operators
on at most two circuit qubits (a ``cx`` with the noise before and after it on both qubits) become one
``16 x 16`` superoperator: one pass over ``rho`` each. Gates on four or more qubits are applied as ``U``
on the row bits and ``conj(U)`` on the column bits (their superoperators would be ``4**k`` wide). The
matrices of all operations of one type are built in one batched call per forward pass, as in
:mod:`circuits.sim.plan`. A global phase cancels in ``rho`` and is dropped.

Gradients: every step is an ordinary torch operation, so autograd differentiates through gates and
channels to any order, with respect to gate angles and to symbolic noise strengths alike. The
adjoint method of the state-vector engine does not apply (a channel is not unitary: the state cannot
be un-computed), so this engine keeps every intermediate density matrix; its memory grows with depth.

Memory: ``batch_size * 4**n * itemsize`` bytes per copy (8 bytes per entry in complex64): 12 qubits
take 128 MiB per sample. :func:`check_density_memory` refuses what would not fit, with the estimate.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from circuits.backend import (
    Expectation,
    Measurement,
    Probabilities,
    Samples,
    StateVector,
    available_memory_bytes,
    format_bytes,
    measured_qubits,
)
from circuits.errors import SimulationMemoryError
from circuits.ir.channels import CHANNELS, channel_superoperator
from circuits.ir.circuit import Circuit
from circuits.ir.gates import complex_dtype_for, gate_matrix
from circuits.ir.observables import Observable
from circuits.ir.operation import Operation
from circuits.noise import apply_readout_errors
from circuits.sim.kernels import apply_matrix
from circuits.sim.measure import _diagonal_table, _offdiagonal_terms, marginal_probabilities, sample_bits

__all__ = [
    "DensityPlan",
    "check_density_memory",
    "check_memory_fits",
    "embed_operator",
    "compile_density_plan",
    "density_expectations",
    "density_probabilities",
    "measure_density",
    "operation_params",
    "simulate_density",
]

_ALWAYS_FITS_BYTES = 16 * 2**20


def check_memory_fits(one_copy: int, copies: int, device: torch.device, what: str, fix: str) -> None:
    """Raise :class:`SimulationMemoryError` when ``copies`` tensors of ``one_copy`` bytes would not fit on ``device``.

    Args:
        one_copy: bytes of one copy (all bindings).
        copies: how many the simulation holds at once.
        device: where they would live.
        what: the request, for the message (``"The density matrix of 14 qubits for a batch of 8"``).
        fix: what to do instead, for the message.
    """
    needed = copies * one_copy
    if needed <= _ALWAYS_FITS_BYTES:
        return
    available = available_memory_bytes(device)
    if needed > available:
        raise SimulationMemoryError(
            f"{what} needs about {format_bytes(needed)} ({copies} copies of {format_bytes(one_copy)}), but only "
            f"{format_bytes(available)} is available on {device}. {fix}"
        )


def check_density_memory(
    num_qubits: int,
    batch_size: int,
    itemsize: int,
    device: torch.device,
    *,
    copies: int = 3,
    gradient: bool = False,
) -> None:
    """Raise :class:`SimulationMemoryError` when ``copies`` batched density matrices would not fit.

    Args:
        num_qubits: qubits of the circuit.
        batch_size: density matrices simulated at once.
        itemsize: bytes per complex entry (8 for complex64, 16 for complex128).
        device: where they would live.
        copies: how many the simulation holds at once.
        gradient: the copies are what autograd keeps for the backward (the message says so).
    """
    kept = " under autograd (it keeps the input of every pass for the backward)" if gradient else ""
    shorter = " a shallower circuit, or the values without requires_grad (no gradient)," if gradient else ""
    check_memory_fits(
        batch_size * itemsize * 4**num_qubits,
        copies,
        device,
        f"The density matrix of {num_qubits} qubits for a batch of {batch_size}{kept} (batch_size * "
        f"4**{num_qubits} * {itemsize} bytes per copy)",
        f"Use fewer qubits or a smaller batch,{shorter} or TorchBackend(method='trajectory') (memory of a state "
        "vector per trajectory).",
    )


@dataclass(frozen=True)
class _Step:
    """One pass over the density matrix.

    Attributes:
        kind: ``"unitary"`` (a matrix on ``qubits``, applied to rows and columns) or ``"super"`` (a
            superoperator on the row and column qubits of ``qubits``).
        qubits: the circuit qubits acted on.
        factors: operation indices whose (lifted) matrices multiply, in application order, into the operand.
    """

    kind: str
    qubits: tuple[int, ...]
    factors: tuple[int, ...]


_FUSED_QUBITS = 2
"""Consecutive operators are fused while they act on at most this many circuit qubits together (16 x 16)."""

_LIFTED_GATE_QUBITS = 3
"""Gates up to this width act as superoperators; wider ones as ``U`` on the rows and ``conj(U)`` on the columns."""


@dataclass(frozen=True)
class _Block:
    """One pass over the density matrix: consecutive steps fused.

    Attributes:
        qubits: the circuit qubits acted on (ascending for superoperator blocks, the gate's order otherwise).
        steps: the fused steps, in application order.
        lifted: a superoperator on the vector qubits ``(2q, 2q + 1)`` of ``qubits``; ``False`` for one wide
            unitary applied to the row and the column bits.
    """

    qubits: tuple[int, ...]
    steps: tuple[_Step, ...]
    lifted: bool = True


class DensityPlan:
    """The compiled form of one (noisy) circuit for the density-matrix engine.

    Attributes:
        num_qubits: circuit width.
        steps: the fused operators, in order (before the neighbour fusion).
        blocks: the passes over the density matrix, in order.
        groups: ``(name, width)`` to the indices of the operations whose matrices are built in one call.
    """

    def __init__(self, circuit: Circuit) -> None:
        self.num_qubits = circuit.num_qubits
        self.operations = circuit.operations
        self.steps: list[_Step] = []
        self._compile()
        self.blocks = self._fuse()
        # operations of one type (and width) build their matrices in one call
        groups: dict[tuple[str, int], list[int]] = defaultdict(list)
        for index in sorted({i for step in self.steps for i in step.factors}):
            op = self.operations[index]
            groups[(op.name, op.num_qubits)].append(index)
        self.groups = dict(groups)

    def _compile(self) -> None:
        pending: dict[int, list[int]] = {}  # qubit -> one-qubit operations not yet applied

        def flush(q: int) -> None:
            run = pending.pop(q, None)
            if run:
                kind = "super" if any(self.operations[i].is_channel for i in run) else "unitary"
                self.steps.append(_Step(kind, (q,), tuple(run)))

        ops = self.operations
        i = 0
        while i < len(ops):
            op = ops[i]
            if not op.qubits:  # a global phase cancels in rho
                i += 1
                continue
            if op.num_qubits == 1:
                pending.setdefault(op.qubits[0], []).append(i)
                i += 1
                continue
            for q in op.qubits:
                flush(q)
            factors = [i]
            i += 1
            while i < len(ops) and ops[i].is_channel and ops[i].qubits == op.qubits:
                factors.append(i)
                i += 1
            kind = "super" if any(ops[j].is_channel for j in factors) else "unitary"
            self.steps.append(_Step(kind, op.qubits, tuple(factors)))
        for q in sorted(pending):
            flush(q)

    def _fuse(self) -> list[_Block]:
        """Merge consecutive steps while they act on at most ``_FUSED_QUBITS`` qubits (or inside a wider step's)."""
        blocks: list[_Block] = []
        current: list[_Step] = []
        qubits: set[int] = set()

        def close() -> None:
            if current:
                blocks.append(_Block(tuple(sorted(qubits)), tuple(current)))

        for step in self.steps:
            if step.kind == "unitary" and len(step.qubits) > _LIFTED_GATE_QUBITS:
                close()
                current, qubits = [], set()
                blocks.append(_Block(step.qubits, (step,), lifted=False))
                continue
            union = qubits | set(step.qubits)
            if current and len(union) <= max(_FUSED_QUBITS, len(qubits)):
                current.append(step)
                qubits = union
                continue
            close()
            current, qubits = [step], set(step.qubits)
        close()
        return blocks

    def operands(
        self, values: dict[str, torch.Tensor], batch: int, real_dtype: torch.dtype, device: torch.device
    ) -> list[torch.Tensor]:
        """Each block's operand: a superoperator on the interleaved bits of its ``k`` qubits, or a wide unitary.

        Shapes: ``(batch or 1, 4**k, 4**k)``; a wide unitary block's matrix ``(batch or 1, 2**k, 2**k)``.

        Raises:
            InvalidChannelError: a bound noise-channel parameter is out of its range.
        """
        matrices: dict[int, torch.Tensor] = {}
        for (name, width), members in self.groups.items():
            ops = [self.operations[i] for i in members]
            params = operation_params(ops, values, batch, real_dtype, device)
            channel = name in CHANNELS
            if ops[0].data is not None:  # unitary / evolution / pauli_rot / kraus carry their own data
                for j, (index, op) in enumerate(zip(members, ops, strict=True)):
                    matrices[index] = self._matrix(op, params[:, j], channel)
                continue
            stacked = (
                channel_superoperator(name, params, None, width) if channel else gate_matrix(name, params, None, width)
            )
            for j, index in enumerate(members):
                matrices[index] = stacked[:, j]
        dtype = complex_dtype_for(real_dtype)
        out = []
        for block in self.blocks:
            operand = None
            for step in block.steps:
                lift = block.lifted
                factor = None
                for index in step.factors:
                    matrix = matrices[index].to(dtype)
                    if lift and not self.operations[index].is_channel:
                        matrix = _lift(matrix)
                    factor = matrix if factor is None else matrix @ factor
                assert factor is not None
                if lift:
                    factor = _embed_superoperator(factor, step.qubits, block.qubits)
                operand = factor if operand is None else factor @ operand
            out.append(operand)
        return out

    @staticmethod
    def _matrix(op: Operation, params: torch.Tensor, channel: bool) -> torch.Tensor:
        if channel:
            return channel_superoperator(op.name, params, op.data, op.num_qubits)  # type: ignore[arg-type]
        return gate_matrix(op.name, params, op.data, op.num_qubits)  # type: ignore[arg-type]


def operation_params(
    operations: Sequence[Operation],
    values: dict[str, torch.Tensor],
    batch: int,
    real_dtype: torch.dtype,
    device: torch.device,
) -> torch.Tensor:
    """The parameter values of operations of one type, checked where they are channel strengths.

    Args:
        operations: operations of one name and width.
        values: bound parameter values, ``(1 or batch, size)`` each.
        batch: rows to build when a parameter is symbolic.
        real_dtype: float32 or float64.
        device: where the values live.

    Returns:
        ``(rows, len(operations), num_params)``, with ``rows = batch`` when a parameter is symbolic, else 1.

    Raises:
        InvalidChannelError: a bound noise-channel parameter is out of its range (constants were checked
            when the operations were built).
    """
    count = len(operations[0].params)
    symbolic = any(not p.is_constant for op in operations for p in op.params)
    rows = batch if symbolic else 1
    angles = [p for op in operations for p in op.params]
    if not angles:
        return torch.zeros(rows, len(operations), 0, dtype=real_dtype, device=device)
    columns = [a.evaluate(values).to(dtype=real_dtype, device=device).expand(rows) for a in angles]
    params = torch.stack(columns, dim=-1).reshape(rows, len(operations), count)
    if symbolic and operations[0].is_channel:
        CHANNELS[operations[0].name].check_values(params, operations[0].num_qubits)
    return params


def _lift(unitary: torch.Tensor) -> torch.Tensor:
    """``kron(U, conj(U))``: a gate's superoperator.

    Shape:
        unitary: ``(..., d, d)``. Returns ``(..., d**2, d**2)``.
    """
    d = unitary.shape[-1]
    product = unitary[..., :, None, :, None] * unitary.conj()[..., None, :, None, :]
    return product.reshape(*unitary.shape[:-2], d * d, d * d)


def embed_operator(matrix: torch.Tensor, labels: Sequence[object], target: Sequence[object]) -> torch.Tensor:
    """An operator on the bits ``labels`` as one on the bits ``target`` (identity on those it does not name).

    Args:
        matrix: the operator; bit ``i`` of its index (most significant first) is ``labels[i]``.
        labels: names of its bits (any hashable: qubit indices, ``("r", q)`` ...), all in ``target``.
        target: names of the output's bits, most significant first.

    Shape:
        matrix: ``(..., 2**len(labels), 2**len(labels))``. Returns ``(..., 2**len(target), 2**len(target))``.
    """
    lead = matrix.shape[:-2]
    rest = [t for t in target if t not in labels]
    if rest:
        eye = torch.eye(2 ** len(rest), dtype=matrix.dtype, device=matrix.device)
        size = matrix.shape[-1] * eye.shape[0]
        matrix = (matrix[..., :, None, :, None] * eye[:, None, :]).reshape(*lead, size, size)
    names = [*labels, *rest]
    order = [names.index(t) for t in target]
    if order == list(range(len(order))):
        return matrix
    bits, axes = len(order), len(lead)
    tensor = matrix.reshape(*lead, *([2] * (2 * bits)))
    tensor = tensor.permute(*range(axes), *(axes + o for o in order), *(axes + bits + o for o in order))
    return tensor.reshape(*lead, 2**bits, 2**bits)


def _embed_superoperator(matrix: torch.Tensor, qubits: Sequence[int], block: Sequence[int]) -> torch.Tensor:
    """A superoperator on ``qubits`` (bits: their rows, then their columns) on ``block``'s interleaved bits.

    Shape:
        matrix: ``(..., 4**k, 4**k)``. Returns ``(..., 4**kb, 4**kb)`` with ``kb = len(block)``.
    """
    labels = [("r", q) for q in qubits] + [("c", q) for q in qubits]
    return embed_operator(matrix, labels, [(x, q) for q in block for x in "rc"])


@functools.lru_cache(maxsize=32)
def compile_density_plan(circuit: Circuit) -> DensityPlan:
    """Compile ``circuit`` for the density-matrix engine (cached per circuit)."""
    return DensityPlan(circuit)


def simulate_density(
    circuit: Circuit,
    values: dict[str, torch.Tensor],
    batch_size: int,
    dtype: torch.dtype,
    device: torch.device,
    initial: torch.Tensor | None = None,
) -> torch.Tensor:
    """Final density matrices from ``|0...0><0...0|`` (or ``initial``), flat.

    Args:
        circuit: the circuit, gates and channels.
        values: bound parameter values, ``(1 or batch_size, size)`` each.
        batch_size: number of bindings.
        dtype: ``torch.complex64`` or ``torch.complex128``.
        device: where the density matrices live.
        initial: flat density matrices to start from, ``(1 or batch_size, 4**num_qubits)`` (a prepared
            state, under autograd); ``None`` for ``|0...0><0...0|``.

    Shape:
        Returns ``(batch_size, 4**num_qubits)``; ``.view(batch_size, 2**n, 2**n)`` is ``rho``.

    Raises:
        SimulationMemoryError: the density matrices would not fit (with the estimate).
        InvalidChannelError: a bound noise-channel parameter is out of its range.
    """
    n = circuit.num_qubits
    batched = any(v.shape[0] != 1 for v in values.values()) or (initial is not None and initial.shape[0] != 1)
    rows = batch_size if batched else 1
    plan = compile_density_plan(circuit)
    tracked = [*values.values(), *([] if initial is None else [initial])]
    if torch.is_grad_enabled() and any(t.requires_grad for t in tracked):
        # autograd keeps the input of every pass: one per lifted block, two per block applied on both sides
        kept = sum(1 if block.lifted else 2 for block in plan.blocks)
        check_density_memory(n, rows, dtype.itemsize, device, copies=2 + kept, gradient=True)
    else:
        check_density_memory(n, rows, dtype.itemsize, device)
    real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
    operands = plan.operands(values, rows, real_dtype, device)
    if initial is None:
        rho = torch.zeros(rows, 4**n, dtype=dtype, device=device)
        rho[:, 0] = 1
    else:  # rows then columns -> interleaved (r0, c0, r1, c1, ...)
        order_in = (0, *(v for q in range(n) for v in (1 + q, 1 + n + q)))
        rho = initial.to(dtype=dtype, device=device).expand(rows, 4**n)
        rho = rho.reshape(rows, *([2] * (2 * n))).permute(order_in).reshape(rows, 4**n)
    for block, operand in zip(plan.blocks, operands, strict=True):
        if block.lifted:
            rho = apply_matrix(rho, operand, tuple(v for q in block.qubits for v in (2 * q, 2 * q + 1)), 2 * n)
        else:
            rho = apply_matrix(rho, operand, tuple(2 * q for q in block.qubits), 2 * n)
            rho = apply_matrix(rho, operand.conj(), tuple(2 * q + 1 for q in block.qubits), 2 * n)
    # interleaved (r0, c0, r1, c1, ...) -> rows then columns
    order = (0, *range(1, 2 * n + 1, 2), *range(2, 2 * n + 1, 2))
    rho = rho.reshape(rows, *([2] * (2 * n))).permute(order).reshape(rows, 4**n)
    return rho if rows == batch_size else rho.expand(batch_size, -1)


def density_probabilities(rho: torch.Tensor, num_qubits: int) -> torch.Tensor:
    """The diagonal of ``rho``: basis-state probabilities.

    Shape:
        rho: ``(batch_size, 4**n)``. Returns ``(batch_size, 2**n)`` real.
    """
    dim = 2**num_qubits
    return rho.reshape(rho.shape[0], dim, dim).diagonal(dim1=1, dim2=2).real


def density_expectations(rho: torch.Tensor, num_qubits: int, observables: Sequence[Observable]) -> torch.Tensor:
    """``tr(rho O_k)`` for every density matrix in the batch.

    A Pauli string with flip mask ``f`` maps ``|i>`` to ``c(i) |i ^ f>``, so ``tr(rho P) = sum_i rho[i, i ^ f] c(i)``:
    Z-only strings and projectors read the diagonal (one matmul against a table of signs), the others one gather.

    Shape:
        rho: ``(batch_size, 4**n)``. Returns ``(batch_size, len(observables))`` real.
    """
    observables = tuple(observables)
    real_dtype = rho.real.dtype
    table = _diagonal_table(observables, num_qubits, rho.device).to(real_dtype)
    result = density_probabilities(rho, num_qubits) @ table
    extra = _offdiagonal_terms(observables, num_qubits, rho.device)
    if not extra:
        return result
    dim = 2**num_qubits
    rows = torch.arange(dim, device=rho.device)
    columns = [result[:, k] for k in range(len(observables))]
    for column, partner, signs, factor in extra:
        entries = rho[:, rows * dim + partner]  # rho[i, i ^ f]
        value = ((entries * signs.to(real_dtype)).sum(dim=1) * factor).real
        columns[column] = columns[column] + value
    return torch.stack(columns, dim=1)


def measure_density(
    rho: torch.Tensor,
    circuit: Circuit,
    measurement: Measurement,
    readout: Sequence[np.ndarray | None] | None,
    generator: torch.Generator | None,
) -> torch.Tensor:
    """A measurement of final density matrices (see :mod:`circuits.backend` for shapes).

    Args:
        rho: ``(batch_size, 4**n)``.
        circuit: the circuit (for its width and the measured qubits).
        measurement: what to return; ``StateVector`` returns the density matrices ``(batch_size, 2**n, 2**n)``.
        readout: per circuit qubit, its readout matrix ``[true][recorded]`` or ``None``; applied to
            ``Probabilities`` and ``Samples`` (measured outcomes), not to ``Expectation`` (as Aer).
        generator: randomness for ``Samples``.
    """
    n = circuit.num_qubits
    if isinstance(measurement, StateVector):
        dim = 2**n
        return rho.reshape(rho.shape[0], dim, dim)
    if isinstance(measurement, Expectation):
        return density_expectations(rho, n, measurement.observables)
    qubits = measured_qubits(circuit, measurement.qubits)  # type: ignore[union-attr]
    probs = marginal_probabilities(density_probabilities(rho, n), n, qubits)
    if readout is not None:
        probs = apply_readout_errors(probs, [readout[q] for q in qubits])
    if isinstance(measurement, Probabilities):
        return probs
    assert isinstance(measurement, Samples)
    m = len(qubits)
    return sample_bits(probs, m, tuple(range(m)), measurement.shots, generator)
