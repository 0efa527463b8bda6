"""Retry of transient provider failures: exponential backoff, bounded in attempts and in time.

Only the errors named in :data:`TRANSIENT_ERRORS` (network hiccups, rate limits, a service briefly
unavailable: :class:`~hardware.errors.TransientProviderError`) are retried. Everything else (a
failed job, missing credentials, an unknown job id, a bug) is re-raised at once: retrying it would
only repeat the failure, or pay twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from hardware.errors import TransientProviderError
from hardware.journal import scrub

__all__ = ["TRANSIENT_ERRORS", "retry_transient"]

T = TypeVar("T")

TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (TransientProviderError,)
"""The errors worth retrying; nothing else is."""

_log = logging.getLogger(__name__)


def retry_transient(
    fn: Callable[[], T],
    *,
    attempts: int = 5,
    base_delay: float = 0.5,
    max_delay: float = 8.0,
    deadline_s: float = 60.0,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_retry: Callable[[int, BaseException, float], object] | None = None,
) -> T:
    """Call ``fn()``, retrying transient provider errors with exponential backoff.

    The ``k``-th retry waits ``min(base_delay * 2**(k-1), max_delay)`` seconds. No retry starts
    when ``attempts`` calls have been made, or when its wait would end past ``deadline_s``
    seconds after the first call; the last transient error is then re-raised as a
    :class:`~hardware.errors.TransientProviderError` that says how many attempts were made.

    Args:
        fn: the call to make (no arguments; close over what it needs).
        attempts: the most calls of ``fn`` in all (``1``: no retry).
        base_delay: the first wait, in seconds.
        max_delay: the longest single wait, in seconds.
        deadline_s: the total time bound, in seconds from the first call.
        sleep: waits that many seconds (inject a fake one in tests).
        clock: monotonic seconds (inject a fake one together with ``sleep``).
        on_retry: called as ``on_retry(attempt, error, delay)`` before each wait (e.g. to count
            attempts in the journal).

    Returns:
        What ``fn()`` returned.

    Raises:
        TransientProviderError: the retries ran out (attempts or time); chained to the last error.
        Exception: any non-transient error of ``fn``, unchanged and at once.
    """
    if isinstance(attempts, bool) or not isinstance(attempts, int):
        raise TypeError(f"attempts must be an int, got {type(attempts).__name__}")
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    for name, value in (("base_delay", base_delay), ("max_delay", max_delay), ("deadline_s", deadline_s)):
        if not value >= 0:
            raise ValueError(f"{name} must be a non-negative number of seconds, got {value!r}")
    start = clock()
    delay = float(base_delay)
    attempt = 0
    while True:
        attempt += 1
        try:
            return fn()
        except TRANSIENT_ERRORS as exc:
            wait = min(delay, float(max_delay))
            elapsed = clock() - start
            if attempt >= attempts or elapsed + wait > deadline_s:
                raise TransientProviderError(
                    f"{scrub(str(exc))} (gave up after {attempt} attempt(s) in {elapsed:.1f} s; "
                    "the service may be down or rate-limiting: try again later)"
                ) from exc
            _log.warning("transient provider error, retry %d in %.2f s: %s", attempt, wait, scrub(str(exc)))
            if on_retry is not None:
                on_retry(attempt, exc, wait)
            sleep(wait)
            delay *= 2.0
