"""Convert circuits and observables to PennyLane operations.

Every gate of :data:`circuits.ir.gates.GATES` maps to PennyLane operators on wires
equal to our qubit indices. PennyLane orders wires like this project (the first
wire is the most significant bit of a flat index), so no reordering happens here.

Gates with a native PennyLane operator use it (``rx`` -> ``qp.RX``, ``rxx`` ->
``qp.IsingXX``, ``pauli_rot`` -> ``qp.PauliRot`` ...); a few are short sequences of
native operators (``dcx``, ``xx_plus_yy``, ``cu``, ``r``); the rest
(``rccx``, ``rcccx``, ``evolution``, ``unitary``) become ``qp.QubitUnitary`` with our
big-endian matrix, which is PennyLane's matrix convention too.

Conventions checked against the matrices (tests pin them):

* ``global_phase(theta)`` is ``exp(i theta) I`` here (and in Qiskit), while
  ``qp.GlobalPhase(phi)`` is ``exp(-i phi) I``: the angle is negated.
* ``u(theta, phi, lam)`` equals ``qp.U3(theta, phi, lam)`` entry for entry, and
  ``u2(phi, lam)`` equals ``qp.U2(phi, lam)``.
* ``rxx(theta)`` is ``qp.IsingXX(theta) = exp(-i theta XX / 2)`` (same for ``ryy``, ``rzz``),
  ``pauli_rot(theta)[P]`` is ``qp.PauliRot(theta, P) = exp(-i theta P / 2)``.

Noise channels (:mod:`circuits.ir.channels`) become PennyLane's channels, which mixed-state devices
(``default.mixed``, ``qml_hybrid.mixed``) simulate; conventions checked against the Kraus operators:

* ``depolarizing(p)`` on one qubit is ``qp.DepolarizingChannel(3/4 * p)``: ours is Qiskit's
  ``(1 - p) rho + p I / 2``, PennyLane's ``DepolarizingChannel(q)`` applies X, Y, Z each with ``q / 3``.
* ``amplitude_damping``, ``phase_damping``, ``bit_flip``, ``phase_flip`` are ``qp.AmplitudeDamping``,
  ``qp.PhaseDamping``, ``qp.BitFlip``, ``qp.PhaseFlip`` with the same parameter.
* ``thermal_relaxation(t1, t2, time, p1)`` is ``qp.ThermalRelaxationError(p1, t1, t2, time)``.
* ``kraus``, ``pauli_channel`` and the two-qubit ``depolarizing`` are ``qp.QubitChannel`` of our Kraus
  operators (torch tensors when a parameter is one, so ``default.mixed`` differentiates through them).

Example:
    >>> import pennylane as qp
    >>> from circuits import Circuit, ParameterVector, Z
    >>> theta = ParameterVector("theta", 1)
    >>> circuit = Circuit(2).h(0).cx(0, 1).rz(theta[0], 1)
    >>> ops = circuit_to_pennylane_ops(circuit, {"theta": [0.3]})
    >>> [op.name for op in ops]
    ['Hadamard', 'CNOT', 'RZ']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pennylane as qp
import torch

from circuits.errors import BindingError
from circuits.ir.channels import CHANNELS, channel_kraus
from circuits.ir.circuit import Circuit
from circuits.ir.gates import PauliLabel, gate_matrix, gate_spec
from circuits.ir.observables import Observable, PauliSum, Projector
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle

__all__ = [
    "circuit_to_pennylane_batch",
    "circuit_to_pennylane_ops",
    "circuit_to_qfunc",
    "observable_to_pennylane",
    "operation_to_pennylane",
]

Scalar = float | torch.Tensor
"""A numeric angle: a Python float, or a 0-d torch tensor (keeps autograd history)."""

_Builder = Callable[[list[int], list[Scalar], Operation], list[qp.operation.Operator]]


def _matrix_of(op: Operation, params: Sequence[Scalar]) -> np.ndarray | torch.Tensor:
    """Our big-endian matrix of ``op`` at numeric ``params``; a torch tensor when a parameter is a tensor."""
    differentiable = any(isinstance(p, torch.Tensor) for p in params)
    if params:
        angles = torch.stack([torch.as_tensor(p, dtype=torch.float64).reshape(()) for p in params])
    else:
        angles = torch.zeros(0, dtype=torch.float64)
    matrix = gate_matrix(op.name, angles, op.data, len(op.qubits))
    return matrix if differentiable else matrix.detach().numpy()


def _unitary(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    return [qp.QubitUnitary(_matrix_of(op, params), wires=wires)]


def _kraus_of(op: Operation, params: Sequence[Scalar]) -> list[np.ndarray] | torch.Tensor:
    """Our Kraus operators of a channel at numeric ``params``.

    A list of arrays, or one ``(K, d, d)`` tensor (keeping autograd history) when a parameter is a tensor.
    """
    differentiable = any(isinstance(p, torch.Tensor) for p in params)
    if params:
        values = torch.stack([torch.as_tensor(p, dtype=torch.float64).reshape(()) for p in params])
    else:
        values = torch.zeros(0, dtype=torch.float64)
    kraus = channel_kraus(op.name, values, op.data, op.num_qubits)
    return kraus if differentiable else list(kraus.detach().numpy())


def _qubit_channel(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    return [qp.QubitChannel(_kraus_of(op, params), wires=wires)]


def _depolarizing(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    # ours (Qiskit's): (1 - p) rho + p I / 2 = X, Y, Z each with p / 4; PennyLane's q: each with q / 3.
    if len(wires) != 1:
        return _qubit_channel(wires, params, op)
    return [qp.DepolarizingChannel(0.75 * params[0], wires=wires)]


def _thermal_relaxation(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    t1, t2, time, excited = params
    return [qp.ThermalRelaxationError(excited, t1, t2, time, wires=wires)]


def _fixed(cls: Callable[..., qp.operation.Operator]) -> _Builder:
    return lambda wires, params, op: [cls(wires=wires)]


def _adjoint(cls: Callable[..., qp.operation.Operator]) -> _Builder:
    return lambda wires, params, op: [qp.adjoint(cls(wires=wires))]


def _param(cls: Callable[..., qp.operation.Operator]) -> _Builder:
    return lambda wires, params, op: [cls(*params, wires=wires)]


def _controlled(base: _Builder) -> _Builder:
    """``base`` on the last wire, controlled on every wire before it (all in state 1)."""

    def build(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
        return [qp.ctrl(target, control=wires[:-1]) for target in base(wires[-1:], params, op)]

    return build


def _r(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    # R(theta, phi) = RZ(phi) RX(theta) RZ(-phi) = RZ(phi - pi/2) RY(theta) RZ(pi/2 - phi)
    #              = Rot(pi/2 - phi, theta, phi - pi/2), with no global phase.
    theta, phi = params
    return [qp.Rot(math.pi / 2 - phi, theta, phi - math.pi / 2, wires=wires)]


def _global_phase(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    # ours: exp(+i theta); PennyLane's GlobalPhase(phi) is exp(-i phi).
    return [qp.GlobalPhase(-params[0], wires=wires)]


def _dcx(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    a, b = wires
    return [qp.CNOT(wires=[a, b]), qp.CNOT(wires=[b, a])]


def _cu(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    # controlled exp(i gamma) U3 = PhaseShift(gamma) on the control, then controlled U3.
    theta, phi, lam, gamma = params
    control, target = wires
    return [qp.PhaseShift(gamma, wires=control), qp.ctrl(qp.U3(theta, phi, lam, wires=target), control=control)]


def _xx_plus_yy(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    # exp(-i theta (XX + YY) / 4) conjugated by RZ(beta) on the first qubit; XX and YY commute.
    theta, beta = params
    first = wires[0]
    return [
        qp.RZ(beta, wires=first),
        qp.IsingXX(theta / 2, wires=wires),
        qp.IsingYY(theta / 2, wires=wires),
        qp.RZ(-beta, wires=first),
    ]


def _xx_minus_yy(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    # exp(-i theta (XX - YY) / 4) conjugated by RZ(-beta) on the first qubit.
    theta, beta = params
    first = wires[0]
    return [
        qp.RZ(-beta, wires=first),
        qp.IsingXX(theta / 2, wires=wires),
        qp.IsingYY(-theta / 2, wires=wires),
        qp.RZ(beta, wires=first),
    ]


def _mcx(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    if len(wires) == 2:
        return [qp.CNOT(wires=wires)]
    if len(wires) == 3:
        return [qp.Toffoli(wires=wires)]
    return [qp.MultiControlledX(wires=wires)]


def _pauli_rot(wires: list[int], params: list[Scalar], op: Operation) -> list[qp.operation.Operator]:
    assert isinstance(op.data, PauliLabel)
    return [qp.PauliRot(params[0], op.data.label, wires=wires)]


_BUILDERS: dict[str, _Builder] = {
    "id": _fixed(qp.Identity),
    "x": _fixed(qp.PauliX),
    "y": _fixed(qp.PauliY),
    "z": _fixed(qp.PauliZ),
    "h": _fixed(qp.Hadamard),
    "s": _fixed(qp.S),
    "sdg": _adjoint(qp.S),
    "t": _fixed(qp.T),
    "tdg": _adjoint(qp.T),
    "sx": _fixed(qp.SX),
    "sxdg": _adjoint(qp.SX),
    "rx": _param(qp.RX),
    "ry": _param(qp.RY),
    "rz": _param(qp.RZ),
    "p": _param(qp.PhaseShift),
    "u1": _param(qp.PhaseShift),
    "u": _param(qp.U3),
    "u3": _param(qp.U3),
    "u2": _param(qp.U2),
    "r": _r,
    "global_phase": _global_phase,
    "cx": _fixed(qp.CNOT),
    "cy": _fixed(qp.CY),
    "cz": _fixed(qp.CZ),
    "ch": _fixed(qp.CH),
    "cs": _controlled(_fixed(qp.S)),
    "csdg": _controlled(_adjoint(qp.S)),
    "csx": _controlled(_fixed(qp.SX)),
    "swap": _fixed(qp.SWAP),
    "iswap": _fixed(qp.ISWAP),
    "dcx": _dcx,
    "ecr": _fixed(qp.ECR),
    "crx": _param(qp.CRX),
    "cry": _param(qp.CRY),
    "crz": _param(qp.CRZ),
    "cp": _param(qp.ControlledPhaseShift),
    "cu1": _param(qp.ControlledPhaseShift),
    "cu3": _controlled(_param(qp.U3)),
    "cu": _cu,
    "rxx": _param(qp.IsingXX),
    "ryy": _param(qp.IsingYY),
    "rzz": _param(qp.IsingZZ),
    "rzx": lambda wires, params, op: [qp.PauliRot(params[0], "ZX", wires=wires)],
    "xx_plus_yy": _xx_plus_yy,
    "xx_minus_yy": _xx_minus_yy,
    "ccx": _fixed(qp.Toffoli),
    "ccz": _fixed(qp.CCZ),
    "cswap": _fixed(qp.CSWAP),
    "rccx": _unitary,
    "c3sx": _controlled(_fixed(qp.SX)),
    "rcccx": _unitary,
    "mcx": _mcx,
    "mcphase": _controlled(_param(qp.PhaseShift)),
    "mcrx": _controlled(_param(qp.RX)),
    "mcry": _controlled(_param(qp.RY)),
    "mcrz": _controlled(_param(qp.RZ)),
    "pauli_rot": _pauli_rot,
    "evolution": _unitary,
    "unitary": _unitary,
    # noise channels
    "depolarizing": _depolarizing,
    "amplitude_damping": _param(qp.AmplitudeDamping),
    "phase_damping": _param(qp.PhaseDamping),
    "bit_flip": _param(qp.BitFlip),
    "phase_flip": _param(qp.PhaseFlip),
    "pauli_channel": _qubit_channel,
    "thermal_relaxation": _thermal_relaxation,
    "kraus": _qubit_channel,
}
"""Gate or channel name to a builder ``f(wires, numeric params, operation) -> [PennyLane operators]``.
Registered gates missing here fall back to ``qp.QubitUnitary`` of their matrix, channels to ``qp.QubitChannel``."""


def _coerce_values(circuit: Circuit, values: Mapping[str, Any] | None) -> dict[str, Any]:
    """Check ``values`` against the circuit's parameter vectors; arrays become float64 numpy, tensors stay."""
    values = {} if values is None else values
    if not isinstance(values, Mapping):
        raise TypeError(
            f"values is a mapping from parameter vector name to a vector of numbers, e.g. {{'theta': [0.1, 0.2]}}; "
            f"got {type(values).__name__}."
        )
    circuit.check_parameter_names(values, keyword="values")
    expected = circuit.parameters
    out: dict[str, Any] = {}
    for name, size in expected.items():
        raw = values[name]
        value = raw if isinstance(raw, torch.Tensor) else np.asarray(raw, dtype=np.float64)
        if tuple(value.shape) != (size,):
            raise BindingError(
                f"Parameter vector {name!r} has size {size}: expected one binding of shape ({size},), "
                f"got shape {tuple(value.shape)}. Convert one binding at a time (PennyLaneBackend does this "
                "for batches)."
            )
        out[name] = value
    return out


def _evaluate(angle: Angle, values: Mapping[str, Any]) -> Scalar:
    """The numeric value of an angle: a float, or a 0-d tensor when it depends on a torch tensor."""
    result: Any = angle.constant
    for coeff, symbols in angle.terms:
        term: Any = coeff
        for s in symbols:
            term = term * values[s.vector][s.index]
        result = result + term
    if isinstance(result, torch.Tensor):
        return result
    return float(result)


def operation_to_pennylane(op: Operation, params: Sequence[Scalar]) -> list[qp.operation.Operator]:
    """The PennyLane operators of one operation at numeric angles.

    Args:
        op: the operation (its symbolic angles are ignored; ``params`` replaces them).
        params: one number or 0-d tensor per gate parameter.

    Returns:
        Operators on wires ``op.qubits`` whose product (in order) equals the operation's matrix; for a noise
        channel, PennyLane's channel (see the module docstring).

    Raises:
        InvalidChannelError: a channel parameter out of its range (a probability outside ``[0, 1]`` ...).
    """
    params = list(params)
    if op.is_channel:
        if params:  # our range checks and messages, before PennyLane's
            values = torch.tensor([[float(torch.as_tensor(p).detach()) for p in params]], dtype=torch.float64)
            CHANNELS[op.name].check_values(values, op.num_qubits)
    else:
        gate_spec(op.name)  # raises UnknownGateError for names outside the registry
    like = next((p for p in params if isinstance(p, torch.Tensor)), None)
    if like is not None:  # one parameter type per operator: PennyLane mixes floats and tensors poorly
        params = [p if isinstance(p, torch.Tensor) else torch.tensor(p, dtype=like.dtype) for p in params]
    builder = _BUILDERS.get(op.name, _qubit_channel if op.is_channel else _unitary)
    with qp.QueuingManager.stop_recording():
        return builder(list(op.qubits), params, op)


def circuit_to_pennylane_ops(circuit: Circuit, values: Mapping[str, Any] | None = None) -> list[qp.operation.Operator]:
    """Convert a circuit, with one binding of its parameters, to PennyLane operators.

    Args:
        circuit: the circuit.
        values: parameter vector name to one binding of shape ``(size,)``: lists, numpy arrays
            or torch tensors. Tensors are used as they are (their autograd history flows into
            the PennyLane operators); other values become float64.

    Returns:
        The operators in application order, on wires equal to our qubit indices. They are not
        queued into an active PennyLane recording (use :func:`circuit_to_qfunc` inside a QNode).

    Raises:
        UnboundParameterError: a parameter vector of the circuit has no value.
        BindingError: a surplus name or a value of the wrong shape.

    Shape:
        - values[name]: ``(size,)``.
    """
    bound = _coerce_values(circuit, values)
    ops: list[qp.operation.Operator] = []
    with qp.QueuingManager.stop_recording():  # build only; circuit_to_qfunc queues them once
        for op in circuit.operations:
            ops.extend(operation_to_pennylane(op, [_evaluate(p, bound) for p in op.params]))
    return ops


def circuit_to_pennylane_batch(
    circuit: Circuit, values: Mapping[str, np.ndarray], batch_size: int
) -> list[list[qp.operation.Operator]]:
    """Convert a circuit for a batch of bindings: one operator list per binding.

    Operations whose angles are all constant are converted once and the same operator objects
    shared by every list (PennyLane operators are not mutated by tapes or devices); do not queue
    these lists inside a QNode (a queue holds each object once), use :func:`circuit_to_qfunc` there.

    Args:
        circuit: the circuit.
        values: parameter vector name to float64 arrays of shape ``(1 or batch_size, size)``,
            already validated (as :func:`circuits.backend.bind_parameters` returns them).
        batch_size: number of bindings.

    Returns:
        ``batch_size`` lists of operators, in application order.

    Shape:
        - values[name]: ``(1, size)`` (shared) or ``(batch_size, size)``.
    """
    with qp.QueuingManager.stop_recording():
        shared = [
            operation_to_pennylane(op, [p.constant for p in op.params])
            if all(p.is_constant for p in op.params)
            else None
            for op in circuit.operations
        ]
        batch = []
        for b in range(batch_size):
            binding = {name: v[b if v.shape[0] > 1 else 0] for name, v in values.items()}
            ops: list[qp.operation.Operator] = []
            for op, fixed in zip(circuit.operations, shared, strict=True):
                if fixed is None:
                    fixed = operation_to_pennylane(op, [_evaluate(p, binding) for p in op.params])
                ops.extend(fixed)
            batch.append(ops)
    return batch


def circuit_to_qfunc(circuit: Circuit) -> Callable[[Mapping[str, Any] | None], None]:
    """A quantum function that queues the circuit's operators, for use inside a ``qp.qnode``.

    Example:
        >>> import pennylane as qp
        >>> from circuits import Circuit, ParameterVector
        >>> theta = ParameterVector("theta", 1)
        >>> qfunc = circuit_to_qfunc(Circuit(1).rx(theta[0], 0))
        >>> @qp.qnode(qp.device("default.qubit", wires=1))
        ... def f(values):
        ...     qfunc(values)
        ...     return qp.expval(qp.PauliZ(0))
        >>> round(float(f({"theta": [0.0]})), 6)
        1.0

    Args:
        circuit: the circuit.

    Returns:
        ``qfunc(values)``: applies the operators for ``values`` (as in :func:`circuit_to_pennylane_ops`).
    """

    def qfunc(values: Mapping[str, Any] | None = None) -> None:
        for op in circuit_to_pennylane_ops(circuit, values):
            qp.apply(op)

    return qfunc


def observable_to_pennylane(observable: Observable) -> qp.operation.Operator:
    """Convert an observable to a PennyLane operator.

    ``PauliSum`` becomes a sum (``qp.sum``) of scalar products (``qp.s_prod``) of products of
    ``qp.PauliX/Y/Z`` (the identity term as ``qp.Identity``); ``Projector`` becomes
    ``qp.Projector(bits, wires)``.

    Raises:
        TypeError: not a ``PauliSum`` or ``Projector``.
    """
    if isinstance(observable, Projector):
        with qp.QueuingManager.stop_recording():
            return qp.Projector(list(observable.bits), wires=list(observable.qubits))
    if not isinstance(observable, PauliSum):
        raise TypeError(f"Observables are PauliSum or Projector, got {type(observable).__name__}.")
    letters = {"X": qp.PauliX, "Y": qp.PauliY, "Z": qp.PauliZ}
    anchor = observable.qubits[0] if observable.qubits else 0
    terms: list[qp.operation.Operator] = []
    with qp.QueuingManager.stop_recording():
        for term in observable.terms:
            factors = [letters[letter](wires=q) for q, letter in term.paulis]
            product = qp.prod(*factors) if len(factors) > 1 else factors[0] if factors else qp.Identity(wires=anchor)
            terms.append(qp.s_prod(term.coeff, product))
        if not terms:  # the zero observable
            return qp.s_prod(0.0, qp.Identity(wires=anchor))
        # A sum of scalar products, not qp.Hamiltonian: PennyLane 0.45 drops results when a tape with
        # shots measures several single-term Hamiltonians (LinearCombination).
        return terms[0] if len(terms) == 1 else qp.sum(*terms)
