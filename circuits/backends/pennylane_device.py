"""``QmlHybridQubit``: a PennyLane device (``qp.device("qml_hybrid.qubit", wires=...)``) on our torch engine.

Two names, one class: ``qml_hybrid.qubit`` simulates the state vector and switches to the density matrix
for a tape with noise channels (``method="auto"``); ``qml_hybrid.mixed`` (:class:`QmlHybridMixed`)
simulates every tape as a density matrix, like PennyLane's ``default.mixed``. PennyLane's channels
(``DepolarizingChannel``, ``AmplitudeDamping``, ``ThermalRelaxationError``, ``QubitChannel`` ...) become
our channels (:mod:`circuits.backends.pennylane_channels`, which gives each convention) and run on the
batched density-matrix engine (:mod:`circuits.sim.density`), with backprop through gate angles and
channel strengths alike.

The device implements PennyLane's current device API (:class:`pennylane.devices.Device`):

* **Preprocessing** decomposes every operator our gate registry lacks with PennyLane's own
  decompositions (templates, controlled operators ...); mid-circuit measurements are deferred; with
  finite shots, non-commuting measurements are split into groups and Pauli observables are rotated to
  the computational basis.
* **State preparation**: a ``StatePrep``, ``AmplitudeEmbedding`` or ``BasisState`` that opens the tape
  is applied directly, as ``default.qubit`` does: its state vector (normalised and padded by PennyLane,
  differentiable) is the engine's initial state. Decomposing it instead (Mottonen rotations) makes the
  gradient NaN wherever a feature is zero, although the prepared state is smooth there. A state
  preparation later in the tape is decomposed.
* **Execution** translates a tape into one of our :class:`~circuits.ir.circuit.Circuit` objects whose
  angles are symbols ``p[0] ... p[k-1]`` (one per numeric parameter of the tape), so a repeated circuit
  structure reuses the compiled plan, and a **broadcast** tape (parameters with a batch axis) runs as one
  batched call of :class:`~circuits.sim.torch_backend.TorchBackend` with a ``(B, k)`` parameter tensor.
  Analytic measurements are computed from our final state with PennyLane's measurement functions;
  finite-shot measurements from samples drawn by our engine (``seed=`` makes them reproducible; seed 0
  is a seed), shot vectors included.
* **Derivatives**: with the torch interface the device declares ``"backprop"`` (``diff_method="best"``
  picks it, and an explicit ``diff_method="backprop"`` is accepted): torch tensors flow through our
  engine and autograd differentiates the simulation. Other interfaces (autograd, numpy) and finite
  shots use PennyLane's parameter-shift rules; asking them for ``"backprop"`` explicitly raises a
  ``QuantumFunctionError`` that says so when the QNode runs (at creation PennyLane does not yet
  tell a device the interface).

Example:
    >>> import pennylane as qp, torch
    >>> dev = qp.device("qml_hybrid.qubit", wires=1)
    >>> @qp.qnode(dev, interface="torch")
    ... def f(x):
    ...     qp.RY(x, 0)
    ...     return qp.expval(qp.Z(0))
    >>> x = torch.tensor(0.4, dtype=torch.float64, requires_grad=True)
    >>> f(x).backward()   # backprop through our engine
"""

from __future__ import annotations

import dataclasses
import functools
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pennylane as qp
import torch
from pennylane.devices import Device, ExecutionConfig
from pennylane.devices.modifiers import simulator_tracking, single_tape_support
from pennylane.devices.preprocess import (
    decompose,
    validate_device_wires,
    validate_measurements,
)
from pennylane.devices.qubit.measure import measure
from pennylane.devices.qubit_mixed.measure import measure as measure_mixed
from pennylane.math import Interface
from pennylane.operation import StatePrepBase
from pennylane.tape import QuantumScript
from pennylane.transforms import broadcast_expand, defer_measurements, diagonalize_measurements, split_non_commuting
from pennylane.transforms.core import CompilePipeline
from pennylane.typing import PostprocessingFn

from circuits.backend import Expectation, StateVector, bind_parameters, check_state_memory
from circuits.backends.pennylane_channels import (
    CHANNEL_OPERATIONS,
    is_kraus_fallback,
    kraus_channel,
    native_channel,
    unsupported_channel_error,
)
from circuits.ir.circuit import Circuit
from circuits.ir.gates import MatrixData, PauliLabel
from circuits.ir.observables import PauliString, PauliSum
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, ParameterVector
from circuits.sim.density import density_expectations, density_probabilities, simulate_density
from circuits.sim.engine import evolve
from circuits.sim.measure import expectations, probabilities, sample_bits
from circuits.sim.plan import Plan, compile_plan
from circuits.sim.torch_backend import TorchBackend

__all__ = ["SUPPORTED_CHANNELS", "SUPPORTED_OPERATIONS", "QmlHybridMixed", "QmlHybridQubit"]

_Emit = Callable[[Sequence[int], Sequence[Angle], qp.operation.Operator], list[Operation]]


def _gate(name: str) -> _Emit:
    return lambda qubits, angles, op: [Operation(name, tuple(qubits), tuple(angles))]


def _rot(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    # Rot(phi, theta, omega) = RZ(omega) RY(theta) RZ(phi)
    phi, theta, omega = angles
    q = tuple(qubits)
    return [Operation("rz", q, (phi,)), Operation("ry", q, (theta,)), Operation("rz", q, (omega,))]


def _global_phase(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    # PennyLane: GlobalPhase(phi) = exp(-i phi) I; ours: global_phase(theta) = exp(+i theta) I.
    return [Operation("global_phase", (), (-angles[0],))]


def _pauli_rot(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    word = op.hyperparameters["pauli_word"]
    return [Operation("pauli_rot", tuple(qubits), (angles[0],), PauliLabel(word))]


def _multi_rz(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    return [Operation("pauli_rot", tuple(qubits), (angles[0],), PauliLabel("Z" * len(qubits)))]


def _multi_controlled_x(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    values = op.hyperparameters["control_values"]
    controls = list(qubits[:-1])
    flips = [Operation("x", (q,)) for q, v in zip(controls, values, strict=True) if not v]
    return [*flips, Operation("mcx", tuple(qubits)), *flips]


def _qubit_unitary(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    matrix = op.data[0]
    matrix = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else qp.math.unwrap(matrix)
    return [Operation("unitary", tuple(qubits), (), MatrixData(np.asarray(matrix, dtype=np.complex128)))]


def _matrix_gate(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    matrix = qp.math.unwrap(op.matrix(wire_order=op.wires))
    matrix = matrix.detach().cpu().numpy() if isinstance(matrix, torch.Tensor) else np.asarray(matrix)
    return [Operation("unitary", tuple(qubits), (), MatrixData(matrix.astype(np.complex128)))]


def _nothing(qubits: Sequence[int], angles: Sequence[Angle], op: qp.operation.Operator) -> list[Operation]:
    return []


# PennyLane operator name -> (how to emit our operations, whether its data are angles)
_OPERATIONS: dict[str, tuple[_Emit, bool]] = {
    "Identity": (_nothing, True),
    "PauliX": (_gate("x"), True),
    "PauliY": (_gate("y"), True),
    "PauliZ": (_gate("z"), True),
    "Hadamard": (_gate("h"), True),
    "S": (_gate("s"), True),
    "Adjoint(S)": (_gate("sdg"), True),
    "T": (_gate("t"), True),
    "Adjoint(T)": (_gate("tdg"), True),
    "SX": (_gate("sx"), True),
    "Adjoint(SX)": (_gate("sxdg"), True),
    "RX": (_gate("rx"), True),
    "RY": (_gate("ry"), True),
    "RZ": (_gate("rz"), True),
    "PhaseShift": (_gate("p"), True),
    "U1": (_gate("p"), True),
    "U2": (_gate("u2"), True),
    "U3": (_gate("u3"), True),
    "Rot": (_rot, True),
    "GlobalPhase": (_global_phase, True),
    "CNOT": (_gate("cx"), True),
    "CY": (_gate("cy"), True),
    "CZ": (_gate("cz"), True),
    "CH": (_gate("ch"), True),
    "SWAP": (_gate("swap"), True),
    "ISWAP": (_gate("iswap"), True),
    "ECR": (_gate("ecr"), True),
    "CRX": (_gate("crx"), True),
    "CRY": (_gate("cry"), True),
    "CRZ": (_gate("crz"), True),
    "ControlledPhaseShift": (_gate("cp"), True),
    "IsingXX": (_gate("rxx"), True),
    "IsingYY": (_gate("ryy"), True),
    "IsingZZ": (_gate("rzz"), True),
    "Toffoli": (_gate("ccx"), True),
    "CSWAP": (_gate("cswap"), True),
    "CCZ": (_gate("ccz"), True),
    "MultiControlledX": (_multi_controlled_x, True),
    "PauliRot": (_pauli_rot, True),
    "MultiRZ": (_multi_rz, True),
    "QubitUnitary": (_qubit_unitary, False),
}

SUPPORTED_OPERATIONS = frozenset(_OPERATIONS)
"""Names of the PennyLane gates the device runs natively; everything else is decomposed into them."""

SUPPORTED_CHANNELS = frozenset(CHANNEL_OPERATIONS)
"""PennyLane channels run as our channels with symbolic parameters (density-matrix method); any other channel
with constant parameters runs as our ``kraus`` channel (:mod:`circuits.backends.pennylane_channels`)."""

_OPERATIONS.update(CHANNEL_OPERATIONS)


def _constant_data(op: qp.operation.Operator) -> bool:
    """Whether the operator's data can become a constant matrix (no batch axis, no autograd history)."""
    if op.batch_size is not None:
        return False
    for x in op.data:
        if isinstance(x, torch.Tensor) and x.requires_grad:
            return False
        if qp.math.get_interface(x) not in ("numpy", "torch"):
            return False
    return True


def _is_matrix_fallback(op: qp.operation.Operator) -> bool:
    """An operator with a matrix but no decomposition (``BlockEncode`` ...) runs as our ``unitary`` gate."""
    return (
        op.name not in _OPERATIONS
        and op.has_matrix
        and not op.has_decomposition
        and len(op.wires) > 0
        and _constant_data(op)
    )


def _supports_operation(op: qp.operation.Operator) -> bool:
    """The state-vector method's stopping condition: gates only."""
    name = getattr(op, "name", None)
    if name == "QubitUnitary":
        # a batched or trainable matrix cannot become our constant ``unitary`` payload: decompose it
        return _constant_data(op)
    if name in CHANNEL_OPERATIONS:
        return False
    return name in _OPERATIONS or _is_matrix_fallback(op)


def _supports_operation_or_channel(op: qp.operation.Operator) -> bool:
    """The density-matrix method's stopping condition: gates, channels, and ``QubitDensityMatrix`` (as the first op)."""
    if isinstance(op, qp.QubitDensityMatrix):
        return True
    if isinstance(op, qp.operation.Channel):
        return native_channel(op) or is_kraus_fallback(op)
    return _supports_operation(op)


def _with_shots_only(inner: Callable[..., tuple[Sequence[QuantumScript], PostprocessingFn]]) -> qp.transform:
    """A transform that applies ``inner`` to tapes with finite shots and leaves analytic tapes alone."""

    def apply(tape: QuantumScript) -> tuple[Sequence[QuantumScript], PostprocessingFn]:
        if not tape.shots:
            return (tape,), lambda results: results[0]
        return inner(tape)

    apply.__name__ = f"{getattr(inner, '__name__', 'transform')}_with_shots"
    return qp.transform(apply)


def _decompose_or_expand(tape: QuantumScript, **kwargs: Any) -> tuple[Sequence[QuantumScript], PostprocessingFn]:
    """PennyLane's ``decompose``, splitting a broadcast tape first when its batch cannot be decomposed.

    A batch of two-qubit ``QubitUnitary`` matrices, for example, has no batched decomposition: such a
    tape becomes one tape per batch entry (the only case where the device does not run a batch at once).
    """
    try:
        return decompose(tape, **kwargs)
    except (qp.exceptions.DeviceError, qp.exceptions.DecompositionUndefinedError):
        if tape.batch_size is None:
            _raise_for_channels(tape, kwargs)
            raise
    tapes, postprocess = broadcast_expand(tape)
    return [decompose(t, **kwargs)[0][0] for t in tapes], postprocess


def _raise_for_channels(tape: QuantumScript, kwargs: dict[str, Any]) -> None:
    """Raise a clear ``DeviceError`` when a channel of ``tape`` is why it cannot be decomposed."""
    device = kwargs.get("name", "qml_hybrid")
    channels = [op for op in tape.operations if isinstance(op, (qp.operation.Channel, qp.QubitDensityMatrix))]
    if channels and kwargs.get("stopping_condition") is _supports_operation:
        raise qp.exceptions.DeviceError(
            f"{device} with method='statevector' simulates pure states and cannot apply {channels[0].name} on wires "
            f"{list(channels[0].wires)}. Use method='auto' (the default) or 'density_matrix', or the device "
            "qml_hybrid.mixed."
        ) from None
    for op in channels:
        error = unsupported_channel_error(op, device)
        if error is not None:
            raise error from None


_decompose_or_expand_transform = qp.transform(_decompose_or_expand)
_split_with_shots = _with_shots_only(split_non_commuting)
_diagonalize_with_shots = _with_shots_only(diagonalize_measurements)


def _broadcast_size(value: Any) -> int | None:
    """The batch size of an angle parameter: ``None`` for a scalar, the leading axis of a broadcast one."""
    ndim = getattr(value, "ndim", 0)
    return int(value.shape[0]) if ndim >= 1 else None


def _real_column(values: list[Any]) -> torch.Tensor:
    """One float64 tensor stacking scalars (``(k,)``) or broadcast ``(B,)`` parameters (``(B, k)``).

    Torch parameters keep their autograd history (one ``stack`` and one cast for the whole column).
    A complex dtype (decompositions can produce one) gives its real part when the imaginary part
    is zero; otherwise the angle would be silently wrong, so it raises.

    Raises:
        ValueError: an angle with a nonzero imaginary part.
    """
    if all(isinstance(v, torch.Tensor) for v in values):
        stacked = torch.stack(values, dim=-1)
    else:
        parts = [v if isinstance(v, torch.Tensor) else torch.as_tensor(np.asarray(qp.math.unwrap(v))) for v in values]
        stacked = torch.stack(parts, dim=-1)
    if stacked.is_complex():
        imag = stacked.imag.detach().abs()
        if bool((imag > _IMAG_RTOL * stacked.real.detach().abs().clamp_min(1.0)).any()):
            raise ValueError(
                f"A gate angle of the tape is complex (imaginary part up to {float(imag.max()):.3g}); qml_hybrid.qubit "
                "runs rotations by real angles. Pass real parameters (x.real if the imaginary part is meant to be 0)."
            )
        stacked = stacked.real
    return stacked.to(torch.float64)


@dataclasses.dataclass(frozen=True)
class TapeTranslation:
    """A tape as our circuit, with the values of its symbols.

    Attributes:
        circuit: angles are symbols of two vectors, ``b`` (broadcast parameters) and ``s`` (scalars).
        params: ``{"b": (batch_size, k_b), "s": (k_s,)}`` float64, the vectors the circuit uses.
        batch_size: the tape's broadcast size, ``None`` when no parameter has a batch axis.
    """

    circuit: Circuit
    params: dict[str, torch.Tensor]
    batch_size: int | None


_IMAG_RTOL = 1e-10
"""A complex angle counts as real when ``|imag| <= _IMAG_RTOL * max(1, |real|)`` (rounding in decompositions)."""

_CIRCUIT_CACHE_SIZE = 256
_CIRCUITS: OrderedDict[tuple, Circuit] = OrderedDict()
"""Translated circuits by tape structure: a training loop sends the same structure every step."""


def tape_to_circuit(tape: QuantumScript, num_qubits: int) -> TapeTranslation:
    """Translate a tape on wires ``0 .. num_qubits-1`` into our circuit and its parameter values.

    Every numeric parameter of the tape becomes a symbol: ``b[j]`` where it is broadcast (has a
    batch axis), ``s[j]`` where it is a scalar. Circuits of the same structure are equal (and share
    the compiled plan) whatever the values, and scalar parameters stay unexpanded: the engine builds
    their gate matrices once per call rather than once per batch entry. This reads the batch size
    off the parameters instead of ``tape.batch_size``, which validates every operator (most of the
    translation's cost at small sizes).

    Args:
        tape: a tape whose operators are all in :data:`SUPPORTED_OPERATIONS`, on integer wires.
        num_qubits: width of the circuit, ``>= 1``.
    """
    broadcast: list[Any] = []
    scalars: list[Any] = []
    batch_size = None
    plan: list[tuple[_Emit, tuple[int, ...], tuple[tuple[str, int], ...], qp.operation.Operator]] = []
    for op in tape.operations:
        name = op.name
        if name not in _OPERATIONS or (name == "PauliError" and not native_channel(op)):
            if is_kraus_fallback(op):
                plan.append((kraus_channel, tuple(int(w) for w in op.wires), (), op))
                continue
            if not _is_matrix_fallback(op):
                raise qp.exceptions.DeviceError(
                    f"Operator {name} reached qml_hybrid.qubit undecomposed; expected one of "
                    f"{sorted(_OPERATIONS)}. Run the tape through the device's preprocess() first."
                )
            plan.append((_matrix_gate, tuple(int(w) for w in op.wires), (), op))
            continue
        emit, angular = _OPERATIONS[name]
        slots: list[tuple[str, int]] = []
        if angular:
            for value in op.data:
                size = _broadcast_size(value)
                if size is None:
                    slots.append(("s", len(scalars)))
                    scalars.append(value)
                else:
                    if batch_size is not None and size != batch_size:
                        raise ValueError(
                            f"{name} on wires {list(op.wires)} is broadcast over {size} values but an earlier "
                            f"parameter over {batch_size}: every broadcast parameter of a tape needs the same length."
                        )
                    batch_size = size
                    slots.append(("b", len(broadcast)))
                    broadcast.append(value)
        plan.append((emit, tuple(int(w) for w in op.wires), tuple(slots), op))
    key = _structure_key(num_qubits, plan)
    circuit = _CIRCUITS.get(key) if key is not None else None
    if circuit is None:
        vectors = {"b": ParameterVector("b", max(len(broadcast), 1)), "s": ParameterVector("s", max(len(scalars), 1))}
        operations: list[Operation] = []
        for emit, qubits, slots, op in plan:
            operations.extend(emit(qubits, [vectors[kind][j] for kind, j in slots], op))
        circuit = Circuit(num_qubits, operations)
        if key is not None:
            _CIRCUITS[key] = circuit
            if len(_CIRCUITS) > _CIRCUIT_CACHE_SIZE:
                _CIRCUITS.popitem(last=False)
    params = {}
    if broadcast:
        params["b"] = _real_column(broadcast)
    if scalars:
        params["s"] = _real_column(scalars)
    return TapeTranslation(circuit, params, batch_size)


def _structure_key(num_qubits: int, plan: Sequence[tuple]) -> tuple | None:
    """A hashable description of what the translation depends on, or ``None`` when it reads matrices."""
    entries = []
    for emit, qubits, slots, op in plan:
        if emit is _matrix_gate or emit is _qubit_unitary or emit is kraus_channel:
            return None
        extra = op.hyperparameters.get("pauli_word") if emit is _pauli_rot else None
        if op.name == "PauliError":
            extra = op.hyperparameters["operators"]
        if emit is _multi_controlled_x:
            extra = tuple(bool(v) for v in op.hyperparameters["control_values"])
        entries.append((op.name, qubits, slots, extra))
    return (num_qubits, tuple(entries))


@functools.lru_cache(maxsize=64)
def _plan(circuit: Circuit) -> Plan:
    return compile_plan(circuit)


def _leading_state_prep(tape: QuantumScript, density: bool = False) -> qp.operation.Operator | None:
    """The state preparation that opens the tape (applied directly), or ``None``.

    With ``density``, a ``QubitDensityMatrix`` counts too; anywhere else it is refused.

    Raises:
        DeviceError: a ``QubitDensityMatrix`` after the first operation (density-matrix method).
    """
    first = tape.operations[0] if tape.operations else None
    if density:
        later = next((op for op in tape.operations[1:] if isinstance(op, qp.QubitDensityMatrix)), None)
        if later is not None:
            raise qp.exceptions.DeviceError(
                f"QubitDensityMatrix on wires {list(later.wires)} is not the first operation of the tape; the "
                "qml_hybrid devices prepare a density matrix only at the start of a circuit. Move it first."
            )
        if isinstance(first, qp.QubitDensityMatrix):
            return first
    return first if isinstance(first, StatePrepBase) else None


def _prepared_state(prep: StatePrepBase, num_wires: int, dtype: torch.dtype) -> torch.Tensor:
    """The state ``prep`` prepares on wires ``0 .. num_wires-1`` (others in ``|0>``), ``(1 or B, 2**num_wires)``.

    Torch data keep their autograd history; a real vector (real features) stays real.
    """
    vector = prep.state_vector(wire_order=list(range(num_wires)))
    if not isinstance(vector, torch.Tensor):
        vector = torch.as_tensor(np.asarray(qp.math.unwrap(vector)))
    real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
    vector = vector.to(dtype if vector.is_complex() else real_dtype)
    return vector.reshape(-1, 2**num_wires)


def _prepared_density(prep: qp.operation.Operator, num_wires: int, dtype: torch.dtype) -> torch.Tensor:
    """The flat density matrix ``(1 or B, 4**num_wires)`` a state preparation or ``QubitDensityMatrix`` prepares.

    Wires a ``QubitDensityMatrix`` leaves out are in ``|0>``. Torch data keep their autograd history.
    """
    if not isinstance(prep, qp.QubitDensityMatrix):
        vector = _prepared_state(prep, num_wires, dtype).to(dtype)
        return (vector[:, :, None] * vector.conj()[:, None, :]).reshape(vector.shape[0], -1)
    given = prep.data[0]
    given = given if isinstance(given, torch.Tensor) else torch.as_tensor(np.asarray(qp.math.unwrap(given)))
    k = len(prep.wires)
    given = given.to(dtype).reshape(-1, 2**k, 2**k)
    rest = num_wires - k
    zero = torch.zeros(2**rest, 2**rest, dtype=dtype, device=given.device)
    zero[0, 0] = 1
    full = (given[:, :, None, :, None] * zero[None, None, :, None, :]).reshape(-1, *([2] * (2 * num_wires)))
    # axes: the prepared wires then the others, for rows and then for columns; bring them to wire order
    order = [int(w) for w in prep.wires] + [w for w in range(num_wires) if w not in set(prep.wires.tolist())]
    inverse = [order.index(w) for w in range(num_wires)]
    axes = [0, *(1 + a for a in inverse), *(1 + num_wires + a for a in inverse)]
    return full.permute(axes).reshape(full.shape[0], -1)


def _evolve_density(
    circuit: Circuit, params: dict[str, torch.Tensor], initial: torch.Tensor | None, dtype: torch.dtype
) -> torch.Tensor:
    """The final flat density matrices of ``circuit`` (gates and channels) from ``initial`` (``|0><0|`` when ``None``).

    Shape:
        params: ``(1 or B, size)`` each; initial: ``(1 or B, 4**n)``. Returns ``(max(1, B), 4**n)`` in ``dtype``.
    """
    real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
    device = initial.device if initial is not None else next(iter(params.values()), torch.zeros(0)).device
    values, batch = bind_parameters(circuit, params, dtype=real_dtype, device=device)
    values = {name: v.to(device=device, dtype=real_dtype) for name, v in values.items()}
    prepared = 1 if initial is None else initial.shape[0]
    rows = max(batch, prepared)
    if batch not in (1, rows) or prepared not in (1, rows):
        raise ValueError(
            f"The state preparation is broadcast over {prepared} states but the gate parameters over "
            f"{batch} values; broadcast both over the same number."
        )
    return simulate_density(circuit, values, rows, dtype, device, initial)


def _evolve(
    circuit: Circuit, params: dict[str, torch.Tensor], initial: torch.Tensor, dtype: torch.dtype
) -> torch.Tensor:
    """``U |initial>`` for the circuit ``U``: our engine's compiled steps applied to a given state, under autograd.

    Args:
        circuit: the tape's operations after the state preparation.
        params: values of the circuit's vectors, ``(1 or B, size)``.
        initial: ``(1 or B, 2**n)`` real or complex.
        dtype: complex state dtype of the device.

    Returns:
        ``(max(1, B), 2**n)`` in ``dtype``.
    """
    real_dtype = torch.float64 if dtype == torch.complex128 else torch.float32
    device = initial.device
    values, batch = bind_parameters(circuit, params, dtype=real_dtype, device=device)
    values = {name: v.to(device=device, dtype=real_dtype) for name, v in values.items()}
    rows = max(batch, initial.shape[0])
    if batch not in (1, rows) or initial.shape[0] not in (1, rows):
        raise ValueError(
            f"The state preparation is broadcast over {initial.shape[0]} states but the gate parameters over "
            f"{batch} values; broadcast both over the same number."
        )
    check_state_memory(circuit.num_qubits, rows, dtype.itemsize, device, copies=2)
    plan = _plan(circuit)
    real = plan.real and not initial.is_complex()
    state_dtype = real_dtype if real else dtype
    tensors = plan.step_tensors(values, batch, real_dtype, device)
    if plan.real and not real:
        tensors = [t.to(dtype) for t in tensors]
    state = initial.to(state_dtype).expand(rows, -1).contiguous()
    state = evolve(plan, tensors, state)
    return state.to(dtype)


_METHODS = ("auto", "statevector", "density_matrix")


def _is_torch_config(config: ExecutionConfig | None, circuit: QuantumScript | None) -> bool:
    interface = Interface.NUMPY if config is None else Interface(config.interface)
    if interface == Interface.AUTO and circuit is not None:
        interface = Interface(qp.math.get_interface(*circuit.get_parameters(trainable_only=False)))
    return interface == Interface.TORCH


@simulator_tracking
@single_tape_support
class QmlHybridQubit(Device):
    """PennyLane state-vector device running on the qml-hybrid torch engine.

    Args:
        wires: number of wires or their labels; ``None`` lets each circuit use the wires it needs.
        shots: default shots of QNodes on this device (``None``: exact results).
        seed: seed of the sampling generator (``0`` is a seed); ``None`` or ``"global"`` for fresh entropy.
        dtype: state dtype, ``torch.complex128`` (default; PennyLane's 1e-6 tolerances) or
            ``torch.complex64``; the numpy dtypes and the strings ``"complex128"`` / ``"complex64"`` too.
        method: ``"auto"`` (default: the state vector, and the density matrix for a tape with noise channels
            or a ``QubitDensityMatrix``), ``"statevector"`` (channels refused) or ``"density_matrix"`` (every
            tape; what ``qml_hybrid.mixed`` does).

    Raises:
        TypeError: a seed that is not an int, ``None`` or ``"global"``.
        ValueError: an unsupported dtype or method.
    """

    name = "qml_hybrid.qubit"
    _default_method = "auto"

    def __init__(
        self,
        wires: Any = None,
        shots: Any = None,
        seed: int | str | None = None,
        dtype: torch.dtype | str = torch.complex128,
        method: str | None = None,
    ) -> None:
        super().__init__(wires=wires, shots=shots)
        method = self._default_method if method is None else method
        if method not in _METHODS:
            raise ValueError(
                f"{self.name} method must be one of {', '.join(repr(m) for m in _METHODS)}, got {method!r}. "
                "'density_matrix' simulates noise channels exactly; 'auto' picks it for tapes that have them."
            )
        if not isinstance(dtype, torch.dtype):  # "complex64", numpy.complex64, numpy.dtype("complex128")
            try:
                name = np.dtype(dtype).name
            except TypeError:
                name = None
            dtype = {"complex128": torch.complex128, "complex64": torch.complex64}.get(name, dtype)
        if dtype not in (torch.complex128, torch.complex64):
            raise ValueError(
                f"qml_hybrid.qubit dtype must be torch.complex128 or torch.complex64, got {dtype!r}. "
                "Use complex128 for PennyLane's default tolerances."
            )
        if seed == "global":
            seed = None
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
            raise TypeError(f"seed must be an int, None or 'global', got {seed!r} ({type(seed).__name__}).")
        self._dtype = dtype
        self._method = method
        self._engine = TorchBackend(dtype=dtype)
        self._generator = torch.Generator()
        self._generator.manual_seed(int(seed) if seed is not None else int(np.random.SeedSequence().entropy % 2**63))

    # -- derivatives ------------------------------------------------------------------------

    def supports_derivatives(
        self, execution_config: ExecutionConfig | None = None, circuit: QuantumScript | None = None
    ) -> bool:
        """Backprop through our engine for the torch interface with analytic results; otherwise none.

        PennyLane falls back to parameter-shift rules (run as extra tapes on this device) when this is
        ``False``. Without a circuit (a QNode being created) an explicit ``"backprop"`` is accepted:
        PennyLane asks then with its default numpy configuration, before the interface is known.

        Raises:
            QuantumFunctionError: an explicit ``"backprop"`` for a circuit it cannot differentiate
                (finite shots, an interface other than torch, a ``SparseHamiltonian``); the message says
                what to use instead.
        """
        if execution_config is None:
            return True
        method = execution_config.gradient_method
        if method not in {"backprop", "best"}:
            return False
        if circuit is None:
            return method == "backprop" or _is_torch_config(execution_config, None)
        problem = None
        if circuit.shots:
            problem = "with finite shots (sampling is not differentiable)"
        elif any(isinstance(m.obs, qp.SparseHamiltonian) for m in circuit.measurements):
            problem = "of a SparseHamiltonian (its expectation value is a scipy sparse product, outside autograd)"
        elif not _is_torch_config(execution_config, circuit):
            problem = f"with the {Interface(execution_config.interface).value} interface (only torch tensors flow "
            problem += "through the engine)"
        if problem is None:
            return True
        if method == "backprop":
            raise qp.exceptions.QuantumFunctionError(
                f"{self.name} cannot backpropagate {problem}. Use interface='torch' with torch tensors and "
                "analytic results for diff_method='backprop', or diff_method='parameter-shift' (or 'best')."
            )
        return False

    def setup_execution_config(
        self, config: ExecutionConfig | None = None, circuit: QuantumScript | None = None
    ) -> ExecutionConfig:
        """Resolve ``"best"`` to ``"backprop"`` where :meth:`supports_derivatives` allows it."""
        config = config or ExecutionConfig()
        updates: dict[str, Any] = {}
        method = config.gradient_method
        if method == "best" and self.supports_derivatives(config, circuit):
            method = "backprop"
            updates["gradient_method"] = method
        if config.use_device_gradient is None:
            updates["use_device_gradient"] = method == "backprop"
        if config.use_device_jacobian_product is None:
            updates["use_device_jacobian_product"] = False
        if config.grad_on_execution is None:
            updates["grad_on_execution"] = False
        return dataclasses.replace(config, **updates)

    # -- preprocessing ----------------------------------------------------------------------

    def preprocess_transforms(self, execution_config: ExecutionConfig | None = None) -> CompilePipeline:
        """Wire validation, deferred measurements, shot-mode measurement grouping, decomposition."""
        program = CompilePipeline()
        program.add_transform(validate_device_wires, wires=self.wires, name=self.name)
        program.add_transform(defer_measurements, allow_postselect=False)
        program.add_transform(_split_with_shots)
        program.add_transform(_diagonalize_with_shots)
        channels = self._method != "statevector"
        program.add_transform(
            _decompose_or_expand_transform,
            stopping_condition=_supports_operation_or_channel if channels else _supports_operation,
            target_gates=SUPPORTED_OPERATIONS | SUPPORTED_CHANNELS if channels else SUPPORTED_OPERATIONS,
            skip_initial_state_prep=True,  # applied directly: see the module docstring
            device_wires=self.wires,
            name=self.name,
        )
        program.add_transform(validate_measurements, name=self.name)
        return program

    # -- execution --------------------------------------------------------------------------

    def execute(
        self, circuits: Sequence[QuantumScript], execution_config: ExecutionConfig | None = None
    ) -> tuple[Any, ...]:
        """Run every tape on our engine (one batched engine call per broadcast tape)."""
        return tuple(self._execute_tape(tape) for tape in circuits)

    def _uses_density(self, tape: QuantumScript) -> bool:
        """Whether ``tape`` runs on the density-matrix engine (the method, or ``"auto"`` and a channel in the tape)."""
        if self._method != "auto":
            return self._method == "density_matrix"
        return any(isinstance(op, (qp.operation.Channel, qp.QubitDensityMatrix)) for op in tape.operations)

    def _final_state(
        self, tape: QuantumScript, extra_ops: Sequence[qp.operation.Operator] = (), *, density: bool = False
    ) -> tuple[torch.Tensor, bool]:
        """Our engine's final state over ``n = len(tape.wires)`` and whether it is batched.

        The state vector ``(batch or 1, 2**n)``, or with ``density`` the flat density matrix ``(batch or 1, 4**n)``.
        """
        num_wires = len(tape.wires)
        prep = _leading_state_prep(tape, density)
        ops = list(tape.operations[1:] if prep is not None else tape.operations)
        if extra_ops:
            ops = [leaf for op in [*ops, *extra_ops] for leaf in _decompose_to_supported(op, density)]
        if prep is not None or extra_ops:
            tape = tape.copy(operations=ops)
        translation = tape_to_circuit(tape, max(num_wires, 1))
        batched = translation.batch_size is not None or (prep is not None and prep.batch_size is not None)
        if density:
            initial = None if prep is None else _prepared_density(prep, num_wires, self._dtype)
            return _evolve_density(translation.circuit, translation.params, initial, self._dtype), batched
        if prep is None:
            return self._engine.run(translation.circuit, translation.params, measurement=StateVector()), batched
        initial = _prepared_state(prep, num_wires, self._dtype)
        return _evolve(translation.circuit, translation.params, initial, self._dtype), batched

    def _execute_tape(self, tape: QuantumScript) -> Any:
        tape = tape.map_to_standard_wires()
        num_wires = len(tape.wires)
        n = max(num_wires, 1)
        density = self._uses_density(tape)
        keep_torch = any(isinstance(p, torch.Tensor) for p in tape.get_parameters(trainable_only=False))
        if not tape.shots:
            observables = _pauli_sums(tape.measurements)
            if observables is not None:  # every measurement an expval of Pauli words: one engine call
                if density:
                    rho, batched = self._final_state(tape, density=True)
                    table = density_expectations(rho, n, observables)
                elif _leading_state_prep(tape) is None:
                    translation = tape_to_circuit(tape, n)
                    measurement = Expectation(observables)
                    table = self._engine.run(translation.circuit, translation.params, measurement=measurement)
                    batched = translation.batch_size is not None
                else:
                    state, batched = self._final_state(tape)
                    table = expectations(state, n, observables)
                table = table if batched else table[0]
                results = tuple(_to_output(table[..., k], keep_torch) for k in range(len(observables)))
                return results[0] if len(results) == 1 else results
            state, batched = self._final_state(tape, density=density)
            if density:
                state = _shape_state(state, 2 * num_wires, batched)  # rho as a tensor of 2n row and column axes
                results = tuple(measure_mixed(mp, state, is_state_batched=batched) for mp in tape.measurements)
            else:
                state = _shape_state(state, num_wires, batched)
                results = tuple(measure(mp, state, is_state_batched=batched) for mp in tape.measurements)
            results = tuple(_to_output(r, keep_torch) for r in results)
            return results[0] if len(results) == 1 else results

        diagonalizing = _diagonalizing_gates(tape.measurements)
        state, batched = self._final_state(tape, diagonalizing, density=density)
        state = state.detach()
        probs = density_probabilities(state, n) if density else probabilities(state)
        samples = sample_bits(probs, n, tuple(range(n)), tape.shots.total_shots, self._generator)
        samples = samples[..., :num_wires].cpu().numpy()
        if not batched:
            samples = samples[0]
        wires = qp.wires.Wires(range(num_wires))
        per_bin = []
        for lower, upper in tape.shots.bins():
            chunk = samples[..., lower:upper, :]
            per_bin.append(tuple(mp.process_samples(chunk, wires) for mp in tape.measurements))
        if len(tape.measurements) == 1:
            per_bin = [r[0] for r in per_bin]
        return tuple(per_bin) if tape.shots.has_partitioned_shots else per_bin[0]


def _pauli_sums(measurements: Sequence[qp.measurements.MeasurementProcess]) -> tuple[PauliSum, ...] | None:
    """Our observables when every measurement is an ``expval`` of constant real Pauli sentences, else ``None``.

    Then all expectation values come from one engine call instead of one PennyLane measurement each.
    """
    out = []
    for mp in measurements:
        if type(mp) is not qp.measurements.ExpectationMP or mp.obs is None or mp.obs.pauli_rep is None:
            return None
        terms = []
        for word, coeff in mp.obs.pauli_rep.items():
            if isinstance(coeff, torch.Tensor) or np.iscomplexobj(coeff) or qp.math.requires_grad(coeff):
                return None
            terms.append(PauliString(float(coeff), tuple((int(w), letter) for w, letter in word.items())))
        out.append(PauliSum(tuple(terms)) if terms else PauliSum((PauliString(0.0, ()),)))
    return tuple(out) if out else None


def _decompose_to_supported(op: qp.operation.Operator, density: bool = False) -> list[qp.operation.Operator]:
    if (_supports_operation_or_channel if density else _supports_operation)(op):
        return [op]
    return [leaf for sub in op.decomposition() for leaf in _decompose_to_supported(sub, density)]


def _diagonalizing_gates(measurements: Sequence[qp.measurements.MeasurementProcess]) -> list[qp.operation.Operator]:
    """Gates rotating every observable left undiagonalized by preprocessing (``Hermitian`` ...) into the Z basis."""
    gates: list[qp.operation.Operator] = []
    for mp in measurements:
        if mp.obs is None:
            continue
        for gate in mp.obs.diagonalizing_gates():
            if not any(qp.equal(gate, g) for g in gates):
                gates.append(gate)
    return gates


def _shape_state(state: torch.Tensor, num_wires: int, batched: bool) -> torch.Tensor:
    if num_wires == 0:
        # a circuit without wires ran on one idle qubit, which is |0>
        state = state[:, :1]
        return state if batched else state[0].reshape(())
    shape = (2,) * num_wires
    return state.reshape(state.shape[0], *shape) if batched else state.reshape(shape)


def _to_output(result: Any, keep_torch: bool) -> Any:
    if isinstance(result, torch.Tensor) and not keep_torch:
        return result.detach().cpu().numpy()
    return result


class QmlHybridMixed(QmlHybridQubit):
    """``qp.device("qml_hybrid.mixed", wires=...)``: :class:`QmlHybridQubit` with ``method="density_matrix"``.

    Every tape runs on the density-matrix engine (:mod:`circuits.sim.density`), noise channels or not, as
    PennyLane's ``default.mixed`` does: ``qp.state()`` and ``qp.density_matrix`` return density matrices, a
    ``QubitDensityMatrix`` may open the tape, and torch parameters (gate angles and channel strengths alike)
    backpropagate through the simulation. Arguments as :class:`QmlHybridQubit`.
    """

    name = "qml_hybrid.mixed"
    _default_method = "density_matrix"
