"""Initialisation helpers that draw from a passed generator (library code never uses the global one)."""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["seeded_conv2d", "seeded_linear"]


def seeded_linear(fan_in: int, fan_out: int, generator: torch.Generator | None) -> nn.Linear:
    """``nn.Linear(fan_in, fan_out)`` with PyTorch's default uniform ranges, drawn from ``generator``.

    ``nn.Linear`` itself draws from the global generator; this builds it inside a forked generator
    state (leaving the caller's untouched) and redraws weight and bias from ``generator``.
    """
    with torch.random.fork_rng(devices=[]):
        layer = nn.Linear(fan_in, fan_out)
    bound = 1.0 / math.sqrt(fan_in)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer


def seeded_conv2d(
    in_channels: int, out_channels: int, kernel_size: int, generator: torch.Generator | None, padding: int = 0
) -> nn.Conv2d:
    """``nn.Conv2d`` with PyTorch's default uniform ranges (``1 / sqrt(fan_in)``), drawn from ``generator``."""
    with torch.random.fork_rng(devices=[]):
        layer = nn.Conv2d(in_channels, out_channels, kernel_size, padding=padding)
    bound = 1.0 / math.sqrt(in_channels * kernel_size * kernel_size)
    with torch.no_grad():
        layer.weight.uniform_(-bound, bound, generator=generator)
        layer.bias.uniform_(-bound, bound, generator=generator)
    return layer
