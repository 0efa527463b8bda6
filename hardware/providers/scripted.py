"""A scripted provider for fault injection: a fake cloud service whose state lives in a directory.

It behaves like a remote service that outlives any client process: jobs, their tags and their results
are files under ``state_dir``, so a client killed at any point and started again finds them, and
every submission is appended to ``state_dir/submissions.log`` (what the crash tests count: "how many
times did we pay"). Results are exact simulations of the submitted circuits with
``qiskit.quantum_info.Statevector`` (sampled with the submission's seed for ``"sample"`` jobs).
Faults are scripted per call:

* ``faults={"submit": ["transient", "ok"], "status": ["transient"], "result": [...]}``: each call of that
  method takes the next entry (``"ok"``, ``"transient"`` raising
  :class:`~hardware.errors.TransientProviderError`, ``"timeout"`` sleeping ``delay_s``, and for
  ``submit`` ``"lost_reply"``: the job is accepted and billed but the reply is lost, raising a
  transient error); when the list is used up, calls succeed;
* ``fail_jobs=True``: jobs end in ``"failed"``;
* ``polls_until_done``: how many :meth:`status` calls see ``"queued"``/``"running"`` first;
* ``delay_s``: a sleep inside every call (widens the windows a crash test kills in).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hardware.errors import JobNotFoundError, TransientProviderError
from hardware.providers.base import (
    DeviceTarget,
    JobState,
    PriceModel,
    Provider,
    Submission,
    SubmissionResult,
    check_submission,
)

__all__ = ["ScriptedProvider", "make_provider"]


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text)
    temporary.replace(path)


def _measured_clbits(circuit: Any) -> list[tuple[int, int]]:
    """``(qubit, clbit)`` of every measurement, in circuit order."""
    pairs = []
    for instruction in circuit.data:
        if instruction.operation.name == "measure":
            qubit = circuit.find_bit(instruction.qubits[0]).index
            clbit = circuit.find_bit(instruction.clbits[0]).index
            pairs.append((qubit, clbit))
    return pairs


def _without_measurements(circuit: Any) -> Any:
    return circuit.remove_final_measurements(inplace=False)


def _simulate_counts(circuit: Any, values: np.ndarray, shots: int, rng: np.random.Generator) -> list[dict[str, int]]:
    """Exact probabilities (``qiskit.quantum_info.Statevector``, no torch: the crash tests start fast), sampled."""
    from qiskit.quantum_info import Statevector

    pairs = _measured_clbits(circuit)
    out = []
    for row in values:
        bound = circuit.assign_parameters(list(row)) if circuit.num_parameters else circuit
        probs = Statevector(_without_measurements(bound)).probabilities()  # index bit q = qubit q (little-endian)
        outcomes = rng.multinomial(shots, probs / probs.sum())
        counts: dict[str, int] = {}
        for index in np.nonzero(outcomes)[0]:
            bits = ["0"] * circuit.num_clbits
            for qubit, clbit in pairs:
                bits[circuit.num_clbits - 1 - clbit] = "1" if (int(index) >> qubit) & 1 else "0"
            key = "".join(bits)
            counts[key] = counts.get(key, 0) + int(outcomes[index])
        out.append(counts)
    return out


def _exact_expectations(circuit: Any, values: np.ndarray, observables: Sequence[Any]) -> np.ndarray:
    from qiskit.quantum_info import Statevector

    rows = []
    for row in values:
        bound = circuit.assign_parameters(list(row)) if circuit.num_parameters else circuit
        state = Statevector(_without_measurements(bound))
        rows.append([float(np.real(state.expectation_value(o))) for o in observables])
    return np.array(rows, dtype=np.float64).reshape(len(values), len(observables))


class ScriptedProvider(Provider):
    """See the module docstring.

    Args:
        device: a name for the fake device.
        state_dir: where the "service" keeps its jobs (shared by every process pointed at it).
        num_qubits: the device's width.
        exact: whether ``"estimate"`` submissions are accepted.
        faults: per-method scripts of outcomes.
        fail_jobs: every job ends ``"failed"``.
        polls_until_done: ``status`` calls that see a pending job before it is done.
        delay_s: a sleep inside every call.
        price: a price model, for cost estimates.
    """

    name = "scripted"

    def __init__(
        self,
        device: str = "sim",
        *,
        state_dir: str | Path,
        num_qubits: int = 5,
        exact: bool = True,
        faults: dict[str, list[str]] | None = None,
        fail_jobs: bool = False,
        polls_until_done: int = 0,
        delay_s: float = 0.0,
        price: PriceModel | None = None,
    ) -> None:
        self.device, self.state_dir = device, Path(state_dir)
        (self.state_dir / "jobs").mkdir(parents=True, exist_ok=True)
        self._target = DeviceTarget("scripted", device, num_qubits, exact=exact, price=price)
        self._faults = {k: list(v) for k, v in (faults or {}).items()}
        self.fail_jobs, self.polls_until_done, self.delay_s = fail_jobs, polls_until_done, delay_s

    def __repr__(self) -> str:
        return f"ScriptedProvider(device={self.device!r}, state_dir={str(self.state_dir)!r})"

    @property
    def submissions_log(self) -> Path:
        """One line per accepted submission: ``job_id tag,tag,...``."""
        return self.state_dir / "submissions.log"

    def submissions(self) -> list[tuple[str, list[str]]]:
        """Every accepted submission so far, in order: ``(job_id, tags)``."""
        if not self.submissions_log.exists():
            return []
        lines = self.submissions_log.read_text().splitlines()
        return [(line.split(" ")[0], [t for t in line.split(" ", 1)[1].split(",") if t]) for line in lines if line]

    def _step(self, method: str) -> str:
        if self.delay_s:
            time.sleep(self.delay_s)
        script = self._faults.get(method)
        outcome = script.pop(0) if script else "ok"
        if outcome == "lost_reply":
            return outcome
        if outcome == "transient":
            raise TransientProviderError(f"scripted transient failure in {method}() (service unavailable)")
        if outcome == "timeout":
            time.sleep(self.delay_s or 0.05)
        return outcome

    def _job_path(self, job_id: str) -> Path:
        if not job_id or "/" in job_id or not job_id.replace("-", "").isalnum():
            raise JobNotFoundError(f"malformed scripted job id {job_id!r}; ids look like 'scripted-<uuid>'.")
        path = self.state_dir / "jobs" / f"{job_id}.json"
        if not path.exists():
            raise JobNotFoundError(
                f"no scripted job {job_id!r} under {self.state_dir}; list jobs with 'qml jobs list'."
            )
        return path

    def _load(self, job_id: str) -> dict[str, Any]:
        return json.loads(self._job_path(job_id).read_text())

    def target(self) -> DeviceTarget:
        """The fake device."""
        return self._target

    def submit(self, submission: Submission) -> str:
        """Record the job (and its computed result) in the state directory; log the submission."""
        check_submission(submission, self._target)
        outcome = self._step("submit")
        job_id = f"scripted-{uuid.uuid4()}"
        rng = np.random.default_rng(submission.seed)
        record: dict[str, Any] = {"tags": list(submission.tags), "polls": 0, "state": "queued", "kind": submission.kind}
        if submission.kind == "sample":
            record["counts"] = [
                _simulate_counts(b.circuit, b.parameter_values, int(submission.shots or 0), rng)
                for b in submission.batches
            ]
        else:
            record["expectations"] = [
                _exact_expectations(b.circuit, b.parameter_values, submission.observables).tolist()
                for b in submission.batches
            ]
        _write_atomic(self.state_dir / "jobs" / f"{job_id}.json", json.dumps(record))
        with open(self.submissions_log, "a") as log:  # the provider's bill: one line per accepted job
            log.write(f"{job_id} {','.join(submission.tags)}\n")
            log.flush()
            os.fsync(log.fileno())
        if outcome == "lost_reply":
            raise TransientProviderError("scripted: the job was accepted but the reply was lost (connection reset)")
        return job_id

    def status(self, job_id: str) -> JobState:
        """``queued``/``running`` for the first ``polls_until_done`` calls, then ``done`` (or ``failed``)."""
        self._step("status")
        record = self._load(job_id)
        if record["state"] == "cancelled":
            return "cancelled"
        record["polls"] += 1
        state: JobState = (
            "running" if record["polls"] <= self.polls_until_done else ("failed" if self.fail_jobs else "done")
        )
        record["state"] = state
        _write_atomic(self._job_path(job_id), json.dumps(record))
        return state

    def result(self, job_id: str) -> SubmissionResult:
        """The stored result."""
        self._step("result")
        record = self._load(job_id)
        if record["kind"] == "sample":
            return SubmissionResult(counts=record["counts"], metadata={"job_id": job_id})
        return SubmissionResult(
            expectations=[np.array(e, dtype=np.float64) for e in record["expectations"]], metadata={"job_id": job_id}
        )

    def cancel(self, job_id: str) -> None:
        """Mark the job cancelled."""
        record = self._load(job_id)
        record["state"] = "cancelled"
        _write_atomic(self._job_path(job_id), json.dumps(record))

    def find_by_tag(self, tag: str) -> str | None:
        """The job carrying ``tag``, if the service has one."""
        for path in sorted((self.state_dir / "jobs").glob("scripted-*.json")):
            if tag in json.loads(path.read_text())["tags"]:
                return path.stem
        return None


def make_provider(device: str, **options: Any) -> ScriptedProvider:
    """Registry factory: ``scripted:<name>`` with ``state_dir=`` (default ``$QML_HYBRID_SCRIPTED_DIR``)."""
    if "state_dir" not in options:
        options["state_dir"] = os.environ.get("QML_HYBRID_SCRIPTED_DIR", Path.cwd() / ".scripted-provider")
    return ScriptedProvider(device, **options)
