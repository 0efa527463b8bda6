"""qml-hybrid's hardware layer: cloud QPU providers, compilation, shots and mitigation, the job journal.

``ProviderBackend("ibm:ibm_torino", shots=4000)`` is a :class:`circuits.Backend`: any model runs on a
device unchanged, one job per training step, every job recorded before it is sent. See docs/hardware.md.

The names below load on first use, so ``import hardware.journal`` (the ``qml jobs`` command, a job
script) does not pull in torch and the engine.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["PROVIDERS", "JobRunner", "Journal", "ProviderBackend", "backend_from_spec", "make_provider"]

_WHERE = {
    "ProviderBackend": "hardware.backend",
    "backend_from_spec": "hardware.backend",
    "Journal": "hardware.journal",
    "JobRunner": "hardware.runner",
    "PROVIDERS": "hardware.registry",
    "make_provider": "hardware.registry",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'hardware' has no attribute {name!r}")
