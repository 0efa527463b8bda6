"""Torch layers built on circuits: each takes a ``circuits.Backend`` object, never a backend name."""

from __future__ import annotations

from qml.layers.quantum_layer import QuantumLayer

__all__ = ["QuantumLayer"]
