"""IBM Quantum through qiskit-ibm-runtime: cloud QPUs, and the same code path offline on fake backends.

A submission is **one** Sampler job with one PUB per batch. The Sampler is, by default,
``qiskit_ibm_runtime.executor_sampler.Sampler`` (the client-side Sampler built on the Executor
primitive, imported explicitly): in qiskit-ibm-runtime 0.51 the legacy ``SamplerV2`` is deprecated
(its DeprecationWarning would be an error under this project's warning filters) and its local mode
drops ``seed_simulator=0`` (``if seed := ...`` in ``QiskitRuntimeLocalService``), while the executor's local
runner passes the seed straight to Aer, so ``0`` is a seed. ``primitive="legacy"`` selects the deprecated
``qiskit_ibm_runtime.SamplerV2`` (for accounts without the Executor); there, a local seed is also set on a
fresh copy of the fake backend (``backend.set_options(seed_simulator=seed)``), which Aer honours when the
primitive passes ``seed_simulator=None``, so ``0`` works too.

Modes: ``"job"`` (the backend), ``"session"`` or ``"batch"`` (one ``Session`` / ``Batch`` opened on the first
submission and kept until :meth:`IBMProvider.close`). The submission's tags go to
``options.environment.job_tags``; :meth:`IBMProvider.find_by_tag` asks ``service.jobs(job_tags=[tag], limit=1)``.

Local testing mode (``local=True``, or a device name starting with ``fake_``) uses
``QiskitRuntimeService(channel="local")`` and its fake backends (calibration snapshots with their noise);
jobs then live only in this process. Local runs are free: the target carries no price.

Vendor errors are translated (messages scrubbed of credentials, vendor tracebacks dropped):

* ``IBMNotAuthorizedError``, ``AccountsError`` (``AccountNotFoundError``, ``InvalidAccountError``), HTTP 400/401/403
  -> :class:`~hardware.errors.CredentialsError`;
* ``RequestsApiError`` (qiskit-ibm-runtime) or ``ApiException`` (ibm-cloud-sdk-core, IBM Cloud IAM) with no HTTP
  status (network failures, maintenance 503) or 408/429/5xx, ``IBMRuntimeError("Failed to retrieve job ...")``
  (how ``service.job`` wraps non-404 API failures), ``requests.ConnectionError`` / ``requests.Timeout``
  -> :class:`~hardware.errors.TransientProviderError`;
* an ``AccountsError`` *raised from* a network failure or an unavailable service is a
  :class:`~hardware.errors.TransientProviderError`, not a credentials error: ``QiskitRuntimeService(...)``
  reports any failure to list the account's instances, an unreachable IBM Cloud included, as
  ``InvalidAccountError("Unable to retrieve instances. Please check that you are using a valid API token.")``;
* ``RuntimeJobNotFound`` -> :class:`~hardware.errors.JobNotFoundError`;
* ``QiskitBackendNotFoundError`` -> :class:`~hardware.errors.UnknownDeviceError` listing ``service.backends()``;
* ``RuntimeJobFailureError`` -> :class:`~hardware.errors.JobFailedError`; any other ``IBMError`` ->
  :class:`~hardware.errors.HardwareError`.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator
from typing import Any, Literal

from hardware.credentials import IBM_CREDENTIALS_HELP, IBMCredentials, find_ibm_credentials, ibm_service, scrub
from hardware.errors import (
    CredentialsError,
    HardwareError,
    JobFailedError,
    JobNotFoundError,
    TransientProviderError,
    UnknownDeviceError,
)
from hardware.providers.base import (
    DeviceTarget,
    JobState,
    PriceModel,
    Provider,
    Submission,
    SubmissionResult,
    check_submission,
)
from hardware.providers.qiskit_backend import (
    check_sample,
    counts_from_result,
    qiskit_job_state,
    quiet_fake_backends,
    sampler_pubs,
)

try:
    import qiskit_ibm_runtime  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the IBM provider needs qiskit-ibm-runtime>=0.51 (pip install 'qiskit-ibm-runtime>=0.51')."
    ) from exc

__all__ = ["IBM_PAYG_PRICE", "IBMProvider", "make_provider"]

IBM_PAYG_PRICE = PriceModel(
    per_task=0.0,
    per_shot=0.0,
    per_second=1.60,
    source=(
        "IBM Quantum Pay-As-You-Go Plan, USD 96 per minute of QPU usage billed per second, as listed for "
        "https://www.ibm.com/quantum/pricing and https://quantum.cloud.ibm.com/docs/en/guides/plans-overview; "
        "read 2026-11-27 from secondary copies (api-evangelist/ibm-quantum plans/ibm-quantum-plans-pricing.yml, "
        "dated 2026-05-25), not from the vendor page itself."
    ),
)
"""IBM's public pay-as-you-go list price; Flex / Premium contracts are cheaper per minute."""

Mode = Literal["job", "session", "batch"]
_MODES: tuple[str, ...] = ("job", "session", "batch")
_PRIMITIVES: tuple[str, ...] = ("executor", "legacy")
_LOCAL_JOB_HELP = "local jobs live only in the process that ran them; the journal keeps their results."


_TRANSIENT_HTTP = (-1, 0, 408, 429)
"""HTTP statuses worth retrying besides 5xx (``-1``: qiskit-ibm-runtime's "no response"; ``0``: none)."""
_REFUSED_HTTP = (400, 401, 403)
"""Statuses with which IBM Cloud IAM refuses an API key (``400``: "Provided API key could not be found")."""


def _causes(exc: BaseException) -> list[BaseException]:
    """``exc`` and the exceptions it was raised from (``__cause__``, else ``__context__``), outermost first."""
    chain = [exc]
    while len(chain) < 16:
        inner = chain[-1].__cause__ or chain[-1].__context__
        if inner is None or inner in chain:
            break
        chain.append(inner)
    return chain


def _http_status(exc: BaseException) -> int | None:
    """The HTTP status of a qiskit-ibm-runtime ``RequestsApiError`` or an ibm-cloud-sdk-core ``ApiException``."""
    from ibm_cloud_sdk_core import ApiException
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError

    if isinstance(exc, (RequestsApiError, ApiException)):
        status = getattr(exc, "status_code", None)
        return int(status) if isinstance(status, int) else -1
    return None


def _unreachable(exc: BaseException) -> BaseException | None:
    """The network failure or unavailable service among ``exc``'s causes, if any."""
    import requests

    for cause in _causes(exc):
        if isinstance(cause, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
            return cause
        status = _http_status(cause)
        if status is not None and (status in _TRANSIENT_HTTP or status >= 500):
            return cause
    return None


def _refusal(exc: BaseException) -> BaseException | None:
    """The authentication refusal (HTTP 400/401/403 from IAM or the API) among ``exc``'s causes, if any."""
    for cause in _causes(exc):
        if _http_status(cause) in _REFUSED_HTTP:
            return cause
    return None


def _map_ibm_error(exc: BaseException, action: str) -> HardwareError | None:
    """Our error for a vendor exception (scrubbed), or ``None`` to let it through unchanged."""
    import requests
    from qiskit.providers.exceptions import QiskitBackendNotFoundError
    from qiskit_ibm_runtime.accounts.exceptions import AccountsError
    from qiskit_ibm_runtime.exceptions import (
        IBMError,
        IBMNotAuthorizedError,
        IBMRuntimeError,
        RuntimeJobFailureError,
        RuntimeJobNotFound,
    )

    def described(error: BaseException) -> str:
        return scrub(f"{type(error).__name__}: {error}")

    text = described(exc)
    if isinstance(exc, AccountsError):
        # qiskit-ibm-runtime reports any failure to list the account's instances (a network failure too)
        # as InvalidAccountError("... check that you are using a valid API token"): the cause decides.
        failure = _unreachable(exc)
        if failure is not None:
            return TransientProviderError(
                f"{action}: could not reach IBM Cloud to check the credentials ({described(failure)}); the "
                "credentials were not refused. Check the network connection (or proxy), then retry."
            )
        refusal = _refusal(exc)
        if refusal is not None:
            return CredentialsError(
                f"{action}: IBM Cloud refused the API key ({described(refusal)}). {IBM_CREDENTIALS_HELP}"
            )
    if isinstance(exc, (IBMNotAuthorizedError, AccountsError)):
        return CredentialsError(
            f"{action}: IBM Quantum did not accept the credentials ({text}). {IBM_CREDENTIALS_HELP}"
        )
    if isinstance(exc, RuntimeJobNotFound):
        return JobNotFoundError(f"{action}: IBM Quantum has no such job ({text}).")
    status = _http_status(exc)
    if status is not None:
        if status in _TRANSIENT_HTTP or status >= 500:
            return TransientProviderError(f"{action}: IBM Quantum is unreachable or busy ({text}); retry later.")
        if status in _REFUSED_HTTP:
            return CredentialsError(f"{action}: IBM Quantum refused access ({text}). {IBM_CREDENTIALS_HELP}")
        return HardwareError(f"{action}: IBM Quantum rejected the request ({text}).")
    if isinstance(exc, IBMRuntimeError) and str(exc).startswith("Failed to retrieve job"):
        return TransientProviderError(f"{action}: {text}; retry later.")
    if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
        return TransientProviderError(f"{action}: network failure talking to IBM Quantum ({text}); retry later.")
    if isinstance(exc, RuntimeJobFailureError):
        return JobFailedError(f"{action}: {text}")
    if isinstance(exc, QiskitBackendNotFoundError):
        return UnknownDeviceError(f"{action}: {text}")
    if isinstance(exc, IBMError):
        return HardwareError(f"{action}: {text}")
    return None


@contextlib.contextmanager
def _vendor_errors(action: str) -> Iterator[None]:
    try:
        yield
    except HardwareError:
        raise
    except Exception as exc:
        mapped = _map_ibm_error(exc, action)
        if mapped is None:
            raise
        raise mapped from None


class IBMProvider(Provider):
    """One IBM Quantum backend (a QPU, or a fake backend in local testing mode).

    Args:
        device: backend name (``ibm_torino``; ``fake_manila`` for local testing mode).
        channel: ``"ibm_quantum_platform"`` or ``"ibm_cloud"``; ``None``: ``QISKIT_IBM_CHANNEL`` or the saved default.
        instance: instance CRN or name; ``None``: ``QISKIT_IBM_INSTANCE`` or the account's default.
        mode: ``"job"``, ``"session"`` or ``"batch"`` (IBM execution modes; ignored locally).
        service: a ``QiskitRuntimeService`` (or the local service) to use instead of finding credentials.
        local: local testing mode on a fake backend (implied by a ``fake_`` device name).
        primitive: ``"executor"`` (default, the client-side Sampler) or ``"legacy"`` (deprecated ``SamplerV2``).

    Raises:
        CredentialsError: a cloud device and no credentials in the environment or a saved account
            (checked offline; the service itself is created on first use).
        UnknownDeviceError: an unknown fake backend in local mode.
        ValueError: an unknown mode or primitive.

    Example:
        >>> provider = IBMProvider("fake_manila")
        >>> provider.target().num_qubits
        5
    """

    name = "ibm"

    def __init__(
        self,
        device: str,
        *,
        channel: str | None = None,
        instance: str | None = None,
        mode: Mode = "job",
        service: Any = None,
        local: bool = False,
        primitive: Literal["executor", "legacy"] = "executor",
    ) -> None:
        if not isinstance(device, str) or not device:
            raise TypeError(f"device must be a non-empty str, got {device!r}.")
        if mode not in _MODES:
            raise ValueError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}.")
        if primitive not in _PRIMITIVES:
            raise ValueError(f"primitive must be one of {', '.join(_PRIMITIVES)}, got {primitive!r}.")
        self._device = device
        self._mode: str = mode
        self._primitive: str = primitive
        self._local = bool(local) or device.startswith("fake_")
        self._service = service
        self._credentials: IBMCredentials | None = None
        self._backend: Any = None
        self._target: DeviceTarget | None = None
        self._mode_object: Any = None
        self._jobs: dict[str, Any] = {}
        if self._service is None:
            if self._local:
                from qiskit_ibm_runtime import QiskitRuntimeService

                self._service = QiskitRuntimeService(channel="local")
            else:
                self._credentials = find_ibm_credentials(channel=channel, instance=instance)
        if self._local:
            self._backend_object()  # fail fast on an unknown fake backend

    def __repr__(self) -> str:
        return f"IBMProvider(device={self._device!r}, mode={self._mode!r}, local={self._local})"

    __str__ = __repr__

    @property
    def local(self) -> bool:
        """Whether this is local testing mode (fake backend, in-process jobs)."""
        return self._local

    # -- vendor objects ---------------------------------------------------------------------------

    def _service_object(self) -> Any:
        if self._service is None:
            if self._credentials is None:  # pragma: no cover - __init__ sets one of the two
                raise CredentialsError(f"no IBM Quantum service or credentials. {IBM_CREDENTIALS_HELP}")
            with _vendor_errors("connecting to IBM Quantum"):
                self._service = ibm_service(self._credentials)
        return self._service

    def _backend_object(self) -> Any:
        if self._backend is None:
            from qiskit.providers.exceptions import QiskitBackendNotFoundError

            service = self._service_object()
            quiet = quiet_fake_backends() if self._local else contextlib.nullcontext()
            try:
                with quiet, _vendor_errors(f"looking up backend {self._device!r}"):
                    self._backend = service.backend(self._device)
            except (QiskitBackendNotFoundError, UnknownDeviceError):
                quiet = quiet_fake_backends() if self._local else contextlib.nullcontext()
                with quiet, _vendor_errors("listing IBM Quantum backends"):
                    names = sorted(backend.name for backend in service.backends())
                where = "local testing mode (fake backends)" if self._local else "this account"
                raise UnknownDeviceError(
                    f"unknown IBM backend {self._device!r}; {where} offers: {', '.join(names)}."
                ) from None
        return self._backend

    def _execution_mode(self) -> Any:
        backend = self._backend_object()
        if self._mode == "job":
            return backend
        if self._mode_object is None:
            from qiskit_ibm_runtime import Batch, Session

            with _vendor_errors(f"opening a {self._mode} on {self._device}"):
                self._mode_object = (Session if self._mode == "session" else Batch)(backend=backend)
        return self._mode_object

    def close(self) -> None:
        """Close the session or batch opened by this provider (no-op in job mode)."""
        if self._mode_object is not None:
            with _vendor_errors(f"closing the {self._mode} on {self._device}"):
                self._mode_object.close()
            self._mode_object = None

    def __enter__(self) -> IBMProvider:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- the contract -----------------------------------------------------------------------------

    def target(self) -> DeviceTarget:
        """The backend's ``Target``, qubits and shot limit; the pay-as-you-go price for cloud QPUs."""
        if self._target is None:
            backend = self._backend_object()
            max_shots = None
            with contextlib.suppress(Exception):  # configuration() is optional on BackendV2
                max_shots = int(backend.configuration().max_shots)
            self._target = DeviceTarget(
                provider=self.name,
                name=self._device,
                num_qubits=int(backend.num_qubits),
                exact=False,
                max_shots=max_shots,
                price=None if self._local else IBM_PAYG_PRICE,
                qiskit_target=backend.target,
            )
        return self._target

    def submit(self, submission: Submission) -> str:
        """Send the submission as one Sampler job with one PUB per batch; return IBM's job id.

        Raises:
            DeviceTooSmallError: a circuit wider than the backend.
            ValueError: ``"estimate"`` (IBM devices sample), or a malformed submission.
            CredentialsError, TransientProviderError, HardwareError: vendor failures, translated.
        """
        check_submission(submission, self.target())
        shots = check_sample(submission)
        pubs = sampler_pubs(submission, split_parameterless=True)
        sampler = self._sampler(shots, submission.seed, submission.tags)
        with _vendor_errors(f"submitting to {self._device}"):
            job = sampler.run(pubs, shots=shots)
            job_id = str(job.job_id())
        self._jobs[job_id] = job
        return job_id

    def _sampler(self, shots: int, seed: int | None, tags: tuple[str, ...]) -> Any:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"seed must be an int >= 0 or None, got {seed!r}.")
        mode = self._execution_mode()
        if self._primitive == "executor":
            from qiskit_ibm_runtime.executor_sampler import Sampler

            sampler = Sampler(mode=mode)
        else:
            from qiskit_ibm_runtime import SamplerV2

            if self._local and seed is not None:
                # seed_simulator=0 is dropped by the local service; a backend option is not.
                backend = type(self._backend_object())()
                backend.set_options(seed_simulator=seed)
                mode = backend
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*SamplerV2.*deprecated")
                sampler = SamplerV2(mode=mode)
        sampler.options.default_shots = shots
        sampler.options.environment.job_tags = [str(tag) for tag in tags]
        if self._local and seed is not None:
            sampler.options.simulator.seed_simulator = seed
        return sampler

    def _job(self, job_id: str) -> Any:
        if not isinstance(job_id, str) or not job_id:
            raise JobNotFoundError(f"job ids are non-empty strings, got {job_id!r}.")
        if job_id in self._jobs:
            return self._jobs[job_id]
        if self._local:
            raise JobNotFoundError(f"unknown job id {job_id!r} for {self!r}: {_LOCAL_JOB_HELP}")
        with _vendor_errors(f"retrieving job {job_id}"):
            job = self._service_object().job(job_id)
        self._jobs[job_id] = job
        return job

    def status(self, job_id: str) -> JobState:
        """The job's state.

        Raises:
            JobNotFoundError: unknown to IBM (or, locally, to this process).
            TransientProviderError: network trouble.
        """
        job = self._job(job_id)
        with _vendor_errors(f"reading the status of job {job_id}"):
            return qiskit_job_state(job.status())

    def result(self, job_id: str) -> SubmissionResult:
        """Counts per batch and binding, in Qiskit's bit order (waits if the job is not finished).

        Raises:
            JobNotFoundError: unknown job id.
            JobFailedError: the job failed or was cancelled.
        """
        job = self._job(job_id)
        state = self.status(job_id)
        if state in ("failed", "cancelled"):
            message = ""
            with contextlib.suppress(Exception):
                message = scrub(str(job.error_message() or ""))
            raise JobFailedError(
                f"IBM job {job_id} on {self._device} is {state}" + (f": {message}" if message else ".")
            )
        try:
            with _vendor_errors(f"fetching the result of job {job_id}"):
                result = job.result()
        except HardwareError:
            raise
        except Exception as exc:  # the local runner re-raises whatever the simulation raised
            raise JobFailedError(
                f"IBM job {job_id} on {self._device} failed: {scrub(f'{type(exc).__name__}: {exc}')}"
            ) from None
        metadata: dict[str, Any] = {
            "provider": self.name,
            "device": self._device,
            "job_id": job_id,
            "local": self._local,
            "mode": self._mode,
            "primitive": self._primitive,
        }
        if not self._local:
            with contextlib.suppress(Exception):  # usage is informative only; never fail a result on it
                metadata["usage_seconds"] = float(job.usage())
        return SubmissionResult(counts=counts_from_result(result), metadata=metadata)

    def cancel(self, job_id: str) -> None:
        """Ask IBM to cancel the job (a job already in a final state is left as is)."""
        from qiskit_ibm_runtime.exceptions import RuntimeInvalidStateError

        job = self._job(job_id)
        with _vendor_errors(f"cancelling job {job_id}"):
            try:
                job.cancel()
            except RuntimeInvalidStateError:  # already done, failed or cancelled
                return

    def find_by_tag(self, tag: str) -> str | None:
        """The newest job carrying ``tag`` (``service.jobs(job_tags=[tag], limit=1)``); ``None`` locally."""
        if self._local:
            return None
        with _vendor_errors(f"searching jobs tagged {tag!r}"):
            jobs = self._service_object().jobs(job_tags=[tag], limit=1)
        if not jobs:
            return None
        job = jobs[0]
        job_id = str(job.job_id())
        self._jobs.setdefault(job_id, job)
        return job_id


def make_provider(device: str, **options: Any) -> IBMProvider:
    """The provider for ``ibm:<device>`` (options: channel, instance, mode, local, primitive; never credentials)."""
    return IBMProvider(device, **options)
