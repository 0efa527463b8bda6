"""The Hamiltonian-embedding re-uploading classifier (Wang, Myers, Hollenberg, Parampalli 2024, arXiv 2407.14055)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
from torch import nn

from circuits.backend import Backend, Expectation
from circuits.ir.circuit import Circuit
from circuits.ir.gates import MatrixData
from circuits.ir.operation import Operation
from circuits.ir.parameters import ParameterVector
from circuits.library.hamiltonian_embedding import (
    HamiltonianSpectra,
    check_images,
    embedding_qubits,
    image_hamiltonians,
    pauli_coefficients,
    trotter_embedding_circuit,
)
from qml.models._image_common import (
    check_backend,
    check_dtype,
    check_generator,
    check_positive,
    readout_probabilities,
    readout_projectors,
    special_unitary,
)

__all__ = ["HamiltonianEmbeddingClassifier", "brickwall_pairs"]

UnitaryFamily = Literal["brickwall", "full"]


def brickwall_pairs(num_qubits: int) -> tuple[tuple[int, int], ...]:
    """The SU(4) blocks of one brickwall layer: ``(0, 1), (2, 3), ...`` then ``(1, 2), (3, 4), ...``.

    Two blocks on 3 qubits (the paper's digits model), four on 5 (its CT model).
    """
    even = tuple((q, q + 1) for q in range(0, num_qubits - 1, 2))
    odd = tuple((q, q + 1) for q in range(1, num_qubits - 1, 2))
    return even + odd


class HamiltonianEmbeddingClassifier(nn.Module):
    r"""Re-uploading classifier on the Hamiltonian embedding of an image (arXiv 2407.14055, docs/papers.md §4).

    ``|psi(M)> = prod_{l=1}^{L} [ V(w_l) exp(-i t_l H_M / 2) ] |+>^n`` with ``H_M = (M + M^T) / 2`` (the image
    zero-padded to ``2**n``), the embedding applied first in each layer, and one trainable time ``t_l`` per
    layer. ``V`` is either the full ``SU(2**n)`` unitary ``exp(i sum_k w_k P_k)`` over all ``4**n - 1`` Pauli
    words (``unitary="full"``, the paper's MNIST model) or a brickwall of ``SU(4)`` blocks of that form
    (``unitary="brickwall"``, :func:`brickwall_pairs`; its digits model). The output is the paper's projector
    read-out used as logits: ``<psi| (|b><b| (x) I) |psi>`` on ``readout_qubits`` for class ``b``.

    Paper choices kept: the initial state ``|+>^n``; ``N(0, 1)`` initial weights and times; on 3 qubits the
    read-out on all qubits; on MNIST (5 qubits, 8 classes) projectors on the first 4 qubits for
    ``b = 0 .. 7``, which ``readout_qubits=(0, 1, 2, 3)`` reproduces (the default is the fewest qubits that
    hold the classes, ``(0, .., ceil(log2 C) - 1)``).

    How it runs:

    * ``backend=None`` (the fast path, used for training): each image's ``H_M`` is diagonalised once per
      forward pass and the embeddings of all layers apply as phases in its eigenbasis
      (:class:`~circuits.library.hamiltonian_embedding.HamiltonianSpectra`), the ``V`` as dense
      ``2**n x 2**n`` matrices shared by the batch; differentiable in every weight.
    * ``backend=`` a :class:`~circuits.backend.Backend`: the real circuits run there (:meth:`circuit`), with the
      trained ``V`` bound as fixed ``unitary`` gates, so gradients reach the times ``t`` only (through the
      backend's own rule); train on the fast path and evaluate or deploy here. ``trotter_steps=None`` runs the
      exact embedding (one ``evolution`` gate, one circuit per image); ``trotter_steps=r`` runs the
      Trotterised embedding for hardware (one circuit for the whole batch, the Pauli coefficients bound as
      inputs; error bound in :func:`~circuits.library.hamiltonian_embedding.trotter_error_bound`).

    Args:
        num_qubits: ``n``; images up to ``2**n x 2**n`` (smaller ones are zero-padded, centred).
        num_layers: ``L`` re-uploading layers.
        num_classes: classes ``C <= 2**len(readout_qubits)``.
        unitary: ``"brickwall"`` or ``"full"``.
        readout_qubits: the qubits of the projectors (default: the first ``ceil(log2 C)``).
        backend: ``None`` for the fast path, or where the circuits run.
        trotter_steps: with a backend, Trotter steps of the embedding (``None``: exact).
        generator: draws the initial weights and times.
        dtype: float32 (default) or float64.

    Attributes:
        times: ``(L,)`` evolution times.
        weights: ``(L, G)`` generator weights, ``G = 4**n - 1`` (full) or ``15 * len(brickwall_pairs(n))``.

    Shape:
        - Input: ``(batch_size, side, side)`` grey levels in ``[0, 1]``, ``side <= 2**n``.
        - Output: ``(batch_size, num_classes)`` read-out probabilities, used as logits.
    """

    def __init__(
        self,
        num_qubits: int,
        num_layers: int,
        num_classes: int,
        *,
        unitary: UnitaryFamily = "brickwall",
        readout_qubits: Sequence[int] | None = None,
        backend: Backend | None = None,
        trotter_steps: int | None = None,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        owner = "HamiltonianEmbeddingClassifier"
        self.num_qubits = check_positive("num_qubits", num_qubits, owner)
        self.num_layers = check_positive("num_layers", num_layers, owner)
        self.num_classes = check_positive("num_classes", num_classes, owner)
        if unitary not in ("brickwall", "full"):
            raise ValueError(f"{owner}: unitary must be 'brickwall' or 'full', got {unitary!r}.")
        if unitary == "brickwall" and self.num_qubits < 2:
            raise ValueError(f"{owner}: a brickwall of SU(4) blocks needs at least 2 qubits, got {num_qubits}.")
        self.unitary_family = unitary
        self.readout_qubits = _readout_qubits(readout_qubits, self.num_qubits, self.num_classes, owner)
        self.backend = check_backend(backend, owner)
        if trotter_steps is not None:
            trotter_steps = check_positive("trotter_steps", trotter_steps, owner)
            if backend is None:
                raise ValueError(f"{owner}: trotter_steps applies to the circuits on a backend; pass backend= too.")
        self.trotter_steps = trotter_steps
        check_generator(generator, owner)
        self._dtype = check_dtype(dtype, owner)
        self.pairs = brickwall_pairs(self.num_qubits) if unitary == "brickwall" else ()
        per_layer = 15 * len(self.pairs) if unitary == "brickwall" else 4**self.num_qubits - 1
        self.times = nn.Parameter(torch.randn(self.num_layers, generator=generator, dtype=dtype))
        self.weights = nn.Parameter(torch.randn(self.num_layers, per_layer, generator=generator, dtype=dtype))

    # -- the trainable unitaries ------------------------------------------------------------

    def layer_unitaries(self) -> torch.Tensor:
        """``V(w_l)`` of every layer as ``2**n x 2**n`` matrices, ``(L, 2**n, 2**n)`` complex."""
        if self.unitary_family == "full":
            return special_unitary(self.weights, self.num_qubits)
        blocks = special_unitary(self.weights.reshape(self.num_layers, len(self.pairs), 15), 2)
        total = None
        for k, pair in enumerate(self.pairs):
            full = _on_pair(blocks[:, k], pair, self.num_qubits)
            total = full if total is None else full @ total
        assert total is not None
        return total

    def _blocks(self) -> list[list[tuple[tuple[int, ...], np.ndarray]]]:
        """Per layer, the fixed ``unitary`` gates that stand for ``V(w_l)`` in a circuit (numpy, detached)."""
        with torch.no_grad():
            if self.unitary_family == "full":
                mats = special_unitary(self.weights.double(), self.num_qubits).numpy()
                return [[(tuple(range(self.num_qubits)), m)] for m in mats]
            blocks = special_unitary(self.weights.double().reshape(self.num_layers, len(self.pairs), 15), 2).numpy()
            return [[(pair, blocks[layer, k]) for k, pair in enumerate(self.pairs)] for layer in range(self.num_layers)]

    # -- the circuits -----------------------------------------------------------------------

    def circuit(self, image: torch.Tensor | None = None, *, trotter_steps: int | None = None) -> Circuit:
        """The model as a circuit, with the current weights bound as fixed ``unitary`` gates.

        Exact (``trotter_steps=None``): for one ``image`` ``(side, side)``, one ``evolution`` gate per layer;
        the parameter is ``t`` (``L`` times). Trotterised: the same circuit for every image (``image`` is not
        needed); the parameters are ``t`` and the Pauli coefficients ``x`` of the image (bind
        ``pauli_coefficients(image_hamiltonians(images))[1]``).

        Raises:
            ValueError: an exact circuit without an image, or an image that does not fit (see
                :func:`~circuits.library.hamiltonian_embedding.image_hamiltonians`).
        """
        n = self.num_qubits
        t = ParameterVector("t", self.num_layers)
        ops = [Operation.create("h", q) for q in range(n)]
        if trotter_steps is None:
            if image is None:
                raise ValueError("HamiltonianEmbeddingClassifier.circuit: the exact circuit needs an image.")
            hamiltonian = image_hamiltonians(torch.as_tensor(image)[None], num_qubits=n, dtype=torch.float64)[0]
            data = MatrixData(hamiltonian.numpy() / 2)
        else:
            steps = check_positive("trotter_steps", trotter_steps, "HamiltonianEmbeddingClassifier.circuit")
        for layer, blocks in enumerate(self._blocks()):
            if trotter_steps is None:
                ops.append(Operation("evolution", tuple(range(n)), (t[layer],), data))
            else:
                ops.extend(trotter_embedding_circuit(n, steps, inputs="x", time=t[layer]).operations)
            ops.extend(Operation("unitary", qubits, (), MatrixData(matrix)) for qubits, matrix in blocks)
        return Circuit(n, ops)

    # -- forward ----------------------------------------------------------------------------

    def check_images(self, images: torch.Tensor) -> torch.Tensor:
        """The images as a floating tensor, after the checks (messages name this model).

        Raises:
            TypeError: not a tensor or array.
            ValueError: not a batch of square images, pixels outside ``[0, 1]`` (naming the first such image), or
                a side larger than ``2**num_qubits``.
        """
        owner = "HamiltonianEmbeddingClassifier"
        x = check_images(images, owner)
        side, n = x.shape[-1], self.num_qubits
        if side > 2**n:
            raise ValueError(
                f"{owner} has {n} qubits, which embed images of at most {2**n}x{2**n}, got {side}x{side}; resize "
                f"the images (qml.data.resize) or build the model with {embedding_qubits(side)} qubits."
            )
        return x

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Read-out probabilities (the logits) of a batch of images."""
        images = self.check_images(images)
        if self.backend is not None:
            return self._on_backend(images)
        spectra = HamiltonianSpectra.from_images(images, num_qubits=self.num_qubits, dtype=self.times.dtype)
        batch, dim = spectra.batch_size, 2**self.num_qubits
        complex_dtype = torch.complex128 if self.times.dtype == torch.float64 else torch.complex64
        state = torch.full((batch, dim), 1 / math.sqrt(dim), dtype=complex_dtype, device=self.times.device)
        unitaries = self.layer_unitaries()
        for layer in range(self.num_layers):
            state = spectra.apply(state, self.times[layer])
            state = state @ unitaries[layer].transpose(0, 1)
        return readout_probabilities(state, self.num_qubits, self.readout_qubits, self.num_classes)

    def _on_backend(self, images: torch.Tensor) -> torch.Tensor:
        assert self.backend is not None
        hamiltonians = image_hamiltonians(images, num_qubits=self.num_qubits, dtype=self.times.dtype)
        measurement = Expectation(readout_projectors(self.num_classes, self.readout_qubits))
        if self.trotter_steps is not None:
            circuit = self.circuit(trotter_steps=self.trotter_steps)
            _, coefficients = pauli_coefficients(hamiltonians)
            out = self.backend.run(circuit, {"t": self.times, "x": coefficients}, measurement=measurement)
            return out.to(self.times.dtype)
        rows = [
            self.backend.run(self.circuit(image), {"t": self.times}, measurement=measurement)
            for image in torch.as_tensor(images)
        ]
        return torch.cat(rows).to(self.times.dtype)

    def extra_repr(self) -> str:
        """Sizes and where it runs."""
        return (
            f"num_qubits={self.num_qubits}, num_layers={self.num_layers}, num_classes={self.num_classes}, "
            f"unitary={self.unitary_family!r}, readout_qubits={self.readout_qubits}, backend={self.backend!r}, "
            f"trotter_steps={self.trotter_steps}"
        )


def _readout_qubits(qubits: Sequence[int] | None, num_qubits: int, num_classes: int, owner: str) -> tuple[int, ...]:
    if qubits is None:
        width = max(1, (num_classes - 1).bit_length())
        if width > num_qubits:
            raise ValueError(
                f"{owner}: {num_classes} classes need {width} read-out qubits, but the model has {num_qubits}; use "
                "fewer classes or more qubits."
            )
        return tuple(range(width))
    chosen = tuple(int(q) for q in qubits)
    if not chosen or len(set(chosen)) != len(chosen) or any(not 0 <= q < num_qubits for q in chosen):
        raise ValueError(f"{owner}: readout_qubits must be distinct qubits of 0 .. {num_qubits - 1}, got {qubits}.")
    if 2 ** len(chosen) < num_classes:
        raise ValueError(
            f"{owner}: {len(chosen)} read-out qubits hold {2 ** len(chosen)} basis states, fewer than the "
            f"{num_classes} classes."
        )
    return chosen


def _on_pair(blocks: torch.Tensor, pair: tuple[int, int], num_qubits: int) -> torch.Tensor:
    """``(L, 4, 4)`` blocks on neighbouring qubits ``(q, q + 1)`` as ``(L, 2**n, 2**n)`` matrices."""
    q = pair[0]
    left = torch.eye(2**q, dtype=blocks.dtype, device=blocks.device)
    right = torch.eye(2 ** (num_qubits - q - 2), dtype=blocks.dtype, device=blocks.device)
    return torch.stack([torch.kron(torch.kron(left, b), right) for b in blocks])
