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
==============================  ==========================================================
"""

from __future__ import annotations

from circuits.library.ansatze import hardware_efficient_ansatz, strongly_entangling_layers
from circuits.library.daruan import DARUAN_ANSATZES, daruan_circuit, daruan_program, daruan_theta_shape
from circuits.library.encodings import angle_encoding, data_reuploading, reuploading_hea

__all__ = [
    "DARUAN_ANSATZES",
    "angle_encoding",
    "daruan_circuit",
    "daruan_program",
    "daruan_theta_shape",
    "data_reuploading",
    "hardware_efficient_ansatz",
    "reuploading_hea",
    "strongly_entangling_layers",
]
