"""The immutable circuit description.

A :class:`Circuit` is a number of qubits and an ordered tuple of
:class:`~circuits.ir.operation.Operation`. Builder methods return a new circuit::

    from circuits import Circuit, ParameterVector
    x, theta = ParameterVector("x", 2), ParameterVector("theta", 2)
    c = Circuit(2).ry(x[0], 0).ry(x[1], 1).cx(0, 1).rz(theta[0], 0).rz(0.5 * theta[1] * x[0] + 0.1, 1)

The symbolic parameter vectors a circuit uses (``c.parameters`` -> ``{"theta": 2, "x": 2}``)
are bound to values when the circuit runs on a backend.

``c.draw()`` is a text diagram, ``c.depth()`` and ``c.count_ops()`` count as Qiskit's
``QuantumCircuit.depth()`` and ``count_ops()`` do.
"""

from __future__ import annotations

import functools
import inspect
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from circuits.errors import BindingError, QubitIndexError, UnboundParameterError
from circuits.ir.channels import KrausData
from circuits.ir.draw import draw_text
from circuits.ir.gates import MatrixData, PauliLabel
from circuits.ir.operation import Operation, OperationData
from circuits.ir.parameters import Angle, AngleLike, as_angle, real_angle

__all__ = ["Circuit"]

_QUBIT_ARGUMENTS = frozenset({"qubit", "qubit1", "qubit2", "control", "control1", "control2", "target"})
_QUBIT_SEQUENCE_ARGUMENTS = frozenset({"controls", "qubits"})
_ANGLE_ARGUMENTS = frozenset(
    {"theta", "phi", "lam", "time", "p", "gamma", "px", "py", "pz", "t1", "t2", "gate_time", "excited_state_population"}
)

_Method = TypeVar("_Method", bound=Callable[..., Any])


def _is_qubit(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _check_argument(shown: str, name: str, value: object, takes_angles: bool) -> None:
    """Raise a TypeError naming the builder's signature when ``value`` does not fit argument ``name``."""
    if name in _QUBIT_ARGUMENTS and not _is_qubit(value):
        hint = " (angles come first)" if takes_angles and isinstance(value, (float, np.floating)) else ""
        kind = type(value).__name__
        raise TypeError(f"{shown}: {name} must be a qubit index (an int), got {value!r} ({kind}){hint}.")
    if name in _QUBIT_SEQUENCE_ARGUMENTS and (
        not isinstance(value, Iterable) or isinstance(value, (str, bytes)) or not all(_is_qubit(q) for q in value)
    ):
        raise TypeError(f"{shown}: {name} must be a sequence of qubit indices (ints), got {value!r}.")
    if name in _ANGLE_ARGUMENTS:
        try:
            as_angle(value)
        except TypeError as error:
            raise TypeError(f"{shown}: {name}: {error}") from None


def _builder(method: _Method) -> _Method:
    """Check a builder's arguments against its signature; the errors name it, e.g. ``Circuit.rx(theta, qubit)``."""
    signature = inspect.signature(method)
    names = list(signature.parameters)[1:]
    shown = f"Circuit.{method.__name__}({', '.join(names)})"
    takes_angles = bool(_ANGLE_ARGUMENTS.intersection(names))

    @functools.wraps(method)
    def checked(self: Circuit, *args: Any, **kwargs: Any) -> Circuit:
        try:
            bound = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            given = ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())])
            raise TypeError(
                f"{shown} takes {len(names)} argument(s) ({', '.join(names)}), got ({given}): {error}."
            ) from None
        for name, value in list(bound.arguments.items())[1:]:
            _check_argument(shown, name, value, takes_angles)
        return method(self, *args, **kwargs)

    return checked  # type: ignore[return-value]


class Circuit:
    """An immutable quantum circuit on ``num_qubits`` qubits.

    Args:
        num_qubits: number of qubits, ``>= 1``.
        operations: the gate applications in order.

    Raises:
        QubitIndexError: an operation uses a qubit outside ``range(num_qubits)``.
        BindingError: two operations use parameter vectors of the same name with different sizes.
    """

    __slots__ = ("_hash", "_num_qubits", "_operations", "_parameters")

    def __init__(self, num_qubits: int, operations: Iterable[Operation] = ()) -> None:
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, (int, np.integer)) or num_qubits < 1:
            raise ValueError(f"A circuit needs a positive integer number of qubits, got {num_qubits!r}.")
        ops = tuple(operations)
        parameters: dict[str, int] = {}
        for index, op in enumerate(ops):
            if not isinstance(op, Operation):
                raise TypeError(f"Circuit operations must be Operation objects, got {type(op).__name__} at {index}.")
            for q in op.qubits:
                if q >= num_qubits:
                    raise QubitIndexError(
                        f"Operation {index} ({op}) uses qubit {q}, but the circuit has {num_qubits} qubit(s) "
                        f"(valid indices 0..{num_qubits - 1}). Create the circuit with more qubits."
                    )
            for s in op.symbols:
                known = parameters.setdefault(s.vector, s.size)
                if known != s.size:
                    raise BindingError(
                        f"Parameter vector {s.vector!r} is used with sizes {known} and {s.size}; "
                        "use one ParameterVector per name."
                    )
        object.__setattr__(self, "_num_qubits", int(num_qubits))
        object.__setattr__(self, "_operations", ops)
        object.__setattr__(self, "_parameters", dict(sorted(parameters.items())))
        object.__setattr__(self, "_hash", None)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Circuit is immutable; builder methods return a new circuit (tried to set {name!r}).")

    def __reduce__(self) -> tuple[type[Circuit], tuple[int, tuple[Operation, ...]]]:
        # Pickled (DataLoader workers, torch.multiprocessing, DDP) by rebuilding: the cached hash is per process.
        return (Circuit, (self._num_qubits, self._operations))

    @property
    def num_qubits(self) -> int:
        """Number of qubits."""
        return self._num_qubits

    @property
    def operations(self) -> tuple[Operation, ...]:
        """The operations in application order."""
        return self._operations

    @property
    def parameters(self) -> dict[str, int]:
        """Symbolic parameter vectors used: name to size, sorted by name."""
        return dict(self._parameters)

    def check_parameter_names(self, names: Iterable[str], *, keyword: str = "params") -> None:
        """Check that ``names`` are exactly the circuit's parameter vectors.

        Args:
            names: the vector names a caller is binding.
            keyword: how the caller's argument is called, for the message.

        Raises:
            UnboundParameterError: a vector of the circuit is missing.
            BindingError: a name the circuit does not use.
        """
        names = set(names)
        missing = sorted(set(self._parameters) - names)
        if missing:
            raise UnboundParameterError(
                f"No values for parameter vector(s) {missing}; the circuit uses {self._parameters} (name: size). "
                f"Pass them as {keyword}={{name: values}}."
            )
        surplus = sorted(names - set(self._parameters))
        if surplus:
            raise BindingError(
                f"Values given for {surplus}, which the circuit does not use; it uses {sorted(self._parameters)}. "
                "Remove them or check the names."
            )

    @property
    def has_channels(self) -> bool:
        """True when an operation is a noise channel (see :mod:`circuits.ir.channels`)."""
        return any(op.is_channel for op in self._operations)

    def __len__(self) -> int:
        return len(self._operations)

    def __iter__(self):
        return iter(self._operations)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Circuit)
            and self._num_qubits == other._num_qubits
            and self._operations == other._operations
        )

    def __hash__(self) -> int:
        if self._hash is None:
            object.__setattr__(self, "_hash", hash((self._num_qubits, self._operations)))
        return self._hash

    def __repr__(self) -> str:
        return f"Circuit({self._num_qubits}, {list(self._operations)!r})"

    def __str__(self) -> str:
        lines = [f"Circuit on {self._num_qubits} qubit(s), {len(self._operations)} operation(s):"]
        lines.extend(f"  {op}" for op in self._operations)
        return "\n".join(lines)

    def depth(self) -> int:
        """The number of layers, as Qiskit's ``QuantumCircuit.depth()``.

        Each operation starts one layer after the latest operation on any of its qubits;
        operations on no qubits (``global_phase``) take no layer. The empty circuit has depth 0.
        """
        level = [0] * self._num_qubits
        for op in self._operations:
            if op.qubits:
                layer = max(level[q] for q in op.qubits) + 1
                for q in op.qubits:
                    level[q] = layer
        return max(level)

    def count_ops(self) -> OrderedDict[str, int]:
        """Gate name to count, most frequent first (ties in order of first use), as Qiskit's ``count_ops()``."""
        counts = Counter(op.name for op in self._operations)
        return OrderedDict(sorted(counts.items(), key=lambda item: item[1], reverse=True))

    def draw(self, *, precision: int = 3, max_width: int = 100) -> str:
        """A text diagram: one wire per qubit, gates in columns as early as their qubits allow.

        Gate labels carry their angles (numbers to ``precision`` significant digits, multiples of
        pi as ``π/2``, expressions as written); controls are ``●``, targets the base gate,
        ``swap`` is ``×`` on both wires; multi-qubit gates join their wires with ``╭``, ``├``,
        ``╰`` (``│`` crosses a wire they skip). Diagrams wider than ``max_width`` characters
        wrap into blocks that end in ``»`` and resume with ``«``. A global phase is a line below.

        Example:
            >>> print(Circuit(2).h(0).cx(0, 1).rz(0.5, 1).draw())
            q0: ──H─╭●──────────
            q1: ────╰X──RZ(0.5)─
        """
        return draw_text(self._num_qubits, self._operations, precision=precision, max_width=max_width)

    # -- composition -----------------------------------------------------------------------

    def append(
        self,
        name: str,
        qubits: int | Sequence[int],
        params: Sequence[AngleLike] = (),
        data: OperationData = None,
    ) -> Circuit:
        """A new circuit with one more gate (or noise channel).

        Args:
            name: a key of :data:`circuits.ir.gates.GATES` or :data:`circuits.ir.channels.CHANNELS`.
            qubits: one index or a sequence (controls first).
            params: the gate's angles: numbers, symbols or :class:`Angle` expressions.
            data: ``MatrixData`` for ``unitary``/``evolution``, ``PauliLabel`` for ``pauli_rot``,
                ``KrausData`` for ``kraus``.
        """
        return Circuit(self._num_qubits, (*self._operations, Operation.create(name, qubits, params, data)))

    def extend(self, operations: Iterable[Operation]) -> Circuit:
        """A new circuit with ``operations`` appended."""
        return Circuit(self._num_qubits, (*self._operations, *operations))

    def compose(self, other: Circuit, qubits: Sequence[int] | None = None) -> Circuit:
        """Append ``other``, mapping its qubit ``i`` to ``qubits[i]`` (identity by default)."""
        if qubits is None:
            if other.num_qubits > self._num_qubits:
                raise QubitIndexError(
                    f"Cannot compose a {other.num_qubits}-qubit circuit onto {self._num_qubits} qubits "
                    "without a qubit map."
                )
            return self.extend(other.operations)
        mapping = tuple(qubits)
        if len(mapping) != other.num_qubits:
            raise QubitIndexError(f"The qubit map needs {other.num_qubits} entries, got {len(mapping)}.")
        return self.extend(
            Operation(op.name, tuple(mapping[q] for q in op.qubits), op.params, op.data) for op in other.operations
        )

    def inverse(self) -> Circuit:
        """The adjoint circuit: operations reversed and each inverted.

        Raises:
            UnsupportedChannelError: the circuit has a noise channel (channels have no inverse).
        """
        return Circuit(self._num_qubits, (op.adjoint() for op in reversed(self._operations)))

    def bind(self, values: Mapping[str, Sequence[float]]) -> Circuit:
        """Substitute numbers for the symbols of the named vectors (others stay symbolic).

        Raises:
            BindingError: a value vector has the wrong length or names an unknown vector.
            InvalidChannelError: a bound noise-channel parameter is out of its range.
        """
        for name, vec in values.items():
            if name not in self._parameters:
                raise BindingError(f"Circuit has no parameter vector {name!r}; it has {list(self._parameters)}.")
            if len(vec) != self._parameters[name]:
                raise BindingError(
                    f"Parameter vector {name!r} has size {self._parameters[name]}, got {len(vec)} values."
                )
        table = {name: [real_angle(v) for v in vec] for name, vec in values.items()}

        def substitute(angle: Angle) -> Angle:
            out = as_angle(angle.constant)
            for coeff, symbols in angle.terms:
                term: Angle = as_angle(coeff)
                for s in symbols:
                    term = term * (table[s.vector][s.index] if s.vector in table else as_angle(s))
                out = out + term
            return out

        return Circuit(
            self._num_qubits,
            (Operation(op.name, op.qubits, tuple(substitute(p) for p in op.params), op.data) for op in self),
        )

    # -- builders: one method per common gate ------------------------------------------------

    @_builder
    def h(self, qubit: int) -> Circuit:
        """Hadamard."""
        return self.append("h", qubit)

    @_builder
    def x(self, qubit: int) -> Circuit:
        """Pauli X."""
        return self.append("x", qubit)

    @_builder
    def y(self, qubit: int) -> Circuit:
        """Pauli Y."""
        return self.append("y", qubit)

    @_builder
    def z(self, qubit: int) -> Circuit:
        """Pauli Z."""
        return self.append("z", qubit)

    @_builder
    def s(self, qubit: int) -> Circuit:
        """Phase gate S = sqrt(Z)."""
        return self.append("s", qubit)

    @_builder
    def sdg(self, qubit: int) -> Circuit:
        """S dagger."""
        return self.append("sdg", qubit)

    @_builder
    def t(self, qubit: int) -> Circuit:
        """T = fourth root of Z."""
        return self.append("t", qubit)

    @_builder
    def tdg(self, qubit: int) -> Circuit:
        """T dagger."""
        return self.append("tdg", qubit)

    @_builder
    def sx(self, qubit: int) -> Circuit:
        """sqrt(X)."""
        return self.append("sx", qubit)

    @_builder
    def rx(self, theta: AngleLike, qubit: int) -> Circuit:
        """``exp(-i theta X / 2)``."""
        return self.append("rx", qubit, (theta,))

    @_builder
    def ry(self, theta: AngleLike, qubit: int) -> Circuit:
        """``exp(-i theta Y / 2)``."""
        return self.append("ry", qubit, (theta,))

    @_builder
    def rz(self, theta: AngleLike, qubit: int) -> Circuit:
        """``exp(-i theta Z / 2)``."""
        return self.append("rz", qubit, (theta,))

    @_builder
    def p(self, lam: AngleLike, qubit: int) -> Circuit:
        """Phase ``diag(1, exp(i lam))``."""
        return self.append("p", qubit, (lam,))

    @_builder
    def u(self, theta: AngleLike, phi: AngleLike, lam: AngleLike, qubit: int) -> Circuit:
        """Qiskit's general single-qubit gate ``U(theta, phi, lam)``."""
        return self.append("u", qubit, (theta, phi, lam))

    @_builder
    def cx(self, control: int, target: int) -> Circuit:
        """Controlled X (CNOT)."""
        return self.append("cx", (control, target))

    @_builder
    def cy(self, control: int, target: int) -> Circuit:
        """Controlled Y."""
        return self.append("cy", (control, target))

    @_builder
    def cz(self, control: int, target: int) -> Circuit:
        """Controlled Z."""
        return self.append("cz", (control, target))

    @_builder
    def swap(self, qubit1: int, qubit2: int) -> Circuit:
        """Swap two qubits."""
        return self.append("swap", (qubit1, qubit2))

    @_builder
    def crx(self, theta: AngleLike, control: int, target: int) -> Circuit:
        """Controlled RX."""
        return self.append("crx", (control, target), (theta,))

    @_builder
    def cry(self, theta: AngleLike, control: int, target: int) -> Circuit:
        """Controlled RY."""
        return self.append("cry", (control, target), (theta,))

    @_builder
    def crz(self, theta: AngleLike, control: int, target: int) -> Circuit:
        """Controlled RZ."""
        return self.append("crz", (control, target), (theta,))

    @_builder
    def cp(self, lam: AngleLike, control: int, target: int) -> Circuit:
        """Controlled phase."""
        return self.append("cp", (control, target), (lam,))

    @_builder
    def rxx(self, theta: AngleLike, qubit1: int, qubit2: int) -> Circuit:
        """``exp(-i theta X X / 2)``."""
        return self.append("rxx", (qubit1, qubit2), (theta,))

    @_builder
    def ryy(self, theta: AngleLike, qubit1: int, qubit2: int) -> Circuit:
        """``exp(-i theta Y Y / 2)``."""
        return self.append("ryy", (qubit1, qubit2), (theta,))

    @_builder
    def rzz(self, theta: AngleLike, qubit1: int, qubit2: int) -> Circuit:
        """``exp(-i theta Z Z / 2)``."""
        return self.append("rzz", (qubit1, qubit2), (theta,))

    @_builder
    def ccx(self, control1: int, control2: int, target: int) -> Circuit:
        """Toffoli."""
        return self.append("ccx", (control1, control2, target))

    @_builder
    def mcx(self, controls: Sequence[int], target: int) -> Circuit:
        """X on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcx", (*controls, target))

    @_builder
    def mcrx(self, theta: AngleLike, controls: Sequence[int], target: int) -> Circuit:
        """RX on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcrx", (*controls, target), (theta,))

    @_builder
    def mcry(self, theta: AngleLike, controls: Sequence[int], target: int) -> Circuit:
        """RY on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcry", (*controls, target), (theta,))

    @_builder
    def mcrz(self, theta: AngleLike, controls: Sequence[int], target: int) -> Circuit:
        """RZ on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcrz", (*controls, target), (theta,))

    @_builder
    def pauli_rot(self, theta: AngleLike, label: str, qubits: Sequence[int]) -> Circuit:
        """``exp(-i theta P / 2)`` for the Pauli word ``label`` (letter i on ``qubits[i]``)."""
        return self.append("pauli_rot", tuple(qubits), (theta,), PauliLabel(label))

    @_builder
    def evolution(self, hamiltonian: np.ndarray, time: AngleLike, qubits: Sequence[int]) -> Circuit:
        """``exp(-i t H)`` for a Hermitian ``H`` (``2**k x 2**k``, first of ``qubits`` most significant)."""
        return self.append("evolution", tuple(qubits), (time,), MatrixData(np.asarray(hamiltonian)))

    @_builder
    def unitary(self, matrix: np.ndarray, qubits: Sequence[int]) -> Circuit:
        """An arbitrary unitary matrix (``2**k x 2**k``, first of ``qubits`` most significant)."""
        return self.append("unitary", tuple(qubits), (), MatrixData(np.asarray(matrix)))

    # -- noise channels (see circuits.ir.channels and docs/noise.md) -----------------------------

    def depolarizing(self, p: AngleLike, qubits: int | Sequence[int]) -> Circuit:
        """Depolarising noise on one or two qubits: ``rho -> (1 - p) rho + p I / 2**n``.

        Qiskit's ``depolarizing_error(p, n)`` convention, ``0 <= p <= 4**n / (4**n - 1)``; PennyLane's
        ``DepolarizingChannel(p_pl)`` on one qubit is ``p = 4/3 * p_pl``.
        """
        return self.append("depolarizing", qubits, (p,))

    @_builder
    def amplitude_damping(self, gamma: AngleLike, qubit: int) -> Circuit:
        """Amplitude damping (energy relaxation to ``|0>``) with probability ``gamma`` in ``[0, 1]``."""
        return self.append("amplitude_damping", qubit, (gamma,))

    @_builder
    def phase_damping(self, gamma: AngleLike, qubit: int) -> Circuit:
        """Phase damping: coherences shrink by ``sqrt(1 - gamma)``, ``gamma`` in ``[0, 1]``."""
        return self.append("phase_damping", qubit, (gamma,))

    @_builder
    def bit_flip(self, p: AngleLike, qubit: int) -> Circuit:
        """``X`` with probability ``p``."""
        return self.append("bit_flip", qubit, (p,))

    @_builder
    def phase_flip(self, p: AngleLike, qubit: int) -> Circuit:
        """``Z`` with probability ``p``."""
        return self.append("phase_flip", qubit, (p,))

    @_builder
    def pauli_channel(self, px: AngleLike, py: AngleLike, pz: AngleLike, qubit: int) -> Circuit:
        """``X``, ``Y``, ``Z`` with probabilities ``px``, ``py``, ``pz`` (each in ``[0, 1]``, sum ``<= 1``)."""
        return self.append("pauli_channel", qubit, (px, py, pz))

    @_builder
    def thermal_relaxation(
        self,
        t1: AngleLike,
        t2: AngleLike,
        gate_time: AngleLike,
        qubit: int,
        excited_state_population: AngleLike = 0.0,
    ) -> Circuit:
        """Thermal relaxation for ``gate_time`` with times ``T1``, ``T2 <= 2 T1`` (one unit for all three).

        Qiskit's ``thermal_relaxation_error(t1, t2, gate_time, excited_state_population)``: populations relax
        towards ``diag(1 - p1, p1)`` with probability ``1 - exp(-gate_time / T1)``, coherences decay by
        ``exp(-gate_time / T2)``.
        """
        return self.append("thermal_relaxation", qubit, (t1, t2, gate_time, excited_state_population))

    def kraus(self, matrices: Sequence[np.ndarray] | np.ndarray, qubits: int | Sequence[int]) -> Circuit:
        """Any channel by its Kraus operators (``2**k x 2**k``, first of ``qubits`` most significant).

        Raises:
            InvalidChannelError: ``sum_k K_k^dagger K_k != I`` (the message gives the deviation).
        """
        return self.append("kraus", qubits, (), KrausData(matrices))
