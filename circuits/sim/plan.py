"""Compile a circuit once into an execution plan for the torch engine.

What compilation does (docs/architecture.md, "The torch engine"):

* **Single-qubit fusion.** Every run of single-qubit gates on one qubit, up to the
  next multi-qubit gate touching that qubit, becomes one ``2 x 2`` matrix per sample;
  from 6 qubits on, two such steps on neighbouring qubits become one ``4 x 4`` step.
* **Constant-gate fusion** (:mod:`circuits.sim.fusion`). Gates with fixed angles, and
  runs of them, become blocks of up to 3 to 5 qubits (one dense matrix; the width and the
  cost model measured on the machine, :func:`circuits.sim.tuning.fusion_costs`), diagonal blocks of up
  to 12 qubits (a QFT's ``cp`` chains, transpiled ``cx rz cx`` sandwiches: one elementwise
  product), and CNOT / SWAP / X blocks, with phases, wider than that (a CNOT ring: one
  index gather), chosen by a small cost model.
* **Diagonal gates** (``rzz``, ``cp``, ``crz``, ``mcphase`` ...) multiply elementwise.
* **Batched matrix construction.** All angles are evaluated in one vectorized pass,
  the matrices of all gates of one type in one call (constant gates too, at compile
  time), and the products of fused runs of equal length in one batched matmul per
  position: the Python work per forward pass does not grow with the number of gates.
* **Real arithmetic** when every gate is real (``ry``, ``cx``, ``cz``, ``h`` ...): half
  the memory and a quarter of the flops.

Compilation looks at every gate once with bounded work per gate, so its time and memory
are linear in the number of gates. Everything that depends on the dtype and device
(constant operands, gather indices) is built on the first call that needs it and cached;
what only backward passes need (inverse gathers) is built on the first backward.

The plan holds no tensors that depend on parameter values; :meth:`Plan.step_tensors`
builds them per call, differentiably.
"""

from __future__ import annotations

import dataclasses
import functools
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from circuits.ir.circuit import Circuit
from circuits.ir.gates import complex_dtype_for, gate_matrix, gate_spec
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle
from circuits.sim import tuning
from circuits.sim.fusion import (
    DIAGONAL,
    MONOMIAL,
    ConstantFuser,
    FusedGate,
    FusionStats,
    classify,
    dense_exec_qubits,
    diagonal_exec_qubits,
    expand_matrix,
    expand_vector,
    permutation_index,
)

__all__ = ["Plan", "Step", "compile_plan"]

_PAIR_FUSION_MIN_QUBITS = 6
"""From this width on, two fused single-qubit steps on neighbouring qubits become one 4 x 4 step: one pass
over the state instead of two (1.5 to 3x cheaper from 8 qubits; below, building the kron costs more)."""

_TRIPLE_FUSION_MIN_QUBITS = 12
"""From this width on, three such steps become one 8 x 8 step: the HEA benchmark's forward + backward at batch 64
took 50-79 instead of 70-113 ms at 12 qubits and 0.94-1.23 instead of 1.41-1.56 s at 16 (one thread, CPU time);
at 8 qubits backprop was slower (9.9 against 7.3 ms), at 10 mixed."""


@dataclass(frozen=True)
class Step:
    """One pass over the state.

    Attributes:
        kind: ``"matrix"`` (``2**k x 2**k`` matrix on ``qubits``), ``"diagonal"``,
            ``"monomial"`` (index gather with phases over the state's last qubits, from ``qubits[0]`` on), or
            ``"layer"`` (a ``2 x 2`` per qubit, by the compiled kernel; only in :meth:`Plan.layer_steps`).
        qubits: qubits acted on (ascending for constant steps).
        tensor: which of :meth:`Plan.step_tensors`' outputs holds this step's matrix or
            diagonal, or ``-1`` for constant steps.
        index: position of this step's matrix inside that tensor (its axis 1).
        constant: constant steps: the matrix or diagonal on ``support`` (complex128), or the
            :class:`~circuits.sim.fusion.FusedGate` of a permutation.
        support: the qubits ``constant`` is given on (ascending); ``qubits`` may be wider (a dense
            block applied on its contiguous span, a diagonal's table padded to the last qubits).
        group: during compilation, the gate type whose batched matrices hold this step's.
        positions: ``"layer"`` steps (one ``2 x 2`` per qubit, :mod:`circuits.sim.layer`): where each qubit's
            matrix sits in tensor 0 (the fused single-qubit matrices), in ``qubits``' order.
        bits: ``"layer"`` steps: the group ``(lo, h)`` of index bits the qubits lie in.
    """

    kind: str
    qubits: tuple[int, ...]
    tensor: int = -1
    index: int = 0
    constant: Any = field(default=None, repr=False)
    support: tuple[int, ...] = ()
    group: tuple[str, int] | None = None
    positions: tuple[int, ...] = ()
    bits: tuple[int, int] = (0, 0)


def _constant_matrices(operations: Sequence[Operation]) -> list[np.ndarray | None]:
    """The matrix of every constant operation (``None`` for parametrized ones), complex128.

    Operations of one gate type are built in one batched call: compiling 100k gates makes a
    handful of calls, not 100k.
    """
    matrices: list[np.ndarray | None] = [None] * len(operations)
    groups: dict[tuple[str, int], list[int]] = defaultdict(list)
    for i, op in enumerate(operations):
        if op.is_parametrized:
            continue
        if op.data is not None:  # unitary / evolution / pauli_rot carry their own data: one call each
            params = torch.tensor([[p.value() for p in op.params]], dtype=torch.float64)
            matrices[i] = gate_matrix(op.name, params, op.data, op.num_qubits)[0].numpy()
        else:
            groups[(op.name, op.num_qubits)].append(i)
    for (name, width), members in groups.items():
        count = gate_spec(name).num_params
        values = np.array([[p.value() for p in operations[i].params] for i in members], dtype=np.float64)
        params = torch.from_numpy(values.reshape(len(members), count))
        batch = gate_matrix(name, params, None, width).numpy()
        for i, matrix in zip(members, batch, strict=True):
            matrices[i] = matrix
    return matrices


def _op_is_real(op: Operation, matrix: np.ndarray | None) -> bool:
    if gate_spec(op.name).real:
        return True
    if matrix is None:
        return False
    return bool(np.all(np.abs(matrix.imag) < 1e-15))


def _diagonal_sandwiches(
    operations: Sequence[Operation],
    matrices: list[np.ndarray | None],
    kind_of: Callable[[Operation, np.ndarray | None], int | None],
) -> dict[int, int]:
    """Where ``P D P^-1`` sandwiches of constant gates start (``+1``) and end (``-1``), by operation index.

    ``P`` is a permutation (``cx``, ``swap`` ...) followed on its qubits only by constant diagonal gates
    until its inverse.
    ``P^-1 D P`` is diagonal for every diagonal ``D``; transpilers write ``cp``, ``crz`` and ``rzz`` as
    ``cx rz cx``. One pass over the operations.
    """
    open_at: dict[int, int] = {}  # qubit -> index of the candidate P that is open on it
    marks: dict[int, int] = {}

    def drop(q: int) -> None:
        candidate = open_at.pop(q, None)
        if candidate is not None:
            for other in operations[candidate].qubits:
                if open_at.get(other) == candidate:
                    del open_at[other]

    for i, (op, matrix) in enumerate(zip(operations, matrices, strict=True)):
        kind = kind_of(op, matrix)
        if kind == DIAGONAL or op.num_qubits == 0:
            continue  # the filling (or a global phase)
        if kind == MONOMIAL and op.num_qubits >= 2:
            candidate = open_at.get(op.qubits[0])
            if (
                candidate is not None
                and operations[candidate].qubits == op.qubits
                and all(open_at.get(q) == candidate for q in op.qubits)
                and np.allclose(matrix @ matrices[candidate], np.eye(len(matrix)), atol=1e-12)
            ):
                marks[candidate], marks[i] = 1, -1
                for q in op.qubits:
                    del open_at[q]
                continue
            for q in op.qubits:
                drop(q)
            for q in op.qubits:
                open_at[q] = i
            continue
        for q in op.qubits:
            drop(q)
    return marks


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
        fusion: the work the constant-gate fuser did (linear in the number of gates).
    """

    def __init__(self, circuit: Circuit) -> None:
        self.num_qubits = circuit.num_qubits
        self.parameters = circuit.parameters
        operations = circuit.operations
        matrices = _constant_matrices(operations)
        self.real = all(_op_is_real(op, m) for op, m in zip(operations, matrices, strict=True))
        self._angles: list[Angle] = []
        self._groups: dict[tuple[str, int], _Group] = {}
        self._fixed_1q: list[np.ndarray] = []
        self.steps: list[Step] = []
        # 1q bookkeeping: each fused step is a list of ("param", group key, position) / ("fixed", None, index)
        self._fused: list[list[tuple[str, object, int]]] = []
        self._tensor_cache: dict[tuple, Any] = {}
        self.fusion = FusionStats()
        self._compile(operations, matrices)
        self._finish_fused()
        self._krons: dict[int, list[tuple[int, ...]]] = {}
        self._unpaired = list(self.steps)  # before pairing: what the layer variant groups
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

    def _compile(self, operations: Sequence[Operation], matrices: list[np.ndarray | None]) -> None:
        self._fusion_costs = tuning.fusion_costs()
        fuser = ConstantFuser(self.num_qubits, self._emit_fused, self._fusion_costs)
        self.fusion = fuser.stats
        pending: dict[int, list[tuple]] = {}
        phase = complex(1.0)
        kinds: dict[tuple[str, int], int] = {}

        def kind_of(op: Operation, matrix: np.ndarray | None) -> int | None:
            """The fuser's kind of a constant gate: diagonal gates by their spec, angle-free ones classified once."""
            spec = gate_spec(op.name)
            if matrix is None:
                return None
            if spec.diagonal:
                return DIAGONAL
            if spec.num_params or op.data is not None:
                return None
            key = (op.name, op.num_qubits)
            if key not in kinds:
                kinds[key] = classify(matrix)
            return kinds[key]

        sandwiches = _diagonal_sandwiches(operations, matrices, kind_of)

        def flush_qubit(q: int) -> None:
            run = pending.pop(q, None)
            if not run:
                return
            if all(entry[0] == "fixed" for entry in run):  # constant: the fuser takes it
                product = run[0][1]
                for entry in run[1:]:
                    product = entry[1] @ product
                fuser.add((q,), product)
                return
            fuser.close((q,))  # constant blocks on q come first
            entries: list[tuple[str, object, int]] = []
            for entry in run:
                if entry[0] == "fixed":
                    self._fixed_1q.append(entry[1])
                    entries.append(("fixed", None, len(self._fixed_1q) - 1))
                else:
                    entries.append(entry)
            self._fused.append(entries)
            self.steps.append(Step("matrix", (q,), tensor=0, index=len(self._fused) - 1))

        # A constant single-qubit gate waits in its qubit's run while a parametrized one may still
        # join that run (then it costs nothing); past the last one it goes to the fuser at once, where
        # it can share a block with its neighbours (a layer of H gates: one pass per 4 qubits).
        last_parametrized = {}
        for i, op in enumerate(operations):
            if op.num_qubits == 1 and op.is_parametrized:
                last_parametrized[op.qubits[0]] = i
        for i, (op, matrix) in enumerate(zip(operations, matrices, strict=True)):
            if op.num_qubits == 1:
                q = op.qubits[0]
                if matrix is None:
                    key, pos = self._group_member(op)
                    pending.setdefault(q, []).append(("param", key, pos))
                elif q in pending or last_parametrized.get(q, -1) > i:
                    pending.setdefault(q, []).append(("fixed", matrix))
                else:
                    fuser.add((q,), matrix, kind_of(op, matrix))
                continue
            for q in op.qubits:
                flush_qubit(q)
            if matrix is None:  # parametrized: its own step, after the constant blocks on its qubits
                fuser.close(op.qubits)
                key, pos = self._group_member(op)
                kind = "diagonal" if gate_spec(op.name).diagonal else "matrix"
                self.steps.append(Step(kind, op.qubits, tensor=-2, index=pos, group=key))
            elif op.num_qubits == 0:  # a constant global phase commutes with everything
                phase *= complex(matrix[0, 0])
            else:
                fuser.add(op.qubits, matrix, kind_of(op, matrix), sandwiches.get(i, 0))
        for q in sorted(pending):
            flush_qubit(q)
        fuser.close_all()
        if abs(phase - 1.0) > 1e-15:
            self._fold_global_phase(phase)

    def _emit_fused(self, gate: FusedGate) -> None:
        if gate.kind == "matrix":
            qubits, _ = dense_exec_qubits(gate.qubits, self._fusion_costs)
            self.steps.append(Step("matrix", qubits, constant=gate.operand, support=gate.qubits))
        elif gate.kind == "diagonal":
            qubits = diagonal_exec_qubits(gate.qubits, self.num_qubits)
            self.steps.append(Step("diagonal", qubits, constant=gate.operand, support=gate.qubits))
        else:
            self.steps.append(Step("monomial", gate.qubits, constant=gate, support=gate.qubits))

    def _fold_global_phase(self, phase: complex) -> None:
        """Multiply a constant step's operand by the circuit's constant global phase (else add a step)."""
        for i, step in enumerate(self.steps):
            if step.tensor == -1 and step.kind in ("matrix", "diagonal"):
                self.steps[i] = dataclasses.replace(step, constant=step.constant * phase)
                return
        self.steps.append(Step("diagonal", (), constant=np.array([phase])))

    def _finish_fused(self) -> None:
        """Resolve general steps' group keys into tensor indices (tensor 0 holds the fused 1q matrices)."""
        multi_keys = [key for key, g in self._groups.items() if g.width > 1 or g.width == 0]
        self._multi_keys = multi_keys
        tensor_of = {key: 1 + i for i, key in enumerate(multi_keys)}
        resolved = []
        for step in self.steps:
            if step.tensor == -2:
                resolved.append(Step(step.kind, step.qubits, tensor=tensor_of[step.group], index=step.index))
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
        """Merge runs of consecutive fused single-qubit steps on neighbouring qubits into ``kron`` steps.

        Up to 2 (from ``_PAIR_FUSION_MIN_QUBITS``) or 3 (from ``_TRIPLE_FUSION_MIN_QUBITS``) steps on qubits
        ``q, q + 1, ...`` (in any order) become one ``2**k x 2**k`` step; ``self._krons[k]`` lists each group's
        fused-matrix positions, in qubit order.
        """
        widest = 3 if self.num_qubits >= _TRIPLE_FUSION_MIN_QUBITS else 2
        base = 1 + len(self._multi_keys)
        groups: list[tuple[list[Step], int]] = []  # (members sorted by qubit, index into self.steps output)
        merged: list[Step | None] = []
        i = 0
        while i < len(self.steps):
            run = [self.steps[i]]
            while (
                run[0].tensor == 0
                and len(run) < widest
                and i + len(run) < len(self.steps)
                and self.steps[i + len(run)].tensor == 0
            ):
                candidate = sorted([*run, self.steps[i + len(run)]], key=lambda s: s.qubits[0])
                if candidate[-1].qubits[0] - candidate[0].qubits[0] != len(candidate) - 1:
                    break
                run.append(self.steps[i + len(run)])
            if len(run) > 1:
                groups.append((sorted(run, key=lambda s: s.qubits[0]), len(merged)))
                merged.append(None)
            else:
                merged.append(run[0])
            i += len(run)
        sizes = sorted({len(members) for members, _ in groups})
        self._krons = {size: [] for size in sizes}
        for members, position in groups:
            size = len(members)
            self._krons[size].append(tuple(s.index for s in members))
            qubits = tuple(s.qubits[0] for s in members)
            merged[position] = Step("matrix", qubits, tensor=base + sizes.index(size), index=len(self._krons[size]) - 1)
        self.steps = merged  # type: ignore[assignment]

    def has_layers(self) -> bool:
        """Whether some run of fused single-qubit steps on two or more qubits could be a layer step."""
        return self._cached("has_layers", (), lambda: any(len(run) > 1 for run in self._single_qubit_runs()))

    def _single_qubit_runs(self) -> list[list[Step]]:
        """The unpaired steps cut into maximal runs of fused single-qubit steps on distinct qubits (others alone)."""
        runs: list[list[Step]] = []
        for step in self._unpaired:
            run = runs[-1] if runs else None
            if (
                step.tensor == 0
                and run is not None
                and run[0].tensor == 0
                and step.qubits[0] not in {s.qubits[0] for s in run}
            ):
                run.append(step)
            else:
                runs.append([step])
        return runs

    def layer_steps(self, tile_log2: int) -> tuple[list[Step], list[int]]:
        """The plan with layers of single-qubit gates as ``"layer"`` steps, for the compiled kernel.

        Every maximal run of consecutive fused single-qubit steps on distinct qubits (a rotation layer)
        becomes one step per group of :func:`circuits.sim.layer.layer_groups` (one pass each) instead of
        the pairs and triples of :attr:`steps`; a group of one qubit stays an ordinary single-qubit step.
        Built once per ``tile_log2``.

        Returns:
            ``(steps, source)``: the steps, and for each the index of the same step in :attr:`steps` (whose
            constants it uses), or ``-1`` for parametrized steps that :attr:`steps` does not hold as such.
        """
        from circuits.sim.layer import layer_groups

        def build() -> tuple[list[Step], list[int]]:
            index_of = {id(step): i for i, step in enumerate(self.steps)}
            steps: list[Step] = []
            for run in self._single_qubit_runs():
                if len(run) == 1:  # any other step (a global phase has no qubits), or a lone rotation
                    steps.extend(run)
                    continue
                by_qubit = {s.qubits[0]: s for s in run}
                for bits, qubits in layer_groups(list(by_qubit), self.num_qubits, tile_log2):
                    if len(qubits) == 1:
                        steps.append(by_qubit[qubits[0]])
                    else:
                        positions = tuple(by_qubit[q].index for q in qubits)
                        steps.append(Step("layer", qubits, tensor=0, positions=positions, bits=bits))
            return steps, [index_of.get(id(step), -1) for step in steps]

        return self._cached("layer_steps", (tile_log2,), build)

    def applies_single_qubit_gates(self, step: Step) -> bool:
        """Whether ``step`` (of :attr:`steps` or :meth:`layer_steps`) applies only single-qubit gates per sample.

        True for a layer step, a fused single-qubit run (tensor 0) and a kron of runs on neighbouring qubits
        (the tensors after the parametrized gate types, see :meth:`_pair_single_qubit_steps`).
        """
        kron_base = 1 + len(self._multi_keys)
        return step.kind == "layer" or (step.kind == "matrix" and (step.tensor == 0 or step.tensor >= kron_base))

    def position_index(self, positions: tuple[int, ...], device: torch.device) -> torch.Tensor:
        """A layer step's ``positions`` as an index tensor (built once per device)."""
        return self._cached("positions", (positions, device), lambda: torch.tensor(positions, device=device))

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
        if self._krons:
            columns = self._cached(
                "krons",
                (device,),
                lambda: {
                    size: [torch.tensor(side, device=device) for side in zip(*groups, strict=True)]
                    for size, groups in self._krons.items()
                },
            )
            for size, groups in self._krons.items():
                kron = fused.index_select(1, columns[size][0])
                for column in columns[size][1:]:
                    other = fused.index_select(1, column)
                    d = kron.shape[-1]
                    kron = (kron[..., :, None, :, None] * other[..., None, :, None, :]).reshape(
                        batch_size, len(groups), 2 * d, 2 * d
                    )
                tensors.append(kron)
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
        """Per step, its constant tensors, built on first use and cached per dtype and device.

        Monomial steps: ``(gather index, phases or None)`` over the state's tail from ``qubits[0]``;
        constant matrix or diagonal steps: ``(operand,)`` with a leading batch axis of 1;
        parametrized steps: ``()``.
        """
        return self._cached("constants", (dtype, device), lambda: self._build_constants(dtype, device))

    def _build_constants(self, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor | None, ...]]:
        def cast(array: np.ndarray) -> torch.Tensor:
            tensor = torch.tensor(array, device=device)  # a copy: operands may be read-only numpy views
            return tensor.to(dtype) if dtype.is_complex else tensor.real.to(dtype)

        out: list[tuple[torch.Tensor | None, ...]] = []
        for step in self.steps:
            if step.kind == "monomial":
                source, phase = permutation_index(step.constant, self.num_qubits)
                index = torch.as_tensor(source, dtype=torch.long, device=device)
                out.append((index, None if phase is None else cast(phase)))
            elif step.tensor == -1:
                if step.kind == "matrix":
                    operand = expand_matrix(step.constant, step.support, step.qubits)
                else:
                    operand = expand_vector(step.constant, step.support, step.qubits)
                out.append((cast(operand).unsqueeze(0),))
            else:
                out.append(())
        return out

    def inverse_constants(self, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor | None, ...]]:
        """Per monomial step, the inverse's gather index, its phases, and the phases for ``[conj(psi); phi]``.

        The adjoint backward needs these, and the backprop path's permutations use the inverse gather as their
        backward: they are built on the first call that needs them.
        """
        return self._cached("inverses", (dtype, device), lambda: self._build_inverses(dtype, device))

    def _build_inverses(self, dtype: torch.dtype, device: torch.device) -> list[tuple[torch.Tensor | None, ...]]:
        out: list[tuple[torch.Tensor | None, ...]] = []
        for step, const in zip(self.steps, self.constant_tensors(dtype, device), strict=True):
            if step.kind != "monomial":
                out.append(())
                continue
            source, phase = const
            inverse = torch.argsort(source)
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
