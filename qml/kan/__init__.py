"""Quantum Kolmogorov-Arnold networks: DARUAN activations, QKAN layers and networks, HQKAN.

Jiang, Huang, Chen, Goan 2025 (arXiv 2509.14026). The DARUAN circuit is
:func:`circuits.library.daruan_circuit`; :class:`QKANLayer` evaluates it by a closed-form fast path
or on any backend.
"""

from __future__ import annotations

from qml.kan.bloch import daruan_expectation
from qml.kan.daruan import DARUAN
from qml.kan.layer import EXTENDABLE_ANSATZES, QKANLayer
from qml.kan.network import HQKAN, JHCG, QKAN

__all__ = ["DARUAN", "EXTENDABLE_ANSATZES", "HQKAN", "JHCG", "QKAN", "QKANLayer", "daruan_expectation"]
