"""qml-hybrid's models and training: torch modules that take a ``circuits.Backend``."""

from __future__ import annotations

from qml.layers import QuantumLayer

__all__ = ["QuantumLayer"]
