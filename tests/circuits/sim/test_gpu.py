"""The torch engine on CUDA against the CPU results (run by scripts/gpu_check.sh; skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, X, Z
from circuits.testing import random_circuit

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with a CUDA build of torch"),
]


def _mixed_circuit(n: int) -> Circuit:
    """Constant gates, symbolic gates, and product angles x * w (the non-linear angle path)."""
    x, w = ParameterVector("x", n), ParameterVector("w", n)
    products = Circuit(n)
    for q in range(n):
        products = products.ry(x[q], q).rz(0.5 * x[q] * w[q] + 0.1, q).u(w[q], 0.3, -0.2, q)
    symbolic = random_circuit(n, depth=25, seed=5, parameter_name="theta")
    constant = random_circuit(n, depth=8, seed=6)
    return constant.compose(products).compose(symbolic)


@pytest.mark.parametrize("num_qubits", [6, 13])
@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
@pytest.mark.parametrize("diff_method", ["adjoint", "backprop"])
def test_cuda_matches_cpu(num_qubits, dtype, diff_method):
    """Both differentiation paths, both precisions; 13 qubits takes the paired 4x4 steps and long-run kernels."""
    circuit = _mixed_circuit(num_qubits)
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    gen = torch.Generator().manual_seed(1)
    values = {k: torch.rand(16, n, generator=gen, dtype=real) for k, n in circuit.parameters.items()}
    obs = [Z(q) for q in range(num_qubits)] + [X(0) @ Z(num_qubits - 1)]
    results = {}
    for device in ("cpu", "cuda"):
        leaves = {k: v.to(device).requires_grad_() for k, v in values.items()}
        out = TorchBackend(dtype=dtype, device=device, diff_method=diff_method).expval(circuit, obs, leaves)
        grads = torch.autograd.grad(out.sum(), list(leaves.values()))
        results[device] = (out.detach().cpu(), [g.cpu() for g in grads])
    tol = 1e-5 if dtype == torch.complex64 else 1e-10
    torch.testing.assert_close(results["cuda"][0], results["cpu"][0], atol=tol, rtol=0)
    for a, b in zip(results["cuda"][1], results["cpu"][1], strict=True):
        torch.testing.assert_close(a, b, atol=10 * tol, rtol=0)


def test_cuda_samples_and_probabilities():
    circuit = Circuit(3).h(0).cx(0, 1).ry(0.4, 2)
    backend = TorchBackend(device="cuda")
    probs = backend.probs(circuit)
    assert probs.device.type == "cuda"
    bits = backend.sample(circuit, shots=1000, generator=torch.Generator(device="cuda").manual_seed(0))
    assert bits.shape == (1, 1000, 3)
    assert torch.equal(bits[0, :, 0], bits[0, :, 1])


@pytest.mark.parametrize("diff_method", ["adjoint", "backprop"])
def test_cuda_product_start_matches_cpu(diff_method):
    """Leading rotations built as a product state (13 qubits x 16 samples: past the engine's 2**16 threshold)."""
    n = 13
    x, w = ParameterVector("x", n), ParameterVector("w", 2 * n)
    circuit = Circuit(n)
    for q in range(n):
        circuit = circuit.ry(x[q], q).rz(w[q], q)
    for q in range(n):
        circuit = circuit.cx(q, (q + 1) % n)
    for q in range(n):
        circuit = circuit.ry(w[n + q] * x[q], q)
    gen = torch.Generator().manual_seed(2)
    values = {
        "x": torch.rand(16, n, generator=gen, dtype=torch.float64) * 3,
        "w": torch.rand(2 * n, generator=gen, dtype=torch.float64),
    }
    obs = [Z(0), X(n - 1) @ Z(1)]
    results = {}
    for device in ("cpu", "cuda"):
        leaves = {k: v.to(device).requires_grad_() for k, v in values.items()}
        out = TorchBackend(dtype=torch.complex128, device=device, diff_method=diff_method).expval(circuit, obs, leaves)
        grads = torch.autograd.grad(out.square().sum(), list(leaves.values()), create_graph=diff_method == "backprop")
        second = torch.autograd.grad(grads[1].square().sum(), leaves["w"]) if diff_method == "backprop" else ()
        results[device] = [t.detach().cpu() for t in (out, *grads, *second)]
    for a, b in zip(results["cuda"], results["cpu"], strict=True):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)
