"""A variational regressor: a data re-uploading circuit on the inputs and a linear readout."""

from __future__ import annotations

import math

import torch
from torch import nn

from circuits import Z
from circuits.backend import Backend
from circuits.library import data_reuploading
from qml.layers import QuantumLayer
from qml.layers.init import seeded_linear

__all__ = ["VQCRegressor"]


class VQCRegressor(nn.Module):
    """``pi/2 * x -> QuantumLayer -> Linear(num_inputs -> 1)``: one qubit per input feature.

    Inputs scaled to ``[-1, 1]`` (as :mod:`qml.data`'s time series are) become angles in
    ``[-pi/2, pi/2]``, uploaded ``num_layers`` times (:func:`circuits.library.data_reuploading`);
    the ``<Z_i>`` of every qubit go through a linear readout.

    Args:
        num_inputs: features per sample (= qubits), e.g. the window length of a time series.
        num_layers: re-uploading layers.
        backend: where the circuit runs.
        generator: draws every initial weight.

    Shape:
        - Input: ``(batch_size, num_inputs)``.
        - Output: ``(batch_size,)``.
    """

    def __init__(self, num_inputs: int, num_layers: int, backend: Backend, generator: torch.Generator) -> None:
        super().__init__()
        circuit = data_reuploading(num_inputs, num_layers, inputs="x", weights="w")
        self.quantum = QuantumLayer(circuit, [Z(i) for i in range(num_inputs)], backend, generator=generator)
        self.readout = seeded_linear(num_inputs, 1, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predictions of a batch."""
        return self.readout(self.quantum(0.5 * math.pi * x)).squeeze(-1)
