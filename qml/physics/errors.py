"""Errors of :mod:`qml.physics`; each also derives from the built-in exception a caller would catch."""

from __future__ import annotations

__all__ = ["IntegrationError", "PhysicsError"]


class PhysicsError(Exception):
    """Base class of the errors raised by :mod:`qml.physics`."""


class IntegrationError(PhysicsError, ArithmeticError):
    """A rollout could not be integrated: an implicit stage did not converge, or the solver gave up.

    The message names the step or time reached and what to change (a smaller time step, another method).
    """
