"""``ProviderBackend``: the ``Backend`` protocol on real devices (and their simulators), one job per step.

Any model runs on it unchanged (``QKANLayer(..., backend=ProviderBackend("ibm:ibm_torino", shots=4000))``).
What a call does:

1. the measurement becomes a plan (:mod:`circuits.measurement`, shared with Aer): with shots, one
   measured circuit per group of qubit-wise commuting Pauli terms (the basis rotation appended as our
   own operations; projectors read as bitstrings), or the measured qubits for probabilities and
   samples; exact (``shots=None``, simulators that offer it), the Pauli sums as they are and the
   distribution of any projector's or probability's qubits from their ``2**m - 1`` Z-strings;
2. each circuit of the plan is converted to Qiskit and transpiled **once per structure** to the
   device's native gates and coupling map (``optimization_level``, seeded), parameters kept symbolic;
   observables are mapped to the transpiled layout;
3. every binding of the batch, of every measured circuit, goes into **one submission**, which
   :class:`~hardware.runner.JobRunner` sends through the journal (keyed on our own circuits, not on
   the transpiled ones): the cost estimate is printed first, forward and gradient circuits apart;
   the job is recorded before it is sent; a re-run re-attaches instead of paying again;
4. counts are (optionally) readout-mitigated with a calibration taken once on the measured physical
   qubits and recorded in the journal (:mod:`hardware.mitigation`), and turned into tensors.

Gradients (:func:`circuits.gradients.parameter_shift_run` with ``eager=True``): a forward pass sends the
forward circuits only, and its backward, if one follows, every shifted circuit in one more job. Inside
:func:`circuits.gradients.training_step` (``qml.training.fit`` marks its steps) the forward job carries the
shifted circuits too: **one job per training step**.

Shots: a device's own limit per circuit (``DeviceTarget.max_shots``) is checked when the backend is made
and for every ``Samples``; on a simulator without a known limit, a request that would sample for hours or
hold more samples than memory is refused before it is sent (:func:`circuits.measurement.check_shot_budget`).

Seeds: submission ``k`` of this backend gets the seed ``derive(seed, rank, k)``, so a re-run of the
same script sends the same submissions (same journal keys) and seed 0 is a seed.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from circuits.backend import Backend, Expectation, Measurement, Samples, StateVector, measured_qubits
from circuits.gradients import parameter_shift_run
from circuits.ir.circuit import Circuit
from circuits.ir.observables import Observable
from circuits.ir.serialize import content_hash
from circuits.measurement import (
    Counts,
    ExactPlan,
    check_shot_budget,
    exact_plan,
    probabilities_from_counts,
    probabilities_plan,
    shot_plan,
)
from hardware.journal import Journal
from hardware.providers.base import (
    CircuitBatch,
    DeviceTarget,
    Provider,
    Submission,
    SubmissionResult,
    SubmissionSource,
)
from hardware.registry import make_provider, parse_spec
from hardware.runner import JobRunner

__all__ = ["SIMULATOR_SHOTS_PER_SECOND", "ProviderBackend", "backend_from_spec", "derive_seed"]

SIMULATOR_SHOTS_PER_SECOND = 1e6
"""Sampling rate assumed, for the time estimate, of a target without a known shot limit (a local
simulator such as ``qiskit:aer``); requests estimated past :data:`circuits.measurement.MAX_SAMPLING_SECONDS`
are refused before they are sent."""

_SAMPLE_BYTES_PER_BIT = 16
"""Memory per shot and measured bit of ``Samples``: the int64 output and its shuffled copy."""


def derive_seed(seed: int, rank: int, step: int) -> int:
    """A 31-bit seed for submission ``step`` of process ``rank`` (stable across runs and platforms)."""
    digest = hashlib.sha256(f"{seed}:{rank}:{step}".encode()).digest()
    return int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


@dataclass
class _Compiled:
    """One circuit of a plan (basis rotation included), measured or not, transpiled for the device."""

    circuit: Circuit  # ours, before transpilation: what the journal keys on
    isa: Any  # qiskit QuantumCircuit
    measured: tuple[int, ...]  # our qubits, clbit j measures measured[j]
    physical: tuple[int, ...]  # their physical qubits


class ProviderBackend(Backend):
    """A device (or a provider's simulator) behind the ``Backend`` protocol.

    Args:
        provider: a :class:`~hardware.providers.base.Provider`, or ``"PROVIDER:DEVICE"`` (``"ibm:ibm_torino"``,
            ``"braket:sv1"``, ``"qiskit:fake_manila"``; see :data:`hardware.registry.PROVIDERS`).
        shots: shots per circuit execution; ``None`` asks for exact results (simulators only).
        seed: base of the per-submission seeds (``0`` is a seed).
        rank: data-parallel rank, mixed into the seeds.
        mitigation: readout-mitigate sampled results (calibration once per set of measured qubits).
        journal: the job journal (``None``: the default one; see :class:`~hardware.journal.Journal`).
        optimization_level: Qiskit transpiler level.
        poll_interval: seconds between status polls.
        timeout: seconds a job may take (``None``: no limit); on timeout it stays in the journal.
        log: where cost estimates and job lines go (``None``: standard error).
        provider_options: passed to the provider factory when ``provider`` is a string.
    """

    name = "provider"

    def __init__(
        self,
        provider: Provider | str,
        *,
        shots: int | None = 1000,
        seed: int = 0,
        rank: int = 0,
        mitigation: bool = False,
        journal: Journal | None = None,
        optimization_level: int = 1,
        poll_interval: float = 1.0,
        timeout: float | None = None,
        log: Any = None,
        **provider_options: Any,
    ) -> None:
        if isinstance(provider, str):
            provider = make_provider(*parse_spec(provider), **provider_options)
        if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
            raise ValueError(f"shots must be a positive int or None (exact), got {shots!r}.")
        self.provider = provider
        self.target: DeviceTarget = provider.target()
        if shots is None and not self.target.exact:
            raise ValueError(
                f"{self.target.provider}:{self.target.name} gives sampled results only; pass shots= (e.g. 4000)."
            )
        if shots is not None:
            self._check_device_shots(shots)
        self.shots, self.seed, self.rank, self.mitigation = shots, seed, rank, mitigation
        self.optimization_level = optimization_level
        self.runner = JobRunner(provider, journal, poll_interval=poll_interval, timeout=timeout, log=log)
        self.submissions = 0
        self._compiled: dict[tuple[str, tuple[int, ...]], _Compiled] = {}
        self._calibrations: dict[tuple[int, ...], Any] = {}

    def __repr__(self) -> str:
        return (
            f"ProviderBackend({self.target.provider}:{self.target.name}, shots={self.shots}, seed={self.seed}, "
            f"mitigation={self.mitigation})"
        )

    # -- the Backend protocol ------------------------------------------------------------------

    def _run(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        if isinstance(measurement, StateVector):
            raise ValueError("a device returns measurements, not state vectors; measure Expectation or Probabilities.")
        if circuit.has_channels:
            from circuits.errors import UnsupportedChannelError

            names = sorted({op.name for op in circuit if op.is_channel})
            raise UnsupportedChannelError(
                f"A device brings its own noise; the circuit's simulated noise channels {names} cannot be sent. "
                "Run the noiseless circuit on the device (the noise model belongs to simulator backends)."
            )
        if isinstance(measurement, Samples):
            return self._sample(circuit, {k: v.detach() for k, v in values.items()}, batch_size, measurement, generator)
        return parameter_shift_run(self._execute, circuit, values, batch_size, measurement, eager=True)

    # -- limits ----------------------------------------------------------------------------------

    @property
    def _device(self) -> str:
        return f"{self.target.provider}:{self.target.name}"

    def _check_device_shots(self, shots: int) -> None:
        limit = self.target.max_shots
        if limit is not None and shots > limit:
            raise ValueError(
                f"shots={shots} exceeds {self._device}'s limit of {limit} shots per circuit; ask for at most "
                f"{limit} (run several calls and average for more)."
            )

    def _check_shots(self, shots: int, executions: int, bytes_per_shot: float) -> None:
        """The device's limit where known; otherwise (a local simulator) memory and time estimates."""
        self._check_device_shots(shots)
        unknown = self.target.max_shots is None
        check_shot_budget(
            backend=f"ProviderBackend({self._device})",
            shots=shots,
            executions=executions,
            bytes_per_shot=bytes_per_shot,
            shots_per_second=SIMULATOR_SHOTS_PER_SECOND if unknown else None,
        )

    # -- one submission per call -----------------------------------------------------------------

    def _next_seed(self) -> int:
        """The seed of the next submission."""
        seed = derive_seed(self.seed, self.rank, self.submissions)
        self.submissions += 1
        return seed

    def _compile(self, circuit: Circuit, measured: tuple[int, ...]) -> _Compiled:
        """``circuit`` (any basis rotation already in it), measuring ``measured[j]`` into clbit ``j``, transpiled."""
        key = (content_hash(circuit), measured)
        if key in self._compiled:
            return self._compiled[key]
        from qiskit import transpile

        from circuits.export.qiskit import circuit_to_qiskit

        if circuit.num_qubits > self.target.num_qubits:
            from hardware.errors import DeviceTooSmallError

            raise DeviceTooSmallError(
                f"circuit needs {circuit.num_qubits} qubits but {self._device} has "
                f"{self.target.num_qubits}; use fewer qubits or a larger device."
            )
        qc = circuit_to_qiskit(circuit)
        if measured:
            from qiskit.circuit import ClassicalRegister

            register = ClassicalRegister(len(measured), "meas")
            qc.add_register(register)
            for index, qubit in enumerate(measured):
                qc.measure(qc.qubits[qubit], register[index])
        if self.target.qiskit_target is not None:
            isa = transpile(
                qc,
                target=self.target.qiskit_target,
                optimization_level=self.optimization_level,
                seed_transpiler=self.seed,
            )
            layout = isa.layout.final_index_layout() if isa.layout is not None else list(range(qc.num_qubits))
        else:
            isa, layout = qc, list(range(qc.num_qubits))
        compiled = _Compiled(circuit, isa, measured, tuple(layout[q] for q in measured))
        self._compiled[key] = compiled
        return compiled

    def _bindings(self, isa: Any, arrays: dict[str, np.ndarray], batch_size: int) -> np.ndarray:
        if not isa.num_parameters:
            return np.zeros((batch_size, 0))
        from circuits.export.qiskit import qiskit_parameter_binds

        names = {p.vector.name if hasattr(p, "vector") else p.name for p in isa.parameters}
        binds = qiskit_parameter_binds(isa, {k: a for k, a in arrays.items() if k in names})
        return np.column_stack([np.asarray(binds[p], dtype=np.float64) for p in isa.parameters])

    def _submit(
        self,
        kind: str,
        compiled: Sequence[_Compiled],
        values: dict[str, torch.Tensor],
        batch_size: int,
        shots: int | None,
        *,
        observables: tuple[Any, ...] = (),
        source_observables: tuple[Observable, ...] = (),
        seed: int | None = None,
        gradient_rows: int = 0,
    ) -> SubmissionResult:
        arrays = {
            k: np.broadcast_to(v.detach().cpu().double().numpy(), (batch_size, v.shape[-1])) for k, v in values.items()
        }
        batches = tuple(CircuitBatch(c.isa, self._bindings(c.isa, arrays, batch_size)) for c in compiled)
        source = SubmissionSource(
            circuits=tuple((c.circuit, c.measured) for c in compiled),
            bindings=(arrays,) * len(compiled),
            observables=source_observables,
            options={"optimization_level": self.optimization_level, "seed_transpiler": self.seed},
        )
        submission = Submission(
            kind,  # type: ignore[arg-type]
            batches,
            shots=shots,
            observables=observables,
            seed=self._next_seed() if seed is None else seed,
            source=source,
            gradient_rows=gradient_rows,
        )
        return self.runner.run(submission)

    def _sample(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Samples,
        generator: torch.Generator | None,
    ) -> torch.Tensor:
        """Shots as bits, one submission (raw counts: samples are never mitigated); the generator decides the seed."""
        qubits = tuple(measured_qubits(circuit, measurement.qubits))
        self._check_shots(measurement.shots, batch_size, _SAMPLE_BYTES_PER_BIT * max(len(qubits), 1))
        seed = self._next_seed()
        if generator is not None:
            seed = int(torch.randint(0, 2**31 - 1, (1,), generator=generator).item())
        compiled = self._compile(circuit, qubits)
        result = self._submit("sample", [compiled], values, batch_size, measurement.shots, seed=seed)
        assert result.counts is not None
        device = next(iter(values.values())).device if values else torch.device("cpu")
        return _samples(result.counts[0], len(qubits), measurement.shots, seed).to(device)

    def _execute(
        self,
        circuit: Circuit,
        values: dict[str, torch.Tensor],
        batch_size: int,
        measurement: Measurement,
        *,
        gradient_rows: int = 0,
    ) -> torch.Tensor:
        """Run the whole batch as one submission: expectation values or probabilities (no autograd)."""
        device = next(iter(values.values())).device if values else torch.device("cpu")
        if self.shots is None:  # exact, on a simulator that offers it
            if isinstance(measurement, Expectation):
                plan = exact_plan(measurement.observables)
            else:
                plan = probabilities_plan(measured_qubits(circuit, measurement.qubits))
            out = self._estimate(circuit, values, batch_size, plan, gradient_rows)
        elif isinstance(measurement, Expectation):
            shots = shot_plan(measurement.observables)
            compiled = [self._compile(basis.rotate(circuit), basis.qubits) for basis in shots.bases]
            counts = self._counts(compiled, values, batch_size, gradient_rows) if compiled else []
            out = shots.expectations(counts, batch_size)
        else:
            qubits = tuple(measured_qubits(circuit, measurement.qubits))
            counts = self._counts([self._compile(circuit, qubits)], values, batch_size, gradient_rows)
            out = probabilities_from_counts(counts[0])
        return out.to(device)

    def _estimate(
        self, circuit: Circuit, values: dict[str, torch.Tensor], batch_size: int, plan: ExactPlan, gradient_rows: int
    ) -> torch.Tensor:
        """Exact values of the plan's operators in one ``"estimate"`` submission, read back through the plan."""
        if not plan.operators:
            return plan.read(np.zeros((batch_size, 0)))
        from circuits.export.qiskit import pauli_sum_to_qiskit

        compiled = self._compile(circuit, ())
        n = circuit.num_qubits
        layout = compiled.isa.layout
        operators = []
        for operator in plan.operators:
            op = pauli_sum_to_qiskit(operator, n)
            operators.append(op.apply_layout(layout) if layout is not None else op)
        result = self._submit(
            "estimate",
            [compiled],
            values,
            batch_size,
            None,
            observables=tuple(operators),
            source_observables=plan.operators,
            gradient_rows=gradient_rows,
        )
        assert result.expectations is not None
        return plan.read(np.asarray(result.expectations[0], dtype=np.float64).reshape(batch_size, len(operators)))

    def _counts(
        self, compiled: list[_Compiled], values: dict[str, torch.Tensor], batch_size: int, gradient_rows: int
    ) -> list[list[Counts]]:
        """Counts per circuit per binding (our column order), readout-mitigated when asked."""
        shots = self.shots
        assert shots is not None
        width = max(len(c.measured) for c in compiled)
        local_bytes = math.ceil(width / 8) if self.target.max_shots is None else 0  # a local sampler's bit arrays
        self._check_shots(shots, batch_size * len(compiled), local_bytes)
        result = self._submit("sample", compiled, values, batch_size, shots, gradient_rows=gradient_rows)
        assert result.counts is not None
        counts = [
            [Counts.from_qiskit(c, len(circuit.measured)) for c in per_binding]
            for circuit, per_binding in zip(compiled, result.counts, strict=True)
        ]
        if not self.mitigation:
            return counts
        from hardware.mitigation import mitigate

        calibrations = [self._calibration(circuit.physical, shots) for circuit in compiled]
        return [[mitigate(c, cal) for c in per] for per, cal in zip(counts, calibrations, strict=True)]

    def _calibration(self, physical: tuple[int, ...], shots: int) -> Any:
        if physical not in self._calibrations:
            from hardware.mitigation import ReadoutCalibration, calibration_circuits

            circuits = calibration_circuits(list(physical), self.target.num_qubits)
            batches = tuple(CircuitBatch(c, np.zeros((1, 0))) for c in circuits)
            result = self.runner.run(Submission("sample", batches, shots=shots, seed=self._next_seed()))
            assert result.counts is not None
            self._calibrations[physical] = ReadoutCalibration.from_counts(
                [per[0] for per in result.counts], list(physical), "tensored", shots, self.target.name
            )
        return self._calibrations[physical]


def _samples(counts: list[dict[str, int]], num_bits: int, shots: int, seed: int) -> torch.Tensor:
    """``(B, shots, m)`` bits, column ``j`` = measured qubit ``j``, from counts.

    Devices return counts, not the order of the shots; the shots are laid out in a seeded random order
    (the same for the same seed), so that slicing the first ``k`` shots gives an unbiased subsample.
    """
    out = torch.zeros(len(counts), shots, num_bits, dtype=torch.int64)
    generator = torch.Generator().manual_seed(seed)
    for row, per in enumerate(counts):
        table = Counts.from_qiskit(dict(sorted(per.items())), num_bits)
        bits = np.repeat(table.bits, np.rint(table.weights).astype(np.int64), axis=0)
        out[row, : len(bits)] = torch.from_numpy(bits.astype(np.int64))
        out[row] = out[row, torch.randperm(shots, generator=generator)]
    return out


def backend_from_spec(spec: str, *, shots: int | None = None, seed: int | None = None) -> ProviderBackend:
    """``ProviderBackend`` for ``"PROVIDER:DEVICE"`` (what ``qml run --backend ibm:<device>`` uses).

    ``shots=None`` asks for exact results where the device offers them, else 1000 shots.
    """
    provider = make_provider(*parse_spec(spec))
    if shots is None and not provider.target().exact:
        shots = 1000
    return ProviderBackend(provider, shots=shots, seed=0 if seed is None else seed)
