"""One gate (or noise channel) application: a name, the qubits it acts on, its angles and its constant data."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from circuits.errors import GateArityError, QubitIndexError, UnknownGateError, UnsupportedChannelError
from circuits.ir.channels import CHANNELS, ChannelSpec, KrausData
from circuits.ir.gates import GATES, GateData, MatrixData, PauliLabel, check_hermitian, check_unitary, gate_spec
from circuits.ir.parameters import Angle, AngleLike, Symbol, as_angle

__all__ = ["OperationData", "Operation"]

OperationData = GateData | KrausData
"""The constant payload of an operation: a gate's :data:`~circuits.ir.gates.GateData` or a channel's Kraus operators."""


def _lookup(name: str) -> None:
    if name in GATES or name in CHANNELS:
        return
    try:
        gate_spec(name)
    except UnknownGateError as error:
        raise UnknownGateError(
            f"{error} Noise channels: {', '.join(sorted(CHANNELS))} (circuits.ir.channels)."
        ) from None


@dataclass(frozen=True)
class Operation:
    """An immutable gate or noise-channel application, validated on construction.

    Attributes:
        name: a key of :data:`circuits.ir.gates.GATES` or of :data:`circuits.ir.channels.CHANNELS`.
        qubits: the qubits it acts on, in the gate's order (controls first).
        params: one :class:`~circuits.ir.parameters.Angle` per gate (or channel) parameter.
        data: the constant payload of ``unitary`` / ``evolution`` (:class:`MatrixData`),
            ``pauli_rot`` (:class:`PauliLabel`) or the ``kraus`` channel (:class:`KrausData`);
            ``None`` for every other operation.

    Raises:
        InvalidChannelError: a channel with constant parameters out of range (a probability outside
            ``[0, 1]``, ``T2 > 2 T1``, ...), or Kraus operators that are not trace preserving.
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[Angle, ...] = ()
    data: OperationData = None

    def __post_init__(self) -> None:
        _lookup(self.name)
        if self.name in CHANNELS:
            self._check_qubits()
            self._check_channel(CHANNELS[self.name])
            return
        spec = gate_spec(self.name)
        qubits = self._check_qubits()
        params = tuple(as_angle(p) for p in self.params)
        object.__setattr__(self, "params", params)
        if len(params) != spec.num_params:
            raise GateArityError(
                f"Gate {self.name!r} takes {spec.num_params} parameter(s), got {len(params)}: "
                f"{tuple(str(p) for p in params)}."
            )
        if spec.needs_data is not None:
            if not isinstance(self.data, spec.needs_data):
                raise TypeError(
                    f"Gate {self.name!r} needs data of type {spec.needs_data.__name__}, got {type(self.data).__name__}."
                )
            width = self.data.num_qubits
            if len(qubits) != width:
                raise GateArityError(
                    f"Gate {self.name!r} with a {width}-qubit {type(self.data).__name__} acts on {width} qubit(s), "
                    f"got {len(qubits)}: {qubits}."
                )
            if self.name == "unitary":
                check_unitary(self.data.array)
            elif self.name == "evolution":
                check_hermitian(self.data.array)
        elif self.data is not None:
            raise TypeError(f"Gate {self.name!r} takes no data, got {type(self.data).__name__}.")
        elif spec.num_qubits is not None and len(qubits) != spec.num_qubits:
            raise GateArityError(f"Gate {self.name!r} acts on {spec.num_qubits} qubit(s), got {len(qubits)}: {qubits}.")
        elif spec.num_qubits is None and len(qubits) < spec.min_qubits:
            raise GateArityError(
                f"Gate {self.name!r} acts on at least {spec.min_qubits} qubits (controls then target), "
                f"got {len(qubits)}: {qubits}."
            )

    def _check_qubits(self) -> tuple[int, ...]:
        qubits = tuple(self.qubits) if isinstance(self.qubits, Iterable) else (self.qubits,)
        for q in qubits:
            if isinstance(q, bool) or not isinstance(q, (int, np.integer)):
                raise TypeError(f"Gate {self.name!r}: qubit indices must be ints, got {q!r} ({type(q).__name__}).")
        qubits = tuple(int(q) for q in qubits)
        object.__setattr__(self, "qubits", qubits)
        if any(q < 0 for q in qubits):
            raise QubitIndexError(f"Gate {self.name!r}: qubit indices must be >= 0, got {qubits}.")
        if len(set(qubits)) != len(qubits):
            raise QubitIndexError(f"Gate {self.name!r} acts on repeated qubits {qubits}; each qubit may appear once.")
        return qubits

    def _check_channel(self, spec: ChannelSpec) -> None:
        params = tuple(as_angle(p) for p in self.params)
        object.__setattr__(self, "params", params)
        width = len(self.qubits)
        if len(params) != spec.num_params:
            names = ", ".join(spec.param_names) or "none"
            raise GateArityError(
                f"Channel {self.name!r} takes {spec.num_params} parameter(s) ({names}), got {len(params)}: "
                f"{tuple(str(p) for p in params)}."
            )
        if spec.needs_data is not None:
            if not isinstance(self.data, spec.needs_data):
                raise TypeError(
                    f"Channel {self.name!r} needs data of type {spec.needs_data.__name__} (its Kraus operators), "
                    f"got {type(self.data).__name__}."
                )
            if width != self.data.num_qubits:
                raise GateArityError(
                    f"Channel {self.name!r} with {self.data.num_qubits}-qubit Kraus operators acts on "
                    f"{self.data.num_qubits} qubit(s), got {width}: {self.qubits}."
                )
        elif self.data is not None:
            raise TypeError(f"Channel {self.name!r} takes no data, got {type(self.data).__name__}.")
        elif spec.num_qubits is not None and width != spec.num_qubits:
            raise GateArityError(
                f"Channel {self.name!r} acts on {spec.num_qubits} qubit(s), got {width}: {self.qubits}."
            )
        elif spec.widths is not None and width not in spec.widths:
            allowed = " or ".join(str(w) for w in spec.widths)
            raise GateArityError(f"Channel {self.name!r} acts on {allowed} qubit(s), got {width}: {self.qubits}.")
        if params and all(p.is_constant for p in params):
            spec.check_values(torch.tensor([p.value() for p in params], dtype=torch.float64), width)

    @property
    def is_channel(self) -> bool:
        """True for a noise channel (a key of :data:`circuits.ir.channels.CHANNELS`), False for a gate."""
        return self.name in CHANNELS

    @classmethod
    def create(
        cls, name: str, qubits: int | Sequence[int], params: Sequence[AngleLike] = (), data: OperationData = None
    ) -> Operation:
        """Build an operation, accepting a single int for one qubit and numbers or symbols for angles.

        Raises:
            TypeError: ``qubits`` is neither an int nor a sequence of ints, or ``params`` is not a
                sequence of angles (one angle must be wrapped: ``(0.5,)``).
        """
        if isinstance(qubits, (int, np.integer)) and not isinstance(qubits, bool):
            qubits = (int(qubits),)
        elif not isinstance(qubits, Iterable) or isinstance(qubits, (str, bytes)):
            raise TypeError(
                f"Gate {name!r}: qubits are an int or a sequence of ints, got {qubits!r} ({type(qubits).__name__})."
            )
        if not isinstance(params, Iterable) or isinstance(params, (str, bytes)):
            raise TypeError(
                f"Gate {name!r}: params are a sequence of angles, got {params!r} ({type(params).__name__}); "
                f"wrap one angle in a tuple: ({params!r},)."
            )
        return cls(name, tuple(qubits), tuple(as_angle(p) for p in params), data)

    @property
    def num_qubits(self) -> int:
        """Width of this gate application."""
        return len(self.qubits)

    @property
    def symbols(self) -> frozenset[Symbol]:
        """Every symbol the angles depend on."""
        return frozenset(s for p in self.params for s in p.symbols)

    @property
    def is_parametrized(self) -> bool:
        """True when an angle depends on a symbol."""
        return any(not p.is_constant for p in self.params)

    def adjoint(self) -> Operation:
        """The inverse operation, expressed with a registered gate.

        Raises:
            UnsupportedChannelError: the operation is a noise channel (a non-unitary map has no inverse channel).
        """
        if self.is_channel:
            raise UnsupportedChannelError(
                f"Noise channel {self.name!r} on qubits {self.qubits} has no inverse: a channel that loses "
                "information cannot be undone. Invert the noiseless circuit and attach the noise afterwards "
                "(a NoiseModel on the backend applies it to whatever circuit runs)."
            )
        spec = gate_spec(self.name)
        name, params, data = spec.adjoint(self.params, self.data)
        return Operation(name, self.qubits, tuple(params), data)

    def __str__(self) -> str:
        args = f"({', '.join(str(p) for p in self.params)})" if self.params else ""
        extra = f"[{self.data.label}]" if isinstance(self.data, PauliLabel) else ""
        extra = extra or (f"[{self.data.num_qubits}q matrix]" if isinstance(self.data, MatrixData) else "")
        extra = extra or (f"[{self.data.label}]" if isinstance(self.data, KrausData) else "")
        return f"{self.name}{extra}{args} {', '.join(f'q[{q}]' for q in self.qubits)}"
