"""Deep-circuit benchmark (issue 10, item 6): the torch engine against Qiskit Aer's statevector, one run.

Workloads (every one with bound angles, batch 1, the final state vector as the output):

* ``qft{n}``: a layer of H gates, then the quantum Fourier transform (``h``, ``cp``, ``swap``), n = 16, 18, 20;
* ``qft{n}_transpiled``: the same transpiled by Qiskit to ``rz, sx, x, cx`` (optimization level 1);
* ``random{n}_transpiled``: ``qiskit.circuit.random.random_circuit(n, depth, max_operands=2)`` transpiled to
  ``rz, sx, x, cx`` (thousands of gates);
* ``hea{n}``: the variational family of ``hea.py`` (L = 4 layers of data ``RY``, trainable ``RY`` and ``RZ``, a
  CNOT ring) with random angles, n = 16, 18, 20. Ours runs it as a user does (a parametrized circuit, values
  bound at the call); Aer gets the circuit with the same values bound.

Aer runs exactly our circuit (``circuits.export.qiskit.circuit_to_qiskit``), or for the transpiled workloads the
transpiled Qiskit circuit we convert from (``circuit_from_qiskit``). Precision is matched: our complex64 against
Aer ``precision="single"`` (``--precision double``: complex128 against ``"double"``). Threads are matched:
``torch.set_num_threads(T)``, ``AerSimulator(max_parallel_threads=T)`` and ``OMP_NUM_THREADS=T``; the table
reports the threads each side actually used (Aer's ``parallel_state_update``).

Columns, per workload:

* ours: ``compile`` (``compile_plan`` alone), ``first`` (the first ``TorchBackend.state`` call on the circuit,
  with an empty plan cache: compilation, constant operands and the simulation), ``exec`` (median of later calls:
  the plan is cached);
* Aer: ``first`` (the first ``AerSimulator.run(...).result()``), ``run`` (median of later runs, wall time, with
  the state copied out), ``exec`` (median of Aer's own ``time_taken`` of the experiment: its C++ simulation
  including its gate fusion, without Python);
* ratios ``Aer/ours``: end-to-end (first against first), repeated (Aer run against our exec) and
  execution-only (Aer exec against our exec). Above 1 means ours is faster.

Each workload runs in a fresh subprocess (the harness of ``hea.py``) that holds both engines: each first runs a
small, different circuit (one-off library start-up is not the workload's), then the first calls are timed, then
the repetitions alternate ours and Aer, so load from other processes falls on both alike. The ``repeated`` and
``exec-only`` ratios are medians of the paired ratios; ``agree`` compares the two final states (1e-4 in single,
1e-9 in double precision), after reversing Aer's little-endian qubit order.

The compile-scaling rows (on by default; ``--no-compile`` skips them, ``--compile-only`` runs only them) measure
plan compilation alone at 1k, 10k and 100k gates (a 10-qubit circuit of ``rz``, ``sx`` and ``cx`` on random qubits
with constant angles, and the same with symbolic ``rz`` angles): the time and ``tracemalloc`` peak of
``compile_plan``, per gate, the steps and the fuser's work counters.
``--kernels`` times one pass of each fused-block kind (the fuser's cost model, ``circuits/sim/fusion.py``).

Usage (from the repository root)::

    .venv/bin/python benchmarks/deep_circuits.py --threads 1 --out deep.json --markdown deep.md
    .venv/bin/python benchmarks/deep_circuits.py --quick
    .venv/bin/python benchmarks/deep_circuits.py --compile-only --compile-gates 1000,10000
    .venv/bin/python benchmarks/deep_circuits.py --workloads qft18 --threads 1
    .venv/bin/python benchmarks/deep_circuits.py --kernels --kernel-qubits 18
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from hea import _fmt, machine_info, package_versions  # noqa: E402
from hea import run_worker as hea_run_worker  # noqa: E402
from hea import worker_main as hea_worker_main  # noqa: E402

DEFAULT_WORKLOADS = [
    "qft16",
    "qft18",
    "qft20",
    "qft18_transpiled",
    "random16_transpiled",
    "hea16",
    "hea18",
    "hea20",
]
QUICK_WORKLOADS = ["qft12", "qft12_transpiled", "random10_transpiled", "hea12"]
HEA_LAYERS = 4
RANDOM_DEPTH = 60
"""``random_circuit`` depth: at 16 qubits about 1700 gates after transpilation."""
VERSIONS = ["torch", "numpy", "qiskit", "qiskit-aer"]


# =========================================================================== circuits


def qft_circuit(n: int):
    """H on every qubit, then the QFT as ``h`` + ``cp`` + final ``swap`` gates (qubit 0 most significant)."""
    from circuits import Circuit
    from circuits.ir.operation import Operation

    ops = [Operation.create("h", q) for q in range(n)]
    for j in range(n):
        ops.append(Operation.create("h", j))
        for k in range(j + 1, n):
            ops.append(Operation.create("cp", (k, j), (math.pi / 2 ** (k - j),)))
    ops.extend(Operation.create("swap", (j, n - 1 - j)) for j in range(n // 2))
    return Circuit(n, ops)


def _transpiled(qc):
    from qiskit import transpile

    return transpile(qc, basis_gates=["rz", "sx", "x", "cx"], optimization_level=1, seed_transpiler=7)


def hea_circuit(n: int, layers: int = HEA_LAYERS):
    """The ``hea.py`` workload: parametrized circuit and one random binding (batch 1)."""
    import torch

    from circuits import Circuit, ParameterVector
    from circuits.ir.operation import Operation

    x, w = ParameterVector("x", n), ParameterVector("w", 2 * n * layers)
    ops = []
    for layer in range(layers):
        for i in range(n):
            ops.append(Operation.create("ry", i, (x[i],)))
            ops.append(Operation.create("ry", i, (w[(layer * n + i) * 2],)))
            ops.append(Operation.create("rz", i, (w[(layer * n + i) * 2 + 1],)))
        ops.extend(Operation.create("cx", (i, (i + 1) % n)) for i in range(n))
    gen = torch.Generator().manual_seed(n)
    values = {
        "x": (torch.rand(1, n, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi,
        "w": (torch.rand(2 * n * layers, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi,
    }
    return Circuit(n, ops), values


def build_workload(name: str) -> dict[str, Any]:
    """``{"circuit": ours, "values": bindings or {}, "qiskit": the circuit Aer runs}``."""
    from circuits.export.qiskit import circuit_from_qiskit, circuit_to_qiskit

    if name.startswith("hea"):
        circuit, values = hea_circuit(int(name[3:]))
        bound = circuit.bind({k: v[0].tolist() if v.ndim == 2 else v.tolist() for k, v in values.items()})
        return {"circuit": circuit, "values": values, "qiskit": circuit_to_qiskit(bound)}
    if name.startswith("qft") and name.endswith("_transpiled"):
        n = int(name[3 : -len("_transpiled")])
        qc = _transpiled(circuit_to_qiskit(qft_circuit(n)))
        return {"circuit": circuit_from_qiskit(qc), "values": {}, "qiskit": qc}
    if name.startswith("qft"):
        circuit = qft_circuit(int(name[3:]))
        return {"circuit": circuit, "values": {}, "qiskit": circuit_to_qiskit(circuit)}
    if name.startswith("random") and name.endswith("_transpiled"):
        from qiskit.circuit.random import random_circuit

        n = int(name[6 : -len("_transpiled")])
        qc = _transpiled(random_circuit(n, RANDOM_DEPTH, max_operands=2, seed=n))
        return {"circuit": circuit_from_qiskit(qc), "values": {}, "qiskit": qc}
    raise ValueError(f"unknown workload {name!r}; expected qft<n>, qft<n>_transpiled, random<n>_transpiled, hea<n>")


# =========================================================================== worker side


def _aer_to_ours(state):
    """Aer's little-endian state vector in our order (qubit 0 most significant), complex128."""
    import numpy as np

    n = round(math.log2(len(state)))
    little = np.asarray(state, dtype=np.complex128)
    return little.reshape([2] * n).transpose(list(range(n - 1, -1, -1))).reshape(-1)


def worker_time(spec: dict[str, Any]) -> dict[str, Any]:
    """Both engines on one workload, in this one process: warm-up, first calls, then paired repetitions.

    Repetitions alternate (ours, Aer, ours, Aer ...), so load from other processes falls on both alike;
    the ratio columns are medians of the paired ratios.
    """
    import numpy as np
    import torch
    from qiskit_aer import AerSimulator

    from circuits import Circuit, TorchBackend
    from circuits.export.qiskit import circuit_to_qiskit
    from circuits.sim import torch_backend
    from circuits.sim.plan import compile_plan

    threads = spec["threads"]
    torch.set_num_threads(threads)
    t0 = time.perf_counter()
    work = build_workload(spec["workload"])
    circuit, values, qc = work["circuit"], work["values"], work["qiskit"].copy()
    qc.save_statevector()
    rec: dict[str, Any] = {
        "build_s": time.perf_counter() - t0,
        "versions": package_versions(VERSIONS),
        "num_qubits": circuit.num_qubits,
        "gates": len(circuit),
        "qiskit_gates": work["qiskit"].size(),
    }
    single = spec["precision"] == "single"
    backend = TorchBackend(dtype=torch.complex64 if single else torch.complex128)
    sim = AerSimulator(method="statevector", precision=spec["precision"], max_parallel_threads=threads)

    # warm-up: each library runs a small, different circuit once (one-off initialisation is not the workload's)
    warm = Circuit(4).h(0).cx(0, 1).rz(0.3, 2).cp(0.2, 1, 3).ry(0.1, 3).swap(0, 2).sx(1)
    backend.state(warm)
    warm_qc = circuit_to_qiskit(warm)
    warm_qc.save_statevector()
    sim.run(warm_qc).result()

    # first calls on the workload: ours compiles (then builds its constant operands) inside
    compile_times = []
    for _ in range(2):  # the second is warm (numpy and torch code paths already used once)
        t0 = time.perf_counter()
        plan = compile_plan(circuit)
        compile_times.append(time.perf_counter() - t0)
    rec["ours_compile_s"] = min(compile_times)
    torch_backend._cached_plan.cache_clear()
    t0 = time.perf_counter()
    state = backend.state(circuit, values)
    rec["ours_first_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = sim.run(qc).result()
    aer_state = result.get_statevector()
    rec["aer_first_s"] = time.perf_counter() - t0
    print(f"FIRST {rec['ours_first_s'] + rec['aer_first_s']:.6f}", flush=True)
    meta = result.results[0].metadata
    rec["ours_threads"], rec["aer_threads"] = torch.get_num_threads(), meta.get("parallel_state_update")
    rec["aer_fusion"] = meta.get("fusion")
    kinds: dict[str, int] = {}
    for step in plan.steps:
        kinds[step.kind] = kinds.get(step.kind, 0) + 1
    rec["steps"], rec["step_kinds"] = len(plan.steps), kinds
    difference = np.abs(state[0].numpy().astype(np.complex128) - _aer_to_ours(aer_state)).max()
    rec["max_abs_difference"] = float(difference)
    rec["agree"] = bool(difference <= (1e-4 if single else 1e-9))

    # paired repetitions
    est = rec["ours_first_s"] + rec["aer_first_s"]
    reps = max(spec["min_reps"], min(spec["max_reps"], int(spec["budget_s"] / max(est, 1e-6))))
    ours, aer_run, aer_exec = [], [], []
    for _ in range(reps):
        t0 = time.perf_counter()
        backend.state(circuit, values)
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        result = sim.run(qc).result()
        result.get_statevector()
        aer_run.append(time.perf_counter() - t0)
        aer_exec.append(result.results[0].time_taken)

    def summary(times: list[float]) -> dict[str, float]:
        return {"median_s": statistics.median(times), "min_s": min(times), "max_s": max(times), "reps": len(times)}

    rec["ours_exec"], rec["aer_run"], rec["aer_exec"] = summary(ours), summary(aer_run), summary(aer_exec)
    rec["ratio_repeated"] = statistics.median(a / o for a, o in zip(aer_run, ours, strict=True))
    rec["ratio_exec"] = statistics.median(a / o for a, o in zip(aer_exec, ours, strict=True))
    return rec


def worker_compile(spec: dict[str, Any]) -> dict[str, Any]:
    """Compile one long circuit: time (no tracing), then tracemalloc peak (a second, traced compile)."""
    import gc
    import tracemalloc

    import numpy as np

    from circuits import Circuit, ParameterVector
    from circuits.ir.operation import Operation
    from circuits.sim.plan import compile_plan

    n, gates, symbolic = spec["qubits"], spec["gates"], spec["symbolic"]
    rng = np.random.default_rng(gates)
    theta = ParameterVector("theta", gates) if symbolic else None
    ops = []
    while len(ops) < gates:
        kind = rng.integers(4)
        if kind == 0:
            a, b = (int(q) for q in rng.choice(n, size=2, replace=False))
            ops.append(Operation.create("cx", (a, b)))
        elif kind == 1:
            ops.append(Operation.create("sx", int(rng.integers(n))))
        else:
            angle = theta[len(ops)] if symbolic else float(rng.uniform(-math.pi, math.pi))
            ops.append(Operation.create("rz", int(rng.integers(n)), (angle,)))
    circuit = Circuit(n, ops)
    gc.collect()
    t0 = time.perf_counter()
    plan = compile_plan(circuit)
    seconds = time.perf_counter() - t0
    print(f"FIRST {seconds:.6f}", flush=True)
    steps, stats = len(plan.steps), plan.fusion
    del plan
    gc.collect()
    tracemalloc.start()
    traced = compile_plan(circuit)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(traced.steps) == steps
    return {
        "qubits": n,
        "gates": gates,
        "symbolic": symbolic,
        "compile_s": seconds,
        "peak_bytes": peak,
        "steps": steps,
        "fusion": {"options": stats.options, "elements": stats.elements, "blocks": stats.blocks},
    }


def worker_kernels(spec: dict[str, Any]) -> dict[str, Any]:
    """One pass of each block kind on a ``(1, 2**n)`` complex64 state: ns per amplitude (best of the reps)."""
    import torch

    from circuits.sim import kernels

    torch.set_num_threads(spec["threads"])
    n = spec["qubits"]
    state = torch.randn(1, 2**n, dtype=torch.complex64)
    out = torch.empty_like(state)

    def best(fn, reps: int = 15) -> float:
        fn()
        times = []
        for _ in range(reps):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return min(times) * 1e9 / 2**n

    rows: dict[str, float] = {"copy": best(lambda: out.copy_(state))}
    for k in range(1, 6):
        m = torch.randn(1, 2**k, 2**k, dtype=torch.complex64)
        for first in (0, (n - k) // 2, n - k):
            qubits = list(range(first, first + k))
            rows[f"dense k={k} at {first}"] = best(lambda m=m, q=qubits: kernels.apply_matrix(state, m, q, n, out))
    for qubits in ([0, n - 1], [2, n // 2], [0, 1, n - 2, n - 1]):
        m = torch.randn(1, 2 ** len(qubits), 2 ** len(qubits), dtype=torch.complex64)
        rows[f"dense on {qubits}"] = best(lambda m=m, q=qubits: kernels.apply_matrix(state, m, q, n, out))
    for qubits in ([0], list(range(n - 6, n)), list(range(0, 12))):
        d = torch.randn(1, 2 ** len(qubits), dtype=torch.complex64)
        rows[f"diagonal on {len(qubits)} qubits from {qubits[0]}"] = best(
            lambda d=d, q=qubits: kernels.apply_diagonal(state, d, q, n, out)
        )
    source = torch.randperm(2**n)
    rows["gather (whole state)"] = best(lambda: kernels.apply_monomial(state, source, None, out))
    return {"qubits": n, "threads": torch.get_num_threads(), "ns_per_amplitude": rows}


MODES = {"time": worker_time, "compile": worker_compile, "kernels": worker_kernels}


# =========================================================================== parent side


def run_worker(spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    spec = {"first_limit_s": args.first_limit_s, "threads": args.threads} | spec
    return hea_run_worker(sys.executable, spec, args, script=HERE / "deep_circuits.py")


def _workloads(args: argparse.Namespace) -> list[str]:
    if args.compile_only:
        return []
    if args.workloads:
        return args.workloads.split(",")
    return QUICK_WORKLOADS if args.quick else DEFAULT_WORKLOADS


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "machine": machine_info(),
        "threads": args.threads,
        "precision": args.precision,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(sys.argv),
    }
    rows = []
    for name in _workloads(args):
        spec = {
            "mode": "time",
            "workload": name,
            "precision": args.precision,
            "budget_s": args.budget_s,
            "min_reps": args.min_reps,
            "max_reps": args.max_reps,
        }
        row = {"workload": name} | run_worker(spec, args)
        rows.append(row)
        print("  " + _progress_line(row), flush=True)
    compile_rows = []
    if args.compile:
        for symbolic in (False, True):
            for gates in args.compile_gates:
                spec = {"mode": "compile", "qubits": args.compile_qubits, "gates": gates, "symbolic": symbolic}
                rec = run_worker(spec, args)
                compile_rows.append(rec)
                print("  " + _compile_line(rec), flush=True)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return {"meta": meta, "rows": rows, "compile": compile_rows}


def _ms(rec: dict[str, Any], key: str) -> float | None:
    value = rec.get(key)
    if value is None:
        return None
    return (value["median_s"] if isinstance(value, dict) else value) * 1e3


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def _progress_line(row: dict[str, Any]) -> str:
    head = f"{row['workload']:<22}"
    if "error" in row:
        return f"{head} error: {row['error']}"
    return (
        f"{head} ours first {_fmt(_ms(row, 'ours_first_s'))} exec {_fmt(_ms(row, 'ours_exec'))} ms | "
        f"aer first {_fmt(_ms(row, 'aer_first_s'))} run {_fmt(_ms(row, 'aer_run'))} "
        f"exec {_fmt(_ms(row, 'aer_exec'))} ms | repeated {row['ratio_repeated']:.2f}x | agree {row['agree']}"
    )


def _compile_line(rec: dict[str, Any]) -> str:
    if "error" in rec:
        return f"compile: error {rec['error']}"
    kind = "symbolic" if rec["symbolic"] else "constant"
    return (
        f"compile {rec['gates']:>6} gates ({kind}): {rec['compile_s'] * 1e3:.0f} ms "
        f"({rec['compile_s'] / rec['gates'] * 1e6:.1f} us/gate), peak {rec['peak_bytes'] / 2**20:.1f} MiB "
        f"({rec['peak_bytes'] / rec['gates']:.0f} B/gate), {rec['steps']} steps"
    )


def to_markdown(data: dict[str, Any]) -> str:
    meta = data["meta"]
    lines = [
        f"Machine: {meta['machine']['cpu']} ({meta['machine']['cpu_count']} CPUs); threads {meta['threads']}; "
        f"precision {meta['precision']} (ours complex{64 if meta['precision'] == 'single' else 128}); "
        f"{meta['started']} to {meta['finished']}.",
        "",
    ]
    if data["rows"]:
        lines += [
            "| workload | qubits | gates | steps | ours compile (ms) | ours first (ms) | ours exec (ms) | "
            "Aer first (ms) | Aer run (ms) | Aer exec (ms) | Aer/ours end-to-end | Aer/ours repeated | "
            "Aer/ours exec-only | threads ours/Aer | agree |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
        ]
        for row in data["rows"]:
            if "error" in row:
                lines.append(f"| {row['workload']} | error: {row['error']} |")
                continue
            lines.append(
                f"| {row['workload']} | {row['num_qubits']} | {row['gates']} | {row['steps']} | "
                f"{_fmt(_ms(row, 'ours_compile_s'))} | {_fmt(_ms(row, 'ours_first_s'))} | "
                f"{_fmt(_ms(row, 'ours_exec'))} | {_fmt(_ms(row, 'aer_first_s'))} | {_fmt(_ms(row, 'aer_run'))} | "
                f"{_fmt(_ms(row, 'aer_exec'))} | {_ratio(_ms(row, 'aer_first_s'), _ms(row, 'ours_first_s'))} | "
                f"{row['ratio_repeated']:.2f}x | {row['ratio_exec']:.2f}x | "
                f"{row['ours_threads']}/{row['aer_threads']} | {row['agree']} |"
            )
        lines.append("")
    if data["compile"]:
        lines += [
            "| gates | angles | compile (ms) | us/gate | peak memory (MiB) | bytes/gate | steps |",
            "|---:|---|---:|---:|---:|---:|---:|",
        ]
        for rec in data["compile"]:
            if "error" in rec:
                lines.append(f"| error: {rec['error']} |")
                continue
            lines.append(
                f"| {rec['gates']} | {'symbolic' if rec['symbolic'] else 'constant'} | "
                f"{rec['compile_s'] * 1e3:.0f} | {rec['compile_s'] / rec['gates'] * 1e6:.1f} | "
                f"{rec['peak_bytes'] / 2**20:.1f} | {rec['peak_bytes'] / rec['gates']:.0f} | {rec['steps']} |"
            )
        lines.append("")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--workloads", default="", help=f"comma-separated (default {','.join(DEFAULT_WORKLOADS)})")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {','.join(QUICK_WORKLOADS)}, short budgets")
    p.add_argument("--precision", choices=["single", "double"], default="single")
    p.add_argument("--threads", type=int, default=2, help="torch and Aer threads (default 2)")
    p.add_argument("--budget-s", type=float, default=3.0, help="timing budget per side and workload")
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--max-reps", type=int, default=20)
    p.add_argument("--no-compile", dest="compile", action="store_false", help="skip the compile-scaling rows")
    p.add_argument("--compile-only", action="store_true", help="only the compile-scaling rows")
    p.add_argument("--compile-gates", default="1000,10000,100000")
    p.add_argument("--compile-qubits", type=int, default=10)
    p.add_argument("--kernels", action="store_true", help="time one pass of each block kind and exit")
    p.add_argument("--kernel-qubits", type=int, default=18)
    p.add_argument("--first-limit-s", type=float, default=300.0)
    p.add_argument("--startup-s", type=float, default=120.0)
    p.add_argument("--point-timeout-s", type=float, default=900.0)
    p.add_argument("--mem-cap-gib", type=float, default=15.0)
    p.add_argument("--out", help="write all records as JSON")
    p.add_argument("--markdown", help="write the tables as markdown")
    args = p.parse_args(argv)
    args.compile_gates = [int(g) for g in args.compile_gates.split(",")]
    if args.quick:
        args.budget_s, args.max_reps = 1.0, 10
        args.compile_gates = [1000, 10000]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        hea_worker_main(args.worker, MODES)
        return 0
    if args.kernels:
        rec = run_worker({"mode": "kernels", "qubits": args.kernel_qubits}, args)
        print(json.dumps(rec, indent=1))
        return 0
    data = run_bench(args)
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
