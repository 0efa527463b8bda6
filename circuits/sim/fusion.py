"""Fuse constant gates into few passes over the state: the planner's constant-gate fuser.

A deep circuit with bound angles (a QFT, a circuit transpiled to ``rz, sx, x, cx`` with
thousands of gates) spends its time in passes over the state and in the fixed cost of each
pass. The fuser turns its constant gates into *blocks*, each one pass:

* a **dense** block: the product of gates on at most :data:`DENSE_MAX_QUBITS` qubits, one
  ``2**k x 2**k`` matrix, applied on the contiguous span of its qubits (identity on the
  qubits in between) when that is cheaper than moving the qubits together;
* a **diagonal** block: any product of diagonal gates (the ``cp`` / ``rz`` / ``cz`` chains of
  a QFT, ``cx rz cx`` sandwiches) on up to :data:`DIAGONAL_MAX_QUBITS` qubits, one
  elementwise product;
* a **permutation** block: CNOT, SWAP and X gates on more qubits than a dense block (a CNOT
  ring, a SWAP layer), one index gather. Such a block is an affine map of the index bits
  over GF(2), kept as one column per qubit, so adding a gate costs ``O(width)``.

The fuser keeps *open* blocks on disjoint qubits (they commute, so their order is free).
Each gate either joins some of the open blocks it touches, closing (emitting) the others,
and may also take in one open block it does not touch; the choice is the cheapest under a
small cost model of one pass of each kind (measured on CPU, see docs/performance.md).
Every gate is looked at once and the work per gate is bounded (matrices of at most
``2**DENSE_MAX_QUBITS`` rows, diagonals of at most ``2**DIAGONAL_MAX_QUBITS`` entries), so
compilation is linear in the number of gates. :class:`FusionStats` counts that work.
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

DENSE_MAX_QUBITS = 4
"""Widest dense block. On 2 CPU cores a 4-qubit matrix costs about 1.7 passes of a 1-qubit
gate, a 5-qubit one 3 (``benchmarks/deep_circuits.py --kernels``)."""

DENSE_SPAN_MAX_QUBITS = 5
"""Widest contiguous span a dense block is applied on (identity on the qubits in between)."""

DIAGONAL_MAX_QUBITS = 12
"""Widest diagonal block (its diagonal has ``2**12`` entries)."""

GATHER_BUDGET_BYTES = 256 << 20
"""Index memory the gathers of one plan may use; past it, permutation blocks stay dense-sized."""

_ZERO = 1e-13
"""Entries below this are zeros when a fused product is classified (products round at 1e-16)."""

# Cost model: nanoseconds per amplitude of one pass (1 thread, complex64, 18 qubits, in cache),
# plus a fixed cost per pass (Python and kernel launch) spread over the state.
_LAUNCH_NS = 10_000.0
_DENSE_NS = {1: 1.0, 2: 0.9, 3: 1.3, 4: 1.7, 5: 3.1}
_PERMUTE_NS = 2.0
_DIAGONAL_NS = 0.25
_GATHER_NS = 0.7
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
            diagonal; ``"permutation"``: ``(columns, offset)``, the affine map
            ``source(i) = offset XOR (XOR of columns[q] over the qubits q set in i)`` on global
            index bit masks, or ``(source, phase)`` arrays over ``qubits`` for a single gate
            that is not affine (``out[i] = phase[i] * in[source[i]]``, ``phase`` may be None).
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


def _affine_of(matrix: np.ndarray, qubits: tuple[int, ...], num_qubits: int) -> tuple[dict[int, int], int] | None:
    """The affine GF(2) map of a phase-free permutation matrix on ascending ``qubits``, or ``None``.

    Returns ``(columns, offset)`` on global index masks (qubit ``q`` is bit ``num_qubits - 1 - q``):
    ``source(i) = offset XOR columns[q] for each q set in i`` (bits outside ``qubits`` pass through).
    """
    source, phase = _permutation_of(matrix)
    if np.any(np.abs(phase - 1.0) > _ZERO):
        return None
    k = len(qubits)
    masks = [1 << (num_qubits - 1 - q) for q in qubits]  # local bit j (MSB first) -> global mask

    def to_global(local: int) -> int:
        value = 0
        for j in range(k):
            if local >> (k - 1 - j) & 1:
                value |= masks[j]
        return value

    offset = int(source[0])
    local_columns = [int(source[1 << (k - 1 - j)]) ^ offset for j in range(k)]
    index = np.arange(2**k)
    expected = np.full(2**k, offset)
    for j, column in enumerate(local_columns):
        expected ^= np.where((index >> (k - 1 - j)) & 1, column, 0)
    if not np.array_equal(expected, source):
        return None
    columns = {q: to_global(column) for q, column in zip(qubits, local_columns, strict=True)}
    return columns, to_global(offset)


def _affine_apply(columns: dict[int, int], num_qubits: int, value: int) -> int:
    """The linear part of an affine map applied to a global index mask."""
    result = 0
    while value:
        low = value & -value
        q = num_qubits - low.bit_length()
        result ^= columns.get(q, low)
        value ^= low
    return result


def permutation_index(gate: FusedGate, num_qubits: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Gather index and phases of a permutation block over the state's tail from its first qubit.

    The block acts on qubits ``lo = gate.qubits[0]`` onward, so rows of ``W = 2**(n - lo)``
    amplitudes are gathered with one shared index (:func:`circuits.sim.kernels.apply_monomial`).

    Returns:
        ``(source (W,) int64, phase (W,) complex128 or None)``.
    """
    lo = gate.qubits[0]
    tail = num_qubits - lo
    first, second = gate.operand
    if isinstance(first, dict):  # affine: build by doubling, one XOR per entry
        source = np.array([second], dtype=np.int64)
        for bit in range(tail):
            q = num_qubits - 1 - bit
            source = np.concatenate([source, source ^ first.get(q, 1 << bit)])
        return source, None
    local_source, phase = first, second
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


def dense_exec_qubits(qubits: tuple[int, ...]) -> tuple[tuple[int, ...], float]:
    """Where a dense block on ascending ``qubits`` is applied, and its cost per amplitude (ns).

    On the contiguous span (identity on the qubits in between) when that span is short and cheaper
    than the permuted copy a non-contiguous gate needs; else on ``qubits`` themselves.
    """
    k = len(qubits)
    span = qubits[-1] - qubits[0] + 1
    own = _DENSE_NS.get(k, 2.0 ** (k - 2))
    if span == k:
        return qubits, own
    permuted = own + _PERMUTE_NS
    if span <= DENSE_SPAN_MAX_QUBITS and _DENSE_NS[span] <= permuted:
        return tuple(range(qubits[0], qubits[-1] + 1)), _DENSE_NS[span]
    return qubits, permuted


def diagonal_exec_qubits(qubits: tuple[int, ...], num_qubits: int) -> tuple[int, ...]:
    """The qubits a diagonal block's table covers: ``qubits``, padded with the last qubits.

    Multiplying by a table broadcast along a short innermost run is slow (a diagonal on the last
    qubit costs as much as a dense gate); padding the table to cover the last 6 qubits makes the
    innermost run 64 amplitudes long, at the price of a table at most 64 times larger.
    """
    if num_qubits <= 6:
        return tuple(range(num_qubits))
    if not qubits or num_qubits - 1 - qubits[-1] >= 6:
        return qubits
    padded = tuple(sorted(set(qubits) | set(range(num_qubits - 6, num_qubits))))
    return padded if len(padded) <= DIAGONAL_MAX_QUBITS + 2 else qubits


# -- blocks ----------------------------------------------------------------------------------


class _Block:
    """An open block: a product of gates on ``qubits`` (ascending), in one of three forms.

    ``matrix`` (dense-sized blocks, and single wide gates), ``diagonal`` (wide diagonal blocks),
    or ``affine`` (wide permutation blocks: columns and offset).
    """

    __slots__ = ("_affine_memo", "affine", "diagonal", "gates", "kind", "matrix", "qubits", "serial")

    def __init__(self, qubits: tuple[int, ...], kind: int, gates: int, serial: int) -> None:
        self.qubits = qubits
        self.kind = kind
        self.gates = gates
        self.serial = serial
        self.matrix: np.ndarray | None = None
        self.diagonal: np.ndarray | None = None
        self.affine: tuple[dict[int, int], int] | None = None
        self._affine_memo: tuple[dict[int, int], int] | bool | None = False

    def as_diagonal(self) -> np.ndarray:
        return self.diagonal if self.diagonal is not None else np.diagonal(self.matrix).copy()

    def as_affine(self, num_qubits: int) -> tuple[dict[int, int], int] | None:
        """The block as a phase-free affine permutation, or ``None`` when it is not one."""
        if self.affine is not None:
            return self.affine
        if self._affine_memo is False:
            if self.kind == DENSE:
                self._affine_memo = None
            elif self.kind == DIAGONAL:
                trivial = not np.any(np.abs(self.as_diagonal() - 1.0) > _ZERO)
                self._affine_memo = ({}, 0) if trivial else None
            else:
                self._affine_memo = _affine_of(self.matrix, self.qubits, num_qubits)
        return self._affine_memo  # type: ignore[return-value]


class ConstantFuser:
    """Greedy fusion of constant gates into blocks (see the module docstring).

    Args:
        num_qubits: circuit width.
        emit: called with each block as it is closed, in an order that respects the circuit.
    """

    def __init__(self, num_qubits: int, emit: Callable[[FusedGate], None]) -> None:
        self.num_qubits = num_qubits
        self.stats = FusionStats()
        self._emit = emit
        self._owner: dict[int, _Block] = {}
        self._open: dict[int, _Block] = {}  # serial -> block, least recently used first
        self._serial = 0
        self._launch = _LAUNCH_NS / 2**num_qubits
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
            work = _DIAGONAL_NS
        elif kind == MONOMIAL and len(qubits) > DENSE_MAX_QUBITS:
            work = _GATHER_NS
        else:
            work = dense_exec_qubits(qubits)[1]
        return self._launch + work

    def _feasible(self, kind: int, qubits: tuple[int, ...], members: Sequence[_Block]) -> bool:
        width = len(qubits)
        if width <= DENSE_MAX_QUBITS:
            return True
        if kind == DIAGONAL:
            return width <= DIAGONAL_MAX_QUBITS
        if kind == MONOMIAL:
            if self._gather_bytes(qubits) > self._gather_left:
                return False
            return all(m.as_affine(self.num_qubits) is not None for m in members)
        return False

    # -- public ----------------------------------------------------------------------------------

    def add(self, qubits: Sequence[int], matrix: np.ndarray, kind: int | None = None) -> None:
        """Take one constant gate: ``matrix`` on ``qubits`` (in the gate's order).

        ``kind`` (``DIAGONAL``, ``MONOMIAL`` or ``DENSE``), when the caller knows it, saves classifying the matrix.
        """
        self.stats.gates += 1
        if len(qubits) == 1:
            ordered = tuple(qubits)
            block = self._owner.get(ordered[0])
            if (
                block is not None
                and len(block.qubits) <= DENSE_MAX_QUBITS
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
        merged, closed = self._choose(item, touched)
        for block in closed:
            self._close(block)
        for block in merged:
            self._forget(block)
        self._register(self._merge(merged, item) if merged else item)

    def _absorbs(self, block: _Block, qubit: int, matrix: np.ndarray, kind: int | None) -> bool:
        """Fast path: a single-qubit gate joins the dense-sized block on its qubit when that costs nothing.

        True when it did: the block is dense (its cost does not change), or both are diagonal.
        """
        if kind is None:
            kind = classify(matrix)
        if not (block.kind == DENSE or (kind == DIAGONAL and block.kind == DIAGONAL)):
            return False
        position = block.qubits.index(qubit)
        block.matrix = _apply_local(block.matrix, matrix, (position,), len(block.qubits))
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
        costs = {id(b): self._cost(b.kind, b.qubits) for b in touched}
        if len(touched) <= 3:
            subsets = [list(c) for r in range(len(touched) + 1) for c in combinations(touched, r)]
        else:
            subsets = [[], touched]
        best: tuple[float, int, list[_Block]] | None = None
        for subset in subsets:
            self.stats.options += 1
            members = [*subset, item]
            qubits, kind = self._union(members)
            if subset and not self._feasible(kind, qubits, members):
                continue
            total = self._cost(kind, qubits) + sum(costs[id(b)] for b in touched if b not in subset)
            if best is None or total < best[0] - 1e-9 or (abs(total - best[0]) <= 1e-9 and len(subset) > best[1]):
                best = (total, len(subset), subset)
        assert best is not None  # the empty subset is always feasible
        total, _, subset = best
        # optionally also take in one open block the gate does not touch
        members = [*subset, item]
        qubits, kind = self._union(members)
        own = self._cost(kind, qubits)
        partner, saving = None, 1e-9
        for block in islice((b for b in reversed(self._open.values()) if b not in touched), _OPTIONAL_PARTNERS):
            self.stats.options += 1
            widest = DENSE_MAX_QUBITS if max(kind, block.kind) == DENSE else self.num_qubits
            if len(qubits) + len(block.qubits) > widest:
                continue
            with_block = [*members, block]
            q2, k2 = self._union(with_block)
            if not self._feasible(k2, q2, with_block):
                continue
            gain = own + self._cost(block.kind, block.qubits) - self._cost(k2, q2)
            if gain > saving:
                partner, saving = block, gain
        merged = subset if partner is None else [*subset, partner]
        return merged, [b for b in touched if b not in subset]

    @staticmethod
    def _union(members: Sequence[_Block]) -> tuple[tuple[int, ...], int]:
        qubits: set[int] = set()
        kind = DIAGONAL
        for m in members:
            qubits.update(m.qubits)
            kind = max(kind, m.kind)
        return tuple(sorted(qubits)), kind

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
        if len(qubits) > DENSE_MAX_QUBITS and kind == DIAGONAL:
            block.diagonal = np.diagonal(matrix).copy()
        elif len(qubits) > DENSE_MAX_QUBITS and kind == MONOMIAL:
            block.affine = _affine_of(matrix, qubits, self.num_qubits)
            if block.affine is None:
                block.matrix = matrix
        else:
            block.matrix = matrix
        return block

    def _merge(self, blocks: list[_Block], item: _Block) -> _Block:
        """The product ``item @ (blocks...)`` (the blocks are disjoint, so they commute)."""
        members = [*blocks, item]
        qubits, kind = self._union(members)
        gates = sum(m.gates for m in members)
        block = _Block(qubits, kind, gates, self._next_serial())
        if len(qubits) <= DENSE_MAX_QUBITS:
            width = len(qubits)
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
        if kind == DIAGONAL:
            diagonal = np.ones(2 ** len(qubits), dtype=np.complex128)
            for m in members:
                diagonal = diagonal * expand_vector(m.as_diagonal(), m.qubits, qubits)
            self.stats.elements += diagonal.size * len(members)
            block.diagonal = diagonal
            return block
        columns: dict[int, int] = {}
        offset = 0
        for m in blocks:  # disjoint: their columns do not interact
            cols, off = m.as_affine(self.num_qubits)
            columns.update(cols)
            offset ^= off
        cols, off = item.as_affine(self.num_qubits)
        # item after the blocks: source = blocks_source(item_source(i))
        new_columns = dict(columns)
        for q, column in cols.items():
            new_columns[q] = _affine_apply(columns, self.num_qubits, column)
        offset = _affine_apply(columns, self.num_qubits, off) ^ offset
        self.stats.elements += len(cols) * len(qubits)
        block.affine = (new_columns, offset)
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
        qubits = block.qubits
        if block.matrix is not None and block.kind == DENSE:
            block.kind = classify(block.matrix)
        if block.affine is not None:
            columns, offset = block.affine
            n = self.num_qubits
            if offset == 0 and all(columns.get(q, 1 << (n - 1 - q)) == 1 << (n - 1 - q) for q in qubits):
                return None
            self._gather_left -= self._gather_bytes(qubits)
            return FusedGate("permutation", qubits, block.affine, block.gates)
        if block.diagonal is not None or block.kind == DIAGONAL:
            diagonal = block.as_diagonal()
            if not np.any(np.abs(diagonal - 1.0) > _ZERO):
                return None
            return FusedGate("diagonal", qubits, diagonal, block.gates)
        if block.kind == MONOMIAL and len(qubits) > DENSE_MAX_QUBITS:  # a wide gate that is not affine
            self._gather_left -= self._gather_bytes(qubits)
            source, phase = _permutation_of(block.matrix)
            trivial = bool(np.all(np.abs(phase - 1.0) <= _ZERO))
            return FusedGate("permutation", qubits, (source, None if trivial else phase), block.gates)
        return FusedGate("matrix", qubits, block.matrix, block.gates)
