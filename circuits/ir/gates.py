"""The gate registry: every gate the project knows, defined once.

A :class:`GateSpec` gives a gate's name, its qubit and parameter counts, its
matrix as a function of torch tensors with any leading batch shape, its
adjoint, and the frequencies its parameters enter with (from which the
parameter-shift rule is derived). A gate with a matrix can be simulated; fast
kernels are optional and live in :mod:`circuits.sim`.

Matrix convention: the first qubit of an operation is the most significant bit
of the matrix index (``numpy.kron(A, B)`` puts ``A`` on the first qubit), as in
PennyLane and Cirq. Qiskit's little-endian matrices are converted in
``circuits.export`` only.

Names follow Qiskit's ``Gate.name`` (``cx``, ``rzz``, ``xx_plus_yy``, ``mcphase``
...) so every gate of Qiskit's standard library, and so every OpenQASM 2
``qelib1.inc`` circuit, maps one to one. Added beyond it: multi-controlled
rotations ``mcrx``/``mcry``/``mcrz``, ``pauli_rot`` (``exp(-i theta P / 2)``),
``evolution`` (``exp(-i t H)`` for a Hermitian ``H``) and ``unitary``.

Adding a gate: append one ``GateSpec`` to ``_SPECS`` below. The conformance
tests in ``tests/circuits/ir/test_gates.py`` enrol it automatically.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from circuits.errors import NotHermitianError, NotUnitaryError, UnknownGateError
from circuits.ir.parameters import as_angle

__all__ = [
    "GATES",
    "GateSpec",
    "MatrixData",
    "PauliLabel",
    "check_hermitian",
    "check_unitary",
    "complex_dtype_for",
    "gate_matrix",
    "gate_spec",
    "pauli_matrix",
]

_UNITARY_ATOL = 1e-8


@dataclass(frozen=True, eq=False)
class MatrixData:
    """A constant complex matrix carried by a gate (``unitary``) or a Hamiltonian (``evolution``).

    Immutable: the array is copied and made read-only. Equality and hashing use the
    exact bytes, so it can sit inside frozen operations and circuit hashes.
    """

    array: np.ndarray

    def __post_init__(self) -> None:
        array = np.array(self.array, dtype=np.complex128, copy=True) + 0.0  # -0.0 -> 0.0 for stable bytes
        if array.ndim != 2 or array.shape[0] != array.shape[1]:
            raise ValueError(f"A gate matrix must be square, got shape {array.shape}.")
        dim = array.shape[0]
        if dim < 2 or dim & (dim - 1):
            raise ValueError(f"A gate matrix must be 2**k x 2**k with k >= 1, got {dim} x {dim}.")
        if not np.all(np.isfinite(array)):
            raise ValueError("A gate matrix contains NaN or infinite entries.")
        array.setflags(write=False)
        object.__setattr__(self, "array", array)

    @property
    def num_qubits(self) -> int:
        """Number of qubits the matrix acts on."""
        return int(self.array.shape[0]).bit_length() - 1

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MatrixData)
            and self.array.shape == other.array.shape
            and bool(np.array_equal(self.array, other.array))
        )

    def __hash__(self) -> int:
        return hash(self.array.tobytes())

    def __repr__(self) -> str:
        return f"MatrixData({self.array.tolist()!r})"


@dataclass(frozen=True)
class PauliLabel:
    """A Pauli word such as ``"XZY"``, one letter per qubit of the operation (first letter on the first qubit)."""

    label: str

    def __post_init__(self) -> None:
        if not self.label or set(self.label) - set("IXYZ"):
            raise ValueError(f"A Pauli label uses only the letters I, X, Y, Z, got {self.label!r}.")

    @property
    def num_qubits(self) -> int:
        """Number of qubits the word acts on."""
        return len(self.label)


GateData = MatrixData | PauliLabel | None
MatrixFn = Callable[[torch.Tensor, GateData], torch.Tensor]


@dataclass(frozen=True)
class GateSpec:
    """Everything the project knows about one gate.

    Attributes:
        name: registry key, equal to Qiskit's ``Gate.name`` where Qiskit has the gate.
        num_qubits: qubit count, or ``None`` for gates whose width is set per operation
            (multi-controlled gates, ``pauli_rot``, ``evolution``, ``unitary``).
        num_params: number of angle parameters.
        matrix: ``f(params, data) -> Tensor`` with ``params`` real of shape ``(..., num_params)``
            and the result complex of shape ``(..., 2**k, 2**k)``; complex64 for float32
            params and complex128 for float64.
        frequencies: for each parameter, the positive frequencies with which expectation
            values depend on it (``(1.0,)`` for ``exp(-i theta P / 2)``). A callable
            receives the operation's data (``evolution`` derives them from ``H``).
        adjoint: ``f(params, data) -> (name, params, data)`` of the inverse operation, with
            ``params`` the operation's :class:`~circuits.ir.parameters.Angle` tuple.
        diagonal: the matrix is diagonal for every parameter value.
        real: the matrix is real for every real parameter value (enables the real-arithmetic path).
        min_qubits: smallest width of a variable-width gate.
        needs_data: the gate carries a :class:`MatrixData` or :class:`PauliLabel`.
    """

    name: str
    num_qubits: int | None
    num_params: int
    matrix: MatrixFn = field(repr=False)
    frequencies: tuple[tuple[float, ...], ...] | Callable[[GateData], tuple[tuple[float, ...], ...]] = field(
        default=(), repr=False
    )
    adjoint: Callable[[tuple, GateData], tuple[str, tuple, GateData]] | None = field(default=None, repr=False)
    diagonal: bool = False
    real: bool = False
    min_qubits: int = 1
    needs_data: type | None = None

    def param_frequencies(self, data: GateData) -> tuple[tuple[float, ...], ...]:
        """The frequencies of each parameter for an operation carrying ``data``."""
        if callable(self.frequencies):
            return self.frequencies(data)
        return self.frequencies


def complex_dtype_for(real_dtype: torch.dtype) -> torch.dtype:
    """complex128 for float64 parameters, complex64 otherwise."""
    return torch.complex128 if real_dtype == torch.float64 else torch.complex64


# -- matrix builders -------------------------------------------------------------------------


def _entries(rows: Sequence[Sequence[torch.Tensor | complex]], like: torch.Tensor) -> torch.Tensor:
    """Assemble a batched matrix ``(..., d, d)`` from entries that are tensors of shape ``like.shape`` or numbers."""
    dtype = complex_dtype_for(like.dtype) if not like.is_complex() else like.dtype
    shape = like.shape
    flat = []
    for row in rows:
        for entry in row:
            if isinstance(entry, torch.Tensor):
                flat.append(entry.to(dtype).expand(shape))
            else:
                flat.append(torch.full(shape, complex(entry), dtype=dtype, device=like.device))
    d = len(rows)
    return torch.stack(flat, dim=-1).reshape(*shape, d, d)


def _constant(matrix: np.ndarray) -> MatrixFn:
    constant = torch.tensor(np.asarray(matrix, dtype=np.complex128))

    def build(params: torch.Tensor, data: GateData) -> torch.Tensor:
        m = constant.to(dtype=complex_dtype_for(params.dtype), device=params.device)
        return m.expand(*params.shape[:-1], *constant.shape)

    return build


def _expi(angle: torch.Tensor) -> torch.Tensor:
    """``exp(i * angle)`` for a real tensor, complex result."""
    return torch.polar(torch.ones_like(angle), angle)


def _rx(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    t = p[..., 0] / 2
    c, s = torch.cos(t), torch.sin(t)
    ms = -1j * s.to(complex_dtype_for(p.dtype))
    return _entries([[c, ms], [ms, c]], t)


def _ry(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    t = p[..., 0] / 2
    c, s = torch.cos(t), torch.sin(t)
    return _entries([[c, -s], [s, c]], t)


def _rz(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    t = p[..., 0] / 2
    return _entries([[_expi(-t), 0], [0, _expi(t)]], t)


def _phase(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    t = p[..., 0]
    return _entries([[1, 0], [0, _expi(t)]], t)


def _u(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    theta, phi, lam = p[..., 0] / 2, p[..., 1], p[..., 2]
    c, s = torch.cos(theta), torch.sin(theta)
    return _entries([[c, -_expi(lam) * s], [_expi(phi) * s, _expi(phi + lam) * c]], theta)


def _u2(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    half_pi = torch.full_like(p[..., :1], math.pi / 2)
    return _u(torch.cat([half_pi, p], dim=-1))


def _r(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    theta, phi = p[..., 0] / 2, p[..., 1]
    c, s = torch.cos(theta), torch.sin(theta)
    return _entries([[c, -1j * _expi(-phi) * s], [-1j * _expi(phi) * s, c]], theta)


def _global_phase(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    return _expi(p[..., 0])[..., None, None]


def _controlled(base: MatrixFn, num_controls: int) -> MatrixFn:
    """Matrix of ``base`` controlled on ``num_controls`` leading qubits (all in state 1)."""

    def build(params: torch.Tensor, data: GateData) -> torch.Tensor:
        target = base(params, data)
        d = target.shape[-1]
        dim = d << num_controls
        eye = torch.eye(dim, dtype=target.dtype, device=target.device)
        out = eye.expand(*target.shape[:-2], dim, dim).clone()
        out[..., dim - d :, dim - d :] = target
        return out

    return build


def _rotation_about(pauli: np.ndarray) -> MatrixFn:
    """``exp(-i theta P / 2)`` for a fixed Pauli product ``P`` (with ``P @ P = I``)."""
    pauli = np.asarray(pauli, dtype=np.complex128)

    def build(params: torch.Tensor, data: GateData) -> torch.Tensor:
        dtype = complex_dtype_for(params.dtype)
        t = params[..., 0] / 2
        eye = torch.eye(pauli.shape[0], dtype=dtype, device=params.device)
        p = torch.as_tensor(pauli, dtype=dtype, device=params.device)
        c = torch.cos(t).to(dtype)[..., None, None]
        s = torch.sin(t).to(dtype)[..., None, None]
        return c * eye - 1j * s * p

    return build


def pauli_matrix(label: str) -> np.ndarray:
    """The complex128 ``2**n x 2**n`` matrix of a Pauli word such as ``"XZ"``: the ``kron`` of its letters, in order."""
    out = np.ones((1, 1), dtype=np.complex128)
    for letter in label:
        out = np.kron(out, _PAULI[letter])
    return out


def _pauli_rot(params: torch.Tensor, data: GateData) -> torch.Tensor:
    assert isinstance(data, PauliLabel)
    return _rotation_about(pauli_matrix(data.label))(params, data)


@functools.lru_cache(maxsize=256)
def _eigh(data: MatrixData) -> tuple[np.ndarray, np.ndarray]:
    return np.linalg.eigh(data.array)


def _evolution(params: torch.Tensor, data: GateData) -> torch.Tensor:
    """``exp(-i t H)`` through the eigendecomposition ``H = V diag(lam) V^dagger`` (computed once per ``H``)."""
    assert isinstance(data, MatrixData)
    eigenvalues, vectors = _eigh(data)
    dtype = complex_dtype_for(params.dtype)
    lam = torch.as_tensor(eigenvalues, dtype=params.dtype, device=params.device)
    v = torch.as_tensor(vectors, dtype=dtype, device=params.device)
    phases = _expi(-params[..., :1] * lam)  # (..., d)
    return (v * phases[..., None, :]) @ v.conj().T


def _evolution_frequencies(data: GateData) -> tuple[tuple[float, ...], ...]:
    """The distinct eigenvalue gaps of ``H``; gaps closer than 1e-9 merge into their mean (degenerate levels)."""
    assert isinstance(data, MatrixData)
    eigenvalues = np.linalg.eigvalsh(data.array)
    gaps = np.sort(np.abs(eigenvalues[:, None] - eigenvalues[None, :]).ravel())
    gaps = gaps[gaps > 1e-9]
    clusters: list[list[float]] = []
    for gap in gaps:
        if clusters and gap - clusters[-1][-1] <= 1e-9:
            clusters[-1].append(float(gap))
        else:
            clusters.append([float(gap)])
    return (tuple(float(np.mean(c)) for c in clusters),)


def _unitary(params: torch.Tensor, data: GateData) -> torch.Tensor:
    assert isinstance(data, MatrixData)
    return _constant(data.array)(params, data)


def _xx_plus_yy(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    t, beta = p[..., 0] / 2, p[..., 1]
    c, s = torch.cos(t), torch.sin(t)
    return _entries(
        [
            [1, 0, 0, 0],
            [0, c, -1j * _expi(beta) * s, 0],
            [0, -1j * _expi(-beta) * s, c, 0],
            [0, 0, 0, 1],
        ],
        t,
    )


def _xx_minus_yy(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    t, beta = p[..., 0] / 2, p[..., 1]
    c, s = torch.cos(t), torch.sin(t)
    return _entries(
        [
            [c, 0, 0, -1j * _expi(-beta) * s],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [-1j * _expi(beta) * s, 0, 0, c],
        ],
        t,
    )


def _cu(p: torch.Tensor, data: GateData = None) -> torch.Tensor:
    """Controlled ``exp(i gamma) U(theta, phi, lambda)``."""
    target = _u(p[..., :3]) * _expi(p[..., 3])[..., None, None]
    return _controlled(lambda q, d: target, 1)(p, data)


# -- constant matrices --------------------------------------------------------------------

_I = np.eye(2, dtype=np.complex128)
_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
_Y = np.array([[0, -1j], [1j, 0]], dtype=np.complex128)
_Z = np.diag([1, -1]).astype(np.complex128)
_H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / math.sqrt(2)
_S = np.diag([1, 1j])
_T = np.diag([1, np.exp(1j * math.pi / 4)])
_SX = 0.5 * np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]])
_PAULI = {"I": _I, "X": _X, "Y": _Y, "Z": _Z}


def _ctrl(u: np.ndarray, num_controls: int = 1) -> np.ndarray:
    d = u.shape[0]
    dim = d << num_controls
    out = np.eye(dim, dtype=np.complex128)
    out[dim - d :, dim - d :] = u
    return out


def _embed(matrix: np.ndarray, qubits: Sequence[int], width: int) -> np.ndarray:
    """The ``2**width`` matrix of ``matrix`` acting on ``qubits`` (qubit 0 most significant)."""
    k = len(qubits)
    rest = [q for q in range(width) if q not in qubits]
    order = list(qubits) + rest
    full = np.kron(matrix, np.eye(2 ** (width - k)))
    tensor = full.reshape([2] * (2 * width))
    inverse = np.argsort(order)
    axes = list(inverse) + [width + i for i in inverse]
    return tensor.transpose(axes).reshape(2**width, 2**width)


def _sequence(width: int, steps: Sequence[tuple[np.ndarray, Sequence[int]]]) -> np.ndarray:
    out = np.eye(2**width, dtype=np.complex128)
    for matrix, qubits in steps:
        out = _embed(matrix, qubits, width) @ out
    return out


_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)
_ISWAP = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]], dtype=np.complex128)
_CX = _ctrl(_X)
_DCX = _sequence(2, [(_CX, (0, 1)), (_CX, (1, 0))])
_RZX_PI_4 = _rotation_about(np.kron(_Z, _X))(torch.tensor([[math.pi / 4]], dtype=torch.float64), None)[0].numpy()
_ECR = _sequence(2, [(_RZX_PI_4, (0, 1)), (_X, (0,)), (_RZX_PI_4.conj().T, (0, 1))])
_TDG = _T.conj().T
_RCCX = _sequence(
    3,
    [
        (_H, (2,)),
        (_T, (2,)),
        (_CX, (1, 2)),
        (_TDG, (2,)),
        (_CX, (0, 2)),
        (_T, (2,)),
        (_CX, (1, 2)),
        (_TDG, (2,)),
        (_H, (2,)),
    ],
)
_RCCCX = _sequence(
    4,
    [
        (_H, (3,)),
        (_T, (3,)),
        (_CX, (2, 3)),
        (_TDG, (3,)),
        (_H, (3,)),
        (_CX, (0, 3)),
        (_T, (3,)),
        (_CX, (1, 3)),
        (_TDG, (3,)),
        (_CX, (0, 3)),
        (_T, (3,)),
        (_CX, (1, 3)),
        (_TDG, (3,)),
        (_H, (3,)),
        (_T, (3,)),
        (_CX, (2, 3)),
        (_TDG, (3,)),
        (_H, (3,)),
    ],
)


# -- adjoints -------------------------------------------------------------------------------


def _same(name: str) -> Callable[[tuple, GateData], tuple[str, tuple, GateData]]:
    return lambda params, data: (name, params, data)


def _negated(name: str) -> Callable[[tuple, GateData], tuple[str, tuple, GateData]]:
    return lambda params, data: (name, tuple(-p for p in params), data)


def _negate_first(name: str) -> Callable[[tuple, GateData], tuple[str, tuple, GateData]]:
    return lambda params, data: (name, (-params[0], *params[1:]), data)


def _u_adjoint(name: str) -> Callable[[tuple, GateData], tuple[str, tuple, GateData]]:
    # U(theta, phi, lam)^dagger = U(-theta, -lam, -phi)
    def adjoint(params: tuple, data: GateData) -> tuple[str, tuple, GateData]:
        rest = tuple(-p for p in params[3:])
        return name, (-params[0], -params[2], -params[1], *rest), data

    return adjoint


def _u2_adjoint(params: tuple, data: GateData) -> tuple[str, tuple, GateData]:
    return "u", (as_angle(-math.pi / 2), -params[1], -params[0]), data


def _matrix_adjoint(matrix: np.ndarray) -> Callable[[tuple, GateData], tuple[str, tuple, GateData]]:
    return lambda params, data: ("unitary", (), MatrixData(np.asarray(matrix).conj().T))


def _unitary_adjoint(params: tuple, data: GateData) -> tuple[str, tuple, GateData]:
    assert isinstance(data, MatrixData)
    return "unitary", (), MatrixData(data.array.conj().T)


def _fixed(name: str, matrix: np.ndarray, *, inverse: str | None = None, diagonal: bool = False) -> GateSpec:
    matrix = np.asarray(matrix, dtype=np.complex128)
    k = matrix.shape[0].bit_length() - 1
    if inverse is not None:
        adjoint = _same(inverse)
    elif np.allclose(matrix @ matrix, np.eye(matrix.shape[0])):
        adjoint = _same(name)
    else:
        adjoint = _matrix_adjoint(matrix)
    return GateSpec(
        name=name,
        num_qubits=k,
        num_params=0,
        matrix=_constant(matrix),
        adjoint=adjoint,
        diagonal=diagonal,
        real=bool(np.all(matrix.imag == 0)),
    )


_ROT = ((1.0,),)
_CROT = ((0.5, 1.0),)


class _MultiControlledMatrix:
    """Matrix builder for variable-width controlled gates; the width is bound per operation."""

    def __init__(self, base: MatrixFn) -> None:
        self.base = base

    def __call__(self, params: torch.Tensor, data: GateData, width: int = 2) -> torch.Tensor:
        return _controlled(self.base, width - 1)(params, data)


_SPECS: list[GateSpec] = [
    _fixed("id", _I),
    _fixed("x", _X),
    _fixed("y", _Y),
    _fixed("z", _Z, diagonal=True),
    _fixed("h", _H),
    _fixed("s", _S, inverse="sdg", diagonal=True),
    _fixed("sdg", _S.conj().T, inverse="s", diagonal=True),
    _fixed("t", _T, inverse="tdg", diagonal=True),
    _fixed("tdg", _TDG, inverse="t", diagonal=True),
    _fixed("sx", _SX, inverse="sxdg"),
    _fixed("sxdg", _SX.conj().T, inverse="sx"),
    GateSpec("rx", 1, 1, _rx, _ROT, _negated("rx")),
    GateSpec("ry", 1, 1, _ry, _ROT, _negated("ry"), real=True),
    GateSpec("rz", 1, 1, _rz, _ROT, _negated("rz"), diagonal=True),
    GateSpec("p", 1, 1, _phase, _ROT, _negated("p"), diagonal=True),
    GateSpec("u1", 1, 1, _phase, _ROT, _negated("u1"), diagonal=True),
    GateSpec("u", 1, 3, _u, ((1.0,), (1.0,), (1.0,)), _u_adjoint("u")),
    GateSpec("u3", 1, 3, _u, ((1.0,), (1.0,), (1.0,)), _u_adjoint("u3")),
    GateSpec("u2", 1, 2, _u2, ((1.0,), (1.0,)), _u2_adjoint),
    GateSpec("r", 1, 2, _r, ((1.0,), (1.0, 2.0)), _negate_first("r")),
    GateSpec("global_phase", 0, 1, _global_phase, ((),), _negated("global_phase"), diagonal=True, min_qubits=0),
    _fixed("cx", _CX),
    _fixed("cy", _ctrl(_Y)),
    _fixed("cz", _ctrl(_Z), diagonal=True),
    _fixed("ch", _ctrl(_H)),
    _fixed("cs", _ctrl(_S), inverse="csdg", diagonal=True),
    _fixed("csdg", _ctrl(_S.conj().T), inverse="cs", diagonal=True),
    _fixed("csx", _ctrl(_SX)),
    _fixed("swap", _SWAP),
    _fixed("iswap", _ISWAP),
    _fixed("dcx", _DCX),
    _fixed("ecr", _ECR),
    GateSpec("crx", 2, 1, _controlled(_rx, 1), _CROT, _negated("crx")),
    GateSpec("cry", 2, 1, _controlled(_ry, 1), _CROT, _negated("cry"), real=True),
    GateSpec("crz", 2, 1, _controlled(_rz, 1), _CROT, _negated("crz"), diagonal=True),
    GateSpec("cp", 2, 1, _controlled(_phase, 1), _ROT, _negated("cp"), diagonal=True),
    GateSpec("cu1", 2, 1, _controlled(_phase, 1), _ROT, _negated("cu1"), diagonal=True),
    GateSpec("cu3", 2, 3, _controlled(_u, 1), ((0.5, 1.0), (1.0,), (1.0,)), _u_adjoint("cu3")),
    GateSpec("cu", 2, 4, _cu, ((0.5, 1.0), (1.0,), (1.0,), (1.0,)), _u_adjoint("cu")),
    GateSpec("rxx", 2, 1, _rotation_about(np.kron(_X, _X)), _ROT, _negated("rxx")),
    GateSpec("ryy", 2, 1, _rotation_about(np.kron(_Y, _Y)), _ROT, _negated("ryy")),
    GateSpec("rzz", 2, 1, _rotation_about(np.kron(_Z, _Z)), _ROT, _negated("rzz"), diagonal=True),
    GateSpec("rzx", 2, 1, _rotation_about(np.kron(_Z, _X)), _ROT, _negated("rzx")),
    GateSpec("xx_plus_yy", 2, 2, _xx_plus_yy, ((0.5, 1.0), (1.0, 2.0)), _negate_first("xx_plus_yy")),
    GateSpec("xx_minus_yy", 2, 2, _xx_minus_yy, ((0.5, 1.0), (1.0, 2.0)), _negate_first("xx_minus_yy")),
    _fixed("ccx", _ctrl(_X, 2)),
    _fixed("ccz", _ctrl(_Z, 2), diagonal=True),
    _fixed("cswap", _ctrl(_SWAP)),
    _fixed("rccx", _RCCX),
    _fixed("c3sx", _ctrl(_SX, 3)),
    _fixed("rcccx", _RCCCX),
    GateSpec("mcx", None, 0, _MultiControlledMatrix(_constant(_X)), (), _same("mcx"), real=True, min_qubits=2),
    GateSpec(
        "mcphase", None, 1, _MultiControlledMatrix(_phase), _ROT, _negated("mcphase"), diagonal=True, min_qubits=2
    ),
    GateSpec("mcrx", None, 1, _MultiControlledMatrix(_rx), _CROT, _negated("mcrx"), min_qubits=2),
    GateSpec("mcry", None, 1, _MultiControlledMatrix(_ry), _CROT, _negated("mcry"), real=True, min_qubits=2),
    GateSpec("mcrz", None, 1, _MultiControlledMatrix(_rz), _CROT, _negated("mcrz"), diagonal=True, min_qubits=2),
    GateSpec("pauli_rot", None, 1, _pauli_rot, _ROT, _negated("pauli_rot"), needs_data=PauliLabel),
    GateSpec("evolution", None, 1, _evolution, _evolution_frequencies, _negated("evolution"), needs_data=MatrixData),
    GateSpec("unitary", None, 0, _unitary, (), _unitary_adjoint, needs_data=MatrixData),
]

GATES: dict[str, GateSpec] = {spec.name: spec for spec in _SPECS}
"""The registry: gate name to :class:`GateSpec`. The one place a gate is defined."""


def gate_spec(name: str) -> GateSpec:
    """Look up a gate by name.

    Raises:
        UnknownGateError: the name is not registered; the message lists the known names.
    """
    try:
        return GATES[name]
    except KeyError:
        known = ", ".join(sorted(GATES))
        raise UnknownGateError(
            f"Unknown gate {name!r}. Known gates: {known}. "
            "For any other unitary use the 'unitary' gate with its matrix, "
            "or register a GateSpec in circuits.ir.gates."
        ) from None


def gate_matrix(name: str, params: torch.Tensor, data: GateData = None, num_qubits: int | None = None) -> torch.Tensor:
    """The matrix of a gate for a batch of parameter values.

    Args:
        name: registered gate name.
        params: real tensor of shape ``(..., num_params)``.
        data: the gate's constant payload (``unitary``, ``evolution``, ``pauli_rot``).
        num_qubits: width of variable-width gates (``mcx``, ``mcrx``, ...).

    Returns:
        Complex tensor of shape ``(..., 2**k, 2**k)``.
    """
    spec = gate_spec(name)
    if isinstance(spec.matrix, _MultiControlledMatrix):
        return spec.matrix(params, data, num_qubits if num_qubits is not None else 2)
    return spec.matrix(params, data)


def check_unitary(matrix: np.ndarray, *, atol: float = _UNITARY_ATOL) -> None:
    """Raise :class:`NotUnitaryError` unless ``matrix @ matrix^dagger == I`` to ``atol``."""
    error = np.abs(matrix @ matrix.conj().T - np.eye(matrix.shape[0])).max()
    if error > atol:
        raise NotUnitaryError(
            f"The matrix is not unitary: max |U U^dagger - I| = {error:.3g} > {atol:g}. "
            "Pass a unitary matrix (for example from scipy.stats.unitary_group or scipy.linalg.expm(-1j * H))."
        )


def check_hermitian(matrix: np.ndarray, *, atol: float = _UNITARY_ATOL) -> None:
    """Raise :class:`NotHermitianError` unless ``matrix == matrix^dagger`` to ``atol``."""
    error = np.abs(matrix - matrix.conj().T).max()
    if error > atol:
        raise NotHermitianError(
            f"The Hamiltonian is not Hermitian: max |H - H^dagger| = {error:.3g} > {atol:g}. "
            "Symmetrize it, e.g. H = (H + H.conj().T) / 2, or check how it was built."
        )
