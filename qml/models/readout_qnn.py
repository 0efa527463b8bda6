"""Farhi and Neven's readout-qubit QNN (arXiv 1802.06002) for binarised images, and its hinge loss."""

from __future__ import annotations

import math

import torch
from torch import nn

from circuits.backend import Backend, Expectation
from circuits.ir.circuit import Circuit
from circuits.ir.observables import Z
from circuits.library.readout_qnn import readout_qnn_circuit
from qml.models._image_common import check_backend, check_dtype, check_generator, check_labels, check_positive

__all__ = ["HingeLoss", "ReadoutQNN"]


class ReadoutQNN(nn.Module):
    r"""Bits as a basis state, XX then ZZ couplings to a readout qubit, ``<Z>`` of the readout (docs/papers.md §5).

    The circuit is :func:`circuits.library.readout_qnn.readout_qnn_circuit` (TensorFlow Quantum's re-implementation
    for MNIST 3 vs 6 at 4x4: 16 data qubits and the readout, 17 qubits, ``2 n`` weights). Its prediction
    ``z = <Z_readout>`` is returned as the two logits ``(-z, z)``: class 1 when ``z > 0``; train it with
    :class:`HingeLoss` as the tutorial does. Weights start uniform in ``[0, 2 pi)`` (TFQ's ``PQC`` layer draws its
    symbols from ``[0, 2 pi)``; its exponent ``theta`` is the angle ``pi theta`` here, so our range is narrower).

    Closed form (``backend=None``, the fast path). The readout starts in ``|->``, an eigenvector of ``X_r``
    (eigenvalue ``-1``), and every ``XX`` coupling commutes with ``X_r``, so the ``XX`` layer acts on the data as
    ``RX(-a_i)`` on qubit ``i`` and leaves a product state ``|chi>``. Writing the readout in the ``Z`` basis, the
    ``ZZ`` layer applies ``RZ(+-b_i)`` to the data, branch by branch, and the final ``H`` turns ``<Z_r>`` into
    ``<X_r>`` before it, which is ``-Re <chi| exp(i sum_i b_i Z_i) |chi>``. The expectation factorises over the
    data qubits, and for ``|chi_i> = RX(-a_i)|x_i>``, ``<Z_i> = (1 - 2 x_i) cos a_i``:

    ``z = -Re prod_i (cos b_i + i sin b_i (1 - 2 x_i) cos a_i)``,

    ``O(n)`` per image instead of a ``2**(n+1)``-amplitude simulation. With a backend the 17-qubit circuit
    runs there (one call per batch); tests check that both agree, on our engine and on Qiskit Aer.

    Args:
        num_data_qubits: ``n`` (16 for 4x4 images).
        backend: ``None`` for the closed form, or where the circuit runs.
        generator: draws the initial weights.
        dtype: float32 (default) or float64.

    Attributes:
        weights: ``(2 n,)`` coupling angles, ``XX`` then ``ZZ``.

    Shape:
        - Input: ``(batch_size, n)`` or ``(batch_size, h, w)`` with ``h w = n``, each pixel 0 or 1.
        - Output: ``(batch_size, 2)`` logits ``(-z, z)``.
    """

    def __init__(
        self,
        num_data_qubits: int = 16,
        *,
        backend: Backend | None = None,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        owner = "ReadoutQNN"
        self.num_data_qubits = check_positive("num_data_qubits", num_data_qubits, owner)
        self.backend = check_backend(backend, owner)
        check_generator(generator, owner)
        check_dtype(dtype, owner)
        weights = torch.rand(2 * self.num_data_qubits, generator=generator, dtype=dtype) * (2 * math.pi)
        self.weights = nn.Parameter(weights)

    def circuit(self) -> Circuit:
        """The circuit (inputs ``x``: the bits; weights ``w``); the prediction is ``<Z>`` of qubit ``n``."""
        return readout_qnn_circuit(self.num_data_qubits)

    def bits(self, images: torch.Tensor) -> torch.Tensor:
        """The images as rows of ``n`` bits, checked.

        Raises:
            TypeError: not a tensor.
            ValueError: the wrong number of pixels, or pixels other than 0 and 1.
        """
        if not isinstance(images, torch.Tensor):
            raise TypeError(f"ReadoutQNN expects a torch.Tensor of binarised images, got {type(images).__name__}.")
        n = self.num_data_qubits
        if images.ndim < 2 or math.prod(images.shape[1:]) != n:
            raise ValueError(
                f"ReadoutQNN has {n} data qubits: it expects (batch_size, {n}) bits or (batch_size, h, w) images "
                f"with h * w = {n}, got shape {tuple(images.shape)}; resize the images (qml.data.resize)."
            )
        x = images.reshape(images.shape[0], n).to(self.weights.dtype)
        bad = (x != 0) & (x != 1)
        if bool(bad.any()):
            index = int(bad.any(dim=1).nonzero()[0])
            raise ValueError(
                f"ReadoutQNN encodes pixels as basis states and needs 0 or 1, but image {index} has a pixel "
                f"{float(x[bad][0]):.4g}; binarise the images first (qml.data.binarize)."
            )
        return x

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Logits ``(-z, z)`` with ``z = <Z_readout>``."""
        x = self.bits(images)
        n = self.num_data_qubits
        if self.backend is not None:
            measurement = Expectation([Z(n)])
            z = self.backend.run(self.circuit(), {"x": x, "w": self.weights}, measurement=measurement)[:, 0]
            z = z.to(self.weights.dtype)
        else:
            a, b = self.weights[:n], self.weights[n:]
            z_data = (1 - 2 * x) * torch.cos(a)  # <Z_i> after the XX layer, (batch, n)
            factors = torch.complex(torch.cos(b).expand_as(z_data), torch.sin(b) * z_data)
            z = -torch.prod(factors, dim=-1).real
        return torch.stack([-z, z], dim=-1)

    def extra_repr(self) -> str:
        """Size and where it runs."""
        return f"num_data_qubits={self.num_data_qubits}, backend={self.backend!r}"


class HingeLoss(nn.Module):
    """``mean(max(0, 1 - y z))`` with ``y = +1`` for class 1 and ``-1`` for class 0 (TFQ's ``Hinge``).

    Takes the logits ``(-z, z)`` of :class:`ReadoutQNN` and the labels 0 / 1.

    Shape:
        - ``logits``: ``(batch_size, 2)``; ``labels``: ``(batch_size,)`` integers. Output: scalar.
    """

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The mean hinge loss of the batch."""
        check_labels(labels, 2, "HingeLoss")
        sign = 2 * labels.to(logits.dtype) - 1
        return torch.relu(1 - sign * logits[:, 1]).mean()
