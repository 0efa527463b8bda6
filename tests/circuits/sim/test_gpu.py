"""The torch engine on CUDA against the CPU results (run by scripts/gpu_check.sh; skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from circuits import TorchBackend, Z
from circuits.testing import random_circuit

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with a CUDA build of torch"),
]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("diff_method", ["adjoint", "backprop"])
def test_cuda_matches_cpu(dtype, diff_method):
    circuit = random_circuit(6, depth=40, seed=5)
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    gen = torch.Generator().manual_seed(1)
    values = {k: torch.rand(16, n, generator=gen, dtype=real) for k, n in circuit.parameters.items()}
    obs = [Z(q) for q in range(6)]
    results = {}
    for device in ("cpu", "cuda"):
        leaves = {k: v.to(device).requires_grad_() for k, v in values.items()}
        out = TorchBackend(dtype=dtype, device=device, diff_method=diff_method).expval(circuit, obs, leaves)
        grads = torch.autograd.grad(out.sum(), list(leaves.values()))
        results[device] = (out.detach().cpu(), [g.cpu() for g in grads])
    tol = 1e-4 if dtype == torch.complex64 else 1e-10
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], atol=tol, rtol=0)
    for a, b in zip(results["cuda"][1], results["cpu"][1], strict=True):
        torch.testing.assert_close(a, b, atol=tol, rtol=0)
