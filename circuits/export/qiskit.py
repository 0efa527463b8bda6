"""Conversion between :class:`circuits.Circuit` and Qiskit's ``QuantumCircuit``.

Qubit order. Our matrices are big-endian (the first qubit of an operation is the
most significant bit), Qiskit's are little-endian. Named gates need no
conversion: a Qiskit gate's semantics are defined per qarg, so ``cx`` on
``(control, target)`` becomes ``qc.cx(control, target)``. Only raw matrices are
converted: a ``unitary`` becomes a ``UnitaryGate`` (and an ``evolution`` an
:class:`EvolutionGate`) with the matrix permuted to Qiskit's order on the same
qargs. As a consequence, for a whole circuit
``Operator(circuit_to_qiskit(c)).reverse_qargs().data`` is our dense unitary, and a
Qiskit ``Statevector`` index ``i`` is our flat index ``i`` with its bits reversed.

Gates:

* every gate of Qiskit's standard library that our registry has (same name) maps to
  that class (``rx`` -> ``RXGate``, ``xx_plus_yy`` -> ``XXPlusYYGate``,
  ``global_phase`` -> ``GlobalPhaseGate`` ...);
* ``mcx`` -> ``MCXGate``, ``mcphase`` -> ``MCPhaseGate``, ``mcrx``/``mcry``/``mcrz`` ->
  ``RXGate(theta).control(k)`` ...;
* ``pauli_rot`` (``exp(-i theta P / 2)``) -> ``PauliEvolutionGate(P, time=theta / 2)``
  (one Pauli term: Qiskit synthesizes it exactly);
* ``evolution`` (``exp(-i t H)``) -> :class:`EvolutionGate`, a gate of this module that
  keeps ``t`` symbolic and whose definition is exact: ``V^dagger``, a product of
  commuting Z-string rotations by ``t`` times the Walsh coefficients of the
  eigenvalues, then ``V`` (``H = V diag(lambda) V^dagger``). Qiskit's own
  ``PauliEvolutionGate`` is not used for it because its default synthesis (one
  Lie-Trotter step) is approximate when the Pauli terms of ``H`` do not commute;
* ``unitary`` -> ``UnitaryGate``.

Loading (:func:`circuit_from_qiskit`) inverts these and decomposes anything else
through its ``definition`` (recursively), so custom gates and every gate of
Qiskit's library load. ``PauliEvolutionGate`` loads as ``pauli_rot`` (one Pauli
term) or as ``evolution`` with the exact ``H`` (several terms: the gate means
``exp(-i t H)``; its synthesis is not used).

Parameters. Our vector ``theta`` of size ``k`` is a Qiskit
``ParameterVector("theta", k)`` (one per name, shared by the whole circuit); an
:class:`~circuits.ir.parameters.Angle` ``sum coeff * prod(symbols) + constant`` is
the same ``ParameterExpression``. Loading, a ``ParameterVectorElement`` keeps its
vector's name and size; a plain ``Parameter("a")`` becomes a vector ``a`` of size 1
(its name must be a Python identifier). Polynomial expressions (sums of products
of parameters, powers included, with real coefficients) convert exactly; anything
else (``sin(a)``, ``1 / a``, ``exp(a)``) raises :class:`ConversionError` (a ``CircuitError`` and a ``ValueError``).
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from qiskit.circuit import (
    AnnotatedOperation,
    Barrier,
    ControlledGate,
    ControlModifier,
    Delay,
    Gate,
    Instruction,
    InverseModifier,
    Measure,
    Parameter,
    ParameterExpression,
    ParameterVector,
    ParameterVectorElement,
    QuantumCircuit,
    Reset,
)
from qiskit.circuit.controlflow import ControlFlowOp
from qiskit.circuit.library import (
    MCPhaseGate,
    MCXGate,
    PauliEvolutionGate,
    PhaseGate,
    RXGate,
    RYGate,
    RZGate,
    U1Gate,
    UnitaryGate,
    XGate,
    get_standard_gate_name_mapping,
)
from qiskit.quantum_info import Operator, Pauli, SparsePauliOp

from circuits.errors import BindingError, ConversionError, UnboundParameterError
from circuits.ir.circuit import Circuit
from circuits.ir.gates import GATES, MatrixData, PauliLabel
from circuits.ir.observables import PauliSum
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, Symbol, as_angle
from circuits.measurement import sparse_terms

__all__ = [
    "ConversionError",
    "EvolutionGate",
    "circuit_from_qiskit",
    "circuit_to_qiskit",
    "pauli_sum_from_qiskit",
    "pauli_sum_to_qiskit",
    "qiskit_parameter_binds",
    "reverse_qubit_order",
]

_WALSH_ATOL = 1e-14


# -- endianness ------------------------------------------------------------------------------


def reverse_qubit_order(matrix: np.ndarray) -> np.ndarray:
    """Reverse the qubit order of a ``2**k x 2**k`` matrix (big-endian <-> little-endian).

    The permutation is exact (entries are moved, not recomputed) and its own inverse.

    Shape:
        Input: ``(2**k, 2**k)``. Output: same.
    """
    matrix = np.asarray(matrix)
    k = int(matrix.shape[0]).bit_length() - 1
    if k <= 1:
        return matrix.copy()
    axes = [*range(k - 1, -1, -1), *range(2 * k - 1, k - 1, -1)]
    return matrix.reshape([2] * (2 * k)).transpose(axes).reshape(matrix.shape)


# -- the evolution gate -----------------------------------------------------------------------


class EvolutionGate(Gate):
    """``exp(-i t H)`` for a constant Hermitian ``H`` and a (possibly symbolic) time ``t``.

    Args:
        hamiltonian: Hermitian ``2**k x 2**k`` matrix in Qiskit's (little-endian) qubit order.
        time: the evolution time, a number or a ``ParameterExpression``.
        label: optional display label.

    The definition is exact for every ``t``: ``V^dagger``, then one Z-string
    rotation per nonzero Walsh coefficient of the eigenvalues (these commute), then
    ``V``, with ``H = V diag(lambda) V^dagger``; the identity coefficient is a global
    phase. A bound gate also has a matrix (``Operator(gate)`` does not go through
    the definition).
    """

    def __init__(self, hamiltonian: np.ndarray, time: Any, label: str | None = None) -> None:
        matrix = np.array(hamiltonian, dtype=np.complex128, copy=True)
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] < 2:
            raise ValueError(f"EvolutionGate needs a square 2**k x 2**k Hamiltonian, got shape {matrix.shape}.")
        matrix.setflags(write=False)
        self.hamiltonian = matrix
        super().__init__("evolution", int(matrix.shape[0]).bit_length() - 1, [time], label=label)

    def _eigh(self) -> tuple[np.ndarray, np.ndarray]:
        return _eigh_cached(self.hamiltonian.tobytes(), self.hamiltonian.shape[0])

    def _define(self) -> None:
        k = self.num_qubits
        eigenvalues, vectors = self._eigh()
        time = self.params[0]
        qc = QuantumCircuit(k, name=self.name)
        qubits = list(range(k))
        qc.append(UnitaryGate(vectors.conj().T, check_input=False), qubits)
        coefficients = _walsh(eigenvalues)
        scale = max(1.0, float(np.abs(eigenvalues).max()))
        for mask in range(1, 2**k):
            c = float(coefficients[mask])
            if abs(c) <= _WALSH_ATOL * scale:
                continue
            bits = [b for b in range(k) if mask >> b & 1]
            ladder = list(itertools.pairwise(bits))
            for a, b in ladder:
                qc.cx(a, b)
            qc.rz(2.0 * c * time, bits[-1])
            for a, b in reversed(ladder):
                qc.cx(a, b)
        qc.append(UnitaryGate(vectors, check_input=False), qubits)
        qc.global_phase = -float(coefficients[0]) * time
        self.definition = qc

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        """The matrix ``exp(-i t H)`` (little-endian); the time must be bound."""
        time = self.params[0]
        if isinstance(time, ParameterExpression):
            if time.parameters:
                raise TypeError(f"EvolutionGate has an unbound time {time}; bind it before asking for a matrix.")
            time = complex(time).real
        eigenvalues, vectors = self._eigh()
        out = (vectors * np.exp(-1j * float(time) * eigenvalues)) @ vectors.conj().T
        return out if dtype is None else out.astype(dtype, copy=False)

    def inverse(self, annotated: bool = False) -> EvolutionGate:
        """``exp(+i t H)``."""
        return EvolutionGate(self.hamiltonian, -self.params[0])

    def validate_parameter(self, parameter: Any) -> Any:
        """Times are real numbers or parameter expressions."""
        if isinstance(parameter, ParameterExpression):
            return parameter
        if isinstance(parameter, (int, float, np.integer, np.floating)) and not isinstance(parameter, bool):
            return float(parameter)
        raise TypeError(f"EvolutionGate time must be a real number or a ParameterExpression, got {parameter!r}.")


@functools.lru_cache(maxsize=128)
def _eigh_cached(data: bytes, dim: int) -> tuple[np.ndarray, np.ndarray]:
    matrix = np.frombuffer(data, dtype=np.complex128).reshape(dim, dim)
    return np.linalg.eigh(matrix)


def _walsh(values: np.ndarray) -> np.ndarray:
    """Coefficients ``c_S`` with ``values[j] = sum_S c_S (-1)**popcount(j & S)`` (fast Walsh-Hadamard)."""
    out = np.array(values, dtype=np.float64, copy=True)
    h = 1
    while h < out.size:
        for start in range(0, out.size, 2 * h):
            a = out[start : start + h].copy()
            b = out[start + h : start + 2 * h].copy()
            out[start : start + h] = a + b
            out[start + h : start + 2 * h] = a - b
        h *= 2
    return out / out.size


# -- parameters -------------------------------------------------------------------------------


class _ToQiskitParameters:
    """Our symbols as Qiskit parameters: one ``ParameterVector`` per vector name."""

    def __init__(self, sizes: Mapping[str, int]) -> None:
        self.vectors = {name: ParameterVector(name, size) for name, size in sizes.items()}

    def angle(self, angle: Angle) -> float | ParameterExpression:
        if angle.is_constant:
            return angle.constant
        result: Any = angle.constant if angle.constant != 0.0 else None
        for coeff, symbols in angle.terms:
            product: Any = None
            for s in symbols:
                p = self.vectors[s.vector][s.index]
                product = p if product is None else product * p
            term = product if coeff == 1.0 else coeff * product
            result = term if result is None else result + term
        return result


def _is_symbolic(value: Any) -> bool:
    return isinstance(value, ParameterExpression) and bool(value.parameters)


class _FromQiskitParameters:
    """Qiskit parameters as our symbols (vector elements keep their vector; plain ``a`` is ``a[0]`` of size 1)."""

    def __init__(self) -> None:
        self.kinds: dict[str, str] = {}  # vector name -> "vector" | "plain"

    def symbol(self, parameter: Parameter) -> Angle:
        if isinstance(parameter, ParameterVectorElement):
            name, index, size, kind = parameter.vector.name, parameter.index, len(parameter.vector), "vector"
        else:
            name, index, size, kind = parameter.name, 0, 1, "plain"
        if not name.isidentifier():
            what = f"vector {name!r} of {parameter.name!r}" if kind == "vector" else f"Parameter {name!r}"
            raise ConversionError(
                f"Qiskit {what} is not a valid parameter vector name: expected a Python identifier. "
                "Rename it (e.g. qc.assign_parameters({old: Parameter('a')})) before converting."
            )
        known = self.kinds.setdefault(name, kind)
        if known != kind:
            raise ConversionError(
                f"Qiskit circuit uses both a ParameterVector and a plain Parameter named {name!r}; "
                "rename one of them before converting."
            )
        return as_angle(Symbol(name, index, size))

    def value(self, value: Any, context: str) -> Angle:
        """A Qiskit gate parameter (number or expression) as an :class:`Angle`."""
        if isinstance(value, Parameter):  # a bare parameter (or vector element): no algebra needed
            return self.symbol(value)
        if isinstance(value, ParameterExpression):
            if not value.parameters:
                return as_angle(_real(complex(value), context))
            return self.expression(value, context)
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            return as_angle(float(value))
        if isinstance(value, (complex, np.complexfloating)):
            return as_angle(_real(complex(value), context))
        raise ConversionError(f"{context}: parameter {value!r} of type {type(value).__name__} is not an angle.")

    def expression(self, expr: ParameterExpression, context: str) -> Angle:
        import sympy  # a dependency of torch; only needed for symbolic Qiskit expressions

        by_name = {p.name: p for p in expr.parameters}
        sym = sympy.expand(expr.sympify())
        generators = sorted(sym.free_symbols, key=str)
        unknown = [str(g) for g in generators if str(g) not in by_name]
        if unknown:
            raise ConversionError(f"{context}: expression {expr} uses unknown symbols {unknown}.")
        if not generators:  # the parameters cancel, e.g. 0*theta[0]
            return as_angle(_real(complex(sym), context, expr))
        try:
            poly = sympy.Poly(sym, *generators)
        except sympy.PolynomialError:
            poly = None
        if poly is None:
            raise ConversionError(
                f"{context}: parameter expression {expr} is not a polynomial of its parameters; angles must be "
                "sums of coefficient * product of parameters + constant. Compute nonlinear features (sin, division "
                "by a parameter, ...) classically and bind them as parameters."
            )
        symbols = [self.symbol(by_name[str(g)]) for g in generators]
        angle = as_angle(0.0)
        for exponents, coeff in poly.terms():
            term = as_angle(_real(complex(coeff), context, expr))
            for symbol, power in zip(symbols, exponents, strict=True):
                for _ in range(int(power)):
                    term = term * symbol
            angle = angle + term
        return angle


def _real(value: complex, context: str, expr: Any = None) -> float:
    if abs(value.imag) > 1e-12 * max(1.0, abs(value.real)):
        shown = expr if expr is not None else value
        raise ConversionError(f"{context}: parameter {shown} has a complex value {value}; angles must be real.")
    if not math.isfinite(value.real):
        raise ConversionError(f"{context}: parameter value {value} is not finite.")
    return float(value.real)


# -- ours -> Qiskit --------------------------------------------------------------------------

_STANDARD = {name: gate for name, gate in get_standard_gate_name_mapping().items() if name in GATES}
_MULTI_CONTROLLED_BASE = {"mcrx": RXGate, "mcry": RYGate, "mcrz": RZGate}


def _qiskit_gate(op: Operation, params: list[Any]) -> Gate:
    name = op.name
    if name in _STANDARD:
        return _STANDARD[name].base_class(*params)
    num_controls = op.num_qubits - 1
    if name == "mcx":
        return MCXGate(num_controls)
    if name == "mcphase":
        return MCPhaseGate(params[0], num_controls)
    if name in _MULTI_CONTROLLED_BASE:
        return _MULTI_CONTROLLED_BASE[name](params[0]).control(num_controls, annotated=False)
    if name == "pauli_rot":
        assert isinstance(op.data, PauliLabel)
        return PauliEvolutionGate(Pauli(op.data.label[::-1]), time=params[0] / 2)
    if name == "evolution":
        assert isinstance(op.data, MatrixData)
        return EvolutionGate(reverse_qubit_order(op.data.array), params[0])
    if name == "unitary":
        assert isinstance(op.data, MatrixData)
        return UnitaryGate(reverse_qubit_order(op.data.array), check_input=False)
    raise ConversionError(
        f"Gate {name!r} has no Qiskit conversion; add a case to circuits.export.qiskit._qiskit_gate "
        "(the gate conformance tests list every registered gate)."
    )


def circuit_to_qiskit(circuit: Circuit) -> QuantumCircuit:
    """Convert a circuit to a Qiskit ``QuantumCircuit`` (one quantum register ``q``, no classical bits).

    Args:
        circuit: the circuit; symbolic angles become Qiskit parameters (see the module docstring).

    Returns:
        A ``QuantumCircuit`` on ``circuit.num_qubits`` qubits whose qubit ``i`` is our qubit ``i``;
        ``Operator(result).reverse_qargs()`` is our (big-endian) unitary. Noise channels become Qiskit Aer
        ``QuantumError`` instructions (``quantum_channel``), which Aer simulates
        (:mod:`circuits.export.qiskit_noise`).

    Raises:
        TypeError: ``circuit`` is not a :class:`~circuits.ir.circuit.Circuit`.
        ConversionError: a noise channel with symbolic parameters (Aer needs numbers: bind them first).
    """
    if not isinstance(circuit, Circuit):
        raise TypeError(f"circuit_to_qiskit expects a circuits.Circuit, got {type(circuit).__name__}.")
    table = _ToQiskitParameters(circuit.parameters)
    qc = QuantumCircuit(circuit.num_qubits)
    for op in circuit:
        if op.is_channel:
            from circuits.export.qiskit_noise import operation_to_qiskit_error  # imports this module

            qc.append(operation_to_qiskit_error(op).to_instruction(), list(op.qubits), copy=False)
            continue
        params = [table.angle(p) for p in op.params]
        qc.append(_qiskit_gate(op, params), list(op.qubits), copy=False)
    return qc


# -- Qiskit -> ours --------------------------------------------------------------------------

_MC_FROM_BASE: dict[type, str] = {XGate: "mcx", RXGate: "mcrx", RYGate: "mcry", RZGate: "mcrz", PhaseGate: "mcphase"}
_MC_FROM_BASE[U1Gate] = "mcphase"
_SINGLE_CONTROL = {"mcx": "cx", "mcrx": "crx", "mcry": "cry", "mcrz": "crz", "mcphase": "cp"}
_IGNORED = (Barrier, Delay)
_MAX_DEPTH = 64


class _Loader:
    def __init__(self, ignore_measurements: bool) -> None:
        self.ignore_measurements = ignore_measurements
        self.parameters = _FromQiskitParameters()
        self.operations: list[Operation] = []
        self.phase = as_angle(0.0)
        self.measured: set[int] = set()
        self.touched: set[int] = set()  # qubits an operation has acted on: no longer provably |0>

    def append(self, op: Operation) -> None:
        self.operations.append(op)
        self.touched.update(op.qubits)

    def load(self, qc: QuantumCircuit, qubit_map: list[int], depth: int, where: str) -> None:
        if depth > _MAX_DEPTH:
            raise ConversionError(f"{where}: gate definitions nest deeper than {_MAX_DEPTH} levels; is one recursive?")
        self.phase = self.phase + self.parameters.value(qc.global_phase, f"{where} global phase")
        for index, instruction in enumerate(qc.data):
            qubits = [qubit_map[qc.find_bit(q).index] for q in instruction.qubits]
            self.instruction(instruction.operation, qubits, depth, f"{where} instruction {index}")

    def instruction(self, inst: Instruction, qubits: list[int], depth: int, where: str) -> None:
        name = inst.name
        context = f"{where} ({name!r} on qubits {qubits})"
        if isinstance(inst, _IGNORED):
            return
        if isinstance(inst, Measure):
            if not self.ignore_measurements:
                raise ConversionError(
                    f"{context}: measurements are not part of a circuits.Circuit (it has no classical bits). "
                    "Remove them (qc.remove_final_measurements()) or pass ignore_measurements=True to drop final "
                    "measurements; backends measure through Expectation/Probabilities/Samples."
                )
            self.measured.update(qubits)
            return
        if isinstance(inst, Reset):
            if self.touched.intersection(qubits) or self.measured.intersection(qubits):
                raise ConversionError(
                    f"{context}: a reset after an operation on the qubit is not supported in a circuits.Circuit "
                    "(a unitary circuit on |0...0>); only resets of qubits still in |0> (nothing applied yet) "
                    "are dropped. Remove the reset, or start a fresh circuit instead."
                )
            return  # the qubit is still |0>: the reset does nothing
        if isinstance(inst, ControlFlowOp) or inst.num_clbits:
            raise ConversionError(
                f"{context}: classical control and classical bits are not supported in a circuits.Circuit "
                "(it describes one unitary). Remove the classically controlled part."
            )
        if self.measured.intersection(qubits):
            raise ConversionError(
                f"{context}: acts on qubit(s) {sorted(self.measured.intersection(qubits))} after they were measured; "
                "only final measurements can be dropped (ignore_measurements=True), mid-circuit measurements "
                "are not supported."
            )
        if isinstance(inst, AnnotatedOperation) and self.annotated(inst, qubits, depth, context):
            return
        op = self.known(inst, qubits, context)
        if op is not None:
            if op.name == "global_phase":
                self.phase = self.phase + op.params[0]
            else:
                self.append(op)
            return
        definition = getattr(inst, "definition", None)
        if definition is not None:
            self.load(definition, qubits, depth + 1, f"{context} -> definition")
            return
        if not any(_is_symbolic(p) for p in inst.params):
            try:
                matrix = Operator(inst).data
            except Exception:  # any failure means "no matrix"; reported below
                matrix = None
            if matrix is not None:
                self.append(Operation("unitary", tuple(qubits), (), MatrixData(reverse_qubit_order(matrix))))
                return
        raise ConversionError(
            f"{context}: {type(inst).__name__} has neither a gate of our registry, a definition nor a matrix. "
            "Give the gate a definition (or transpile the circuit to standard gates) before converting."
        )

    def annotated(self, inst: AnnotatedOperation, qubits: list[int], depth: int, context: str) -> bool:
        """Load an annotated operation made of inverses, or of all-ones controls on X/RX/RY/RZ/P; False otherwise."""
        modifiers = list(inst.modifiers)
        base = inst.base_op
        if all(isinstance(m, InverseModifier) for m in modifiers):
            start, phase = len(self.operations), self.phase
            self.instruction(base, qubits, depth + 1, f"{context} -> base")
            if len(modifiers) % 2:
                loaded = self.operations[start:]
                self.operations[start:] = [op.adjoint() for op in reversed(loaded)]
                self.phase = phase - (self.phase - phase)
            return True
        if all(isinstance(m, ControlModifier) for m in modifiers):
            controls = sum(m.num_ctrl_qubits for m in modifiers)
            all_ones = all(m.ctrl_state == 2**m.num_ctrl_qubits - 1 for m in modifiers)
            name = _MC_FROM_BASE.get(getattr(base, "base_class", type(base)))
            if all_ones and name is not None:
                name = _SINGLE_CONTROL[name] if controls == 1 else name
                angles = tuple(self.parameters.value(p, context) for p in base.params)
                self.append(Operation(name, tuple(qubits), angles))
                return True
        return False

    def known(self, inst: Instruction, qubits: list[int], context: str) -> Operation | None:
        """The registered gate ``inst`` is, or ``None`` when it must be decomposed."""
        name = inst.name
        params = list(inst.params)
        standard = _STANDARD.get(name)
        if standard is not None and inst.base_class is standard.base_class:
            if getattr(inst, "ctrl_state", None) == getattr(standard, "ctrl_state", None):
                angles = tuple(self.parameters.value(p, context) for p in params)
                return Operation(name, tuple(qubits), angles)
        if isinstance(inst, UnitaryGate):
            matrix = reverse_qubit_order(np.asarray(inst.to_matrix(), dtype=np.complex128))
            return Operation("unitary", tuple(qubits), (), MatrixData(matrix))
        if isinstance(inst, EvolutionGate):
            time = self.parameters.value(params[0], context)
            return Operation("evolution", tuple(qubits), (time,), MatrixData(reverse_qubit_order(inst.hamiltonian)))
        if isinstance(inst, PauliEvolutionGate):
            return self.pauli_evolution(inst, qubits, context)
        if isinstance(inst, ControlledGate):
            base = _MC_FROM_BASE.get(inst.base_gate.base_class)
            if base is not None and inst.ctrl_state == 2**inst.num_ctrl_qubits - 1:
                if inst.num_ctrl_qubits == 1:
                    base = _SINGLE_CONTROL[base]
                angles = tuple(self.parameters.value(p, context) for p in inst.base_gate.params)
                return Operation(base, tuple(qubits), angles)
        return None

    def pauli_evolution(self, inst: PauliEvolutionGate, qubits: list[int], context: str) -> Operation:
        operators = inst.operator if isinstance(inst.operator, list) else [inst.operator]
        total = SparsePauliOp.sum([SparsePauliOp(o) for o in operators]).simplify(atol=0.0)
        if total.coeffs.dtype == object:
            raise ConversionError(f"{context}: PauliEvolutionGate with symbolic Pauli coefficients is not supported.")
        time = self.parameters.value(inst.params[0], context)
        if len(total) == 1:
            coeff = _real(complex(total.coeffs[0]), context)
            label = total.paulis[0].to_label()[::-1]  # SparsePauliOp keeps phases in the coefficients
            return Operation("pauli_rot", tuple(qubits), (2.0 * coeff * time,), PauliLabel(label))
        hamiltonian = reverse_qubit_order(total.to_matrix())
        return Operation("evolution", tuple(qubits), (time,), MatrixData(hamiltonian))


def circuit_from_qiskit(qc: QuantumCircuit, *, ignore_measurements: bool = False) -> Circuit:
    """Convert a Qiskit ``QuantumCircuit`` to a :class:`~circuits.ir.circuit.Circuit`.

    Gates of our registry map one to one (see the module docstring); every other gate
    is decomposed through its ``definition``, recursively; a parameter-free gate with
    neither loads as a ``unitary`` from its matrix. Barriers and delays are dropped.
    The circuit's global phase (and those of the definitions used) becomes one
    ``global_phase`` operation at the end, when it is not zero.

    Args:
        qc: the Qiskit circuit. Qubit ``i`` (``qc.find_bit(q).index``) becomes our qubit ``i``.
        ignore_measurements: drop final measurements (a measured qubit must not be used
            afterwards). A ``circuits.Circuit`` has no classical bits: backends measure it
            through ``Expectation`` / ``Probabilities`` / ``Samples``. When ``False``
            (default) any measurement raises.

    Raises:
        TypeError: ``qc`` is not a ``QuantumCircuit``.
        ConversionError: measurements (unless ignored), mid-circuit measurements, resets,
            classical control, parameter expressions that are not polynomials, parameter
            names that are not identifiers, or gates with neither definition nor matrix.
            The message names the instruction.
    """
    if not isinstance(qc, QuantumCircuit):
        raise TypeError(f"circuit_from_qiskit expects a qiskit QuantumCircuit, got {type(qc).__name__}.")
    if qc.num_qubits < 1:
        raise ConversionError("circuit_from_qiskit: the Qiskit circuit has no qubits; a circuits.Circuit needs >= 1.")
    loader = _Loader(ignore_measurements)
    loader.load(qc, list(range(qc.num_qubits)), 0, "Qiskit circuit")
    operations = loader.operations
    if not loader.phase.is_constant or loader.phase.constant != 0.0:
        operations.append(Operation("global_phase", (), (loader.phase,)))
    return Circuit(qc.num_qubits, operations)


# -- parameter bindings for Aer ---------------------------------------------------------------


def qiskit_parameter_binds(qc: QuantumCircuit, values: Mapping[str, Any]) -> dict[Parameter, list[float]]:
    """Aer ``parameter_binds`` for a batch of our parameter values.

    Each Qiskit parameter of ``qc`` gets its column of the values: an element
    ``theta[i]`` of a ``ParameterVector`` gets ``values["theta"][:, i]``; a plain
    ``Parameter("a")`` gets ``values["a"][:, 0]`` (the naming of
    :func:`circuit_from_qiskit`).

    Args:
        qc: a circuit from :func:`circuit_to_qiskit` (or any circuit following that naming).
        values: vector name to values of shape ``(batch_size, size)`` or ``(size,)`` (a batch of 1);
            numpy arrays, torch tensors (detached) or nested lists.

    Returns:
        ``{parameter: [value for each binding]}``, every list of length ``batch_size``;
        ``AerSimulator.run(qc, parameter_binds=[result])`` runs the whole batch in one call.
        Caveat: qiskit-aer 0.18 ignores these binds on parametrized controlled gates (``cp``,
        ``crx``, ``cry``, ``crz``, ...; Qiskit/qiskit-aer#2403): transpile to a basis without
        them (e.g. ``["u", "cx"]``) first; parameter names survive transpilation. It also
        ignores a symbolic global phase (states differ by a phase; expectation values and
        probabilities are unaffected).

    Raises:
        UnboundParameterError: a parameter of ``qc`` has no values.
        BindingError: a name that ``qc`` does not use, a wrong size, or batch sizes that differ.
    """
    arrays: dict[str, np.ndarray] = {}
    for name, value in values.items():
        if hasattr(value, "detach"):
            value = value.detach().cpu().numpy()
        array = np.asarray(value, dtype=np.float64)
        if array.ndim == 1:
            array = array[None, :]
        if array.ndim != 2:
            raise BindingError(
                f"Values of {name!r} must have shape (batch_size, size) or (size,), got shape {array.shape}."
            )
        arrays[name] = array
    batch_sizes = {a.shape[0] for a in arrays.values()}
    if len(batch_sizes) > 1:
        shapes = {name: a.shape for name, a in arrays.items()}
        raise BindingError(f"All parameter values need the same batch size, got shapes {shapes}.")
    binds: dict[Parameter, list[float]] = {}
    used: set[str] = set()
    for parameter in qc.parameters:
        if isinstance(parameter, ParameterVectorElement):
            name, index, size = parameter.vector.name, parameter.index, len(parameter.vector)
        else:
            name, index, size = parameter.name, 0, 1
        if name not in arrays:
            raise UnboundParameterError(
                f"Qiskit parameter {parameter.name!r} needs values under {name!r} (shape (batch_size, {size})); "
                f"got values for {sorted(arrays)}."
            )
        array = arrays[name]
        if array.shape[1] != size:
            raise BindingError(f"Parameter vector {name!r} has size {size}, got values of shape {array.shape}.")
        binds[parameter] = array[:, index].tolist()
        used.add(name)
    surplus = sorted(set(arrays) - used)
    if surplus:
        raise BindingError(
            f"Values given for {surplus}, which the Qiskit circuit does not use (it uses {sorted(used)}); remove them."
        )
    return binds


# -- observables ------------------------------------------------------------------------------


def pauli_sum_to_qiskit(observable: PauliSum, num_qubits: int | None = None) -> SparsePauliOp:
    """Our Pauli observable as a Qiskit ``SparsePauliOp`` (labels reversed: Qiskit's rightmost letter is qubit 0).

    Args:
        observable: the observable.
        num_qubits: width of the operator, at least one more than the highest qubit the
            observable acts on; by default exactly that (1 for a multiple of the identity).

    Returns:
        A ``SparsePauliOp`` on ``num_qubits`` qubits with real coefficients, equal to
        ``observable`` under Qiskit's qubit order (``Statevector(circuit_to_qiskit(c))
        .expectation_value(result)`` is our ``<observable>``).

    Raises:
        TypeError: ``observable`` is not a :class:`~circuits.ir.observables.PauliSum`.
        ValueError: ``num_qubits`` smaller than the observable needs.
    """
    if not isinstance(observable, PauliSum):
        raise TypeError(f"pauli_sum_to_qiskit expects a circuits PauliSum, got {type(observable).__name__}.")
    needed = max(observable.qubits, default=-1) + 1
    width = max(needed, 1) if num_qubits is None else num_qubits
    if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < max(needed, 1):
        raise ValueError(
            f"num_qubits={num_qubits!r} is too small: the observable acts on qubit(s) {list(observable.qubits)}, "
            f"so it needs at least {max(needed, 1)}."
        )
    return SparsePauliOp.from_sparse_list(sparse_terms(observable), int(width))  # qubit indices: no label reversal


def pauli_sum_from_qiskit(observable: Any, num_qubits: int | None = None) -> PauliSum:
    """A Qiskit Pauli observable as our :class:`~circuits.ir.observables.PauliSum`.

    Args:
        observable: a ``SparsePauliOp``, a ``Pauli``, a Qiskit label string, or a
            ``{label: coeff}`` mapping (an ``ObservablesArray`` entry); labels are Qiskit's
            (little-endian: the rightmost letter acts on qubit 0).
        num_qubits: when given, every label must have this many letters (one per circuit qubit).

    Returns:
        The same observable, the letter at label position ``len(label) - 1 - q`` acting on our qubit ``q``.

    Raises:
        TypeError: an unsupported observable type, or symbolic coefficients.
        ValueError: a coefficient with a nonzero imaginary part (not Hermitian), a label of the wrong
            length, or letters other than I, X, Y, Z.
    """
    if isinstance(observable, SparsePauliOp | Pauli):
        labels = [observable.to_label()] if isinstance(observable, Pauli) else [p.to_label() for p in observable.paulis]
    elif isinstance(observable, str):
        labels = [observable]
    elif isinstance(observable, Mapping):
        labels = list(observable)
    else:
        raise TypeError(
            f"Expected a Pauli observable ({{label: coeff}} dict, SparsePauliOp, Pauli or label str), "
            f"got {type(observable).__name__}."
        )
    if num_qubits is not None:
        for label in labels:
            letters = label.lstrip("-ij")
            if len(letters) != num_qubits:
                raise ValueError(
                    f"Observable label {letters!r} has {len(letters)} letters, expected {num_qubits} "
                    "(one per circuit qubit)."
                )
    return PauliSum.from_qiskit(observable)
