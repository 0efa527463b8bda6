"""The immutable circuit description.

A :class:`Circuit` is a number of qubits and an ordered tuple of
:class:`~circuits.ir.operation.Operation`. Builder methods return a new circuit::

    from circuits import Circuit, ParameterVector
    x, theta = ParameterVector("x", 2), ParameterVector("theta", 2)
    c = Circuit(2).ry(x[0], 0).ry(x[1], 1).cx(0, 1).rz(theta[0], 0).rz(0.5 * theta[1] * x[0] + 0.1, 1)

The symbolic parameter vectors a circuit uses (``c.parameters`` -> ``{"theta": 2, "x": 2}``)
are bound to values when the circuit runs on a backend.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from circuits.errors import BindingError, QubitIndexError, UnboundParameterError
from circuits.ir.gates import GateData, MatrixData, PauliLabel
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, AngleLike, as_angle

__all__ = ["Circuit"]


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

    # -- composition -----------------------------------------------------------------------

    def append(
        self,
        name: str,
        qubits: int | Sequence[int],
        params: Sequence[AngleLike] = (),
        data: GateData = None,
    ) -> Circuit:
        """A new circuit with one more gate.

        Args:
            name: a key of :data:`circuits.ir.gates.GATES`.
            qubits: one index or a sequence (controls first).
            params: the gate's angles: numbers, symbols or :class:`Angle` expressions.
            data: ``MatrixData`` for ``unitary``/``evolution``, ``PauliLabel`` for ``pauli_rot``.
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
        """The adjoint circuit: operations reversed and each inverted."""
        return Circuit(self._num_qubits, (op.adjoint() for op in reversed(self._operations)))

    def bind(self, values: Mapping[str, Sequence[float]]) -> Circuit:
        """Substitute numbers for the symbols of the named vectors (others stay symbolic).

        Raises:
            BindingError: a value vector has the wrong length or names an unknown vector.
        """
        for name, vec in values.items():
            if name not in self._parameters:
                raise BindingError(f"Circuit has no parameter vector {name!r}; it has {list(self._parameters)}.")
            if len(vec) != self._parameters[name]:
                raise BindingError(
                    f"Parameter vector {name!r} has size {self._parameters[name]}, got {len(vec)} values."
                )
        table = {name: [float(v) for v in vec] for name, vec in values.items()}

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

    def h(self, qubit: int) -> Circuit:
        """Hadamard."""
        return self.append("h", qubit)

    def x(self, qubit: int) -> Circuit:
        """Pauli X."""
        return self.append("x", qubit)

    def y(self, qubit: int) -> Circuit:
        """Pauli Y."""
        return self.append("y", qubit)

    def z(self, qubit: int) -> Circuit:
        """Pauli Z."""
        return self.append("z", qubit)

    def s(self, qubit: int) -> Circuit:
        """Phase gate S = sqrt(Z)."""
        return self.append("s", qubit)

    def sdg(self, qubit: int) -> Circuit:
        """S dagger."""
        return self.append("sdg", qubit)

    def t(self, qubit: int) -> Circuit:
        """T = fourth root of Z."""
        return self.append("t", qubit)

    def tdg(self, qubit: int) -> Circuit:
        """T dagger."""
        return self.append("tdg", qubit)

    def sx(self, qubit: int) -> Circuit:
        """sqrt(X)."""
        return self.append("sx", qubit)

    def rx(self, theta: AngleLike, qubit: int) -> Circuit:
        """``exp(-i theta X / 2)``."""
        return self.append("rx", qubit, (theta,))

    def ry(self, theta: AngleLike, qubit: int) -> Circuit:
        """``exp(-i theta Y / 2)``."""
        return self.append("ry", qubit, (theta,))

    def rz(self, theta: AngleLike, qubit: int) -> Circuit:
        """``exp(-i theta Z / 2)``."""
        return self.append("rz", qubit, (theta,))

    def p(self, lam: AngleLike, qubit: int) -> Circuit:
        """Phase ``diag(1, exp(i lam))``."""
        return self.append("p", qubit, (lam,))

    def u(self, theta: AngleLike, phi: AngleLike, lam: AngleLike, qubit: int) -> Circuit:
        """Qiskit's general single-qubit gate ``U(theta, phi, lam)``."""
        return self.append("u", qubit, (theta, phi, lam))

    def cx(self, control: int, target: int) -> Circuit:
        """Controlled X (CNOT)."""
        return self.append("cx", (control, target))

    def cy(self, control: int, target: int) -> Circuit:
        """Controlled Y."""
        return self.append("cy", (control, target))

    def cz(self, control: int, target: int) -> Circuit:
        """Controlled Z."""
        return self.append("cz", (control, target))

    def swap(self, qubit1: int, qubit2: int) -> Circuit:
        """Swap two qubits."""
        return self.append("swap", (qubit1, qubit2))

    def crx(self, theta: AngleLike, control: int, target: int) -> Circuit:
        """Controlled RX."""
        return self.append("crx", (control, target), (theta,))

    def cry(self, theta: AngleLike, control: int, target: int) -> Circuit:
        """Controlled RY."""
        return self.append("cry", (control, target), (theta,))

    def crz(self, theta: AngleLike, control: int, target: int) -> Circuit:
        """Controlled RZ."""
        return self.append("crz", (control, target), (theta,))

    def cp(self, lam: AngleLike, control: int, target: int) -> Circuit:
        """Controlled phase."""
        return self.append("cp", (control, target), (lam,))

    def rxx(self, theta: AngleLike, qubit1: int, qubit2: int) -> Circuit:
        """``exp(-i theta X X / 2)``."""
        return self.append("rxx", (qubit1, qubit2), (theta,))

    def ryy(self, theta: AngleLike, qubit1: int, qubit2: int) -> Circuit:
        """``exp(-i theta Y Y / 2)``."""
        return self.append("ryy", (qubit1, qubit2), (theta,))

    def rzz(self, theta: AngleLike, qubit1: int, qubit2: int) -> Circuit:
        """``exp(-i theta Z Z / 2)``."""
        return self.append("rzz", (qubit1, qubit2), (theta,))

    def ccx(self, control1: int, control2: int, target: int) -> Circuit:
        """Toffoli."""
        return self.append("ccx", (control1, control2, target))

    def mcx(self, controls: Sequence[int], target: int) -> Circuit:
        """X on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcx", (*controls, target))

    def mcrx(self, theta: AngleLike, controls: Sequence[int], target: int) -> Circuit:
        """RX on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcrx", (*controls, target), (theta,))

    def mcry(self, theta: AngleLike, controls: Sequence[int], target: int) -> Circuit:
        """RY on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcry", (*controls, target), (theta,))

    def mcrz(self, theta: AngleLike, controls: Sequence[int], target: int) -> Circuit:
        """RZ on ``target`` controlled by every qubit in ``controls``."""
        return self.append("mcrz", (*controls, target), (theta,))

    def pauli_rot(self, theta: AngleLike, label: str, qubits: Sequence[int]) -> Circuit:
        """``exp(-i theta P / 2)`` for the Pauli word ``label`` (letter i on ``qubits[i]``)."""
        return self.append("pauli_rot", tuple(qubits), (theta,), PauliLabel(label))

    def evolution(self, hamiltonian: np.ndarray, time: AngleLike, qubits: Sequence[int]) -> Circuit:
        """``exp(-i t H)`` for a Hermitian ``H`` (``2**k x 2**k``, first of ``qubits`` most significant)."""
        return self.append("evolution", tuple(qubits), (time,), MatrixData(np.asarray(hamiltonian)))

    def unitary(self, matrix: np.ndarray, qubits: Sequence[int]) -> Circuit:
        """An arbitrary unitary matrix (``2**k x 2**k``, first of ``qubits`` most significant)."""
        return self.append("unitary", tuple(qubits), (), MatrixData(np.asarray(matrix)))
