"""qml-hybrid's models and training: torch modules that take a ``circuits.Backend``."""

from __future__ import annotations

__all__: list[str] = []
