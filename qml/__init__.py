"""qml-hybrid's models and training: torch modules that take a ``circuits.Backend``.

``QuantumLayer`` loads on first use, so ``import qml`` (and ``qml --help``) does not load torch.

The names ``circuits``, ``qml`` and ``hardware`` are also used by other distributions: importing this
package raises ``circuits.errors.ShadowedPackageError`` when one of them shadows ours
(``circuits/_provenance.py``).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qml.layers import QuantumLayer

__all__ = ["QuantumLayer"]

_WHERE = {"QuantumLayer": "qml.layers"}


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
    raise AttributeError(f"module 'qml' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
