"""The ``Backend`` seam: run a circuit for a batch of parameter bindings.

Every backend (our torch engine, Qiskit Aer, PennyLane devices, and the hardware
providers in ``hardware/``) implements one method, :meth:`Backend.run`, and
returns torch tensors with the batch axis first. Bindings are validated here,
once, before any work or any paid submission.

Measurements:

==================  =====================================  ===========================
measurement          returns                                shape
==================  =====================================  ===========================
``Expectation``      ``<psi| O_k |psi>`` per observable     ``(batch_size, k)``
``Probabilities``    basis-state probabilities              ``(batch_size, 2**m)``
``Samples``          measured bits, one row per shot        ``(batch_size, shots, m)``
``StateVector``      the final state (simulators only)      ``(batch_size, 2**n)``
==================  =====================================  ===========================

Basis states are indexed with the first listed qubit as the most significant bit
(qubit 0 first by default).

Observables are our :class:`~circuits.ir.observables.PauliSum` / :class:`~circuits.ir.observables.Projector`,
or a Qiskit ``SparsePauliOp`` / ``Pauli``, converted on entry by
:func:`~circuits.ir.observables.as_observable` (duck-typed, so this module never imports Qiskit;
Qiskit's labels are little-endian, the conversion reverses them).
"""

from __future__ import annotations

import abc
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from circuits.errors import (
    BindingError,
    NonFiniteAngleError,
    QubitIndexError,
    SimulationMemoryError,
)
from circuits.ir.circuit import Circuit
from circuits.ir.observables import Observable, as_observable, is_observable

__all__ = [
    "Backend",
    "Expectation",
    "Measurement",
    "ParamsLike",
    "Probabilities",
    "Samples",
    "StateVector",
    "available_memory_bytes",
    "bind_parameters",
    "check_circuit",
    "check_sample_memory",
    "check_shots",
    "check_state_memory",
    "format_bytes",
    "measured_qubits",
    "validate_measurement",
]

ParamsLike = Mapping[str, Any]
"""Parameter values by vector name: tensors, arrays or lists of shape ``(size,)`` or ``(batch_size, size)``."""


@dataclass(frozen=True)
class Expectation:
    """Expectation values of observables.

    Attributes:
        observables: the observables, one output column each. One observable or a sequence;
            Qiskit ``SparsePauliOp`` / ``Pauli`` objects are converted (see the module docstring).
    """

    observables: tuple[Observable, ...]

    def __post_init__(self) -> None:
        obs = self.observables
        obs = (obs,) if is_observable(obs) else tuple(obs)
        obs = tuple(as_observable(o) for o in obs)
        if not obs:
            raise ValueError("Expectation needs at least one observable.")
        object.__setattr__(self, "observables", obs)


@dataclass(frozen=True)
class Probabilities:
    """Probabilities of the computational basis states of ``qubits`` (all qubits when ``None``)."""

    qubits: tuple[int, ...] | None = None


@dataclass(frozen=True)
class Samples:
    """Measurement outcomes.

    Attributes:
        shots: number of samples per binding, ``>= 1``.
        qubits: qubits to measure, in output column order (all qubits when ``None``).
    """

    shots: int
    qubits: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        check_shots(self.shots)


@dataclass(frozen=True)
class StateVector:
    """The final state vector (available on simulators only).

    A noisy simulation's state is a density matrix: ``TorchBackend`` with ``method="density_matrix"`` returns
    ``(batch_size, 2**n, 2**n)`` (docs/noise.md); backends that sample noise refuse it.
    """


Measurement = Expectation | Probabilities | Samples | StateVector


def check_shots(shots: object) -> int:
    """Validate a shot count.

    Raises:
        TypeError: not an int.
        ValueError: zero or negative.
    """
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)):
        raise TypeError(f"shots must be a positive int, got {shots!r} ({type(shots).__name__}).")
    if shots <= 0:
        raise ValueError(f"shots must be a positive int, got {shots}. Use shots=None for exact results.")
    return int(shots)


def measured_qubits(circuit: Circuit, qubits: Sequence[int] | None) -> tuple[int, ...]:
    """Validate the qubits of a measurement; all qubits when ``None``."""
    if qubits is None:
        return tuple(range(circuit.num_qubits))
    qubits = tuple(int(q) for q in qubits)
    bad = [q for q in qubits if not 0 <= q < circuit.num_qubits]
    if bad:
        raise QubitIndexError(f"Measured qubit(s) {bad} are out of range for a {circuit.num_qubits}-qubit circuit.")
    if len(set(qubits)) != len(qubits):
        raise QubitIndexError(f"Measured qubits must be distinct, got {qubits}.")
    return qubits


def validate_measurement(circuit: Circuit, measurement: Measurement) -> None:
    """Check that a measurement fits the circuit (qubit indices in range)."""
    if isinstance(measurement, Expectation):
        for obs in measurement.observables:
            qubits = obs.qubits
            bad = [q for q in qubits if q >= circuit.num_qubits]
            if bad:
                raise QubitIndexError(
                    f"Observable {obs} acts on qubit(s) {bad}, outside the {circuit.num_qubits}-qubit circuit."
                )
    elif isinstance(measurement, (Probabilities, Samples)):
        measured_qubits(circuit, measurement.qubits)
    elif not isinstance(measurement, StateVector):
        raise TypeError(
            f"measurement must be Expectation, Probabilities, Samples or StateVector, got {type(measurement).__name__}."
        )


def _check_real_values(name: str, raw: object) -> None:
    """Refuse complex and bool parameter values before any cast could drop information."""
    if isinstance(raw, torch.Tensor):
        kind = "complex" if raw.is_complex() else "bool" if raw.dtype == torch.bool else None
        dtype = raw.dtype
    else:
        try:
            array = np.asarray(raw)
        except (TypeError, ValueError, RuntimeError):  # ragged nesting, tensors in lists: the conversion reports
            return
        dtype = array.dtype
        kind = {"c": "complex", "b": "bool"}.get(dtype.kind)
        if dtype.kind in "US":
            raise TypeError(f"Parameter values for {name!r} must be numbers, got text ({dtype}).")
    if kind == "complex":
        raise TypeError(
            f"Parameter values for {name!r} are complex ({dtype}), but circuit angles are real: the imaginary part "
            "would be dropped. Pass values.real if the imaginary part is zero, or bind real and imaginary parts "
            "as separate parameters."
        )
    if kind == "bool":
        raise TypeError(
            f"Parameter values for {name!r} are booleans ({dtype}), but circuit angles are real numbers. "
            "Convert them explicitly (e.g. values.float() * math.pi) if the bits are meant as angles."
        )


def bind_parameters(
    circuit: Circuit,
    params: ParamsLike | None,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[dict[str, torch.Tensor], int]:
    """Coerce and validate parameter values for a circuit.

    Args:
        circuit: the circuit whose ``parameters`` must be bound.
        params: vector name to values of shape ``(size,)`` (shared by the batch) or
            ``(batch_size, size)``. Tensors keep their autograd history.
        dtype: real dtype for values that are not already floating-point tensors.
        device: device for values that are not tensors.

    Returns:
        ``(values, batch_size)`` with every value of shape ``(1, size)`` or ``(batch_size, size)``.

    Raises:
        UnboundParameterError: a vector of the circuit has no value.
        BindingError: a surplus name, a wrong size, or batch sizes that do not broadcast.
        NonFiniteAngleError: a value is NaN or infinite.
        TypeError: complex or bool values (angles are real: nothing is cast silently), or text.
    """
    params = {} if params is None else params
    if not isinstance(params, Mapping):
        raise TypeError(
            f"Parameter values are a mapping from vector name to values, e.g. {{'x': x, 'theta': theta}}; "
            f"got {type(params).__name__}."
        )
    circuit.check_parameter_names(params, keyword="params")
    expected = circuit.parameters
    values: dict[str, torch.Tensor] = {}
    batch_size = 1
    batch_source = None
    for name, size in expected.items():
        raw = params[name]
        _check_real_values(name, raw)
        if isinstance(raw, torch.Tensor):
            value = raw if raw.is_floating_point() else raw.to(dtype)
        else:
            value = torch.as_tensor(np.asarray(raw, dtype=np.float64), dtype=dtype, device=device)
        if value.ndim == 1:
            value = value.unsqueeze(0)
        if value.ndim != 2 or value.shape[-1] != size:
            raise BindingError(
                f"Parameter vector {name!r} has size {size}: expected values of shape ({size},) or "
                f"(batch_size, {size}), got {tuple(raw.shape) if hasattr(raw, 'shape') else np.shape(raw)}."
            )
        if value.shape[0] == 0:
            raise BindingError(
                f"Parameter vector {name!r} has an empty batch (shape {tuple(value.shape)}); pass at least one row."
            )
        if value.shape[0] != 1:
            if batch_size not in (1, value.shape[0]):
                raise BindingError(
                    f"Batch sizes do not broadcast: {batch_source!r} has {batch_size} rows, {name!r} has "
                    f"{value.shape[0]}. Give every batched vector the same first dimension, or shape ({size},)."
                )
            batch_size, batch_source = value.shape[0], name
        if not bool(torch.isfinite(value.detach()).all()):
            raise NonFiniteAngleError(
                f"Parameter vector {name!r} contains NaN or infinite values; every angle must be finite. "
                "Check the data pipeline or the optimizer (a diverged loss gives NaN weights)."
            )
        values[name] = value
    return values, batch_size


def available_memory_bytes(device: torch.device) -> int:
    """Memory free for new tensors on ``device`` (CUDA: free device memory; CPU: MemAvailable)."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 2**62


_ALWAYS_FITS_BYTES = 16 * 2**20
"""Requests this small are not checked: reading the free memory costs more than a small simulation."""


def check_state_memory(
    num_qubits: int, batch_size: int, itemsize: int, device: torch.device, *, copies: int = 3
) -> None:
    """Raise :class:`SimulationMemoryError` when ``copies`` state vectors of this size would not fit.

    Args:
        num_qubits: qubits of the circuit.
        batch_size: number of states simulated at once.
        itemsize: bytes per amplitude (8 for complex64, 16 for complex128, 4 for float32).
        device: where the states would live.
        copies: how many states the simulation holds at once.
    """
    needed = copies * batch_size * itemsize * (2**num_qubits)
    if needed <= _ALWAYS_FITS_BYTES:
        return
    available = available_memory_bytes(device)
    if needed > available:
        raise SimulationMemoryError(
            f"Simulating {num_qubits} qubits for a batch of {batch_size} needs about {format_bytes(needed)} "
            f"({copies} state vectors of {format_bytes(needed // copies)}), but only {format_bytes(available)} is "
            f"available on {device}. Use fewer qubits or a smaller batch, or "
            "AerBackend(method='matrix_product_state') for weakly entangled circuits."
        )


def check_sample_memory(batch_size: int, shots: int, num_measured: int, device: torch.device) -> None:
    """Raise :class:`SimulationMemoryError` when a ``Samples`` result would not fit in memory.

    The result is ``(batch_size, shots, num_measured)`` int64; sampling also holds one float64
    draw and one int64 outcome index per shot, so the estimate is
    ``8 * batch_size * shots * (num_measured + 2)`` bytes.
    Checked in :meth:`Backend.run` before any backend allocates.
    """
    needed = 8 * batch_size * shots * (num_measured + 2)
    if needed <= _ALWAYS_FITS_BYTES:
        return
    available = available_memory_bytes(device)
    if needed > available:
        raise SimulationMemoryError(
            f"Samples(shots={shots}) of {num_measured} qubit(s) for a batch of {batch_size} returns a "
            f"({batch_size}, {shots}, {num_measured}) int64 tensor: about {format_bytes(needed)} with the draws and "
            f"outcome indices, but only {format_bytes(available)} is available on {device}. Use fewer shots or a "
            "smaller batch (several calls), or Probabilities (2**m values per binding) / Expectation for estimates."
        )


def check_circuit(circuit: object, where: str) -> None:
    """Raise a TypeError unless ``circuit`` is a :class:`~circuits.ir.circuit.Circuit`, naming the converter to use.

    Args:
        circuit: what the caller was given.
        where: the caller, for the message (``"TorchBackend.run"``).
    """
    if isinstance(circuit, Circuit):
        return
    module = type(circuit).__module__ or ""
    kind = type(circuit).__name__
    if module.startswith("qiskit"):
        hint = (
            " Convert it first: from circuits.export.qiskit import circuit_from_qiskit; "
            "circuit = circuit_from_qiskit(qc) (add ignore_measurements=True when it ends in measurements; "
            "backends measure through Expectation / Probabilities / Samples)."
        )
    elif module.startswith("pennylane"):
        hint = (
            " A PennyLane tape or QNode runs on a PennyLane device; for our backends build a circuits.Circuit, "
            "or run the QNode on qp.device('qml_hybrid.qubit') to use our engine from PennyLane."
        )
    elif isinstance(circuit, str):
        hint = " For OpenQASM text use circuits.export.qasm.qasm2_to_circuit / qasm3_to_circuit (or load_qasm_file)."
    else:
        hint = ""
    raise TypeError(f"{where} needs a circuits.Circuit, got {kind}.{hint}")


def format_bytes(n: int) -> str:
    """``n`` bytes for a message: ``"1.5 GiB"``."""
    units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    k = min(int(math.log(max(n, 1), 1024)), len(units) - 1)
    return f"{n / 1024**k:.1f} {units[k]}"


class Backend(abc.ABC):
    """Runs circuits for batches of parameter bindings and returns torch tensors.

    Subclassing: implement :meth:`_run`, which receives a validated circuit, bound
    values (``(1 or batch_size, size)`` tensors) and a validated measurement.
    Backends without autograd wrap their work in
    :func:`circuits.gradients.parameter_shift_run` so gradients still flow.
    """

    name: str = "backend"
    """Short name shown in messages."""

    def run(
        self,
        circuit: Circuit,
        params: ParamsLike | None = None,
        *,
        measurement: Measurement,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Run ``circuit`` for every binding in ``params`` and measure.

        Args:
            circuit: the circuit.
            params: values for the circuit's parameter vectors (see :func:`bind_parameters`).
            measurement: what to return (see the module docstring).
            generator: randomness for sampling; torch's default generator when ``None`` (not reproducible
                unless the caller seeded it).

        Returns:
            A tensor whose first axis is the batch.

        Raises:
            TypeError: ``circuit`` is not a :class:`~circuits.ir.circuit.Circuit` (a Qiskit ``QuantumCircuit``:
                the message names ``circuit_from_qiskit``), or complex / bool parameter values.
            SimulationMemoryError: a ``Samples`` result that would not fit in memory (checked before any work).
        """
        check_circuit(circuit, f"{type(self).__name__}.run")
        validate_measurement(circuit, measurement)
        values, batch_size = bind_parameters(circuit, params, dtype=self._param_dtype(), device=self._param_device())
        if isinstance(measurement, Samples):
            device = self._param_device() or torch.device("cpu")
            num_measured = len(measured_qubits(circuit, measurement.qubits))
            check_sample_memory(batch_size, measurement.shots, num_measured, torch.device(device))
        return self._run(circuit, values, batch_size, measurement, generator)

    @abc.abstractmethod
    def _run(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """Execute a validated request."""

    def _param_dtype(self) -> torch.dtype:
        return torch.float32

    def _param_device(self) -> torch.device | None:
        return None

    # -- conveniences ----------------------------------------------------------------------

    def expval(
        self, circuit: Circuit, observables: Observable | Sequence[Observable], params: ParamsLike | None = None
    ) -> torch.Tensor:
        """Expectation values, shape ``(batch_size, len(observables))``.

        ``observables`` is one observable or a sequence; a Qiskit ``SparsePauliOp`` is one observable.
        """
        obs = (observables,) if is_observable(observables) else tuple(observables)
        return self.run(circuit, params, measurement=Expectation(obs))

    def probs(
        self, circuit: Circuit, params: ParamsLike | None = None, *, qubits: Sequence[int] | None = None
    ) -> torch.Tensor:
        """Basis-state probabilities, shape ``(batch_size, 2**len(qubits))``."""
        return self.run(circuit, params, measurement=Probabilities(None if qubits is None else tuple(qubits)))

    def sample(
        self,
        circuit: Circuit,
        params: ParamsLike | None = None,
        *,
        shots: int,
        qubits: Sequence[int] | None = None,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Measured bits, shape ``(batch_size, shots, len(qubits))``, dtype int64."""
        return self.run(
            circuit,
            params,
            measurement=Samples(shots, None if qubits is None else tuple(qubits)),
            generator=generator,
        )

    def state(self, circuit: Circuit, params: ParamsLike | None = None) -> torch.Tensor:
        """Final state vectors, shape ``(batch_size, 2**num_qubits)``."""
        return self.run(circuit, params, measurement=StateVector())
