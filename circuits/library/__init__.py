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
``amplitude_encoding``           Möttönen state preparation of real amplitudes (angles as inputs)
``hamiltonian_embedding_circuit`` an image as ``exp(-i t H_M / 2)``, one ``evolution`` gate (exact)
``trotter_embedding_circuit``    the same embedding as Trotter steps of Pauli rotations (hardware)
``qcnn_circuit``                 the QCNN baseline of the Hamiltonian-embedding paper (deferred pooling)
``readout_qnn_circuit``          Farhi and Neven's readout-qubit QNN (XX and ZZ couplings)
==============================  ==========================================================

The Hamiltonian embedding of a whole image batch in torch (exact, differentiable in ``t``) is
:class:`HamiltonianSpectra`; :func:`trotter_error_bound` bounds the Trotterised circuit's error.
"""

from __future__ import annotations

from circuits.library.ansatze import hardware_efficient_ansatz, strongly_entangling_layers
from circuits.library.daruan import DARUAN_ANSATZES, daruan_circuit, daruan_program, daruan_theta_shape
from circuits.library.encodings import angle_encoding, data_reuploading, reuploading_hea
from circuits.library.hamiltonian_embedding import (
    HamiltonianSpectra,
    check_images,
    embedding_qubits,
    hamiltonian_embedding,
    hamiltonian_embedding_circuit,
    image_hamiltonians,
    pauli_coefficients,
    real_symmetric_pauli_words,
    trotter_embedding_circuit,
    trotter_error_bound,
)
from circuits.library.qcnn import QCNN_WEIGHTS_PER_LAYER, arbitrary_unitary_words, qcnn_circuit, qcnn_readout_qubits
from circuits.library.quantum_neuron import (
    DEFAULT_NEURON_OFFSET,
    neuron_ancilla_count,
    neuron_subsets,
    neuron_weight_count,
    quantum_neuron,
)
from circuits.library.readout_qnn import readout_qnn_circuit
from circuits.library.state_preparation import amplitude_encoding, amplitude_encoding_angles

__all__ = [
    "DARUAN_ANSATZES",
    "DEFAULT_NEURON_OFFSET",
    "QCNN_WEIGHTS_PER_LAYER",
    "HamiltonianSpectra",
    "amplitude_encoding",
    "amplitude_encoding_angles",
    "angle_encoding",
    "arbitrary_unitary_words",
    "check_images",
    "daruan_circuit",
    "daruan_program",
    "daruan_theta_shape",
    "data_reuploading",
    "embedding_qubits",
    "hamiltonian_embedding",
    "hamiltonian_embedding_circuit",
    "hardware_efficient_ansatz",
    "image_hamiltonians",
    "neuron_ancilla_count",
    "neuron_subsets",
    "neuron_weight_count",
    "pauli_coefficients",
    "qcnn_circuit",
    "qcnn_readout_qubits",
    "quantum_neuron",
    "readout_qnn_circuit",
    "real_symmetric_pauli_words",
    "reuploading_hea",
    "strongly_entangling_layers",
    "trotter_embedding_circuit",
    "trotter_error_bound",
]
