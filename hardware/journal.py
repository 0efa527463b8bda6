"""The job journal: every submission on disk before it is sent, its remote id as soon as it is known.

One SQLite file (standard library, WAL mode), shared by every process of a user: a training script,
a second script on the same machine, ``qml jobs`` in another terminal. Each row is one job:

* written in state ``"recorded"`` **before** anything is sent, keyed by the submission's content key
  (:func:`hardware.submission.submission_key`): the same submission run again finds its row
  (:meth:`Journal.record` returns ``created=False``) and re-attaches to the remote job, or returns
  the stored result, instead of paying again;
* claimed by exactly one process for sending (:meth:`Journal.claim`: ``"recorded" -> "sending"``),
  so two processes running the same script do not both submit;
* given the provider's job id the moment it is known (:meth:`Journal.set_submitted`);
* finished with the result bytes (:meth:`Journal.store_result`) or a final error.

Job states (:data:`JOB_RECORD_STATES`) and the allowed moves::

    recorded --claim--> sending --set_submitted--> submitted --> running --> done
    recorded --set_submitted--> submitted          (the id found by tag, after a crash)
    sending --release--> recorded                  (nothing went out; another try may claim it)
    any non-final state --> failed | cancelled

``done``, ``failed`` and ``cancelled`` are final (:data:`FINAL_STATES`): nothing leaves them.

A crash between "sent" and "id recorded" leaves a row in ``"sending"`` without a remote id; jobs
carry the key as a provider tag, so :meth:`~hardware.providers.base.Provider.find_by_tag` finds the
job again (``qml jobs resume`` does that).

The file identifies itself (``PRAGMA application_id`` = :data:`APPLICATION_ID`, ``user_version`` =
:data:`SCHEMA_VERSION`). A file that is not SQLite, belongs to another application, has another
schema version or fails ``PRAGMA quick_check`` raises :class:`~hardware.errors.JournalError` and is
left exactly as it was: never overwritten, never migrated silently.

Secrets: the journal stores what it is given, and it is never given credentials; as a second line
of defence every error text (and the summary) passes through :func:`scrub` before it is written.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import sqlite3
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hardware.errors import JobNotFoundError, JournalError

__all__ = [
    "APPLICATION_ID",
    "ENV_VAR",
    "FINAL_STATES",
    "JOB_RECORD_STATES",
    "SCHEMA_VERSION",
    "JobRecord",
    "Journal",
    "current_owner",
    "default_journal_path",
    "scrub",
]

JOB_RECORD_STATES: tuple[str, ...] = ("recorded", "sending", "submitted", "running", "done", "failed", "cancelled")
"""A journal row's states, in the order a job goes through them."""

FINAL_STATES: frozenset[str] = frozenset({"done", "failed", "cancelled"})
"""States nothing leaves."""

_TRANSITIONS: dict[str, frozenset[str]] = {
    "recorded": frozenset({"sending", "submitted", "failed", "cancelled"}),
    "sending": frozenset({"recorded", "submitted", "failed", "cancelled"}),
    "submitted": frozenset({"running", "done", "failed", "cancelled"}),
    "running": frozenset({"done", "failed", "cancelled"}),
    "done": frozenset(),
    "failed": frozenset(),
    "cancelled": frozenset(),
}

APPLICATION_ID = 0x514D4C4A
"""``PRAGMA application_id`` of a qml-hybrid journal (the bytes ``QMLJ``)."""

SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of the journal schema this code reads and writes."""

ENV_VAR = "QML_HYBRID_JOURNAL"
"""Environment variable naming the journal file (overrides the default location)."""

DEFAULT_STALE_AFTER_S = 900.0
"""A ``"sending"`` row of another host untouched this long counts as abandoned (see :meth:`Journal.claim`)."""

_SQLITE_MAGIC = b"SQLite format 3\x00"

_SCHEMA = """
CREATE TABLE jobs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    provider TEXT NOT NULL,
    device TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('recorded', 'sending', 'submitted', 'running', 'done', 'failed',
                                         'cancelled')),
    remote_id TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    error TEXT,
    summary TEXT NOT NULL,
    owner TEXT,
    payload BLOB NOT NULL,
    result BLOB
);
CREATE INDEX jobs_state ON jobs (state);
CREATE INDEX jobs_remote_id ON jobs (remote_id);
"""

_COLUMNS = (
    "id, key, provider, device, state, remote_id, created_at, updated_at, attempts, error, summary, owner, "
    "payload, result"
)

_MAX_ID_LENGTH = 512

# -- secrets -----------------------------------------------------------------------------------

_SECRET_NAME = re.compile(r"TOKEN|KEY|SECRET|PASSWORD|PASSWD|CREDENTIAL", re.IGNORECASE)
_SECRET_ASSIGNMENT = re.compile(
    r"(?i)([\w.-]*(?:token|secret|password|passwd|api[_-]?key|access[_-]?key|private[_-]?key|credentials?))"
    r"([\"']?\s*[=:]\s*[\"']?)"
    r"([^\s\"',;&)}\]]+)"
)
_AWS_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b")
_BEARER = re.compile(r"(?i)\b((?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{6,}")
_NOT_SECRET_VALUES = frozenset({"true", "false", "none", "null", "yes", "no"})


def _looks_like_credential(value: str) -> bool:
    return (
        len(value) >= 8
        and not any(ch.isspace() for ch in value)
        and not value.isdigit()
        and value.lower() not in _NOT_SECRET_VALUES
    )


def scrub(text: str, environ: Mapping[str, str] | None = None) -> str:
    """``text`` with anything that looks like a credential replaced by ``***``.

    Replaced: the values of environment variables whose names contain ``TOKEN``, ``KEY``,
    ``SECRET``, ``PASSWORD`` or ``CREDENTIAL`` (values of 8+ characters without spaces), the value
    in ``token=...`` / ``api_key: ...`` / ``"password": "..."`` style assignments (after a colon,
    only values with a digit or a symbol, or of 20+ characters: ``token: expired`` is prose), and
    ``Bearer ...`` / ``Basic ...`` authorisation values, and AWS access key ids (``AKIA...``).

    Args:
        text: an error message, a log line, anything about to be stored or printed.
        environ: the environment to read secret values from (``os.environ`` when ``None``).

    Returns:
        The scrubbed text (unchanged when nothing matched).
    """
    env = os.environ if environ is None else environ
    secrets = sorted(
        {value for name, value in env.items() if _SECRET_NAME.search(name) and _looks_like_credential(value)},
        key=len,
        reverse=True,
    )
    for value in secrets:
        if value in text:
            text = text.replace(value, "***")
    text = _AWS_ACCESS_KEY_ID.sub("***", text)
    text = _BEARER.sub(r"\1***", text)
    return _SECRET_ASSIGNMENT.sub(_mask_assignment, text)


def _mask_assignment(match: re.Match[str]) -> str:
    name, separator, value = match.groups()
    # ``token=...`` always; after a colon only what looks like a value, not prose ("token: expired")
    if "=" in separator or len(value) >= 20 or not value.isalpha():
        return name + separator + "***"
    return match.group(0)


# -- locations and owners ----------------------------------------------------------------------


def default_journal_path(environ: Mapping[str, str] | None = None, platform: str | None = None) -> Path:
    """Where the journal lives when no path is given.

    ``$QML_HYBRID_JOURNAL`` when set; otherwise ``journal.sqlite`` in a ``qml-hybrid`` folder of the
    user's data directory: ``$XDG_DATA_HOME`` or ``~/.local/share`` (Linux and other Unix),
    ``~/Library/Application Support`` (macOS), ``%LOCALAPPDATA%`` (Windows).

    Args:
        environ: the environment (``os.environ`` when ``None``).
        platform: a ``sys.platform`` value (the running one when ``None``).
    """
    env = os.environ if environ is None else environ
    platform = sys.platform if platform is None else platform
    explicit = env.get(ENV_VAR, "").strip()
    if explicit:
        return Path(explicit).expanduser()
    home = Path(env.get("HOME") or env.get("USERPROFILE") or Path.home())
    if platform.startswith("win"):
        base = Path(env["LOCALAPPDATA"]) if env.get("LOCALAPPDATA") else home / "AppData" / "Local"
    elif platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        xdg = env.get("XDG_DATA_HOME", "").strip()
        base = Path(xdg).expanduser() if xdg and Path(xdg).is_absolute() else home / ".local" / "share"
    return base / "qml-hybrid" / "journal.sqlite"


def current_owner() -> str:
    """``host:pid`` of this process: the owner a :meth:`Journal.claim` records."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform.startswith("win"):  # os.kill(pid, 0) would terminate the process on Windows
        import ctypes

        kernel32 = ctypes.windll.kernel32  # type: ignore[attr-defined]
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return kernel32.GetLastError() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return False
    return True


# -- records -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobRecord:
    """One row of the journal.

    Attributes:
        id: the local id (``qml jobs show 3``), unique within this journal.
        key: the submission's content key.
        provider: the provider's name (``"ibm"``, ``"braket"``, ...).
        device: the device's name.
        state: one of :data:`JOB_RECORD_STATES`.
        remote_id: the provider's job id, once known.
        created_at: when the row was written (seconds since the epoch).
        updated_at: when the row last changed.
        attempts: send attempts counted by :meth:`Journal.increment_attempts`.
        error: why the job failed (scrubbed of credentials), or ``None``.
        summary: small JSON facts (kind, circuits, bindings, shots, seed, tags, cost estimate, ...).
        owner: ``host:pid`` of the process that claimed the send, or ``None``.
        payload: the serialized submission (opaque to the journal).
        result: the serialized result once fetched (opaque to the journal), or ``None``.
    """

    id: int
    key: str
    provider: str
    device: str
    state: str
    remote_id: str | None
    created_at: float
    updated_at: float
    attempts: int
    error: str | None
    summary: dict[str, Any]
    owner: str | None
    payload: bytes
    result: bytes | None

    @property
    def final(self) -> bool:
        """Whether the state is final (``done``, ``failed``, ``cancelled``)."""
        return self.state in FINAL_STATES

    def __repr__(self) -> str:
        result = "None" if self.result is None else f"<{len(self.result)} bytes>"
        return (
            f"JobRecord(id={self.id}, key={self.key[:12]!r}..., backend='{self.provider}:{self.device}', "
            f"state={self.state!r}, remote_id={self.remote_id!r}, attempts={self.attempts}, "
            f"payload=<{len(self.payload)} bytes>, result={result})"
        )


def _record(row: tuple[Any, ...]) -> JobRecord:
    return JobRecord(
        id=int(row[0]),
        key=row[1],
        provider=row[2],
        device=row[3],
        state=row[4],
        remote_id=row[5],
        created_at=float(row[6]),
        updated_at=float(row[7]),
        attempts=int(row[8]),
        error=row[9],
        summary=json.loads(row[10]),
        owner=row[11],
        payload=bytes(row[12]),
        result=None if row[13] is None else bytes(row[13]),
    )


def _check_text(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, got {type(value).__name__}")
    if not value.strip():
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")
    return value


# -- the journal -------------------------------------------------------------------------------


class Journal:
    """The job journal in one SQLite file, safe to share between threads and processes.

    Args:
        path: the file; :func:`default_journal_path` when ``None`` (``$QML_HYBRID_JOURNAL`` or the
            user's data directory). Its folder is created.
        create: create the file when it does not exist (``False``: raise :class:`JournalError`).
        stale_after_s: a ``"sending"`` row claimed by another host and untouched this long counts
            as abandoned by :meth:`claim`.
        timeout_s: how long to wait for another process's write lock before giving up.

    Raises:
        JournalError: the file is not SQLite, belongs to another application, has another schema
            version, is corrupted, or cannot be opened; the file is left untouched.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        create: bool = True,
        stale_after_s: float = DEFAULT_STALE_AFTER_S,
        timeout_s: float = 30.0,
    ) -> None:
        self.path: Path = Path(path).expanduser() if path is not None else default_journal_path()
        self.stale_after_s = float(stale_after_s)
        self._lock = threading.RLock()
        exists = self._check_existing()
        if not exists and not create:
            raise JournalError(
                f"no journal at {self.path}: nothing has been recorded there yet; give the journal's path "
                f"(--journal PATH or ${ENV_VAR})."
            )
        if not exists:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise JournalError(
                    f"cannot create the journal's folder {self.path.parent}: {exc.strerror or exc}; "
                    f"choose another location with --journal PATH or ${ENV_VAR}."
                ) from None
        try:
            self._conn = sqlite3.connect(self.path, timeout=timeout_s, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal {self.path}: {exc}") from None
        try:
            self._conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            self._conn.execute("PRAGMA foreign_keys = ON")
            self._conn.execute("PRAGMA journal_mode = WAL")
            self._conn.execute("PRAGMA synchronous = FULL")
            self._initialise()
        except BaseException as exc:
            self._conn.close()
            if isinstance(exc, sqlite3.Error):
                raise JournalError(f"cannot open the journal {self.path}: {exc}") from None
            raise

    # -- opening ---------------------------------------------------------------------------

    def _how_to_fix(self) -> str:
        return (
            "it was left untouched: move it aside (or restore a backup), or use another journal "
            f"with --journal PATH or ${ENV_VAR}."
        )

    def _check_existing(self) -> bool:
        """Validate an existing file read-only; return whether one exists with content."""
        path = self.path
        if path.is_dir():
            raise JournalError(f"the journal path {path} is a directory; give a file path (--journal PATH).")
        try:
            with path.open("rb") as f:
                header = f.read(100)
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise JournalError(f"cannot read the journal {path}: {exc.strerror or exc}") from None
        if not header:
            return False  # an empty file: SQLite makes it a new database
        if not header.startswith(_SQLITE_MAGIC):
            raise JournalError(f"{path} is not a qml-hybrid journal (not an SQLite database); {self._how_to_fix()}")
        sidecars = [Path(f"{path}-wal"), Path(f"{path}-shm")]
        had = [p.exists() for p in sidecars]
        ok = False
        try:
            conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=30.0)
        except sqlite3.Error as exc:
            raise JournalError(f"cannot open the journal {path}: {exc}") from None
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id == 0 and version == 0 and tables == 0:
                ok = True
                return True  # an empty SQLite database: initialised below
            self._check_identity(app_id, version)
            check = [row[0] for row in conn.execute("PRAGMA quick_check").fetchall()]
            if check != ["ok"]:
                raise JournalError(
                    f"the journal {path} is corrupted (PRAGMA quick_check: {'; '.join(check[:3])}); "
                    f"{self._how_to_fix()}"
                )
            ok = True
            return True
        except sqlite3.Error as exc:
            raise JournalError(f"the journal {path} is corrupted or unreadable ({exc}); {self._how_to_fix()}") from None
        finally:
            conn.close()
            if not ok:  # leave no trace next to a file that is not ours
                for sidecar, existed in zip(sidecars, had, strict=True):
                    if not existed:
                        with contextlib.suppress(OSError):
                            if sidecar.name.endswith("-shm") or sidecar.stat().st_size == 0:
                                sidecar.unlink()

    def _check_identity(self, app_id: int, version: int) -> None:
        if app_id != APPLICATION_ID:
            raise JournalError(
                f"{self.path} is not a qml-hybrid journal (an SQLite database with application_id "
                f"{app_id:#x}, expected {APPLICATION_ID:#x}); {self._how_to_fix()}"
            )
        if version != SCHEMA_VERSION:
            which = "a newer qml-hybrid: upgrade qml-hybrid" if version > SCHEMA_VERSION else "an older qml-hybrid"
            raise JournalError(
                f"the journal {self.path} has schema version {version}, this qml-hybrid reads version "
                f"{SCHEMA_VERSION} (written by {which}); it is never migrated silently: {self._how_to_fix()}"
            )

    def _initialise(self) -> None:
        with self._write() as conn:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app_id == 0 and version == 0 and tables == 0:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            else:
                self._check_identity(app_id, version)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One ``BEGIN IMMEDIATE`` transaction: the write lock is taken before anything is read."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (the journal stays on disk)."""
        with self._lock:
            self._conn.close()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    # -- rows ------------------------------------------------------------------------------

    def _row(self, conn: sqlite3.Connection, key: str) -> JobRecord | None:
        row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else _record(row)

    def _require(self, conn: sqlite3.Connection, key: str) -> JobRecord:
        record = self._row(conn, _check_text("key", key))
        if record is None:
            raise JobNotFoundError(
                f"no job with key {key[:16]!r} in the journal {self.path}; record it first "
                "(`qml jobs list` shows the recorded jobs)."
            )
        return record

    def _illegal(self, record: JobRecord, state: str) -> JournalError:
        reason = "a final state" if record.final else f"allowed next: {', '.join(sorted(_TRANSITIONS[record.state]))}"
        return JournalError(
            f"job {record.id} ({record.provider}:{record.device}) is {record.state!r} ({reason}); "
            f"it cannot become {state!r}."
        )

    def record(
        self, key: str, *, provider: str, device: str, payload: bytes, summary: Mapping[str, Any]
    ) -> tuple[JobRecord, bool]:
        """Write a submission in state ``"recorded"``, or find the row its key already has.

        Args:
            key: the content key (see :func:`hardware.submission.submission_key`).
            provider: the provider's name.
            device: the device's name.
            payload: the serialized submission.
            summary: small JSON-serialisable facts for ``qml jobs list`` (see
                :func:`hardware.submission.submission_summary`).

        Returns:
            ``(record, created)``: the row, and whether this call wrote it (``False``: the key was
            already there and the existing row is returned unchanged).
        """
        _check_text("key", key)
        _check_text("provider", provider)
        _check_text("device", device)
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(f"payload must be bytes, got {type(payload).__name__}")
        if not isinstance(summary, Mapping):
            raise TypeError(f"summary must be a dict, got {type(summary).__name__}")
        try:
            summary_text = scrub(json.dumps(dict(summary), sort_keys=True, allow_nan=False))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"summary must be JSON-serialisable with finite numbers: {exc}") from None
        now = time.time()
        with self._write() as conn:
            existing = self._row(conn, key)
            if existing is not None:
                return existing, False
            conn.execute(
                "INSERT INTO jobs (key, provider, device, state, created_at, updated_at, summary, payload) "
                "VALUES (?, ?, ?, 'recorded', ?, ?, ?, ?)",
                (key, provider, device, now, now, summary_text, bytes(payload)),
            )
            return self._row(conn, key), True  # type: ignore[return-value]

    def _owner_dead(self, owner: str | None, updated_at: float, now: float) -> bool:
        if not owner:
            return True
        host, _, pid_text = owner.rpartition(":")
        if host == socket.gethostname() and pid_text.isdigit():
            return not _pid_alive(int(pid_text))
        return now - updated_at >= self.stale_after_s

    def sending_abandoned(self, record: JobRecord) -> bool:
        """Whether a ``"sending"`` row's owner is gone (its send may be taken over; see :meth:`claim`).

        ``False`` for rows in any other state.
        """
        return record.state == "sending" and self._owner_dead(record.owner, record.updated_at, time.time())

    def claim(self, key: str, owner: str | None = None) -> bool:
        """Take the right to send this job: ``"recorded" -> "sending"``, atomically across processes.

        A ``"sending"`` row is taken over only when its owner is dead: on this host, a process id
        that no longer runs; on another host, a row untouched for ``stale_after_s`` seconds. A
        caller that takes over a ``"sending"`` row must first look the job up by its tag
        (:meth:`~hardware.providers.base.Provider.find_by_tag`): the dead owner may have sent it.

        Args:
            key: the job's key.
            owner: ``host:pid`` of the caller (:func:`current_owner` when ``None``).

        Returns:
            Whether the caller now owns the send (``True`` also when it already did).

        Raises:
            JobNotFoundError: no row with that key.
        """
        owner = current_owner() if owner is None else _check_text("owner", owner)
        now = time.time()
        with self._write() as conn:
            record = self._require(conn, key)
            if record.state == "sending" and record.owner == owner:
                return True
            if record.state == "recorded" or (
                record.state == "sending" and self._owner_dead(record.owner, record.updated_at, now)
            ):
                conn.execute(
                    "UPDATE jobs SET state = 'sending', owner = ?, updated_at = ? WHERE key = ?", (owner, now, key)
                )
                return True
            return False

    def set_submitted(self, key: str, remote_id: str) -> JobRecord:
        """Record the provider's job id: ``"recorded"``/``"sending"`` -> ``"submitted"``.

        Calling it again with the same id is a no-op.

        Raises:
            JournalError: the job already has another remote id, or is final.
            JobNotFoundError: no row with that key.
        """
        _check_text("remote_id", remote_id)
        if len(remote_id) > _MAX_ID_LENGTH:
            raise ValueError(f"remote_id is {len(remote_id)} characters long; expected at most {_MAX_ID_LENGTH}")
        with self._write() as conn:
            record = self._require(conn, key)
            if record.remote_id == remote_id and record.state in {"submitted", "running", "done"}:
                return record
            if record.remote_id is not None and record.remote_id != remote_id:
                raise JournalError(
                    f"job {record.id} already has remote id {record.remote_id!r}; it cannot also be {remote_id!r}."
                )
            if record.state not in {"recorded", "sending"}:
                raise self._illegal(record, "submitted")
            conn.execute(
                "UPDATE jobs SET state = 'submitted', remote_id = ?, updated_at = ? WHERE key = ?",
                (remote_id, time.time(), key),
            )
            return self._row(conn, key)  # type: ignore[return-value]

    def set_state(self, key: str, state: str, error: str | None = None) -> JobRecord:
        """Move the job to ``state`` (validated); ``error`` is stored scrubbed of credentials.

        Setting the state a job already has is a no-op (apart from a new ``error``, unless final).
        ``"sending"`` is reached through :meth:`claim` and ``"submitted"`` through
        :meth:`set_submitted`; ``"sending" -> "recorded"`` releases a claim (owner cleared).

        Raises:
            ValueError: an unknown state name.
            JournalError: an illegal transition (e.g. out of a final state: ``done -> running``).
            JobNotFoundError: no row with that key.
        """
        if state not in _TRANSITIONS:
            raise ValueError(f"unknown job state {state!r}; expected one of: {', '.join(JOB_RECORD_STATES)}")
        if error is not None and not isinstance(error, str):
            raise TypeError(f"error must be a str or None, got {type(error).__name__}")
        stored_error = None if error is None else scrub(error)
        with self._write() as conn:
            record = self._require(conn, key)
            if state == record.state:
                if record.final or stored_error is None:
                    return record
            elif state not in _TRANSITIONS[record.state]:
                raise self._illegal(record, state)
            elif state in {"sending", "submitted"}:
                how = "claim()" if state == "sending" else "set_submitted(key, remote_id)"
                raise JournalError(f"job {record.id} becomes {state!r} through Journal.{how}, not set_state.")
            owner = None if (record.state, state) == ("sending", "recorded") else record.owner
            conn.execute(
                "UPDATE jobs SET state = ?, error = coalesce(?, error), owner = ?, updated_at = ? WHERE key = ?",
                (state, stored_error, owner, time.time(), key),
            )
            return self._row(conn, key)  # type: ignore[return-value]

    def store_result(self, key: str, result: bytes) -> JobRecord:
        """Store the fetched result and mark the job ``"done"``.

        A job already done with a result keeps its first result (two processes fetching the same
        job store the same thing).

        Raises:
            JournalError: the job failed or was cancelled.
            JobNotFoundError: no row with that key.
        """
        if not isinstance(result, (bytes, bytearray, memoryview)):
            raise TypeError(f"result must be bytes, got {type(result).__name__}")
        with self._write() as conn:
            record = self._require(conn, key)
            if record.state == "done" and record.result is not None:
                return record
            if record.state in {"failed", "cancelled"}:
                raise self._illegal(record, "done")
            conn.execute(
                "UPDATE jobs SET state = 'done', result = ?, updated_at = ? WHERE key = ?",
                (bytes(result), time.time(), key),
            )
            return self._row(conn, key)  # type: ignore[return-value]

    def increment_attempts(self, key: str) -> int:
        """Count one more send attempt; return the new count."""
        with self._write() as conn:
            record = self._require(conn, key)
            conn.execute("UPDATE jobs SET attempts = attempts + 1, updated_at = ? WHERE key = ?", (time.time(), key))
            return record.attempts + 1

    # -- queries ---------------------------------------------------------------------------

    def get(self, key: str) -> JobRecord | None:
        """The row of ``key``, or ``None``."""
        _check_text("key", key)
        with self._lock:
            return self._row(self._conn, key)

    def has_key_matching(self, pattern: str) -> bool:
        """Whether some row's key matches the SQLite ``GLOB`` ``pattern`` (``"qmlh-[0-9a-f]*"``)."""
        _check_text("pattern", pattern)
        with self._lock:
            return self._conn.execute("SELECT 1 FROM jobs WHERE key GLOB ? LIMIT 1", (pattern,)).fetchone() is not None

    def by_id(self, job_id: int | str) -> JobRecord:
        """Find a job by its local id (``3``), its key, or its provider's job id (tried in that order).

        Raises:
            TypeError: ``job_id`` is neither an int nor a str.
            JobNotFoundError: a malformed id, or one the journal does not know.
        """
        if isinstance(job_id, bool) or not isinstance(job_id, (int, str)):
            raise TypeError(f"a job id is an int or a str, got {type(job_id).__name__}")
        hint = "`qml jobs list` shows the recorded jobs."
        text = str(job_id).strip()
        if (
            not text
            or len(text) > _MAX_ID_LENGTH
            or any(ch.isspace() or not ch.isprintable() for ch in text)
            or (text.lstrip("-").isdigit() and int(text) <= 0)
        ):
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise JobNotFoundError(
                f"malformed job id {shown!r}: expected a local id (a positive integer such as 3), a content "
                f"key or a provider job id; {hint}"
            )
        with self._lock:
            conn = self._conn
            row = None
            if text.isdigit():
                row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE id = ?", (int(text),)).fetchone()
            if row is None and isinstance(job_id, str):
                row = conn.execute(f"SELECT {_COLUMNS} FROM jobs WHERE key = ?", (text,)).fetchone()
            if row is None and isinstance(job_id, str):
                row = conn.execute(
                    f"SELECT {_COLUMNS} FROM jobs WHERE remote_id = ? ORDER BY id DESC LIMIT 1", (text,)
                ).fetchone()
        if row is None:
            shown = text if len(text) <= 40 else text[:40] + "..."
            raise JobNotFoundError(
                f"no job {shown!r} in the journal {self.path} (looked up as local id, key and remote id); {hint}"
            )
        return _record(row)

    def list(
        self, status: str | None = None, device: str | None = None, provider: str | None = None
    ) -> list[JobRecord]:
        """The jobs, oldest first, optionally only those in one state / on one device / of one provider."""
        if status is not None and status not in _TRANSITIONS:
            raise ValueError(f"unknown job state {status!r}; expected one of: {', '.join(JOB_RECORD_STATES)}")
        clauses, params = [], []
        for column, value in (("state", status), ("device", device), ("provider", provider)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._conn.execute(f"SELECT {_COLUMNS} FROM jobs{where} ORDER BY id", params).fetchall()
        return [_record(row) for row in rows]

    def unfinished(self) -> list[JobRecord]:
        """The jobs not in a final state, oldest first."""
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {_COLUMNS} FROM jobs WHERE state NOT IN ('done', 'failed', 'cancelled') ORDER BY id"
            ).fetchall()
        return [_record(row) for row in rows]
