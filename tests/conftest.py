"""Shared fixtures: dtypes with their tolerances."""

from __future__ import annotations

import pytest
import torch

TOLERANCE = {torch.complex64: 1e-5, torch.complex128: 1e-10}


@pytest.fixture(params=[torch.complex64, torch.complex128], ids=["c64", "c128"])
def dtype(request) -> torch.dtype:
    """Both engine precisions."""
    return request.param


@pytest.fixture
def atol(dtype) -> float:
    """Agreement required with the exact oracles at this precision."""
    return TOLERANCE[dtype]
