"""GPU rows of the variational benchmark: our torch engine on CUDA (run by scripts/gpu_check.sh).

Same workload as benchmarks/hea.py (L layers of RY(x) re-uploading, trainable RY and RZ,
CNOT ring; <Z_i> readout; loss = mean; one iteration = forward + backward), timed with
CUDA synchronisation, for larger sizes than the CPU table. The peers on the same card, where
installed: PennyLane ``default.qubit`` with torch tensors on CUDA (backprop, broadcast; the
GPU path PennyLane offers without cuQuantum) fwd+bwd, and Aer with device="GPU" forward-only.

    python benchmarks/gpu_bench.py --markdown gpu_bench.md
    python benchmarks/gpu_bench.py --device cpu --sizes 8 --batches 4   # smoke run anywhere
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from circuits import TorchBackend, Z
from circuits.ir.parameters import ParameterVector
from circuits.library import reuploading_hea


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_ours(num_qubits: int, batch: int, layers: int, device: torch.device, dtype: torch.dtype, reps: int):
    """Median fwd+bwd and fwd times (ms) of our engine on ``device``."""
    x, w = ParameterVector("x", num_qubits), ParameterVector("w", 2 * num_qubits * layers)
    circuit = reuploading_hea(num_qubits, layers, x, w)
    backend = TorchBackend(dtype=dtype, device=device)
    observables = [Z(q) for q in range(num_qubits)]
    real = torch.float64 if dtype == torch.complex128 else torch.float32
    gen = torch.Generator().manual_seed(0)
    inputs = torch.rand(batch, num_qubits, generator=gen, dtype=real).to(device)
    weights = torch.nn.Parameter(torch.rand(w.size, generator=gen, dtype=real).to(device))

    def step(backward: bool) -> float:
        weights.grad = None
        _sync(device)
        start = time.perf_counter()
        out = backend.expval(circuit, observables, {"x": inputs, "w": weights})
        if backward:
            out.mean().backward()
        _sync(device)
        return (time.perf_counter() - start) * 1e3

    for _ in range(2):
        step(True)
    full = statistics.median(step(True) for _ in range(reps))
    with torch.no_grad():
        forward = statistics.median(step(False) for _ in range(reps))
    return full, forward


def time_pennylane_cuda(num_qubits: int, batch: int, layers: int, device: torch.device, reps: int) -> str:
    """Median fwd+bwd time (ms) of PennyLane default.qubit on CUDA torch tensors, as table text.

    ``"-"`` where PennyLane is not installed, ``"OOM"`` where its kept states do not fit the card.
    """
    try:
        import _peers
        import pennylane  # noqa: F401
    except ImportError as exc:
        print(f"PennyLane peer skipped: {exc}", flush=True)
        return "-"
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, num_qubits, generator=gen).to(device)
    w = torch.rand(2 * num_qubits * layers, generator=gen).to(device)
    try:
        runner = _peers.pl_default_backprop(num_qubits, layers, x, w)
        for _ in range(2):
            runner.step()
        times = []
        for _ in range(reps):
            _sync(device)
            start = time.perf_counter()
            runner.step()
            _sync(device)
            times.append((time.perf_counter() - start) * 1e3)
    except torch.OutOfMemoryError:
        torch.cuda.empty_cache()
        return "OOM"
    except RuntimeError as exc:  # PennyLane 0.45 builds the initial state on the CPU (see docs/performance.md)
        print(f"PennyLane peer failed: {str(exc).splitlines()[0]}", flush=True)
        return "fails"
    return f"{statistics.median(times):.2f}"


def time_aer_gpu(num_qubits: int, batch: int, layers: int, reps: int) -> float | None:
    """Median forward time (ms) of AerBackend(device="GPU"), or None where Aer has no GPU."""
    try:
        from circuits.backends.aer import AerBackend

        backend = AerBackend(device="GPU")
    except Exception:
        return None
    x, w = ParameterVector("x", num_qubits), ParameterVector("w", 2 * num_qubits * layers)
    circuit = reuploading_hea(num_qubits, layers, x, w)
    values = {"x": torch.rand(batch, num_qubits, dtype=torch.float64), "w": torch.rand(w.size, dtype=torch.float64)}
    observables = [Z(q) for q in range(num_qubits)]
    backend.expval(circuit, observables, values)
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        backend.expval(circuit, observables, values)
        times.append((time.perf_counter() - start) * 1e3)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    """Run the GPU rows and print a markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--sizes", default="12,16,20")
    parser.add_argument("--batches", default="1,64")
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--peer-max-qubits", type=int, default=16, help="largest n for the PennyLane peer")
    parser.add_argument("--markdown", help="also write the table to this file")
    args = parser.parse_args(argv)
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    lines = [
        f"GPU rows on {name}, torch {torch.__version__}, L={args.layers}; median ms per iteration",
        "",
        "| n | B | ours fwd+bwd c64 | ours fwd c64 | ours fwd+bwd c128 | PennyLane default.qubit CUDA fwd+bwd "
        "| Aer GPU fwd |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in (int(s) for s in args.sizes.split(",")):
        for b in (int(s) for s in args.batches.split(",")):
            full64, fwd64 = time_ours(n, b, args.layers, device, torch.complex64, args.reps)
            full128, _ = time_ours(n, b, args.layers, device, torch.complex128, args.reps)
            peer = time_pennylane_cuda(n, b, args.layers, device, args.reps) if n <= args.peer_max_qubits else "-"
            aer = time_aer_gpu(n, b, args.layers, args.reps) if device.type == "cuda" else None
            aer_text = "-" if aer is None else f"{aer:.2f}"
            lines.append(f"| {n} | {b} | {full64:.2f} | {fwd64:.2f} | {full128:.2f} | {peer} | {aer_text} |")
            print(lines[-1], flush=True)
    text = "\n".join(lines)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
