"""Ready-made hybrid models (torch modules that take a ``circuits.Backend``).

Image classifiers (docs/image-classifiers.md): :class:`HamiltonianEmbeddingClassifier` (arXiv 2407.14055),
its :class:`QCNNClassifier` baseline, and Farhi and Neven's :class:`ReadoutQNN` (arXiv 1802.06002), with the
losses they train with (:class:`ReadoutCrossEntropy`, :class:`HingeLoss`).
"""

from __future__ import annotations

from qml.models._image_common import ReadoutCrossEntropy
from qml.models.hamiltonian_embedding import HamiltonianEmbeddingClassifier
from qml.models.hybrid_classifier import HybridClassifier
from qml.models.qcnn import QCNNClassifier
from qml.models.readout_qnn import HingeLoss, ReadoutQNN
from qml.models.vqc_regressor import VQCRegressor

__all__ = [
    "HamiltonianEmbeddingClassifier",
    "HingeLoss",
    "HybridClassifier",
    "QCNNClassifier",
    "ReadoutCrossEntropy",
    "ReadoutQNN",
    "VQCRegressor",
]
