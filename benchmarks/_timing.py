"""Wall-clock timing shared by the benchmark scripts: a warm-up call, then the median of repeated calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any


def median_time(step: Callable[[], object], reps: int) -> dict[str, Any]:
    """Call ``step`` once to warm up (plans, caches), then ``reps`` times; seconds per call.

    Returns:
        ``{"median_s", "min_s", "reps"}``.
    """
    step()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        step()
        times.append(time.perf_counter() - started)
    return {"median_s": statistics.median(times), "min_s": min(times), "reps": reps}
