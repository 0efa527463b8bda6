"""Amplitude encoding: a real vector of ``2**n`` numbers as the amplitudes of ``n`` qubits, on every backend.

The state ``|psi> = sum_i a_i |i> / ||a||`` is prepared from ``|0...0>`` by Möttönen, Vartiainen, Bergholm and
Salomaa's binary tree of uniformly controlled ``RY`` rotations (Quantum Inf. Comput. 5, 467 (2005),
quant-ph/0407010): qubit ``k`` is rotated by an angle that depends on the values of qubits ``0 .. k-1``, and
each uniformly controlled rotation is ``2**k`` plain ``RY`` gates interleaved with ``2**k`` CNOTs in Gray-code
order (Möttönen et al. 2004, quant-ph/0404089). Real amplitudes need ``RY`` only; signs are carried by the
last level. The circuit is fixed; the data enter as its ``2**n - 1`` angles, computed in torch by
:func:`amplitude_encoding_angles` and bound as inputs, so one circuit serves a whole batch.
"""

from __future__ import annotations

import functools

import numpy as np
import torch

from circuits.ir.circuit import Circuit
from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector
from circuits.library._building import check_count, check_vector

__all__ = ["amplitude_encoding", "amplitude_encoding_angles"]


def _gray(i: int) -> int:
    return i ^ (i >> 1)


def _cnot_control(level: int, step: int) -> int:
    """The control qubit of the CNOT after rotation ``step`` of the uniformly controlled RY on qubit ``level``."""
    changed = _gray(step) ^ _gray((step + 1) % (1 << level))
    bit = changed.bit_length() - 1  # bit b of the control value sits on qubit level - 1 - b
    return level - 1 - bit


def amplitude_encoding(num_qubits: int, inputs: ParameterVector | str = "x") -> Circuit:
    """The Möttönen state preparation of real amplitudes; bind :func:`amplitude_encoding_angles` as ``inputs``.

    Level ``k = 0 .. n-1`` rotates qubit ``k``: ``RY(x[2**k - 1 + i])`` for ``i = 0 .. 2**k - 1``, each
    followed (for ``k >= 1``) by a CNOT onto qubit ``k`` from the control whose bit changes between the Gray
    codes of ``i`` and ``i + 1``. Every gate is real, so our engine simulates it in real arithmetic.

    Args:
        num_qubits: ``n >= 1``.
        inputs: the ``2**n - 1`` angles (a name creates the vector).

    Returns:
        A circuit of ``2**n - 1`` RY and ``2**n - 2`` CNOT gates.

    Raises:
        TypeError, ValueError: a bad count, or ``inputs`` of the wrong size.
    """
    n = check_count("num_qubits", num_qubits)
    x = check_vector("inputs", inputs, 2**n - 1, f"2**num_qubits - 1 = 2**{n} - 1")
    ops = []
    for level in range(n):
        base = (1 << level) - 1
        for step in range(1 << level):
            ops.append(Operation.create("ry", level, (x[base + step],)))
            if level:
                ops.append(Operation.create("cx", (_cnot_control(level, step), level)))
    return Circuit(n, ops)


@functools.lru_cache(maxsize=16)
def _gray_transform(level: int) -> np.ndarray:
    """``M^{-1}`` with ``M[j, i] = (-1)**popcount(j & gray(i))``: tree angles of a level to its RY angles."""
    size = 1 << level
    j = np.arange(size)[:, None]
    g = np.array([_gray(i) for i in range(size)])[None, :]
    parity = np.vectorize(lambda v: bin(v).count("1") % 2)(j & g)
    m = np.where(parity == 1, -1.0, 1.0)
    return m.T / size


def amplitude_encoding_angles(vectors: torch.Tensor) -> torch.Tensor:
    """The angles of :func:`amplitude_encoding` that prepare ``vectors / ||vectors||`` (one state per row).

    Level ``k`` of the tree splits each block of ``2**(n-k)`` amplitudes into halves with norms ``l`` and
    ``r`` and rotates by ``2 atan2(r, l)``; the last level uses the signed pair ``2 atan2(a_1, a_0)``, which
    carries the signs. The uniformly controlled angles are then mapped to the Gray-code RY angles.

    Args:
        vectors: real amplitudes, not all zero per row (any norm: rows are normalised).

    Returns:
        The angles, in the order of the circuit's ``inputs``.

    Shape:
        - Input: ``(batch_size, 2**n)``.
        - Output: ``(batch_size, 2**n - 1)``.

    Raises:
        TypeError: a complex or non-tensor input.
        ValueError: a length that is not a power of two (at least 2), or a row of zeros.
    """
    if not isinstance(vectors, torch.Tensor) or vectors.is_complex():
        raise TypeError("amplitude_encoding_angles expects a real torch.Tensor of shape (batch_size, 2**n).")
    if vectors.ndim != 2:
        raise ValueError(f"amplitude_encoding_angles expects shape (batch_size, 2**n), got {tuple(vectors.shape)}.")
    dim = vectors.shape[-1]
    n = dim.bit_length() - 1
    if dim < 2 or dim != 2**n:
        raise ValueError(f"amplitude_encoding_angles needs 2**n amplitudes per row (n >= 1), got {dim}.")
    norms = vectors.norm(dim=-1)
    if bool((norms == 0).any()):
        raise ValueError(f"amplitude_encoding_angles: row {int((norms == 0).nonzero()[0])} is all zeros.")
    a = vectors / norms[:, None]
    angles = []
    for level in range(n):
        blocks = a.reshape(a.shape[0], 1 << level, 2, -1)  # (batch, prefixes, half, rest)
        if level == n - 1:
            tree = 2 * torch.atan2(blocks[..., 1, 0], blocks[..., 0, 0])
        else:
            tree = 2 * torch.atan2(blocks[..., 1, :].norm(dim=-1), blocks[..., 0, :].norm(dim=-1))
        transform = torch.as_tensor(_gray_transform(level), dtype=a.dtype, device=a.device)
        angles.append(tree @ transform.T)
    return torch.cat(angles, dim=-1)
