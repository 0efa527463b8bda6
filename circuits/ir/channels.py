"""The noise-channel registry: every channel the project knows, defined once.

A noise channel is an operation of a circuit, like a gate, so its place among the gates is
kept. A :class:`ChannelSpec` gives its name, qubit and parameter counts, its Kraus operators
as a function of torch tensors with any leading batch shape, its superoperator, and the check
of its parameter values. Channels are simulated by the density-matrix engine
(``TorchBackend(method="density_matrix")``) and exported to Qiskit Aer; the state-vector
engine, inverses, OpenQASM and the parameter-shift rule refuse them (see ``docs/noise.md``).

Conventions:

* Matrices are big-endian like gates: the first qubit of the operation is the most
  significant bit of a Kraus operator's index.
* A channel maps ``rho -> sum_k K_k rho K_k^dagger`` with ``sum_k K_k^dagger K_k = I``.
* The superoperator acts on ``rho`` flattened row-major over the channel's qubits,
  ``vec(rho)[r * d + c] = rho[r, c]``, so ``S = sum_k kron(K_k, conj(K_k))``: the first ``k``
  qubits of ``S`` are the row qubits, the last ``k`` the column qubits.
* Parameters are :class:`~circuits.ir.parameters.Angle` expressions, so a noise strength can
  be symbolic (bound at run time, trained, swept). Constant values are checked when the
  operation is built; symbolic ones when they are bound (:meth:`Circuit.bind`) or run.

Parameter conventions (those of Qiskit Aer's ``qiskit_aer.noise`` functions):

======================  ====================  =============================================================
name                    parameters            channel
======================  ====================  =============================================================
``depolarizing``        ``p`` (1 or 2 qubits)  ``(1 - p) rho + p I / 2**n``: Qiskit's ``depolarizing_error(p, n)``;
                                              ``0 <= p <= 4**n / (4**n - 1)``. PennyLane's
                                              ``DepolarizingChannel(p_pl)`` is ``p_pl = 3/4 * p`` (1 qubit).
``amplitude_damping``   ``gamma``             ``K0 = [[1, 0], [0, sqrt(1 - gamma)]]``,
                                              ``K1 = [[0, sqrt(gamma)], [0, 0]]``
``phase_damping``       ``gamma``             ``K0 = [[1, 0], [0, sqrt(1 - gamma)]]``,
                                              ``K1 = [[0, 0], [0, sqrt(gamma)]]``
``bit_flip``            ``p``                 ``X`` with probability ``p``
``phase_flip``          ``p``                 ``Z`` with probability ``p``
``pauli_channel``       ``px, py, pz``        ``X``, ``Y``, ``Z`` with those probabilities (sum ``<= 1``)
``thermal_relaxation``  ``t1, t2, time, p1``  Qiskit's ``thermal_relaxation_error(t1, t2, time, p1)``:
                                              relaxation towards the thermal state with excited-state
                                              population ``p1`` (0 by default), ``T2 <= 2 T1``
``kraus``               (data: matrices)      any trace-preserving channel given by its Kraus operators
======================  ====================  =============================================================

Adding a channel: append one ``ChannelSpec`` to ``_SPECS`` below.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from circuits.errors import InvalidChannelError
from circuits.ir.gates import complex_dtype_for, pauli_matrix

__all__ = [
    "CHANNELS",
    "ChannelSpec",
    "KrausData",
    "channel_kraus",
    "channel_spec",
    "channel_superoperator",
    "check_trace_preserving",
    "superoperator_from_kraus",
]

TRACE_PRESERVING_ATOL = 1e-8
"""Largest entry of ``|sum_k K_k^dagger K_k - I|`` accepted for Kraus operators."""


def check_trace_preserving(matrices: np.ndarray, *, atol: float = TRACE_PRESERVING_ATOL) -> None:
    """Raise :class:`InvalidChannelError` unless ``sum_k K_k^dagger K_k == I`` to ``atol``.

    Shape:
        matrices: ``(K, d, d)``.
    """
    total = np.einsum("kji,kjl->il", matrices.conj(), matrices)
    deviation = float(np.abs(total - np.eye(matrices.shape[-1])).max())
    if deviation > atol:
        raise InvalidChannelError(
            f"The Kraus operators are not trace preserving: max |sum_k K_k^dagger K_k - I| = {deviation:.3g} > "
            f"{atol:g}. A channel needs sum_k K_k^dagger K_k = I; normalise them (or add the missing operator "
            "sqrt(I - sum_k K_k^dagger K_k)), and check that they are given as matrices of the channel's qubits."
        )


@dataclass(frozen=True, eq=False)
class KrausData:
    """The constant Kraus operators of a ``kraus`` channel, checked for trace preservation.

    Immutable: the matrices are copied to a read-only complex128 array of shape ``(K, d, d)``
    (``d = 2**k``, first qubit most significant). Equality and hashing use the exact bytes.

    Raises:
        ValueError: not a non-empty sequence of equal ``2**k x 2**k`` matrices, or NaN entries.
        InvalidChannelError: ``sum_k K_k^dagger K_k != I`` (the message gives the deviation).
    """

    matrices: np.ndarray

    def __post_init__(self) -> None:
        try:
            array = np.array(self.matrices, dtype=np.complex128, copy=True) + 0.0
        except (TypeError, ValueError) as error:
            raise ValueError(
                f"Kraus operators must be a sequence of equal square matrices (2**k x 2**k), got {error}."
            ) from None
        if array.ndim == 2:
            array = array[None]
        if array.ndim != 3 or array.shape[0] == 0 or array.shape[1] != array.shape[2]:
            raise ValueError(
                f"Kraus operators must be a non-empty sequence of square matrices, shape (K, d, d); got shape "
                f"{array.shape}."
            )
        dim = array.shape[1]
        if dim < 2 or dim & (dim - 1):
            raise ValueError(f"Kraus operators must be 2**k x 2**k with k >= 1, got {dim} x {dim}.")
        if not np.all(np.isfinite(array)):
            raise ValueError("The Kraus operators contain NaN or infinite entries.")
        check_trace_preserving(array)
        array.setflags(write=False)
        object.__setattr__(self, "matrices", array)

    @property
    def num_qubits(self) -> int:
        """Number of qubits the channel acts on."""
        return int(self.matrices.shape[1]).bit_length() - 1

    @property
    def label(self) -> str:
        """Short text for diagrams."""
        return f"{self.matrices.shape[0]} Kraus"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, KrausData)
            and self.matrices.shape == other.matrices.shape
            and bool(np.array_equal(self.matrices, other.matrices))
        )

    def __hash__(self) -> int:
        return hash((self.matrices.shape, self.matrices.tobytes()))

    def __repr__(self) -> str:
        return f"KrausData({self.matrices.tolist()!r})"


ChannelFn = Callable[[torch.Tensor, "KrausData | None", int], torch.Tensor]
"""``f(params, data, num_qubits)``: params ``(..., num_params)``, the operation's data and width."""
Validator = Callable[[str, torch.Tensor, int], None]
"""``f(name, values, num_qubits)`` with ``values`` float64 of shape ``(rows, num_params)``."""


@dataclass(frozen=True)
class ChannelSpec:
    """Everything the project knows about one noise channel.

    Attributes:
        name: registry key (distinct from every gate name).
        num_qubits: qubit count, or ``None`` when the width is set per operation (``widths`` lists
            the allowed ones; ``kraus`` takes it from its data).
        num_params: number of real parameters.
        param_names: their names, for messages and docs.
        kraus: ``f(params, data, num_qubits) -> Tensor``: ``params`` real of shape ``(..., num_params)``,
            the result complex of shape ``(..., K, d, d)``.
        superoperator: ``f(params, data, num_qubits) -> Tensor`` of shape ``(..., d**2, d**2)`` (see the
            module doc), written without square roots of the parameters where that is possible, so its
            gradient is finite at zero noise; ``None`` builds it from ``kraus``.
        validate: ``f(name, values, num_qubits)`` raises :class:`InvalidChannelError` unless every row of
            the real ``(rows, num_params)`` tensor is a valid parameter set.
        widths: allowed widths of a variable-width channel (``None``: any, from the data).
        needs_data: the channel carries :class:`KrausData`.
    """

    name: str
    num_qubits: int | None
    num_params: int
    param_names: tuple[str, ...]
    kraus: ChannelFn = field(repr=False)
    superoperator: ChannelFn | None = field(default=None, repr=False)
    validate: Validator | None = field(default=None, repr=False)
    widths: tuple[int, ...] | None = None
    needs_data: type | None = None

    def check_values(self, values: torch.Tensor, num_qubits: int) -> None:
        """Raise :class:`InvalidChannelError` unless every row of ``values`` (``(..., num_params)``) is valid.

        Args:
            values: parameter values, real; symbolic parameters are checked this way once bound.
            num_qubits: the operation's width (the depolarising bound depends on it).
        """
        if self.validate is not None and self.num_params:
            self.validate(self.name, values.detach().to(torch.float64).reshape(-1, self.num_params), num_qubits)


def superoperator_from_kraus(kraus: torch.Tensor) -> torch.Tensor:
    """``sum_k kron(K_k, conj(K_k))``.

    Shape:
        kraus: ``(..., K, d, d)``. Returns ``(..., d**2, d**2)``.
    """
    d = kraus.shape[-1]
    product = kraus[..., :, None, :, None] * kraus.conj()[..., None, :, None, :]
    return product.sum(-5).reshape(*kraus.shape[:-3], d * d, d * d)


# -- validation ------------------------------------------------------------------------------


def _first_bad(mask: torch.Tensor, values: torch.Tensor) -> tuple[float, ...] | None:
    if not bool(mask.any()):
        return None
    return tuple(float(v) for v in values[mask.nonzero()[0, 0]])


def _probabilities() -> Validator:
    """Each parameter in ``[0, upper]``, and (for several) their sum at most 1."""

    def check(name: str, values: torch.Tensor, num_qubits: int) -> None:
        spec = CHANNELS[name]
        for j, param in enumerate(spec.param_names):
            column = values[:, j]
            bound = 1.0
            bad = _first_bad(~((column >= 0) & (column <= bound)), values)
            if bad is not None:
                raise InvalidChannelError(
                    f"Channel {name!r}: {param} must be a probability in [0, {bound:g}], got {bad[j]!r}. "
                    f"Pass a value in that range (a symbolic one is checked when it is bound)."
                )
        if len(spec.param_names) > 1:
            bad = _first_bad(values.sum(-1) > 1.0 + 1e-12, values)
            if bad is not None:
                raise InvalidChannelError(
                    f"Channel {name!r}: the probabilities {', '.join(spec.param_names)} = {bad} sum to "
                    f"{sum(bad):.6g} > 1. Their sum is the probability that an error happens; keep it at most 1."
                )

    return check


def _depolarizing_check(name: str, values: torch.Tensor, num_qubits: int) -> None:
    bound = 4.0**num_qubits / (4.0**num_qubits - 1)
    column = values[:, 0]
    bad = _first_bad(~((column >= 0) & (column <= bound + 1e-12)), values)
    if bad is not None:
        raise InvalidChannelError(
            f"Channel 'depolarizing' on {num_qubits} qubit(s): p must be in [0, {bound:.6g}] (4**n / (4**n - 1), "
            f"Qiskit's depolarizing_error convention: rho -> (1 - p) rho + p I / 2**n), got {bad[0]!r}. "
            "PennyLane's DepolarizingChannel(p_pl) is p = 4/3 * p_pl."
        )


def _thermal_check(name: str, values: torch.Tensor, num_qubits: int) -> None:
    t1, t2, time, p1 = values.unbind(-1)
    checks = [
        (~(t1 > 0), "T1 must be > 0", "a relaxation time; pass it in the same unit as T2 and the gate time"),
        (~(t2 > 0), "T2 must be > 0", "a dephasing time; pass it in the same unit as T1 and the gate time"),
        (
            t2 > 2 * t1 * (1 + 1e-12),
            "T2 must be <= 2 * T1",
            "no qubit dephases slower than twice its relaxation time (Qiskit's thermal_relaxation_error "
            "refuses it too); check the values and their units",
        ),
        (~(time >= 0), "the gate time must be >= 0", "the duration of the gate the relaxation follows"),
        (
            ~((p1 >= 0) & (p1 <= 1)),
            "the excited-state population must be in [0, 1]",
            "0 for relaxation to |0> (the default)",
        ),
    ]
    for mask, what, why in checks:
        bad = _first_bad(mask, values)
        if bad is not None:
            shown = dict(zip(("t1", "t2", "gate_time", "excited_state_population"), bad, strict=True))
            raise InvalidChannelError(f"Channel 'thermal_relaxation': {what}, got {shown}: {why}.")


# -- Kraus operators and superoperators ---------------------------------------------------------


def _complex(params: torch.Tensor) -> torch.dtype:
    return complex_dtype_for(params.dtype)


def _sqrt(x: torch.Tensor) -> torch.Tensor:
    """``sqrt(max(x, 0))`` whose gradient is 0, not NaN, where ``x <= 0`` (a Kraus operator that vanishes).

    The gradient of a vanishing branch ``sqrt(p) P`` at ``p = 0`` is taken as 0: the density-matrix engine uses
    the superoperators, which are linear in ``p`` there, and trajectories never draw that branch.
    """
    positive = x > 0
    return torch.where(positive, torch.where(positive, x, torch.ones_like(x)).sqrt(), torch.zeros_like(x))


def _constant(matrices: np.ndarray, params: torch.Tensor) -> torch.Tensor:
    tensor = torch.tensor(matrices, dtype=_complex(params), device=params.device)
    return tensor.expand(*params.shape[:-1], *tensor.shape)


@dataclass(frozen=True)
class _PauliMixture:
    """A mixture of Pauli words ``sum_k w_k P_k rho P_k`` with weights given by ``weights(params)``."""

    labels: tuple[str, ...]
    weights: Callable[[torch.Tensor], torch.Tensor]

    def kraus(self, params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1) -> torch.Tensor:
        paulis = np.stack([pauli_matrix(label) for label in self.labels])
        roots = _sqrt(self.weights(params)).to(_complex(params))
        return roots[..., None, None] * _constant(paulis, params)

    def superoperator(self, params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1) -> torch.Tensor:
        paulis = np.stack([pauli_matrix(label) for label in self.labels])
        lifted = np.stack([np.kron(p, p.conj()) for p in paulis])
        lifted_tensor = torch.tensor(lifted, dtype=_complex(params), device=params.device)
        return torch.einsum("...k,kij->...ij", self.weights(params).to(_complex(params)), lifted_tensor)


def _pauli_words(num_qubits: int) -> tuple[str, ...]:
    words = [""]
    for _ in range(num_qubits):
        words = [w + letter for w in words for letter in "IXYZ"]
    return tuple(words)


def _depolarizing_weights(num_qubits: int) -> Callable[[torch.Tensor], torch.Tensor]:
    count = 4**num_qubits

    def weights(params: torch.Tensor) -> torch.Tensor:
        p = params[..., :1]
        rest = (p / count).expand(*p.shape[:-1], count - 1)
        return torch.cat([1 - p * (count - 1) / count, rest], dim=-1)

    return weights


_DEPOLARIZING = {n: _PauliMixture(_pauli_words(n), _depolarizing_weights(n)) for n in (1, 2)}


def _depolarizing(kind: str) -> ChannelFn:
    def build(params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1) -> torch.Tensor:
        return getattr(_DEPOLARIZING[num_qubits], kind)(params, data, num_qubits)

    return build


def _flip(letter: str) -> _PauliMixture:
    return _PauliMixture(("I", letter), lambda p: torch.cat([1 - p[..., :1], p[..., :1]], dim=-1))


_BIT_FLIP = _flip("X")
_PHASE_FLIP = _flip("Z")
_PAULI_CHANNEL = _PauliMixture(("I", "X", "Y", "Z"), lambda p: torch.cat([1 - p.sum(-1, keepdim=True), p], dim=-1))


def _stack(rows: Sequence[Sequence[torch.Tensor | float]], like: torch.Tensor) -> torch.Tensor:
    """A batched matrix ``(..., r, c)`` from entries that are tensors of shape ``like.shape`` or numbers."""
    dtype = _complex(like)
    flat = [
        (
            e.to(dtype) if isinstance(e, torch.Tensor) else torch.full((), complex(e), dtype=dtype, device=like.device)
        ).expand(like.shape)
        for row in rows
        for e in row
    ]
    return torch.stack(flat, dim=-1).reshape(*like.shape, len(rows), len(rows[0]))


def _damping_kraus(amplitude: bool) -> ChannelFn:
    def build(params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1) -> torch.Tensor:
        return _damping(params, amplitude)

    return build


def _damping(params: torch.Tensor, amplitude: bool) -> torch.Tensor:
    gamma = params[..., 0]
    keep = _sqrt(1 - gamma)
    jump = _sqrt(gamma)
    k0 = _stack([[1.0, 0.0], [0.0, keep]], gamma)
    k1 = _stack([[0.0, jump], [0.0, 0.0]] if amplitude else [[0.0, 0.0], [0.0, jump]], gamma)
    return torch.stack([k0, k1], dim=-3)


def _amplitude_damping_superoperator(
    params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1
) -> torch.Tensor:
    gamma = params[..., 0]
    keep = _sqrt(1 - gamma)
    return _stack([[1, 0, 0, gamma], [0, keep, 0, 0], [0, 0, keep, 0], [0, 0, 0, 1 - gamma]], gamma)


def _phase_damping_superoperator(
    params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1
) -> torch.Tensor:
    gamma = params[..., 0]
    keep = _sqrt(1 - gamma)
    return _stack([[1, 0, 0, 0], [0, keep, 0, 0], [0, 0, keep, 0], [0, 0, 0, 1]], gamma)


def _thermal_rates(params: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """``(p_reset, exp(-time / T2), p0, p1)`` of Qiskit's thermal relaxation."""
    t1, t2, time, p1 = params.unbind(-1)
    return 1 - torch.exp(-time / t1), torch.exp(-time / t2), 1 - p1, p1


def _thermal_superoperator(params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1) -> torch.Tensor:
    """Populations relax towards ``diag(p0, p1)`` with probability ``p_reset``; coherences decay by ``exp(-t / T2)``."""
    reset, coherence, p0, p1 = _thermal_rates(params)
    return _stack(
        [
            [1 - p1 * reset, 0, 0, p0 * reset],
            [0, coherence, 0, 0],
            [0, 0, coherence, 0],
            [p1 * reset, 0, 0, 1 - p0 * reset],
        ],
        reset,
    )


def _thermal_kraus(params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1) -> torch.Tensor:
    """Four Kraus operators: the two jumps and two diagonal ones that carry the coherence decay."""
    reset, coherence, p0, p1 = _thermal_rates(params)
    stay0 = (1 - p1 * reset).clamp_min(1e-300).sqrt()
    rest = _sqrt(1 - p0 * reset - (coherence / stay0) ** 2)
    zero = torch.zeros_like(reset)
    down = _stack([[0, _sqrt(p0 * reset)], [0, 0]], reset)
    up = _stack([[0, 0], [_sqrt(p1 * reset), 0]], reset)
    diagonal = _stack([[stay0, 0], [0, coherence / stay0]], reset)
    dephase = _stack([[zero, 0], [0, rest]], reset)
    return torch.stack([diagonal, dephase, down, up], dim=-3)


def _kraus_data(params: torch.Tensor, data: KrausData | None, num_qubits: int = 1) -> torch.Tensor:
    assert isinstance(data, KrausData)
    return _constant(data.matrices, params)


def _kraus_data_superoperator(params: torch.Tensor, data: KrausData | None, num_qubits: int = 1) -> torch.Tensor:
    assert isinstance(data, KrausData)
    lifted = np.einsum("kij,kab->iajb", data.matrices, data.matrices.conj())
    d = data.matrices.shape[-1]
    return _constant(lifted.reshape(d * d, d * d), params)


_SPECS: list[ChannelSpec] = [
    ChannelSpec(
        "depolarizing",
        None,
        1,
        ("p",),
        _depolarizing("kraus"),
        _depolarizing("superoperator"),
        _depolarizing_check,
        widths=(1, 2),
    ),
    ChannelSpec(
        "amplitude_damping",
        1,
        1,
        ("gamma",),
        _damping_kraus(amplitude=True),
        _amplitude_damping_superoperator,
        _probabilities(),
    ),
    ChannelSpec(
        "phase_damping",
        1,
        1,
        ("gamma",),
        _damping_kraus(amplitude=False),
        _phase_damping_superoperator,
        _probabilities(),
    ),
    ChannelSpec("bit_flip", 1, 1, ("p",), _BIT_FLIP.kraus, _BIT_FLIP.superoperator, _probabilities()),
    ChannelSpec("phase_flip", 1, 1, ("p",), _PHASE_FLIP.kraus, _PHASE_FLIP.superoperator, _probabilities()),
    ChannelSpec(
        "pauli_channel", 1, 3, ("px", "py", "pz"), _PAULI_CHANNEL.kraus, _PAULI_CHANNEL.superoperator, _probabilities()
    ),
    ChannelSpec(
        "thermal_relaxation",
        1,
        4,
        ("t1", "t2", "gate_time", "excited_state_population"),
        _thermal_kraus,
        _thermal_superoperator,
        _thermal_check,
    ),
    ChannelSpec("kraus", None, 0, (), _kraus_data, _kraus_data_superoperator, needs_data=KrausData),
]

CHANNELS: dict[str, ChannelSpec] = {spec.name: spec for spec in _SPECS}
"""The registry: channel name to :class:`ChannelSpec`. The one place a channel is defined."""


def channel_spec(name: str) -> ChannelSpec:
    """Look up a channel by name.

    Raises:
        KeyError: the name is not a registered channel.
    """
    return CHANNELS[name]


def channel_kraus(name: str, params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1) -> torch.Tensor:
    """The Kraus operators of a channel for a batch of parameter values.

    Args:
        name: registered channel name.
        params: real tensor of shape ``(..., num_params)``.
        data: the ``kraus`` channel's :class:`KrausData`.
        num_qubits: the operation's width (``depolarizing`` takes 1 or 2).

    Returns:
        Complex tensor of shape ``(..., K, 2**k, 2**k)``, complex128 for float64 ``params``.
    """
    return CHANNELS[name].kraus(params, data, num_qubits)


def channel_superoperator(
    name: str, params: torch.Tensor, data: KrausData | None = None, num_qubits: int = 1
) -> torch.Tensor:
    """The superoperator ``sum_k kron(K_k, conj(K_k))`` of a channel (see the module docstring).

    Returns:
        Complex tensor of shape ``(..., 4**k, 4**k)``.
    """
    spec = CHANNELS[name]
    if spec.superoperator is None:
        return superoperator_from_kraus(spec.kraus(params, data, num_qubits))
    return spec.superoperator(params, data, num_qubits)
