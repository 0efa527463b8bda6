"""Providers: the thin layer between a submission and a vendor's service (or a simulator)."""

from __future__ import annotations

from hardware.providers.base import (
    JOB_STATES,
    CircuitBatch,
    DeviceTarget,
    JobState,
    PriceModel,
    Provider,
    Submission,
    SubmissionResult,
)

__all__ = [
    "JOB_STATES",
    "CircuitBatch",
    "DeviceTarget",
    "JobState",
    "PriceModel",
    "Provider",
    "Submission",
    "SubmissionResult",
]
