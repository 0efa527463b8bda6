"""The noisy engines on CUDA against the CPU (run by scripts/gpu_check.sh; skipped without a GPU)."""

from __future__ import annotations

import pytest
import torch

from circuits import Channel, NoiseModel, TorchBackend, X, Z
from circuits.backend import Expectation
from circuits.testing import random_circuit, random_noisy_circuit

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with a CUDA build of torch"),
]

GATES = ["h", "x", "sx", "rx", "ry", "rz", "u", "cx", "cz", "crx", "rzz", "swap", "unitary"]


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_density_matrix_on_cuda_matches_cpu_with_gradients(dtype: torch.dtype) -> None:
    model = (
        NoiseModel()
        .add_all_qubit_error([Channel.depolarizing(0.02), Channel.amplitude_damping(0.05)], ["ry", "rz", "h"])
        .add_all_qubit_error(Channel.depolarizing(0.04, 2), ["cx", "cz"])
    )
    circuit = random_circuit(7, 6, 3, gates=["ry", "rz", "cx", "cz", "h"], parameter_name="theta")
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    values = torch.rand(8, circuit.parameters["theta"], generator=torch.Generator().manual_seed(0), dtype=real)
    observables = [Z(0), X(3) @ Z(6)]
    results = {}
    for device in ("cpu", "cuda"):
        leaf = values.to(device).requires_grad_()
        out = TorchBackend(dtype=dtype, noise_model=model).expval(circuit, observables, {"theta": leaf})
        (grad,) = torch.autograd.grad(out.sum(), leaf)
        assert out.device.type == device
        results[device] = (out.detach().cpu(), grad.cpu())
    tolerance = 1e-10 if dtype == torch.complex128 else 2e-4
    for cpu, cuda in zip(results["cpu"], results["cuda"], strict=True):
        torch.testing.assert_close(cuda, cpu, atol=tolerance, rtol=0)


def test_trajectories_on_cuda_agree_with_the_density_matrix() -> None:
    circuit = random_noisy_circuit(5, 4, 7, gates=GATES)
    exact = TorchBackend(dtype=torch.complex128).expval(circuit, [Z(0), X(2) @ Z(4)])
    result = TorchBackend(
        dtype=torch.complex128, device="cuda", method="trajectory", trajectories=4000
    ).run_trajectories(
        circuit, measurement=Expectation([Z(0), X(2) @ Z(4)]), generator=torch.Generator().manual_seed(0)
    )
    assert result.value.device.type == "cuda"
    gap = (result.value.cpu() - exact).abs()
    assert torch.all(gap <= 5 * result.standard_error.cpu() + 1e-12)
