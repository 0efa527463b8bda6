"""Recurrent models of the QLSTM and QKAN-LSTM papers, with one cell interface.

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
``SequenceRegressor``        a cell over a window, then a linear head: the next value
``count_trainable``          trainable scalars of a model
==========================  =====================================================================
"""

from __future__ import annotations

from qml.recurrent.cells import HQKANLSTMCell, LSTMCell, QKANLSTMCell, QLSTMCell, RecurrentCell, State
from qml.recurrent.sequence import SequenceRegressor, count_trainable
from qml.recurrent.vqc import VQC, vqc_circuit

__all__ = [
    "VQC",
    "HQKANLSTMCell",
    "LSTMCell",
    "QKANLSTMCell",
    "QLSTMCell",
    "RecurrentCell",
    "SequenceRegressor",
    "State",
    "count_trainable",
    "vqc_circuit",
]
