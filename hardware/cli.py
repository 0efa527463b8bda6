"""``qml jobs``: list, inspect, fetch, cancel and resume the jobs in the journal.

::

    qml jobs list [--status STATE] [--backend PROVIDER[:DEVICE]] [--json]
    qml jobs show ID [--json]          # every field but the payload/result bytes (sizes instead)
    qml jobs fetch ID [--wait S] [--json]
    qml jobs cancel ID
    qml jobs resume                    # re-attach to every unfinished job
    qml jobs ... --journal PATH        # another journal than $QML_HYBRID_JOURNAL / the default

``ID`` is the local id shown by ``qml jobs list`` (``3``), a job's content key, or the provider's
job id.

``fetch`` prints counts keyed by bitstrings in Qiskit's order, whatever the provider: the rightmost
character is classical bit 0 (for a job of :class:`~hardware.backend.ProviderBackend`, classical bit
``j`` holds the ``j``-th measured qubit, so ``X`` on qubit 0 of three reads ``001``); ``--json`` says
so in its ``"bit_order"`` field. ``qml`` must not import :mod:`hardware` (an import-linter contract), so :mod:`qml.cli`
finds this module through the ``qml_hybrid.commands`` entry point group and calls
:func:`add_commands` while it builds its parser and :func:`run` when ``qml jobs`` runs.

Exit status: 0 on success; 1 when the command ran but the job is not finished or failed
(``fetch``), could not be cancelled because it had finished (``cancel``), or some job could not be
polled (``resume``); 2 for a user error (unknown or malformed id, a journal that is not ours or is
corrupted, missing credentials), printed as one line on stderr. Nothing printed ever carries a
credential: every line passes through :func:`hardware.journal.scrub`, and an unknown ``ID`` that
looks like one (:func:`hardware.credentials.looks_like_secret`) is described, never echoed.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # sqlite, numpy and the providers load when a command runs, so `qml --help` stays fast
    from hardware.journal import JobRecord, Journal
    from hardware.providers.base import Provider, SubmissionResult

__all__ = ["BIT_ORDER", "COMMAND", "RETRY", "add_commands", "run"]

COMMAND = "jobs"
"""The ``qml`` subcommand this module adds."""

RETRY: dict[str, float] = {"attempts": 4, "base_delay": 0.5, "max_delay": 4.0, "deadline_s": 30.0}
"""How provider calls of ``qml jobs`` retry transient errors (see :func:`hardware.retry.retry_transient`)."""

BIT_ORDER = "qiskit: classical bit 0 rightmost"
"""How ``qml jobs fetch`` keys counts (the ``"bit_order"`` field of ``--json``)."""

_STATES = ("recorded", "sending", "submitted", "running", "done", "failed", "cancelled")  # = JOB_RECORD_STATES
_MAX_BINDINGS_SHOWN = 5
_MAX_OUTCOMES_SHOWN = 16

_sleep: Callable[[float], object] = time.sleep
_clock: Callable[[], float] = time.monotonic


class _UserError(Exception):
    """A command that cannot proceed: one line on stderr, exit status 2."""


class _Printer:
    """Prints lines to ``out``, every one scrubbed of anything that looks like a credential."""

    def __init__(self, out: TextIO) -> None:
        from hardware.journal import scrub

        self._out = out
        self._scrub = scrub

    def __call__(self, text: str = "") -> None:
        print(self._scrub(text), file=self._out)


def add_commands(subparsers: argparse._SubParsersAction, helpers: Mapping[str, Any] | None = None) -> None:
    """Add ``jobs`` and its subcommands to the ``qml`` parser.

    Args:
        subparsers: what ``ArgumentParser.add_subparsers`` returned for ``qml`` (its parser class is
            reused for the subcommands, so their errors print as ``qml``'s do).
        helpers: argument-type helpers of ``qml`` (accepted for the plugin protocol; ``jobs`` needs none).
    """
    del helpers
    jobs = subparsers.add_parser(
        COMMAND,
        help="list, show, fetch, cancel or resume hardware jobs recorded in the job journal",
        description=(
            "Inspect and manage the jobs in the job journal (the SQLite file every hardware submission is "
            "written to before it is sent). ID is the local id from 'qml jobs list', a content key, or the "
            "provider's job id."
        ),
    )
    jobs.add_argument("--journal", dest="journal_top", metavar="PATH", default=None, help=argparse.SUPPRESS)
    commands = jobs.add_subparsers(dest="jobs_command", metavar="SUBCOMMAND", parser_class=type(jobs))

    def journal_option(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--journal",
            metavar="PATH",
            default=None,
            help="the journal file (default: $QML_HYBRID_JOURNAL, else the user data directory)",
        )

    listing = commands.add_parser("list", help="a table of the recorded jobs", description="List the recorded jobs.")
    listing.add_argument("--status", choices=_STATES, default=None, help="only jobs in this state")
    listing.add_argument(
        "--backend", metavar="PROVIDER[:DEVICE]", default=None, help="only jobs of this provider (and device)"
    )
    listing.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    journal_option(listing)

    show = commands.add_parser("show", help="every field of one job", description="Show every field of one job.")
    show.add_argument("id", metavar="ID", help="local id, content key or provider job id")
    show.add_argument("--json", action="store_true", help="one JSON object")
    journal_option(show)

    fetch = commands.add_parser(
        "fetch",
        help="print a job's result, fetching it from the provider if needed",
        description=(
            "Print a finished job's result. A job not yet done is polled at its provider (rebuilt from the "
            "provider and device names in the journal); a result fetched is stored in the journal. Counts "
            "are keyed by bitstrings in Qiskit's order: the rightmost character is classical bit 0."
        ),
    )
    fetch.add_argument("id", metavar="ID", help="local id, content key or provider job id")
    fetch.add_argument(
        "--wait", type=_seconds, default=0.0, metavar="S", help="poll for up to S seconds until the job finishes"
    )
    fetch.add_argument("--json", action="store_true", help="print the whole result as one JSON object")
    journal_option(fetch)

    cancel = commands.add_parser(
        "cancel",
        help="cancel a job at its provider and mark it cancelled",
        description="Cancel a job: at its provider when it was sent, and in the journal (so it is never sent).",
    )
    cancel.add_argument("id", metavar="ID", help="local id, content key or provider job id")
    journal_option(cancel)

    resume = commands.add_parser(
        "resume",
        help="re-attach to every unfinished job: poll, fetch what is done, find lost ids by tag",
        description=(
            "Poll every unfinished job and store the results of those that are done. A job recorded but "
            "without a provider job id (a crash while sending) is looked up by its tag at the provider."
        ),
    )
    journal_option(resume)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"expected a non-negative number of seconds, got {text!r}")
    return value


def run(args: argparse.Namespace, out: TextIO, err: TextIO | None = None) -> int:
    """Run ``qml jobs SUBCOMMAND`` as parsed by a parser :func:`add_commands` built.

    Args:
        args: the parsed arguments.
        out: where results go (``sys.stdout`` from ``qml``).
        err: where the one-line error goes (``sys.stderr`` when ``None``).

    Returns:
        The exit status (see the module docstring).
    """
    import sqlite3

    from hardware.errors import HardwareError
    from hardware.journal import scrub

    err = sys.stderr if err is None else err
    sub = getattr(args, "jobs_command", None)
    if sub is None:
        print(
            "qml jobs: error: give a subcommand: list, show, fetch, cancel or resume (see 'qml jobs --help')", file=err
        )
        return 2
    printer = _Printer(out)
    try:
        return _COMMANDS[sub](args, printer)
    except (_UserError, HardwareError, ValueError, OSError, sqlite3.Error) as exc:  # e.g. "database is locked"
        message = " ".join(scrub(str(exc)).split())
        print(f"qml jobs {sub}: error: {message}", file=err)
        return 2


# -- helpers -----------------------------------------------------------------------------------


def _journal_path(args: argparse.Namespace) -> str | None:
    return getattr(args, "journal", None) or getattr(args, "journal_top", None)


def _open(args: argparse.Namespace) -> Journal:
    from hardware.journal import Journal

    return Journal(_journal_path(args), create=False)


def _find(journal: Journal, job_id: str) -> JobRecord:
    """The job ``job_id`` names; an unknown id that looks like a credential is described, never echoed."""
    from hardware.credentials import looks_like_secret
    from hardware.errors import JobNotFoundError

    try:
        return journal.by_id(job_id)
    except JobNotFoundError:
        if not looks_like_secret(job_id):
            raise
    raise _UserError(
        f"no job matches the ID given ({len(job_id)} characters, not shown: it looks like a credential, "
        f"not a job id) in the journal {journal.path}; `qml jobs list` shows the recorded jobs."
    )


def _retry(fn: Callable[[], Any]) -> Any:
    from hardware.retry import retry_transient

    return retry_transient(
        fn,
        attempts=int(RETRY["attempts"]),
        base_delay=RETRY["base_delay"],
        max_delay=RETRY["max_delay"],
        deadline_s=RETRY["deadline_s"],
        sleep=lambda s: _sleep(s),
        clock=lambda: _clock(),
    )


def _when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(timestamp))


def _backend(record: JobRecord) -> str:
    return f"{record.provider}:{record.device}"


def _work(record: JobRecord) -> str:
    s = record.summary
    parts = []
    if s.get("kind"):
        parts.append(str(s["kind"]))
    if s.get("circuits") is not None:
        parts.append(f"{s['circuits']} circ")
    if s.get("bindings") is not None:
        parts.append(f"{s['bindings']} bind")
    if s.get("shots") is not None:
        parts.append(f"{s['shots']} shots")
    return ", ".join(parts) or "-"


def _short(text: str | None, width: int) -> str:
    if text is None:
        return "-"
    return text if len(text) <= width else text[: width - 3] + "..."


def _fields(record: JobRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "key": record.key,
        "provider": record.provider,
        "device": record.device,
        "state": record.state,
        "remote_id": record.remote_id,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "attempts": record.attempts,
        "owner": record.owner,
        "error": record.error,
        "payload_bytes": len(record.payload),
        "result_bytes": None if record.result is None else len(record.result),
        "summary": record.summary,
    }


class _Providers:
    """Providers rebuilt from the journal's names, one per ``(provider, device)``."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str], Provider] = {}

    def __call__(self, record: JobRecord) -> Provider:
        from hardware.registry import make_provider

        spec = (record.provider, record.device)
        if spec not in self._made:
            self._made[spec] = make_provider(*spec)
        return self._made[spec]


def _sync(journal: Journal, record: JobRecord, provider: Provider) -> JobRecord:
    """Poll the job once; bring the journal up to date (storing the result when done)."""
    from hardware.errors import JobFailedError, JobNotFoundError
    from hardware.serialize import dump_result

    remote = record.remote_id
    assert remote is not None
    try:
        state = _retry(lambda: provider.status(remote))
    except JobNotFoundError as exc:
        raise _UserError(
            f"{_backend(record)} does not know job {remote!r} (expired, deleted, or another account?): {exc}"
        ) from None
    if state == "done":
        try:
            result = _retry(lambda: provider.result(remote))
        except JobFailedError as exc:
            return journal.set_state(record.key, "failed", error=str(exc))
        return journal.store_result(record.key, dump_result(result))
    if state in ("failed", "cancelled"):
        return journal.set_state(record.key, state, error=f"{_backend(record)} reports the job {state}")
    if state == "running" and record.state != "running":
        return journal.set_state(record.key, "running")
    if state not in ("queued", "running"):
        raise _UserError(f"{_backend(record)} reported an unknown job state {state!r} for job {remote!r}")
    return record


def _find_by_tag(journal: Journal, record: JobRecord, provider: Provider) -> JobRecord | None:
    """Look a job without remote id up by its key tag; record the id found."""
    found = _retry(lambda: provider.find_by_tag(record.key))
    if found is None:
        return None
    return journal.set_submitted(record.key, found)


# -- result printing ---------------------------------------------------------------------------


def _print_result(record: JobRecord, result: SubmissionResult, say: _Printer) -> None:
    import numpy as np

    say(f"job {record.id}: done on {_backend(record)} (remote id {record.remote_id or '-'})")
    if result.counts is not None:
        say(f"counts (bitstrings in Qiskit order: classical bit 0 rightmost), {len(result.counts)} circuit(s)")
        for b, batch in enumerate(result.counts):
            say(f"circuit {b}: {len(batch)} binding(s)")
            for n, binding in enumerate(batch[:_MAX_BINDINGS_SHOWN]):
                top = sorted(binding.items(), key=lambda kv: (-kv[1], kv[0]))
                shown = ", ".join(f"{bits}: {count}" for bits, count in top[:_MAX_OUTCOMES_SHOWN])
                hidden = len(top) - _MAX_OUTCOMES_SHOWN
                more = f", ... ({hidden} more outcomes)" if hidden > 0 else ""
                say(f"  binding {n} ({sum(binding.values())} shots): {{{shown}{more}}}")
            if len(batch) > _MAX_BINDINGS_SHOWN:
                say(f"  ... {len(batch) - _MAX_BINDINGS_SHOWN} more binding(s) (--json prints all)")
    if result.expectations is not None:
        say(f"expectation values, {len(result.expectations)} circuit(s)")
        for b, values in enumerate(result.expectations):
            values = np.asarray(values)
            say(f"circuit {b}: shape {tuple(values.shape)} (bindings, observables)")
            for n, row in enumerate(values[:_MAX_BINDINGS_SHOWN]):
                say(f"  binding {n}: {np.array2string(np.atleast_1d(row), precision=6, separator=', ')}")
            if values.shape[0] > _MAX_BINDINGS_SHOWN:
                say(f"  ... {values.shape[0] - _MAX_BINDINGS_SHOWN} more binding(s) (--json prints all)")
    if result.metadata:
        say(f"metadata: {json.dumps(result.metadata, sort_keys=True)}")


# -- commands ----------------------------------------------------------------------------------


def _list(args: argparse.Namespace, say: _Printer) -> int:
    from hardware.errors import JournalError
    from hardware.journal import default_journal_path

    path = _journal_path(args)
    try:
        journal = _open(args)
    except JournalError:
        from pathlib import Path

        where = Path(path).expanduser() if path else default_journal_path()
        if where.is_dir() or (where.exists() and where.stat().st_size > 0):
            raise
        if args.json:
            say("[]")
        else:
            say(f"no jobs: there is no journal at {where} yet")
        return 0
    with journal:
        provider = device = None
        if args.backend:
            provider, _, device = args.backend.partition(":")
            device = device or None
        records = journal.list(status=args.status, provider=provider or None, device=device)
    if args.json:
        say(json.dumps([_fields(r) for r in records]))
        return 0
    if not records:
        say(f"no jobs{' matching the filters' if args.status or args.backend else ''} in {journal.path}")
        return 0
    header = ("ID", "STATE", "BACKEND", "REMOTE ID", "CREATED", "WORK")
    rows = [(str(r.id), r.state, _backend(r), _short(r.remote_id, 40), _when(r.created_at), _work(r)) for r in records]
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header) - 1)]
    for row in (header, *rows):
        say("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1])
    return 0


def _show(args: argparse.Namespace, say: _Printer) -> int:
    with _open(args) as journal:
        record = _find(journal, args.id)
    fields = _fields(record)
    if args.json:
        say(json.dumps(fields))
        return 0
    for name in ("id", "key", "state", "provider", "device", "remote_id", "attempts", "owner", "error"):
        say(f"{name + ':':<12} {'-' if fields[name] is None else fields[name]}")
    say(f"{'created:':<12} {_when(record.created_at)} ({record.created_at:.3f})")
    say(f"{'updated:':<12} {_when(record.updated_at)} ({record.updated_at:.3f})")
    say(f"{'payload:':<12} {len(record.payload)} bytes")
    say(f"{'result:':<12} {'-' if record.result is None else f'{len(record.result)} bytes'}")
    say("summary:")
    say(json.dumps(record.summary, indent=2, sort_keys=True))
    return 0


def _fetch(args: argparse.Namespace, say: _Printer) -> int:
    from hardware.serialize import load_result, result_to_json

    with _open(args) as journal:
        record = _find(journal, args.id)
        if record.state != "done":
            if record.final:
                say(f"job {record.id} {record.state}: {record.error or 'no reason recorded'}")
                return 1
            if record.remote_id is None:
                say(
                    f"job {record.id} has no provider job id yet (state {record.state}); "
                    "'qml jobs resume' looks it up by its tag"
                )
                return 1
            provider = _Providers()(record)
            deadline = _clock() + args.wait
            interval = 0.5
            while True:
                record = _sync(journal, record, provider)
                if record.final or _clock() >= deadline:
                    break
                _sleep(min(interval, max(0.0, deadline - _clock())))
                interval = min(2 * interval, 10.0)
            if record.state != "done":
                if record.final:
                    say(f"job {record.id} {record.state}: {record.error or 'no reason recorded'}")
                else:
                    say(
                        f"job {record.id} is {record.state} on {_backend(record)} (remote id {record.remote_id}); "
                        "fetch again later, or wait with --wait S"
                    )
                return 1
    if record.result is None:
        say(f"job {record.id} is done but no result was stored (it finished before results were kept)")
        return 1
    result = load_result(record.result)
    if args.json:
        fields = {"id": record.id, "key": record.key, "remote_id": record.remote_id, **result_to_json(result)}
        if result.counts is not None:
            fields["bit_order"] = BIT_ORDER
        say(json.dumps(fields))
    else:
        _print_result(record, result, say)
    return 0


def _cancel(args: argparse.Namespace, say: _Printer) -> int:
    with _open(args) as journal:
        record = _find(journal, args.id)
        if record.final:
            raise _UserError(f"job {record.id} is already {record.state}; there is nothing to cancel")
        if record.state == "sending" and not journal.sending_abandoned(record):
            raise _UserError(
                f"job {record.id} is being sent right now by {record.owner}; cancel it once it has a provider "
                "job id ('qml jobs list' shows it)"
            )
        provider = _Providers()(record)
        if record.remote_id is None:
            record = _find_by_tag(journal, record, provider) or record
        if record.remote_id is None:
            journal.set_state(record.key, "cancelled", error="cancelled with 'qml jobs cancel' before it was sent")
            say(f"job {record.id}: cancelled (it was never sent, and will not be)")
            return 0
        record = _sync(journal, record, provider)
        if record.final:
            say(f"job {record.id} had already finished at {_backend(record)}: {record.state}; nothing cancelled")
            return 1
        remote = record.remote_id
        _retry(lambda: provider.cancel(remote))
        journal.set_state(record.key, "cancelled", error="cancelled with 'qml jobs cancel'")
        say(f"job {record.id}: cancelled at {_backend(record)} (remote id {remote})")
        return 0


def _resume(args: argparse.Namespace, say: _Printer) -> int:
    from hardware.errors import HardwareError

    failures = 0
    with _open(args) as journal:
        pending = journal.unfinished()
        if not pending:
            say(f"no unfinished jobs in {journal.path}")
            return 0
        providers = _Providers()
        for record in pending:
            label = f"job {record.id} ({_backend(record)})"
            try:
                if record.remote_id is None:
                    if record.state == "sending" and not journal.sending_abandoned(record):
                        say(f"{label}: being sent by {record.owner}; skipped")
                        continue
                    found = _find_by_tag(journal, record, providers(record))
                    if found is None:
                        say(
                            f"{label}: never sent (no job tagged with its key at the provider); "
                            "run the program that recorded it again to send it"
                        )
                        continue
                    say(f"{label}: found by tag: remote id {found.remote_id}")
                    record = found
                record = _sync(journal, record, providers(record))
            except (_UserError, HardwareError, ValueError, OSError) as exc:
                failures += 1
                say(f"{label}: error: {' '.join(str(exc).split())}")
                continue
            if record.state == "done":
                say(f"{label}: done, result stored ({len(record.result or b'')} bytes)")
            elif record.final:
                say(f"{label}: {record.state}: {record.error or 'no reason recorded'}")
            else:
                say(f"{label}: {record.state} (remote id {record.remote_id})")
    return 1 if failures else 0


_COMMANDS: dict[str, Callable[[argparse.Namespace, _Printer], int]] = {
    "list": _list,
    "show": _show,
    "fetch": _fetch,
    "cancel": _cancel,
    "resume": _resume,
}
