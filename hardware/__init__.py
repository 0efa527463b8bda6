"""qml-hybrid's hardware layer: cloud QPU providers, compilation, shots and mitigation, the job journal.

``ProviderBackend("ibm:ibm_torino", shots=4000)`` is a :class:`circuits.Backend`: any model runs on a
device unchanged, one job per training step, every job recorded before it is sent. See docs/hardware.md.

The names below load on first use, so ``import hardware.journal`` (the ``qml jobs`` command, a job
script) does not pull in torch and the engine.

The names ``circuits``, ``qml`` and ``hardware`` are also used by other distributions: importing this
package raises ``circuits.errors.ShadowedPackageError`` when one of them shadows ours
(``circuits/_provenance.py``).
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


def _verify_installation() -> None:
    """Fail loudly when ``circuits``, ``qml`` or ``hardware`` is not ours (``circuits/_provenance.py``).

    The check is loaded by its path: ``import circuits._provenance`` would first run whatever ``circuits``
    resolves to, which is what is being checked, and load torch.
    """
    from importlib.util import module_from_spec, spec_from_file_location
    from os.path import dirname, join

    path = join(dirname(dirname(__file__)), "circuits", "_provenance.py")
    spec = spec_from_file_location("circuits._provenance", path)
    provenance = module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(provenance)  # type: ignore[union-attr]
    provenance.verify_installation(__file__)


_verify_installation()


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'hardware' has no attribute {name!r}")
