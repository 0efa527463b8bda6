"""A small CNN feature extractor with an exchangeable head (the QKAN paper's CNN + QKAN / CNN + MLP comparison)."""

from __future__ import annotations

import torch
from torch import nn

from qml.layers.init import seeded_conv2d, seeded_linear

__all__ = ["CNNClassifier"]


class CNNClassifier(nn.Module):
    """``conv(1->c1) -> ReLU -> pool -> conv(c1->c2) -> ReLU -> pool -> Linear(-> features) -> head``.

    Args:
        image_size: side of the square input images (8 for scikit-learn's digits, 28 for MNIST).
        features: width the convolutional part hands to the head.
        head: maps ``features`` to class logits (a QKAN, an MLP ...).
        channels: ``(c1, c2)``.
        generator: draws the convolution and linear weights.

    Shape:
        - Input: ``(batch_size, image_size, image_size)`` or ``(batch_size, 1, image_size, image_size)``.
        - Output: what ``head`` returns, ``(batch_size, num_classes)``.
    """

    def __init__(
        self,
        image_size: int,
        features: int,
        head: nn.Module,
        *,
        channels: tuple[int, int] = (4, 8),
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        c1, c2 = channels
        self.convolutions = nn.Sequential(
            seeded_conv2d(1, c1, 3, generator, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            seeded_conv2d(c1, c2, 3, generator, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        side = image_size // 4
        self.project = seeded_linear(c2 * side * side, features, generator)
        self.head = head

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Class logits of a batch of images."""
        if images.dim() == 3:
            images = images[:, None]
        return self.head(torch.tanh(self.project(self.convolutions(images))))
