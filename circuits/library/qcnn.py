"""The quantum convolutional neural network of PennyLane's "Generalization in QML from few training data" demo.

The Hamiltonian-embedding paper (arXiv 2407.14055, docs/papers.md §4) uses it as its baseline: after an amplitude
encoding of the image, ``L`` convolution + pooling layers halve the active qubits, an arbitrary unitary acts
on the qubits left, and their basis-state probabilities are the class scores.

* **Convolution** (15 weights per layer, shared by every pair: translation invariance): on each neighbouring
  pair of active qubits, first the pairs starting at even positions, then those at odd ones,
  ``IsingXX IsingYY IsingZZ`` followed by a ``U3`` on each qubit; in the first layer a ``U3`` on each qubit
  of the even pairs comes first.
* **Pooling** (3 weights per layer): the demo measures every active qubit at an odd position and, on outcome
  1, applies a ``U3`` to its left neighbour. Here the measurement is deferred (the principle of deferred
  measurement): the conditional ``U3`` becomes a controlled ``U3`` (``cu``) and the "measured" qubit is never
  touched again. Every later gate acts on other qubits and only the remaining qubits are read, so the
  read-out probabilities are exactly those of the measured circuit, averaged over the outcomes; the circuit
  needs no mid-circuit measurement (tests compare with a branching simulation of the measurements).
* **Dense layer**: PennyLane's ``ArbitraryUnitary``, one ``PauliRot`` per non-identity Pauli word of the active
  qubits, in its n-ary Gray-code order (``4**m - 1`` weights).
"""

from __future__ import annotations

import functools

from circuits.ir.circuit import Circuit
from circuits.ir.gates import PauliLabel
from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector
from circuits.library._building import check_count, check_distinct, check_vector

__all__ = ["QCNN_WEIGHTS_PER_LAYER", "arbitrary_unitary_words", "qcnn_circuit", "qcnn_readout_qubits"]

QCNN_WEIGHTS_PER_LAYER = 18
"""15 convolution weights and 3 pooling weights per layer."""


def qcnn_readout_qubits(num_qubits: int, num_layers: int) -> tuple[int, ...]:
    """The qubits still active after ``num_layers`` poolings (``range(n)[::2]`` per layer).

    Raises:
        ValueError: a layer would start with fewer than 2 active qubits.
    """
    wires = list(range(check_count("num_qubits", num_qubits)))
    for layer in range(check_count("num_layers", num_layers)):
        if len(wires) < 2:
            raise ValueError(
                f"a {num_qubits}-qubit QCNN has {len(wires)} active qubit(s) before layer {layer + 1}; a convolution "
                "needs 2 or more: use fewer layers."
            )
        wires = wires[::2]
    return tuple(wires)


@functools.lru_cache(maxsize=8)
def arbitrary_unitary_words(num_qubits: int) -> tuple[str, ...]:
    """The ``4**m - 1`` Pauli words of PennyLane's ``ArbitraryUnitary``, in its order (an n-ary Gray code)."""
    m = check_count("num_qubits", num_qubits)
    words = []
    for index in range(1, 4**m):
        digits = [(index // 4**j) % 4 for j in range(m)]  # least significant first
        code, shift = [0] * m, 0
        for j in reversed(range(m)):
            code[j] = (digits[j] + shift) % 4
            shift += 4 - code[j]
        words.append("".join("IXYZ"[c] for c in code))
    return tuple(words)


def _convolution(wires: list[int], w: ParameterVector, base: int, first: bool) -> list[Operation]:
    ops = []
    for parity in (0, 1):
        for index in range(parity, len(wires) - 1, 2):
            a, b = wires[index], wires[index + 1]
            if parity == 0 and first:
                ops.append(Operation.create("u", a, tuple(w[base + k] for k in range(3))))
                ops.append(Operation.create("u", b, tuple(w[base + k] for k in range(3, 6))))
            ops.append(Operation.create("rxx", (a, b), (w[base + 6],)))
            ops.append(Operation.create("ryy", (a, b), (w[base + 7],)))
            ops.append(Operation.create("rzz", (a, b), (w[base + 8],)))
            ops.append(Operation.create("u", a, tuple(w[base + k] for k in range(9, 12))))
            ops.append(Operation.create("u", b, tuple(w[base + k] for k in range(12, 15))))
    return ops


def _pooling(wires: list[int], w: ParameterVector, base: int) -> list[Operation]:
    """Deferred measurement: ``measure(wires[i]); if 1: U3(wires[i - 1])`` becomes a controlled U3."""
    return [
        Operation.create("cu", (wires[i], wires[i - 1]), (w[base + 15], w[base + 16], w[base + 17], 0.0))
        for i in range(1, len(wires), 2)
    ]


def qcnn_circuit(
    num_qubits: int,
    num_layers: int,
    *,
    weights: ParameterVector | str = "w",
    dense_weights: ParameterVector | str = "v",
) -> Circuit:
    """The QCNN after the encoding: ``num_layers`` convolution + deferred pooling layers, then the dense layer.

    Compose it after an encoding (``amplitude_encoding(n).compose(qcnn_circuit(n, L))``) and read the
    probabilities of :func:`qcnn_readout_qubits`.

    Args:
        num_qubits: ``n >= 2``.
        num_layers: ``L >= 1``; every layer must start with 2 or more active qubits.
        weights: ``18 L`` weights; layer ``j`` uses entries ``18 j .. 18 j + 17`` (15 convolution, 3 pooling),
            PennyLane's ``weights[:, j]``.
        dense_weights: ``4**m - 1`` weights of the dense layer on the ``m`` qubits left.

    Returns:
        The circuit on ``n`` qubits (gates ``u``, ``rxx``, ``ryy``, ``rzz``, ``cu``, ``pauli_rot``).

    Raises:
        TypeError, ValueError: bad counts, too many layers, vectors of the wrong size or sharing a name.
    """
    n = check_count("num_qubits", num_qubits, minimum=2)
    readout = qcnn_readout_qubits(n, num_layers)
    w = check_vector("weights", weights, QCNN_WEIGHTS_PER_LAYER * num_layers, f"18 * num_layers = 18 * {num_layers}")
    words = arbitrary_unitary_words(len(readout))
    v = check_vector("dense_weights", dense_weights, len(words), f"4**{len(readout)} - 1")
    check_distinct(w, v)
    wires = list(range(n))
    ops: list[Operation] = []
    for layer in range(num_layers):
        base = QCNN_WEIGHTS_PER_LAYER * layer
        ops.extend(_convolution(wires, w, base, first=layer == 0))
        ops.extend(_pooling(wires, w, base))
        wires = wires[::2]
    for k, word in enumerate(words):
        support = tuple(q for q, letter in zip(wires, word, strict=True) if letter != "I")
        label = "".join(letter for letter in word if letter != "I")
        ops.append(Operation.create("pauli_rot", support, (v[k],), data=PauliLabel(label)))
    return Circuit(n, ops)
