"""AerBackend on GPU against the torch engine (run by scripts/gpu_check.sh; skipped without qiskit-aer-gpu)."""

from __future__ import annotations

import pytest
import torch

from circuits import TorchBackend, X, Z
from circuits.testing import random_circuit

qiskit_aer = pytest.importorskip("qiskit_aer")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        "GPU" not in qiskit_aer.AerSimulator().available_devices(),
        reason="needs qiskit-aer-gpu and an NVIDIA GPU",
    ),
]


def test_aer_gpu_matches_torch_engine():
    from circuits.backends.aer import AerBackend

    circuit = random_circuit(5, depth=20, seed=3, parameter_name="theta")
    theta = torch.rand(8, circuit.parameters["theta"], dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    observables = [Z(0), X(1) @ Z(4)]
    expected = TorchBackend(dtype=torch.complex128).expval(circuit, observables, {"theta": theta})
    got = AerBackend(device="GPU").expval(circuit, observables, {"theta": theta})
    torch.testing.assert_close(got.to(expected.dtype), expected, atol=1e-10, rtol=0)
