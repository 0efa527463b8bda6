"""Ready-made hybrid models (torch modules that take a ``circuits.Backend``)."""

from __future__ import annotations

from qml.models.hybrid_classifier import HybridClassifier
from qml.models.vqc_regressor import VQCRegressor

__all__ = ["HybridClassifier", "VQCRegressor"]
