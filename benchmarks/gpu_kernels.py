"""Micro-benchmark of kernel formulations on CUDA: gate application and the adjoint gradient contraction.

    python benchmarks/gpu_kernels.py            # on a machine with an NVIDIA GPU

For each state size, precision, gate width d (2 or 4) and position, times (median of CUDA-event
timings) the formulation circuits/sim/kernels.py uses today against alternatives, so the
engine's CUDA heuristics rest on measurements of the card rather than of the CPU.
"""

from __future__ import annotations

import argparse
import statistics
from functools import partial

import torch

from circuits.sim import kernels


def _time(fn, reps: int) -> float:
    for _ in range(2):
        fn()
    times = []
    for _ in range(reps):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end))
    return statistics.median(times)


def apply_elementwise(view: torch.Tensor, matrix: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """out[:, :, i] = sum_j M[:, i, j] view[:, :, j]: d*d elementwise ops (view: (B, L, d, R))."""
    d = matrix.shape[-1]
    m = matrix.reshape(matrix.shape[0], 1, d, d, 1)
    for i in range(d):
        o = out[:, :, i]
        torch.mul(view[:, :, 0], m[:, :, i, 0], out=o)
        for j in range(1, d):
            o.addcmul_(view[:, :, j], m[:, :, i, j])
    return out


def apply_real_view(view: torch.Tensor, matrix: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The elementwise form in real arithmetic on ``view_as_real`` (inductor fuses real ops, not complex)."""
    d = matrix.shape[-1]
    x = torch.view_as_real(view)  # (B, L, d, R, 2)
    m = torch.view_as_real(matrix).reshape(matrix.shape[0], 1, d, d, 1, 2)
    xr, xi = x[..., 0], x[..., 1]
    rows = []
    for i in range(d):
        re = sum(m[:, :, i, j, :, 0] * xr[:, :, j] - m[:, :, i, j, :, 1] * xi[:, :, j] for j in range(d))
        im = sum(m[:, :, i, j, :, 0] * xi[:, :, j] + m[:, :, i, j, :, 1] * xr[:, :, j] for j in range(d))
        rows.append(torch.stack((re, im), dim=-1))
    torch.view_as_real(out).copy_(torch.stack(rows, dim=2))
    return out


def gradient_real_view(phi: torch.Tensor, psi: torch.Tensor, d: int, left: int, right: int) -> torch.Tensor:
    """``gradient_products`` in real arithmetic (for the compiler)."""
    batch = phi.shape[0]
    a = torch.view_as_real(phi).view(batch, left, d, 1, right, 2)
    b = torch.view_as_real(psi).view(batch, left, 1, d, right, 2)
    re = (a[..., 0] * b[..., 0] - a[..., 1] * b[..., 1]).sum(dim=(1, 4))
    im = (a[..., 0] * b[..., 1] + a[..., 1] * b[..., 0]).sum(dim=(1, 4))
    return torch.complex(re, im)


def gradient_permute_bmm(phi: torch.Tensor, psi: torch.Tensor, d: int, left: int, right: int) -> torch.Tensor:
    batch = phi.shape[0]
    a = phi.view(batch, left, d, right).transpose(1, 2).reshape(batch, d, left * right)
    b = psi.view(batch, left, d, right).transpose(1, 2).reshape(batch, d, left * right)
    return torch.bmm(a, b.mT)


def gradient_products(phi: torch.Tensor, psi: torch.Tensor, d: int, left: int, right: int) -> torch.Tensor:
    batch = phi.shape[0]
    a = phi.view(batch, left, d, 1, right)
    b = psi.view(batch, left, 1, d, right)
    return (a * b).sum(dim=(1, 4))


def gradient_einsum(phi: torch.Tensor, psi: torch.Tensor, d: int, left: int, right: int) -> torch.Tensor:
    batch = phi.shape[0]
    return torch.einsum("blir,bljr->bij", phi.view(batch, left, d, right), psi.view(batch, left, d, right))


def point_rows(n: int, batch: int, dtype: torch.dtype, reps: int, compiled: tuple | None) -> list[str]:
    """Table rows of one ``(n, B, dtype)`` point: every gate width, position and matrix sharing."""
    gen = torch.Generator(device="cuda").manual_seed(0)
    state = torch.randn(batch, 2**n, dtype=dtype, device="cuda", generator=gen)
    other = torch.randn(batch, 2**n, dtype=dtype, device="cuda", generator=gen)
    out = torch.empty_like(state)
    floor = 2 * state.numel() * state.element_size() / 4.3e12 * 1e3
    name = "c64" if dtype == torch.complex64 else "c128"
    rows = []
    for k in (1, 2):
        d = 2**k
        for first in (0, n // 2, n - k):
            qubits = list(range(first, first + k))
            left, right = 2**first, 2 ** (n - first - k)
            view, oview = state.view(batch, left, d, right), out.view(batch, left, d, right)
            for shared in (True, False) if batch > 1 else (True,):
                mats = torch.randn(1 if shared else batch, d, d, dtype=dtype, device="cuda")
                grads = (state, other, d, left, right)
                timings = [
                    _time(partial(kernels.apply_matrix, state, mats, qubits, n, out=out), reps),
                    _time(partial(apply_elementwise, view, mats, oview), reps),
                    _time(partial(compiled[0], view, mats, oview), reps) if compiled else None,
                    _time(partial(kernels.matrix_gradient, state, other, qubits, n), reps),
                    _time(partial(gradient_permute_bmm, *grads), reps),
                    _time(partial(gradient_products, *grads), reps),
                    _time(partial(gradient_einsum, *grads), reps),
                    _time(partial(compiled[1], *grads), reps) if compiled else None,
                    floor,
                ]
                cells = " | ".join("-" if v is None else f"{v:.3f}" for v in timings)
                rows.append(f"| {n} | {batch} | {name} | {d} | {first} | {shared} | {cells} |")
                print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", default="24:1,20:64,16:64")
    parser.add_argument("--reps", type=int, default=10)
    parser.add_argument("--compile", action="store_true", help="also time torch.compile'd elementwise forms")
    args = parser.parse_args(argv)
    compiled = None
    if args.compile:
        torch._dynamo.config.recompile_limit = 256
        compiled = (torch.compile(apply_real_view, dynamic=False), torch.compile(gradient_real_view, dynamic=False))
    print(
        "| n | B | dtype | d | first qubit | shared U | apply now | apply elementwise | apply compiled real "
        "| grad now | grad permute+bmm | grad products | grad einsum | grad compiled real | floor 1 pass (4.3 TB/s) |"
    )
    print("|" + "---:|" * 15)
    for point in args.points.split(","):
        n, batch = (int(v) for v in point.split(":"))
        for dtype in (torch.complex64, torch.complex128):
            point_rows(n, batch, dtype, args.reps, compiled)
            torch.cuda.empty_cache()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
