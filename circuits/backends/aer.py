"""``AerBackend``: run circuits on Qiskit Aer (statevector, density matrix, matrix product state).

A whole batch of parameter bindings goes to Aer in **one** ``AerSimulator.run`` call:
the circuit is converted and transpiled once (cached per circuit), measurement
instructions are appended, and the ``batch_size`` bindings travel as Aer
``parameter_binds``, giving one experiment per binding.

Exact or sampled:

* ``shots=None`` (default): exact numbers from Aer's save instructions
  (``save_expectation_value``, ``save_probabilities``, ``save_statevector``).
* ``shots=N``: estimates from ``N`` measurement shots per binding. Expectation
  values follow the measurement plan of :mod:`circuits.measurement`: each group of
  qubit-wise commuting Pauli terms (and projectors, read as bitstrings) is measured
  in its own basis (one circuit per group, all groups in the same Aer call), so
  every observable is estimated from ``N`` shots per measurement basis.

``Samples`` always samples (with its own shot count); ``StateVector`` is always exact.

Noise: pass a ``qiskit_aer.noise.NoiseModel``, or our :class:`circuits.noise.NoiseModel` (converted by
:func:`circuits.export.qiskit_noise.noise_model_to_qiskit`). Noise channels in a circuit
(``Circuit.depolarizing`` ...) run as Aer ``QuantumError`` instructions. With ``shots=None`` the backend
simulates the density matrix and returns exact noisy expectation values and
probabilities (``method`` defaults to ``"density_matrix"``); with ``shots=N`` it
samples noisy trajectories (``method`` defaults to ``"statevector"``). The noise of a
real device's calibration snapshot comes from :meth:`AerBackend.from_backend`.

Gradients: Aer has no autograd, so ``Expectation`` and ``Probabilities`` go through
:func:`circuits.gradients.parameter_shift_run`; the backward pass evaluates all
shifted circuits in one more Aer call.

Outputs are float64 (complex128 for states, int64 for samples), batch first,
whatever ``precision`` Aer simulates with.

Size limits are checked before anything is converted or allocated: a state vector (or
density matrix) that would not fit in memory, or past Aer's own limit, raises
:class:`~circuits.errors.SimulationMemoryError` with the estimate (``matrix_product_state``
is exempt from the memory estimate); so does a shot count whose samples would not fit, and
one that would sample for more than :data:`circuits.measurement.MAX_SAMPLING_SECONDS`
raises ``ValueError``.

Example:
    >>> import math
    >>> from circuits import Circuit, ParameterVector, Z
    >>> from circuits.backends.aer import AerBackend
    >>> x = ParameterVector("x", 1)
    >>> AerBackend().expval(Circuit(1).ry(x[0], 0), Z(0), {"x": [[0.0], [math.pi]]})
    tensor([[ 1.],
            [-1.]], dtype=torch.float64)
"""

from __future__ import annotations

import functools
import types
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from qiskit import ClassicalRegister, QuantumCircuit, transpile
from qiskit.circuit import ControlledGate, ParameterExpression, ParameterVectorElement
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler.passes import Decompose
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel

from circuits.backend import (
    Backend,
    Expectation,
    Measurement,
    Probabilities,
    Samples,
    StateVector,
    available_memory_bytes,
    check_shots,
    format_bytes,
    measured_qubits,
)
from circuits.errors import BackendExecutionError, BackendUnavailableError, SimulationMemoryError
from circuits.export.qiskit import circuit_to_qiskit, qiskit_parameter_binds
from circuits.export.qiskit_noise import noise_model_to_qiskit
from circuits.gradients import parameter_shift_run
from circuits.ir.circuit import Circuit
from circuits.ir.observables import PauliSum, Projector
from circuits.measurement import (
    Counts,
    ShotPlan,
    check_shot_budget,
    from_qiskit_order,
    probabilities_from_counts,
    shot_plan,
    sparse_terms,
)
from circuits.noise import NoiseModel as OurNoiseModel

__all__ = ["AerBackend", "AerOptions"]

Method = Literal["statevector", "density_matrix", "matrix_product_state"]
Device = Literal["CPU", "GPU"]
Precision = Literal["double", "single"]

_METHODS = ("statevector", "density_matrix", "matrix_product_state")
_CACHE_SIZE = 64

SHOTS_PER_SECOND = 1e6
"""Aer's sampling rate assumed for the time estimate of a shot request (about what one CPU core does for
counts of a few qubits; faster machines do a few times more). Requests estimated at more than
:data:`circuits.measurement.MAX_SAMPLING_SECONDS` are refused before they start."""

_SAMPLE_BYTES_PER_BIT = 10
_SAMPLE_BYTES_PER_SHOT = 96
"""Memory of one shot of ``Samples``: Aer's memory string (C++ and Python) and our int64 row, per bit and fixed."""


_RESERVED_SIMULATOR_OPTIONS = frozenset(
    {
        "method",
        "device",
        "precision",
        "noise_model",
        "blocking_enable",
        "blocking_qubits",
        "cuStateVec_enable",
        "runtime_parameter_bind_enable",
    }
)
"""AerSimulator options that AerOptions sets itself; simulator_options may not override them."""


@dataclass(frozen=True)
class AerOptions:
    """Options of :class:`AerBackend`, validated on construction."""

    method: Method | None = None
    """Aer simulation method: ``"statevector"``, ``"density_matrix"`` or ``"matrix_product_state"``.
    ``None`` picks ``"density_matrix"`` when a noise model is given with ``shots=None`` (exact noisy
    results) and ``"statevector"`` otherwise; after construction it always holds the method used."""

    device: Device = "CPU"
    """``"CPU"`` or ``"GPU"``. ``"GPU"`` needs the GPU build of Aer (``pip install qiskit-aer-gpu``, or
    ``pip install "qml-hybrid[gpu]"``); ``AerBackend`` checks this when it is constructed."""

    shots: int | None = None
    """``None``: exact expectation values and probabilities. A positive int: estimate them from that many
    measurement shots per binding (per measurement basis for expectation values)."""

    seed: int | None = None
    """Seed of Aer's sampler (``seed_simulator``), ``>= 0``; 0 is a valid seed. ``None`` draws a seed from the
    ``generator`` passed to :meth:`Backend.run` when there is one, and lets Aer pick one otherwise. A fixed
    seed makes every call with the same circuit and values return the same samples."""

    noise_model: NoiseModel | None = None
    """A ``qiskit_aer.noise.NoiseModel`` applied to every run. The circuit is transpiled to its basis gates.
    With ``shots=None`` the noisy results are exact (density matrix); with ``shots`` they are sampled.
    Our :class:`circuits.noise.NoiseModel` is accepted and converted to Qiskit's on construction."""

    precision: Precision = "double"
    """Floating-point precision Aer simulates with: ``"double"`` or ``"single"`` (halves GPU memory)."""

    blocking_enable: bool = False
    """Split the state into chunks of ``blocking_qubits`` qubits (Aer cache blocking): needed to spread one
    state vector over several GPUs (``device="GPU"``) or MPI processes, also accepted on CPU."""

    blocking_qubits: int | None = None
    """Chunk size in qubits when ``blocking_enable`` is set. Choose it so that a chunk with its buffers fits
    the smallest GPU: ``16 * 2**(blocking_qubits + 4)`` bytes (double precision) below its memory."""

    custatevec_enable: bool = False
    """Use NVIDIA cuStateVec for ``device="GPU"`` statevector runs (ignored by Aer builds without it)."""

    runtime_parameter_bind: bool = True
    """Let Aer bind the batch's parameter values at run time instead of building one circuit per binding
    (Aer's ``runtime_parameter_bind_enable``): same results, about 3x faster for large batches such as the
    shifted bindings of a gradient. Set ``False`` to use Aer's per-binding circuits."""

    simulator_options: Mapping[str, Any] = field(default_factory=dict)
    """Further ``AerSimulator`` options passed through unchanged (``max_parallel_experiments``,
    ``target_gpus``, ``matrix_product_state_max_bond_dimension``, ...); see the AerSimulator documentation."""

    def __post_init__(self) -> None:
        if self.method is not None and self.method not in _METHODS:
            raise ValueError(
                f"AerOptions.method must be one of {', '.join(repr(m) for m in _METHODS)} (or None to choose "
                f"automatically), got {self.method!r}."
            )
        device = self.device.upper() if isinstance(self.device, str) else self.device
        if device not in ("CPU", "GPU"):
            raise ValueError(f"AerOptions.device must be 'CPU' or 'GPU', got {self.device!r}.")
        object.__setattr__(self, "device", device)
        if self.shots is not None:
            object.__setattr__(self, "shots", check_shots(self.shots))
        if self.seed is not None:
            if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)):
                raise TypeError(
                    f"AerOptions.seed must be an int or None, got {self.seed!r} ({type(self.seed).__name__})."
                )
            if self.seed < 0:
                raise ValueError(f"AerOptions.seed must be >= 0, got {self.seed}.")
            object.__setattr__(self, "seed", int(self.seed))
        if isinstance(self.noise_model, OurNoiseModel):
            object.__setattr__(self, "noise_model", noise_model_to_qiskit(self.noise_model))
        if self.noise_model is not None and not isinstance(self.noise_model, NoiseModel):
            raise TypeError(
                f"AerOptions.noise_model must be a qiskit_aer.noise.NoiseModel or None, got "
                f"{type(self.noise_model).__name__}. For a device's noise use AerBackend.from_backend(backend); "
                "circuits.noise.NoiseModel is converted too."
            )
        if self.precision not in ("double", "single"):
            raise ValueError(f"AerOptions.precision must be 'double' or 'single', got {self.precision!r}.")
        if self.blocking_qubits is not None:
            if isinstance(self.blocking_qubits, bool) or not isinstance(self.blocking_qubits, (int, np.integer)):
                raise TypeError(f"AerOptions.blocking_qubits must be an int or None, got {self.blocking_qubits!r}.")
            if self.blocking_qubits < 1:
                raise ValueError(f"AerOptions.blocking_qubits must be >= 1, got {self.blocking_qubits}.")
            if not self.blocking_enable:
                raise ValueError(
                    f"AerOptions.blocking_qubits={self.blocking_qubits} has no effect without blocking_enable=True; "
                    "set blocking_enable=True to split the state into chunks."
                )
        elif self.blocking_enable:
            raise ValueError(
                "AerOptions.blocking_enable=True needs blocking_qubits, the chunk size in qubits (for example "
                "blocking_qubits=20 on GPUs with 16 GiB or more)."
            )
        if not isinstance(self.simulator_options, Mapping):
            raise TypeError(
                f"AerOptions.simulator_options must be a mapping of AerSimulator options, got "
                f"{type(self.simulator_options).__name__}."
            )
        reserved = sorted(set(self.simulator_options) & _RESERVED_SIMULATOR_OPTIONS)
        if reserved:
            raise ValueError(
                f"AerOptions.simulator_options may not set {reserved}: they are AerOptions fields of their own "
                "(method, device, precision, noise_model, blocking_*, custatevec_enable, runtime_parameter_bind); "
                "pass them as those fields so they are validated."
            )
        object.__setattr__(self, "simulator_options", types.MappingProxyType(dict(self.simulator_options)))

        method = self.method
        if method is None:
            method = "density_matrix" if self.noise_model is not None and self.shots is None else "statevector"
            object.__setattr__(self, "method", method)
        if self.noise_model is not None and self.shots is None and method != "density_matrix":
            raise ValueError(
                f"A noise model with shots=None needs method='density_matrix' (exact noisy results); got "
                f"method={method!r}. Use method='density_matrix' (or leave method unset), or pass shots=N to "
                "sample noisy trajectories."
            )
        if method == "matrix_product_state" and device == "GPU":
            raise ValueError(
                "Aer runs method='matrix_product_state' on CPU only; use device='CPU', or method='statevector' "
                "on the GPU."
            )


@functools.cache
def _available_devices() -> tuple[str, ...]:
    return tuple(AerSimulator().available_devices())


@dataclass(frozen=True)
class _Body:
    """A circuit converted and transpiled for the simulator, without its global phase."""

    circuit: QuantumCircuit
    phase: float | ParameterExpression


@dataclass(frozen=True)
class _Program:
    """The Qiskit circuits of one (circuit, measurement) request and what is needed to read the results."""

    circuits: tuple[QuantumCircuit, ...]
    body: _Body
    readout: Any = None


class AerBackend(Backend):
    """Qiskit Aer simulators behind the :class:`~circuits.backend.Backend` interface.

    Args:
        method: ``"statevector"``, ``"density_matrix"`` or ``"matrix_product_state"``; ``None`` chooses (see
            :class:`AerOptions`).
        device: ``"CPU"`` or ``"GPU"`` (needs ``pip install qiskit-aer-gpu``).
        shots: ``None`` for exact results, or the number of shots per binding.
        seed: seed of Aer's sampler; ``None`` for a seed from the run's generator, or a random one.
        noise_model: a ``qiskit_aer.noise.NoiseModel`` or our :class:`circuits.noise.NoiseModel` (converted).
        precision: ``"double"`` or ``"single"``.
        blocking_enable: chunk the state (multi-GPU / MPI state vectors).
        blocking_qubits: chunk size in qubits, with ``blocking_enable``.
        custatevec_enable: use cuStateVec on GPU.
        runtime_parameter_bind: let Aer bind the batch at run time (faster; default).
        simulator_options: further ``AerSimulator`` options.

    Raises:
        BackendUnavailableError: ``device="GPU"`` and the installed qiskit-aer has no GPU support.

    Example:
        A noisy simulation, exact (density matrix), with the noise of a device's calibration snapshot::

            from qiskit_ibm_runtime.fake_provider import FakeManilaV2   # optional dependency
            backend = AerBackend.from_backend(FakeManilaV2())
            backend.expval(circuit, Z(0), params)

        or with a noise model built by hand::

            from qiskit_aer.noise import NoiseModel, depolarizing_error
            noise = NoiseModel()
            noise.add_all_qubit_quantum_error(depolarizing_error(0.01, 1), ["sx", "x"])
            AerBackend(noise_model=noise, shots=4000, seed=7)
    """

    name = "aer"

    def __init__(
        self,
        *,
        method: Method | None = None,
        device: Device = "CPU",
        shots: int | None = None,
        seed: int | None = None,
        noise_model: NoiseModel | OurNoiseModel | None = None,
        precision: Precision = "double",
        blocking_enable: bool = False,
        blocking_qubits: int | None = None,
        custatevec_enable: bool = False,
        runtime_parameter_bind: bool = True,
        simulator_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.options = AerOptions(
            method=method,
            device=device,
            shots=shots,
            seed=seed,
            noise_model=noise_model,
            precision=precision,
            blocking_enable=blocking_enable,
            blocking_qubits=blocking_qubits,
            custatevec_enable=custatevec_enable,
            runtime_parameter_bind=runtime_parameter_bind,
            simulator_options={} if simulator_options is None else simulator_options,
        )
        if self.options.device == "GPU" and "GPU" not in _available_devices():
            raise BackendUnavailableError(
                f"AerBackend(device='GPU') needs the GPU build of Qiskit Aer, but the installed qiskit-aer supports "
                f"only {list(_available_devices())}. Install it with `pip install qiskit-aer-gpu` (or "
                '`pip install "qml-hybrid[gpu]"`) on a machine with an NVIDIA GPU and a CUDA 12 driver, '
                "or use device='CPU'."
            )
        self._simulator = AerSimulator(**self._simulator_kwargs())
        self._bodies: OrderedDict[Circuit, _Body] = OrderedDict()
        self._programs: OrderedDict[Hashable, _Program] = OrderedDict()

    @classmethod
    def from_backend(cls, backend: Any, **kwargs: Any) -> AerBackend:
        """An :class:`AerBackend` with the noise model of a Qiskit backend's calibration snapshot.

        The noise model is ``NoiseModel.from_backend(backend)`` (gate errors, thermal relaxation, readout
        errors per physical qubit); our qubit ``q`` is the device's qubit ``q``. No routing happens: a
        two-qubit gate between qubits the device does not couple runs without noise.

        Args:
            backend: a Qiskit ``BackendV2`` with a target, e.g. ``FakeManilaV2()`` from
                ``qiskit_ibm_runtime.fake_provider`` or ``GenericBackendV2(5)``.
            **kwargs: other :class:`AerBackend` arguments (``shots``, ``seed``, ``method`` ...).

        Returns:
            The backend; exact (density matrix) unless ``shots`` is given.
        """
        if "noise_model" in kwargs:
            raise TypeError("AerBackend.from_backend builds the noise model from the backend; do not pass noise_model.")
        return cls(noise_model=NoiseModel.from_backend(backend), **kwargs)

    def __repr__(self) -> str:
        o = self.options
        noise = "" if o.noise_model is None else ", noise_model=NoiseModel(...)"
        return f"AerBackend(method={o.method!r}, device={o.device!r}, shots={o.shots}, seed={o.seed}{noise})"

    def _simulator_kwargs(self) -> dict[str, Any]:
        o = self.options
        kwargs: dict[str, Any] = {"method": o.method, "device": o.device, "precision": o.precision}
        if o.noise_model is not None:
            kwargs["noise_model"] = o.noise_model
        if o.blocking_enable:
            kwargs["blocking_enable"] = True
            kwargs["blocking_qubits"] = o.blocking_qubits
        if o.custatevec_enable:
            kwargs["cuStateVec_enable"] = True
        if o.runtime_parameter_bind:
            kwargs["runtime_parameter_bind_enable"] = True
        kwargs.update(o.simulator_options)
        return kwargs

    def _param_dtype(self) -> torch.dtype:
        return torch.float64

    # -- execution ----------------------------------------------------------------------------

    def _run(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        if isinstance(measurement, StateVector):
            if self.options.method == "density_matrix":
                raise ValueError(
                    "StateVector is not available with method='density_matrix' (the simulated state is a density "
                    "matrix); use AerBackend(method='statevector'), or measure Probabilities / Expectation."
                )
            if self.options.noise_model is not None:
                raise ValueError(
                    "StateVector is not available with a noise model (a noisy state vector is one random "
                    "trajectory); measure Probabilities / Expectation, or remove the noise model."
                )
        if circuit.has_channels:
            if isinstance(measurement, StateVector):
                raise ValueError(
                    "StateVector is not available for a circuit with noise channels (a noisy state vector is one "
                    "random trajectory); measure Probabilities / Expectation, or use TorchBackend(method="
                    "'density_matrix').state(...) for the density matrix."
                )
            if self.options.shots is None and not isinstance(measurement, Samples):
                if self.options.method != "density_matrix":
                    raise ValueError(
                        f"The circuit has noise channels; exact results (shots=None) need "
                        f"AerBackend(method='density_matrix'), got method={self.options.method!r}. Use "
                        "method='density_matrix', or shots=N to sample noisy trajectories."
                    )
        self._check_state_size(circuit, batch_size, measurement)
        if isinstance(measurement, (Samples, StateVector)):
            detached = {k: v.detach() for k, v in values.items()}
            return self._execute(circuit, detached, batch_size, measurement, generator=generator)

        def execute(
            circuit: Circuit, values: dict[str, torch.Tensor], batch_size: int, measurement: Measurement
        ) -> torch.Tensor:
            return self._execute(circuit, values, batch_size, measurement, generator=generator)

        return parameter_shift_run(execute, circuit, values, batch_size, measurement)

    def _check_state_size(self, circuit: Circuit, batch_size: int, measurement: Measurement) -> None:
        """Refuse, before converting or transpiling, a simulation that cannot fit (Aer's limit or memory)."""
        o = self.options
        n = circuit.num_qubits
        limit = int(self._simulator.num_qubits)  # Aer's own limit: available memory for the method and device
        if o.method == "matrix_product_state":
            if n > limit:
                raise SimulationMemoryError(
                    f"AerBackend(method='matrix_product_state') simulates at most {limit} qubits; the circuit has {n}. "
                    "Use fewer qubits."
                )
            return
        density = o.method == "density_matrix"
        amplitudes = 2 ** (2 * n if density else n)
        needed = amplitudes * (16 if o.precision == "double" else 8)
        if isinstance(measurement, StateVector):
            needed += 2 * batch_size * 16 * 2**n  # Aer's result and our complex128 tensor
        elif isinstance(measurement, Probabilities) and o.shots is None:
            needed += 2 * batch_size * 8 * 2 ** len(measured_qubits(circuit, measurement.qubits))
        available = None if o.device == "GPU" else available_memory_bytes(torch.device("cpu"))
        if n > limit:
            reason = f"Qiskit Aer allows at most {limit} qubits with this method here (its own memory estimate)"
        elif available is not None and needed > available:
            reason = f"only {format_bytes(available)} is available"
        else:
            return
        what = f"the 2**{2 * n}-entry density matrix" if density else f"the 2**{n}-amplitude state vector"
        raise SimulationMemoryError(
            f"AerBackend(method={o.method!r}) cannot simulate {n} qubits: {what} needs about "
            f"{format_bytes(min(needed, 2**63))}, but {reason}. Use fewer qubits, precision='single', or "
            "method='matrix_product_state' for weakly entangled circuits."
        )

    def _seed(self, generator: torch.Generator | None) -> int | None:
        if self.options.seed is not None:
            return self.options.seed
        if generator is not None:
            return int(torch.randint(0, 2**31 - 1, (1,), generator=generator, device=generator.device).item())
        return None

    def _execute(
        self,
        circuit: Circuit,
        values: Mapping[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        *,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Run one batch in one Aer call (no autograd).

        Args:
            circuit: the circuit.
            values: vector name to values of shape ``(1 or batch_size, size)``.
            batch_size: number of bindings.
            measurement: what to measure.
            generator: source of the sampling seed when the options have none.

        Returns:
            The measurement's tensor, batch first, on the device of the values (CPU without values).

        Shape:
            values: ``{name: (1 or B, size)}``; returns ``(B, ...)`` as described in :mod:`circuits.backend`.
        """
        device = next(iter(values.values())).device if values else torch.device("cpu")
        return self._execute_on_cpu(circuit, values, batch_size, measurement, generator).to(device)

    def _execute_on_cpu(
        self,
        circuit: Circuit,
        values: Mapping[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        n = circuit.num_qubits
        if isinstance(measurement, (Probabilities, Samples)):
            qubits = measured_qubits(circuit, measurement.qubits)
            if not qubits:
                if isinstance(measurement, Samples):
                    return torch.zeros(batch_size, measurement.shots, 0, dtype=torch.int64)
                return torch.ones(batch_size, 1, dtype=torch.float64)
        shots = self.options.shots
        if isinstance(measurement, Samples):
            shots = measurement.shots
        elif isinstance(measurement, StateVector):
            shots = None
        program = self._program(circuit, measurement, shots is not None)
        if isinstance(measurement, Expectation) and not program.circuits:
            constants = torch.tensor(program.readout.constants, dtype=torch.float64)
            return constants.expand(batch_size, -1).clone()
        if isinstance(measurement, Samples):
            m = len(qubits)
            check_shot_budget(
                backend="AerBackend",
                shots=measurement.shots,
                executions=batch_size,
                bytes_per_shot=_SAMPLE_BYTES_PER_BIT * m + _SAMPLE_BYTES_PER_SHOT,
                shots_per_second=SHOTS_PER_SECOND,
            )
        elif shots is not None:
            check_shot_budget(
                backend="AerBackend",
                shots=shots,
                executions=batch_size * len(program.circuits),
                shots_per_second=SHOTS_PER_SECOND,
            )

        arrays = {
            name: np.broadcast_to(v.detach().to("cpu", torch.float64).numpy(), (batch_size, v.shape[-1]))
            for name, v in values.items()
        }
        run_kwargs: dict[str, Any] = {"shots": 1 if shots is None else shots}
        seed = self._seed(generator) if shots is not None else self.options.seed
        if seed is not None:
            run_kwargs["seed_simulator"] = seed
        if isinstance(measurement, Samples):
            run_kwargs["memory"] = True
        body = program.body.circuit
        if body.num_parameters:
            used = {p.vector.name if isinstance(p, ParameterVectorElement) else p.name for p in body.parameters}
            binds = qiskit_parameter_binds(body, {k: v for k, v in arrays.items() if k in used})
            circuits = list(program.circuits)
            run_kwargs["parameter_binds"] = [binds] * len(circuits)
        else:
            circuits = [c for c in program.circuits for _ in range(batch_size)]
        result = self._simulator.run(circuits, **run_kwargs).result()
        _check_result(result)
        # Experiments come circuit-major: all bindings of circuit 0, then of circuit 1, ...
        if isinstance(measurement, StateVector):
            return _read_states(result, n, batch_size, program.body.phase, arrays)
        if isinstance(measurement, Samples):
            memory = [from_qiskit_order(result.get_memory(i), len(qubits)) for i in range(batch_size)]
            return torch.from_numpy(np.stack(memory).astype(np.int64))
        if isinstance(measurement, Probabilities):
            if shots is None:
                probs = np.stack([np.asarray(result.data(i)["probs"], dtype=np.float64) for i in range(batch_size)])
                return torch.from_numpy(from_qiskit_order(probs, len(qubits)))
            return probabilities_from_counts(
                [Counts.from_qiskit(result.get_counts(i), len(qubits)) for i in range(batch_size)]
            )
        assert isinstance(measurement, Expectation)
        if shots is None:
            return _read_exact_expectations(result, batch_size, program.readout)
        plan: ShotPlan = program.readout
        counts = [
            [Counts.from_qiskit(result.get_counts(g * batch_size + i), len(basis.qubits)) for i in range(batch_size)]
            for g, basis in enumerate(plan.bases)
        ]
        return plan.expectations(counts, batch_size)

    # -- circuit preparation ---------------------------------------------------------------------

    def _body(self, circuit: Circuit) -> _Body:
        body = self._bodies.get(circuit)
        if body is not None:
            self._bodies.move_to_end(circuit)
            return body
        qc = transpile(circuit_to_qiskit(circuit), self._simulator, optimization_level=0)
        # qiskit-aer 0.18 drops the bound values of parameterized controlled gates (crx, cp, mcphase ...:
        # Qiskit/qiskit-aer#2323, #2391, #2403), so those are replaced by their definitions.
        for _ in range(8):
            broken = {
                inst.operation.name
                for inst in qc.data
                if isinstance(inst.operation, ControlledGate) and _has_free_parameters(inst.operation.params)
            }
            if not broken:
                break
            qc = transpile(Decompose(gates_to_decompose=sorted(broken))(qc), self._simulator, optimization_level=0)
        else:
            raise BackendExecutionError(
                f"Could not rewrite the parameterized controlled gates {sorted(broken)} into gates that Qiskit Aer "
                "binds correctly (qiskit-aer#2403). Bind the parameters first (circuit.bind) or use TorchBackend."
            )
        # Aer binds a parameterized global phase to the wrong binding (qiskit-aer 0.18), so the phase is
        # taken out here and applied to state vectors in _read_states (other measurements ignore it).
        phase = qc.global_phase
        qc.global_phase = 0.0
        if isinstance(phase, ParameterExpression) and not phase.parameters:
            phase = float(phase)
        body = _Body(qc, phase)
        self._bodies[circuit] = body
        if len(self._bodies) > _CACHE_SIZE:
            self._bodies.popitem(last=False)
        return body

    def _program(self, circuit: Circuit, measurement: Measurement, sampled: bool) -> _Program:
        if isinstance(measurement, Samples):
            key: Hashable = (circuit, "samples", measurement.qubits)
        else:
            key = (circuit, measurement, sampled)
        program = self._programs.get(key)
        if program is not None:
            self._programs.move_to_end(key)
            return program
        body = self._body(circuit)
        n = circuit.num_qubits
        if isinstance(measurement, StateVector):
            qc = body.circuit.copy()
            qc.save_statevector(label="state")
            program = _Program((qc,), body)
        elif isinstance(measurement, (Probabilities, Samples)):
            qubits = measured_qubits(circuit, measurement.qubits)
            qc = body.circuit.copy()
            if sampled:
                _measure(qc, qubits)
            else:
                qc.save_probabilities(list(qubits), label="probs")
            program = _Program((qc,), body)
        else:
            assert isinstance(measurement, Expectation)
            if sampled:
                program = _sampled_expectation_program(body, measurement.observables, n)
            else:
                program = _exact_expectation_program(body, measurement.observables)
        self._programs[key] = program
        if len(self._programs) > _CACHE_SIZE:
            self._programs.popitem(last=False)
        return program


def _has_free_parameters(params: Sequence[Any]) -> bool:
    return any(isinstance(p, ParameterExpression) and p.parameters for p in params)


# -- programs ------------------------------------------------------------------------------------


def _measure(qc: QuantumCircuit, qubits: Sequence[int]) -> None:
    """Measure ``qubits[j]`` into classical bit ``j`` (column ``j`` once read by :func:`from_qiskit_order`)."""
    creg = ClassicalRegister(len(qubits), "meas")
    qc.add_register(creg)
    for j, q in enumerate(qubits):
        qc.measure(q, creg[j])


@dataclass(frozen=True)
class _ExactReadout:
    """Per observable: a constant, and the label of a saved expectation value or projector probabilities."""

    constants: tuple[float, ...]
    items: tuple[tuple[str, int] | None, ...]


def _exact_expectation_program(body: _Body, observables: Sequence[PauliSum | Projector]) -> _Program:
    qc = body.circuit.copy()
    constants: list[float] = []
    items: list[tuple[str, int] | None] = []
    for k, obs in enumerate(observables):
        if isinstance(obs, Projector):
            qc.save_probabilities(list(obs.qubits), label=f"o{k}")
            constants.append(0.0)
            items.append((f"o{k}", int("".join(map(str, obs.bits)), 2)))
            continue
        constant = sum(t.coeff for t in obs.terms if not t.paulis)
        terms = PauliSum(tuple(t for t in obs.terms if t.paulis))
        constants.append(float(constant))
        if not terms.terms:
            items.append(None)
            continue
        qargs = list(obs.qubits)
        operator = SparsePauliOp.from_sparse_list(sparse_terms(terms, qargs), len(qargs))
        qc.save_expectation_value(operator, qargs, label=f"o{k}")
        items.append((f"o{k}", -1))
    circuits = (qc,) if any(item is not None for item in items) else ()
    return _Program(circuits, body, _ExactReadout(tuple(constants), tuple(items)))


def _sampled_expectation_program(body: _Body, observables: Sequence[PauliSum | Projector], n: int) -> _Program:
    """One measured circuit per basis of the plan: the body, the basis rotation (our operations), measurements."""
    plan = shot_plan(observables)
    circuits = []
    for basis in plan.bases:
        qc = body.circuit.copy()
        rotation = basis.rotation()
        if rotation:
            qc.compose(circuit_to_qiskit(Circuit(n, rotation)), qubits=range(n), inplace=True)
        _measure(qc, basis.qubits)
        circuits.append(qc)
    return _Program(tuple(circuits), body, plan)


# -- reading results -----------------------------------------------------------------------------


def _check_result(result: Any) -> None:
    if result.success:
        return
    messages = [str(r.status) for r in result.results if not r.success] or [str(result.status)]
    message = "; ".join(dict.fromkeys(messages))
    if "memory" in message.lower():
        raise SimulationMemoryError(
            f"Qiskit Aer ran out of memory: {message}. Use fewer qubits, a smaller batch, precision='single', "
            "or method='matrix_product_state'."
        )
    raise BackendExecutionError(
        f"Qiskit Aer failed to run the circuit: {message}. Check the circuit with TorchBackend, or report it "
        "with the circuit's JSON (circuits.ir.serialize.circuit_to_json)."
    )


def _read_exact_expectations(result: Any, batch_size: int, readout: _ExactReadout) -> torch.Tensor:
    out = np.tile(np.asarray(readout.constants, dtype=np.float64), (batch_size, 1))
    for i in range(batch_size):
        data = result.data(i)
        for k, item in enumerate(readout.items):
            if item is None:
                continue
            label, index = item
            value = data[label]
            if index < 0:
                out[i, k] += float(np.real(value))
            else:  # a projector: its qubits' probabilities, Aer's index order
                probs = np.asarray(value, dtype=np.float64)
                out[i, k] += float(from_qiskit_order(probs, probs.size.bit_length() - 1)[index])
    return torch.from_numpy(out)


def _read_states(
    result: Any, n: int, batch_size: int, phase: float | ParameterExpression, arrays: Mapping[str, np.ndarray]
) -> torch.Tensor:
    states = np.stack([np.asarray(result.data(i)["state"], dtype=np.complex128) for i in range(batch_size)])
    states = from_qiskit_order(states, n)
    if isinstance(phase, ParameterExpression):
        # Parameters are elements of Qiskit ParameterVectors named like ours (circuits.export.qiskit).
        columns = {p: arrays[p.vector.name][:, p.index] for p in phase.parameters}
        angles = np.array(
            [float(phase.bind({p: float(c[i]) for p, c in columns.items()})) for i in range(batch_size)],
            dtype=np.float64,
        )
    else:
        angles = np.full(batch_size, float(phase))
    states = states * np.exp(1j * angles)[:, None]
    return torch.from_numpy(np.ascontiguousarray(states))
