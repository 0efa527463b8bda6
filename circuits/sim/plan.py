"""Compile a circuit once into an execution plan for the torch engine.

What compilation does (docs/architecture.md, "The torch engine"):

* **Single-qubit fusion.** Every run of single-qubit gates on one qubit, up to the
  next multi-qubit gate touching that qubit, becomes one ``2 x 2`` matrix per sample.
* **Monomial merging.** Consecutive fixed multi-qubit gates whose matrices have one
  nonzero per row (CNOT, CZ, SWAP, Toffoli, iSWAP, ...) become one index gather
  with phases: a whole CNOT ring is one pass over the state.
* **Diagonal gates** (``rzz``, ``cp``, ``crz``, ``mcphase`` ...) multiply elementwise.
* **Batched matrix construction.** All angles are evaluated in one vectorized pass,
  the matrices of all gates of one type in one call, and the products of fused runs
  of equal length in one batched matmul per position: the Python work per forward
  pass does not grow with the number of gates.
* **Real arithmetic** when every gate is real (``ry``, ``cx``, ``cz``, ``h`` ...): half
  the memory and a quarter of the flops.

The plan holds no tensors that depend on parameter values; :meth:`Plan.step_tensors`
builds those for each call, differentiably.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from circuits.ir.circuit import Circuit
from circuits.ir.gates import complex_dtype_for, gate_matrix, gate_spec
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle

__all__ = ["Plan", "Step", "compile_plan"]

_PAIR_FUSION_MIN_QUBITS = 6
"""From this width on, two fused single-qubit steps on neighbouring qubits become one 4 x 4 step: one pass
over the state instead of two (1.5 to 3x cheaper from 8 qubits; below, building the kron costs more)."""

_MONOMIAL_MERGE_MAX_QUBITS = 24
"""Above this width a merged permutation index (8 bytes per amplitude) costs more than it saves."""


@dataclass(frozen=True)
class Step:
    """One pass over the state.

    Attributes:
        kind: ``"matrix"`` (``2**k x 2**k`` matrix on ``qubits``), ``"diagonal"``, or
            ``"monomial"`` (index gather with phases over the whole state).
        qubits: qubits acted on (empty for ``monomial``).
        tensor: which of :meth:`Plan.step_tensors`' outputs holds this step's matrix or
            diagonal, or ``-1`` for constant steps.
        index: position of this step's matrix inside that tensor (its axis 1).
        constant: constant matrix/diagonal (complex128) for ``tensor == -1`` matrix/diagonal steps.
        source, phase: the gather index and phases of a monomial step.
        group: during compilation, the gate type whose batched matrices hold this step's.
    """

    kind: str
    qubits: tuple[int, ...]
    tensor: int = -1
    index: int = 0
    constant: np.ndarray | None = field(default=None, repr=False)
    source: np.ndarray | None = field(default=None, repr=False)
    phase: np.ndarray | None = field(default=None, repr=False)
    group: tuple[str, int] | None = None


def _is_monomial(matrix: np.ndarray) -> bool:
    return bool(np.all(np.count_nonzero(np.abs(matrix) > 1e-12, axis=1) == 1))


def _constant_matrix(op: Operation) -> np.ndarray:
    params = torch.tensor([[p.value() for p in op.params]], dtype=torch.float64)
    return gate_matrix(op.name, params, op.data, op.num_qubits)[0].numpy()


def _op_is_real(op: Operation) -> bool:
    spec = gate_spec(op.name)
    if spec.real:
        return True
    if op.is_parametrized:
        return False
    return bool(np.all(np.abs(_constant_matrix(op).imag) < 1e-15))


@dataclass
class _Group:
    """Gates of one type (and width) whose matrices are built in one call."""

    name: str
    width: int
    diagonal: bool
    ops: list[Operation] = field(default_factory=list)
    slots: list[int] = field(default_factory=list)  # angle-slot indices, num_params per op


class Plan:
    """The compiled form of one circuit for the torch engine.

    Attributes:
        num_qubits: circuit width.
        real: every gate is real, so states can be real tensors.
        steps: the passes over the state, in order.
    """

    def __init__(self, circuit: Circuit) -> None:
        self.num_qubits = circuit.num_qubits
        self.parameters = circuit.parameters
        self.real = all(_op_is_real(op) for op in circuit.operations)
        self._angles: list[Angle] = []
        self._groups: dict[tuple[str, int], _Group] = {}
        self._fixed_1q: list[np.ndarray] = []
        self.steps: list[Step] = []
        # 1q bookkeeping: each fused step is a list of ("param", group key, position) / ("fixed", index)
        self._fused: list[list[tuple[str, object, int]]] = []
        self._tensor_cache: dict[tuple, Any] = {}
        self._compile(circuit.operations)
        self._finish_fused()
        self._pairs: list[tuple[int, int]] = []
        if self.num_qubits >= _PAIR_FUSION_MIN_QUBITS:
            self._pair_single_qubit_steps()

    # -- compilation -----------------------------------------------------------------------

    def _slot(self, angle: Angle) -> int:
        self._angles.append(angle)
        return len(self._angles) - 1

    def _group_member(self, op: Operation) -> tuple[tuple[str, int], int]:
        key = (op.name, op.num_qubits)
        group = self._groups.get(key)
        if group is None:
            group = self._groups[key] = _Group(op.name, op.num_qubits, gate_spec(op.name).diagonal)
        group.ops.append(op)
        group.slots.extend(self._slot(p) for p in op.params)
        return key, len(group.ops) - 1

    def _compile(self, operations: tuple[Operation, ...]) -> None:
        pending: dict[int, list[tuple[str, object, int]]] = defaultdict(list)
        monomials: list[Operation] = []
        monomial_qubits: set[int] = set()

        def flush_monomials() -> None:
            if monomials:
                self.steps.append(self._monomial_step(monomials))
                monomials.clear()
                monomial_qubits.clear()

        def flush_qubit(q: int) -> None:
            run = pending.pop(q, None)
            if run:
                # A run on a qubit the open monomial block does not touch commutes with the block, so it is
                # emitted before it and the block stays open: a CNOT ring after a rotation layer is one gather.
                if q in monomial_qubits:
                    flush_monomials()
                self._fused.append(run)
                self.steps.append(Step("matrix", (q,), tensor=0, index=len(self._fused) - 1))

        for op in operations:
            if op.num_qubits == 1:
                if op.is_parametrized:
                    key, pos = self._group_member(op)
                    pending[op.qubits[0]].append(("param", key, pos))
                else:
                    self._fixed_1q.append(_constant_matrix(op))
                    pending[op.qubits[0]].append(("fixed", None, len(self._fixed_1q) - 1))
                continue
            for q in op.qubits:
                flush_qubit(q)
            if op.num_qubits == 0:  # global phase: a constant or parametrized scalar
                self._emit_general(op, flush_monomials)
                continue
            if not op.is_parametrized:
                matrix = _constant_matrix(op)
                if _is_monomial(matrix) and self.num_qubits <= _MONOMIAL_MERGE_MAX_QUBITS:
                    monomials.append(op)
                    monomial_qubits.update(op.qubits)
                    continue
            self._emit_general(op, flush_monomials)
        for q in sorted(pending):
            flush_qubit(q)
        flush_monomials()

    def _emit_general(self, op: Operation, flush_monomials) -> None:
        flush_monomials()
        spec = gate_spec(op.name)
        if op.is_parametrized:
            key, pos = self._group_member(op)
            kind = "diagonal" if spec.diagonal else "matrix"
            self.steps.append(Step(kind, op.qubits, tensor=-2, index=pos, group=key))
            return
        matrix = _constant_matrix(op)
        if spec.diagonal or np.allclose(matrix, np.diag(np.diag(matrix))):
            self.steps.append(Step("diagonal", op.qubits, constant=np.diag(matrix).copy()))
        else:
            self.steps.append(Step("matrix", op.qubits, constant=matrix))

    def _monomial_step(self, ops: list[Operation]) -> Step:
        n = self.num_qubits
        index = np.arange(2**n)
        source = index.copy()
        phase = np.ones(2**n, dtype=np.complex128)
        for op in ops:
            matrix = _constant_matrix(op)
            k = op.num_qubits
            shifts = [n - 1 - q for q in op.qubits]
            local = np.zeros_like(index)
            for j, s in enumerate(shifts):
                local |= ((index >> s) & 1) << (k - 1 - j)
            column = np.argmax(np.abs(matrix), axis=1)  # out local row r takes input local column[r]
            factor = matrix[np.arange(2**k), column]
            src_local = column[local]
            src = index.copy()
            for j, s in enumerate(shifts):
                bit = (src_local >> (k - 1 - j)) & 1
                src = (src & ~(1 << s)) | (bit << s)
            # new[i] = factor[local(i)] * old[src(i)]; compose with what was accumulated
            source = source[src]
            phase = phase[src] * factor[local]
        trivial = np.allclose(phase, 1.0)
        return Step("monomial", (), source=source, phase=None if trivial else phase)

    def _finish_fused(self) -> None:
        """Resolve general steps' group keys into tensor indices (tensor 0 holds the fused 1q matrices)."""
        multi_keys = [key for key, g in self._groups.items() if g.width > 1 or g.width == 0]
        self._multi_keys = multi_keys
        resolved = []
        for step in self.steps:
            if step.tensor == -2:
                resolved.append(Step(step.kind, step.qubits, tensor=1 + multi_keys.index(step.group), index=step.index))
            else:
                resolved.append(step)
        self.steps = resolved
        # fused runs grouped by length for batched products
        by_length: dict[int, list[int]] = defaultdict(list)
        for i, run in enumerate(self._fused):
            by_length[len(run)].append(i)
        self._fused_by_length = dict(by_length)
        order = [i for length in sorted(by_length) for i in by_length[length]]
        position = {fused: pos for pos, fused in enumerate(order)}
        self.steps = [
            Step(s.kind, s.qubits, tensor=0, index=position[s.index]) if s.tensor == 0 else s for s in self.steps
        ]

    def _pair_single_qubit_steps(self) -> None:
        """Merge consecutive fused single-qubit steps on qubits ``q`` and ``q + 1`` into ``kron`` steps."""
        pair_tensor = 1 + len(self._multi_keys)
        merged: list[Step] = []
        i = 0
        while i < len(self.steps):
            step = self.steps[i]
            after = self.steps[i + 1] if i + 1 < len(self.steps) else None
            if (
                after is not None
                and step.tensor == 0
                and after.tensor == 0
                and abs(step.qubits[0] - after.qubits[0]) == 1
            ):
                first, second = sorted((step, after), key=lambda s: s.qubits[0])
                self._pairs.append((first.index, second.index))
                merged.append(
                    Step("matrix", (first.qubits[0], second.qubits[0]), tensor=pair_tensor, index=len(self._pairs) - 1)
                )
                i += 2
                continue
            merged.append(step)
            i += 1
        self.steps = merged

    # -- per-call tensors --------------------------------------------------------------------

    def _cached(self, name: str, key: tuple, build: Callable[[], Any]) -> Any:
        """Plan-static tensors (indices, constants) built once per ``key`` (a dtype and/or device)."""
        full = (name, *key)
        if full not in self._tensor_cache:
            self._tensor_cache[full] = build()
        return self._tensor_cache[full]

    def _angle_values(
        self, values: dict[str, torch.Tensor], batch_size: int, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """All angle slots, shape ``(batch_size, num_slots)``, for polynomial (non-linear) angles."""
        columns = [angle.evaluate(values).to(dtype=dtype, device=device).expand(batch_size) for angle in self._angles]
        return torch.stack(columns, dim=1)

    def _linear_tables(self, dtype: torch.dtype, device: torch.device) -> tuple[torch.Tensor | None, ...]:
        """Gather index, coefficients and constants of linear angles.

        The coefficients are ``None`` when every angle is a plain symbol (coefficient 1, constant 0):
        then the gather alone gives the angles.
        """
        offsets, total = {}, 0
        for name, size in self.parameters.items():
            offsets[name] = total
            total += size
        idx, coeff, const = [], [], []
        for angle in self._angles:
            if angle.terms:
                c, (sym,) = angle.terms[0]
                idx.append(offsets[sym.vector] + sym.index)
                coeff.append(c)
            else:
                idx.append(0)
                coeff.append(0.0)
            const.append(angle.constant)
        index = torch.tensor(idx, dtype=torch.long, device=device)
        constants = torch.tensor(const, dtype=dtype, device=device)
        if all(c == 1.0 for c in coeff) and not any(const):
            return index, None, constants
        return index, torch.tensor(coeff, dtype=dtype, device=device), constants

    def _angle_values_fast(
        self, values: dict[str, torch.Tensor], batch_size: int, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        """Vectorized evaluation when every angle is ``coeff * symbol + constant`` or constant."""
        index, coeff, const = self._cached("linear", (dtype, device), lambda: self._linear_tables(dtype, device))
        if not self.parameters:
            return const.expand(batch_size, -1)
        flat = torch.cat([values[n].to(dtype).expand(batch_size, -1) for n in self.parameters], dim=1)
        gathered = flat.index_select(1, index)
        return gathered if coeff is None else gathered * coeff + const

    @functools.cached_property
    def _all_linear(self) -> bool:
        return all(not a.terms or a.is_single_symbol for a in self._angles)

    def step_tensors(
        self, values: dict[str, torch.Tensor], batch_size: int, real_dtype: torch.dtype, device: torch.device
    ) -> list[torch.Tensor]:
        """Matrices and diagonals of every parametrized step, differentiable w.r.t. ``values``.

        Returns:
            ``[fused_1q, *per_type]``: ``fused_1q`` of shape ``(B, S, 2, 2)`` and one
            ``(B, n_ops, d, d)`` (matrix types) or ``(B, n_ops, d)`` (diagonal types) per
            multi-qubit gate type. Complex unless the plan is real.
        """
        if self._all_linear:
            angles = self._angle_values_fast(values, batch_size, real_dtype, device)
        else:
            angles = self._angle_values(values, batch_size, real_dtype, device)
        complex_dtype = complex_dtype_for(real_dtype)
        out_dtype = real_dtype if self.real else complex_dtype
        matrices: dict[tuple[str, int], torch.Tensor] = {}
        slots = self._cached(
            "slots",
            (device,),
            lambda: {k: torch.tensor(g.slots, dtype=torch.long, device=device) for k, g in self._groups.items()},
        )
        for key, group in self._groups.items():
            spec = gate_spec(group.name)
            params = angles.index_select(1, slots[key]).reshape(batch_size, len(group.ops), spec.num_params)
            data = group.ops[0].data
            if spec.needs_data is not None:
                mats = torch.stack(
                    [gate_matrix(group.name, params[:, i], op.data, op.num_qubits) for i, op in enumerate(group.ops)],
                    dim=1,
                )
            else:
                mats = gate_matrix(group.name, params, data, group.width)
            matrices[key] = mats.real if self.real else mats.to(complex_dtype)
        fused = self._fused_matrices(matrices, batch_size, out_dtype, device)
        tensors = [fused]
        for key in self._multi_keys:
            mats = matrices[key]
            if self._groups[key].diagonal:
                mats = torch.diagonal(mats, dim1=-2, dim2=-1)
            tensors.append(mats)
        if self._pairs:
            first, second = self._cached(
                "pairs",
                (device,),
                lambda: tuple(torch.tensor(side, device=device) for side in zip(*self._pairs, strict=True)),
            )
            a, b = fused.index_select(1, first), fused.index_select(1, second)
            kron = a[..., :, None, :, None] * b[..., None, :, None, :]  # (B, P, 2, 2, 2, 2)
            tensors.append(kron.reshape(batch_size, len(self._pairs), 4, 4))
        return tensors

    def _fused_positions(self, device: torch.device) -> dict[int, list[torch.Tensor]]:
        """For each run length, the positions in the concatenated single-qubit matrices of each run's j-th gate.

        The concatenation is the parametrized single-qubit groups in ``_groups`` order, then the fixed gates.
        """
        offsets, total = {}, 0
        for key, group in self._groups.items():
            if group.width == 1:
                offsets[key] = total
                total += len(group.ops)
        positions: dict[int, list[torch.Tensor]] = {}
        for length, runs in self._fused_by_length.items():
            columns = []
            for j in range(length):
                column = []
                for r in runs:
                    kind, key, pos = self._fused[r][j]
                    column.append(offsets[key] + pos if kind == "param" else total + pos)
                columns.append(torch.tensor(column, dtype=torch.long, device=device))
            positions[length] = columns
        return positions

    def _fixed_single_qubit(self, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """The constant single-qubit matrices, ``(1, F, 2, 2)``."""
        fixed = torch.as_tensor(np.stack(self._fixed_1q), device=device)
        return (fixed.real.to(dtype) if self.real else fixed.to(dtype)).unsqueeze(0)

    def _fused_matrices(
        self, matrices: dict[tuple[str, int], torch.Tensor], batch_size: int, dtype: torch.dtype, device: torch.device
    ) -> torch.Tensor:
        if not self._fused:
            return torch.zeros(batch_size, 0, 2, 2, dtype=dtype, device=device)
        pieces = [matrices[key] for key, group in self._groups.items() if group.width == 1]
        if self._fixed_1q:
            fixed = self._cached("fixed_1q", (dtype, device), lambda: self._fixed_single_qubit(dtype, device))
            pieces.append(fixed.expand(batch_size, -1, -1, -1))
        all_1q = torch.cat(pieces, dim=1) if len(pieces) > 1 else pieces[0]
        positions = self._cached("fused_positions", (device,), lambda: self._fused_positions(device))
        products = []
        for length in sorted(self._fused_by_length):
            columns = positions[length]
            product = all_1q.index_select(1, columns[0])
            for column in columns[1:]:
                product = torch.matmul(all_1q.index_select(1, column), product)
            products.append(product)
        return torch.cat(products, dim=1) if len(products) > 1 else products[0]

    def constant_tensors(self, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor | None, ...]]:
        """Per step, its constant tensors, cached per dtype and device.

        Monomial steps: ``(gather index, phases or None, inverse gather index)``; constant matrix or
        diagonal steps: ``(operand,)``; parametrized steps: ``()``.
        """
        return self._cached("constants", (dtype, device), lambda: self._build_constants(dtype, device))

    def _build_constants(self, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor | None, ...]]:
        def cast(array: np.ndarray) -> torch.Tensor:
            tensor = torch.as_tensor(array, device=device)
            return tensor.to(dtype) if dtype.is_complex else tensor.real.to(dtype)

        out: list[tuple[torch.Tensor | None, ...]] = []
        for step in self.steps:
            if step.kind == "monomial":
                source = torch.as_tensor(step.source, dtype=torch.long, device=device)
                phase = None if step.phase is None else cast(step.phase)
                out.append((source, phase, torch.argsort(source)))
            elif step.tensor == -1:
                out.append((cast(step.constant).unsqueeze(0),))
            else:
                out.append(())
        return out

    def inverse_constants(self, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor | None, ...]]:
        """Per monomial step, the inverse's gather index, its phases, and the phases for ``[conj(psi); phi]``."""
        return self._cached("inverses", (dtype, device), lambda: self._build_inverses(dtype, device))

    def _build_inverses(self, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor | None, ...]]:
        out: list[tuple[torch.Tensor | None, ...]] = []
        for step, const in zip(self.steps, self.constant_tensors(dtype, device), strict=True):
            if step.kind != "monomial":
                out.append(())
                continue
            _, phase, inverse = const
            if phase is None:
                out.append((inverse, None, None))
                continue
            inverse_phase = phase.conj()[inverse]
            # for the adjoint sweep's stacked [conj(psi); phi]: conj(psi) takes conj(phase)
            out.append((inverse, inverse_phase, torch.stack([inverse_phase.conj(), inverse_phase])[:, None, :]))
        return out


def compile_plan(circuit: Circuit) -> Plan:
    """Compile ``circuit`` (see the module docstring)."""
    return Plan(circuit)
