"""The QCNN baseline of the Hamiltonian-embedding paper (arXiv 2407.14055, docs/papers.md §4), as a torch module."""

from __future__ import annotations

import functools

import torch
from torch import nn

from circuits.backend import Backend, Probabilities, bind_parameters
from circuits.ir.circuit import Circuit
from circuits.library.hamiltonian_embedding import check_images
from circuits.library.qcnn import QCNN_WEIGHTS_PER_LAYER, qcnn_circuit, qcnn_readout_qubits
from circuits.library.state_preparation import amplitude_encoding, amplitude_encoding_angles
from circuits.sim.engine import evolve
from circuits.sim.plan import Plan, compile_plan
from qml.models._image_common import (
    check_backend,
    check_dtype,
    check_generator,
    check_positive,
    readout_probabilities,
)

__all__ = ["QCNNClassifier"]


@functools.lru_cache(maxsize=8)
def _body(num_qubits: int, num_layers: int) -> tuple[Circuit, Plan]:
    circuit = qcnn_circuit(num_qubits, num_layers)
    return circuit, compile_plan(circuit)


class QCNNClassifier(nn.Module):
    """Amplitude-encoded image, ``L`` convolution + pooling layers, a dense layer, basis-state probabilities.

    The paper's baseline, PennyLane's "Generalization in QML from few training data" QCNN
    (:func:`circuits.library.qcnn.qcnn_circuit` has the layers and why the deferred pooling equals the
    measured one): 6 qubits and 1 layer for the 8x8 digits, 10 qubits and 2 layers for 32x32 MNIST, 3
    qubits left for the dense layer, and their probabilities as the class scores (the paper feeds them to a
    softmax cross-entropy, as :class:`~qml.models.HamiltonianEmbeddingClassifier`'s read-out). Weights start
    ``N(0, 1)``, as in the demo.

    The image (flattened row by row, zero-padded to ``2**n`` pixels, normalised) is the initial state. With
    ``backend=None`` our engine starts from that vector directly (the fast path); with a backend the
    circuit begins with its Möttönen amplitude encoding
    (:func:`circuits.library.state_preparation.amplitude_encoding`), so it runs anywhere, one backend call
    per batch, differentiable in the weights by the backend's rule.

    Args:
        num_qubits: ``n``; images of up to ``2**n`` pixels.
        num_layers: convolution + pooling layers (each needs 2 or more active qubits).
        num_classes: classes, at most ``2**m`` for the ``m`` qubits left.
        backend: ``None`` (fast path) or where the circuit runs.
        generator: draws the initial weights.
        dtype: float32 (default) or float64.

    Attributes:
        weights: ``(18 L,)`` convolution and pooling weights, layer ``j`` at ``18 j .. 18 j + 17``.
        dense_weights: ``(4**m - 1,)`` weights of the dense layer.

    Shape:
        - Input: ``(batch_size, side, side)`` grey levels in ``[0, 1]``, ``side**2 <= 2**n``, no blank image.
        - Output: ``(batch_size, num_classes)`` probabilities, used as logits.
    """

    def __init__(
        self,
        num_qubits: int,
        num_layers: int,
        num_classes: int,
        *,
        backend: Backend | None = None,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        owner = "QCNNClassifier"
        self.num_qubits = check_positive("num_qubits", num_qubits, owner)
        self.num_layers = check_positive("num_layers", num_layers, owner)
        self.num_classes = check_positive("num_classes", num_classes, owner)
        self.readout_qubits = qcnn_readout_qubits(self.num_qubits, self.num_layers)
        if self.num_classes > 2 ** len(self.readout_qubits):
            raise ValueError(
                f"{owner}: {len(self.readout_qubits)} read-out qubits hold {2 ** len(self.readout_qubits)} classes, "
                f"fewer than {num_classes}; use fewer layers or classes."
            )
        self.backend = check_backend(backend, owner)
        check_generator(generator, owner)
        check_dtype(dtype, owner)
        size = QCNN_WEIGHTS_PER_LAYER * self.num_layers
        self.weights = nn.Parameter(torch.randn(size, generator=generator, dtype=dtype))
        dense = 4 ** len(self.readout_qubits) - 1
        self.dense_weights = nn.Parameter(torch.randn(dense, generator=generator, dtype=dtype))

    def amplitudes(self, images: torch.Tensor) -> torch.Tensor:
        """The encoded states: images flattened row by row, zero-padded to ``2**n``, normalised.

        Raises:
            ValueError: images that are not square, not in ``[0, 1]``, have more than ``2**n`` pixels, or are blank.
        """
        x = check_images(images, "QCNNClassifier").to(self.weights.dtype)
        pixels = x.shape[-1] ** 2
        dim = 2**self.num_qubits
        if pixels > dim:
            raise ValueError(
                f"QCNNClassifier: a {x.shape[-1]}x{x.shape[-1]} image has {pixels} pixels, more than the "
                f"2**{self.num_qubits} = {dim} amplitudes of {self.num_qubits} qubits; resize the images or use "
                f"{(pixels - 1).bit_length()} qubits."
            )
        flat = torch.nn.functional.pad(x.reshape(x.shape[0], -1), (0, dim - pixels))
        norms = flat.norm(dim=-1, keepdim=True)
        if bool((norms == 0).any()):
            index = int((norms[:, 0] == 0).nonzero()[0])
            raise ValueError(f"QCNNClassifier: image {index} is blank (all zeros); it has no amplitude encoding.")
        return flat / norms

    def circuit(self) -> Circuit:
        """The full circuit: amplitude encoding (inputs ``x``), then the QCNN (weights ``w`` and ``v``)."""
        return amplitude_encoding(self.num_qubits, "x").compose(_body(self.num_qubits, self.num_layers)[0])

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Read-out probabilities (the logits) of a batch of images."""
        states = self.amplitudes(images)
        weights = {"w": self.weights, "v": self.dense_weights}
        if self.backend is not None:
            params = {"x": amplitude_encoding_angles(states), **weights}
            measurement = Probabilities(self.readout_qubits)
            out = self.backend.run(self.circuit(), params, measurement=measurement)
            return out[:, : self.num_classes].to(self.weights.dtype)
        circuit, plan = _body(self.num_qubits, self.num_layers)
        real = self.weights.dtype
        complex_dtype = torch.complex128 if real == torch.float64 else torch.complex64
        values, batch = bind_parameters(circuit, weights, dtype=real, device=states.device)
        tensors = plan.step_tensors(values, batch, real, states.device)
        final = evolve(plan, tensors, states.to(complex_dtype).contiguous())
        return readout_probabilities(final, self.num_qubits, self.readout_qubits, self.num_classes)

    def extra_repr(self) -> str:
        """Sizes and where it runs."""
        return (
            f"num_qubits={self.num_qubits}, num_layers={self.num_layers}, num_classes={self.num_classes}, "
            f"readout_qubits={self.readout_qubits}, backend={self.backend!r}"
        )
