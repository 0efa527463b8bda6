"""Where the GPU time of one training iteration goes: torch profiler tables of the HEA workload.

    python benchmarks/gpu_profile.py --sizes 20:64,24:1 --rows 12

For each ``n:B`` point and both precisions, prints the differentiation path ``diff_method="auto"``
chose and the kernels that take the most CUDA time over a few fwd+bwd iterations.
"""

from __future__ import annotations

import argparse

import torch
from torch.profiler import ProfilerActivity, profile

from circuits import TorchBackend, Z
from circuits.ir.parameters import ParameterVector
from circuits.library import reuploading_hea
from circuits.sim.torch_backend import _cached_plan


def profile_point(num_qubits: int, batch: int, layers: int, dtype: torch.dtype, rows: int) -> None:
    """Print the profiler table of three fwd+bwd iterations after two warm-ups."""
    x, w = ParameterVector("x", num_qubits), ParameterVector("w", 2 * num_qubits * layers)
    circuit = reuploading_hea(num_qubits, layers, x, w)
    backend = TorchBackend(dtype=dtype, device="cuda")
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    inputs = torch.rand(batch, num_qubits, dtype=real, device="cuda")
    weights = torch.rand(w.size, dtype=real, device="cuda", requires_grad=True)
    observables = [Z(q) for q in range(num_qubits)]

    def step() -> None:
        weights.grad = None
        backend.expval(circuit, observables, {"x": inputs, "w": weights}).mean().backward()

    for _ in range(2):
        step()
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            step()
        torch.cuda.synchronize()
    steps = len(_cached_plan(circuit).steps)
    print(f"\n## n={num_qubits} B={batch} {dtype}: {steps} plan steps", flush=True)
    print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=rows), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="20:64,24:1", help="comma-separated n:B points")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args(argv)
    for point in args.sizes.split(","):
        n, b = (int(v) for v in point.split(":"))
        for dtype in (torch.complex64, torch.complex128):
            profile_point(n, b, args.layers, dtype, args.rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
