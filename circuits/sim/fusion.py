"""Fuse constant gates into few passes over the state: the planner's constant-gate fuser.

A deep circuit with bound angles (a QFT, a circuit transpiled to ``rz, sx, x, cx`` with
thousands of gates) spends its time in passes over the state and in the fixed cost of each
pass. The fuser turns its constant gates into *blocks*, each one pass:

* a **dense** block: the product of gates on at most ``costs.dense_max_qubits`` qubits (3 to
  :data:`DENSE_MAX_QUBITS`; the built-in model 4, :mod:`circuits.sim.tuning` measures it per machine), one
  ``2**k x 2**k`` matrix, applied on the contiguous span of its qubits (identity on the
  qubits in between) when that is cheaper than moving the qubits together;
* a **diagonal** block: any product of diagonal gates (the ``cp`` / ``rz`` / ``cz`` chains of
  a QFT, ``cx rz cx`` sandwiches) on up to :data:`DIAGONAL_MAX_QUBITS` qubits, one
  elementwise product;
* a **permutation** block: CNOT, SWAP and X gates, with diagonal gates among them, on more
  qubits than a dense block (a CNOT ring, a SWAP layer), one index gather (and one product
  with its phases). The permutation is an affine map of the index bits over GF(2), kept as one
  column per qubit, so adding a gate costs ``O(width)``; phases are a table over the block's
  qubits, so a block with phases has at most :data:`DIAGONAL_MAX_QUBITS` qubits.

The fuser keeps *open* blocks on disjoint qubits (they commute, so their order is free).
Each gate either joins some of the open blocks it touches, closing (emitting) the others,
and may also take in one open block it does not touch; the choice is the cheapest under a
small cost model of one pass of each kind (:class:`FusionCosts`: the built-in one was measured on the
project's CPU, see docs/performance.md; :func:`circuits.sim.tuning.fusion_costs` measures the machine's).
A ``P D P^-1`` sandwich (``cx rz cx``, as transpilers write ``cp``) is costed as the diagonal
it becomes, so it joins the diagonal block next to it. Every gate is looked at once and the
work per gate is bounded (matrices of at most ``2**DENSE_MAX_QUBITS`` rows, diagonals and
phase tables of at most ``2**DIAGONAL_MAX_QUBITS`` entries), so compilation is linear in the
number of gates. :class:`FusionStats` counts that work.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import combinations, islice

import numpy as np

__all__ = [
    "DENSE_MAX_QUBITS",
    "DIAGONAL_MAX_QUBITS",
    "DIAGONAL",
    "DENSE",
    "MONOMIAL",
    "ConstantFuser",
    "DEFAULT_COSTS",
    "FusionCosts",
    "FusedGate",
    "FusionStats",
    "classify",
    "dense_exec_qubits",
    "diagonal_exec_qubits",
    "expand_matrix",
    "expand_vector",
    "permutation_index",
]

DIAGONAL, MONOMIAL, DENSE = 0, 1, 2
"""Block kinds, from cheapest to apply to dearest; a product takes the dearest kind of its factors."""

DENSE_MAX_QUBITS = 5
"""Widest dense block any cost model may choose (its matrix has ``2**5`` rows); the built-in model stops at 4."""

DENSE_SPAN_MAX_QUBITS = 5
"""Widest contiguous span a dense block is applied on (identity on the qubits in between)."""

DIAGONAL_MAX_QUBITS = 12
"""Widest diagonal block (its diagonal has ``2**12`` entries)."""

GATHER_BUDGET_BYTES = 256 << 20
"""Index memory the gathers of one plan may use; past it, permutation blocks stay dense-sized."""

_ZERO = 1e-13
"""Entries below this are zeros when a fused product is classified (products round at 1e-16)."""


@dataclass(frozen=True)
class FusionCosts:
    """The fuser's cost model: the time of one pass over the state, per amplitude, for each kind of block.

    A pass costs ``launch_ns / 2**n`` per amplitude (Python and the kernel's fixed cost, spread over the
    state) plus the kind's own cost. The built-in values (:data:`DEFAULT_COSTS`) were measured with one
    thread, complex64, 16 qubits in cache (``benchmarks/deep_circuits.py --kernels``);
    :func:`circuits.sim.tuning.fusion_costs` measures them on the machine it runs on
    (:meth:`from_measurement`).

    Attributes:
        launch_ns: fixed cost of one pass (ns).
        dense_ns: a dense block on ``k`` contiguous qubits, ``k = 1 .. DENSE_MAX_QUBITS`` (ns per amplitude).
        permute_ns: what a dense block on non-contiguous qubits costs on top (the permuted copy).
        diagonal_ns: a diagonal block whose table covers the last 6 qubits.
        gather_ns: an index gather (a permutation block wider than a dense one).
        dense_max_qubits: widest dense block the fuser builds (3 to :data:`DENSE_MAX_QUBITS`).
    """

    launch_ns: float = 10_000.0
    dense_ns: tuple[float, ...] = (1.4, 1.4, 1.7, 2.5, 4.1)
    permute_ns: float = 2.0
    diagonal_ns: float = 0.55
    gather_ns: float = 1.3
    dense_max_qubits: int = 4

    def __post_init__(self) -> None:
        if len(self.dense_ns) != DENSE_MAX_QUBITS or not 3 <= self.dense_max_qubits <= DENSE_MAX_QUBITS:
            raise ValueError(
                f"FusionCosts needs dense_ns for k = 1..{DENSE_MAX_QUBITS} (got {len(self.dense_ns)}) and "
                f"dense_max_qubits in 3..{DENSE_MAX_QUBITS} (got {self.dense_max_qubits})"
            )

    def dense(self, k: int) -> float:
        """Cost per amplitude of a dense block on ``k`` contiguous qubits."""
        return self.dense_ns[k - 1] if k <= DENSE_MAX_QUBITS else 2.0 ** (k - 2)

    def summary(self) -> str:
        """One line for reports: the widest dense block and the pass costs."""
        dense = "/".join(f"{x:.2f}" for x in self.dense_ns)
        return (
            f"dense blocks up to {self.dense_max_qubits} qubits; ns per amplitude: dense k=1..{DENSE_MAX_QUBITS} "
            f"{dense}, non-contiguous +{self.permute_ns:.2f}, diagonal {self.diagonal_ns:.2f}, gather "
            f"{self.gather_ns:.2f}; {self.launch_ns / 1e3:.1f} us fixed per pass"
        )

    @classmethod
    def from_measurement(
        cls,
        launch_ns: float,
        dense_ns: Sequence[float],
        permute_ns: float,
        diagonal_ns: float,
        gather_ns: float,
    ) -> FusionCosts:
        """A cost model from measured pass times, with the widest dense block that still saves time.

        A ``k``-qubit block is built only while it is cheaper than a ``(k - 1)``-qubit block and one more
        single-qubit pass (``dense_ns[k] < dense_ns[k - 1] + dense_ns[1]``): past that width, one more qubit
        in a block costs more than the pass it saves. At least 3, at most :data:`DENSE_MAX_QUBITS`.
        """
        dense = tuple(float(x) for x in dense_ns)
        widest = 3
        while widest < min(DENSE_MAX_QUBITS, len(dense)) and dense[widest] < dense[widest - 1] + dense[0]:
            widest += 1
        return cls(float(launch_ns), dense, float(permute_ns), float(diagonal_ns), float(gather_ns), widest)


DEFAULT_COSTS = FusionCosts()
"""The built-in cost model (one thread, complex64, 16 qubits, on the project's 2-core machine)."""

_OPTIONAL_PARTNERS = 4
"""How many of the most recently used open blocks a gate may also take in (besides those it touches)."""


@dataclass
class FusionStats:
    """Work done by one :class:`ConstantFuser`: every counter grows at most linearly in the gates."""

    gates: int = 0
    """Constant gates taken."""
    options: int = 0
    """Merge options costed (at most ``2**3 + _OPTIONAL_PARTNERS`` per gate)."""
    elements: int = 0
    """Matrix, diagonal and column entries built while merging (bounded per gate)."""
    blocks: int = 0
    """Blocks emitted."""


@dataclass(frozen=True)
class FusedGate:
    """One emitted block: the constant operand of one pass over the state.

    Attributes:
        kind: ``"matrix"``, ``"diagonal"`` or ``"permutation"``.
        qubits: the qubits the operand is given on, ascending (qubit ``qubits[0]`` is the most
            significant bit of the operand's index).
        operand: ``"matrix"``: the ``(2**k, 2**k)`` matrix; ``"diagonal"``: its ``(2**k,)``
            diagonal; ``"permutation"``: ``(columns, offset, phase)`` (:data:`PhasedAffine`), or
            ``(source, phase)`` arrays over ``qubits`` for a single gate that is not affine
            (``out[i] = phase[i] * in[source[i]]``); ``phase`` is ``None`` when all ones.
        gates: how many circuit gates it holds.
    """

    kind: str
    qubits: tuple[int, ...]
    operand: object = field(repr=False)
    gates: int = 1


# -- small linear algebra on local operands ----------------------------------------------------


def expand_matrix(matrix: np.ndarray, qubits: Sequence[int], target: Sequence[int]) -> np.ndarray:
    """``matrix`` on ``qubits`` (in that order) as a matrix on ``target`` (identity on the others).

    Shape:
        matrix: ``(2**k, 2**k)``. Returns ``(2**t, 2**t)`` with ``t = len(target)``.
    """
    qubits, target = tuple(qubits), tuple(target)
    if qubits == target:
        return matrix
    k, t = len(qubits), len(target)
    full = np.kron(matrix, np.eye(2 ** (t - k))) if t > k else matrix
    order = list(qubits) + [q for q in target if q not in qubits]  # axis i of full acts on order[i]
    perm = [order.index(q) for q in target]
    tensor = full.reshape([2] * (2 * t)).transpose(perm + [t + p for p in perm])
    return tensor.reshape(2**t, 2**t)


def expand_vector(vector: np.ndarray, qubits: Sequence[int], target: Sequence[int]) -> np.ndarray:
    """A diagonal on ascending ``qubits`` as a diagonal on ascending ``target`` (a superset).

    Shape:
        vector: ``(2**k,)``. Returns ``(2**t,)``.
    """
    inside = set(qubits)
    shape = [2 if q in inside else 1 for q in target]
    return np.broadcast_to(vector.reshape(shape), [2] * len(target)).reshape(-1)


def _apply_local(matrix: np.ndarray, gate: np.ndarray, positions: Sequence[int], width: int) -> np.ndarray:
    """``expand(gate) @ matrix`` without building the expanded matrix.

    ``gate`` acts on the local axes ``positions`` (in gate order) of a ``(2**width, c)`` matrix.
    """
    k, cols = len(positions), matrix.shape[1]
    first = positions[0]
    if all(p == first + i for i, p in enumerate(positions)):  # a contiguous run in order: one batched matmul
        left, right = 2**first, 2 ** (width - first - k) * cols
        return np.matmul(gate, matrix.reshape(left, 2**k, right)).reshape(2**width, cols)
    tensor = matrix.reshape((2,) * width + (cols,))
    moved = np.tensordot(gate.reshape((2,) * (2 * k)), tensor, axes=(list(range(k, 2 * k)), list(positions)))
    return np.moveaxis(moved, list(range(k)), list(positions)).reshape(2**width, cols)


def classify(matrix: np.ndarray) -> int:
    """``DIAGONAL``, ``MONOMIAL`` (one nonzero per row) or ``DENSE``."""
    nonzero = np.abs(matrix) > _ZERO
    counts = nonzero.sum(axis=1)
    if not np.all(counts == 1):
        return DENSE
    return DIAGONAL if np.all(np.diagonal(nonzero)) else MONOMIAL


def _permutation_of(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(source, phase)`` with ``out[i] = phase[i] * in[source[i]]`` for a monomial matrix."""
    source = np.argmax(np.abs(matrix), axis=1)
    return source, matrix[np.arange(matrix.shape[0]), source]


PhasedAffine = tuple[dict[int, int], int, "np.ndarray | None"]
"""``(columns, offset, phase)``: ``out[i] = phase[local(i)] * in[source(i)]`` with
``source(i) = offset XOR columns[q] for each qubit q set in i`` on global index masks (qubit ``q`` is bit
``num_qubits - 1 - q``; bits of qubits without a column pass through), and ``phase`` (``None``: all ones)
indexed by the block's own qubits, ascending, the first most significant."""


def _doubling(columns: Sequence[int], offset: int) -> np.ndarray:
    """``offset XOR (XOR of columns[b] for each bit b set in i)`` for every ``i < 2**len(columns)``."""
    table = np.array([offset], dtype=np.int64)
    for column in columns:  # bit b of i, least significant first
        table = np.concatenate([table, table ^ column])
    return table


def _phased_affine_of(matrix: np.ndarray, qubits: tuple[int, ...], num_qubits: int) -> PhasedAffine | None:
    """A monomial matrix on ascending ``qubits`` as an affine permutation and phases, or ``None`` (not affine)."""
    source, phase = _permutation_of(matrix)
    k = len(qubits)
    offset = int(source[0])
    local_columns = [int(source[1 << b]) ^ offset for b in range(k)]  # bit b (LSB first) of the local index
    if not np.array_equal(_doubling(local_columns, offset), source):
        return None

    def to_global(local: int) -> int:
        return sum(1 << (num_qubits - 1 - q) for j, q in enumerate(qubits) if local >> (k - 1 - j) & 1)

    columns = {qubits[k - 1 - b]: to_global(column) for b, column in enumerate(local_columns)}
    trivial = not np.any(np.abs(phase - 1.0) > _ZERO)
    return columns, to_global(offset), None if trivial else phase


def _local_source(columns: dict[int, int], offset: int, qubits: tuple[int, ...], num_qubits: int) -> np.ndarray:
    """An affine map that moves only bits of ascending ``qubits``, over their ``2**len(qubits)`` local indices."""
    u = len(qubits)

    def to_local(mask: int) -> int:
        return sum(1 << (u - 1 - j) for j, q in enumerate(qubits) if mask >> (num_qubits - 1 - q) & 1)

    local_columns = []
    for b in range(u):
        column = columns.get(qubits[u - 1 - b])
        local_columns.append(1 << b if column is None else to_local(column))
    return _doubling(local_columns, to_local(offset))


def _affine_apply(columns: dict[int, int], num_qubits: int, value: int) -> int:
    """The linear part of an affine map applied to a global index mask."""
    result = 0
    while value:
        low = value & -value
        q = num_qubits - low.bit_length()
        result ^= columns.get(q, low)
        value ^= low
    return result


def _is_identity(columns: dict[int, int], offset: int, num_qubits: int) -> bool:
    return offset == 0 and all(column == 1 << (num_qubits - 1 - q) for q, column in columns.items())


def permutation_index(gate: FusedGate, num_qubits: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Gather index and phases of a permutation block over the state's tail from its first qubit.

    The block acts on qubits ``lo = gate.qubits[0]`` onward, so rows of ``W = 2**(n - lo)``
    amplitudes are gathered with one shared index (:func:`circuits.sim.kernels.apply_monomial`).

    Returns:
        ``(source (W,) int64, phase (W,) complex128 or None)``.
    """
    lo = gate.qubits[0]
    tail = num_qubits - lo
    if isinstance(gate.operand[0], dict):  # affine: build by doubling, one XOR per entry
        columns, offset, phase = gate.operand
        bits = [columns.get(num_qubits - 1 - b, 1 << b) for b in range(tail)]
        tail_qubits = tuple(range(lo, num_qubits))
        return _doubling(bits, offset), None if phase is None else expand_vector(phase, gate.qubits, tail_qubits)
    local_source, phase = gate.operand
    k = len(gate.qubits)
    index = np.arange(2**tail, dtype=np.int64)
    shifts = [num_qubits - 1 - q for q in gate.qubits]
    local = np.zeros_like(index)
    for j, s in enumerate(shifts):
        local |= ((index >> s) & 1) << (k - 1 - j)
    moved = local_source[local]
    source = index.copy()
    for j, s in enumerate(shifts):
        source = (source & ~(1 << s)) | (((moved >> (k - 1 - j)) & 1) << s)
    return source, None if phase is None else phase[local]


def dense_exec_qubits(qubits: tuple[int, ...], costs: FusionCosts = DEFAULT_COSTS) -> tuple[tuple[int, ...], float]:
    """Where a dense block on ascending ``qubits`` is applied, and its cost per amplitude (ns).

    On the contiguous span (identity on the qubits in between) when that span is short and cheaper
    than the permuted copy a non-contiguous gate needs; else on ``qubits`` themselves.
    """
    k = len(qubits)
    span = qubits[-1] - qubits[0] + 1
    own = costs.dense(k)
    if span == k:
        return qubits, own
    permuted = own + costs.permute_ns
    if span <= DENSE_SPAN_MAX_QUBITS and costs.dense(span) <= permuted:
        return tuple(range(qubits[0], qubits[-1] + 1)), costs.dense(span)
    return qubits, permuted


_DIAGONAL_PAD_QUBITS = 6
_DIAGONAL_TABLE_MAX_QUBITS = 16


def diagonal_exec_qubits(qubits: tuple[int, ...], num_qubits: int) -> tuple[int, ...]:
    """The qubits a diagonal block's table covers: ``qubits``, padded with the last qubits.

    Multiplying by a table broadcast along a short innermost run is slow (a diagonal on the last
    qubit costs as much as a dense gate); padding the table to cover the last 6 qubits makes the
    innermost run 64 amplitudes long, at the price of a larger table (at most ``2**16`` entries).
    """
    if num_qubits <= _DIAGONAL_PAD_QUBITS:
        return tuple(range(num_qubits))
    if not qubits or num_qubits - 1 - qubits[-1] >= _DIAGONAL_PAD_QUBITS:
        return qubits
    padded = tuple(sorted(set(qubits) | set(range(num_qubits - _DIAGONAL_PAD_QUBITS, num_qubits))))
    return padded if len(padded) <= _DIAGONAL_TABLE_MAX_QUBITS else qubits


def _diagonal_ns(qubits: tuple[int, ...], num_qubits: int, costs: FusionCosts) -> float:
    """Cost per amplitude of a diagonal block: cheap when its table's innermost run is long."""
    table = diagonal_exec_qubits(qubits, num_qubits)
    if num_qubits <= _DIAGONAL_PAD_QUBITS or not table or num_qubits - 1 - table[-1] >= _DIAGONAL_PAD_QUBITS:
        return costs.diagonal_ns
    last_run = 1
    while last_run < len(table) and table[-1 - last_run] == table[-1] - last_run:
        last_run += 1
    reaches_end = table[-1] == num_qubits - 1
    return costs.diagonal_ns if reaches_end and last_run >= _DIAGONAL_PAD_QUBITS else costs.dense(1) * 2


# -- blocks ----------------------------------------------------------------------------------


class _Block:
    """An open block: a product of gates on ``qubits`` (ascending), in one of two forms.

    Blocks of at most the cost model's ``dense_max_qubits`` qubits (and single wider gates that are neither
    diagonal nor affine) keep their ``matrix``. Wider blocks are diagonal or affine permutations: ``perm``
    (``(columns, offset)``, see :data:`PhasedAffine`) and ``phase`` (``None``: all ones; at most
    ``2**DIAGONAL_MAX_QUBITS`` entries).
    """

    __slots__ = ("_memo", "gates", "kind", "matrix", "open_sandwiches", "perm", "phase", "qubits", "serial")

    def __init__(self, qubits: tuple[int, ...], kind: int, gates: int, serial: int) -> None:
        self.qubits = qubits
        self.kind = kind
        self.gates = gates
        self.serial = serial
        self.open_sandwiches = 0  # openers minus closers of diagonal sandwiches inside (see ConstantFuser.add)
        self.matrix: np.ndarray | None = None
        self.perm: tuple[dict[int, int], int] | None = None
        self.phase: np.ndarray | None = None
        self._memo: PhasedAffine | bool | None = False

    def phased_affine(self, num_qubits: int) -> PhasedAffine | None:
        """The block as an affine permutation with phases, or ``None`` when it is not one."""
        if self.perm is not None:
            return (*self.perm, self.phase)
        if self._memo is False:
            if self.kind == DENSE:
                self._memo = None
            elif self.kind == DIAGONAL:
                diagonal = np.diagonal(self.matrix)
                self._memo = ({}, 0, diagonal if np.any(np.abs(diagonal - 1.0) > _ZERO) else None)
            else:
                self._memo = _phased_affine_of(self.matrix, self.qubits, num_qubits)
        return self._memo  # type: ignore[return-value]

    @property
    def cost_kind(self) -> int:
        """The kind to cost it as: diagonal while it holds an open ``P D P^-1`` sandwich (it will be one)."""
        return DIAGONAL if self.open_sandwiches > 0 and self.kind != DENSE else self.kind


class ConstantFuser:
    """Greedy fusion of constant gates into blocks (see the module docstring).

    Args:
        num_qubits: circuit width.
        emit: called with each block as it is closed, in an order that respects the circuit.
        costs: the cost model (the built-in one by default).
    """

    def __init__(self, num_qubits: int, emit: Callable[[FusedGate], None], costs: FusionCosts = DEFAULT_COSTS) -> None:
        self.num_qubits = num_qubits
        self.costs = costs
        self._dense_max = costs.dense_max_qubits
        self.stats = FusionStats()
        self._emit = emit
        self._owner: dict[int, _Block] = {}
        self._open: dict[int, _Block] = {}  # serial -> block, least recently used first
        self._serial = 0
        self._launch = costs.launch_ns / 2**num_qubits
        self._gather_left = GATHER_BUDGET_BYTES
        self._costs: dict[tuple[int, tuple[int, ...]], float] = {}

    # -- costs ---------------------------------------------------------------------------------

    def _gather_bytes(self, qubits: tuple[int, ...]) -> int:
        return 8 << (self.num_qubits - qubits[0])

    def _cost(self, kind: int, qubits: tuple[int, ...]) -> float:
        key = (kind, qubits)
        cost = self._costs.get(key)
        if cost is None:
            cost = self._costs[key] = self._pass_cost(kind, qubits)
        return cost

    def _pass_cost(self, kind: int, qubits: tuple[int, ...]) -> float:
        if kind == DIAGONAL:
            work = _diagonal_ns(qubits, self.num_qubits, self.costs)
        elif kind == MONOMIAL and len(qubits) > self._dense_max:
            work = self.costs.gather_ns
        else:
            work = dense_exec_qubits(qubits, self.costs)[1]
        return self._launch + work

    def _feasible(self, kind: int, qubits: tuple[int, ...], members: Sequence[_Block]) -> bool:
        width = len(qubits)
        if width <= self._dense_max:
            return True
        if kind == DENSE:
            return False
        forms = [m.phased_affine(self.num_qubits) for m in members]
        if any(form is None for form in forms):
            return False
        if kind == DIAGONAL:
            return width <= DIAGONAL_MAX_QUBITS
        if any(form[2] is not None for form in forms) and width > DIAGONAL_MAX_QUBITS:
            return False  # phases are a table over the block's qubits
        return self._gather_bytes(qubits) <= self._gather_left

    # -- public ----------------------------------------------------------------------------------

    def add(self, qubits: Sequence[int], matrix: np.ndarray, kind: int | None = None, sandwich: int = 0) -> None:
        """Take one constant gate: ``matrix`` on ``qubits`` (in the gate's order).

        Args:
            qubits: the gate's qubits, in its order.
            matrix: its ``2**k x 2**k`` matrix.
            kind: ``DIAGONAL``, ``MONOMIAL`` or ``DENSE`` when the caller knows it (saves classifying).
            sandwich: ``+1`` for a permutation ``P`` whose next gates on its qubits are diagonal up to its
                inverse, ``-1`` for that inverse (``cx rz cx``: the three are diagonal together). The fuser
                costs the block between them as the diagonal it will become (a transpiled ``cp`` or ``rzz``
                joins the diagonal block next to it instead of closing it).
        """
        self.stats.gates += 1
        if len(qubits) == 1:
            ordered = tuple(qubits)
            block = self._owner.get(ordered[0])
            if (
                block is not None
                and len(block.qubits) <= self._dense_max
                and self._absorbs(block, ordered[0], matrix, kind)
            ):
                return
        else:
            ordered = tuple(sorted(qubits))
            if ordered != tuple(qubits):
                matrix = expand_matrix(matrix, qubits, ordered)
        item = self._new_block(ordered, matrix, kind)
        touched: list[_Block] = []
        for q in ordered:
            block = self._owner.get(q)
            if block is not None and block not in touched:
                touched.append(block)
        # an opener that fits into a dense block it touches just joins it (the sandwich costs nothing there)
        joins_dense = any(b.kind == DENSE and len(set(b.qubits).union(ordered)) <= self._dense_max for b in touched)
        item.open_sandwiches = 0 if sandwich > 0 and joins_dense else sandwich
        merged, closed = self._choose(item, touched)
        for block in closed:
            self._close(block)
        for block in merged:
            self._forget(block)
        self._register(self._merge(merged, item) if merged else item)

    def _absorbs(self, block: _Block, qubit: int, matrix: np.ndarray, kind: int | None) -> bool:
        """Fast path: a single-qubit gate joins the dense-sized block on its qubit when that costs nothing.

        True when it did: the block is dense (its cost does not change), or both are diagonal (the block
        perhaps only once its sandwich closes).
        """
        if kind is None:
            kind = classify(matrix)
        if not (block.kind == DENSE or (kind == DIAGONAL and block.cost_kind == DIAGONAL)):
            return False
        position = block.qubits.index(qubit)
        block.matrix = _apply_local(block.matrix, matrix, (position,), len(block.qubits))
        block._memo = False  # its permutation form, if computed, is stale
        block.gates += 1
        self.stats.elements += block.matrix.size
        # a dense product turns diagonal or monomial only by cancellation (sx sx = x): _fused checks once
        self._touch(block)
        return True

    def close(self, qubits: Sequence[int]) -> None:
        """Emit the open blocks touching ``qubits`` (a gate the fuser does not take acts there next)."""
        for q in qubits:
            block = self._owner.get(q)
            if block is not None:
                self._close(block)

    def close_all(self) -> None:
        """Emit every open block."""
        for block in list(self._open.values()):
            self._close(block)

    # -- choosing --------------------------------------------------------------------------------

    def _choose(self, item: _Block, touched: list[_Block]) -> tuple[list[_Block], list[_Block]]:
        """Which open blocks the gate joins and which it closes: the cheapest option."""
        costs = {b.serial: self._cost(b.cost_kind, b.qubits) for b in touched}
        if len(touched) <= 3:
            subsets = [list(c) for r in range(len(touched) + 1) for c in combinations(touched, r)]
        else:
            subsets = [[], touched]
        best: tuple[float, int, list[_Block]] | None = None
        for subset in subsets:
            self.stats.options += 1
            members = [*subset, item]
            qubits, kind, cost_kind = self._union(members)
            if subset and not self._feasible(kind, qubits, members):
                continue
            total = self._cost(cost_kind, qubits) + sum(costs[b.serial] for b in touched if b not in subset)
            if best is None or total < best[0] - 1e-9 or (abs(total - best[0]) <= 1e-9 and len(subset) > best[1]):
                best = (total, len(subset), subset)
        assert best is not None  # the empty subset is always feasible
        total, _, subset = best
        # optionally also take in one open block the gate does not touch
        members = [*subset, item]
        qubits, kind, cost_kind = self._union(members)
        own = self._cost(cost_kind, qubits)
        partner, saving = None, 1e-9
        for block in islice((b for b in reversed(self._open.values()) if b not in touched), _OPTIONAL_PARTNERS):
            self.stats.options += 1
            widest = self._dense_max if max(kind, block.kind) == DENSE else self.num_qubits
            if len(qubits) + len(block.qubits) > widest:
                continue
            with_block = [*members, block]
            q2, k2, c2 = self._union(with_block)
            if not self._feasible(k2, q2, with_block):
                continue
            gain = own + self._cost(block.cost_kind, block.qubits) - self._cost(c2, q2)
            if gain > saving:
                partner, saving = block, gain
        merged = subset if partner is None else [*subset, partner]
        return merged, [b for b in touched if b not in subset]

    @staticmethod
    def _union(members: Sequence[_Block]) -> tuple[tuple[int, ...], int, int]:
        """The qubits of a product, its kind at worst, and the kind to cost it as."""
        qubits: set[int] = set()
        kind = DIAGONAL
        opened = False
        for m in members:
            qubits.update(m.qubits)
            kind = max(kind, m.kind)
            opened = opened or m.open_sandwiches > 0
        cost_kind = DIAGONAL if opened and kind != DENSE else kind
        return tuple(sorted(qubits)), kind, cost_kind

    # -- building blocks -------------------------------------------------------------------------

    def _next_serial(self) -> int:
        self._serial += 1
        return self._serial

    def _new_block(self, qubits: tuple[int, ...], matrix: np.ndarray, kind: int | None = None) -> _Block:
        """One gate as a block (``matrix`` on ascending ``qubits``)."""
        if kind is None:
            kind = classify(matrix)
        block = _Block(qubits, kind, 1, self._next_serial())
        self.stats.elements += matrix.size
        block.matrix = matrix  # kept by single wide gates too: the fallback when a gather index is too big
        if len(qubits) > self._dense_max and kind != DENSE:
            form = _phased_affine_of(matrix, qubits, self.num_qubits)
            if form is not None:  # else a lone wide permutation gate (mcx ...)
                block.perm, block.phase = form[:2], form[2]
        return block

    def _merge(self, blocks: list[_Block], item: _Block) -> _Block:
        """The product ``item @ (blocks...)`` (the blocks are disjoint, so they commute)."""
        members = [*blocks, item]
        qubits, kind, _ = self._union(members)
        gates = sum(m.gates for m in members)
        block = _Block(qubits, kind, gates, self._next_serial())
        block.open_sandwiches = sum(m.open_sandwiches for m in members)
        width = len(qubits)
        if width <= self._dense_max:
            if kind == DIAGONAL:
                diagonal = np.ones(2**width, dtype=np.complex128)
                for m in members:
                    diagonal = diagonal * expand_vector(np.diagonal(m.matrix), m.qubits, qubits)
                block.matrix = np.diag(diagonal)
            else:
                first = members[0]
                if first.qubits == qubits:
                    product = first.matrix
                else:
                    product = np.eye(2**width, dtype=np.complex128)
                    product = _apply_local(product, first.matrix, [qubits.index(q) for q in first.qubits], width)
                for m in members[1:]:
                    product = _apply_local(product, m.matrix, [qubits.index(q) for q in m.qubits], width)
                block.matrix = product
                block.kind = classify(product)
            self.stats.elements += block.matrix.size * len(members)
            return block
        # wide: an affine permutation with phases; the blocks first (disjoint, so their forms just combine)
        n = self.num_qubits
        columns: dict[int, int] = {}
        offset = 0
        phase = None
        for m in blocks:
            cols, off, ph = m.phased_affine(n)
            columns.update(cols)
            offset ^= off
            if ph is not None:
                expanded = expand_vector(ph, m.qubits, qubits)
                phase = expanded if phase is None else phase * expanded
        cols, off, ph = item.phased_affine(n)
        # then the item: source = blocks_source(item_source(i)), phase = item_phase * blocks_phase(item_source(i))
        if phase is not None and (cols or off):
            phase = phase[_local_source(cols, off, qubits, n)]
            self.stats.elements += phase.size
        before = dict(columns)
        for q, column in cols.items():
            columns[q] = _affine_apply(before, n, column)
        offset ^= _affine_apply(before, n, off)
        if ph is not None:
            expanded = expand_vector(ph, item.qubits, qubits)
            phase = expanded if phase is None else phase * expanded
        self.stats.elements += len(cols) * width + (0 if phase is None else phase.size)
        block.perm, block.phase = (columns, offset), phase
        block.kind = DIAGONAL if _is_identity(columns, offset, n) else MONOMIAL
        return block

    # -- bookkeeping -----------------------------------------------------------------------------

    def _register(self, block: _Block) -> None:
        self._open[block.serial] = block
        for q in block.qubits:
            self._owner[q] = block

    def _touch(self, block: _Block) -> None:
        """Mark ``block`` most recently used (it is first in line as an optional partner)."""
        self._open[block.serial] = self._open.pop(block.serial)

    def _forget(self, block: _Block) -> None:
        del self._open[block.serial]
        for q in block.qubits:
            del self._owner[q]

    def _close(self, block: _Block) -> None:
        self._forget(block)
        fused = self._fused(block)
        if fused is not None:
            self.stats.blocks += 1
            self._emit(fused)

    def _fused(self, block: _Block) -> FusedGate | None:
        """The block as an operand, or ``None`` when it is the identity (``h h``, ``cx cx`` ...)."""
        qubits, n = block.qubits, self.num_qubits
        if block.perm is not None:
            columns, offset = block.perm
            phase = block.phase
            if phase is not None and not np.any(np.abs(phase - 1.0) > _ZERO):
                phase = None
            if _is_identity(columns, offset, n):
                return None if phase is None else FusedGate("diagonal", qubits, phase, block.gates)
            if block.matrix is not None and self._gather_bytes(qubits) > self._gather_left:
                return FusedGate("matrix", qubits, block.matrix, block.gates)  # a single gate: dense
            self._gather_left -= self._gather_bytes(qubits)
            return FusedGate("permutation", qubits, (columns, offset, phase), block.gates)
        if block.kind == DENSE:
            block.kind = classify(block.matrix)
        if block.kind == DIAGONAL:
            diagonal = np.diagonal(block.matrix).copy()
            if not np.any(np.abs(diagonal - 1.0) > _ZERO):
                return None
            return FusedGate("diagonal", qubits, diagonal, block.gates)
        if block.kind == MONOMIAL and len(qubits) > self._dense_max and self._gather_bytes(qubits) <= self._gather_left:
            # a wide gate that is not affine (mcx ...): a gather, while the index fits the budget
            self._gather_left -= self._gather_bytes(qubits)
            source, phase = _permutation_of(block.matrix)
            trivial = bool(np.all(np.abs(phase - 1.0) <= _ZERO))
            return FusedGate("permutation", qubits, (source, None if trivial else phase), block.gates)
        return FusedGate("matrix", qubits, block.matrix, block.gates)
