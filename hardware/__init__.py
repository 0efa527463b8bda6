"""qml-hybrid's hardware layer: cloud QPU providers, compilation, shots, the job journal (issue 6)."""

from __future__ import annotations

__all__: list[str] = []
