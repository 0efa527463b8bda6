"""The GPU kernel forms of circuits/sim/kernels.py, exercised on CPU against the CPU forms.

CI has no GPU, so the forms CUDA takes (elementwise single-qubit gates, the sliced broadcast-product
gradient contraction) are switched on for CPU here and compared with the default forms, through
the whole engine: expectation values and gradients by both differentiation paths.
"""

from __future__ import annotations

import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend, X, Z
from circuits.sim import kernels
from circuits.testing import random_circuit


def _circuit(n: int) -> Circuit:
    x, w = ParameterVector("x", n), ParameterVector("w", n)
    encoded = Circuit(n)
    for q in range(n):
        encoded = encoded.ry(x[q], q).rz(w[q] * x[q], q)
    return encoded.compose(random_circuit(n, depth=20, seed=11, parameter_name="theta"))


def _run(circuit: Circuit, dtype: torch.dtype, diff_method: str):
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    gen = torch.Generator().manual_seed(3)
    leaves = {k: torch.rand(4, n, generator=gen, dtype=real).requires_grad_() for k, n in circuit.parameters.items()}
    n = circuit.num_qubits
    backend, observables = TorchBackend(dtype=dtype, diff_method=diff_method), [Z(0), X(n - 1) @ Z(2)]
    with torch.no_grad():  # the buffered forward (kernels writing into out=)
        buffered = backend.expval(circuit, observables, leaves)
    out = backend.expval(circuit, observables, leaves)
    grads = torch.autograd.grad(out.square().sum(), list(leaves.values()))
    torch.testing.assert_close(buffered, out.detach(), atol=1e-5, rtol=0)
    return out.detach(), grads


@pytest.mark.parametrize("diff_method", ["adjoint", "backprop"])
def test_gpu_forms_match_cpu_forms(monkeypatch, dtype, atol, diff_method):
    circuit = _circuit(10)  # 4 x 2**10 amplitudes: past the tiny-state cut-off
    expected_out, expected_grads = _run(circuit, dtype, diff_method)
    monkeypatch.setattr(kernels, "ELEMENTWISE_DEVICES", {"cuda", "cpu"})
    monkeypatch.setattr(kernels, "_PRODUCT_CHUNK_BYTES", 4096)  # force the sliced sums
    out, grads = _run(circuit, dtype, diff_method)
    torch.testing.assert_close(out, expected_out, atol=atol, rtol=0)
    for got, want in zip(grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, atol=20 * atol, rtol=0)


@pytest.mark.parametrize("chunk_bytes", [2**30, 4096, 64])
@pytest.mark.parametrize("first", [0, 4, 8])
def test_product_gradient_matches_matmul(monkeypatch, chunk_bytes, first):
    """Every slicing (none, by rows, by runs) of the broadcast-product contraction."""
    gen = torch.Generator().manual_seed(first)
    n, qubits = 10, [first, first + 1]
    phi = torch.randn(3, 2**n, dtype=torch.complex128, generator=gen)
    psi = torch.randn(3, 2**n, dtype=torch.complex128, generator=gen)
    expected = kernels.matrix_gradient(phi, psi, qubits, n)
    monkeypatch.setattr(kernels, "_PRODUCT_CHUNK_BYTES", chunk_bytes)
    left, right = 2**first, 2 ** (n - first - 2)
    got = kernels._product_gradient(phi.view(3, left, 4, right), psi.view(3, left, 4, right))
    torch.testing.assert_close(got, expected, atol=1e-10, rtol=0)


@pytest.mark.parametrize("shared", [True, False])
@pytest.mark.parametrize("qubit", range(10))
def test_elementwise_single_qubit_form_matches(monkeypatch, qubit, shared):
    """The CUDA form of a single-qubit gate at every position, out-of-place and into ``out``."""
    gen = torch.Generator().manual_seed(qubit)
    state = torch.randn(3, 2**10, dtype=torch.complex128, generator=gen)
    matrix = torch.randn(1 if shared else 3, 2, 2, dtype=torch.complex128, generator=gen)
    expected = kernels.apply_matrix(state, matrix, [qubit], 10)
    monkeypatch.setattr(kernels, "ELEMENTWISE_DEVICES", {"cuda", "cpu"})
    buffer = torch.empty_like(state)
    kernels.apply_matrix(state, matrix, [qubit], 10, out=buffer)
    torch.testing.assert_close(kernels.apply_matrix(state, matrix, [qubit], 10), expected, atol=1e-12, rtol=0)
    torch.testing.assert_close(buffer, expected, atol=1e-12, rtol=0)
