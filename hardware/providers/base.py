"""The provider contract: what a submission is, what comes back, and the five calls every provider makes.

A :class:`Submission` is everything one training step (or one evaluation) sends: one or more
:class:`CircuitBatch` es, each an ISA circuit (already transpiled to the device) with a ``(N, P)``
array of parameter bindings. Everything goes out as **one** provider job (one primitive call with
several PUBs on IBM, one task batch on Braket). Two kinds:

* ``"sample"``: the circuits end in measurements; the result holds counts per binding;
* ``"estimate"``: exact expectation values of ``observables`` (simulators only: ``DeviceTarget.exact``).

Counts are keyed by bitstrings in **Qiskit's order** (classical bit 0 rightmost), whatever the vendor.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from circuits.ir.circuit import Circuit
from circuits.ir.observables import Observable

__all__ = [
    "JOB_STATES",
    "CircuitBatch",
    "DeviceTarget",
    "JobState",
    "PriceModel",
    "Provider",
    "Submission",
    "SubmissionResult",
    "SubmissionSource",
]

JobState = Literal["queued", "running", "done", "failed", "cancelled"]
"""A remote job's state as providers report it; ``done``, ``failed`` and ``cancelled`` are final."""

JOB_STATES: tuple[str, ...] = ("queued", "running", "done", "failed", "cancelled")


@dataclass(frozen=True)
class PriceModel:
    """A provider's public price, where known (USD).

    Attributes:
        per_task: charged once per job / task.
        per_shot: charged per shot.
        per_second: charged per second of QPU time (IBM's pay-as-you-go); ``None`` when not per time.
        source: where the numbers come from (a URL and the date read).
    """

    per_task: float = 0.0
    per_shot: float = 0.0
    per_second: float | None = None
    source: str = ""


@dataclass(frozen=True)
class DeviceTarget:
    """What the transpiler and the cost estimate need to know about a device.

    Attributes:
        provider: the provider's name (``"ibm"``, ``"braket"``, ``"qiskit"``, ``"scripted"``).
        name: the device's name as the provider spells it.
        num_qubits: physical qubits.
        exact: whether it can return exact expectation values (``"estimate"`` submissions; simulators).
        max_shots: the most shots one job may ask for (``None``: no limit known).
        price: the public price, or ``None`` when unknown or free.
        qiskit_target: a ``qiskit.transpiler.Target`` (basis gates, coupling map, calibrations) for
            ``transpile``; ``None`` when any circuit runs as is (ideal simulators).
    """

    provider: str
    name: str
    num_qubits: int
    exact: bool = False
    max_shots: int | None = None
    price: PriceModel | None = None
    qiskit_target: Any = None


@dataclass(frozen=True)
class CircuitBatch:
    """One circuit with all its bindings.

    Attributes:
        circuit: a ``qiskit.QuantumCircuit`` on the device's qubits (ISA), with measurements for ``"sample"``.
        parameter_values: ``(N, P)`` float64, column ``p`` binding ``circuit.parameters[p]`` (Qiskit's
            sorted order); ``(N, 0)`` for a circuit without parameters, run ``N`` times.
    """

    circuit: Any
    parameter_values: np.ndarray


@dataclass(frozen=True)
class SubmissionSource:
    """What a submission computes, in our own vendor-free terms (before any transpiler ran).

    The journal keys a submission that has a source on it (:func:`hardware.submission.submission_key`),
    so that a new Qiskit, whose transpiler or exporter writes other circuits, still finds the job.

    Attributes:
        circuits: per batch, our circuit (any basis rotation included) and the qubits it measures, in
            classical-bit order (empty for ``"estimate"``).
        bindings: per batch, our parameter values by vector name, ``(N, size)`` float64 each.
        observables: ``"estimate"``: our observables, evaluated for every binding.
        options: whatever else decides what the job computes (transpiler level and seed ...), JSON values.
    """

    circuits: tuple[tuple[Circuit, tuple[int, ...]], ...]
    bindings: tuple[Mapping[str, np.ndarray], ...]
    observables: tuple[Observable, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Submission:
    """Everything one job carries.

    Attributes:
        kind: ``"sample"`` or ``"estimate"``.
        batches: the circuits and their bindings.
        shots: shots per binding (``"sample"``); ``None`` for ``"estimate"``.
        observables: ``"estimate"`` only: ``SparsePauliOp`` s already mapped to each circuit's layout,
            evaluated for every binding of every batch.
        seed: the simulator seed where the provider takes one (``0`` is a seed); ignored by QPUs.
        tags: labels the provider attaches to the job where it supports tags (the journal's key among them).
        source: the same work in our own terms, when it was built from our circuits (what the journal keys
            on); ``None`` for hand-made Qiskit circuits (keyed on a canonical walk of them).
        gradient_rows: the last ``gradient_rows`` bindings of every batch evaluate a parameter-shift
            gradient; the cost estimate prices them apart. Providers ignore it.
    """

    kind: Literal["sample", "estimate"]
    batches: tuple[CircuitBatch, ...]
    shots: int | None = None
    observables: tuple[Any, ...] = ()
    seed: int | None = None
    tags: tuple[str, ...] = field(default_factory=tuple)
    source: SubmissionSource | None = None
    gradient_rows: int = 0


@dataclass(frozen=True)
class SubmissionResult:
    """What a finished job returned.

    Attributes:
        counts: ``"sample"``: per batch, per binding, ``{bitstring: count}`` (Qiskit order).
        expectations: ``"estimate"``: per batch, an ``(N, k)`` array of expectation values.
        metadata: provider facts worth keeping (execution time, device, usage), JSON-serialisable.
    """

    counts: list[list[dict[str, int]]] | None = None
    expectations: list[np.ndarray] | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


class Provider(abc.ABC):
    """One device of one vendor (or a simulator), behind the five calls the hardware layer makes.

    Implementations must never put a credential in a message, a repr or a log line. Transient
    failures (network, rate limits, 5xx) raise :class:`~hardware.errors.TransientProviderError`;
    unknown job ids raise :class:`~hardware.errors.JobNotFoundError`.
    """

    name: str = "provider"

    @abc.abstractmethod
    def target(self) -> DeviceTarget:
        """The device's description (may query the vendor once and cache it)."""

    @abc.abstractmethod
    def submit(self, submission: Submission) -> str:
        """Send the submission as one job; return the provider's job id."""

    @abc.abstractmethod
    def status(self, job_id: str) -> JobState:
        """The job's state."""

    @abc.abstractmethod
    def result(self, job_id: str) -> SubmissionResult:
        """The finished job's result (call when :meth:`status` is ``"done"``)."""

    @abc.abstractmethod
    def cancel(self, job_id: str) -> None:
        """Ask the provider to cancel the job."""

    def find_by_tag(self, tag: str) -> str | None:
        """The id of a job carrying ``tag``, or ``None`` (also when the provider has no tags)."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def check_submission(submission: Submission, target: DeviceTarget) -> None:
    """Reject what the device cannot run, before anything is recorded or sent.

    Raises:
        DeviceTooSmallError: a circuit wider than the device.
        ValueError: a ``"sample"`` without shots, an ``"estimate"`` on a device without exact results, or
            shots beyond the device's limit.
    """
    from hardware.errors import DeviceTooSmallError

    for batch in submission.batches:
        width = batch.circuit.num_qubits
        if width > target.num_qubits:
            raise DeviceTooSmallError(
                f"circuit needs {width} qubits but {target.provider}:{target.name} has {target.num_qubits}; "
                "use fewer qubits or a larger device."
            )
    if submission.kind == "sample" and (
        isinstance(submission.shots, bool) or not isinstance(submission.shots, int) or submission.shots < 1
    ):
        raise ValueError(f"a sampled submission needs shots >= 1, got {submission.shots!r}.")
    if submission.kind == "estimate" and not target.exact:
        raise ValueError(
            f"{target.provider}:{target.name} returns sampled results only; give shots= for expectation values."
        )
    if submission.shots is not None and target.max_shots is not None and submission.shots > target.max_shots:
        raise ValueError(f"{submission.shots} shots exceed {target.name}'s limit of {target.max_shots} per job.")


def batch_sizes(batches: Sequence[CircuitBatch]) -> list[int]:
    """Bindings per batch."""
    return [int(b.parameter_values.shape[0]) for b in batches]
