"""Errors of the hardware layer: each names the problem and the way out, and never carries a credential."""

from __future__ import annotations

__all__ = [
    "CredentialsError",
    "DeviceTooSmallError",
    "HardwareError",
    "JobFailedError",
    "JobNotFoundError",
    "JobTimeoutError",
    "JournalError",
    "TransientProviderError",
    "UnknownDeviceError",
    "UnknownProviderError",
]


class HardwareError(Exception):
    """Base class of the hardware layer's errors."""


class UnknownProviderError(HardwareError, ValueError):
    """A provider name that is not registered; the message lists the known ones."""


class UnknownDeviceError(HardwareError, ValueError):
    """A device the provider does not offer; the message lists the ones it does."""


class CredentialsError(HardwareError):
    """No usable credentials; the message says where to put them (never what they are)."""


class DeviceTooSmallError(HardwareError, ValueError):
    """A circuit wider than the device."""


class TransientProviderError(HardwareError):
    """A failure worth retrying (network, rate limit, service unavailable); retried with backoff, bounded."""


class JobFailedError(HardwareError):
    """The provider reports the job failed or was cancelled: a final state, not retried."""


class JobTimeoutError(HardwareError):
    """The job did not finish within the allowed time; it stays in the journal and can be resumed."""


class JobNotFoundError(HardwareError, KeyError):
    """A job id that is malformed, expired, or unknown to the provider or the journal."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class JournalError(HardwareError):
    """The journal file is not ours, is of another version, or is corrupted; it is never overwritten."""
