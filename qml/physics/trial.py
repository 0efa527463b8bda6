r"""Trial functions that satisfy Dirichlet conditions exactly, and the bodies that fill them.

Sarkar 2025 (docs/papers.md §6) builds wavefunctions that vanish at the walls by construction:
:math:`\psi_\theta(x) = g(x)\, N_\theta(\hat x)` with an envelope :math:`g` that is zero at both ends of
``[a, b]`` and a network :math:`N_\theta` (the *body*) of the rescaled coordinate
:math:`\hat x = 2 (x - a) / (b - a) - 1 \in [-1, 1]`. The boundary conditions then hold for every
weight, and the loss needs no boundary term. Two envelopes:

* ``"polynomial"`` (default): :math:`g(x) = (x - a)(b - x)`;
* ``"sine"``: :math:`g(x) = \sin(\pi (x - a) / (b - a))`. It is the infinite well's ground state
  itself, so for that problem a constant body is already exact: use it for other potentials only.

The body is any module mapping ``(N, 1)`` to ``(N,)`` or ``(N, 1)``: an MLP (:func:`tanh_mlp`), a QKAN
(:class:`qml.kan.QKAN`), or a quantum circuit (:func:`reuploading_body`). Its second derivative with
respect to ``x`` is taken by autograd, so it must be twice differentiable: smooth activations
(``tanh``, ``SiLU``), and for circuits the torch engine with ``diff_method="backprop"``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Literal

import torch
from torch import nn

from circuits.backend import Backend
from circuits.ir.observables import Z
from circuits.library import data_reuploading
from qml.layers.init import seeded_linear
from qml.layers.quantum_layer import QuantumLayer
from qml.physics.domain import Domain
from qml.physics.pinn import one_per_point

__all__ = ["DirichletTrial", "reuploading_body", "tanh_mlp"]

Envelope = Literal["polynomial", "sine"]


class DirichletTrial(nn.Module):
    r"""``psi(x) = g(x) * body(x_hat)``: zero at both ends of a one-dimensional domain for any weights.

    Args:
        body: the network :math:`N_\theta`, ``(N, 1) -> (N,)`` or ``(N, 1)``.
        domain: the interval ``[a, b]``.
        envelope: ``"polynomial"`` (:math:`(x - a)(b - x)`) or ``"sine"`` (:math:`\sin(\pi (x - a)/(b - a))`).

    Shape:
        - Input: ``(N, 1)``, points of the domain.
        - Output: ``(N,)``.

    Raises:
        ValueError: a domain that is not one-dimensional, an unknown envelope; when called, a body whose
            output is not one value per point.
    """

    def __init__(self, body: nn.Module, domain: Domain, envelope: Envelope = "polynomial") -> None:
        super().__init__()
        if not isinstance(body, nn.Module):
            raise TypeError(f"DirichletTrial needs a torch.nn.Module body, got {type(body).__name__}.")
        if not isinstance(domain, Domain) or domain.dim != 1:
            raise ValueError(
                f"DirichletTrial needs a one-dimensional Domain such as Domain.interval(0, 1), got {domain}."
            )
        if envelope not in ("polynomial", "sine"):
            raise ValueError(f"DirichletTrial envelope must be 'polynomial' or 'sine', got {envelope!r}.")
        self.body, self.domain, self.envelope = body, domain, envelope
        ((self.low, self.high),) = domain.bounds

    def extra_repr(self) -> str:
        """The domain and the envelope."""
        return f"domain={self.domain}, envelope={self.envelope!r}"

    def envelope_values(self, x: torch.Tensor) -> torch.Tensor:
        """:math:`g(x)`, ``(N,)`` for ``x`` of shape ``(N,)``."""
        if self.envelope == "sine":
            return torch.sin(math.pi * (x - self.low) / (self.high - self.low))
        return (x - self.low) * (self.high - x)

    def forward(self, points: torch.Tensor) -> torch.Tensor:
        """The trial function at ``points``."""
        if points.ndim != 2 or points.shape[1] != 1:
            raise ValueError(f"DirichletTrial expects points of shape (N, 1), got {tuple(points.shape)}.")
        x = points[:, 0]
        scaled = 2.0 * (points - self.low) / (self.high - self.low) - 1.0
        values = one_per_point(self.body(scaled), len(x), "the body of a DirichletTrial")
        return self.envelope_values(x) * values


def tanh_mlp(
    width: Sequence[int], *, generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32
) -> nn.Sequential:
    """``Linear -> tanh -> ... -> Linear`` over ``width``, PyTorch's default ranges drawn from ``generator``.

    ``tanh`` is smooth, so every derivative a residual needs exists (ReLU's second derivative is zero).
    """
    width = list(width)
    if len(width) < 2 or any(isinstance(w, bool) or not isinstance(w, int) or w < 1 for w in width):
        raise ValueError(f"tanh_mlp needs at least two positive int widths, got {width!r}.")
    layers: list[nn.Module] = []
    for index, (fan_in, fan_out) in enumerate(itertools.pairwise(width)):
        layers.append(seeded_linear(fan_in, fan_out, generator))
        if index < len(width) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers).to(dtype)


def reuploading_body(
    num_layers: int,
    backend: Backend,
    *,
    num_qubits: int = 1,
    generator: torch.Generator | None = None,
    dtype: torch.dtype = torch.float32,
) -> nn.Sequential:
    r"""A data re-uploading circuit read out as :math:`a \langle Z_0 \rangle + c`: a quantum PINN body.

    The circuit is :func:`circuits.library.data_reuploading` (Pérez-Salinas et al. 2020) with trainable
    input scaling on ``num_qubits`` qubits: ``num_layers`` times ``RY(s_l x)`` on every qubit then a
    trainable ``RZ RY RZ`` block and CZ entanglers; the input ``x`` is copied to every qubit. A trainable
    affine read-out (``Linear(1, 1)``) sets the amplitude, which a normalised wavefunction needs (an
    expectation value lies in ``[-1, 1]``). For a PINN run it on
    ``TorchBackend(diff_method="backprop")``, so second derivatives with respect to ``x`` exist.

    Shape:
        - Input: ``(N, 1)``.
        - Output: ``(N, 1)``.
    """
    circuit = data_reuploading(num_qubits, num_layers, "x", "w", input_scaling="s")
    layer = QuantumLayer(circuit, Z(0), backend, generator=generator, dtype=dtype)
    with torch.no_grad():
        layer.weights["s"].fill_(1.0)  # start from the plain encoding RY(x); training moves the frequencies
    readout = seeded_linear(1, 1, generator).to(dtype)
    return nn.Sequential(_Repeat(num_qubits), layer, readout)


class _Repeat(nn.Module):
    """``(N, 1) -> (N, n)``: the one input on every qubit."""

    def __init__(self, copies: int) -> None:
        super().__init__()
        self.copies = copies

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``x`` repeated ``copies`` times along the last axis."""
        return x.expand(-1, self.copies) if self.copies > 1 else x
