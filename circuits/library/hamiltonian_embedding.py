"""Quantum Hamiltonian embedding of images (Wang, Myers, Hollenberg, Parampalli 2024, arXiv 2407.14055).

An image ``M`` (grey levels in ``[0, 1]``, side ``s``) becomes the real symmetric matrix
``H_M = (M + M^T) / 2``, zero-padded (centred) to ``2**n x 2**n`` with ``n = ceil(log2(s))``, and is
loaded into ``n`` qubits by the evolution ``W(t; M) = exp(-i t H_M / 2)``; the time ``t`` is a trainable
weight (one per re-uploading layer). docs/papers.md §4 gives the paper's set-up, docs/image-classifiers.md
the models built on it.

Three ways to run the embedding:

* :class:`HamiltonianSpectra`: a whole batch in torch, differentiable in ``t``. Each image's ``H`` is
  diagonalised once; every later ``t`` costs ``d`` phases (see the class docstring for why this is exact and
  cheap). This is what the classifiers of ``qml`` use.
* :func:`hamiltonian_embedding_circuit`: the exact embedding as one ``evolution`` gate of a
  :class:`~circuits.ir.circuit.Circuit`, so it runs on every backend (Qiskit Aer receives it as a unitary,
  PennyLane as a ``QubitUnitary``) and is differentiable in ``t`` by the backend's own rule.
* :func:`trotter_embedding_circuit`: for hardware, ``exp(-i t H / 2)`` as first-order Trotter steps of Pauli
  rotations whose angles are ``t * c_P / steps``, with ``c_P`` the Pauli coefficients of each image
  (:func:`pauli_coefficients`, bound as the inputs ``x``): one circuit for the whole batch. Its distance
  to the exact unitary is bounded by :func:`trotter_error_bound`.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

import numpy as np
import torch

from circuits.ir.circuit import Circuit
from circuits.ir.gates import MatrixData, PauliLabel, complex_dtype_for
from circuits.ir.operation import Operation
from circuits.ir.parameters import Angle, AngleLike, ParameterVector, Symbol, as_angle
from circuits.library._building import check_count, check_vector

__all__ = [
    "HamiltonianSpectra",
    "check_images",
    "embedding_qubits",
    "hamiltonian_embedding",
    "hamiltonian_embedding_circuit",
    "image_hamiltonians",
    "pauli_coefficients",
    "real_symmetric_pauli_words",
    "trotter_embedding_circuit",
    "trotter_error_bound",
]

_PIXEL_TOLERANCE = 1e-6
"""Pixels this far outside [0, 1] (rounding of a division by 255) are accepted as they are."""


# ---------------------------------------------------------------------------------------------
# images to Hamiltonians
# ---------------------------------------------------------------------------------------------


def embedding_qubits(side: int) -> int:
    """Qubits the embedding of a ``side x side`` image needs: ``ceil(log2(side))``, at least 1.

    Raises:
        TypeError: ``side`` is not an int.
        ValueError: ``side < 1``.
    """
    side = check_count("side", side)
    return max(1, (side - 1).bit_length())


def check_images(images: object, where: str) -> torch.Tensor:
    """Validate a batch of square grey-level images and return it as a floating tensor.

    Args:
        images: the images.
        where: the caller, for the messages.

    Shape:
        - Input: ``(batch_size, side, side)``.

    Raises:
        TypeError: not a tensor or array, or complex values.
        ValueError: not a batch of square images (the message names the shape), or pixels outside ``[0, 1]``
            or not finite (the message names the first such image and its range).
    """
    if not isinstance(images, torch.Tensor | np.ndarray):
        raise TypeError(f"{where} expects a torch.Tensor or numpy array of images, got {type(images).__name__}.")
    x = torch.as_tensor(images)
    if x.is_complex():
        raise TypeError(f"{where} expects real grey levels, got a complex tensor ({x.dtype}).")
    if not x.is_floating_point():
        x = x.to(torch.get_default_dtype())
    if x.ndim != 3:
        hint = " (one image: add the batch axis with images[None])" if x.ndim == 2 else ""
        raise ValueError(
            f"{where} expects a batch of images of shape (batch_size, side, side), got shape {tuple(x.shape)}{hint}."
        )
    height, width = x.shape[-2:]
    if height != width:
        raise ValueError(
            f"{where} expects square images (the embedding symmetrises M into (M + M^T) / 2), got "
            f"{height}x{width} (height x width); crop or pad them to a square first (qml.data.pad, qml.data.resize)."
        )
    if x.shape[0] == 0:
        raise ValueError(f"{where} got an empty batch (shape {tuple(x.shape)}); pass at least one image.")
    flat = x.detach().reshape(x.shape[0], -1)
    bad = ~torch.isfinite(flat).all(dim=1)
    if bool(bad.any()):
        index = int(bad.nonzero()[0])
        raise ValueError(f"{where}: image {index} contains NaN or infinite pixels; clean the data first.")
    low, high = flat.min(dim=1).values, flat.max(dim=1).values
    bad = (low < -_PIXEL_TOLERANCE) | (high > 1 + _PIXEL_TOLERANCE)
    if bool(bad.any()):
        index = int(bad.nonzero()[0])
        raise ValueError(
            f"{where} expects grey levels in [0, 1], but image {index} has pixels in "
            f"[{float(low[index]):.4g}, {float(high[index]):.4g}] ({int(bad.sum())} of {x.shape[0]} images are out "
            "of range); scale them first (divide 8-bit images by 255, scikit-learn digits by 16)."
        )
    return x


def _check_fits(side: int, num_qubits: int | None, where: str) -> int:
    needed = embedding_qubits(side)
    if num_qubits is None:
        return needed
    n = check_count("num_qubits", num_qubits)
    if n < needed:
        raise ValueError(
            f"{where}: a {side}x{side} image needs at least {needed} qubits (2**{needed} = {2**needed} >= {side}), "
            f"got num_qubits={n}; resize the images to at most {2**n}x{2**n} (qml.data.resize) or use {needed} "
            "qubits."
        )
    return n


def image_hamiltonians(
    images: torch.Tensor | np.ndarray, *, num_qubits: int | None = None, dtype: torch.dtype | None = None
) -> torch.Tensor:
    """The paper's data Hamiltonians ``H_M = (M + M^T) / 2``, zero-padded (centred) to ``2**n x 2**n``.

    Padding follows the paper (MNIST 28x28 gets two zero rows and columns on each side, 32x32 = 5 qubits);
    an odd remainder goes to the bottom and right, as :func:`qml.data.pad`. Padding and symmetrising
    commute, so this equals symmetrising the padded image.

    Args:
        images: grey levels in ``[0, 1]``.
        num_qubits: qubits of the embedding, ``2**num_qubits >= side`` (``None``: ``ceil(log2(side))``).
        dtype: real dtype of the result (``None``: the images' floating dtype).

    Returns:
        Real symmetric matrices.

    Shape:
        - Input: ``(batch_size, side, side)``.
        - Output: ``(batch_size, 2**n, 2**n)``.

    Raises:
        TypeError: not a tensor or array, or complex values.
        ValueError: not a batch of square images (the message names the shape), pixels outside ``[0, 1]``
            or not finite (the message names the first such image and its range), or ``num_qubits`` too small
            for the side.
    """
    x = check_images(images, "image_hamiltonians")
    side = x.shape[-1]
    n = _check_fits(side, num_qubits, "image_hamiltonians")
    if dtype is not None:
        x = x.to(dtype)
    dim = 2**n
    top = (dim - side) // 2
    padded = torch.nn.functional.pad(x, (top, dim - side - top, top, dim - side - top))
    return (padded + padded.transpose(-1, -2)) / 2


# ---------------------------------------------------------------------------------------------
# exact embedding in torch
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HamiltonianSpectra:
    r"""The eigendecompositions ``H_M = V diag(lam) V^T`` of a batch of images, and their evolutions.

    Why this is exact: ``H_M`` is real symmetric, so ``torch.linalg.eigh`` gives real eigenvalues ``lam`` and
    a real orthogonal ``V`` with ``H_M = V diag(lam) V^T``. A function of a diagonalisable matrix is that
    function of its eigenvalues in the same basis, so ``exp(-i t H_M / 2) = V diag(exp(-i t lam / 2)) V^T``
    holds exactly; no Padé or Taylor series is truncated, and the only error is the eigensolver's backward
    error (machine epsilon times ``||H_M||``). The derivative is exact too:
    ``dW/dt = V diag(-i lam / 2 * exp(-i t lam / 2)) V^T`` (torch autograd differentiates the phases).

    Why it is cheap: ``eigh`` costs ``O(d^3)`` once per image (``d = 2**n``), however many times the
    embedding is applied. Each further ``t`` (every re-uploading layer, every forward pass, both directions
    of autograd) costs ``d`` phases, and :meth:`apply` costs two real ``d x d`` matrix-vector products per
    image, ``O(d^2)``; ``scipy.linalg.expm`` would cost a dozen ``d x d`` matrix products per ``t``.

    Build it with :meth:`from_images` (or from Hamiltonians with :meth:`from_hamiltonians`); it is immutable.

    Attributes:
        eigenvalues: ``(batch_size, d)`` real, ascending per image.
        eigenvectors: ``(batch_size, d, d)`` real orthogonal; column ``k`` belongs to ``eigenvalues[:, k]``.
    """

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor

    @classmethod
    def from_images(
        cls, images: torch.Tensor | np.ndarray, *, num_qubits: int | None = None, dtype: torch.dtype | None = None
    ) -> HamiltonianSpectra:
        """Diagonalise the Hamiltonians of a batch of images (see :func:`image_hamiltonians` for the checks).

        Shape:
            - Input: ``(batch_size, side, side)``.
        """
        return cls.from_hamiltonians(image_hamiltonians(images, num_qubits=num_qubits, dtype=dtype))

    @classmethod
    def from_hamiltonians(cls, hamiltonians: torch.Tensor) -> HamiltonianSpectra:
        """Diagonalise a batch of real symmetric matrices ``(batch_size, d, d)`` (no gradient flows into them)."""
        with torch.no_grad():
            eigenvalues, eigenvectors = torch.linalg.eigh(hamiltonians.detach())
        return cls(eigenvalues, eigenvectors)

    @property
    def batch_size(self) -> int:
        """Number of images."""
        return int(self.eigenvalues.shape[0])

    @property
    def num_qubits(self) -> int:
        """Qubits of the embedding."""
        return int(self.eigenvalues.shape[-1]).bit_length() - 1

    def phases(self, time: torch.Tensor | float) -> torch.Tensor:
        """``exp(-i t lam / 2)`` per image, ``(batch_size, d)`` complex; ``time`` is a scalar or ``(batch_size,)``."""
        t = torch.as_tensor(time, dtype=self.eigenvalues.dtype, device=self.eigenvalues.device)
        if t.ndim > 1 or (t.ndim == 1 and t.shape[0] not in (1, self.batch_size)):
            raise ValueError(
                f"time must be a scalar or have one value per image ({self.batch_size}), got shape {tuple(t.shape)}."
            )
        angle = -0.5 * (t.reshape(-1, 1) * self.eigenvalues)
        return torch.polar(torch.ones_like(angle), angle)

    def unitary(self, time: torch.Tensor | float) -> torch.Tensor:
        """The embedding unitaries ``exp(-i t H_M / 2)``, differentiable in ``time``.

        Shape:
            - ``time``: ``()`` or ``(batch_size,)``.
            - Output: ``(batch_size, d, d)`` complex (complex64 for float32 spectra, complex128 for float64).
        """
        vectors = self.eigenvectors.to(complex_dtype_for(self.eigenvalues.dtype))
        return (vectors * self.phases(time)[:, None, :]) @ vectors.transpose(-1, -2)

    def apply(self, states: torch.Tensor, time: torch.Tensor | float) -> torch.Tensor:
        """``exp(-i t H_M / 2) |psi_M>`` for one state per image, without forming the unitaries.

        Shape:
            - ``states``: ``(batch_size, d)`` complex (or real), one per image.
            - ``time``: ``()`` or ``(batch_size,)``.
            - Output: ``(batch_size, d)`` complex.
        """
        if states.shape != self.eigenvalues.shape:
            raise ValueError(
                f"apply expects one state of {self.eigenvalues.shape[-1]} amplitudes per image, shape "
                f"{tuple(self.eigenvalues.shape)}, got {tuple(states.shape)}."
            )
        vectors = self.eigenvectors.to(states.real.dtype)
        in_eigenbasis = _real_matvec(vectors.transpose(-1, -2), states) * self.phases(time)
        return _real_matvec(vectors, in_eigenbasis)


def _real_matvec(matrices: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """``matrices @ states`` per row, with real matrices and complex states as two real products."""
    if not states.is_complex():
        return (matrices @ states[..., None])[..., 0]
    parts = torch.stack([states.real, states.imag], dim=-1)  # (batch, d, 2)
    out = matrices @ parts
    return torch.complex(out[..., 0], out[..., 1])


def hamiltonian_embedding(
    images: torch.Tensor | np.ndarray, time: torch.Tensor | float, *, num_qubits: int | None = None
) -> torch.Tensor:
    """The embedding unitaries ``W(t; M) = exp(-i t H_M / 2)`` of a batch of images, differentiable in ``time``.

    A shortcut for ``HamiltonianSpectra.from_images(images, num_qubits=num_qubits).unitary(time)``; keep the
    :class:`HamiltonianSpectra` when the same images are embedded at several times.

    Shape:
        - ``images``: ``(batch_size, side, side)``; ``time``: ``()`` or ``(batch_size,)``.
        - Output: ``(batch_size, 2**n, 2**n)`` complex.
    """
    return HamiltonianSpectra.from_images(images, num_qubits=num_qubits).unitary(time)


# ---------------------------------------------------------------------------------------------
# circuits: exact (every backend) and Trotterised (hardware)
# ---------------------------------------------------------------------------------------------


def _time_angle(time: ParameterVector | str | AngleLike) -> Angle:
    if isinstance(time, str):
        return ParameterVector(time, 1)[0]
    if isinstance(time, ParameterVector):
        if time.size != 1:
            raise ValueError(
                f"time ParameterVector {time.name!r} must have 1 entry, got {time.size}; pass one entry, e.g. t[3]."
            )
        return time[0]
    if isinstance(time, Angle | Symbol | int | float) and not isinstance(time, bool):
        return as_angle(time)
    raise TypeError(
        f"time must be a ParameterVector of size 1, a name, an Angle or a number, got {type(time).__name__}."
    )


def hamiltonian_embedding_circuit(
    image: torch.Tensor | np.ndarray,
    time: ParameterVector | str | AngleLike = "t",
    *,
    num_qubits: int | None = None,
) -> Circuit:
    """One image's embedding ``exp(-i t H_M / 2)`` as a circuit of one ``evolution`` gate (exact, every backend).

    The gate carries ``H_M / 2`` as its matrix and ``t`` as its angle, so the circuit's parameter is the
    evolution time: backends differentiate it by their own rule (autograd on our engine, the general shift
    rule derived from the eigenvalue gaps elsewhere). Qiskit Aer receives the gate as a unitary, PennyLane as a
    ``QubitUnitary``; for hardware use :func:`trotter_embedding_circuit`.

    Args:
        image: one image ``(side, side)`` with grey levels in ``[0, 1]``.
        time: the evolution time: a name (default ``"t"``: a vector of size 1), a ``ParameterVector`` of size
            1, an entry such as ``t[3]``, or a number.
        num_qubits: width (``None``: ``ceil(log2(side))``).

    Returns:
        The circuit on ``n`` qubits.

    Raises:
        TypeError: ``image`` is not a tensor or array, or ``time`` has a wrong type.
        ValueError: as :func:`image_hamiltonians` (not square, not in ``[0, 1]``, too large for ``num_qubits``).
    """
    x = torch.as_tensor(image) if isinstance(image, np.ndarray | torch.Tensor) else image
    if isinstance(x, torch.Tensor) and x.ndim == 2:
        x = x[None]
    hamiltonian = image_hamiltonians(x, num_qubits=num_qubits, dtype=torch.float64)[0]  # type: ignore[arg-type]
    n = int(hamiltonian.shape[-1]).bit_length() - 1
    data = MatrixData(hamiltonian.numpy() / 2)
    return Circuit(n, [Operation("evolution", tuple(range(n)), (_time_angle(time),), data)])


@functools.lru_cache(maxsize=8)
def _pauli_tables(num_qubits: int) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray]:
    """Words of the real symmetric Pauli basis, their monomial form and their symplectic bits."""
    words = tuple(
        "".join(w) for w in itertools.product("IXYZ", repeat=num_qubits) if w.count("Y") % 2 == 0 and set(w) != {"I"}
    )
    dim = 2**num_qubits
    rows = np.arange(dim)
    columns = np.empty((len(words), dim), dtype=np.int64)
    signs = np.empty((len(words), dim), dtype=np.float64)
    symplectic = np.empty((len(words), 2, num_qubits), dtype=bool)
    for k, word in enumerate(words):
        x_bits = [letter in "XY" for letter in word]
        z_bits = [letter in "ZY" for letter in word]
        flip = int("".join("1" if b else "0" for b in x_bits), 2)
        columns[k] = rows ^ flip
        # P[i, i ^ flip] = prod_q phase(letter_q, bit_q(i)); even number of Y makes it real (+-1)
        phase = np.ones(dim, dtype=np.complex128)
        for q, letter in enumerate(word):
            bit = (rows >> (num_qubits - 1 - q)) & 1
            if letter == "Z":
                phase *= np.where(bit == 1, -1.0, 1.0)
            elif letter == "Y":  # <0|Y|1> = -i, <1|Y|0> = i
                phase *= np.where(bit == 0, -1j, 1j)
        signs[k] = phase.real
        symplectic[k, 0], symplectic[k, 1] = x_bits, z_bits
    return words, columns, signs, symplectic


def real_symmetric_pauli_words(num_qubits: int) -> tuple[str, ...]:
    """The Pauli words that span real symmetric ``2**n x 2**n`` matrices, identity excluded.

    They are the words with an even number of ``Y`` (exactly the real ones), ``(4**n + 2**n) / 2 - 1`` of them
    (527 for 5 qubits), in lexicographic order of ``"IXYZ"``; letter ``q`` acts on qubit ``q``.

    Raises:
        TypeError, ValueError: ``num_qubits`` is not an int ``>= 1``.
    """
    return _pauli_tables(check_count("num_qubits", num_qubits))[0]


def pauli_coefficients(hamiltonians: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The expansion ``H = c_I I + sum_P c_P P`` over :func:`real_symmetric_pauli_words`, ``c_P = tr(P H) / d``.

    These coefficients are linear in the pixels; bound as the inputs ``x`` of :func:`trotter_embedding_circuit`
    they make the Trotterised embedding of a whole batch one circuit.

    Args:
        hamiltonians: real symmetric matrices (:func:`image_hamiltonians`).

    Returns:
        ``(identity, coefficients)``: ``c_I`` (a global phase ``exp(-i t c_I / 2)`` of the embedding) and the
        other coefficients in the order of :func:`real_symmetric_pauli_words`.

    Shape:
        - Input: ``(batch_size, d, d)``.
        - Output: ``(batch_size,)`` and ``(batch_size, (d**2 + d) / 2 - 1)``.
    """
    if not isinstance(hamiltonians, torch.Tensor) or hamiltonians.ndim != 3:
        raise ValueError("pauli_coefficients expects a tensor of matrices, shape (batch_size, d, d).")
    dim = hamiltonians.shape[-1]
    n = dim.bit_length() - 1
    if dim < 2 or dim != 2**n or hamiltonians.shape[-2] != dim:
        raise ValueError(f"pauli_coefficients expects 2**n x 2**n matrices, got {tuple(hamiltonians.shape[-2:])}.")
    _, columns, signs, _ = _pauli_tables(n)
    rows = torch.arange(dim, device=hamiltonians.device)
    cols = torch.as_tensor(columns, device=hamiltonians.device)
    sign = torch.as_tensor(signs, dtype=hamiltonians.dtype, device=hamiltonians.device)
    # tr(P H) = sum_i P[i, c(i)] H[c(i), i]
    gathered = hamiltonians[:, cols, rows.expand_as(cols)]  # (batch, K, d)
    coefficients = (gathered * sign).sum(-1) / dim
    identity = hamiltonians.diagonal(dim1=-2, dim2=-1).sum(-1) / dim
    return identity, coefficients


def trotter_embedding_circuit(
    num_qubits: int,
    steps: int = 1,
    *,
    inputs: ParameterVector | str = "x",
    time: ParameterVector | str | AngleLike = "t",
) -> Circuit:
    """The embedding ``exp(-i t H / 2)`` as ``steps`` first-order Trotter steps of Pauli rotations (for hardware).

    With ``H = c_I I + sum_P c_P P`` (:func:`pauli_coefficients`), each step applies
    ``pauli_rot(t * c_P / steps)[P] = exp(-i t c_P P / (2 steps))`` for every word ``P`` of
    :func:`real_symmetric_pauli_words`, in that order, on the qubits where ``P`` is not the identity. The
    coefficients are the inputs ``x`` (bind ``pauli_coefficients(...)[1]``, one row per image), so one circuit
    serves the whole batch, and ``t`` stays a trainable parameter. The identity term is left out: it is the
    global phase ``exp(-i t c_I / 2)``, which no measurement sees.

    Error (Childs, Su, Tran, Wiebe, Zhu 2021, PRX 11, 011020, first-order commutator bound): the circuit's
    unitary ``U_r`` satisfies ``||U_r * exp(-i t c_I / 2) - exp(-i t H / 2)|| <= trotter_error_bound(c, t, r)``
    in the spectral norm; :func:`trotter_error_bound` evaluates it per image.

    Args:
        num_qubits: width ``n`` (a ``2**n``-sided image).
        steps: Trotter steps ``r >= 1``.
        inputs: the coefficient vector, ``(4**n + 2**n) / 2 - 1`` entries (a name creates it).
        time: the evolution time (a name of a size-1 vector, an entry ``t[l]`` or a number).

    Returns:
        A circuit of ``steps * ((4**n + 2**n) / 2 - 1)`` ``pauli_rot`` gates.

    Raises:
        TypeError, ValueError: a bad count, or ``inputs`` of the wrong size.
    """
    n = check_count("num_qubits", num_qubits)
    r = check_count("steps", steps)
    words = real_symmetric_pauli_words(n)
    x = check_vector("inputs", inputs, len(words), f"(4**n + 2**n) / 2 - 1 for n = {n}")
    t = _time_angle(time)
    ops = []
    for _ in range(r):
        for k, word in enumerate(words):
            support = tuple(q for q, letter in enumerate(word) if letter != "I")
            label = "".join(word[q] for q in support)
            ops.append(Operation.create("pauli_rot", support, ((t * x[k]) / r,), data=PauliLabel(label)))
    return Circuit(n, ops)


def trotter_error_bound(coefficients: torch.Tensor, time: torch.Tensor | float, steps: int) -> torch.Tensor:
    """The first-order Trotter bound of :func:`trotter_embedding_circuit`, per image (spectral norm).

    For ``H / 2 = sum_j A_j`` with ``A_j = c_j P_j / 2``, ``r`` first-order steps of length ``t / r`` are within
    ``t**2 / (2 r) * sum_{j < k} ||[A_j, A_k]||`` of ``exp(-i t H / 2)`` (Childs et al. 2021, PRX 11,
    011020, Prop. for p = 1). Two Pauli words commute or anticommute, and ``||[P_j, P_k]|| = 2`` when they
    anticommute, so the bound is ``t**2 / (4 r) * sum_{j < k anticommuting} |c_j c_k|``: exact arithmetic on the
    coefficients, no matrix exponential.

    Args:
        coefficients: ``pauli_coefficients(...)[1]``, ``(batch_size, K)``.
        time: the evolution time, a scalar or ``(batch_size,)``.
        steps: Trotter steps ``r >= 1``.

    Returns:
        ``(batch_size,)`` bounds on ``||U_r exp(-i t c_I / 2) - exp(-i t H / 2)||_2``.
    """
    r = check_count("steps", steps)
    k = coefficients.shape[-1]
    n = next((m for m in range(1, 16) if (4**m + 2**m) // 2 - 1 == k), None)
    if n is None:
        raise ValueError(f"trotter_error_bound: {k} coefficients is not (4**n + 2**n) / 2 - 1 for any n.")
    symplectic = torch.as_tensor(_pauli_tables(n)[3])
    x, z = symplectic[:, 0].to(torch.int64), symplectic[:, 1].to(torch.int64)
    anticommute = ((x @ z.T + z @ x.T) % 2).to(coefficients.dtype)  # symmetric, zero diagonal
    magnitude = coefficients.abs()
    pair_sum = 0.5 * ((magnitude @ anticommute) * magnitude).sum(-1)  # sum over j < k
    t = torch.as_tensor(time, dtype=coefficients.dtype)
    return t.square() / (4 * r) * pair_sum
