"""The Qiskit-backend, IBM (local testing mode) and Braket (local simulator) providers, offline.

Oracles: exact probabilities of RY/CX circuits (P(11) = sin^2(theta/2)) for ideal simulators; for IBM's
noisy fake backends, a 200k-shot run of ``AerSimulator.from_backend`` (same noise, independent code path);
``Statevector`` expectation values for exact estimates. Cloud glue (IBM service, AWS devices and tasks)
is exercised with stand-ins, so nothing here touches the network.
"""

from __future__ import annotations

import itertools
import json
import traceback
from collections.abc import Iterator
from typing import ClassVar

import numpy as np
import pytest
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter
from qiskit.quantum_info import Pauli, SparsePauliOp, Statevector

from hardware import registry
from hardware.credentials import IBMCredentials, find_ibm_credentials, scrub
from hardware.errors import (
    CredentialsError,
    DeviceTooSmallError,
    HardwareError,
    JobNotFoundError,
    TransientProviderError,
    UnknownDeviceError,
)
from hardware.providers.base import CircuitBatch, Submission
from hardware.providers.braket import DEVICE_ARNS, QISKIT_TO_BRAKET, BraketProvider, _map_aws_error
from hardware.providers.ibm import IBMProvider
from hardware.providers.qiskit_backend import QiskitBackendProvider, make_provider, qiskit_job_state

SHOTS = 4000
THETAS = np.array([[0.3], [1.5], [np.pi]])
AB = np.array([[0.4, 2.0], [2.5, 0.7]])  # columns bind a, b (circuit.parameters order)
PLANTED = "PLANTEDtok3n-9f8e7d6c5b4a"

_PROVIDERS: dict[str, object] = {}


def _provider(spec: str):
    """One provider per spec for the whole module (IBM and Braket set-up is the slow part)."""
    if spec not in _PROVIDERS:
        if spec == "ibm:fake_manila:legacy":
            _PROVIDERS[spec] = IBMProvider("fake_manila", primitive="legacy")
        else:
            name, _, device = spec.partition(":")
            _PROVIDERS[spec] = registry.make_provider(name, device)
    return _PROVIDERS[spec]


IDEAL = ["qiskit:aer", "braket:local"]
NOISY = ["qiskit:fake_manila", "ibm:fake_manila", "ibm:fake_manila:legacy"]
SEEDED = ["qiskit:aer", "qiskit:fake_manila", "ibm:fake_manila", "ibm:fake_manila:legacy"]


def _isa(provider, circuit: QuantumCircuit) -> QuantumCircuit:
    target = provider.target().qiskit_target
    return transpile(circuit, target=target, seed_transpiler=7, optimization_level=1) if target is not None else circuit


def _ry_cx() -> QuantumCircuit:
    theta = Parameter("theta")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def _ry_ry() -> QuantumCircuit:
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(2)
    qc.ry(a, 0)
    qc.ry(b, 1)
    qc.measure_all()
    return qc


def _exact_ry_cx(theta: float) -> dict[str, float]:
    p = np.sin(theta / 2) ** 2
    return {"00": 1 - p, "11": p, "01": 0.0, "10": 0.0}


def _exact_ry_ry(a: float, b: float) -> dict[str, float]:
    p0, p1 = np.sin(a / 2) ** 2, np.sin(b / 2) ** 2  # key = q1 q0 (Qiskit order)
    return {f"{x}{y}": (p1 if x == "1" else 1 - p1) * (p0 if y == "1" else 1 - p0) for x in "01" for y in "01"}


def _submission(provider, *, shots: int = SHOTS, seed: int | None = 11) -> Submission:
    return Submission(
        kind="sample",
        batches=(CircuitBatch(_isa(provider, _ry_cx()), THETAS), CircuitBatch(_isa(provider, _ry_ry()), AB)),
        shots=shots,
        seed=seed,
        tags=("qml-hybrid-test",),
    )


def _run(provider, submission: Submission):
    job_id = provider.submit(submission)
    assert provider.status(job_id) in ("queued", "running", "done")
    result = provider.result(job_id)
    assert provider.status(job_id) == "done"
    return result


def _assert_within(counts: dict[str, int], probs: dict[str, float], shots: int, sigma_ref: float = 0.0, floor=0.0):
    assert sum(counts.values()) == shots
    assert set(counts) <= set(probs), f"unexpected outcomes {set(counts) - set(probs)}"
    for key, p in probs.items():
        f = counts.get(key, 0) / shots
        sigma = np.sqrt(p * (1 - p) / shots + sigma_ref**2)
        assert abs(f - p) <= 5 * sigma + floor, (
            f"{key}: frequency {f:.4f} vs probability {p:.4f} (5 sigma {5 * sigma:.4f})"
        )


# -- sampling against exact probabilities ---------------------------------------------------------


@pytest.mark.parametrize("spec", IDEAL)
def test_ideal_sampling_matches_exact_probabilities(spec):
    provider = _provider(spec)
    result = _run(provider, _submission(provider))
    assert [len(b) for b in result.counts] == [3, 2]
    for counts, (theta,) in zip(result.counts[0], THETAS, strict=True):
        _assert_within(counts, _exact_ry_cx(theta), SHOTS)
    for counts, (a, b) in zip(result.counts[1], AB, strict=True):
        _assert_within(counts, _exact_ry_ry(a, b), SHOTS)
    assert result.metadata["device"] == spec.split(":")[1]


def _noisy_reference(spec: str, isa: QuantumCircuit, rows: np.ndarray, shots: int = 200_000) -> list[dict[str, float]]:
    """Many shots of the simulator each local mode really uses.

    qiskit-ibm-runtime 0.51 simulates two different noise models for one fake backend: the legacy
    primitives (and ``BackendSamplerV2``) call ``FakeManilaV2.run`` (its own noise model), the executor's
    local runner builds ``AerSimulator.from_backend(fake)`` (``NoiseModel.from_backend``, noisier).
    """
    from qiskit_aer import AerSimulator
    from qiskit_ibm_runtime.fake_provider import FakeManilaV2

    simulator = AerSimulator.from_backend(FakeManilaV2()) if spec == "ibm:fake_manila" else FakeManilaV2()
    bound = [isa.assign_parameters(list(row)) for row in rows]
    counts = simulator.run(bound, shots=shots, seed_simulator=3).result().get_counts()
    return [{k: v / shots for k, v in c.items()} for c in counts]


@pytest.mark.parametrize("spec", NOISY)
def test_noisy_sampling_matches_noisy_reference(spec):
    provider = _provider(spec)
    submission = _submission(provider)
    result = _run(provider, submission)
    assert [len(b) for b in result.counts] == [3, 2]
    for batch, counts_list in zip(submission.batches, result.counts, strict=True):
        reference = _noisy_reference(spec, batch.circuit, batch.parameter_values)
        for counts, probs in zip(counts_list, reference, strict=True):
            keys = set(probs) | set(counts)
            full = {k: probs.get(k, 0.0) for k in keys}
            _assert_within(counts, full, SHOTS, sigma_ref=np.sqrt(0.25 / 200_000), floor=1.5e-3)


# -- bit order ------------------------------------------------------------------------------------


def _bit_order_circuits() -> list[tuple[QuantumCircuit, str]]:
    x0 = QuantumCircuit(3, 3)
    x0.x(0)
    x0.measure([0, 1, 2], [0, 1, 2])
    crossed = QuantumCircuit(3, 3)  # qubit 0 -> clbit 2, qubit 1 -> clbit 0, qubit 2 -> clbit 1
    crossed.x(0)
    crossed.measure([0, 1, 2], [2, 0, 1])
    q = QuantumRegister(2, "q")
    a, b = ClassicalRegister(1, "a"), ClassicalRegister(1, "b")
    registers = QuantumCircuit(q, a, b)  # clbit 0 = a[0] (qubit 0, |0>), clbit 1 = b[0] (qubit 1, |1>)
    registers.x(1)
    registers.measure(0, a[0])
    registers.measure(1, b[0])
    return [(x0, "001"), (crossed, "100"), (registers, "10")]


@pytest.mark.parametrize("spec", IDEAL + NOISY)
def test_counts_are_keyed_in_qiskit_bit_order(spec):
    provider = _provider(spec)
    cases = _bit_order_circuits()
    batches = tuple(CircuitBatch(_isa(provider, qc), np.zeros((2, 0))) for qc, _ in cases)
    result = _run(provider, Submission("sample", batches, shots=500, seed=3))
    for (_, expected), counts_list in zip(cases, result.counts, strict=True):
        assert len(counts_list) == 2  # two bindings of a parameterless circuit
        for counts in counts_list:
            assert sum(counts.values()) == 500
            if spec in IDEAL:
                assert counts == {expected: 500}
            else:
                assert max(counts, key=counts.get) == expected
                assert counts[expected] >= 0.8 * 500


# -- seeds ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", SEEDED)
def test_same_seed_same_counts_and_zero_is_a_seed(spec):
    provider = _provider(spec)
    runs = {
        seed: [_run(provider, _submission(provider, shots=300, seed=seed)).counts for _ in range(2)] for seed in (0, 5)
    }
    assert runs[0][0] == runs[0][1]
    assert runs[5][0] == runs[5][1]
    assert runs[0][0] != runs[5][0]


# -- exact estimates ------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["qiskit:aer", "qiskit:torch", "braket:local", "braket:local_dm"])
def test_exact_estimates_match_statevector(spec):
    provider = _provider(spec)
    a, b = Parameter("a"), Parameter("b")
    qc = QuantumCircuit(3)
    qc.ry(a, 0)
    qc.cx(0, 2)
    qc.rx(b, 1)
    qc.h(2)
    observables = (
        SparsePauliOp.from_list([("ZIZ", 1.0)]),
        SparsePauliOp.from_list([("IIZ", 0.5), ("XII", -2.0), ("III", 0.25), ("YYI", 0.75)]),
    )
    values = np.array([[0.3, 0.1], [1.2, -0.7], [2.9, 2.0]])
    isa = transpile(qc, target=provider.target().qiskit_target, optimization_level=0)
    assert isa.num_qubits == 3
    submission = Submission("estimate", (CircuitBatch(isa, values),), observables=observables)
    result = provider.result(provider.submit(submission))
    expected = np.array(
        [[Statevector(qc.assign_parameters(row)).expectation_value(o).real for o in observables] for row in values]
    )
    assert result.expectations[0].shape == (3, 2)
    np.testing.assert_allclose(result.expectations[0], expected, atol=1e-10)


def test_estimate_on_a_sampling_device_is_refused():
    provider = _provider("ibm:fake_manila")
    qc = QuantumCircuit(1)
    qc.h(0)
    submission = Submission("estimate", (CircuitBatch(_isa(provider, qc), np.zeros((1, 0))),), observables=("Z",))
    with pytest.raises(ValueError, match="sampled results only"):
        provider.submit(submission)


def test_braket_gate_names_reproduce_qiskit_states():
    """Every mapped gate, random angles, checked by all 63 Pauli expectations (full tomography of a pure state)."""
    from qiskit.circuit.library import get_standard_gate_name_mapping

    rng = np.random.default_rng(5)
    gates = get_standard_gate_name_mapping()
    qc = QuantumCircuit(3)
    for q in range(3):
        qc.ry(rng.uniform(0, 3), q)
        qc.rz(rng.uniform(0, 3), q)
    for name in QISKIT_TO_BRAKET:
        gate = gates[name]
        params = list(rng.uniform(-3, 3, len(gate.params)))
        qc.append(type(gate)(*params) if params else gate, [int(i) for i in rng.permutation(3)[: gate.num_qubits]])
    labels = ["".join(letters) for letters in itertools.product("IXYZ", repeat=3)]
    observables = tuple(SparsePauliOp(label) for label in labels if label != "III")
    provider = _provider("braket:local")
    result = provider.result(
        provider.submit(Submission("estimate", (CircuitBatch(qc, np.zeros((1, 0))),), observables=observables))
    )
    state = Statevector(qc)
    expected = [state.expectation_value(Pauli(o.paulis[0].to_label())).real for o in observables]
    np.testing.assert_allclose(result.expectations[0][0], expected, atol=1e-10)


# -- errors ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("spec", ["qiskit:fake_manila", "ibm:fake_manila", "braket:local"])
def test_unknown_job_ids_raise_job_not_found(spec):
    provider = _provider(spec)
    for call in (provider.status, provider.result, provider.cancel):
        with pytest.raises(JobNotFoundError, match="local jobs live only in the process that ran them"):
            call("0b5f3c9e-0000-4000-8000-000000000000")


def test_unknown_devices_list_known_names():
    with pytest.raises(UnknownDeviceError, match=r"aer, torch.*fake_manila"):
        make_provider("no_such_device")
    with pytest.raises(UnknownDeviceError, match="fake_manila"):
        make_provider("aer_noise:fake_nowhere")
    with pytest.raises(UnknownDeviceError, match=r"offers: .*fake_manila"):
        IBMProvider("fake_nowhere")
    with pytest.raises(UnknownDeviceError, match=r"local, local_dm, sv1, dm1"):
        registry.make_provider("braket", "no_such_qpu")


def test_circuit_wider_than_device_is_refused_before_anything_runs():
    for spec, width in (("ibm:fake_manila", 6), ("qiskit:fake_manila", 6), ("braket:local", 27)):
        provider = _provider(spec)
        qc = QuantumCircuit(width)
        qc.h(0)
        qc.measure_all()
        with pytest.raises(DeviceTooSmallError, match=f"needs {width} qubits"):
            provider.submit(Submission("sample", (CircuitBatch(qc, np.zeros((1, 0))),), shots=10))


def test_bindings_must_match_the_circuit_parameters():
    provider = _provider("qiskit:aer")
    batch = CircuitBatch(_ry_ry(), np.zeros((2, 1)))
    with pytest.raises(ValueError, match=r"1 columns but circuit .* has 2 parameters \['a', 'b'\]"):
        provider.submit(Submission("sample", (batch,), shots=10))


# -- credentials ----------------------------------------------------------------------------------


def _clear_ibm_env(monkeypatch):
    for name in ("QISKIT_IBM_TOKEN", "QISKIT_IBM_INSTANCE", "QISKIT_IBM_CHANNEL", "QISKIT_IBM_URL"):
        monkeypatch.delenv(name, raising=False)


def _no_network_service(monkeypatch, saved: dict | None = None, error: Exception | None = None):
    import qiskit_ibm_runtime

    class NoNetworkService:
        def __init__(self, *args, **kwargs):
            if error is not None:
                raise error
            raise AssertionError("a test tried to contact IBM Quantum")

        @staticmethod
        def saved_accounts(*args, **kwargs):
            return {} if saved is None else saved

    monkeypatch.setattr(qiskit_ibm_runtime, "QiskitRuntimeService", NoNetworkService)


def test_ibm_without_credentials_says_where_to_put_them(monkeypatch):
    _clear_ibm_env(monkeypatch)
    _no_network_service(monkeypatch)
    with pytest.raises(CredentialsError, match=r"QISKIT_IBM_TOKEN.*save_account"):
        IBMProvider("ibm_torino")
    with pytest.raises(CredentialsError, match="no account is saved for channel 'ibm_cloud'"):
        find_ibm_credentials(channel="ibm_cloud")


def test_ibm_planted_token_never_shows(monkeypatch):
    from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError

    _clear_ibm_env(monkeypatch)
    monkeypatch.setenv("QISKIT_IBM_TOKEN", PLANTED)
    _no_network_service(monkeypatch, error=IBMNotAuthorizedError(f"401 Client Error: apikey {PLANTED} is invalid"))
    provider = IBMProvider("ibm_torino")
    with pytest.raises(CredentialsError) as caught:
        provider.target()
    shown = [repr(provider), str(provider), str(caught.value), repr(caught.value)]
    shown.append("".join(traceback.format_exception(caught.value)))
    shown.append(repr(find_ibm_credentials()))
    assert all(PLANTED not in text for text in shown)
    assert "QISKIT_IBM_TOKEN" in str(caught.value)
    assert repr(IBMCredentials("environment", token=PLANTED)).endswith("token=<hidden>)")


def _ibm_cloud_answers(monkeypatch, answer):
    """Every HTTP request of the vendor code (requests) gets ``answer(request)``: nothing leaves the machine."""
    import requests.adapters

    urls = []

    def send(self, request, **kwargs):
        urls.append(request.url)
        return answer(request)

    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send", send)
    return urls


def _iam_refuses(request):
    import requests

    response = requests.Response()
    response.status_code, response.url, response.request = 400, request.url, request
    response.headers["Content-Type"] = "application/json"
    body = {"errorCode": "BXNIM0415E", "errorMessage": "Provided API key could not be found."}
    response._content = json.dumps(body).encode()
    return response


def _network_down(request):
    import requests

    raise requests.exceptions.ConnectionError(
        f"HTTPSConnectionPool(host='iam.cloud.ibm.com', port=443): Max retries exceeded with url: {request.path_url} "
        "(Caused by NameResolutionError: Failed to resolve 'iam.cloud.ibm.com')"
    )


def test_ibm_unreachable_is_a_network_error_not_refused_credentials(monkeypatch):
    """The real QiskitRuntimeService with the network down: its InvalidAccountError wraps a ConnectionError."""
    _clear_ibm_env(monkeypatch)
    monkeypatch.setenv("QISKIT_IBM_TOKEN", PLANTED)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", "crn:v1:bluemix:public:quantum-computing:us-east:a/0123::")
    urls = _ibm_cloud_answers(monkeypatch, _network_down)
    with pytest.raises(TransientProviderError, match="could not reach IBM Cloud to check the credentials") as caught:
        IBMProvider("ibm_torino").target()
    message = str(caught.value)
    assert "ConnectionError" in message and "were not refused" in message and "did not accept" not in message
    assert PLANTED not in message and urls and urls[0].startswith("https://iam.cloud.ibm.com/")


def test_ibm_refused_api_key_is_a_credentials_error(monkeypatch):
    """The real QiskitRuntimeService with IAM answering 400 (unknown API key): refused credentials."""
    _clear_ibm_env(monkeypatch)
    monkeypatch.setenv("QISKIT_IBM_TOKEN", PLANTED)
    monkeypatch.setenv("QISKIT_IBM_INSTANCE", "crn:v1:bluemix:public:quantum-computing:us-east:a/0123::")
    _ibm_cloud_answers(monkeypatch, _iam_refuses)
    refused = r"IBM Cloud refused the API key \(ApiException: .*could not be found"
    with pytest.raises(CredentialsError, match=refused) as caught:
        IBMProvider("ibm_torino").target()
    assert "QISKIT_IBM_TOKEN" in str(caught.value) and PLANTED not in str(caught.value)


def test_ibm_error_chains_are_classified_by_their_cause():
    """Vendor exception types as qiskit-ibm-runtime and ibm-cloud-sdk-core raise them, chained as they chain them."""
    import requests
    from ibm_cloud_sdk_core import ApiException
    from qiskit_ibm_runtime.accounts.exceptions import AccountNotFoundError, InvalidAccountError
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError
    from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError

    from hardware.providers.ibm import _map_ibm_error

    def wrapped(cause: Exception) -> InvalidAccountError:
        try:
            try:
                raise cause
            except Exception as inner:
                raise InvalidAccountError("Unable to retrieve instances. Check your API token.") from inner
        except InvalidAccountError as outer:
            return outer

    cases = [
        (wrapped(requests.exceptions.ConnectionError("Name or service not known")), TransientProviderError),
        (wrapped(requests.exceptions.ReadTimeout("read timed out")), TransientProviderError),
        (wrapped(ApiException(503, message="Service Unavailable")), TransientProviderError),
        (wrapped(ApiException(400, message="Provided API key could not be found.")), CredentialsError),
        (wrapped(ApiException(403, message="Forbidden")), CredentialsError),
        (InvalidAccountError("Invalid `token` value. Expected a non-empty string"), CredentialsError),
        (AccountNotFoundError("Account 'x' not found"), CredentialsError),
        (IBMNotAuthorizedError("401 Client Error: Unauthorized"), CredentialsError),
        (RequestsApiError("connection aborted"), TransientProviderError),  # status -1: no response
        (RequestsApiError("401", 401), CredentialsError),
        (ApiException(502, message="Bad Gateway"), TransientProviderError),
        (ApiException(404, message="Not Found"), HardwareError),
        (requests.exceptions.ConnectionError("refused"), TransientProviderError),
    ]
    for exc, expected in cases:
        mapped = _map_ibm_error(exc, "connecting to IBM Quantum")
        assert type(mapped) is expected, (exc, exc.__cause__, mapped)


class _FakeJob:
    def __init__(self, job_id: str):
        self._id = job_id

    def job_id(self):
        return self._id

    def status(self):
        return "QUEUED"


class _FakeService:
    """What IBMProvider uses of a cloud QiskitRuntimeService, with scripted failures."""

    def __init__(self, backend_error=None, job_error=None):
        self.backend_error, self.job_error, self.tag_queries = backend_error, job_error, []

    def backend(self, name):
        raise self.backend_error

    def backends(self):
        return [type("B", (), {"name": n})() for n in ("ibm_torino", "ibm_kingston")]

    def job(self, job_id):
        raise self.job_error

    def jobs(self, job_tags, limit):
        self.tag_queries.append((tuple(job_tags), limit))
        return [_FakeJob("d1t2f3")] if job_tags == ["found"] else []


def test_ibm_cloud_errors_are_translated():
    from qiskit.providers.exceptions import QiskitBackendNotFoundError
    from qiskit_ibm_runtime.api.exceptions import RequestsApiError
    from qiskit_ibm_runtime.exceptions import RuntimeJobNotFound

    busy = IBMProvider("ibm_torino", service=_FakeService(backend_error=RequestsApiError(f"503 token={PLANTED}", 503)))
    with pytest.raises(TransientProviderError, match="retry later") as caught:
        busy.target()
    assert PLANTED not in str(caught.value)
    unknown = IBMProvider("ibm_nowhere", service=_FakeService(backend_error=QiskitBackendNotFoundError("no")))
    with pytest.raises(UnknownDeviceError, match="offers: ibm_kingston, ibm_torino"):
        unknown.target()
    gone = IBMProvider("ibm_torino", service=_FakeService(job_error=RuntimeJobNotFound("Job not found: abc")))
    with pytest.raises(JobNotFoundError, match="no such job"):
        gone.status("abc")
    service = _FakeService()
    tagged = IBMProvider("ibm_torino", service=service)
    assert tagged.find_by_tag("found") == "d1t2f3"
    assert tagged.status("d1t2f3") == "queued"
    assert tagged.find_by_tag("missing") is None
    assert service.tag_queries == [(("found",), 1), (("missing",), 1)]


def _clear_aws_env(monkeypatch, tmp_path):
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_braket_without_credentials_says_where_to_put_them(monkeypatch, tmp_path):
    _clear_aws_env(monkeypatch, tmp_path)
    with pytest.raises(CredentialsError, match=r"no AWS credentials found.*AWS_ACCESS_KEY_ID.*~/.aws/credentials"):
        BraketProvider("sv1")
    planted_key = "AKIAPLANTED000000000"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", planted_key)  # partial: no secret
    with pytest.raises(CredentialsError, match="incomplete") as caught:
        registry.make_provider("braket", "iqm_garnet")
    assert planted_key not in str(caught.value) + repr(caught.value)


def test_aws_errors_are_translated_and_scrubbed(monkeypatch):
    from botocore.exceptions import ClientError, EndpointConnectionError

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", PLANTED)

    def client_error(code, status):
        body = {"Error": {"Code": code, "Message": f"secret {PLANTED}"}, "ResponseMetadata": {"HTTPStatusCode": status}}
        return ClientError(body, "GetQuantumTask")

    assert isinstance(_map_aws_error(client_error("ThrottlingException", 400), "x"), TransientProviderError)
    assert isinstance(_map_aws_error(client_error("Whatever", 503), "x"), TransientProviderError)
    assert isinstance(_map_aws_error(client_error("ExpiredTokenException", 400), "x"), CredentialsError)
    assert isinstance(_map_aws_error(client_error("ResourceNotFoundException", 404), "x"), JobNotFoundError)
    assert isinstance(
        _map_aws_error(EndpointConnectionError(endpoint_url="https://braket"), "x"), TransientProviderError
    )
    other = _map_aws_error(client_error("ValidationException", 400), "x")
    assert type(other) is HardwareError and PLANTED not in str(other)
    assert _map_aws_error(KeyError("k"), "x") is None


def test_scrub_removes_known_secrets_and_token_shapes(monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", PLANTED)
    text = f"failed for {PLANTED}; Authorization: Bearer abcdefghijkl123; apikey=zzzz9999yyyy; key AKIAABCDEFGHIJKLMNOP"
    out = scrub(text, secrets=["extra-secret-value"])
    for secret in (PLANTED, "abcdefghijkl123", "zzzz9999yyyy", "AKIAABCDEFGHIJKLMNOP"):
        assert secret not in out
    assert out.startswith("failed for ***")


# -- Braket on AWS, with stand-ins for the device and its tasks -------------------------------------


class _FakeTask:
    REGISTRY: ClassVar[dict[str, _FakeTask]] = {}
    NUMBERS: ClassVar[Iterator[int]] = itertools.count()

    def __init__(self, arn, result=None, aws_session=None):
        if result is None:  # AwsQuantumTask(arn, aws_session=...) in a "new process"
            stored = _FakeTask.REGISTRY[arn]
            result = stored._result
        self.id, self._result = arn, result
        _FakeTask.REGISTRY[arn] = self

    def state(self):
        return "COMPLETED"

    def result(self):
        return self._result


class _FakeAwsDevice:
    """Runs on the local simulator what AwsDevice.run_batch would send, and records the arguments."""

    def __init__(self):
        from braket.devices import LocalSimulator

        self._local = LocalSimulator()
        self.properties = self._local.properties
        self.calls = []

    def run_batch(self, programs, **kwargs):
        self.calls.append(kwargs)
        results = self._local.run_batch(programs, shots=kwargs["shots"]).results()
        arn = "arn:aws:braket:us-east-1:123456789012:quantum-task/t{}"
        tasks = [_FakeTask(arn.format(next(_FakeTask.NUMBERS)), r) for r in results]
        return type("Batch", (), {"tasks": tasks})()


def test_braket_aws_job_ids_are_task_arn_lists_readable_from_any_process(monkeypatch):
    import braket.aws

    device = _FakeAwsDevice()
    monkeypatch.setattr(braket.aws, "AwsQuantumTask", _FakeTask)
    monkeypatch.setattr(braket.aws, "AwsDevice", lambda arn, aws_session=None: device)
    provider = BraketProvider("sv1", aws_session=object(), s3_destination="s3://bucket/results")
    target = provider.target()
    assert target.exact and target.price is None  # SV1's per-minute price is not in the local properties
    submission = _submission(provider, shots=1000)
    job_id = provider.submit(submission)
    arns = json.loads(job_id)
    assert [len(b) for b in arns] == [3, 2] and all(a.startswith("arn:aws:braket:") for b in arns for a in b)
    assert device.calls == [
        {
            "shots": 1000,
            "max_parallel": 5,
            "s3_destination_folder": ("bucket", "results"),
            "tags": {"qml-hybrid-test": "qml-hybrid"},
        }
    ]
    other_process = BraketProvider("sv1", aws_session=object())
    assert other_process.status(job_id) == "done"
    result = other_process.result(job_id)
    for counts, (theta,) in zip(result.counts[0], THETAS, strict=True):
        _assert_within(counts, _exact_ry_cx(theta), 1000)
    for counts, (a, b) in zip(result.counts[1], AB, strict=True):
        _assert_within(counts, _exact_ry_ry(a, b), 1000)
    with pytest.raises(JobNotFoundError, match="malformed Braket job id"):
        other_process.status("not-json")
    assert other_process.find_by_tag("qml-hybrid-test") is None


def test_braket_short_names_are_current_sdk_device_arns():
    from braket.devices import Devices

    current = {
        str(member.value)
        for family in (Devices.Amazon, Devices.IonQ, Devices.IQM, Devices.Rigetti, Devices.AQT)
        for member in family
        if not member.name.startswith("_")
    }
    assert set(DEVICE_ARNS.values()) <= current


def test_job_states_map_qiskit_and_runtime_statuses():
    from qiskit.providers import JobStatus

    assert qiskit_job_state(JobStatus.RUNNING) == "running"
    assert qiskit_job_state("INITIALIZING") == "queued"
    assert qiskit_job_state("ERROR") == "failed"
    assert qiskit_job_state(JobStatus.CANCELLED) == "cancelled"
    assert qiskit_job_state("DONE") == "done"
    with pytest.raises(ValueError, match="unknown job status"):
        qiskit_job_state("EXPLODED")


def test_wrapping_any_backend_v2():
    from qiskit_aer import AerSimulator

    provider = QiskitBackendProvider(AerSimulator.from_backend(_provider("qiskit:fake_manila").backend))
    assert provider.target().exact is False and provider.target().num_qubits == 5
    assert make_provider("torch").target().exact is True
    with pytest.raises(TypeError, match="BackendV2"):
        QiskitBackendProvider("aer")


@pytest.mark.parametrize("mode", ["session", "batch"])
def test_ibm_session_and_batch_modes_run_locally(mode):
    with IBMProvider("fake_manila", mode=mode) as provider:
        qc = QuantumCircuit(1)
        qc.x(0)
        qc.measure_all()
        result = _run(provider, Submission("sample", (CircuitBatch(_isa(provider, qc), np.zeros((3, 0))),), shots=200))
    assert [sum(c.values()) for c in result.counts[0]] == [200, 200, 200]
    assert result.metadata["mode"] == mode


def test_per_batch_observables_and_backend_options():
    provider = make_provider("aer", method="statevector")
    zero, one = QuantumCircuit(1), QuantumCircuit(2)
    one.x(1)
    submission = Submission(
        "estimate",
        (CircuitBatch(zero, np.zeros((1, 0))), CircuitBatch(one, np.zeros((2, 0)))),
        observables=((SparsePauliOp("Z"),), (SparsePauliOp("ZI"), SparsePauliOp("IZ"))),
    )
    result = provider.result(provider.submit(submission))
    np.testing.assert_allclose(result.expectations[0], [[1.0]], atol=1e-12)
    np.testing.assert_allclose(result.expectations[1], [[-1.0, 1.0], [-1.0, 1.0]], atol=1e-12)
    with pytest.raises(TypeError, match="no_such_option"):
        make_provider("aer", no_such_option=1)


def test_braket_qpu_target_uses_physical_qubit_labels_and_device_cost(monkeypatch):
    """An IQM-like device (qubits labelled 1..4 on a line, prx/cz natives) with a per-shot deviceCost."""
    from types import SimpleNamespace

    import braket.aws

    properties = SimpleNamespace(
        action={"braket.ir.openqasm.program": SimpleNamespace(supportedOperations=["prx", "cz", "rz", "x"])},
        paradigm=SimpleNamespace(
            qubitCount=4,
            connectivity=SimpleNamespace(fullyConnected=False, connectivityGraph={"1": ["2"], "2": ["3"], "3": ["4"]}),
        ),
        service=SimpleNamespace(shotsRange=(1, 20000), deviceCost=SimpleNamespace(price=0.00145, unit="shot")),
    )
    device = _FakeAwsDevice()
    device.properties = properties
    monkeypatch.setattr(braket.aws, "AwsQuantumTask", _FakeTask)
    monkeypatch.setattr(braket.aws, "AwsDevice", lambda arn, aws_session=None: device)
    provider = BraketProvider("iqm_garnet", aws_session=object())
    target = provider.target()
    assert (target.num_qubits, target.exact, target.max_shots) == (4, False, 20000)
    assert (target.price.per_task, target.price.per_shot) == (0.30, 0.00145)
    assert sorted(target.qiskit_target.operation_names) == ["cz", "measure", "r", "rz", "x"]
    assert set(target.qiskit_target["cz"]) == {(0, 1), (1, 0), (1, 2), (2, 1), (2, 3), (3, 2)}
    qc = QuantumCircuit(4, 2)
    qc.x(3)
    qc.measure(3, 0)  # physical qubit 4 -> clbit 0
    qc.measure(0, 1)
    isa = _isa(provider, qc)
    job_id = provider.submit(Submission("sample", (CircuitBatch(isa, np.zeros((1, 0))),), shots=50))
    result = provider.result(job_id)
    assert result.counts == [[{"01": 50}]]
    program = _FakeTask.REGISTRY[json.loads(job_id)[0][0]].result().additional_metadata.action.source
    assert "$4" in program and "qubit[" not in program and "cnot" not in program
