"""DARUAN as an element-wise activation module: one trainable one-qubit re-uploading circuit per feature."""

from __future__ import annotations

from typing import Literal

import torch
from torch import nn

from circuits.library.daruan import daruan_program, daruan_theta_shape
from qml.kan.bloch import daruan_expectation
from qml.kan.layer import _xavier_normal

__all__ = ["DARUAN"]


class DARUAN(nn.Module):
    """``phi_i(x_i)`` for every feature ``i``: the DARUAN activation (arXiv 2509.14026) applied element-wise.

    Feature ``i`` has its own ``theta`` and pre-processing ``w_il * x + b_il``; the output is the
    Born-rule ``<Z>`` of :func:`circuits.library.daruan_circuit` (fast path, real arithmetic).

    Args:
        dim: number of features.
        reps: data re-uploadings.
        ansatz: see :mod:`circuits.library.daruan`.
        preact_trainable: train ``w`` (init 1) and ``b`` (init 0).
        generator: draws ``theta`` (Xavier normal).
        dtype: parameter dtype.

    Shape:
        - Input: ``(..., dim)``.
        - Output: ``(..., dim)`` in ``[-1, 1]``.
    """

    def __init__(
        self,
        dim: int,
        reps: int = 3,
        *,
        ansatz: Literal["pz", "rpz", "mix", "real"] = "pz",
        preact_trainable: bool = True,
        generator: torch.Generator | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        if ansatz == "px":
            raise ValueError("DARUAN supports the ansatzes pz, rpz, mix and real; px needs inputs in [-1, 1].")
        self.dim, self.reps, self.program = dim, reps, daruan_program(reps, ansatz)
        blocks, width = daruan_theta_shape(reps, ansatz)
        self.theta = nn.Parameter(_xavier_normal((1, dim, blocks, width), generator, dtype)[0])
        self.preact_weight = nn.Parameter(torch.ones(dim, reps, dtype=dtype), requires_grad=preact_trainable)
        self.preact_bias = nn.Parameter(torch.zeros(dim, reps, dtype=dtype), requires_grad=preact_trainable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The activation of every feature."""
        if x.shape[-1] != self.dim:
            raise ValueError(f"DARUAN expects {self.dim} features in the last axis, got shape {tuple(x.shape)}.")

        def data_angle(layer: int, offset: torch.Tensor | None) -> torch.Tensor:
            bias = self.preact_bias[:, layer] if offset is None else self.preact_bias[:, layer] + offset
            return torch.addcmul(bias, self.preact_weight[:, layer], x)

        return daruan_expectation(self.program, self.theta, data_angle)
