"""Classical baselines of the KAN family, in the same interface as :class:`~qml.kan.layer.QKANLayer`."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import torch
from torch import nn

from qml.layers.init import seeded_linear

__all__ = ["FourierKAN", "FourierKANLayer", "mlp"]


class FourierKANLayer(nn.Module):
    """A KAN layer whose edge functions are truncated Fourier series (the FourierKAN of the KAN literature).

    ``y_j = sum_i sum_{k=1..K} (a_jik cos(k x_i) + b_jik sin(k x_i)) + c_j`` with coefficients drawn
    ``N(0, 1 / (in_dim * K))``, so the output starts at unit scale.

    Args:
        in_dim: input features.
        out_dim: output features.
        grid: number of frequencies ``K``.
        generator: draws the coefficients.

    Shape:
        - Input: ``(batch_size, in_dim)``.
        - Output: ``(batch_size, out_dim)``.
    """

    def __init__(self, in_dim: int, out_dim: int, grid: int = 5, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        std = 1.0 / math.sqrt(in_dim * grid)
        self.coefficients = nn.Parameter(torch.randn(2, out_dim, in_dim, grid, generator=generator) * std)
        self.bias = nn.Parameter(torch.zeros(out_dim))
        self.register_buffer("frequencies", torch.arange(1, grid + 1, dtype=torch.float32), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Sum of every edge's Fourier series."""
        phase = x[:, :, None] * self.frequencies  # (B, in, K)
        cos, sin = torch.cos(phase), torch.sin(phase)
        return (
            torch.einsum("bik,oik->bo", cos, self.coefficients[0])
            + torch.einsum("bik,oik->bo", sin, self.coefficients[1])
            + self.bias
        )


class FourierKAN(nn.Sequential):
    """Stacked :class:`FourierKANLayer`'s over ``width = [d0, ..., dk]``."""

    def __init__(self, width: Sequence[int], grid: int = 5, *, generator: torch.Generator | None = None) -> None:
        super().__init__(*(FourierKANLayer(a, b, grid, generator=generator) for a, b in itertools.pairwise(width)))


def mlp(width: Sequence[int], *, generator: torch.Generator | None = None) -> nn.Sequential:
    """``Linear -> SiLU -> ... -> Linear`` over ``width``, weights drawn from ``generator``."""
    layers: list[nn.Module] = []
    for index, (a, b) in enumerate(itertools.pairwise(width)):
        layers.append(seeded_linear(a, b, generator))
        if index < len(width) - 2:
            layers.append(nn.SiLU())
    return nn.Sequential(*layers)
