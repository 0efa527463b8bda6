"""Circuit templates: data encodings and variational ansatze, each a pure function returning a ``Circuit``.

==============================  ==========================================================
template                         circuit
==============================  ==========================================================
``angle_encoding``               ``RY(x[i])`` (or RX / RZ) on every qubit
``data_reuploading``             encoding + trainable block, repeated (Pérez-Salinas 2020)
``reuploading_hea``              the benchmark workload of docs/performance.md
``hardware_efficient_ansatz``    trainable rotations + a ring of CNOTs, repeated
``strongly_entangling_layers``   PennyLane's ``StronglyEntanglingLayers``, gate for gate
``daruan_circuit``               QKAN's one-qubit re-uploading activation (DARUAN)
``quantum_neuron``               Bausch's QRNN neuron: RUS activation ``arctan(tan^(2^k))``
==============================  ==========================================================
"""

from __future__ import annotations

from circuits.library.ansatze import hardware_efficient_ansatz, strongly_entangling_layers
from circuits.library.daruan import DARUAN_ANSATZES, daruan_circuit, daruan_program, daruan_theta_shape
from circuits.library.encodings import angle_encoding, data_reuploading, reuploading_hea
from circuits.library.quantum_neuron import (
    DEFAULT_NEURON_OFFSET,
    neuron_ancilla_count,
    neuron_subsets,
    neuron_weight_count,
    quantum_neuron,
)

__all__ = [
    "DARUAN_ANSATZES",
    "DEFAULT_NEURON_OFFSET",
    "angle_encoding",
    "daruan_circuit",
    "daruan_program",
    "daruan_theta_shape",
    "data_reuploading",
    "hardware_efficient_ansatz",
    "neuron_ancilla_count",
    "neuron_subsets",
    "neuron_weight_count",
    "quantum_neuron",
    "reuploading_hea",
    "strongly_entangling_layers",
]
