"""Errors of :mod:`qml.recurrent`; each also derives from the built-in exception a caller would catch."""

from __future__ import annotations

__all__ = ["PostselectionError", "RecurrentError"]


class RecurrentError(Exception):
    """Base class of the errors raised by :mod:`qml.recurrent`."""


class PostselectionError(RecurrentError, ArithmeticError):
    """A postselection whose probability underflowed: the state cannot be renormalised.

    The message names the time step, the sample and what was postselected (the neurons' ancillas of
    a stage, or the out-lanes on a target class).
    """
