"""QKAN networks: stacked QKAN layers, and the encoder-decoder forms (JHCG net, HQKAN).

* :class:`QKAN` stacks :class:`~qml.kan.layer.QKANLayer`'s: ``width = [d0, d1, ..., dk]``.
* :class:`JHCG` is the Jiang-Huang-Chen-Goan encoder-decoder ``y = D(KAN(N(E x)))``: a linear encoder
  ``E`` to a small latent width, an optional normalisation ``N``, a KAN in the latent space, a linear
  decoder ``D`` (arXiv 2509.14026; docs/papers.md §3).
* :class:`HQKAN` is the JHCG net with a QKAN latent of width ``ceil(log2 d)`` by default: the drop-in
  replacement for a transformer MLP block of the paper (``Linear(d -> e) -> QKAN([e, e']) -> Linear(e' -> d_out)``).
"""

from __future__ import annotations

import copy
import itertools
import math
from collections.abc import Sequence
from typing import Any, Literal

import torch
from torch import nn

from qml.kan.layer import QKANLayer
from qml.layers.init import seeded_linear

__all__ = ["HQKAN", "JHCG", "QKAN"]


class QKAN(nn.Module):
    """A stack of QKAN layers.

    Args:
        width: layer widths ``[d0, d1, ..., dk]`` (``k >= 1`` layers).
        reps: re-uploadings of every DARUAN.
        generator: draws every layer's ``theta``.
        **layer_options: passed to every :class:`~qml.kan.layer.QKANLayer` (ansatz, trainability, backend ...).

    Shape:
        - Input: ``(batch_size, width[0])``.
        - Output: ``(batch_size, width[-1])``.
    """

    def __init__(
        self, width: Sequence[int], reps: int = 3, *, generator: torch.Generator | None = None, **layer_options: Any
    ) -> None:
        super().__init__()
        width = list(width)
        if len(width) < 2:
            raise ValueError(f"QKAN width needs at least an input and an output size, got {width}.")
        self.width, self.reps = width, reps
        self.layers = nn.ModuleList(
            QKANLayer(a, b, reps, generator=generator, **layer_options) for a, b in itertools.pairwise(width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Apply the layers in order."""
        for layer in self.layers:
            x = layer(x)
        return x

    def extend(self, reps: int) -> QKAN:
        """A copy whose layers all have ``reps`` re-uploadings and compute the same function now.

        See :meth:`qml.kan.layer.QKANLayer.extend`.
        """
        grown = copy.copy(self)
        nn.Module.__init__(grown)
        grown.width, grown.reps = list(self.width), reps
        grown.layers = nn.ModuleList(layer.extend(reps) for layer in self.layers)
        return grown


class JHCG(nn.Module):
    """Encoder-decoder KAN: ``y = decoder(kan(norm(encoder(x))))``.

    Args:
        in_dim: input features ``d``.
        out_dim: output features.
        kan: the latent network, mapping ``encoder.out_features`` to ``decoder.in_features``.
        latent: encoder output width.
        latent_out: decoder input width.
        norm: ``"layer"`` (LayerNorm), ``"batch"`` (BatchNorm1d) or ``None`` on the latent input.
        generator: draws the encoder and decoder weights (PyTorch's default uniform ranges).

    Shape:
        - Input: ``(batch_size, in_dim)``.
        - Output: ``(batch_size, out_dim)``.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        kan: nn.Module,
        latent: int,
        latent_out: int,
        *,
        norm: Literal["layer", "batch"] | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.encoder = seeded_linear(in_dim, latent, generator)
        self.norm = {"layer": nn.LayerNorm(latent), "batch": nn.BatchNorm1d(latent), None: nn.Identity()}[norm]
        self.kan = kan
        self.decoder = seeded_linear(latent_out, out_dim, generator)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Encode, normalise, apply the latent KAN, decode."""
        return self.decoder(self.kan(self.norm(self.encoder(x))))


class HQKAN(JHCG):
    """The hybrid QKAN: ``Linear(d -> e) -> QKAN([e, e']) -> Linear(e' -> out_dim)``.

    Args:
        in_dim: input features ``d``.
        out_dim: output features.
        latent: ``e``; default ``ceil(log2 d)`` (at least 2), the paper's bottleneck.
        latent_out: ``e'``; default ``e``.
        reps: re-uploadings of the QKAN's DARUANs.
        norm: normalisation of the latent input (``None`` as in the reference).
        generator: draws every initial weight.
        **layer_options: passed to the QKAN layers.
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        latent: int | None = None,
        latent_out: int | None = None,
        reps: int = 3,
        *,
        norm: Literal["layer", "batch"] | None = None,
        generator: torch.Generator | None = None,
        **layer_options: Any,
    ) -> None:
        latent = latent or max(2, math.ceil(math.log2(in_dim)))
        latent_out = latent_out or latent
        kan = QKAN([latent, latent_out], reps, generator=generator, **layer_options)
        super().__init__(in_dim, out_dim, kan, latent, latent_out, norm=norm, generator=generator)
