"""Shared fixtures: dtypes with their tolerances.

The engine's per-machine tuning (circuits/sim/tuning.py) is off unless a test turns it on, so kernel
choices are the built-in ones on every machine and nothing is measured or written to the user's cache.
"""

from __future__ import annotations

import os

import pytest
import torch

os.environ.setdefault("QML_HYBRID_TUNING", "off")

TOLERANCE = {torch.complex64: 1e-5, torch.complex128: 1e-10}


@pytest.fixture(params=[torch.complex64, torch.complex128], ids=["c64", "c128"])
def dtype(request) -> torch.dtype:
    """Both engine precisions."""
    return request.param


@pytest.fixture
def atol(dtype) -> float:
    """Agreement required with the exact oracles at this precision."""
    return TOLERANCE[dtype]


@pytest.fixture
def tuned(monkeypatch, tmp_path):
    """Tuning on, with its file in a fresh directory; the process's tuning state forgotten before and after."""
    from circuits.sim import tuning

    monkeypatch.setenv(tuning.ENV_SWITCH, "on")
    monkeypatch.setenv(tuning.ENV_CACHE_DIR, str(tmp_path))
    tuning.reset()
    yield tmp_path
    tuning.reset()
