"""Errors of the training toolkit: each says what went wrong and how to go on."""

from __future__ import annotations

__all__ = ["CheckpointError", "NonFiniteLossError", "OutputDirectoryError", "TrainingError"]


class TrainingError(Exception):
    """Base class of the training toolkit's errors."""


class NonFiniteLossError(TrainingError):
    """The loss became NaN or infinite; training stopped and the last good checkpoint is kept.

    Attributes:
        epoch: the epoch (1-based) in which the loss was not finite.
        step: the optimizer step (1-based, within the epoch).
    """

    def __init__(self, message: str, epoch: int, step: int) -> None:
        super().__init__(message)
        self.epoch = epoch
        self.step = step


class CheckpointError(TrainingError):
    """A checkpoint is missing, unreadable, or does not belong to this run."""


class OutputDirectoryError(TrainingError):
    """The output directory holds an earlier run and neither resume nor overwrite was asked for."""
