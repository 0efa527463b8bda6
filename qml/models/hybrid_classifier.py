"""A hybrid classifier: a linear encoder, a data re-uploading circuit, a linear head."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from circuits import Circuit, Z
from circuits.backend import Backend
from circuits.ir.observables import Observable
from circuits.library import data_reuploading
from qml.layers import QuantumLayer
from qml.layers.init import seeded_linear

__all__ = ["HybridClassifier"]


class HybridClassifier(nn.Module):
    """``Linear(num_features -> num_qubits) -> pi * tanh -> QuantumLayer -> Linear(num_qubits -> num_classes)``.

    * the encoder maps the features to ``num_qubits`` angles in ``(-pi, pi)``;
    * the quantum layer is a data re-uploading circuit (Pérez-Salinas et al. 2020,
      :func:`circuits.library.data_reuploading`) read out as ``<Z_i>`` on every qubit;
    * the head turns the ``num_qubits`` expectation values into class logits.

    Args:
        num_features: input features per sample.
        num_classes: number of classes (logits per sample).
        num_qubits: width of the circuit.
        num_layers: re-uploading layers of the circuit.
        backend: where the circuit runs.
        generator: draws every initial weight (classical and quantum), so a seed fixes the model.
        circuit: the quantum layer's circuit, with the vectors ``x`` (``num_qubits`` inputs) and ``w``;
            ``None``: ``data_reuploading(num_qubits, num_layers)``. (The same circuit in a device's native
            gates, say; ``num_layers`` is then only recorded.)
        observables: the ``num_qubits`` outputs of the quantum layer; ``None``: ``Z`` on every qubit.

    Shape:
        - Input: ``(batch_size, num_features)``.
        - Output: ``(batch_size, num_classes)`` logits.
    """

    def __init__(
        self,
        num_features: int,
        num_classes: int,
        num_qubits: int,
        num_layers: int,
        backend: Backend,
        generator: torch.Generator,
        *,
        circuit: Circuit | None = None,
        observables: Sequence[Observable] | None = None,
    ) -> None:
        super().__init__()
        self.encoder = seeded_linear(num_features, num_qubits, generator)
        if circuit is None:
            circuit = data_reuploading(num_qubits, num_layers, inputs="x", weights="w")
        if observables is None:
            observables = [Z(i) for i in range(num_qubits)]
        self.quantum = QuantumLayer(circuit, list(observables), backend, generator=generator)
        self.head = seeded_linear(num_qubits, num_classes, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of a batch."""
        angles = math.pi * torch.tanh(self.encoder(x))
        return self.head(self.quantum(angles))
