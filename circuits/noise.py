"""Noise models: which channels follow which gates, and how measurements misread, the way Qiskit Aer applies them.

A :class:`NoiseModel` belongs to a backend, not to a circuit: the same circuit runs noiseless on one
backend and with a device's noise on another::

    from circuits import Circuit, TorchBackend
    from circuits.noise import Channel, NoiseModel, ReadoutError

    noise = (
        NoiseModel(ideal_gates=["rz"])
        .add_all_qubit_error(Channel.depolarizing(0.001), ["sx", "x"])
        .add_all_qubit_error(Channel.depolarizing(0.01, num_qubits=2), ["cx"])
        .add_error(Channel.thermal_relaxation(50e-6, 70e-6, 300e-9), ["cx"], (0, 1))
        .add_readout_error(ReadoutError([[0.98, 0.02], [0.05, 0.95]]))
    )
    backend = TorchBackend(noise_model=noise, dtype=torch.complex128)

Rules (as Aer's ``NoiseModel``):

* **After-gate channels.** ``add_all_qubit_error(channels, gates)`` puts the channels after every
  application of those gates; ``add_error(channels, gates, qubits)`` after the gates on exactly those
  qubits (in that order), and **replaces** the all-qubit rule there. Adding a rule where one exists
  appends the channels (Aer composes the errors). A channel as wide as the gate acts on the gate's
  qubits in order; a one-qubit channel on a wider gate acts on each of its qubits.
* **Readout errors** act on measured outcomes only (``Probabilities`` and ``Samples``), as in Aer:
  ``ReadoutError(matrix)`` with ``matrix[true][recorded]`` the probability of recording ``recorded``
  when the qubit is in ``true``. ``Expectation`` values stay exact (Aer's exact expectation values
  ignore readout errors too); compute them from ``Probabilities`` to include readout noise.

What a model does with a circuit it does not match (``docs/noise.md``):

* gates or qubits the model names that the circuit does not use are ignored: a device's model
  covers its whole basis and every qubit, a circuit uses a part;
* gates of the circuit the model has no rule for run noiseless, and :meth:`NoiseModel.apply` warns
  (:class:`~circuits.errors.NoiseModelWarning`) naming them, unless they are listed as
  ``ideal_gates`` (Aer's virtual ``rz``, say). A gate with qubit-specific rules only (a device's
  ``cx`` on its coupling map) warns for the qubits it has no rule for. Transpile the circuit to the
  model's gates first, or make the warning an error with
  ``warnings.filterwarnings("error", category=NoiseModelWarning)``.

Channel parameters may be symbolic (``Channel.depolarizing(p[0])``): the strengths are then bound with
the circuit's parameters at run time, so they can be trained or swept.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from circuits.errors import NoiseModelWarning
from circuits.ir.channels import CHANNELS, KrausData
from circuits.ir.circuit import Circuit
from circuits.ir.gates import gate_spec
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, AngleLike, as_angle

__all__ = ["Channel", "NoiseModel", "ReadoutError", "apply_readout_errors"]


@dataclass(frozen=True)
class Channel:
    """A noise channel not yet placed on qubits: what a :class:`NoiseModel` rule inserts.

    Build one with the constructors (``Channel.depolarizing(0.01)``, ``Channel.kraus(matrices)`` ...);
    they take the parameters of the :class:`~circuits.ir.circuit.Circuit` builders of the same name
    (see :mod:`circuits.ir.channels` for the conventions). Validated on construction.

    Attributes:
        name: a key of :data:`circuits.ir.channels.CHANNELS`.
        params: its parameters (constants or symbolic angles).
        data: the Kraus operators of a ``kraus`` channel.
        num_qubits: its width.
    """

    name: str
    params: tuple[Angle, ...] = ()
    data: KrausData | None = None
    num_qubits: int = 1

    def __post_init__(self) -> None:
        if self.name not in CHANNELS:
            raise ValueError(f"Unknown noise channel {self.name!r}; known channels: {', '.join(sorted(CHANNELS))}.")
        object.__setattr__(self, "params", tuple(as_angle(p) for p in self.params))
        self.on(tuple(range(self.num_qubits)))  # validates parameters, width and data

    def on(self, qubits: Sequence[int]) -> Operation:
        """The channel as an operation on ``qubits``."""
        return Operation(self.name, tuple(qubits), self.params, self.data)

    @classmethod
    def depolarizing(cls, p: AngleLike, num_qubits: int = 1) -> Channel:
        """``(1 - p) rho + p I / 2**n`` on 1 or 2 qubits (Qiskit's ``depolarizing_error(p, n)``)."""
        return cls("depolarizing", (p,), None, num_qubits)

    @classmethod
    def amplitude_damping(cls, gamma: AngleLike) -> Channel:
        """Amplitude damping with probability ``gamma``."""
        return cls("amplitude_damping", (gamma,))

    @classmethod
    def phase_damping(cls, gamma: AngleLike) -> Channel:
        """Phase damping with parameter ``gamma``."""
        return cls("phase_damping", (gamma,))

    @classmethod
    def bit_flip(cls, p: AngleLike) -> Channel:
        """``X`` with probability ``p``."""
        return cls("bit_flip", (p,))

    @classmethod
    def phase_flip(cls, p: AngleLike) -> Channel:
        """``Z`` with probability ``p``."""
        return cls("phase_flip", (p,))

    @classmethod
    def pauli_channel(cls, px: AngleLike, py: AngleLike, pz: AngleLike) -> Channel:
        """``X``, ``Y``, ``Z`` with probabilities ``px``, ``py``, ``pz``."""
        return cls("pauli_channel", (px, py, pz))

    @classmethod
    def thermal_relaxation(
        cls, t1: AngleLike, t2: AngleLike, gate_time: AngleLike, excited_state_population: AngleLike = 0.0
    ) -> Channel:
        """Qiskit's ``thermal_relaxation_error(t1, t2, gate_time, excited_state_population)``."""
        return cls("thermal_relaxation", (t1, t2, gate_time, excited_state_population))

    @classmethod
    def kraus(cls, matrices: Sequence[np.ndarray] | np.ndarray) -> Channel:
        """Any channel by its Kraus operators (``2**k x 2**k``, first qubit most significant)."""
        data = KrausData(matrices)
        return cls("kraus", (), data, data.num_qubits)

    def __str__(self) -> str:
        args = ", ".join(str(p) for p in self.params)
        return f"{self.name}({args})" if self.num_qubits == 1 else f"{self.name}({args})[{self.num_qubits}q]"


@dataclass(frozen=True, eq=False)
class ReadoutError:
    """A one-qubit measurement error: ``probabilities[true][recorded]`` (Aer's ``ReadoutError`` convention).

    Args:
        probabilities: 2 x 2, each row a probability distribution: ``[[P(0|0), P(1|0)], [P(0|1), P(1|1)]]``.

    Raises:
        ValueError: not 2 x 2, an entry outside ``[0, 1]``, or a row that does not sum to 1.
    """

    probabilities: np.ndarray

    def __post_init__(self) -> None:
        try:
            matrix = np.array(self.probabilities, dtype=np.float64, copy=True) + 0.0
        except (TypeError, ValueError):
            raise TypeError(
                f"ReadoutError takes a 2 x 2 matrix of probabilities, got {type(self.probabilities).__name__}."
            ) from None
        if matrix.shape != (2, 2):
            raise ValueError(
                f"ReadoutError takes a 2 x 2 matrix [[P(0|0), P(1|0)], [P(0|1), P(1|1)]] (one qubit), got shape "
                f"{matrix.shape}. Give correlated multi-qubit readout errors as one ReadoutError per qubit."
            )
        if not np.all(np.isfinite(matrix)) or matrix.min() < 0 or matrix.max() > 1:
            raise ValueError(f"ReadoutError probabilities must be in [0, 1], got {matrix.tolist()}.")
        sums = matrix.sum(axis=1)
        if np.abs(sums - 1).max() > 1e-9:
            raise ValueError(
                f"Each row of a ReadoutError is the distribution of the recorded bit for one true bit and sums to 1; "
                f"got rows summing to {sums.tolist()} in {matrix.tolist()}."
            )
        matrix.setflags(write=False)
        object.__setattr__(self, "probabilities", matrix)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ReadoutError) and bool(np.array_equal(self.probabilities, other.probabilities))

    def __hash__(self) -> int:
        return hash(self.probabilities.tobytes())

    def __repr__(self) -> str:
        return f"ReadoutError({self.probabilities.tolist()})"


ChannelsLike = Channel | Sequence[Channel]


def _channels(value: object, where: str) -> tuple[Channel, ...]:
    channels = (value,) if isinstance(value, Channel) else tuple(value) if isinstance(value, Iterable) else None
    if not channels or not all(isinstance(c, Channel) for c in channels):
        raise TypeError(
            f"{where} takes a circuits.noise.Channel or a non-empty sequence of them, got {value!r}. Build one with "
            "Channel.depolarizing(p), Channel.thermal_relaxation(t1, t2, time), Channel.kraus(matrices) ..."
        )
    return channels


def _gate_names(gates: object, where: str) -> tuple[str, ...]:
    names = (gates,) if isinstance(gates, str) else tuple(gates) if isinstance(gates, Iterable) else None
    if not names or not all(isinstance(g, str) for g in names):
        raise TypeError(f"{where} takes a gate name or a non-empty sequence of gate names, got {gates!r}.")
    for name in names:
        if name in CHANNELS:
            raise ValueError(f"{where}: {name!r} is a noise channel, not a gate; rules put channels after gates.")
        gate_spec(name)  # UnknownGateError naming the registry
    return names


def _qubit_tuple(qubits: object, where: str) -> tuple[int, ...]:
    if isinstance(qubits, (int, np.integer)) and not isinstance(qubits, bool):
        qubits = (qubits,)
    if not isinstance(qubits, Iterable) or isinstance(qubits, (str, bytes)):
        raise TypeError(f"{where}: qubits are an int or a sequence of ints, got {qubits!r}.")
    out = []
    for q in qubits:
        if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or q < 0:
            raise TypeError(f"{where}: qubits are non-negative ints, got {qubits!r}.")
        out.append(int(q))
    if len(set(out)) != len(out):
        raise ValueError(f"{where}: repeated qubits in {tuple(out)}.")
    return tuple(out)


def _check_width(channel: Channel, gate: str, width: int | None, where: str) -> None:
    if width is None or channel.num_qubits in (1, width):
        return
    raise ValueError(
        f"{where}: the {channel.num_qubits}-qubit channel {channel} cannot follow {gate!r}, which acts on {width} "
        f"qubit(s). Use a {width}-qubit channel (on the gate's qubits) or a one-qubit one (on each of them)."
    )


Rule = tuple[Channel, ...]


class NoiseModel:
    """Gate errors and readout errors for a backend (see the module docstring). Immutable.

    The ``add_*`` methods return a new model, as :class:`~circuits.ir.circuit.Circuit` builders do.

    Args:
        ideal_gates: gates that are noiseless on purpose (no warning when a circuit uses them without a rule).
    """

    __slots__ = ("_all_qubit", "_hash", "_ideal", "_readout", "_readout_all", "_specific")

    def __init__(self, ideal_gates: Iterable[str] = ()) -> None:
        self._ideal: frozenset[str] = frozenset(
            _gate_names(tuple(ideal_gates), "NoiseModel(ideal_gates=...)") if ideal_gates else ()
        )
        self._all_qubit: dict[str, Rule] = {}
        self._specific: dict[tuple[str, tuple[int, ...]], Rule] = {}
        self._readout: dict[int, ReadoutError] = {}
        self._readout_all: ReadoutError | None = None
        self._hash: int | None = None

    def _copy(self) -> NoiseModel:
        other = NoiseModel.__new__(NoiseModel)
        other._hash = None
        other._ideal = self._ideal
        other._all_qubit = dict(self._all_qubit)
        other._specific = dict(self._specific)
        other._readout = dict(self._readout)
        other._readout_all = self._readout_all
        return other

    # -- building -------------------------------------------------------------------------------

    def add_all_qubit_error(self, channels: ChannelsLike, gates: str | Sequence[str]) -> NoiseModel:
        """A new model that puts ``channels`` (in order) after every application of ``gates``.

        Raises:
            TypeError: not channels or not gate names.
            UnknownGateError: a gate name outside the registry.
            ValueError: a channel neither one qubit wide nor as wide as the gate.
        """
        where = "NoiseModel.add_all_qubit_error"
        chans = _channels(channels, where)
        other = self._copy()
        for gate in _gate_names(gates, where):
            for channel in chans:
                _check_width(channel, gate, gate_spec(gate).num_qubits, where)
            other._all_qubit[gate] = other._all_qubit.get(gate, ()) + chans
        return other

    def add_error(self, channels: ChannelsLike, gates: str | Sequence[str], qubits: int | Sequence[int]) -> NoiseModel:
        """A new model that puts ``channels`` after ``gates`` applied on exactly ``qubits`` (in that order).

        This rule replaces the all-qubit rule of those gates on those qubits (Aer's semantics).

        Raises:
            TypeError: not channels, gate names or qubits.
            UnknownGateError: a gate name outside the registry.
            ValueError: a channel neither one qubit wide nor as wide as the gate, or repeated qubits.
        """
        where = "NoiseModel.add_error"
        chans = _channels(channels, where)
        qubit_tuple = _qubit_tuple(qubits, where)
        other = self._copy()
        for gate in _gate_names(gates, where):
            width = gate_spec(gate).num_qubits
            if width is not None and width != len(qubit_tuple):
                raise ValueError(f"{where}: {gate!r} acts on {width} qubit(s), got the qubits {qubit_tuple}.")
            for channel in chans:
                _check_width(channel, gate, len(qubit_tuple), where)
            key = (gate, qubit_tuple)
            other._specific[key] = other._specific.get(key, ()) + chans
        return other

    def add_readout_error(
        self, error: ReadoutError | np.ndarray | Sequence[Sequence[float]], qubits: int | Sequence[int] | None = None
    ) -> NoiseModel:
        """A new model with a readout error on ``qubits`` (every qubit without one of its own when ``None``).

        ``error`` is a :class:`ReadoutError` or its 2 x 2 matrix ``[true][recorded]``.
        """
        error = error if isinstance(error, ReadoutError) else ReadoutError(np.asarray(error))
        other = self._copy()
        if qubits is None:
            other._readout_all = error
        else:
            for q in _qubit_tuple(qubits, "NoiseModel.add_readout_error"):
                other._readout[q] = error
        return other

    # -- reading ----------------------------------------------------------------------------------

    @property
    def ideal_gates(self) -> frozenset[str]:
        """Gates declared noiseless."""
        return self._ideal

    @property
    def all_qubit_errors(self) -> Mapping[str, tuple[Channel, ...]]:
        """Gate name to the channels after it on any qubits."""
        return dict(self._all_qubit)

    @property
    def qubit_errors(self) -> Mapping[tuple[str, tuple[int, ...]], tuple[Channel, ...]]:
        """``(gate name, qubits)`` to the channels after that gate on those qubits."""
        return dict(self._specific)

    @property
    def noisy_gates(self) -> frozenset[str]:
        """Every gate name with a rule."""
        return frozenset(self._all_qubit) | {gate for gate, _ in self._specific}

    @property
    def has_readout_errors(self) -> bool:
        """True when a measured outcome can be misread."""
        return bool(self._readout) or self._readout_all is not None

    def readout_error(self, qubit: int) -> ReadoutError | None:
        """The readout error of ``qubit`` (its own, else the all-qubit one), or ``None``."""
        return self._readout.get(qubit, self._readout_all)

    @property
    def readout_errors(self) -> Mapping[int, ReadoutError]:
        """Qubit to its own readout error (without the all-qubit one)."""
        return dict(self._readout)

    @property
    def all_qubit_readout_error(self) -> ReadoutError | None:
        """The readout error of every qubit without one of its own."""
        return self._readout_all

    @property
    def is_empty(self) -> bool:
        """True when the model adds no noise."""
        return not self._all_qubit and not self._specific and not self.has_readout_errors

    def channels_after(self, op: Operation) -> tuple[Operation, ...]:
        """The channel operations the model puts after ``op`` (none after a channel or a global phase)."""
        if op.is_channel or not op.qubits:
            return ()
        rule = self._specific.get((op.name, op.qubits))
        if rule is None:
            rule = self._all_qubit.get(op.name, ())
        placed: list[Operation] = []
        for channel in rule:
            if channel.num_qubits == op.num_qubits:
                placed.append(channel.on(op.qubits))
            elif channel.num_qubits == 1:
                placed.extend(channel.on((q,)) for q in op.qubits)
            else:
                raise ValueError(
                    f"The {channel.num_qubits}-qubit channel {channel} of the rule for {op.name!r} cannot follow "
                    f"{op}, which acts on {op.num_qubits} qubit(s)."
                )
        return tuple(placed)

    def apply(self, circuit: Circuit, *, warn: bool = True) -> Circuit:
        """The circuit with the model's channels inserted after its gates (readout errors are not operations).

        Args:
            circuit: the noiseless (or already partly noisy) circuit.
            warn: warn about gates of the circuit that the model leaves noiseless (see the module docstring).

        Warns:
            NoiseModelWarning: gates of the circuit without a rule that are not ``ideal_gates``.
        """
        if not isinstance(circuit, Circuit):
            raise TypeError(f"NoiseModel.apply takes a circuits.Circuit, got {type(circuit).__name__}.")
        operations: list[Operation] = []
        missing_gates: set[str] = set()
        missing_qubits: dict[str, set[tuple[int, ...]]] = {}
        for op in circuit:
            operations.append(op)
            placed = self.channels_after(op)
            operations.extend(placed)
            if placed or op.is_channel or not op.qubits or op.name in self._ideal:
                continue
            if any(gate == op.name for gate, _ in self._specific):
                missing_qubits.setdefault(op.name, set()).add(op.qubits)
            else:
                missing_gates.add(op.name)
        if warn and (self._all_qubit or self._specific) and (missing_gates or missing_qubits):
            warnings.warn(self._coverage_message(missing_gates, missing_qubits), NoiseModelWarning, stacklevel=2)
        return Circuit(circuit.num_qubits, operations)

    def _coverage_message(self, gates: set[str], qubits: dict[str, set[tuple[int, ...]]]) -> str:
        parts = []
        if gates:
            parts.append(f"gates {sorted(gates)} have no rule in the noise model")
        for name, where in sorted(qubits.items()):
            ruled = sorted(q for g, q in self._specific if g == name)
            shown = sorted(where)[:6]
            more = f" (and {len(where) - 6} more)" if len(where) > 6 else ""
            parts.append(f"{name!r} on qubits {shown}{more} has no rule (the model has {name!r} rules on {ruled[:6]})")
        return (
            f"{'; '.join(parts)}: they run without noise. The model has rules for {sorted(self.noisy_gates)}. "
            "Transpile the circuit to the model's gates (and the device's coupling map), add rules for them, or "
            "list intentionally noiseless gates in NoiseModel(ideal_gates=...)."
        )

    def readout_matrices(self, qubits: Sequence[int]) -> list[np.ndarray | None]:
        """The readout matrices ``[true][recorded]`` of ``qubits`` in order (``None`` where a qubit has none)."""
        return [None if (e := self.readout_error(q)) is None else e.probabilities for q in qubits]

    # -- identity -----------------------------------------------------------------------------------

    def _key(self) -> tuple:
        return (
            self._ideal,
            tuple(sorted(self._all_qubit.items())),
            tuple(sorted(self._specific.items())),
            tuple(sorted(self._readout.items())),
            self._readout_all,
        )

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NoiseModel) and self._key() == other._key()

    def __hash__(self) -> int:  # backends key their caches on the model: computed once
        if self._hash is None:
            self._hash = hash(self._key())
        return self._hash

    def __repr__(self) -> str:
        parts = []
        if self._all_qubit:
            parts.append(f"all-qubit errors on {sorted(self._all_qubit)}")
        if self._specific:
            parts.append(f"{len(self._specific)} qubit-specific error(s) on {sorted({g for g, _ in self._specific})}")
        if self.has_readout_errors:
            count = "all qubits" if self._readout_all is not None else f"qubits {sorted(self._readout)}"
            parts.append(f"readout errors on {count}")
        if self._ideal:
            parts.append(f"ideal gates {sorted(self._ideal)}")
        return f"NoiseModel({'; '.join(parts) or 'no noise'})"


def apply_readout_errors(probs: torch.Tensor, matrices: Sequence[np.ndarray | None]) -> torch.Tensor:
    """Probabilities of the recorded outcomes, given those of the true ones and each qubit's readout matrix.

    ``recorded[b, j_1..j_m] = sum_i probs[b, i_1..i_m] * prod_k A_k[i_k, j_k]``: one small contraction per
    qubit with an error (qubit ``k`` of the outcome is the ``k``-th most significant bit).

    Shape:
        probs: ``(batch_size, 2**m)``; ``matrices``: ``m`` entries, 2 x 2 or ``None``. Returns ``(batch_size, 2**m)``.
    """
    m = len(matrices)
    if all(a is None for a in matrices):
        return probs
    batch = probs.shape[0]
    tensor = probs.reshape(batch, *([2] * m))
    for k, matrix in enumerate(matrices):
        if matrix is None:
            continue
        a = torch.tensor(matrix, dtype=probs.dtype, device=probs.device)
        tensor = torch.tensordot(tensor, a, dims=([k + 1], [0])).movedim(-1, k + 1)
    return tensor.reshape(batch, 2**m)
