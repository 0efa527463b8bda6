"""Pieces the image classifiers share: argument checks, Pauli-generated unitaries, the read-out and its loss."""

from __future__ import annotations

import functools
import itertools

import numpy as np
import torch
from torch import nn

from circuits.backend import Backend
from circuits.ir.gates import pauli_matrix
from circuits.ir.observables import Projector
from circuits.sim.measure import marginal_probabilities, probabilities

__all__ = [
    "ReadoutCrossEntropy",
    "check_backend",
    "check_dtype",
    "check_generator",
    "check_labels",
    "check_positive",
    "pauli_words",
    "readout_probabilities",
    "readout_projectors",
    "special_unitary",
]


def check_positive(name: str, value: object, owner: str) -> int:
    """An int ``>= 1`` (``TypeError`` for another type, ``ValueError`` below 1)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{owner}: {name} must be an int, got {type(value).__name__}.")
    if value < 1:
        raise ValueError(f"{owner}: {name} must be at least 1, got {value}.")
    return int(value)


def check_generator(generator: object, owner: str) -> torch.Generator:
    """The generator every initial weight is drawn from (``None`` is refused: randomness is passed in)."""
    if not isinstance(generator, torch.Generator):
        raise TypeError(
            f"{owner} needs generator=torch.Generator().manual_seed(SEED) to draw its initial weights, "
            f"got {type(generator).__name__}."
        )
    return generator


def check_dtype(dtype: object, owner: str) -> torch.dtype:
    """float32 or float64."""
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{owner}: dtype must be torch.float32 or torch.float64, got {dtype!r}.")
    return dtype  # type: ignore[return-value]


def check_backend(backend: object, owner: str) -> Backend | None:
    """``None`` (the model's closed form) or a :class:`~circuits.backend.Backend` object."""
    if backend is not None and not isinstance(backend, Backend):
        raise TypeError(
            f"{owner}: backend must be a circuits.Backend object such as circuits.TorchBackend() (or None for the "
            f"closed form), got {type(backend).__name__}; models take a backend object, never a name."
        )
    return backend


def check_labels(labels: torch.Tensor, num_classes: int, owner: str) -> None:
    """Refuse labels that the read-out has no class for, naming the first one."""
    if not isinstance(labels, torch.Tensor) or labels.is_floating_point() or labels.is_complex():
        raise TypeError(f"{owner}: labels must be an integer tensor, got {getattr(labels, 'dtype', type(labels))}.")
    bad = (labels < 0) | (labels >= num_classes)
    if bool(bad.any()):
        value = int(labels[bad][0])
        raise ValueError(
            f"{owner}: label {value} is outside the read-out's {num_classes} classes (0 .. {num_classes - 1}); "
            "keep only those classes (qml.data.filter_classes relabels them 0, 1, ...) or build the model with more "
            "classes."
        )


@functools.lru_cache(maxsize=8)
def pauli_words(num_qubits: int) -> tuple[str, ...]:
    """The ``4**n - 1`` non-identity Pauli words in lexicographic ``IXYZ`` order (PennyLane's ``SpecialUnitary``)."""
    return tuple("".join(w) for w in itertools.product("IXYZ", repeat=num_qubits))[1:]


@functools.lru_cache(maxsize=8)
def _pauli_basis(num_qubits: int) -> np.ndarray:
    return np.stack([pauli_matrix(word) for word in pauli_words(num_qubits)])


def special_unitary(weights: torch.Tensor, num_qubits: int) -> torch.Tensor:
    """``exp(i sum_k w_k P_k)`` over :func:`pauli_words`: the paper's SU(2**n) block (PennyLane ``SpecialUnitary``).

    Shape:
        - ``weights``: ``(..., 4**n - 1)`` real.
        - Output: ``(..., 2**n, 2**n)`` complex (complex64 for float32 weights, complex128 for float64).
    """
    dtype = torch.complex128 if weights.dtype == torch.float64 else torch.complex64
    basis = torch.as_tensor(_pauli_basis(num_qubits), dtype=dtype, device=weights.device)
    generator = torch.einsum("...k,kij->...ij", weights.to(dtype), basis)
    return torch.linalg.matrix_exp(1j * generator)


def readout_projectors(num_classes: int, qubits: tuple[int, ...]) -> tuple[Projector, ...]:
    """``|b><b|`` on ``qubits`` for ``b = 0 .. num_classes - 1`` (first listed qubit the most significant bit)."""
    width = len(qubits)
    return tuple(Projector(qubits, tuple(int(c) for c in format(b, f"0{width}b"))) for b in range(num_classes))


def readout_probabilities(
    state: torch.Tensor, num_qubits: int, qubits: tuple[int, ...], num_classes: int
) -> torch.Tensor:
    """The projector read-out ``<psi| (|b><b| (x) I) |psi>`` for ``b < num_classes``, from final states.

    Shape:
        - ``state``: ``(batch_size, 2**num_qubits)``. Output: ``(batch_size, num_classes)``.
    """
    return marginal_probabilities(probabilities(state), num_qubits, qubits)[:, :num_classes]


class ReadoutCrossEntropy(nn.Module):
    """Softmax cross-entropy of the read-out used as logits (the paper's ``softmax_cross_entropy``), checked labels.

    ``nn.CrossEntropyLoss`` with a clear error for a label the read-out has no class for.

    Args:
        num_classes: classes of the read-out.

    Shape:
        - ``logits``: ``(batch_size, num_classes)``; ``labels``: ``(batch_size,)`` int64. Output: scalar.
    """

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.num_classes = check_positive("num_classes", num_classes, "ReadoutCrossEntropy")
        self._loss = nn.CrossEntropyLoss()

    def forward(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """The mean loss over the batch."""
        check_labels(labels, self.num_classes, "ReadoutCrossEntropy")
        return self._loss(logits, labels)
