"""``qml jobs``: list, show, fetch, cancel and resume against a scripted fake provider."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

import hardware.cli as jobs_cli
from hardware import registry
from hardware.errors import JobFailedError, JobNotFoundError, TransientProviderError
from hardware.journal import Journal
from hardware.providers.base import DeviceTarget, Provider, SubmissionResult
from hardware.serialize import dump_result, load_result

SECRET = "tok_SECRET1234567890abcdef"
COUNTS = [[{"00": 480, "11": 520}, {"01": 1000}]]


class FakeCloud:
    """The remote side: jobs with scripted status sequences, tags, a call log."""

    def __init__(self) -> None:
        self.states: dict[str, list[str]] = {}
        self.results: dict[str, SubmissionResult] = {}
        self.errors: dict[str, Exception] = {}
        self.tags: dict[str, str] = {}
        self.calls: list[tuple[str, str]] = []
        self.made: list[tuple[str, dict]] = []

    def add(self, job_id: str, *states: str, result: SubmissionResult | None = None) -> None:
        self.states[job_id] = list(states)
        self.results[job_id] = result or SubmissionResult(counts=COUNTS, metadata={"shots": 1000})


class FakeProvider(Provider):
    name = "fake"

    def __init__(self, cloud: FakeCloud, device: str) -> None:
        self.cloud, self.device = cloud, device

    def target(self) -> DeviceTarget:
        return DeviceTarget("fake", self.device, 2)

    def submit(self, submission) -> str:  # not used by the command line
        raise AssertionError("qml jobs never submits")

    def _call(self, what: str, job_id: str) -> None:
        self.cloud.calls.append((what, job_id))
        error = self.cloud.errors.get(job_id)
        if error is not None:
            if isinstance(error, TransientProviderError):
                del self.cloud.errors[job_id]  # fails once
            raise error
        if job_id not in self.cloud.states:
            raise JobNotFoundError(f"job {job_id!r} not found (it may have expired)")

    def status(self, job_id: str) -> str:
        self._call("status", job_id)
        states = self.cloud.states[job_id]
        return states.pop(0) if len(states) > 1 else states[0]

    def result(self, job_id: str) -> SubmissionResult:
        self._call("result", job_id)
        return self.cloud.results[job_id]

    def cancel(self, job_id: str) -> None:
        self._call("cancel", job_id)
        self.cloud.states[job_id] = ["cancelled"]

    def find_by_tag(self, tag: str) -> str | None:
        self.cloud.calls.append(("find_by_tag", tag))
        return self.cloud.tags.get(tag)


@pytest.fixture
def cloud(monkeypatch) -> FakeCloud:
    cloud = FakeCloud()

    def factory(device: str, **options) -> Provider:
        cloud.made.append((device, options))
        return FakeProvider(cloud, device)

    monkeypatch.setitem(registry.PROVIDERS, "fake", factory)
    monkeypatch.setattr(jobs_cli, "_sleep", lambda seconds: None)
    return cloud


@pytest.fixture
def path(tmp_path, monkeypatch) -> Path:
    monkeypatch.delenv("QML_HYBRID_JOURNAL", raising=False)
    return tmp_path / "journal.sqlite"


def qml_jobs(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="qml")
    commands = parser.add_subparsers(dest="command")
    jobs_cli.add_commands(commands, {})
    args = parser.parse_args(["jobs", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = jobs_cli.run(args, out, err)
    return code, out.getvalue(), err.getvalue()


def _job(journal: Journal, key: str, *, remote: str | None = None, device: str = "dev", shots: int = 1000):
    summary = {"kind": "sample", "circuits": 1, "bindings": 2, "shots": shots, "tags": [key]}
    journal.record(key, provider="fake", device=device, payload=b"x" * 17, summary=summary)
    if remote is not None:
        journal.set_submitted(key, remote)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- list / show -------------------------------------------------------------------------------


def test_list_without_a_journal_creates_nothing(path):
    code, out, err = qml_jobs("list", "--journal", str(path))
    assert (code, err) == (0, "")
    assert out == f"no jobs: there is no journal at {path} yet\n"
    assert not path.exists()
    assert qml_jobs("list", "--json", "--journal", str(path))[:2] == (0, "[]\n")
    path.write_bytes(b"")  # an empty file is no journal either
    assert qml_jobs("list", "--journal", str(path))[:2] == (0, f"no jobs: there is no journal at {path} yet\n")


def test_list_table_and_filters(path, monkeypatch):
    with Journal(path) as j:
        _job(j, "key-a", remote="remote-a")
        _job(j, "key-b", device="other", shots=50)
        j.store_result("key-a", b"{}")
    code, out, err = qml_jobs("list", "--journal", str(path))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "STATE", "BACKEND", "REMOTE", "ID", "CREATED", "WORK"]
    assert lines[1].split()[:4] == ["1", "done", "fake:dev", "remote-a"]
    assert lines[1].endswith("sample, 1 circ, 2 bind, 1000 shots")
    assert lines[2].split()[:4] == ["2", "recorded", "fake:other", "-"]
    assert lines[2].endswith("50 shots")
    assert len(lines) == 3

    done_only = qml_jobs("list", "--status", "done", "--journal", str(path))[1]
    assert [line.split()[0] for line in done_only.splitlines()] == ["ID", "1"]
    assert qml_jobs("list", "--backend", "fake:other", "--journal", str(path))[1].splitlines()[1].startswith("2 ")
    assert len(qml_jobs("list", "--backend", "fake", "--journal", str(path))[1].splitlines()) == 3
    assert qml_jobs("list", "--backend", "ibm", "--journal", str(path))[1].startswith("no jobs matching the filters")
    monkeypatch.setenv("QML_HYBRID_JOURNAL", str(path))  # the environment variable instead of --journal
    code, out, _ = qml_jobs("list", "--json")
    rows = json.loads(out)
    assert code == 0 and [r["key"] for r in rows] == ["key-a", "key-b"]
    assert rows[0]["payload_bytes"] == 17 and rows[0]["result_bytes"] == 2 and "payload" not in rows[0]


def test_list_rejects_an_unknown_status(path):
    with pytest.raises(SystemExit):
        qml_jobs("list", "--status", "busy", "--journal", str(path))


def test_show_prints_every_field_but_the_bytes(path):
    with Journal(path) as j:
        _job(j, "key-a", remote="remote-a")
    code, out, err = qml_jobs("show", "remote-a", "--journal", str(path))
    assert (code, err) == (0, "")
    assert "id:          1\n" in out and "key:         key-a\n" in out and "remote_id:   remote-a\n" in out
    assert "state:       submitted\n" in out and "payload:     17 bytes\n" in out and "result:      -\n" in out
    assert "xxxxxxxxxxxxxxxxx" not in out
    summary = json.loads(out[out.index("summary:\n") + len("summary:\n") :])
    assert summary == {"bindings": 2, "circuits": 1, "kind": "sample", "shots": 1000, "tags": ["key-a"]}
    code, out, _ = qml_jobs("show", "1", "--json", "--journal", str(path))
    assert code == 0 and json.loads(out)["remote_id"] == "remote-a"


@pytest.mark.parametrize(
    ("job_id", "message"),
    [
        ("99", r"qml jobs show: error: no job '99' in the journal .* \(looked up as local id, key and remote id\)"),
        ("0", r"qml jobs show: error: malformed job id '0': expected a local id"),
        ("expired-123", r"no job 'expired-123'.*`qml jobs list` shows the recorded jobs"),
    ],
)
def test_show_unknown_or_malformed_ids(path, job_id, message):
    with Journal(path) as j:
        _job(j, "key-a")
    code, out, err = qml_jobs("show", job_id, "--journal", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1
    assert __import__("re").search(message, err)


@pytest.mark.parametrize("content", [b"just text\n", b"SQLite format 3\x00" + b"\x07" * 4000])
def test_a_journal_that_is_not_ours_is_reported_and_left_alone(path, content):
    path.write_bytes(content)
    before = _digest(path)
    for argv in (["list"], ["show", "1"], ["resume"]):
        code, out, err = qml_jobs(*argv, "--journal", str(path))
        assert code == 2 and out == ""
        assert err.startswith(f"qml jobs {argv[0]}: error: ") and err.count("\n") == 1
        assert "left untouched" in err
    assert _digest(path) == before


def test_no_subcommand(path):
    code, out, err = qml_jobs()
    assert code == 2 and out == "" and "give a subcommand: list, show, fetch, cancel or resume" in err


def test_journal_option_before_the_subcommand(path):
    with Journal(path) as j:
        _job(j, "key-a")
    code, out, _ = qml_jobs("--journal", str(path), "show", "1")
    assert code == 0 and "key:         key-a" in out


# -- fetch ---------------------------------------------------------------------------------------


def test_fetch_polls_then_stores_the_result(path, cloud):
    cloud.add("remote-a", "queued", "running", "done")
    with Journal(path) as j:
        _job(j, "key-a", remote="remote-a")
    code, out, err = qml_jobs("fetch", "1", "--journal", str(path))
    assert (code, err) == (1, "") and out == "job 1 is submitted on fake:dev (remote id remote-a); " + (
        "fetch again later, or wait with --wait S\n"
    )
    code, out, _ = qml_jobs("fetch", "key-a", "--journal", str(path))
    assert code == 1 and "job 1 is running" in out
    with Journal(path) as j:
        assert j.get("key-a").state == "running"
    code, out, err = qml_jobs("fetch", "remote-a", "--journal", str(path))
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "job 1: done on fake:dev (remote id remote-a)",
        "counts (bitstrings in Qiskit order: classical bit 0 rightmost), 1 circuit(s)",
        "circuit 0: 2 binding(s)",
        "  binding 0 (1000 shots): {11: 520, 00: 480}",
        "  binding 1 (1000 shots): {01: 1000}",
        'metadata: {"shots": 1000}',
    ]
    with Journal(path) as j:
        record = j.get("key-a")
    assert record.state == "done" and load_result(record.result).counts == COUNTS
    assert cloud.made == [("dev", {})] * 3
    calls = len(cloud.calls)
    code, out2, _ = qml_jobs("fetch", "1", "--journal", str(path))
    assert code == 0 and out2 == out and len(cloud.calls) == calls  # served from the journal
    code, out, _ = qml_jobs("fetch", "1", "--json", "--journal", str(path))
    obj = json.loads(out)
    assert code == 0 and obj["counts"] == COUNTS and obj["remote_id"] == "remote-a" and obj["key"] == "key-a"


def test_fetch_waits_with_backoff(path, cloud, monkeypatch):
    clock = {"now": 0.0}
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        clock["now"] += seconds

    monkeypatch.setattr(jobs_cli, "_sleep", sleep)
    monkeypatch.setattr(jobs_cli, "_clock", lambda: clock["now"])
    cloud.add("remote-a", "queued", "running", "running", "done")
    cloud.add("remote-b", "queued")
    with Journal(path) as j:
        _job(j, "key-a", remote="remote-a")
        _job(j, "key-b", remote="remote-b")
    code, out, _ = qml_jobs("fetch", "1", "--wait", "60", "--journal", str(path))
    assert code == 0 and out.startswith("job 1: done") and sleeps == [0.5, 1.0, 2.0]
    sleeps.clear()
    code, out, _ = qml_jobs("fetch", "2", "--wait", "40", "--journal", str(path))
    assert code == 1 and "job 2 is submitted" in out
    assert sleeps == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 4.5]  # capped at 10 s, ends at the deadline


def test_fetch_expectations(path, cloud):
    import numpy as np

    values = np.arange(14, dtype=np.float64).reshape(7, 2) / 8
    cloud.add("remote-e", "done", result=SubmissionResult(expectations=[values]))
    with Journal(path) as j:
        _job(j, "key-e", remote="remote-e")
    code, out, _ = qml_jobs("fetch", "1", "--journal", str(path))
    assert code == 0
    assert "circuit 0: shape (7, 2) (bindings, observables)" in out
    assert "  binding 1: [0.25 , 0.375]" in out and "  ... 2 more binding(s) (--json prints all)" in out


def test_fetch_failed_unsent_and_expired_jobs(path, cloud):
    cloud.add("remote-f", "failed")
    with Journal(path) as j:
        _job(j, "key-f", remote="remote-f")
        _job(j, "key-u")
        _job(j, "key-x", remote="remote-expired")
    code, out, _ = qml_jobs("fetch", "1", "--journal", str(path))
    assert code == 1 and out == "job 1 failed: fake:dev reports the job failed\n"
    code, out, _ = qml_jobs("fetch", "2", "--journal", str(path))
    assert code == 1 and "job 2 has no provider job id yet (state recorded); 'qml jobs resume'" in out
    code, out, err = qml_jobs("fetch", "3", "--journal", str(path))
    assert code == 2 and out == ""
    assert err.startswith("qml jobs fetch: error: fake:dev does not know job 'remote-expired' (expired, deleted")
    with Journal(path) as j:
        assert [r.state for r in j.list()] == ["failed", "recorded", "submitted"]


def test_fetch_retries_transient_errors_and_records_job_failures(path, cloud):
    cloud.add("remote-t", "done")
    cloud.errors["remote-t"] = TransientProviderError("503 Service Unavailable")
    cloud.add("remote-j", "done")
    with Journal(path) as j:
        _job(j, "key-t", remote="remote-t")
        _job(j, "key-j", remote="remote-j")
    code, out, _ = qml_jobs("fetch", "1", "--journal", str(path))
    assert code == 0 and cloud.calls[:3] == [("status", "remote-t")] * 2 + [("result", "remote-t")]

    def failing_result(self, job_id):
        raise JobFailedError("the job exceeded the device's time limit")

    FakeProvider.result, original = failing_result, FakeProvider.result
    try:
        code, out, _ = qml_jobs("fetch", "2", "--journal", str(path))
    finally:
        FakeProvider.result = original
    assert code == 1 and out == "job 2 failed: the job exceeded the device's time limit\n"


def test_fetch_without_credentials_or_provider(path, cloud, monkeypatch):
    from hardware.errors import CredentialsError

    def no_credentials(device, **options):
        raise CredentialsError("no IBM Quantum token: set QISKIT_IBM_TOKEN or save an account")

    monkeypatch.setitem(registry.PROVIDERS, "locked", no_credentials)
    with Journal(path) as j:
        j.record("k1", provider="locked", device="dev", payload=b"", summary={})
        j.set_submitted("k1", "r1")
        j.record("k2", provider="gone", device="dev", payload=b"", summary={})
        j.set_submitted("k2", "r2")
    code, _, err = qml_jobs("fetch", "1", "--journal", str(path))
    assert code == 2 and err == "qml jobs fetch: error: no IBM Quantum token: set QISKIT_IBM_TOKEN or save an account\n"
    code, _, err = qml_jobs("fetch", "2", "--journal", str(path))
    assert code == 2 and err.startswith("qml jobs fetch: error: unknown provider 'gone'; known providers: ")


# -- cancel --------------------------------------------------------------------------------------


def test_cancel(path, cloud):
    cloud.add("remote-a", "running")
    cloud.add("remote-d", "done")
    with Journal(path) as j:
        _job(j, "key-a", remote="remote-a")
        _job(j, "key-n")
        _job(j, "key-d", remote="remote-d")
    code, out, _ = qml_jobs("cancel", "1", "--journal", str(path))
    assert code == 0 and out == "job 1: cancelled at fake:dev (remote id remote-a)\n"
    assert ("cancel", "remote-a") in cloud.calls
    code, out, _ = qml_jobs("cancel", "2", "--journal", str(path))
    assert code == 0 and out == "job 2: cancelled (it was never sent, and will not be)\n"
    assert ("find_by_tag", "key-n") in cloud.calls
    code, out, _ = qml_jobs("cancel", "3", "--journal", str(path))
    assert code == 1 and out == "job 3 had already finished at fake:dev: done; nothing cancelled\n"
    assert ("cancel", "remote-d") not in cloud.calls
    code, out, err = qml_jobs("cancel", "1", "--journal", str(path))
    assert code == 2 and err == "qml jobs cancel: error: job 1 is already cancelled; there is nothing to cancel\n"
    with Journal(path) as j:
        states = [(r.state, r.error) for r in j.list()]
    assert states == [
        ("cancelled", "cancelled with 'qml jobs cancel'"),
        ("cancelled", "cancelled with 'qml jobs cancel' before it was sent"),
        ("done", None),
    ]


def test_cancel_refuses_a_job_being_sent(path, cloud):
    with Journal(path) as j:
        _job(j, "key-s")
        assert j.claim("key-s")  # this (live) process is sending it
    code, _, err = qml_jobs("cancel", "1", "--journal", str(path))
    assert code == 2 and f"is being sent right now by {socket.gethostname()}:{os.getpid()}" in err


# -- resume --------------------------------------------------------------------------------------


def test_resume_reattaches_to_every_unfinished_job(path, cloud):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    cloud.add("remote-1", "done")
    cloud.add("remote-2", "running")
    cloud.add("remote-3", "done")
    cloud.tags["key-3"] = "remote-3"
    with Journal(path) as j:
        _job(j, "key-1", remote="remote-1")  # finished meanwhile
        _job(j, "key-2", remote="remote-2")  # still running
        _job(j, "key-3")  # crashed between sending and recording the id
        assert j.claim("key-3", f"{socket.gethostname()}:{int(dead.stdout)}")
        _job(j, "key-4")  # never sent
        _job(j, "key-5")  # being sent by a live process
        assert j.claim("key-5")
        _job(j, "key-6", remote="remote-expired")
        _job(j, "key-7", remote="remote-7")
        j.store_result("key-7", dump_result(SubmissionResult(counts=COUNTS)))  # finished: not polled
    code, out, err = qml_jobs("resume", "--journal", str(path))
    assert err == "" and code == 1  # one job could not be polled
    size = len(dump_result(cloud.results["remote-1"]))
    assert out.splitlines() == [
        f"job 1 (fake:dev): done, result stored ({size} bytes)",
        "job 2 (fake:dev): running (remote id remote-2)",
        "job 3 (fake:dev): found by tag: remote id remote-3",
        f"job 3 (fake:dev): done, result stored ({size} bytes)",
        "job 4 (fake:dev): never sent (no job tagged with its key at the provider); "
        "run the program that recorded it again to send it",
        f"job 5 (fake:dev): being sent by {socket.gethostname()}:{os.getpid()}; skipped",
        "job 6 (fake:dev): error: fake:dev does not know job 'remote-expired' (expired, deleted, or another "
        "account?): job 'remote-expired' not found (it may have expired)",
    ]
    assert not any(job == "remote-7" for _, job in cloud.calls)
    assert len(cloud.made) == 1  # one provider per (provider, device)
    with Journal(path) as j:
        by_key = {r.key: r for r in j.list()}
    assert [by_key[f"key-{i}"].state for i in range(1, 8)] == [
        "done",
        "running",
        "done",
        "recorded",
        "sending",
        "submitted",
        "done",
    ]
    assert by_key["key-3"].remote_id == "remote-3"
    assert load_result(by_key["key-1"].result).counts == COUNTS
    code, out, _ = qml_jobs("resume", "--journal", str(path))
    assert code == 1 and "job 2 (fake:dev): running" in out and "job 1" not in out


def test_resume_with_nothing_to_do(path, cloud):
    Journal(path).close()
    assert qml_jobs("resume", "--journal", str(path)) == (0, f"no unfinished jobs in {path}\n", "")


# -- secrets -------------------------------------------------------------------------------------


def test_no_token_in_output_or_journal(path, cloud, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    cloud.add("remote-a", "done")
    cloud.add("remote-b", "running")
    cloud.errors["remote-b"] = JobNotFoundError(f"401 for token {SECRET} at https://x/jobs?token={SECRET}")

    def leaky_result(self, job_id):
        raise JobFailedError(f"auth failed: Bearer {SECRET}; QISKIT_IBM_TOKEN={SECRET}")

    monkeypatch.setattr(FakeProvider, "result", leaky_result)
    with Journal(path) as j:
        _job(j, "key-a", remote="remote-a")
        _job(j, "key-b", remote="remote-b")
    outputs = []
    for argv in (["fetch", "1"], ["fetch", "2"], ["show", "1"], ["list"], ["resume"], ["list", "--json"]):
        outputs.append(qml_jobs(*argv, "--journal", str(path)))
    text = "".join(out + err for _, out, err in outputs)
    assert SECRET not in text
    assert "auth failed: Bearer ***; QISKIT_IBM_TOKEN=***" in text and "401 for token ***" in text
    blob = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))
    assert SECRET.encode() not in blob


@pytest.mark.parametrize(
    "token",
    [
        "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdEf",  # shaped like an IBM Cloud API key (44 characters)
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",  # shaped like an AWS secret access key
        "f" * 64 + "0" * 64,  # shaped like a legacy IBM Quantum token (128 hex digits)
        "AKIAIOSFODNN7EXAMPLE",  # an AWS access key id
        "token=hunter2hunter2",
    ],
)
def test_an_unknown_id_that_looks_like_a_credential_is_never_echoed(path, cloud, token):
    with Journal(path) as j:
        _job(j, "key-a", remote="remote-a")
    for command in ("show", "fetch", "cancel"):
        code, out, err = qml_jobs(command, token, "--journal", str(path))
        assert code == 2 and out == ""
        assert f"qml jobs {command}: error: no job matches the ID given ({len(token)} characters, not shown" in err
        assert token not in err and token[:12] not in err and "`qml jobs list` shows the recorded jobs" in err


@pytest.mark.parametrize(
    "job_id",
    ["d1t2f3g4h5j6k7l8m9n0", "30d844d3-7a37-4174-bd50-c9df4c5896ea", "qmlh-" + "0123456789abcdef" * 4],
)
def test_an_unknown_ordinary_id_is_echoed(path, job_id):
    """IBM job ids, uuids and content keys are not credential-shaped: the error names them."""
    Journal(path).close()
    code, _, err = qml_jobs("show", job_id, "--journal", str(path))
    assert code == 2 and f"no job '{job_id[:40]}" in err and "looks like a credential" not in err


def test_looks_like_secret_follows_scrub_and_key_shapes(monkeypatch):
    from hardware.credentials import looks_like_secret

    monkeypatch.setenv("QISKIT_IBM_TOKEN", "plainlowercasesecretvalue")
    assert looks_like_secret("plainlowercasesecretvalue")  # a secret variable's value, whatever its shape
    assert looks_like_secret("Bearer abcdefghijkl")
    assert looks_like_secret('["arn:x", "Zz9' + "Aa1" * 7 + '"]')  # a key-shaped run inside other text
    for ordinary in ("3", "expired-123", "remote-a", "d1t2f3g4h5j6k7l8m9n0", '["arn:aws:braket:us-east-1:1:q/t0"]'):
        assert not looks_like_secret(ordinary)


def test_fetch_bitstrings_are_in_the_order_it_states(path, tmp_path, monkeypatch):
    """A real ProviderBackend job (X on qubit 0 of 3, scripted provider) reads 001: classical bit 0 rightmost."""
    from circuits.backend import Probabilities
    from circuits.ir.circuit import Circuit
    from hardware.backend import ProviderBackend

    monkeypatch.setenv("QML_HYBRID_SCRIPTED_DIR", str(tmp_path / "cloud"))
    with Journal(path) as journal:
        backend = ProviderBackend("scripted:dev", shots=20, journal=journal, log=lambda line: None, poll_interval=0)
        probabilities = backend.run(Circuit(3).x(0), measurement=Probabilities())
    assert probabilities[0, 0b100] == 1.0  # qubit 0 is our most significant bit
    code, out, _ = qml_jobs("fetch", "1", "--journal", str(path))
    assert code == 0
    assert "counts (bitstrings in Qiskit order: classical bit 0 rightmost), 1 circuit(s)" in out
    assert "  binding 0 (20 shots): {001: 20}" in out
    code, out, _ = qml_jobs("fetch", "1", "--json", "--journal", str(path))
    result = json.loads(out)
    assert code == 0 and result["counts"] == [[{"001": 20}]] and result["bit_order"] == jobs_cli.BIT_ORDER


# -- packaging -----------------------------------------------------------------------------------


def test_importing_the_command_is_light():
    code = (
        "import sys, hardware.cli; "
        "print(sorted(m for m in ('numpy', 'sqlite3', 'qiskit', 'qml', 'torch') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
