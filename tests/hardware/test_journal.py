"""The job journal: file identity, untouched foreign files, claims across processes, transitions, secrets, retries."""

from __future__ import annotations

import hashlib
import json
import os
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from hardware.errors import JobNotFoundError, JournalError, TransientProviderError
from hardware.journal import (
    APPLICATION_ID,
    ENV_VAR,
    FINAL_STATES,
    JOB_RECORD_STATES,
    SCHEMA_VERSION,
    Journal,
    current_owner,
    default_journal_path,
    scrub,
)
from hardware.retry import retry_transient

ROOT = Path(__file__).resolve().parents[2]
SECRET = "tok_SECRET1234567890abcdef"


@pytest.fixture
def path(tmp_path) -> Path:
    return tmp_path / "journal.sqlite"


@pytest.fixture
def journal(path):
    with Journal(path) as j:
        yield j


def _add(journal: Journal, key: str = "k1", **summary) -> None:
    journal.record(key, provider="fake", device="dev", payload=b"payload-" + key.encode(), summary=summary)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    return int(done.stdout)


# -- the file ----------------------------------------------------------------------------------


def test_new_journal_identifies_itself(path):
    Journal(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        columns = [row[1] for row in conn.execute("PRAGMA table_info(jobs)")]
    finally:
        conn.close()
    assert columns == [
        "id",
        "key",
        "provider",
        "device",
        "state",
        "remote_id",
        "created_at",
        "updated_at",
        "attempts",
        "error",
        "summary",
        "owner",
        "payload",
        "result",
    ]
    assert path.read_bytes()[68:72] == APPLICATION_ID.to_bytes(4, "big")  # the header field itself


def test_reopen_keeps_rows_and_creates_folders(tmp_path):
    path = tmp_path / "a" / "b" / "journal.sqlite"
    with Journal(path) as j:
        _add(j, "k1", kind="sample")
    with Journal(path) as j:
        record = j.get("k1")
    assert record is not None and record.summary == {"kind": "sample"} and record.payload == b"payload-k1"
    assert repr(j) == f"Journal({str(path)!r})"


def test_text_file_is_rejected_untouched(path):
    path.write_text("not a journal\n" * 50)
    before = _digest(path)
    with pytest.raises(JournalError, match=r"is not a qml-hybrid journal \(not an SQLite database\).*left untouched"):
        Journal(path)
    assert _digest(path) == before
    assert _siblings(path) == [path.name]


def test_foreign_sqlite_database_is_rejected_untouched(path):
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(JournalError, match=r"not a qml-hybrid journal \(an SQLite database with application_id 0x0"):
        Journal(path)
    assert _digest(path) == before
    assert _siblings(path) == [path.name]  # no -wal / -shm left behind


def test_foreign_wal_database_is_rejected_untouched(path):
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA application_id = 1234")
    conn.execute("CREATE TABLE notes (text TEXT)")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(JournalError, match=r"application_id 0x4d2, expected 0x514d4c4a"):
        Journal(path)
    assert _digest(path) == before
    assert _siblings(path) == [path.name]


def test_other_schema_version_is_not_migrated(path):
    Journal(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    before = _digest(path)
    with pytest.raises(JournalError, match=r"schema version 2, this qml-hybrid reads version 1 .*newer.*migrated"):
        Journal(path)
    assert _digest(path) == before


@pytest.mark.parametrize("damage", ["schema page", "truncated"])
def test_corrupted_journal_is_rejected_untouched(path, damage):
    with Journal(path) as j:
        for i in range(20):
            _add(j, f"k{i}")
            j.set_state(f"k{i}", "failed", error="x" * 500)
    data = bytearray(path.read_bytes())
    assert len(data) > 8192
    if damage == "schema page":
        data[100:4096] = bytes((i * 37 + 11) % 256 for i in range(3996))
    else:
        data = data[: len(data) // 2 + 123]
    path.write_bytes(bytes(data))
    before = _digest(path)
    with pytest.raises(JournalError, match=r"is corrupted.*left untouched"):
        Journal(path)
    assert _digest(path) == before


def test_directory_and_missing_file(tmp_path):
    with pytest.raises(JournalError, match="is a directory"):
        Journal(tmp_path)
    with pytest.raises(JournalError, match=r"no journal at .*missing\.sqlite.*--journal PATH"):
        Journal(tmp_path / "missing.sqlite", create=False)
    assert not (tmp_path / "missing.sqlite").exists()


def test_empty_file_becomes_a_journal(path):
    path.write_bytes(b"")
    with Journal(path) as j:
        _add(j)
        assert j.get("k1") is not None


def test_default_path_honours_environment(tmp_path, monkeypatch):
    env = {"HOME": "/home/u"}
    assert default_journal_path(env, "linux") == Path("/home/u/.local/share/qml-hybrid/journal.sqlite")
    assert default_journal_path({**env, "XDG_DATA_HOME": "/data"}, "linux") == Path("/data/qml-hybrid/journal.sqlite")
    assert default_journal_path({**env, "XDG_DATA_HOME": "relative"}, "linux").parent.parent == Path(
        "/home/u/.local/share"
    )
    assert default_journal_path(env, "darwin") == Path("/home/u/Library/Application Support/qml-hybrid/journal.sqlite")
    assert default_journal_path({**env, "LOCALAPPDATA": "C:/Users/u/AppData/Local"}, "win32") == Path(
        "C:/Users/u/AppData/Local/qml-hybrid/journal.sqlite"
    )
    explicit = {**env, "XDG_DATA_HOME": "/data", ENV_VAR: str(tmp_path / "x.sqlite")}
    assert default_journal_path(explicit, "linux") == tmp_path / "x.sqlite"

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(ENV_VAR, raising=False)
    if sys.platform.startswith("linux"):
        with Journal() as j:
            assert j.path == tmp_path / "xdg" / "qml-hybrid" / "journal.sqlite"
        assert j.path.is_file()
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env" / "j.sqlite"))
    with Journal() as j:
        assert j.path == tmp_path / "env" / "j.sqlite"
    assert j.path.is_file()


# -- rows and states -----------------------------------------------------------------------------


def test_record_twice_returns_the_same_row(journal):
    first, created = journal.record("k1", provider="fake", device="dev", payload=b"abc", summary={"shots": 100})
    second, again = journal.record("k1", provider="fake", device="dev", payload=b"other", summary={})
    assert created and not again
    assert second == first
    assert (first.id, first.state, first.payload, first.attempts, first.owner) == (1, "recorded", b"abc", 0, None)
    assert len(journal.list()) == 1
    assert "abc" not in repr(first) and "payload=<3 bytes>" in repr(first)


def test_record_checks_its_arguments(journal):
    with pytest.raises(TypeError, match="payload must be bytes, got str"):
        journal.record("k", provider="fake", device="dev", payload="text", summary={})
    with pytest.raises(ValueError, match="summary must be JSON-serialisable"):
        journal.record("k", provider="fake", device="dev", payload=b"", summary={"x": object()})
    with pytest.raises(ValueError, match="key must be a non-empty string"):
        journal.record(" ", provider="fake", device="dev", payload=b"", summary={})
    assert journal.list() == []


def test_claim_is_exclusive_while_the_owner_lives(journal):
    _add(journal)
    me = current_owner()
    assert journal.claim("k1")
    assert journal.get("k1").state == "sending" and journal.get("k1").owner == me
    assert journal.claim("k1", me)  # already ours
    assert not journal.claim("k1", f"{socket.gethostname()}:{os.getppid()}")  # another live process
    assert not journal.claim("k1", "elsewhere:1")
    assert not journal.sending_abandoned(journal.get("k1"))
    journal.set_submitted("k1", "remote-1")
    assert not journal.claim("k1", "elsewhere:1")  # only recorded/sending rows are claimable
    with pytest.raises(JobNotFoundError, match="no job with key 'nope'"):
        journal.claim("nope")


def test_claim_takes_over_from_a_dead_owner(journal):
    _add(journal)
    dead = f"{socket.gethostname()}:{_dead_pid()}"
    assert journal.claim("k1", dead)
    assert journal.sending_abandoned(journal.get("k1"))
    assert journal.claim("k1", "here:5")
    assert journal.get("k1").owner == "here:5"


def test_claim_from_another_host_waits_for_the_stale_timeout(path):
    with Journal(path) as j:
        _add(j)
        assert j.claim("k1", "other-host:42")
        assert not j.claim("k1", "me:1")
    with Journal(path, stale_after_s=0.0) as j:
        assert j.sending_abandoned(j.get("k1"))
        assert j.claim("k1", "me:1")
        assert j.get("k1").owner == "me:1"


def test_transitions(journal):
    _add(journal)
    with pytest.raises(JournalError, match=r"'recorded' .*; it cannot become 'running'"):
        journal.set_state("k1", "running")
    with pytest.raises(JournalError, match=r"through Journal.claim\(\)"):
        journal.set_state("k1", "sending")
    with pytest.raises(ValueError, match="unknown job state 'finished'; expected one of: recorded, sending"):
        journal.set_state("k1", "finished")
    assert journal.claim("k1", "h:1")
    released = journal.set_state("k1", "recorded")  # the send did not happen: release the claim
    assert (released.state, released.owner) == ("recorded", None)
    assert journal.claim("k1", "h:2")
    record = journal.set_submitted("k1", "remote-1")
    assert (record.state, record.remote_id, record.owner) == ("submitted", "remote-1", "h:2")
    assert journal.set_submitted("k1", "remote-1") == record  # idempotent
    with pytest.raises(JournalError, match="already has remote id 'remote-1'; it cannot also be 'remote-2'"):
        journal.set_submitted("k1", "remote-2")
    assert journal.set_state("k1", "running").state == "running"
    assert journal.set_state("k1", "running").state == "running"
    done = journal.store_result("k1", b"result-1")
    assert (done.state, done.result) == ("done", b"result-1")
    assert journal.store_result("k1", b"result-2").result == b"result-1"  # the first result stays
    final = r"job 1 \(fake:dev\) is 'done' \(a final state\); it cannot become 'running'"
    with pytest.raises(JournalError, match=final):
        journal.set_state("k1", "running")
    with pytest.raises(JournalError, match="a final state"):
        journal.set_state("k1", "failed", error="late")
    assert journal.set_state("k1", "done").result == b"result-1"

    _add(journal, "k2")
    journal.set_state("k2", "cancelled", error="by hand")
    with pytest.raises(JournalError, match=r"'cancelled' .*cannot become 'done'"):
        journal.store_result("k2", b"r")
    with pytest.raises(JournalError, match=r"'cancelled'.*cannot become 'submitted'"):
        journal.set_submitted("k2", "remote-9")
    assert FINAL_STATES == {"done", "failed", "cancelled"} and set(FINAL_STATES) < set(JOB_RECORD_STATES)


def test_attempts_and_timestamps(journal):
    _add(journal)
    created = journal.get("k1")
    assert journal.increment_attempts("k1") == 1
    assert journal.increment_attempts("k1") == 2
    after = journal.get("k1")
    assert after.attempts == 2 and after.created_at == created.created_at and after.updated_at >= created.updated_at


def test_by_id_finds_local_id_key_and_remote_id(journal):
    for key in ("k1", "k2", "k3"):
        _add(journal, key)
    journal.set_submitted("k2", "ibm-job-abc123")
    assert journal.by_id(2).key == "k2"
    assert journal.by_id(" 2 ").key == "k2"
    assert journal.by_id("k3").id == 3
    assert journal.by_id("ibm-job-abc123").key == "k2"


@pytest.mark.parametrize("bad", ["", "   ", "0", "-3", "two words", "tab\there", "nul\x00", "x" * 600])
def test_by_id_rejects_malformed_ids(journal, bad):
    with pytest.raises(JobNotFoundError, match=r"malformed job id .*expected a local id .*`qml jobs list`"):
        journal.by_id(bad)


def test_by_id_unknown_ids_and_wrong_types(journal, path):
    _add(journal)
    with pytest.raises(JobNotFoundError, match=rf"no job '99' in the journal {path} .*`qml jobs list`"):
        journal.by_id(99)
    with pytest.raises(JobNotFoundError, match=r"no job 'expired-job-id' .*local id, key and remote id"):
        journal.by_id("expired-job-id")
    with pytest.raises(TypeError, match="a job id is an int or a str, got float"):
        journal.by_id(1.0)
    with pytest.raises(TypeError, match="got bool"):
        journal.by_id(True)
    assert str(JobNotFoundError("plain")) == "plain"


def test_list_filters_and_unfinished(journal):
    journal.record("a", provider="ibm", device="ibm_torino", payload=b"", summary={})
    journal.record("b", provider="ibm", device="ibm_fez", payload=b"", summary={})
    journal.record("c", provider="braket", device="sv1", payload=b"", summary={})
    journal.set_state("b", "failed", error="boom")
    assert [r.key for r in journal.list()] == ["a", "b", "c"]
    assert [r.key for r in journal.list(provider="ibm")] == ["a", "b"]
    assert [r.key for r in journal.list(provider="ibm", device="ibm_fez")] == ["b"]
    assert [r.key for r in journal.list(status="recorded")] == ["a", "c"]
    assert [r.key for r in journal.unfinished()] == ["a", "c"]
    with pytest.raises(ValueError, match="unknown job state 'busy'"):
        journal.list(status="busy")


# -- many processes ------------------------------------------------------------------------------

_WORKER = textwrap.dedent(
    """
    import json, os, random, sys, time
    from pathlib import Path
    from hardware.journal import Journal, current_owner

    path, go, seed = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    journal = Journal(path)
    keys = [f"key-{i}" for i in range(10)]
    random.Random(seed).shuffle(keys)
    while not go.exists():
        time.sleep(0.001)
    claimed, created = [], 0
    for _ in range(3):  # a claim stays taken while its owner lives, however often it is asked again
        for key in keys:
            _, new = journal.record(key, provider="fake", device="dev", payload=key.encode() * 100, summary={})
            created += new
            if journal.claim(key) and key not in claimed:
                claimed.append(key)
    print(json.dumps({"claimed": claimed, "created": created, "owner": current_owner()}))
    sys.stdout.flush()
    sys.stdin.read()  # stay alive until the parent has looked at the journal
    """
)


def test_many_processes_claim_each_key_exactly_once(tmp_path):
    path, go = tmp_path / "shared.sqlite", tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, str(path), str(go), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for seed in range(4)
    ]
    try:
        go.touch()
        reports = [json.loads(worker.stdout.readline()) for worker in workers]
        claimed = [key for report in reports for key in report["claimed"]]
        assert sorted(claimed) == sorted(f"key-{i}" for i in range(10))
        assert sum(report["created"] for report in reports) == 10
        owner_of = {key: report["owner"] for report in reports for key in report["claimed"]}
        with Journal(path) as j:
            rows = j.list()
            assert len(rows) == 10 and {r.state for r in rows} == {"sending"}
            assert {r.key: r.owner for r in rows} == owner_of
            assert not any(j.claim(r.key, "late-comer:1") for r in rows)
    finally:
        for worker in workers:
            worker.communicate(input="", timeout=60)
    assert all(worker.returncode == 0 for worker in workers)


# -- secrets -------------------------------------------------------------------------------------


def test_scrub():
    env = {"QISKIT_IBM_TOKEN": SECRET, "AWS_SECRET_ACCESS_KEY": "abcd/EFGH+ijkl", "MY_KEY": "short", "HOME": "/h"}
    assert scrub(f"auth failed for {SECRET}.", env) == "auth failed for ***."
    assert scrub("signed with abcd/EFGH+ijkl", env) == "signed with ***"
    assert scrub("short and /h stay", env) == "short and /h stay"
    assert scrub("GET /jobs?token=abc123&limit=5", {}) == "GET /jobs?token=***&limit=5"
    assert scrub('{"api_key": "zzz-111", "key": "3fa2"}', {}) == '{"api_key": "***", "key": "3fa2"}'
    assert scrub("Authorization: Bearer eyJhbGciOi.xyz", {}) == "Authorization: Bearer ***"
    assert scrub("authorization: basic dXNlcjpwYXNz", {}) == "authorization: basic ***"
    assert scrub("password=hunter2 user=me", {}) == "password=*** user=me"
    assert scrub("key id AKIAIOSFODNN7EXAMPLE denied", {}) == "key id *** denied"
    assert scrub("tokens: 5, key: 3fa2, token expired", {}) == "tokens: 5, key: 3fa2, token expired"
    assert scrub("no token: set QISKIT_IBM_TOKEN", {}) == "no token: set QISKIT_IBM_TOKEN"
    assert scrub("token: a1b2c3d4, secret: AbCdEfGhIjKlMnOpQrStUv", {}) == "token: ***, secret: ***"


def test_secrets_never_reach_the_journal_file(path, monkeypatch):
    monkeypatch.setenv("QISKIT_IBM_TOKEN", SECRET)
    with Journal(path) as j:
        j.record("k1", provider="fake", device="dev", payload=b"p", summary={"note": "token=planted-secret-99"})
        j.set_state("k1", "failed", error=f"401 Unauthorized: token {SECRET} rejected; retry with token=OTHER_SECRET42")
        record = j.get("k1")
        assert SECRET not in record.error and "OTHER_SECRET42" not in record.error
        assert record.error == "401 Unauthorized: token *** rejected; retry with token=***"
        assert record.summary == {"note": "token=***"}
        assert SECRET not in repr(record)
    blob = b"".join(p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name))
    for secret in (SECRET, "OTHER_SECRET42", "planted-secret-99"):
        assert secret.encode() not in blob


# -- retries -------------------------------------------------------------------------------------


class _FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def _flaky(failures: int, error: Exception, value: str = "ok"):
    calls = []

    def fn() -> str:
        calls.append(1)
        if len(calls) <= failures:
            raise error
        return value

    return fn, calls


def test_retry_transient_backs_off_then_succeeds():
    fake = _FakeTime()
    fn, calls = _flaky(3, TransientProviderError("503 service unavailable"))
    seen = []
    result = retry_transient(fn, sleep=fake.sleep, clock=fake.clock, on_retry=lambda n, e, d: seen.append((n, d)))
    assert result == "ok" and len(calls) == 4
    assert fake.sleeps == [0.5, 1.0, 2.0]
    assert seen == [(1, 0.5), (2, 1.0), (3, 2.0)]


def test_retry_transient_is_bounded_by_attempts_and_max_delay():
    fake = _FakeTime()
    fn, calls = _flaky(100, TransientProviderError("429 rate limited"))
    with pytest.raises(TransientProviderError, match=r"429 rate limited \(gave up after 6 attempt\(s\)") as info:
        retry_transient(fn, attempts=6, base_delay=1, max_delay=3, deadline_s=1000, sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == [1.0, 2.0, 3.0, 3.0, 3.0] and len(calls) == 6
    assert isinstance(info.value.__cause__, TransientProviderError)


def test_retry_transient_is_bounded_by_the_deadline():
    fake = _FakeTime()
    fn, calls = _flaky(100, TransientProviderError(f"timeout; token={SECRET}"))
    with pytest.raises(TransientProviderError, match=r"gave up after 4 attempt\(s\) in 7\.0 s") as info:
        retry_transient(fn, attempts=50, base_delay=1, max_delay=60, deadline_s=10, sleep=fake.sleep, clock=fake.clock)
    assert fake.sleeps == [1.0, 2.0, 4.0]  # the next wait (8 s) would end past the 10 s deadline
    assert sum(fake.sleeps) <= 10 and len(calls) == 4
    assert SECRET not in str(info.value)


@pytest.mark.parametrize("error", [ValueError("bad input"), JobNotFoundError("gone"), RuntimeError("bug")])
def test_retry_transient_reraises_other_errors_at_once(error):
    fake = _FakeTime()
    fn, calls = _flaky(1, error)
    with pytest.raises(type(error)) as info:
        retry_transient(fn, sleep=fake.sleep, clock=fake.clock)
    assert info.value is error and len(calls) == 1 and fake.sleeps == []


def test_retry_transient_checks_its_arguments():
    with pytest.raises(ValueError, match="attempts must be at least 1, got 0"):
        retry_transient(lambda: 1, attempts=0)
    with pytest.raises(ValueError, match="deadline_s must be a non-negative number of seconds, got -1"):
        retry_transient(lambda: 1, deadline_s=-1)
