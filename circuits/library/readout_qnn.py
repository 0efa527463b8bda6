"""Farhi and Neven's readout-qubit QNN (arXiv 1802.06002) as TensorFlow Quantum's MNIST tutorial builds it.

``n`` data qubits hold a bit string as a basis state (``RY(pi x_i)`` turns ``|0>`` into ``|x_i>``); a readout
qubit (the last one, ``n``) starts in ``|->`` (``X`` then ``H``); a layer of ``XX`` couplings between each data
qubit and the readout, then a layer of ``ZZ`` couplings; a final ``H`` on the readout, whose ``<Z>`` is the
prediction (docs/papers.md §5). TFQ writes the couplings as ``cirq.XX**theta`` and ``cirq.ZZ**theta``, which are
``rxx(pi theta)`` and ``rzz(pi theta)`` up to a global phase; here the angles themselves are the weights.
"""

from __future__ import annotations

import math

from circuits.ir.circuit import Circuit
from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector
from circuits.library._building import check_count, check_distinct, check_vector

__all__ = ["readout_qnn_circuit"]


def readout_qnn_circuit(
    num_data_qubits: int, *, inputs: ParameterVector | str = "x", weights: ParameterVector | str = "w"
) -> Circuit:
    """The readout-qubit QNN on ``n`` data qubits and one readout qubit (qubit ``n``); measure ``Z(n)``.

    Gate order: ``RY(pi x_i)`` on every data qubit; ``X``, ``H`` on the readout; ``rxx(w[i])`` on
    ``(i, n)`` for every ``i``; ``rzz(w[n + i])`` on ``(i, n)`` for every ``i``; ``H`` on the readout.

    Args:
        num_data_qubits: ``n >= 1`` (16 for a binarised 4x4 image).
        inputs: ``n`` bits (0 or 1), one per data qubit (a 4x4 image flattened row by row).
        weights: ``2 n`` coupling angles: ``XX`` first, then ``ZZ``.

    Returns:
        The circuit on ``n + 1`` qubits.

    Raises:
        TypeError, ValueError: a bad count, or vectors of the wrong size or sharing a name.
    """
    n = check_count("num_data_qubits", num_data_qubits)
    x = check_vector("inputs", inputs, n, "num_data_qubits")
    w = check_vector("weights", weights, 2 * n, f"2 * num_data_qubits = 2 * {n}")
    check_distinct(x, w)
    readout = n
    ops = [Operation.create("ry", i, (x[i] * math.pi,)) for i in range(n)]
    ops += [Operation.create("x", readout), Operation.create("h", readout)]
    ops += [Operation.create("rxx", (i, readout), (w[i],)) for i in range(n)]
    ops += [Operation.create("rzz", (i, readout), (w[n + i],)) for i in range(n)]
    ops.append(Operation.create("h", readout))
    return Circuit(n + 1, ops)
