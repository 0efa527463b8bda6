"""Amazon Braket through amazon-braket-sdk: the local simulators offline, managed simulators and QPUs on AWS.

Devices: ``local`` / ``local_dm`` (``braket.devices.LocalSimulator("braket_sv" / "braket_dm")``, offline, free),
a short name of :data:`DEVICE_ARNS` (``sv1``, ``dm1``, ``ionq_forte1``, ``iqm_garnet`` ...; the ARNs are taken
from the SDK's ``braket.devices.Devices`` enum, retired devices left out) or any Braket device ARN.

Every binding of every batch becomes one OpenQASM 3 program: the Qiskit ISA circuit is bound, copied onto
one ``q`` / ``c`` register pair, exported with ``qiskit.qasm3.dumps`` (no includes; the device's gates as
basis gates), and its gate names are renamed to Braket's (``cx`` -> ``cnot``, ``sx`` -> ``v``, ``p`` ->
``phaseshift`` ... each checked against Qiskit's matrices). All programs go out as **one** ``run_batch``.
Each program starts with a ``// qml-hybrid {...}`` comment recording which qubit each classical bit
measures (and, for ``"estimate"``, how result types combine into observables), so a result can be read back
from the task alone, in any process.

Job ids: for the local simulators a uuid kept in this process (results live in memory; another process
gets :class:`~hardware.errors.JobNotFoundError`); on AWS a JSON list with one list of task ARNs per batch
(``[["arn:...", ...], [...]]``), which any process can poll.

Bit order: Braket's ``measurement_counts`` keys list the ``measured_qubits`` in order (qubit 0 leftmost
for ``c = measure q``); they are converted to Qiskit's order (classical bit 0 rightmost) through the recorded
clbit -> qubit map, so registers and measurement order of the original circuit are respected.

``"estimate"`` (exact, ``shots=0``) runs on the simulators (``local``, ``local_dm``, ``sv1``, ``dm1``) with one
``#pragma braket result expectation`` per distinct Pauli term. The local simulators take no seed
(``Submission.seed`` is ignored). Tags go to AWS as ``{tag: "qml-hybrid"}``. :meth:`BraketProvider.find_by_tag`
returns ``None``: this SDK (1.127) has no ``AwsSession.search_quantum_tasks`` and Braket's task search has no
tag filter.

Vendor errors are translated, messages scrubbed: ``botocore`` ``NoCredentialsError`` /
``PartialCredentialsError`` and ``ClientError`` codes of refused credentials -> :class:`CredentialsError`;
``EndpointConnectionError``, ``ConnectionClosedError``, ``ConnectTimeoutError``, ``ReadTimeoutError`` and
``ClientError`` codes ``ThrottlingException``, ``TooManyRequestsException``, ``InternalServiceException``,
``ServiceUnavailableException`` (or any HTTP 429/5xx) -> :class:`TransientProviderError`;
``ResourceNotFoundException`` on a task -> :class:`JobNotFoundError`.
"""

from __future__ import annotations

import contextlib
import json
import re
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hardware.credentials import AWS_CREDENTIALS_HELP, aws_session, scrub
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
from hardware.providers.qiskit_backend import check_sample, observables_for_batch

try:
    from braket.devices import Devices, LocalSimulator
    from braket.ir.openqasm import Program
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the Braket provider needs amazon-braket-sdk (pip install amazon-braket-sdk).") from exc

__all__ = [
    "BRAKET_PRICES",
    "DEVICE_ARNS",
    "LOCAL_DEVICES",
    "QISKIT_TO_BRAKET",
    "BraketProvider",
    "circuit_to_openqasm",
    "make_provider",
]

LOCAL_DEVICES: dict[str, str] = {"local": "braket_sv", "local_dm": "braket_dm"}
"""Device names of the local simulators -> ``LocalSimulator`` backend names."""

DEVICE_ARNS: dict[str, str] = {
    "sv1": str(Devices.Amazon.SV1.value),
    "dm1": str(Devices.Amazon.DM1.value),
    "ionq_forte1": str(Devices.IonQ.Forte1.value),
    "ionq_forte_enterprise1": str(Devices.IonQ.ForteEnterprise1.value),
    "iqm_garnet": str(Devices.IQM.Garnet.value),
    "iqm_emerald": str(Devices.IQM.Emerald.value),
    "rigetti_cepheus1_108q": str(Devices.Rigetti.Cepheus1108Q.value),
    "aqt_ibex_q1": str(Devices.AQT.IbexQ1.value),
}
"""Short names -> ARNs, from ``braket.devices.Devices`` (amazon-braket-sdk 1.127; the SDK marks TN1, IonQ
Aria/Harmony, Rigetti Aspen/Ankaa retired). Gate-model devices only; any other ARN may be given as is."""

_EXACT_ARNS = frozenset({DEVICE_ARNS["sv1"], DEVICE_ARNS["dm1"]})

_BRAKET_PRICE_SOURCE = (
    "https://aws.amazon.com/braket/pricing/ (on-demand QPUs: USD 0.30 per task; per shot IonQ Forte 0.08, "
    "IonQ Aria 0.03, IQM Garnet 0.00145, Rigetti Ankaa 0.0009, QuEra Aquila 0.01), read 2026-11-27 from a stored "
    "localized copy of that page (aws.amazon.com/id/braket/pricing), page date unknown"
)

BRAKET_PRICES: dict[str, PriceModel] = {
    DEVICE_ARNS["ionq_forte1"]: PriceModel(per_task=0.30, per_shot=0.08, source=_BRAKET_PRICE_SOURCE),
    DEVICE_ARNS["ionq_forte_enterprise1"]: PriceModel(per_task=0.30, per_shot=0.08, source=_BRAKET_PRICE_SOURCE),
    DEVICE_ARNS["iqm_garnet"]: PriceModel(per_task=0.30, per_shot=0.00145, source=_BRAKET_PRICE_SOURCE),
}
"""Public on-demand prices known offline, by ARN (used when the device's own ``deviceCost`` is absent).
IQM Emerald, Rigetti Cepheus, AQT Ibex and the managed simulators' per-minute prices could not be verified
offline; :meth:`BraketProvider.target` reads them from the device properties when AWS publishes them there."""

QISKIT_TO_BRAKET: dict[str, str] = {
    "id": "i",
    "h": "h",
    "x": "x",
    "y": "y",
    "z": "z",
    "s": "s",
    "sdg": "si",
    "t": "t",
    "tdg": "ti",
    "sx": "v",
    "sxdg": "vi",
    "rx": "rx",
    "ry": "ry",
    "rz": "rz",
    "p": "phaseshift",
    "u": "U",
    "r": "prx",
    "cx": "cnot",
    "cy": "cy",
    "cz": "cz",
    "csx": "cv",
    "cp": "cphaseshift",
    "swap": "swap",
    "iswap": "iswap",
    "ecr": "ecr",
    "rxx": "xx",
    "ryy": "yy",
    "rzz": "zz",
    "ccx": "ccnot",
    "cswap": "cswap",
}
"""Qiskit gate names -> Braket OpenQASM gate names with the same matrix (up to global phase)."""

_OPENQASM_ACTION = "braket.ir.openqasm.program"
_HEADER = "// qml-hybrid "
_LOCAL_JOB_HELP = "local jobs live only in the process that ran them; the journal keeps their results."
_TAG_PATTERN = re.compile(r"^[\w\s.:/=+\-@]{1,128}$")

_CREDENTIAL_CODES = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "AccessDeniedException",
        "AccessDenied",
    }
)
_TRANSIENT_CODES = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "InternalServiceException",
        "InternalServerException",
        "InternalFailure",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def _map_aws_error(exc: BaseException, action: str) -> HardwareError | None:
    """Our error for a botocore / Braket exception (scrubbed), or ``None`` to let it through."""
    import botocore.exceptions as bx

    text = scrub(f"{type(exc).__name__}: {exc}")
    if isinstance(exc, (bx.NoCredentialsError, bx.PartialCredentialsError, bx.ProfileNotFound)):
        return CredentialsError(f"{action}: {text}. {AWS_CREDENTIALS_HELP}")
    if isinstance(exc, bx.NoRegionError):
        return CredentialsError(f"{action}: no AWS region configured; set AWS_DEFAULT_REGION (e.g. us-east-1).")
    if isinstance(
        exc, (bx.EndpointConnectionError, bx.ConnectionClosedError, bx.ConnectTimeoutError, bx.ReadTimeoutError)
    ):
        return TransientProviderError(f"{action}: network failure talking to AWS ({text}); retry later.")
    if isinstance(exc, bx.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in _CREDENTIAL_CODES:
            return CredentialsError(f"{action}: AWS refused the credentials ({text}). {AWS_CREDENTIALS_HELP}")
        if code in _TRANSIENT_CODES or status == 429 or status >= 500:
            return TransientProviderError(f"{action}: AWS is busy or unavailable ({text}); retry later.")
        if code == "ResourceNotFoundException":
            return JobNotFoundError(f"{action}: {text}")
        return HardwareError(f"{action}: AWS rejected the request ({text}).")
    if isinstance(exc, bx.BotoCoreError):
        return HardwareError(f"{action}: {text}")
    return None


@contextlib.contextmanager
def _vendor_errors(action: str) -> Iterator[None]:
    try:
        yield
    except HardwareError:
        raise
    except Exception as exc:
        mapped = _map_aws_error(exc, action)
        if mapped is None:
            raise
        raise mapped from None


# -- circuits -> OpenQASM 3 -----------------------------------------------------------------------


def _qubit_ref(index: int, physical: Sequence[int] | None) -> str:
    return f"${physical[index]}" if physical is not None else f"q[{index}]"


def _qubit_label(index: int, physical: Sequence[int] | None) -> int:
    return int(physical[index]) if physical is not None else index


def _pauli_terms(observable: Any, num_qubits: int) -> tuple[float, list[tuple[float, tuple[tuple[int, str], ...]]]]:
    """``(constant, [(coefficient, ((qubit, letter), ...)), ...])`` of a Hermitian ``SparsePauliOp``."""
    constant = 0.0
    terms: list[tuple[float, tuple[tuple[int, str], ...]]] = []
    for label, coeff in observable.to_list():
        value = complex(coeff)
        if abs(value.imag) > 1e-12:
            raise ValueError(
                f"observable term {label} has complex coefficient {value}; expectation values need a Hermitian "
                "observable (real coefficients)."
            )
        letters = tuple(
            (q, label[num_qubits - 1 - q].lower()) for q in range(num_qubits) if label[num_qubits - 1 - q] != "I"
        )
        if letters:
            terms.append((value.real, letters))
        else:
            constant += value.real
    return constant, terms


def circuit_to_openqasm(
    circuit: Any,
    *,
    allowed: frozenset[str] | None = None,
    physical: Sequence[int] | None = None,
    observables: Sequence[Any] = (),
    measure: bool = True,
) -> str:
    """A bound Qiskit circuit as a Braket OpenQASM 3 program with a ``// qml-hybrid`` header.

    Args:
        circuit: a ``QuantumCircuit`` without free parameters, final measurements only.
        allowed: the Qiskit gate names the device accepts (default: every name of :data:`QISKIT_TO_BRAKET`).
        physical: physical qubit labels, index ``i`` for circuit qubit ``i`` (QPUs with a coupling map);
            ``None`` writes logical qubits ``q[i]``.
        observables: ``SparsePauliOp`` s for exact expectation values (result-type pragmas).
        measure: keep the measurements (``False`` drops them, for ``"estimate"``).

    Returns:
        The program source.

    Raises:
        ValueError: unbound parameters, a gate the device lacks, or a measurement followed by gates.
    """
    from qiskit import QuantumCircuit, qasm3

    if circuit.parameters:
        names = sorted(p.name for p in circuit.parameters)
        raise ValueError(f"circuit {circuit.name!r} has unbound parameters {names}; bind them before export.")
    names_ok = frozenset(QISKIT_TO_BRAKET) if allowed is None else allowed
    flat = QuantumCircuit(circuit.num_qubits, circuit.num_clbits if measure else 0)
    measured: dict[int, int] = {}
    touched_after: set[int] = set()
    for instruction in circuit.data:
        op = instruction.operation
        qubits = [circuit.find_bit(q).index for q in instruction.qubits]
        if op.name == "barrier":
            continue
        if op.name == "measure":
            if measure:
                clbit = circuit.find_bit(instruction.clbits[0]).index
                measured[clbit] = qubits[0]
                flat.measure(qubits[0], clbit)
            touched_after.add(qubits[0])
            continue
        if op.name not in names_ok or op.name not in QISKIT_TO_BRAKET:
            raise ValueError(
                f"gate {op.name!r} of circuit {circuit.name!r} is not among the device's gates "
                f"({', '.join(sorted(names_ok & set(QISKIT_TO_BRAKET)))}); transpile with "
                "qiskit.transpile(circuit, target=provider.target().qiskit_target)."
            )
        if instruction.clbits or getattr(op, "condition", None) is not None:
            raise ValueError(
                f"gate {op.name!r} is classically controlled; Braket programs here take final measurements only."
            )
        if touched_after.intersection(qubits):
            raise ValueError(
                f"circuit {circuit.name!r} applies {op.name!r} after measuring one of its qubits; only final "
                "measurements are supported on Braket here."
            )
        flat.append(op, qubits)
    source = qasm3.dumps(flat, includes=(), basis_gates=tuple(QISKIT_TO_BRAKET))
    lines: list[str] = []
    gate_line = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?=[\s(])")
    for line in source.splitlines():
        if physical is not None and re.match(r"^qubit\[\d+\]\s+q;$", line):
            continue
        match = gate_line.match(line)
        if match and match.group(1) in QISKIT_TO_BRAKET:
            line = QISKIT_TO_BRAKET[match.group(1)] + line[match.end(1) :]
        if physical is not None:
            line = re.sub(r"\bq\[(\d+)\]", lambda m: _qubit_ref(int(m.group(1)), physical), line)
        lines.append(line)
    header: dict[str, Any] = {
        "v": 1,
        "clbits": flat.num_clbits,
        "measure": [[c, _qubit_label(q, physical)] for c, q in sorted(measured.items())],
    }
    pragmas: list[str] = []
    if observables:
        term_index: dict[tuple[tuple[int, str], ...], int] = {}
        combos = []
        for obs in observables:
            constant, terms = _pauli_terms(obs, circuit.num_qubits)
            parts = []
            for coeff, letters in terms:
                if letters not in term_index:
                    term_index[letters] = len(term_index)
                    product = " @ ".join(f"{p}({_qubit_ref(q, physical)})" for q, p in letters)
                    pragmas.append(f"#pragma braket result expectation {product}")
                parts.append([coeff, term_index[letters]])
            combos.append([constant, parts])
        header["observables"] = combos
    out = [lines[0], _HEADER + json.dumps(header, separators=(",", ":")), *lines[1:], *pragmas]
    return "\n".join(out) + "\n"


def _read_header(source: str) -> dict[str, Any]:
    for line in source.splitlines():
        if line.startswith(_HEADER):
            return json.loads(line[len(_HEADER) :])
    raise HardwareError("this Braket task was not submitted by qml-hybrid (no '// qml-hybrid' header in its program).")


def _task_counts(result: Any, header: dict[str, Any]) -> dict[str, int]:
    """Counts of one task in Qiskit's order (classical bit 0 rightmost)."""
    measured = [int(q) for q in result.measured_qubits]
    position = {q: j for j, q in enumerate(measured)}
    num_clbits = int(header["clbits"])
    source_of = dict((int(c), int(q)) for c, q in header["measure"])
    missing = sorted({q for q in source_of.values() if q not in position})
    if missing:
        raise HardwareError(f"Braket did not report measurements of qubits {missing} (measured: {measured}).")
    counts: dict[str, int] = {}
    for key, n in result.measurement_counts.items():
        bits = ["0"] * num_clbits
        for clbit, qubit in source_of.items():
            bits[clbit] = key[position[qubit]]
        qiskit_key = "".join(reversed(bits))
        counts[qiskit_key] = counts.get(qiskit_key, 0) + int(n)
    return counts


def _task_expectations(result: Any, header: dict[str, Any]) -> np.ndarray:
    values = [float(np.real(v)) for v in result.values]
    out = []
    for constant, parts in header["observables"]:
        out.append(constant + sum(coeff * values[index] for coeff, index in parts))
    return np.asarray(out, dtype=np.float64)


# -- targets --------------------------------------------------------------------------------------


def _qiskit_target(properties: Any) -> tuple[Any, list[int] | None, frozenset[str]]:
    """A Qiskit ``Target`` of the device's gates (mapped to Qiskit names), its physical labels, gate names."""
    from qiskit.circuit import Measure
    from qiskit.circuit.library import get_standard_gate_name_mapping
    from qiskit.transpiler import Target

    supported = {op.lower() for op in properties.action[_OPENQASM_ACTION].supportedOperations}
    names = frozenset(q for q, b in QISKIT_TO_BRAKET.items() if b.lower() in supported)
    gates = get_standard_gate_name_mapping()
    paradigm = properties.paradigm
    connectivity = getattr(paradigm, "connectivity", None)
    num_qubits = int(paradigm.qubitCount)
    physical: list[int] | None = None
    edges: set[tuple[int, int]] = set()
    if connectivity is not None and not connectivity.fullyConnected and connectivity.connectivityGraph:
        graph = {int(a): [int(b) for b in bs] for a, bs in connectivity.connectivityGraph.items()}
        physical = sorted(set(graph) | {b for bs in graph.values() for b in bs})
        index = {label: i for i, label in enumerate(physical)}
        for a, bs in graph.items():
            for b in bs:
                edges.add((index[a], index[b]))
                edges.add((index[b], index[a]))
        num_qubits = len(physical)
    target = Target(description="Braket device (gates mapped to Qiskit names)", num_qubits=num_qubits)
    for name in sorted(names):
        gate = gates[name]
        if gate.num_qubits > num_qubits:
            continue
        if physical is None:
            target.add_instruction(gate, None)
        elif gate.num_qubits == 1:
            target.add_instruction(gate, {(i,): None for i in range(num_qubits)})
        elif gate.num_qubits == 2:
            target.add_instruction(gate, {edge: None for edge in sorted(edges)})
    if physical is None:
        target.add_instruction(Measure(), None)
    else:
        target.add_instruction(Measure(), {(i,): None for i in range(num_qubits)})
    return target, physical, names


def _price(arn: str, properties: Any) -> PriceModel | None:
    cost = getattr(getattr(properties, "service", None), "deviceCost", None)
    if cost is not None:
        unit = str(cost.unit).lower()
        source = f"AWS Braket GetDevice deviceCost of {arn} (read at run time)"
        if unit == "shot":
            return PriceModel(
                per_task=0.30, per_shot=float(cost.price), source=source + "; per task: " + _BRAKET_PRICE_SOURCE
            )
        if unit == "minute":
            return PriceModel(per_second=float(cost.price) / 60.0, source=source)
    return BRAKET_PRICES.get(arn)


def _resolve_arn(device: str) -> str:
    if device in DEVICE_ARNS:
        return DEVICE_ARNS[device]
    if device.startswith("arn:aws:braket:"):
        return device
    raise UnknownDeviceError(
        f"unknown Braket device {device!r}; known: {', '.join([*LOCAL_DEVICES, *DEVICE_ARNS])}, "
        "or any Braket device ARN (arn:aws:braket:...)."
    )


def _arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    return (parts[3] or None) if len(parts) > 3 else None


# -- the provider ---------------------------------------------------------------------------------


@dataclass
class _LocalBatch:
    kind: str
    results: list[list[Any]]
    meta: dict[str, Any]


class BraketProvider(Provider):
    """One Braket device: a local simulator (offline) or an AWS device.

    Args:
        device: ``local``, ``local_dm``, a short name of :data:`DEVICE_ARNS`, or a device ARN.
        s3_destination: where AWS writes task results: ``"s3://bucket/prefix"`` or ``(bucket, prefix)``;
            ``None``: the SDK default (``amazon-braket-<region>-<account>/tasks``).
        max_parallel: tasks run at once. Locally: worker processes (default: CPU count). On AWS the
            default is the number of programs, so ``run_batch`` creates every task before returning
            (a smaller value makes the SDK wait for tasks to finish before creating the rest).
        aws_session: a ``braket.aws.AwsSession`` to use instead of AWS's default credential chain.

    Raises:
        UnknownDeviceError: an unknown short name.
        CredentialsError: an AWS device and no AWS credentials (checked without calling AWS).

    Example:
        >>> BraketProvider("local").target().exact
        True
    """

    name = "braket"

    def __init__(
        self,
        device: str,
        *,
        s3_destination: str | tuple[str, str] | None = None,
        max_parallel: int | None = None,
        aws_session: Any = None,
    ) -> None:
        if not isinstance(device, str) or not device:
            raise TypeError(f"device must be a non-empty str, got {device!r}.")
        if max_parallel is not None and (
            isinstance(max_parallel, bool) or not isinstance(max_parallel, int) or max_parallel < 1
        ):
            raise ValueError(f"max_parallel must be an int >= 1 or None, got {max_parallel!r}.")
        self._device_name = device
        self._max_parallel = max_parallel
        self._local = device in LOCAL_DEVICES
        self._simulator: Any = None
        self._arn: str | None = None
        self._session: Any = None
        self._aws_device: Any = None
        self._target: DeviceTarget | None = None
        self._physical: list[int] | None = None
        self._allowed: frozenset[str] = frozenset()
        self._local_jobs: dict[str, _LocalBatch] = {}
        self._tasks: dict[str, Any] = {}
        self._s3 = self._parse_s3(s3_destination)
        if self._local:
            self._simulator = LocalSimulator(LOCAL_DEVICES[device])
        else:
            self._arn = _resolve_arn(device)
            self._session = aws_session if aws_session is not None else aws_session_for(self._arn)

    @staticmethod
    def _parse_s3(value: str | tuple[str, str] | None) -> tuple[str, str] | None:
        if value is None:
            return None
        if isinstance(value, str):
            match = re.match(r"^s3://([^/]+)/?(.*)$", value)
            if not match:
                raise ValueError(f"s3_destination must look like 's3://bucket/prefix', got {value!r}.")
            return match.group(1), match.group(2).rstrip("/") or "tasks"
        if isinstance(value, tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
            return value
        raise TypeError(f"s3_destination must be 's3://bucket/prefix' or (bucket, prefix), got {value!r}.")

    def __repr__(self) -> str:
        return f"BraketProvider(device={self._device_name!r})"

    __str__ = __repr__

    # -- vendor objects ---------------------------------------------------------------------------

    def _device(self) -> Any:
        if self._local:
            return self._simulator
        if self._aws_device is None:
            from braket.aws import AwsDevice

            try:
                with _vendor_errors(f"looking up Braket device {self._arn}"):
                    self._aws_device = AwsDevice(self._arn, aws_session=self._session)
            except ValueError as exc:  # the SDK says "'<arn>' not found"
                raise UnknownDeviceError(
                    f"Braket has no device {self._arn!r} ({scrub(str(exc))}); known short names: "
                    f"{', '.join([*LOCAL_DEVICES, *DEVICE_ARNS])}."
                ) from None
        return self._aws_device

    def _properties(self) -> Any:
        device = self._device()
        with _vendor_errors(f"reading the properties of {self._device_name}"):
            return device.properties

    # -- the contract -----------------------------------------------------------------------------

    def target(self) -> DeviceTarget:
        """Qubits, gates (as a Qiskit ``Target``), shot limit, exactness and price of the device."""
        if self._target is None:
            properties = self._properties()
            qiskit_target, physical, allowed = _qiskit_target(properties)
            self._physical, self._allowed = physical, allowed
            max_shots = None
            shots_range = getattr(getattr(properties, "service", None), "shotsRange", None)
            if shots_range is not None and int(shots_range[1]) < 2**62:
                max_shots = int(shots_range[1])
            exact = self._local or self._arn in _EXACT_ARNS
            self._target = DeviceTarget(
                provider=self.name,
                name=self._device_name,
                num_qubits=int(qiskit_target.num_qubits),
                exact=exact,
                max_shots=max_shots,
                price=None if self._local else _price(str(self._arn), properties),
                qiskit_target=qiskit_target,
            )
        return self._target

    def _programs(self, submission: Submission) -> tuple[list[Any], list[int]]:
        from hardware.providers.qiskit_backend import batch_bindings

        programs: list[Any] = []
        sizes: list[int] = []
        estimate = submission.kind == "estimate"
        for index, batch in enumerate(submission.batches):
            batch_bindings(batch, index)  # validates shape, columns and finiteness
            values = np.asarray(batch.parameter_values, dtype=np.float64)
            observables = observables_for_batch(submission, index) if estimate else ()
            for row in values:
                bound = batch.circuit.assign_parameters(list(row)) if values.shape[1] else batch.circuit
                source = circuit_to_openqasm(
                    bound, allowed=self._allowed, physical=self._physical, observables=observables, measure=not estimate
                )
                programs.append(Program(source=source))
            sizes.append(int(values.shape[0]))
        return programs, sizes

    def submit(self, submission: Submission) -> str:
        """Send every binding of every batch as one ``run_batch``; return the job id.

        Raises:
            DeviceTooSmallError: a circuit wider than the device.
            ValueError: a malformed submission, a gate the device lacks, a tag AWS would refuse,
                or ``"estimate"`` on a device without exact results.
        """
        target = self.target()
        check_submission(submission, target)
        if submission.kind == "sample":
            shots = check_sample(submission)
        elif submission.kind == "estimate":
            shots = 0
        else:
            raise ValueError(f"submission kind must be 'sample' or 'estimate', got {submission.kind!r}.")
        tags = {}
        for tag in submission.tags:
            if not isinstance(tag, str) or not _TAG_PATTERN.match(tag):
                raise ValueError(
                    f"tag {tag!r} is not a valid AWS tag key (1-128 letters, digits, spaces or _ . : / = + - @)."
                )
            tags[tag] = "qml-hybrid"
        programs, sizes = self._programs(submission)
        meta = {
            "provider": self.name,
            "device": self._device_name,
            "kind": submission.kind,
            "shots": shots,
            "tasks": len(programs),
        }
        if self._local:
            batch = self._simulator.run_batch(programs, shots=shots, max_parallel=self._max_parallel)
            results = list(batch.results())
            grouped, start = [], 0
            for n in sizes:
                grouped.append(results[start : start + n])
                start += n
            job_id = str(uuid.uuid4())
            self._local_jobs[job_id] = _LocalBatch(submission.kind, grouped, {**meta, "job_id": job_id})
            return job_id
        kwargs: dict[str, Any] = {"shots": shots, "max_parallel": self._max_parallel or len(programs)}
        if self._s3 is not None:
            kwargs["s3_destination_folder"] = self._s3
        if tags:
            kwargs["tags"] = tags
        device = self._device()
        with _vendor_errors(f"submitting {len(programs)} tasks to {self._device_name}"):
            task_batch = device.run_batch(programs, **kwargs)
            tasks = list(task_batch.tasks)
        arns: list[list[str]] = []
        start = 0
        for n in sizes:
            arns.append([str(task.id) for task in tasks[start : start + n]])
            start += n
        for task in tasks:
            self._tasks[str(task.id)] = task
        return json.dumps(arns, separators=(",", ":"))

    def _arns(self, job_id: str) -> list[list[str]]:
        try:
            value = json.loads(job_id)
        except (TypeError, ValueError):
            value = None
        if (
            not isinstance(value, list)
            or not value
            or not all(
                isinstance(b, list) and b and all(isinstance(a, str) and a.startswith("arn:aws:braket:") for a in b)
                for b in value
            )
        ):
            raise JobNotFoundError(
                f"malformed Braket job id {job_id!r}: expected a JSON list of lists of task ARNs, as submit() returns."
            )
        return value

    def _task(self, arn: str) -> Any:
        if arn not in self._tasks:
            from braket.aws import AwsQuantumTask

            self._tasks[arn] = AwsQuantumTask(arn, aws_session=self._session)
        return self._tasks[arn]

    def _local_job(self, job_id: str) -> _LocalBatch:
        if not isinstance(job_id, str) or job_id not in self._local_jobs:
            raise JobNotFoundError(f"unknown job id {job_id!r} for {self!r}: {_LOCAL_JOB_HELP}")
        return self._local_jobs[job_id]

    def status(self, job_id: str) -> JobState:
        """``done`` for local batches; on AWS the combined state of the batch's tasks.

        Any failed task makes the job ``failed``; else any cancelled one ``cancelled``; all completed is
        ``done``; any running or completed task (the rest waiting) ``running``; else ``queued``.
        """
        if self._local:
            self._local_job(job_id)
            return "done"
        states = []
        for arn in (a for batch in self._arns(job_id) for a in batch):
            with _vendor_errors(f"reading the state of task {arn}"):
                states.append(str(self._task(arn).state()))
        if "FAILED" in states:
            return "failed"
        if "CANCELLED" in states or "CANCELLING" in states:
            return "cancelled"
        if all(s == "COMPLETED" for s in states):
            return "done"
        if any(s in ("RUNNING", "COMPLETED") for s in states):
            return "running"
        return "queued"

    def result(self, job_id: str) -> SubmissionResult:
        """Counts (Qiskit order) or ``(N, k)`` exact expectation values per batch.

        Raises:
            JobNotFoundError: unknown (local) or malformed job id.
            JobFailedError: a task failed or was cancelled.
        """
        if self._local:
            entry = self._local_job(job_id)
            return self._convert(entry.kind, entry.results, dict(entry.meta))
        grouped = []
        kind = None
        for batch in self._arns(job_id):
            results = []
            for arn in batch:
                task = self._task(arn)
                with _vendor_errors(f"fetching the result of task {arn}"):
                    state = str(task.state())
                    if state in ("FAILED", "CANCELLED", "CANCELLING"):
                        reason = ""
                        with contextlib.suppress(Exception):
                            reason = scrub(str(task.metadata().get("failureReason", "")))
                        raise JobFailedError(f"Braket task {arn} is {state}" + (f": {reason}" if reason else "."))
                    result = task.result()
                if result is None:
                    raise JobFailedError(f"Braket task {arn} returned no result.")
                results.append(result)
            grouped.append(results)
        first = _read_header(grouped[0][0].additional_metadata.action.source)
        kind = "estimate" if "observables" in first else "sample"
        meta = {
            "provider": self.name,
            "device": self._device_name,
            "job_id": job_id,
            "kind": kind,
            "tasks": sum(len(b) for b in grouped),
        }
        return self._convert(kind, grouped, meta)

    @staticmethod
    def _convert(kind: str, grouped: list[list[Any]], meta: dict[str, Any]) -> SubmissionResult:
        if kind == "sample":
            counts = [
                [_task_counts(r, _read_header(r.additional_metadata.action.source)) for r in results]
                for results in grouped
            ]
            return SubmissionResult(counts=counts, metadata=meta)
        expectations = [
            np.stack([_task_expectations(r, _read_header(r.additional_metadata.action.source)) for r in results])
            for results in grouped
        ]
        return SubmissionResult(expectations=expectations, metadata=meta)

    def cancel(self, job_id: str) -> None:
        """Cancel every task of the job on AWS (local batches have already run)."""
        if self._local:
            self._local_job(job_id)
            return
        for arn in (a for batch in self._arns(job_id) for a in batch):
            with _vendor_errors(f"cancelling task {arn}"):
                self._task(arn).cancel()

    def find_by_tag(self, tag: str) -> str | None:
        """Always ``None``: amazon-braket-sdk 1.127 has no ``AwsSession.search_quantum_tasks`` filter by tag."""
        return None


def aws_session_for(arn: str) -> Any:
    """An ``AwsSession`` in the device's region (from its ARN) on AWS's default credential chain."""
    return aws_session(region=_arn_region(arn))


def make_provider(device: str, **options: Any) -> BraketProvider:
    """The provider for ``braket:<device>`` (options: s3_destination, max_parallel; never credentials)."""
    return BraketProvider(device, **options)
