"""Send a submission so that it is paid for once and its result is never lost.

The protocol (:meth:`JobRunner.run`), with the journal written before every step that costs money:

1. the submission's content key (:func:`~hardware.submission.submission_key`, our own canonical hash,
   independent of Qiskit's transpiler and exporters) is looked up; a stored result returns at once, a
   known remote id is re-attached to. A journal that still holds version-1 keys (written before key
   version 2) is also searched under the submission's version-1 key
   (:func:`~hardware.submission.legacy_submission_key`), and the job keeps that key;
2. otherwise the row is recorded (``recorded``) and claimed by this process (``sending``); a row left
   ``sending`` by a process that died is first looked up at the provider by its tag (the key), because
   that process may have sent it before it could write the id down;
3. the cost estimate is printed, the job is sent with the key among its tags, and the remote id is
   written (``submitted``) as soon as it is known; a transient error during the send is answered by
   the same tag lookup before trying again, so a lost reply does not send the job twice;
4. the job is polled (``running``) until a final state, within the timeout (on timeout the job stays
   in the journal: run again, or ``qml jobs resume``); the result is stored (``done``) and returned.

Only :class:`~hardware.errors.TransientProviderError` is retried, with exponential backoff and a
time bound (:func:`hardware.retry.retry_transient`).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable

from hardware.cost import estimate_cost, format_cost
from hardware.errors import JobFailedError, JobTimeoutError, TransientProviderError
from hardware.journal import Journal, current_owner
from hardware.providers.base import DeviceTarget, Provider, Submission, SubmissionResult, check_submission
from hardware.retry import retry_transient
from hardware.serialize import dump_result, load_result
from hardware.submission import (
    LEGACY_KEY_GLOB,
    dump_submission,
    legacy_submission_key,
    submission_key,
    submission_summary,
)

__all__ = ["JobRunner"]


class JobRunner:
    """Runs submissions on one provider through one journal.

    Args:
        provider: where the jobs go.
        journal: the record of every job (``None``: the default journal).
        poll_interval: seconds between status polls (grows to 4x while a job stays queued).
        timeout: seconds a job may take before :class:`~hardware.errors.JobTimeoutError` (``None``: no limit).
        retry_deadline: seconds transient errors of one call are retried for.
        log: where the cost estimate and job lines go (``None``: standard error).
        sleep: the sleeping function (tests pass a fake).
    """

    def __init__(
        self,
        provider: Provider,
        journal: Journal | None = None,
        *,
        poll_interval: float = 1.0,
        timeout: float | None = None,
        retry_deadline: float = 120.0,
        log: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.provider = provider
        self.journal = journal if journal is not None else Journal()
        self.poll_interval, self.timeout, self.retry_deadline = poll_interval, timeout, retry_deadline
        self.log, self.sleep = log, sleep

    def _retry(self, call: Callable[[], object]) -> object:
        return retry_transient(call, deadline_s=self.retry_deadline, sleep=self.sleep)

    def _say(self, line: str) -> None:
        if self.log is None:
            print(line, file=sys.stderr)  # stderr: a script's stdout (results, JSON) stays clean
        else:
            self.log(line)

    def run(self, submission: Submission) -> SubmissionResult:
        """Send ``submission`` once (or re-attach to it) and return its result."""
        target = self.provider.target()
        check_submission(submission, target)
        key = self._key(submission, target)
        submission = dataclasses.replace(submission, tags=(*submission.tags, key))
        record, _ = self.journal.record(
            key,
            provider=target.provider,
            device=target.name,
            payload=dump_submission(submission),
            summary=submission_summary(submission, target),
        )
        if record.state == "done" and record.result is not None:
            return load_result(record.result)
        if record.state in ("failed", "cancelled"):
            raise JobFailedError(
                f"job {record.id} ({record.remote_id}) on {target.provider}:{target.name} ended {record.state}"
                f"{': ' + record.error if record.error else ''}. Change the submission (e.g. its seed) to send a new "
                "one; 'qml jobs show' has the details."
            )
        remote_id = record.remote_id or self._send(key, submission, target)
        return self._wait(key, remote_id)

    def _key(self, submission: Submission, target: DeviceTarget) -> str:
        """The submission's key, or its version-1 key where the journal recorded the job under that."""
        key = submission_key(submission, target)
        if self.journal.get(key) is not None or not self.journal.has_key_matching(LEGACY_KEY_GLOB):
            return key
        try:
            legacy = legacy_submission_key(submission, target)
        except Exception:  # an exporter that cannot write these circuits: no version-1 row can match either
            return key
        return legacy if self.journal.get(legacy) is not None else key

    def _send(self, key: str, submission: Submission, target: object) -> str:
        """Claim the row and send the job, unless an earlier attempt already did (found by its tag)."""
        while True:
            found = self._retry(lambda: self.provider.find_by_tag(key))
            if found is not None:
                self.journal.set_submitted(key, str(found))
                self._say(f"re-attached to job {found} (sent before a crash)")
                return str(found)
            if self.journal.claim(key, current_owner()):
                break
            current = self.journal.get(key)
            if current is not None and current.remote_id is not None:
                return current.remote_id
            self.sleep(self.poll_interval)  # another live process is sending it: wait for its remote id
        self._say(format_cost(estimate_cost(submission, target)))
        deadline = time.monotonic() + self.retry_deadline
        delay = 0.5
        while True:
            try:
                remote_id = self.provider.submit(submission)
                break
            except TransientProviderError:
                found = self.provider.find_by_tag(key)  # the job may have been accepted before the reply was lost
                if found is not None:
                    remote_id = found
                    break
                if time.monotonic() + delay > deadline:
                    raise
                self.sleep(delay)
                delay = min(delay * 2, 8.0)
        self.journal.set_submitted(key, remote_id)
        self._say(f"submitted job {remote_id} ({self.provider.target().provider}:{self.provider.target().name})")
        return remote_id

    def _wait(self, key: str, remote_id: str) -> SubmissionResult:
        """Poll to a final state, store and return the result."""
        started = time.monotonic()
        interval = self.poll_interval
        while True:
            state = self._retry(lambda: self.provider.status(remote_id))
            if state == "done":
                break
            if state in ("failed", "cancelled"):
                self.journal.set_state(key, state, error=f"provider reported {state}")
                raise JobFailedError(f"job {remote_id} ended {state} at the provider; see 'qml jobs show {remote_id}'.")
            current = self.journal.get(key)
            if current is not None and current.state != "running":
                self.journal.set_state(key, "running")
            if self.timeout is not None and time.monotonic() - started > self.timeout:
                raise JobTimeoutError(
                    f"job {remote_id} still {state} after {self.timeout:.0f} s; it stays in the journal: run the same "
                    "code again to re-attach, or 'qml jobs resume'."
                )
            self.sleep(interval)
            interval = min(interval * 1.5, 4 * self.poll_interval)
        result = self._retry(lambda: self.provider.result(remote_id))
        self.journal.store_result(key, dump_result(result))
        return result
