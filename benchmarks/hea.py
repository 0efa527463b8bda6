"""HEA (hardware-efficient ansatz with data re-uploading) benchmark: ours against the peers, one run.

docs/performance.md, the first target. The workload and the peers are in ``_peers.py``; the method follows
``docs/peer-baselines.md``: every (peer, n, B) point runs in a fresh subprocess, one after another,
``torch.set_num_threads(2)``, warm-up iterations, then the median of N timed iterations
(forward + ``loss.backward()``, ``loss = mean`` of the ``(B, n)`` outputs, gradients cleared every
iteration). See ``benchmarks/README.md``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/hea.py --check [--tq-python PATH]
    .venv/bin/python benchmarks/hea.py --quick
    .venv/bin/python benchmarks/hea.py --out results.json --markdown results.md [--tq-python PATH] [--tune]
    .venv/bin/python benchmarks/hea.py --profile 12,64 [--profile-diff adjoint]
    .venv/bin/python benchmarks/hea.py --ab --threads 1 --max-reps 5 [--sizes 8,12,16 --batches 1,64]

This file imports only the standard library at the top, so the TorchQuantum environment can run
its workers (``--worker``) too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import queue
import resource
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

ALL_PEERS = [
    "ours",
    "ours_adjoint",
    "pl_default_backprop",
    "pl_lightning_adjoint",
    "pl_lightning_adjoint_vjp",
    "qiskit_aer_estimator",
    "torchquantum",
    "ours_qiskit_estimator",
    "ours_pennylane_device",
]
TQ_PEERS = {"torchquantum"}
NOT_DIFFERENTIABLE = {"qiskit_aer_estimator", "ours_qiskit_estimator"}
OURS = {"ours", "ours_adjoint"}
ADAPTERS = {"ours_qiskit_estimator", "ours_pennylane_device"}
"""Our engine behind the PennyLane / Qiskit adapters: rows of the table, never "the fastest peer"."""
GIB = 1 << 30


# =========================================================================== worker side


def _cpu_busy_seconds() -> float:
    """Busy CPU seconds of the whole machine since boot (all cores), from /proc/stat."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except OSError:
        return float("nan")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def package_versions(packages: list[str]) -> dict[str, str]:
    """Python's version and each installed distribution's (``"not installed"`` where missing)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for dist in packages:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _versions(peer: str) -> dict[str, str]:
    from _peers import VERSION_PACKAGES

    return package_versions(VERSION_PACKAGES.get(peer, []))


def _inputs(n: int, batch: int, layers: int, seed: int):
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(batch, n, generator=gen) * 2 - 1) * math.pi
    w = (torch.rand(2 * n * layers, generator=gen) * 2 - 1) * math.pi
    return x, w


def _timed_loop(fn, budget_s: float, min_reps: int, max_reps: int, est_s: float) -> dict[str, Any]:
    reps = max(min_reps, min(max_reps, int(budget_s / max(est_s, 1e-6))))
    times = []
    busy0, own0, wall0 = _cpu_busy_seconds(), _own_cpu_seconds(), time.perf_counter()
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    wall = time.perf_counter() - wall0
    other = (_cpu_busy_seconds() - busy0) - (_own_cpu_seconds() - own0)
    share = max(0.0, other / ((os.cpu_count() or 1) * wall)) if wall > 0 else float("nan")
    return {
        "median_s": statistics.median(times),
        "min_s": min(times),
        "max_s": max(times),
        "reps": reps,
        "other_cpu_share": share,
    }


def worker_time(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    from _peers import PEERS

    torch.set_num_threads(spec["threads"])
    peer, n, batch, layers = spec["peer"], spec["n"], spec["batch"], spec["layers"]
    x, w = _inputs(n, batch, layers, spec["seed"])
    rec: dict[str, Any] = {"versions": _versions(peer), "threads": torch.get_num_threads()}
    t0 = time.perf_counter()
    runner = PEERS[peer](n, layers, x, w)
    rec["build_s"] = time.perf_counter() - t0
    rec["differentiable"] = runner.differentiable
    rec["peer_note"] = runner.note
    main = runner.step if runner.differentiable else runner.forward

    t0 = time.perf_counter()
    main()
    first = time.perf_counter() - t0
    rec["first_iter_s"] = first
    print(f"FIRST {first:.6f}", flush=True)
    if first > spec["first_limit_s"]:
        rec["skipped"] = f"first iteration took {first:.1f} s > {spec['first_limit_s']:.0f} s limit"
        return rec
    # Warm-up: 1 iteration (the first), 2 to 3 when fast.
    est = first
    for _ in range(2 if first < 0.2 else 1 if first < 1.0 else 0):
        t0 = time.perf_counter()
        main()
        est = time.perf_counter() - t0
    res = _timed_loop(main, spec["budget_s"], spec["min_reps"], spec["max_reps"], est)
    rec["fwdbwd" if runner.differentiable else "fwd"] = res
    if runner.differentiable and spec["measure_fwd"]:
        runner.zero_grad()
        t0 = time.perf_counter()
        runner.forward()
        est = time.perf_counter() - t0
        rec["fwd"] = _timed_loop(runner.forward, spec["budget_s"] / 4, 3, spec["max_reps"], est)
    return rec


def worker_check(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    from _peers import PEERS

    torch.set_num_threads(spec["threads"])
    x = torch.tensor(spec["x"], dtype=torch.float32)
    w = torch.tensor(spec["w"], dtype=torch.float32)
    runner = PEERS[spec["peer"]](spec["n"], spec["layers"], x, w)
    rec: dict[str, Any] = {"versions": _versions(spec["peer"])}
    if runner.differentiable:
        runner.zero_grad()
        out = runner.forward()
        out.mean().backward()
        rec["grad"] = runner.flat_grad().double().tolist()
    else:
        out = runner.forward()
    rec["out"] = out.detach().double().tolist()
    return rec


def worker_bandwidth(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(spec["threads"])
    nbytes = 256 * (1 << 20)
    src = torch.ones(nbytes // 4, dtype=torch.float32)
    dst = torch.empty_like(src)
    for _ in range(2):
        dst.copy_(src)
    times = []
    for _ in range(10):
        t0 = time.perf_counter()
        dst.copy_(src)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    return {"torch_copy_GBps": 2 * nbytes / med / 1e9, "buffer_MiB": 256, "reps": len(times), "median_s": med}


def worker_tuning(spec: dict[str, Any]) -> dict[str, Any]:
    """The engine's tuning as the timing workers see it (same threads): measured now with ``spec["tune"]``."""
    import torch

    from circuits.sim import tuning

    torch.set_num_threads(spec["threads"])
    if spec.get("tune"):
        report = tuning.tune([torch.complex64])
        report.pop("times")
        report["chunk_times"] = {str(k): v for k, v in report["chunk_times"].items()}
    else:
        report = tuning.current_choices(torch.complex64)
    report["enabled"] = tuning.enabled()
    from qml.cli_bench import fusion_line

    report["fusion_line"] = fusion_line(report.get("fusion"))
    from circuits.sim import native

    report["native"] = {"enabled": native.enabled(), "available": native.available()}
    if native._state.get("error") is not None:
        report["native"]["error"] = str(native._state["error"])[:300]
    return report


def worker_ab(spec: dict[str, Any]) -> dict[str, Any]:
    """Ours with the compiled layer kernel on and off, interleaved in one process (forward without autograd,
    backprop and adjoint iterations); fastest and median per variant. With one thread the clock is the
    thread's CPU time (what other jobs on a shared machine take is not counted), else wall time."""
    import torch
    from _peers import PEERS

    torch.set_num_threads(spec["threads"])
    x, w = _inputs(spec["n"], spec["batch"], spec["layers"], spec["seed"])
    default = PEERS["ours"](spec["n"], spec["layers"], x, w)
    adjoint = PEERS["ours_adjoint"](spec["n"], spec["layers"], x, w)

    def forward() -> None:
        with torch.no_grad():
            default.forward()

    calls = {
        (name, switch): fn
        for switch in ("off", "on")
        for name, fn in (("fwd", forward), ("backprop", default.step), ("adjoint", adjoint.step))
    }
    clock = time.thread_time if spec["threads"] == 1 else time.perf_counter
    times: dict[tuple[str, str], list[float]] = {key: [] for key in calls}
    for rep in range(spec["reps"] + 1):
        for (name, switch), fn in calls.items():
            os.environ["QML_HYBRID_NATIVE"] = switch
            t0 = clock()
            fn()
            if rep:  # the first round warms up (and builds the kernel)
                times[(name, switch)].append(clock() - t0)
    from circuits.sim import native

    return {
        "clock": "thread CPU time" if spec["threads"] == 1 else "wall",
        "native_available": native.available(),
        "times": {f"{name} {switch}": [min(v), statistics.median(v)] for (name, switch), v in times.items()},
    }


def run_ab(args: argparse.Namespace) -> int:
    """``--ab``: the compiled layer kernel on against off, per point, printed as a markdown table."""
    print(f"# ours, compiled layer kernel off / on, {args.threads} thread(s); ms, fastest (median) of {args.max_reps}")
    columns = [f"{name} {part}" for name in ("fwd", "backprop", "adjoint") for part in ("off", "on", "x")]
    print("| n | B | " + " | ".join(columns) + " |")
    print("|---:|---:|" + "---:|" * len(columns))
    for n in (int(v) for v in args.sizes.split(",")):
        for batch in (int(v) for v in args.batches.split(",")):
            spec = {"mode": "ab", "n": n, "batch": batch, "layers": args.layers, "seed": args.seed}
            spec.update(threads=args.threads, reps=args.max_reps)
            rec = run_worker(sys.executable, spec, args)
            if "error" in rec:
                print(f"| {n} | {batch} | {rec['error']} |")
                continue
            cells = []
            for name in ("fwd", "backprop", "adjoint"):
                (off, off_med), (on, on_med) = rec["times"][f"{name} off"], rec["times"][f"{name} on"]
                cells += [f"{off * 1e3:.3g} ({off_med * 1e3:.3g})", f"{on * 1e3:.3g} ({on_med * 1e3:.3g})"]
                cells.append(f"{off / on:.2f}")
            print(f"| {n} | {batch} | " + " | ".join(cells) + " |", flush=True)
    return 0


def worker_main(spec_json: str, modes: dict[str, Any] | None = None) -> None:
    """Run one worker ``mode`` of ``modes`` (default this file's) and print its ``RESULT`` line.

    Any exception becomes ``{"error": ...}``, so the parent records the point instead of failing.
    """
    spec = json.loads(spec_json)
    modes = modes or {
        "time": worker_time,
        "check": worker_check,
        "bandwidth": worker_bandwidth,
        "tuning": worker_tuning,
        "ab": worker_ab,
    }
    try:
        rec = modes[spec["mode"]](spec)
    except MemoryError as exc:
        rec = {"error": f"MemoryError: {exc}"[:300]}
    except Exception as exc:
        rec = {"error": f"{type(exc).__name__}: {exc}"[:500]}
    print("RESULT " + json.dumps(rec), flush=True)


# =========================================================================== parent side


def _set_mem_cap(gib: float):
    if gib <= 0:
        return None

    def cap() -> None:
        limit = int(gib * GIB)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return cap


def run_worker(
    python: str, spec: dict[str, Any], args: argparse.Namespace, script: Path | None = None
) -> dict[str, Any]:
    """Run one worker (``script --worker SPEC``, default this file) in a fresh process; enforce the limits."""
    env = dict(os.environ)
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        env[var] = str(args.threads)
    env.setdefault("PYTHONWARNINGS", "ignore")
    cmd = [python, str(script or HERE / "hea.py"), "--worker", json.dumps(spec)]
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=str(REPO),
        preexec_fn=_set_mem_cap(args.mem_cap_gib),
    )
    lines: queue.Queue[str | None] = queue.Queue()
    err_tail: list[str] = []

    def pump_out() -> None:
        for line in proc.stdout:
            lines.put(line)
        lines.put(None)

    def pump_err() -> None:
        for line in proc.stderr:
            err_tail.append(line)
            del err_tail[:-20]

    threading.Thread(target=pump_out, daemon=True).start()
    threading.Thread(target=pump_err, daemon=True).start()
    # Importing the SDKs and building the circuit gets startup_s; the first iteration gets first_limit_s.
    deadline = start + args.startup_s + spec.get("first_limit_s", 0)
    result = None
    timeout_note = None
    first_seen = False
    while True:
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            timeout_note = (
                f"killed: no result within the {args.point_timeout_s:.0f} s per-point limit"
                if first_seen
                else f"killed: first iteration not done within {spec.get('first_limit_s', 0):.0f} s "
                f"(+{args.startup_s:.0f} s startup)"
            )
            proc.kill()
            break
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            continue
        if line is None:
            break
        if line.startswith("FIRST "):
            first_seen = True
            deadline = start + args.point_timeout_s
        elif line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
    proc.wait()
    if result is None:
        if timeout_note is None:
            tail = "".join(err_tail).strip().splitlines()
            why = tail[-1] if tail else "no output"
            if proc.returncode and proc.returncode < 0:
                why = f"killed by signal {-proc.returncode} (memory cap {args.mem_cap_gib} GiB?); {why}"
            timeout_note = f"worker failed (rc {proc.returncode}): {why}"[:400]
        result = {"error": timeout_note}
    result["wall_s"] = time.perf_counter() - start
    return result


def peer_python(peer: str, args: argparse.Namespace) -> str | None:
    if peer in TQ_PEERS:
        return args.tq_python
    return sys.executable


# --------------------------------------------------------------------------- check


def run_check(args: argparse.Namespace, peers: list[str]) -> int:
    import random

    n, batch, layers = 5, 3, 2
    rng = random.Random(args.seed)
    x = [[rng.uniform(-math.pi, math.pi) for _ in range(n)] for _ in range(batch)]
    w = [rng.uniform(-math.pi, math.pi) for _ in range(2 * n * layers)]
    if "ours" not in peers:
        peers = ["ours", *peers]
    print(f"# HEA check: n={n}, B={batch}, L={layers}, tolerance {args.tol:g} against ours")
    print("# compared: the (B, n) outputs <Z_i> and the gradient of their mean w.r.t. w\n")
    results: dict[str, dict[str, Any]] = {}
    for peer in peers:
        python = peer_python(peer, args)
        if python is None:
            results[peer] = {"error": "skipped: no --tq-python given"}
            continue
        spec = {"mode": "check", "peer": peer, "n": n, "batch": batch, "layers": layers, "x": x, "w": w}
        spec["threads"] = args.threads
        results[peer] = run_worker(python, spec, args)
    ref = results["ours"]
    if "error" in ref:
        print(f"ours failed: {ref['error']}")
        return 1
    ok = True
    print("| peer | max |out - ours| | max |grad - ours| | result |")
    print("|---|---:|---:|---|")
    for peer in peers:
        rec = results[peer]
        if "error" in rec:
            status = "skipped" if rec["error"].startswith("skipped") else "FAILED"
            ok &= status == "skipped"
            print(f"| {peer} | - | - | {status}: {rec['error']} |")
            continue
        pairs = zip(rec["out"], ref["out"], strict=True)
        d_out = max(abs(a - b) for ra, rb in pairs for a, b in zip(ra, rb, strict=True))
        d_grad = None
        if "grad" in rec:
            d_grad = max(abs(a - b) for a, b in zip(rec["grad"], ref["grad"], strict=True))
        good = d_out <= args.tol and (d_grad is None or d_grad <= args.tol)
        ok &= good
        g = "-" if d_grad is None else f"{d_grad:.2e}"
        print(f"| {peer} | {d_out:.2e} | {g} | {'ok' if good else 'MISMATCH'} |")
    print("\nours outputs[0]:", [round(v, 6) for v in ref["out"][0]])
    print("check", "passed" if ok else "FAILED")
    return 0 if ok else 1


# --------------------------------------------------------------------------- timing


def floors_ms(n: int, batch: int, layers: int, gbps: float) -> tuple[float, float]:
    """(per-gate floor, fused-layer floor) in ms: state passes x B x 2^n x 8 B x 2 (read+write) / bandwidth."""
    pass_bytes = batch * (2**n) * 8 * 2
    per_gate = 4 * n * layers * pass_bytes / (gbps * 1e9) * 1e3
    fused = (n + 1) * layers * pass_bytes / (gbps * 1e9) * 1e3
    return per_gate, fused


def machine_info() -> dict[str, Any]:
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    python = sys.version.split()[0]
    return {"cpu": model, "cpu_count": os.cpu_count(), "platform": platform.platform(), "python": python}


def run_bench(args: argparse.Namespace, peers: list[str]) -> dict[str, Any]:
    sizes = [int(s) for s in args.sizes.split(",")]
    batches = [int(b) for b in args.batches.split(",")]
    meta: dict[str, Any] = {
        "machine": machine_info(),
        "layers": args.layers,
        "threads": args.threads,
        "budget_s": args.budget_s,
        "reps": [args.min_reps, args.max_reps],
        "first_limit_s": args.first_limit_s,
        "mem_cap_gib": args.mem_cap_gib,
        "tq_python": args.tq_python,
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    if args.bandwidth:
        meta["bandwidth"] = {"torch_copy_GBps": args.bandwidth, "given": True}
    else:
        bw = run_worker(sys.executable, {"mode": "bandwidth", "threads": args.threads}, args)
        meta["bandwidth"] = bw
        if "error" in bw:
            print(f"bandwidth measurement failed: {bw['error']}; floors use 18.9 GB/s", flush=True)
            bw["torch_copy_GBps"] = 18.9
    gbps = meta["bandwidth"]["torch_copy_GBps"]
    print(f"copy bandwidth (torch copy_, 256 MiB, read+write): {gbps:.1f} GB/s", flush=True)
    if args.tune:
        meta["tuning"] = run_worker(sys.executable, {"mode": "tuning", "threads": args.threads, "tune": True}, args)
        print(f"engine tuned in {meta['tuning'].get('seconds', float('nan')):.1f} s", flush=True)
    points = []
    for n in sizes:
        for batch in batches:
            for peer in peers:
                python = peer_python(peer, args)
                if python is None:
                    rec = {"error": "skipped: no --tq-python given"}
                else:
                    spec = {
                        "mode": "time",
                        "peer": peer,
                        "n": n,
                        "batch": batch,
                        "layers": args.layers,
                        "seed": args.seed,
                        "threads": args.threads,
                        "budget_s": args.budget_s,
                        "min_reps": args.min_reps,
                        "max_reps": args.max_reps,
                        "first_limit_s": args.first_limit_s,
                        "measure_fwd": args.fwd_peers == "all" or peer in args.fwd_peers.split(","),
                    }
                    rec = run_worker(python, spec, args)
                rec.update({"peer": peer, "n": n, "batch": batch, "layers": args.layers})
                points.append(rec)
                print("  " + _progress_line(rec), flush=True)
    if "tuning" not in meta:  # what the workers measured at first use (or found saved)
        meta["tuning"] = run_worker(sys.executable, {"mode": "tuning", "threads": args.threads}, args)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return {"meta": meta, "points": points}


def tuning_markdown(report: dict[str, Any] | None) -> list[str]:
    """The engine's tuning (complex64) as a markdown section: the chunk size and the choices off the built-in rules."""
    if not report:
        return []
    out = ["", "## Engine tuning (complex64)", ""]
    if "error" in report:
        return [*out, f"not available: {report['error']}"]
    m = report["machine"]
    out.append(
        f"Machine key: {m['cpu']}, {m['cores']} cores, {m['threads']} torch threads, torch {m['torch']}. "
        f"File: `{report.get('path')}`. Tuning {'on' if report.get('enabled', True) else 'OFF (built-in rules)'}."
    )
    chunk = report.get("chunk_bytes")
    out.append("")
    out.append(f"Batch chunk: {'built-in 8 MiB (not measured)' if chunk is None else f'{chunk >> 20} MiB'}.")
    if report.get("fusion_line"):
        out.append(f"{report['fusion_line'].capitalize()}.")
    state = report.get("native", {})
    if not state.get("enabled", True):
        out.append("Compiled layer kernel: off (QML_HYBRID_NATIVE=off).")
    elif state.get("available"):
        out.append("Compiled layer kernel: built; layers run on it where the choices below (or the built-in rule) say.")
    elif state:
        out.append(f"Compiled layer kernel: not available ({state.get('error', 'unknown')}); torch kernels only.")
    kernels, fallbacks = report.get("kernels", {}), report.get("fallbacks", {})
    if isinstance(kernels.get("complex64"), dict):  # a tune() report holds every dtype
        kernels, fallbacks = kernels["complex64"], fallbacks["complex64"]
    differ = {key: choice for key, choice in kernels.items() if fallbacks.get(key) != choice}
    out.append(
        f"Kernel choices measured: {len(kernels)} of {len(fallbacks)} call shapes; {len(differ)} differ from "
        "the built-in rules" + (":" if differ else ".")
    )
    if differ:
        out += ["", "| call shape | tuned | built-in |", "|---|---|---|"]
        out += [f"| {key} | {choice} | {fallbacks.get(key, '-')} |" for key, choice in sorted(differ.items())]
    return out


def _ms(rec: dict[str, Any], key: str) -> float | None:
    r = rec.get(key)
    return None if r is None else r["median_s"] * 1e3


def _progress_line(rec: dict[str, Any]) -> str:
    head = f"n={rec['n']:>2} B={rec['batch']:>2} {rec['peer']:<26}"
    if "error" in rec or "skipped" in rec:
        return f"{head} {rec.get('error') or rec.get('skipped')}"
    fb, fw = _ms(rec, "fwdbwd"), _ms(rec, "fwd")
    parts = [head]
    if fb is not None:
        parts.append(f"fwd+bwd {_fmt(fb):>8} ms ({rec['fwdbwd']['reps']} reps)")
    if fw is not None:
        parts.append(f"fwd {_fmt(fw):>8} ms")
    return "  ".join(parts)


def _fmt(v: float | None) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    if v >= 1:
        return f"{v:.2f}"
    return f"{v:.3f}"


def _notes(rec: dict[str, Any]) -> str:
    if "error" in rec:
        return rec["error"].replace("|", "/")
    if "skipped" in rec:
        return rec["skipped"]
    notes = []
    for key in ("fwdbwd", "fwd"):
        r = rec.get(key)
        if r is not None:
            share = r.get("other_cpu_share", float("nan"))
            flag = " (NOISY: re-measure)" if share > 0.10 else ""
            notes.append(f"{key} {r['reps']} reps, other CPU {share * 100:.0f}%{flag}")
            if key == "fwdbwd":
                break
    if rec["peer"] in NOT_DIFFERENTIABLE:
        notes.insert(0, "FORWARD ONLY (no autograd)")
    return "; ".join(notes)


def to_markdown(data: dict[str, Any]) -> str:
    meta, points = data["meta"], data["points"]
    gbps = meta["bandwidth"]["torch_copy_GBps"]
    layers = meta["layers"]
    out = ["# HEA benchmark (docs/performance.md): ours vs peers, same run", ""]
    m = meta["machine"]
    out.append(
        f"Machine: {m['cpu']} ({m['cpu_count']} CPUs), {m['platform']}, Python {m['python']}; "
        f"{meta['threads']} torch/OpenMP threads per worker. Started {meta['started']}."
    )
    out.append(f"Command: `{meta['command']}`")
    out.append("")
    out.append(
        f"Copy bandwidth (torch `copy_`, 256 MiB buffers, read+write bytes): **{gbps:.1f} GB/s**. "
        "Floors are forward-only: per-gate = 4nL gates x B x 2^n x 8 B x 2 / bandwidth; "
        "fused-layer = (n+1)L passes x the same."
    )
    versions: dict[str, str] = {}
    for p in points:
        for k, v in p.get("versions", {}).items():
            if p["peer"] == "torchquantum" and k != "torchquantum":
                k = f"{k} (tq env)"
            versions.setdefault(k, v)
    if versions:
        out.append("")
        out.append("Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items())))
    out.append("")
    out.append(
        "Times are medians in ms per iteration (forward + `loss.backward()`, loss = mean of the (B, n) outputs). "
        "`peer/ours` = peer time / ours (TorchBackend(), default diff_method) time: how many times faster ours is. "
        "`fwd` is the forward alone with the autograd graph built (no backward)."
    )
    by_point: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for p in points:
        by_point.setdefault((p["n"], p["batch"]), []).append(p)
    out += tuning_markdown(meta.get("tuning"))

    out += ["", "## Summary", ""]
    out.append(
        "| n | B | floor/gate (ms) | floor fused-layer (ms) | ours fwd (ms) | ours fwd+bwd (ms) | "
        "ours adjoint fwd+bwd (ms) | fastest differentiable peer | its fwd+bwd (ms) | peer/ours | "
        "ours fwd / floor/gate | ours fwd+bwd / floor/gate |"
    )
    out.append("|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for (n, batch), recs in by_point.items():
        fg, ff = floors_ms(n, batch, layers, gbps)
        get = {r["peer"]: r for r in recs}
        ours = get.get("ours", {})
        o_fb, o_fw = _ms(ours, "fwdbwd"), _ms(ours, "fwd")
        ob_fb = _ms(get.get("ours_adjoint", {}), "fwdbwd")
        best = None
        for r in recs:
            t = _ms(r, "fwdbwd")
            if r["peer"] in OURS | ADAPTERS or r["peer"] in NOT_DIFFERENTIABLE or t is None:
                continue
            if best is None or t < best[1]:
                best = (r["peer"], t)
        ratio = f"{best[1] / o_fb:.1f}x" if best and o_fb else "-"
        fw_floor = f"{o_fw / fg:.1f}x" if o_fw and fg > 0 else "-"
        fb_floor = f"{o_fb / fg:.1f}x" if o_fb and fg > 0 else "-"
        out.append(
            f"| {n} | {batch} | {_fmt(fg)} | {_fmt(ff)} | {_fmt(o_fw)} | {_fmt(o_fb)} | {_fmt(ob_fb)} | "
            f"{best[0] if best else '-'} | {_fmt(best[1]) if best else '-'} | {ratio} | {fw_floor} | {fb_floor} |"
        )

    out += ["", "## Per point", ""]
    for (n, batch), recs in by_point.items():
        fg, ff = floors_ms(n, batch, layers, gbps)
        gates = 4 * n * layers
        mb = batch * (2**n) * 8 / 1e6
        out.append(
            f"### n={n}, B={batch}, L={layers}  (floors, forward only: per-gate {gates} gates x {mb:.3g} MB -> "
            f"{_fmt(fg)} ms; fused-layer {(n + 1) * layers} passes -> {_fmt(ff)} ms)"
        )
        out.append("")
        out.append("| peer | fwd+bwd (ms) | peer/ours | fwd only (ms) | notes |")
        out.append("|---|---:|---:|---:|---|")
        get = {r["peer"]: r for r in recs}
        o_fb, o_fw = _ms(get.get("ours", {}), "fwdbwd"), _ms(get.get("ours", {}), "fwd")

        def key(r: dict[str, Any]) -> tuple[int, float]:
            t = _ms(r, "fwdbwd")
            if r["peer"] in OURS:
                return (0, ALL_PEERS.index(r["peer"]))
            if t is not None:
                return (1, t)
            return (2, _ms(r, "fwd") or math.inf)

        for r in sorted(recs, key=key):
            fb, fw = _ms(r, "fwdbwd"), _ms(r, "fwd")
            if fb is not None and o_fb:
                ratio = f"{fb / o_fb:.1f}x"
            elif fb is None and fw is not None and o_fw:
                ratio = f"(fwd) {fw / o_fw:.1f}x"
            else:
                ratio = "-"
            out.append(f"| {r['peer']} | {_fmt(fb)} | {ratio} | {_fmt(fw)} | {_notes(r)} |")
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- profile


def run_profile(args: argparse.Namespace) -> None:
    import torch
    from _peers import PEERS
    from torch.profiler import ProfilerActivity, profile

    n, batch = (int(v) for v in args.profile.split(","))
    torch.set_num_threads(args.threads)
    peer = "ours" if args.profile_diff == "default" else "ours_adjoint"
    x, w = _inputs(n, batch, args.layers, args.seed)
    runner = PEERS[peer](n, args.layers, x, w)
    for _ in range(2):
        runner.step()
    t0 = time.perf_counter()
    for _ in range(args.profile_iters):
        runner.step()
    plain = (time.perf_counter() - t0) / args.profile_iters
    with profile(activities=[ProfilerActivity.CPU], record_shapes=args.profile_shapes) as prof:
        for _ in range(args.profile_iters):
            runner.step()
    print(f"# profile: {peer} ({runner.note}), n={n}, B={batch}, L={args.layers}, {torch.get_num_threads()} threads")
    print(f"# {args.profile_iters} iterations (fwd+bwd), {plain * 1e3:.2f} ms/iteration without the profiler\n")
    table = prof.key_averages(group_by_input_shape=args.profile_shapes).table(
        sort_by="self_cpu_time_total", row_limit=args.profile_rows, max_name_column_width=60
    )
    print(table)
    if args.profile_trace:
        prof.export_chrome_trace(args.profile_trace)
        print(f"chrome trace written to {args.profile_trace}")


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify all peers agree (n=5, B=3, L=2) and exit")
    ap.add_argument("--quick", action="store_true", help="smoke run: n=4,8 only, ~1 s per point, 3..10 reps")
    ap.add_argument("--profile", metavar="N,B", help="profile ours at one point under torch.profiler and exit")
    ap.add_argument("--profile-diff", choices=["default", "adjoint"], default="default")
    ap.add_argument("--profile-iters", type=int, default=5)
    ap.add_argument("--profile-rows", type=int, default=30)
    ap.add_argument("--profile-shapes", action="store_true", help="group the profile by input shape")
    ap.add_argument("--profile-trace", metavar="FILE", help="also write a chrome trace")
    ap.add_argument("--sizes", default="4,8,12,16", help="qubit counts (default 4,8,12,16)")
    ap.add_argument("--batches", default="1,64", help="batch sizes (default 1,64)")
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--peers", default=",".join(ALL_PEERS), help="comma-separated subset of: " + ",".join(ALL_PEERS))
    ap.add_argument("--tq-python", metavar="PATH", help="python of the TorchQuantum environment")
    ap.add_argument("--out", metavar="FILE", help="write all records as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="write the tables as markdown (they are printed anyway)")
    ap.add_argument("--threads", type=int, default=2, help="torch / OpenMP threads per worker (default 2)")
    ap.add_argument("--budget-s", type=float, default=3.5, help="timing budget per point, seconds (default 3.5)")
    ap.add_argument("--min-reps", type=int, default=5)
    ap.add_argument("--max-reps", type=int, default=30)
    ap.add_argument("--first-limit-s", type=float, default=60.0, help="skip a point whose first iteration exceeds this")
    ap.add_argument("--startup-s", type=float, default=120.0, help="allowance for imports and circuit building")
    ap.add_argument("--point-timeout-s", type=float, default=900.0, help="hard limit per point, seconds")
    ap.add_argument("--mem-cap-gib", type=float, default=15.0, help="address-space cap per worker (0: none)")
    ap.add_argument("--fwd-peers", default="all", help="peers whose forward alone is also timed ('all' or a list)")
    ap.add_argument("--bandwidth", type=float, help="use this copy bandwidth (GB/s) instead of measuring it")
    ap.add_argument("--tune", action="store_true", help="tune the engine on this machine first ('qml bench tune')")
    ap.add_argument(
        "--ab", action="store_true", help="ours with the compiled layer kernel on and off, interleaved (--max-reps)"
    )
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tol", type=float, default=1e-5, help="--check tolerance (default 1e-5)")
    ap.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        if args.sizes == "4,8,12,16":
            args.sizes = "4,8"
        args.budget_s, args.min_reps, args.max_reps = 1.0, 3, 10
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        worker_main(args.worker)
        return 0
    peers = [p.strip() for p in args.peers.split(",") if p.strip()]
    unknown = [p for p in peers if p not in ALL_PEERS]
    if unknown:
        print(f"unknown peers {unknown}; expected a subset of {ALL_PEERS}", file=sys.stderr)
        return 2
    if args.tq_python and not Path(args.tq_python).exists():
        print(f"--tq-python {args.tq_python} does not exist", file=sys.stderr)
        return 2
    if args.profile:
        run_profile(args)
        return 0
    if args.check:
        return run_check(args, peers)
    if args.ab:
        return run_ab(args)
    data = run_bench(args, peers)
    text = to_markdown(data)
    print()
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
