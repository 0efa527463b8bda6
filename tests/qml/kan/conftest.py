"""Shared oracle of the QKAN tests: one pz DARUAN repetition by 2x2 matrices."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch


def _rz(a: float) -> torch.Tensor:
    phase = complex(math.cos(a / 2), math.sin(a / 2))
    return torch.tensor([[phase.conjugate(), 0], [0, phase]], dtype=torch.complex128)


def _ry(a: float) -> torch.Tensor:
    c, s = math.cos(a / 2), math.sin(a / 2)
    return torch.tensor([[c, -s], [s, c]], dtype=torch.complex128)


@pytest.fixture
def pz_one_repetition_state() -> Callable[[torch.Tensor, float], torch.Tensor]:
    """``state(theta, a)``: H, RZ(t00) RY(t01) RZ(a), RZ(t10) RY(t11) on ``|0>``; ``theta`` of shape ``(2, 2)``."""

    def state(theta: torch.Tensor, angle: float) -> torch.Tensor:
        t = [[float(v) for v in row] for row in theta.detach()]
        psi = torch.tensor([1, 1], dtype=torch.complex128) / math.sqrt(2)
        for gate in (_rz(t[0][0]), _ry(t[0][1]), _rz(angle), _rz(t[1][0]), _ry(t[1][1])):
            psi = gate @ psi
        return psi

    return state
