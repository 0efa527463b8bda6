"""Provider names -> factories: ``ibm:ibm_torino`` or ``braket:sv1`` becomes a provider object.

Used by the command line and by the journal (which records provider and device names, never
credentials). Vendor SDKs load only when their provider is made.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from hardware.errors import UnknownProviderError
from hardware.providers.base import Provider

__all__ = ["PROVIDERS", "make_provider", "parse_spec", "register_provider"]

PROVIDERS: dict[str, str] = {
    "ibm": "hardware.providers.ibm:make_provider",
    "braket": "hardware.providers.braket:make_provider",
    "qiskit": "hardware.providers.qiskit_backend:make_provider",
    "scripted": "hardware.providers.scripted:make_provider",
}
"""name -> ``module:function``; the function takes ``(device, **options)`` and returns a :class:`Provider`."""


def register_provider(name: str, factory: str | Callable[..., Provider]) -> None:
    """Add a provider factory (``"module:function"`` or a callable) under ``name``."""
    PROVIDERS[name] = factory  # type: ignore[assignment]


def parse_spec(spec: str) -> tuple[str, str]:
    """``"ibm:ibm_torino"`` -> ``("ibm", "ibm_torino")``.

    Raises:
        UnknownProviderError: no ``provider:device`` form, or an unknown provider.
    """
    provider, sep, device = spec.partition(":")
    if not sep or not device:
        raise UnknownProviderError(
            f"expected PROVIDER:DEVICE (e.g. ibm:ibm_torino, braket:local), got {spec!r}; "
            f"known providers: {', '.join(sorted(PROVIDERS))}."
        )
    if provider not in PROVIDERS:
        raise UnknownProviderError(f"unknown provider {provider!r}; known providers: {', '.join(sorted(PROVIDERS))}.")
    return provider, device


def make_provider(name: str, device: str, **options: Any) -> Provider:
    """The provider ``name`` for ``device`` (options are the provider's own, never credentials)."""
    if name not in PROVIDERS:
        raise UnknownProviderError(f"unknown provider {name!r}; known providers: {', '.join(sorted(PROVIDERS))}.")
    factory = PROVIDERS[name]
    if isinstance(factory, str):
        module, _, function = factory.partition(":")
        factory = getattr(importlib.import_module(module), function)
    return factory(device, **options)
