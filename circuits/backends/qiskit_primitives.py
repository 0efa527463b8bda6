"""Qiskit V2 primitives and a ``BackendV2`` on our torch engine.

Qiskit users keep their code and get our batched engine:

* :class:`Estimator` (a ``BaseEstimatorV2``) and :class:`Sampler` (a ``BaseSamplerV2``)
  follow Qiskit's reference ``StatevectorEstimator`` / ``StatevectorSampler``: the same
  PUB coercion, broadcasting and result containers, the same seeding rules
  (``seed=0`` is a seed). Every parameter binding of a PUB is evaluated in **one**
  batched :class:`~circuits.sim.torch_backend.TorchBackend` run.
* :class:`TorchBackendV2` (a ``BackendV2`` named ``"qml_hybrid_torch"``) exposes a
  ``Target`` of the Qiskit standard gates our registry has, plus ``measure``, so
  ``transpile`` / ``generate_preset_pass_manager`` and Qiskit's generic
  ``BackendSamplerV2`` / ``BackendEstimatorV2`` work on it.

Conventions. Qiskit circuits convert with :func:`circuits.export.qiskit.circuit_from_qiskit`:
Qiskit qubit ``i`` is our qubit ``i``; a ``ParameterVector`` element ``theta[i]`` is entry
``i`` of our vector ``theta``, a plain ``Parameter("a")`` our vector ``a`` of size 1.
Observables are Qiskit's little-endian Pauli labels (the rightmost letter acts on qubit 0):
the letter at label position ``n - 1 - q`` acts on our qubit ``q``.

Only final measurements are supported (they are sampled from the final state);
mid-circuit measurements, resets and classical control raise
:class:`~circuits.errors.ConversionError`.

Example:
    >>> from qiskit import QuantumCircuit
    >>> from circuits.backends.qiskit_primitives import Estimator
    >>> qc = QuantumCircuit(2)
    >>> _ = qc.h(0)
    >>> _ = qc.cx(0, 1)
    >>> round(float(Estimator().run([(qc, "ZZ")]).result()[0].data.evs), 6)
    1.0
"""

from __future__ import annotations

import math
import uuid
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import torch
from qiskit.circuit import Measure, ParameterVectorElement, QuantumCircuit
from qiskit.circuit.library import get_standard_gate_name_mapping
from qiskit.primitives import (
    BaseEstimatorV2,
    BaseSamplerV2,
    BitArray,
    DataBin,
    PrimitiveJob,
    PrimitiveResult,
    PubResult,
    SamplerPubResult,
)
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.primitives.containers.estimator_pub import EstimatorPub, EstimatorPubLike
from qiskit.primitives.containers.sampler_pub import SamplerPub, SamplerPubLike
from qiskit.providers import BackendV2, JobStatus, JobV1, Options
from qiskit.result import Result
from qiskit.transpiler import Target

from circuits.backend import Expectation, Samples
from circuits.export.qiskit import circuit_from_qiskit, pauli_sum_from_qiskit
from circuits.ir.circuit import Circuit
from circuits.ir.gates import GATES
from circuits.ir.observables import PauliSum
from circuits.sim.torch_backend import TorchBackend

__all__ = ["Estimator", "Sampler", "TorchBackendV2", "TorchJob", "pauli_sum_from_qiskit"]

_IMAG_ATOL = 1e-12


# -- shared helpers -----------------------------------------------------------------------------


def _engine(dtype: torch.dtype, device: torch.device | str | None) -> TorchBackend:
    if dtype not in (torch.complex64, torch.complex128):
        raise ValueError(f"dtype must be torch.complex64 or torch.complex128, got {dtype}.")
    return TorchBackend(dtype=dtype, device=device)


def _binding_values(
    qc: QuantumCircuit, circuit: Circuit, parameter_values: BindingsArray
) -> tuple[dict[str, np.ndarray], int]:
    """Our parameter values, ``{vector: (B, size)}``, for every binding of a PUB (flattened in C order)."""
    shape = parameter_values.shape
    batch = math.prod(shape)
    parameters = list(qc.parameters)
    flat = parameter_values.as_array(parameters).reshape(batch, len(parameters)) if parameters else None
    sizes = circuit.parameters
    values = {name: np.zeros((batch, size), dtype=np.float64) for name, size in sizes.items()}
    for column, parameter in enumerate(parameters):
        if isinstance(parameter, ParameterVectorElement):
            name, index = parameter.vector.name, parameter.index
        else:
            name, index = parameter.name, 0
        if name in values:  # a parameter can vanish in conversion (e.g. 0 * a)
            values[name][:, index] = flat[:, column]
    return values, batch


def _measurement_map(qc: QuantumCircuit) -> tuple[tuple[int, ...], np.ndarray]:
    """The measured qubits (sorted) and, per clbit, the column of its qubit among them.

    A clbit never measured gets ``len(qubits)`` (a column of zeros). The last measurement into a
    clbit wins (as in Qiskit's reference primitives).
    """
    clbit_qubit: dict[int, int] = {}
    for instruction in qc.data:
        if isinstance(instruction.operation, Measure):
            qubit = qc.find_bit(instruction.qubits[0]).index
            clbit_qubit[qc.find_bit(instruction.clbits[0]).index] = qubit
    qubits = tuple(sorted(set(clbit_qubit.values())))
    column = {q: j for j, q in enumerate(qubits)}
    columns = np.full(qc.num_clbits, len(qubits), dtype=np.int64)
    for clbit, qubit in clbit_qubit.items():
        columns[clbit] = column[qubit]
    return qubits, columns


def _sample_clbits(
    engine: TorchBackend,
    qc: QuantumCircuit,
    circuit: Circuit,
    values: Mapping[str, np.ndarray] | None,
    batch: int,
    shots: int,
    generator: torch.Generator,
) -> np.ndarray:
    """Sample ``circuit`` (``qc`` without its final measurements): clbit values ``(batch, shots, num_clbits)`` uint8."""
    qubits, columns = _measurement_map(qc)
    if qubits and batch:
        bits = engine.run(circuit, values, measurement=Samples(shots, qubits), generator=generator)
        bits = bits.cpu().numpy().astype(np.uint8)
        if bits.shape[0] != batch:  # a parameter-free circuit runs once
            bits = np.broadcast_to(bits, (batch, *bits.shape[1:]))
    else:
        bits = np.zeros((batch, shots, len(qubits)), dtype=np.uint8)
    padded = np.concatenate([bits, np.zeros((batch, shots, 1), dtype=np.uint8)], axis=-1)
    return padded[..., columns]


def _pack(bits: np.ndarray) -> np.ndarray:
    """Pack bits ``(..., nbits)`` (bit ``i`` = clbit ``i``) into big-endian bytes ``(..., ceil(nbits / 8))``."""
    nbits = bits.shape[-1]
    reversed_bits = bits[..., ::-1]
    pad = -nbits % 8
    if pad:
        widths = [(0, 0)] * (bits.ndim - 1) + [(pad, 0)]
        reversed_bits = np.pad(reversed_bits, widths)
    return np.packbits(reversed_bits, axis=-1)


def _check_seed(seed: Any, owner: str) -> None:
    if seed is None or isinstance(seed, np.random.Generator):
        return
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{owner} seed must be an int >= 0, a numpy Generator or None, got {seed!r}.")
    if seed < 0:
        raise ValueError(f"{owner} seed must be >= 0 (0 is a valid seed), got {seed}.")


def _torch_generator(seed: int | np.random.Generator | None) -> torch.Generator:
    generator = torch.Generator()
    if seed is None:
        generator.seed()
    elif isinstance(seed, np.random.Generator):
        generator.manual_seed(int(seed.integers(0, 2**63 - 1)))
    else:
        generator.manual_seed(int(seed))
    return generator


# -- Estimator ----------------------------------------------------------------------------------


class Estimator(BaseEstimatorV2):
    """A ``BaseEstimatorV2`` on our torch engine, mirroring Qiskit's ``StatevectorEstimator``.

    Each PUB ``(circuit, observables, parameter_values, precision)`` gives
    ``evs`` of shape ``np.broadcast_shapes(parameter_values.shape, observables.shape)``;
    all bindings run in one batched simulation, each distinct observable is evaluated
    once per binding. Exact when ``precision == 0``; otherwise Gaussian noise of standard
    deviation ``precision`` is added from ``numpy.random.default_rng(seed)`` (one
    generator per PUB, drawn in C order, as the reference does) and ``stds`` holds
    ``precision`` (the reference reports 0).

    Args:
        default_precision: precision of PUBs that give none, ``>= 0``.
        seed: seed (``>= 0``) or numpy ``Generator`` for the noise; ``None`` for fresh randomness.
        dtype: state dtype, ``torch.complex128`` (default) or ``torch.complex64``.
        device: torch device of the simulation (``None``: CPU).
    """

    def __init__(
        self,
        *,
        default_precision: float = 0.0,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        device: torch.device | str | None = None,
    ) -> None:
        if not isinstance(default_precision, (int, float, np.floating)) or not default_precision >= 0:
            raise ValueError(f"default_precision must be a real number >= 0, got {default_precision!r}.")
        _check_seed(seed, "Estimator")
        self._default_precision = float(default_precision)
        self._seed = seed
        self._engine = _engine(dtype, device)

    @property
    def default_precision(self) -> float:
        """The precision of PUBs that give none."""
        return self._default_precision

    @property
    def seed(self) -> int | np.random.Generator | None:
        """The seed or generator of the noise added when ``precision > 0``."""
        return self._seed

    def run(
        self, pubs: Iterable[EstimatorPubLike], *, precision: float | None = None
    ) -> PrimitiveJob[PrimitiveResult[PubResult]]:
        """Estimate expectation values of PUBs (see ``BaseEstimatorV2.run``)."""
        if precision is None:
            precision = self._default_precision
        coerced = [EstimatorPub.coerce(pub, precision) for pub in pubs]
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[EstimatorPub]) -> PrimitiveResult[PubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: EstimatorPub) -> PubResult:
        rng = np.random.default_rng(self._seed)
        qc = pub.circuit
        circuit = circuit_from_qiskit(qc)
        shape = np.broadcast_shapes(pub.parameter_values.shape, pub.observables.shape)
        observables = pub.observables
        distinct: dict[tuple[tuple[str, float], ...], int] = {}
        sums: list[PauliSum] = []
        obs_index = np.zeros(observables.shape, dtype=np.int64)
        for index in np.ndindex(*observables.shape):
            entry = observables[index]
            key = tuple(sorted((label, float(complex(c).real)) for label, c in entry.items()))
            if key not in distinct:
                distinct[key] = len(sums)
                sums.append(pauli_sum_from_qiskit(entry, qc.num_qubits))
            obs_index[index] = distinct[key]
        values, batch = _binding_values(qc, circuit, pub.parameter_values)
        if batch == 0 or not sums:
            evs = np.zeros(shape, dtype=np.float64)
        else:
            table = self._engine.run(circuit, values, measurement=Expectation(tuple(sums)))
            table = table.detach().cpu().numpy().astype(np.float64)
            if table.shape[0] != batch:  # a parameter-free circuit runs once
                table = np.broadcast_to(table, (batch, table.shape[1]))
            bind_index = np.arange(batch).reshape(pub.parameter_values.shape)
            b_index, o_index = np.broadcast_arrays(bind_index, obs_index)
            evs = np.array(table[b_index, o_index], dtype=np.float64).reshape(shape)
        precision = pub.precision
        stds = np.zeros(shape, dtype=np.float64)
        if precision != 0:
            evs = rng.normal(evs, precision) if evs.size else evs
            stds = np.full(shape, float(precision))
        data = DataBin(evs=evs, stds=stds, shape=shape)
        return PubResult(data, metadata={"target_precision": precision, "circuit_metadata": qc.metadata})


# -- Sampler ------------------------------------------------------------------------------------


class Sampler(BaseSamplerV2):
    """A ``BaseSamplerV2`` on our torch engine, mirroring Qiskit's ``StatevectorSampler``.

    Circuits end with measurements into classical registers; each PUB result holds one
    ``BitArray`` per register (same name), of shape ``bindings shape`` with
    ``shots`` samples. All bindings of a PUB are sampled in one batched simulation with a
    ``torch.Generator`` seeded by ``seed`` (each PUB starts from the seed, as the
    reference does). Unmeasured clbits read 0.

    Args:
        default_shots: shots of PUBs that give none, ``>= 1``.
        seed: seed (``>= 0``) or numpy ``Generator``; ``None`` for fresh randomness.
        dtype: state dtype, ``torch.complex128`` (default) or ``torch.complex64``.
        device: torch device of the simulation (``None``: CPU).
    """

    def __init__(
        self,
        *,
        default_shots: int = 1024,
        seed: int | np.random.Generator | None = None,
        dtype: torch.dtype = torch.complex128,
        device: torch.device | str | None = None,
    ) -> None:
        if isinstance(default_shots, bool) or not isinstance(default_shots, (int, np.integer)) or default_shots < 1:
            raise ValueError(f"default_shots must be an int >= 1, got {default_shots!r}.")
        _check_seed(seed, "Sampler")
        self._default_shots = int(default_shots)
        self._seed = seed
        self._engine = _engine(dtype, device)

    @property
    def default_shots(self) -> int:
        """The shots of PUBs that give none."""
        return self._default_shots

    @property
    def seed(self) -> int | np.random.Generator | None:
        """The seed or generator of the sampling."""
        return self._seed

    def run(
        self, pubs: Iterable[SamplerPubLike], *, shots: int | None = None
    ) -> PrimitiveJob[PrimitiveResult[SamplerPubResult]]:
        """Sample PUBs (see ``BaseSamplerV2.run``)."""
        if shots is None:
            shots = self._default_shots
        coerced = [SamplerPub.coerce(pub, shots) for pub in pubs]
        if any(len(pub.circuit.cregs) == 0 for pub in coerced):
            warnings.warn(
                "One of your circuits has no output classical registers and so the result will be empty. "
                "Did you mean to add measurement instructions?",
                UserWarning,
                stacklevel=2,
            )
        job = PrimitiveJob(self._run, coerced)
        job._submit()
        return job

    def _run(self, pubs: list[SamplerPub]) -> PrimitiveResult[SamplerPubResult]:
        return PrimitiveResult([self._run_pub(pub) for pub in pubs], metadata={"version": 2})

    def _run_pub(self, pub: SamplerPub) -> SamplerPubResult:
        qc = pub.circuit
        circuit = circuit_from_qiskit(qc, ignore_measurements=True)
        values, batch = _binding_values(qc, circuit, pub.parameter_values)
        clbits = _sample_clbits(self._engine, qc, circuit, values, batch, pub.shots, _torch_generator(self._seed))
        shape = pub.parameter_values.shape
        meas = {}
        for creg in qc.cregs:
            indices = [qc.find_bit(bit).index for bit in creg]
            packed = _pack(clbits[..., indices])
            meas[creg.name] = BitArray(packed.reshape(*shape, pub.shots, packed.shape[-1]), creg.size)
        return SamplerPubResult(
            DataBin(**meas, shape=shape), metadata={"shots": pub.shots, "circuit_metadata": qc.metadata}
        )


# -- BackendV2 ----------------------------------------------------------------------------------


class TorchJob(JobV1):
    """A finished job of :class:`TorchBackendV2` (the simulation runs in ``run``)."""

    def __init__(self, backend: TorchBackendV2, job_id: str, result: Result) -> None:
        super().__init__(backend, job_id)
        self._result = result

    def submit(self) -> None:
        """Nothing to do: the job ran when it was created."""

    def result(self) -> Result:
        """The ``qiskit.result.Result`` (counts, and memory when asked for)."""
        return self._result

    def status(self) -> JobStatus:
        """Always ``JobStatus.DONE``."""
        return JobStatus.DONE


def _standard_gates() -> list[Any]:
    gates = []
    for name, gate in get_standard_gate_name_mapping().items():
        if name in GATES and gate.num_qubits >= 1 and name != "unitary":
            gates.append(gate)
    return gates


class TorchBackendV2(BackendV2):
    """Our torch engine as a Qiskit ``BackendV2``: ``transpile`` to it and use the generic backend primitives.

    The target has every Qiskit standard gate our registry has, plus ``measure``, on all
    qubits (no coupling map: all-to-all, ideal). ``run`` samples circuits whose
    measurements are final and returns a ``qiskit.result.Result`` with hex-keyed
    counts (and per-shot ``memory`` with ``memory=True``).

    Args:
        num_qubits: width of the target (circuits may use fewer qubits).
        dtype: state dtype, ``torch.complex128`` (default) or ``torch.complex64``.
        device: torch device of the simulation (``None``: CPU).
        name: backend name.

    Example:
        >>> from qiskit import QuantumCircuit, transpile
        >>> backend = TorchBackendV2()
        >>> qc = QuantumCircuit(2)
        >>> _ = qc.h(0)
        >>> _ = qc.cx(0, 1)
        >>> _ = qc.measure_all()
        >>> sorted(backend.run(transpile(qc, backend), shots=100, seed_simulator=0).result().get_counts())
        ['00', '11']
    """

    def __init__(
        self,
        num_qubits: int = 24,
        *,
        dtype: torch.dtype = torch.complex128,
        device: torch.device | str | None = None,
        name: str = "qml_hybrid_torch",
    ) -> None:
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, (int, np.integer)) or num_qubits < 1:
            raise ValueError(f"num_qubits must be an int >= 1, got {num_qubits!r}.")
        super().__init__(name=name, backend_version="0.1", description="qml-hybrid batched torch state vector")
        self._engine = _engine(dtype, device)
        target = Target(description="qml-hybrid torch engine", num_qubits=int(num_qubits))
        for gate in _standard_gates():
            if gate.num_qubits <= num_qubits:
                target.add_instruction(gate, None)
        target.add_instruction(Measure(), None)
        self._target = target

    @property
    def target(self) -> Target:
        """Every standard gate our registry has, plus ``measure``, on all qubits."""
        return self._target

    @property
    def max_circuits(self) -> None:
        """No limit on the circuits of one ``run``."""
        return None

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, seed_simulator=None, memory=False)

    def run(self, run_input: QuantumCircuit | list[QuantumCircuit], **options: Any) -> TorchJob:
        """Sample bound circuits with final measurements.

        Args:
            run_input: a circuit or a list of circuits, every parameter bound.
            **options: ``shots`` (default 1024), ``seed_simulator`` (int >= 0, 0 is a seed; the
                circuits of one run draw from one generator in order) and ``memory`` (per-shot hex
                outcomes).

        Returns:
            A finished :class:`TorchJob`.

        Raises:
            TypeError: an unknown option or a non-circuit input.
            ValueError: unbound parameters, or bad shots / seed.
            ConversionError: mid-circuit measurements, resets, classical control.
        """
        unknown = sorted(set(options) - set(self.options.__dict__))
        if unknown:
            raise TypeError(
                f"TorchBackendV2.run got unknown option(s) {unknown}; expected shots, seed_simulator, memory."
            )
        merged = {**self.options.__dict__, **options}
        shots = merged["shots"]
        if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
            raise ValueError(f"shots must be an int >= 1, got {shots!r}.")
        seed = merged["seed_simulator"]
        _check_seed(seed, "TorchBackendV2 seed_simulator")
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        generator = _torch_generator(seed)
        results = [self._run_circuit(qc, int(shots), bool(merged["memory"]), generator) for qc in circuits]
        job_id = str(uuid.uuid4())
        result = Result.from_dict(
            {
                "backend_name": self.name,
                "backend_version": self.backend_version,
                "job_id": job_id,
                "success": True,
                "results": results,
            }
        )
        return TorchJob(self, job_id, result)

    def _run_circuit(self, qc: Any, shots: int, memory: bool, generator: torch.Generator) -> dict[str, Any]:
        if not isinstance(qc, QuantumCircuit):
            raise TypeError(f"TorchBackendV2.run expects QuantumCircuit(s), got {type(qc).__name__}.")
        if qc.parameters:
            names = sorted(p.name for p in qc.parameters)
            raise ValueError(
                f"Circuit {qc.name!r} has unbound parameters {names}; bind them (qc.assign_parameters(...)) before "
                "TorchBackendV2.run, or use BackendSamplerV2 / our Sampler, which bind PUB parameter values."
            )
        circuit = circuit_from_qiskit(qc, ignore_measurements=True)
        clbits = _sample_clbits(self._engine, qc, circuit, None, 1, shots, generator)[0]  # (shots, num_clbits)
        packed = _pack(clbits)
        outcomes = [int.from_bytes(row.tobytes(), "big") for row in packed] if qc.num_clbits else [0] * shots
        keys = [hex(v) for v in outcomes]
        counts: dict[str, int] = {}
        for key in keys:
            counts[key] = counts.get(key, 0) + 1
        data: dict[str, Any] = {"counts": counts}
        if memory:
            data["memory"] = keys
        header = {
            "name": qc.name,
            "n_qubits": qc.num_qubits,
            "memory_slots": qc.num_clbits,
            "creg_sizes": [[creg.name, creg.size] for creg in qc.cregs],
            "metadata": qc.metadata,
        }
        return {"shots": shots, "success": True, "data": data, "header": header, "meas_level": 2}
