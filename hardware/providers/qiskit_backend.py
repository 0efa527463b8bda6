"""Any Qiskit ``BackendV2`` as a provider: Aer, IBM's fake backends, our torch engine's ``TorchBackendV2``.

``"sample"`` submissions run as **one** ``qiskit.primitives.BackendSamplerV2.run`` call with one PUB per
:class:`~hardware.providers.base.CircuitBatch` (the circuit and its ``(N, P)`` bindings). The seed goes to the
backend as the ``seed_simulator`` run option where the backend has that option (Aer, fake backends,
``TorchBackendV2``; ``0`` is a seed). ``"estimate"`` submissions need an exact simulator (an Aer simulator
without a noise model, or ``TorchBackendV2``) and run as one exact estimator call (Aer's ``EstimatorV2`` or
our ``circuits.backends.qiskit_primitives.Estimator``, both at precision 0; Qiskit's ``BackendEstimatorV2``
is not used because it always samples).

Jobs run in this process (a thread); their ids are uuids that mean nothing to another process: there
:meth:`status` / :meth:`result` raise :class:`~hardware.errors.JobNotFoundError` (the journal keeps local results).

Device names for :func:`make_provider` (registry name ``qiskit``): ``aer`` (``AerSimulator()``), ``torch``
(``TorchBackendV2()``), a fake backend name such as ``fake_manila`` (``FakeProviderForBackendV2().backend``;
needs qiskit-ibm-runtime) and ``aer_noise:<fake name>`` (``AerSimulator.from_backend(fake)``).

The helpers :func:`sampler_pubs`, :func:`counts_from_result`, :func:`check_sample` and :func:`qiskit_job_state`
are shared with :mod:`hardware.providers.ibm`.
"""

from __future__ import annotations

import contextlib
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.primitives import BackendSamplerV2
from qiskit.primitives.containers.bindings_array import BindingsArray
from qiskit.providers import BackendV2

from hardware.errors import JobFailedError, JobNotFoundError, UnknownDeviceError
from hardware.providers.base import (
    CircuitBatch,
    DeviceTarget,
    JobState,
    Provider,
    Submission,
    SubmissionResult,
    check_submission,
)

__all__ = [
    "BATCH_KEY",
    "QiskitBackendProvider",
    "batch_bindings",
    "check_sample",
    "counts_from_result",
    "make_provider",
    "observables_for_batch",
    "qiskit_job_state",
    "quiet_fake_backends",
    "sampler_pubs",
]

_STATE_BY_NAME: dict[str, JobState] = {
    "INITIALIZING": "queued",
    "QUEUED": "queued",
    "VALIDATING": "queued",
    "RUNNING": "running",
    "DONE": "done",
    "ERROR": "failed",
    "CANCELLED": "cancelled",
}

_LOCAL_JOB_HELP = "local jobs live only in the process that ran them; the journal keeps their results."


# -- helpers shared with the IBM provider ---------------------------------------------------------


def qiskit_job_state(status: Any) -> JobState:
    """Our job state for a Qiskit ``JobStatus`` (enum) or an IBM runtime status string.

    Raises:
        ValueError: a status this layer does not know.
    """
    name = str(getattr(status, "name", status)).upper()
    if name not in _STATE_BY_NAME:
        raise ValueError(f"unknown job status {status!r}; expected one of {', '.join(_STATE_BY_NAME)}.")
    return _STATE_BY_NAME[name]


def check_sample(submission: Submission) -> int:
    """Validate a ``"sample"`` submission and return its shots.

    Raises:
        ValueError: not ``"sample"``, shots missing or not a positive int, or a circuit without
            classical bits (nothing to count).
    """
    if submission.kind != "sample":
        raise ValueError(f"expected a 'sample' submission, got kind={submission.kind!r}.")
    shots = submission.shots
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise ValueError(f"a 'sample' submission needs shots as an int >= 1, got {shots!r}.")
    if not submission.batches:
        raise ValueError("the submission has no batches; give at least one CircuitBatch.")
    for index, batch in enumerate(submission.batches):
        if batch.circuit.num_clbits == 0:
            raise ValueError(
                f"batch {index}: circuit {batch.circuit.name!r} has no classical bits, so there is nothing to "
                "count; add measurements (circuit.measure_all()) for a 'sample' submission."
            )
    return int(shots)


def batch_bindings(batch: CircuitBatch, index: int = 0, *, trailing_axis: bool = False) -> BindingsArray:
    """The batch's ``(N, P)`` parameter values as a ``BindingsArray`` of shape ``(N,)`` (or ``(N, 1)``).

    Column ``p`` binds ``batch.circuit.parameters[p]`` (Qiskit's sorted order); ``P = 0`` runs the
    circuit ``N`` times. ``trailing_axis=True`` gives shape ``(N, 1)``, which broadcasts against a
    ``(k,)`` array of observables to ``(N, k)``.

    Raises:
        ValueError: not a 2-d array, no bindings, a column count that differs from the circuit's
            parameters, or non-finite values.
    """
    values = np.asarray(batch.parameter_values, dtype=np.float64)
    params = tuple(batch.circuit.parameters)
    if values.ndim != 2:
        raise ValueError(
            f"batch {index}: parameter_values must have shape (N, P), got {values.shape}; use "
            "values.reshape(N, P) (P = 0 for a circuit without parameters)."
        )
    n, p = values.shape
    if n == 0:
        raise ValueError(f"batch {index}: parameter_values has no rows; give at least one binding.")
    if p != len(params):
        names = [param.name for param in params]
        raise ValueError(
            f"batch {index}: parameter_values has {p} columns but circuit {batch.circuit.name!r} has "
            f"{len(params)} parameters {names}; give one column per parameter, in circuit.parameters order."
        )
    if not np.all(np.isfinite(values)):
        raise ValueError(f"batch {index}: parameter_values contains NaN or infinity; give finite angles.")
    shape = (n, 1) if trailing_axis else (n,)
    if p == 0:
        return BindingsArray(shape=shape)
    return BindingsArray({params: values.reshape(*shape, p)})


BATCH_KEY = "qml_hybrid_batch"
"""Circuit-metadata key holding a PUB's batch index; primitives hand it back in ``circuit_metadata``."""


def sampler_pubs(submission: Submission, *, split_parameterless: bool = False) -> list[tuple[Any, ...]]:
    """One sampler PUB ``(circuit, bindings of shape (N,))`` per batch, circuits tagged with their batch index.

    Each circuit is a copy whose metadata holds :data:`BATCH_KEY`, so :func:`counts_from_result` can
    regroup PUBs into batches from the result alone.

    Args:
        submission: a ``"sample"`` submission.
        split_parameterless: give a parameterless batch of ``N > 1`` bindings as ``N`` PUBs ``(circuit,)``
            (qiskit-ibm-runtime 0.51's executor Sampler runs a parameterless PUB once, whatever the
            bindings' shape).
    """
    pubs: list[tuple[Any, ...]] = []
    for index, batch in enumerate(submission.batches):
        bindings = batch_bindings(batch, index)
        circuit = batch.circuit.copy()
        circuit.metadata = {**(batch.circuit.metadata or {}), BATCH_KEY: index}
        rows = int(bindings.shape[0])
        if split_parameterless and bindings.num_parameters == 0 and rows > 1:
            pubs.extend((circuit,) for _ in range(rows))
        else:
            pubs.append((circuit, bindings))
    return pubs


def _pub_counts(pub: Any, index: int) -> list[dict[str, int]]:
    bits = pub.join_data()
    shape = tuple(bits.shape)
    if shape == ():
        return [{k: int(v) for k, v in bits.get_counts().items()}]
    if len(shape) != 1:
        raise ValueError(f"PUB {index} has shape {shape}; expected one axis of bindings (N,).")
    return [{k: int(v) for k, v in bits.get_counts(i).items()} for i in range(shape[0])]


def counts_from_result(result: Any) -> list[list[dict[str, int]]]:
    """Counts per batch, per binding, keyed in Qiskit's bit order, from a sampler ``PrimitiveResult``.

    Consecutive PUBs whose ``circuit_metadata`` carry the same :data:`BATCH_KEY` form one batch
    (see :func:`sampler_pubs`); PUBs without it are one batch each. Several classical registers are
    joined as ``SamplerPubResult.join_data()`` joins them (the first register holds the least
    significant bits), so a key has one character per classical bit, bit 0 rightmost.

    Raises:
        ValueError: a PUB result whose shape is not that of a batch (``(N,)`` or ``()``).
    """
    groups: list[list[dict[str, int]]] = []
    previous: Any = None
    for index, pub in enumerate(result):
        counts = _pub_counts(pub, index)
        circuit_metadata = (getattr(pub, "metadata", None) or {}).get("circuit_metadata") or {}
        key = circuit_metadata.get(BATCH_KEY) if isinstance(circuit_metadata, dict) else None
        if key is not None and groups and key == previous:
            groups[-1].extend(counts)
        else:
            groups.append(counts)
        previous = key
    return groups


def observables_for_batch(submission: Submission, index: int) -> list[Any]:
    """The ``"estimate"`` observables of batch ``index`` as a list of ``SparsePauliOp``.

    ``submission.observables`` is either ``k`` observables shared by every batch (the contract), or
    one sequence of observables per batch (``len == len(batches)``, each entry a list or tuple), for
    batches transpiled to different layouts.

    Raises:
        ValueError: no observables, or an observable whose width differs from the circuit's.
    """
    from qiskit.quantum_info import SparsePauliOp

    entries = submission.observables
    if not entries:
        raise ValueError("an 'estimate' submission needs observables (SparsePauliOp mapped to the circuit layout).")
    if all(isinstance(entry, (list, tuple)) for entry in entries):
        if len(entries) != len(submission.batches):
            raise ValueError(
                f"per-batch observables: got {len(entries)} sequences for {len(submission.batches)} batches; "
                "give one sequence per batch, or one flat tuple shared by all batches."
            )
        chosen = list(entries[index])
    else:
        chosen = list(entries)
    width = submission.batches[index].circuit.num_qubits
    ops = []
    for j, obs in enumerate(chosen):
        op = obs if isinstance(obs, SparsePauliOp) else SparsePauliOp(obs)
        if op.num_qubits != width:
            raise ValueError(
                f"batch {index}: observable {j} acts on {op.num_qubits} qubits but the circuit has {width}; "
                "map it to the circuit's layout (observable.apply_layout(isa_circuit.layout))."
            )
        ops.append(op)
    return ops


# -- the provider ---------------------------------------------------------------------------------


@dataclass
class _LocalJob:
    job: Any
    kind: str
    sizes: list[int]
    meta: dict[str, Any]


def _is_torch_backend(backend: BackendV2) -> bool:
    if not type(backend).__module__.startswith("circuits."):
        return False
    from circuits.backends.qiskit_primitives import TorchBackendV2

    return isinstance(backend, TorchBackendV2)


def _is_aer(backend: BackendV2) -> bool:
    try:
        from qiskit_aer import AerSimulator
    except ImportError:  # pragma: no cover - qiskit-aer is a core dependency
        return False
    return isinstance(backend, AerSimulator)


def _is_exact(backend: BackendV2) -> bool:
    """Ideal simulators we can tell apart: a noiseless Aer simulator, or our torch backend."""
    if _is_torch_backend(backend):
        return True
    if _is_aer(backend):
        options = backend.options
        return getattr(options, "noise_model", None) is None and getattr(options, "method", "") != "extended_stabilizer"
    return False


def _max_shots(backend: BackendV2) -> int | None:
    configuration = getattr(backend, "configuration", None)
    if not callable(configuration):
        return None
    try:
        value = getattr(configuration(), "max_shots", None)
    except Exception:  # backends without a usable legacy configuration
        return None
    return int(value) if isinstance(value, (int, np.integer)) and value > 0 else None


class QiskitBackendProvider(Provider):
    """A Qiskit ``BackendV2`` behind the provider contract; jobs run locally, in this process.

    Args:
        backend: any ``BackendV2`` (``AerSimulator``, a fake backend, ``TorchBackendV2`` ...).
        device: the name to report (default ``backend.name``).

    Example:
        >>> from qiskit_aer import AerSimulator
        >>> QiskitBackendProvider(AerSimulator()).target().exact
        True
    """

    name = "qiskit"

    def __init__(self, backend: BackendV2, *, device: str | None = None) -> None:
        if not isinstance(backend, BackendV2):
            raise TypeError(f"QiskitBackendProvider needs a qiskit BackendV2, got {type(backend).__name__}.")
        self._backend = backend
        self._device = device or backend.name
        self._jobs: dict[str, _LocalJob] = {}
        self._target: DeviceTarget | None = None

    @property
    def backend(self) -> BackendV2:
        """The wrapped backend."""
        return self._backend

    def __repr__(self) -> str:
        return f"QiskitBackendProvider(device={self._device!r})"

    def target(self) -> DeviceTarget:
        """The backend's target: qubits, ``Target`` for ``transpile``, exactness; no price (local)."""
        if self._target is None:
            backend = self._backend
            self._target = DeviceTarget(
                provider=self.name,
                name=self._device,
                num_qubits=int(backend.num_qubits),
                exact=_is_exact(backend),
                max_shots=_max_shots(backend),
                price=None,
                qiskit_target=backend.target,
            )
        return self._target

    def submit(self, submission: Submission) -> str:
        """Run the submission as one primitive call (in a background thread); return a uuid job id.

        Raises:
            DeviceTooSmallError: a circuit wider than the backend.
            ValueError: a malformed submission, or ``"estimate"`` on a backend without exact results.
        """
        check_submission(submission, self.target())
        seed = submission.seed
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0):
            raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}.")
        if submission.kind == "sample":
            shots = check_sample(submission)
            pubs = sampler_pubs(submission)
            options: dict[str, Any] = {"default_shots": shots}
            if seed is not None and hasattr(self._backend.options, "seed_simulator"):
                options["seed_simulator"] = int(seed)
            job = BackendSamplerV2(backend=self._backend, options=options).run(pubs, shots=shots)
        elif submission.kind == "estimate":
            estimator = self._exact_estimator()
            pubs = []
            for i, batch in enumerate(submission.batches):
                bindings = batch_bindings(batch, i, trailing_axis=True)
                circuit = batch.circuit.remove_final_measurements(inplace=False)
                observables = observables_for_batch(submission, i)
                # A parameterless circuit is evaluated once and broadcast (exact values do not vary between
                # rows; Aer's EstimatorV2 0.18 also fails on parameterless PUBs with several bindings).
                pubs.append(
                    (circuit, observables) if bindings.num_parameters == 0 else (circuit, observables, bindings)
                )
            job = estimator.run(pubs, precision=0.0)
        else:
            raise ValueError(f"submission kind must be 'sample' or 'estimate', got {submission.kind!r}.")
        job_id = str(uuid.uuid4())
        sizes = [int(b.parameter_values.shape[0]) for b in submission.batches]
        meta = {
            "provider": self.name,
            "device": self._device,
            "job_id": job_id,
            "kind": submission.kind,
            "shots": submission.shots,
            "seed": None if seed is None else int(seed),
        }
        self._jobs[job_id] = _LocalJob(job, submission.kind, sizes, meta)
        return job_id

    def _exact_estimator(self) -> Any:
        backend = self._backend
        if _is_torch_backend(backend):
            from circuits.backends.qiskit_primitives import Estimator

            return Estimator(default_precision=0.0)
        if _is_aer(backend) and _is_exact(backend):
            from qiskit_aer.primitives import EstimatorV2 as AerEstimatorV2

            return AerEstimatorV2.from_backend(backend, options={"default_precision": 0.0})
        raise ValueError(  # check_submission catches this first; kept for targets built by hand
            f"{self._device} gives sampled results only; 'estimate' needs an exact simulator (aer, torch)."
        )

    def _job(self, job_id: str) -> _LocalJob:
        if not isinstance(job_id, str) or job_id not in self._jobs:
            raise JobNotFoundError(f"unknown job id {job_id!r} for {self!r}: {_LOCAL_JOB_HELP}")
        return self._jobs[job_id]

    def status(self, job_id: str) -> JobState:
        """The local job's state.

        Raises:
            JobNotFoundError: a job id this process did not submit.
        """
        return qiskit_job_state(self._job(job_id).job.status())

    def result(self, job_id: str) -> SubmissionResult:
        """Counts (``"sample"``) or ``(N, k)`` expectation values (``"estimate"``); waits for the thread.

        Raises:
            JobNotFoundError: a job id this process did not submit.
            JobFailedError: the job raised or was cancelled.
        """
        entry = self._job(job_id)
        if qiskit_job_state(entry.job.status()) == "cancelled":
            raise JobFailedError(f"job {job_id} on {self._device} was cancelled; submit it again.")
        try:
            result = entry.job.result()
        except Exception as exc:
            raise JobFailedError(f"job {job_id} on {self._device} failed: {type(exc).__name__}: {exc}") from exc
        if entry.kind == "sample":
            return SubmissionResult(counts=counts_from_result(result), metadata=dict(entry.meta))
        expectations = []
        for pub, n in zip(result, entry.sizes, strict=True):
            evs = np.asarray(pub.data.evs, dtype=np.float64)
            if evs.ndim == 1:  # a parameterless circuit, evaluated once
                evs = np.broadcast_to(evs, (n, evs.shape[0]))
            expectations.append(np.array(evs.reshape(n, -1)))
        return SubmissionResult(expectations=expectations, metadata=dict(entry.meta))

    def cancel(self, job_id: str) -> None:
        """Cancel the local job if it has not started (a running thread finishes).

        Raises:
            JobNotFoundError: a job id this process did not submit.
        """
        self._job(job_id).job.cancel()


# -- factory --------------------------------------------------------------------------------------


@contextlib.contextmanager
def quiet_fake_backends() -> Iterator[None]:
    """Silence the UserWarning every ``FakeProviderForBackendV2()`` emits about ``fake_nighthawk``'s properties."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"Properties of fake_\w+ are not intended", category=UserWarning)
        yield


def _fake_backend(name: str) -> BackendV2:
    try:
        from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(f"fake backend {name!r} needs qiskit-ibm-runtime (pip install qiskit-ibm-runtime).") from exc
    from qiskit.providers.exceptions import QiskitBackendNotFoundError

    with quiet_fake_backends():
        provider = FakeProviderForBackendV2()
    try:
        return provider.backend(name)
    except QiskitBackendNotFoundError:
        raise UnknownDeviceError(f"unknown fake backend {name!r}; known: {_known_names(provider)}.") from None


def _known_names(provider: Any = None) -> str:
    names: list[str] = []
    try:
        if provider is None:
            from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2

            with quiet_fake_backends():
                provider = FakeProviderForBackendV2()
        names = sorted(backend.name for backend in provider.backends())
    except ImportError:  # pragma: no cover - depends on the environment
        names = []
    fakes = f"; fake backends: {', '.join(names)}" if names else ""
    return f"aer, torch, aer_noise:<fake name>{fakes}"


def make_provider(device: str, **options: Any) -> QiskitBackendProvider:
    """The provider for ``device`` (registry name ``qiskit``).

    Args:
        device: ``aer``, ``torch``, a fake backend name (``fake_manila``) or ``aer_noise:<fake name>``.
        **options: backend options, set with ``backend.set_options`` (e.g. ``method="statevector"``).

    Returns:
        The provider.

    Raises:
        UnknownDeviceError: an unknown device name (the message lists known ones).
        TypeError: an option the backend does not have.
    """
    if not isinstance(device, str):
        raise TypeError(f"device must be a str, got {type(device).__name__}.")
    if device == "aer":
        from qiskit_aer import AerSimulator

        backend: BackendV2 = AerSimulator()
    elif device == "torch":
        from circuits.backends.qiskit_primitives import TorchBackendV2

        backend = TorchBackendV2()
    elif device.startswith("aer_noise:"):
        from qiskit_aer import AerSimulator

        backend = AerSimulator.from_backend(_fake_backend(device.partition(":")[2]))
    elif device.startswith("fake_"):
        backend = _fake_backend(device)
    else:
        raise UnknownDeviceError(f"unknown qiskit device {device!r}; known: {_known_names()}.")
    if options:
        from qiskit.exceptions import QiskitError

        try:
            backend.set_options(**options)
        except (AttributeError, QiskitError) as exc:  # Aer raises AerError, Qiskit's Options AttributeError
            raise TypeError(
                f"{device}: {exc}; use options the backend has ({sorted(backend.options.__dict__)})."
            ) from None
    return QiskitBackendProvider(backend, device=device)
