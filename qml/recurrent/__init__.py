"""Recurrent models: QLSTM, QKAN-LSTM, Chen's QRNN/QGRU and reservoirs, Bausch's QRNN; one cell interface.

==========================  =====================================================================
name                         what
==========================  =====================================================================
``VQC``                      Chen, Yoo, Fang's VQC block (arctan encoding, CNOT rings, ``Rot``)
``vqc_circuit``              its circuit
``RecurrentCell``            ``cell(x_t, state) -> (output_t, new_state)``
``LSTMCell``                 the classical LSTM (``nn.LSTMCell`` equations and weight layout)
``QLSTMCell``                Chen et al.'s QLSTM: six VQCs (arXiv 2009.01783)
``QKANLSTMCell``             QKAN-LSTM: a ``QKANLayer`` per gate (Hsu et al., arXiv 2512.05049)
``HQKANLSTMCell``            HQKAN-LSTM: ``Linear -> QKAN -> Linear`` per gate
``RNNCell``, ``GRUCell``     the classical Elman RNN and GRU (``nn.RNNCell``/``nn.GRUCell`` layouts)
``QRNNCell``, ``QGRUCell``   Chen et al.'s QRNN and QGRU: VQCs in place of the affine maps (arXiv 2211.02612)
``RecurrentLayer``           any cell over ``(B, T, F)`` sequences, batch first, like ``nn.GRU``
``SequenceRegressor``        a cell over a window, then a linear head: the next value
``count_trainable``          trainable scalars of a model
``apply_quantum_neuron``     Bausch's quantum neuron on a batched state (fast path of the circuit)
``QuantumNeuronCell``        Bausch's QRNN cell: input, work and output stages of quantum neurons
``QuantumNeuronRNN``         Bausch's QRNN (arXiv 2006.14619): the cell unrolled with postselection
``qrnn_loss``                its loss: cross-entropy with probabilities as logits, minus the floor
``PackedQRNN``               the QRNN for ``model(inputs)`` loops: bits, targets, scored steps packed
``Reservoir``                any cell frozen at seeded random weights: sequences to features
``RidgeReadout``             closed-form ridge read-out, strength chosen on a validation split
``ReservoirRegressor``       reservoir + linear read-out (only the read-out trains)
==========================  =====================================================================
"""

from __future__ import annotations

from qml.recurrent.cells import HQKANLSTMCell, LSTMCell, QKANLSTMCell, QLSTMCell, RecurrentCell, State
from qml.recurrent.errors import PostselectionError, RecurrentError
from qml.recurrent.layer import RecurrentLayer
from qml.recurrent.packed import (
    PackedQRNN,
    expected_accuracy,
    min_postselection,
    pack_sequences,
    packed_qrnn_loss,
    scored_accuracy,
    scored_predictions,
)
from qml.recurrent.qrnn import (
    GRADIENT_CLIP_NORM,
    QRNNOutput,
    QuantumNeuronCell,
    QuantumNeuronRNN,
    clip_gradients,
    qrnn_loss,
    qrnn_loss_floor,
    qrnn_parameter_count,
)
from qml.recurrent.quantum_neuron import apply_quantum_neuron, neuron_activation, neuron_factors
from qml.recurrent.reservoir import (
    DEFAULT_RIDGE_ALPHAS,
    Reservoir,
    ReservoirRegressor,
    RidgeFit,
    RidgeReadout,
    collect_features,
    train_linear_readout,
)
from qml.recurrent.rnn_cells import GRUCell, QGRUCell, QRNNCell, RNNCell
from qml.recurrent.sequence import SequenceRegressor, count_trainable
from qml.recurrent.vqc import VQC, vqc_circuit

__all__ = [
    "DEFAULT_RIDGE_ALPHAS",
    "GRADIENT_CLIP_NORM",
    "VQC",
    "GRUCell",
    "HQKANLSTMCell",
    "LSTMCell",
    "PackedQRNN",
    "PostselectionError",
    "QGRUCell",
    "QKANLSTMCell",
    "QLSTMCell",
    "QRNNCell",
    "QRNNOutput",
    "QuantumNeuronCell",
    "QuantumNeuronRNN",
    "RNNCell",
    "RecurrentCell",
    "RecurrentError",
    "RecurrentLayer",
    "Reservoir",
    "ReservoirRegressor",
    "RidgeFit",
    "RidgeReadout",
    "SequenceRegressor",
    "State",
    "apply_quantum_neuron",
    "clip_gradients",
    "collect_features",
    "count_trainable",
    "expected_accuracy",
    "min_postselection",
    "neuron_activation",
    "neuron_factors",
    "pack_sequences",
    "packed_qrnn_loss",
    "qrnn_loss",
    "qrnn_loss_floor",
    "qrnn_parameter_count",
    "scored_accuracy",
    "scored_predictions",
    "train_linear_readout",
    "vqc_circuit",
]
