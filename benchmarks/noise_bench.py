"""Noisy training step benchmark (issue 14, item 6): our density-matrix engine against the peers, one run.

Workload: the variational circuit of ``hea.py`` (``L`` layers of data ``RY(x[b, i])``, trainable ``RY`` and ``RZ``
on every qubit, a CNOT ring), with noise after **every gate**: a depolarising channel (Qiskit's convention,
``p``) and amplitude damping (``gamma``) on each qubit the gate acts on (for a CNOT, on both). The outputs are
``<Z_i>``, ``(B, n)``; one training step is forward plus ``loss.backward()`` of their mean with respect to the
``2nL`` trainable angles (``x`` needs no gradient), the gradients cleared every step.

Peers (every point in a fresh subprocess, ``torch.set_num_threads(2)``, the harness of ``hea.py``):

* ``ours_dm``: ``TorchBackend(noise_model=..., method="density_matrix")``, complex64, autograd;
* ``ours_dm_c128``: the same in complex128 (``default.mixed``'s precision);
* ``ours_trajectory``: ``TorchBackend(method="trajectory", trajectories=T)``, complex64: ``T`` sampled
  trajectories per sample (``--trajectories``, 100 by default: a standard error of about ``0.1 / sqrt(1 - <Z>^2)``
  a value), the memory of ``T`` state vectors, the pathwise gradient (unbiased);
* ``ours_pennylane_mixed``: a PennyLane QNode on our device ``qml_hybrid.mixed``, backprop (an adapter row);
* ``pl_default_mixed``: PennyLane ``default.mixed``, torch, backprop, the batch broadcast (``qp.RY(x[:, i])``);
* ``aer_dm_shift``: our ``AerBackend(method="density_matrix", noise_model=...)`` with the same noise model
  (converted to Qiskit's by ``circuits.export.qiskit_noise``): exact, gradients by the parameter-shift rule
  (every shifted circuit of the batch in one Aer call: ``B * (1 + 2 * 2nL)`` density-matrix circuits a step);
* ``tq_pauli_sampling``: TorchQuantum 0.1.8's noise model (``NoiseModelTQ``): after each gate it samples one Pauli
  error for the whole batch (``X``, ``Y``, ``Z`` each with ``p/4``), on the state vector. It cannot express
  amplitude damping and leaves ``rz`` noiseless by design, so it computes one random trajectory of a different
  channel: its time is shown, not compared for equality. Its ``__init__`` downloads a device's noise model from
  IBM Quantum, so the benchmark builds the object around that (offline) and sets the probabilities directly.

Memory: backprop keeps one density matrix per step of the circuit, ``B * 4**n`` entries each. A peer whose
estimated peak would pass ``--chunk-gib`` runs the batch in chunks (forward and backward per chunk, the
gradients accumulated: the same step), and the table says so.

Usage (from the repository root)::

    .venv/bin/python benchmarks/noise_bench.py --check
    .venv/bin/python benchmarks/noise_bench.py --quick
    .venv/bin/python benchmarks/noise_bench.py --out benchmarks/results/noise_cpu_DATE.json \\
        --markdown benchmarks/results/noise_cpu_DATE.md --tq-python .scratch/bench/tq-venv/bin/python

Imports only the standard library at the top (and ``hea.py``'s harness), so the TorchQuantum environment runs
its workers too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from hea import _fmt, _timed_loop, machine_info, package_versions  # noqa: E402
from hea import run_worker as hea_run_worker  # noqa: E402
from hea import worker_main as hea_worker_main  # noqa: E402

PEERS = [
    "ours_dm",
    "ours_dm_c128",
    "ours_trajectory",
    "ours_pennylane_mixed",
    "pl_default_mixed",
    "aer_dm_shift",
    "tq_pauli_sampling",
]
TQ_PEERS = {"tq_pauli_sampling"}
OURS = {"ours_dm", "ours_dm_c128", "ours_trajectory", "ours_pennylane_mixed"}
EXACT = {"ours_dm", "ours_dm_c128", "ours_pennylane_mixed", "pl_default_mixed", "aer_dm_shift"}
VERSIONS = {
    "ours_dm": ["torch", "qml-hybrid"],
    "ours_dm_c128": ["torch", "qml-hybrid"],
    "ours_trajectory": ["torch", "qml-hybrid"],
    "ours_pennylane_mixed": ["torch", "pennylane", "qml-hybrid"],
    "pl_default_mixed": ["torch", "pennylane"],
    "aer_dm_shift": ["qiskit", "qiskit-aer", "qml-hybrid"],
    "tq_pauli_sampling": ["torch", "torchquantum"],
}
GIB = 1 << 30


# =========================================================================== peers (worker side)


def _our_circuit(n: int, layers: int):
    from _peers import widx

    from circuits import Circuit, ParameterVector

    xs, ws = ParameterVector("x", n), ParameterVector("w", 2 * n * layers)
    circuit = Circuit(n)
    for layer in range(layers):
        for i in range(n):
            circuit = circuit.ry(xs[i], i).ry(ws[widx(n, layer, i, 0)], i).rz(ws[widx(n, layer, i, 1)], i)
        for i in range(n):
            circuit = circuit.cx(i, (i + 1) % n)
    return circuit


def noise_model(p: float, gamma: float):
    """Our noise model of the workload: depolarising then amplitude damping after every gate, on each of its qubits."""
    from circuits.noise import Channel, NoiseModel

    channels = [Channel.depolarizing(p), Channel.amplitude_damping(gamma)]
    return NoiseModel().add_all_qubit_error(channels, ["ry", "rz", "cx"])


def _ours(spec: dict[str, Any], x, w, **backend_options):
    import torch
    from _peers import Runner

    from circuits import Expectation, TorchBackend, Z

    n, layers = spec["n"], spec["layers"]
    circuit = _our_circuit(n, layers)
    backend = TorchBackend(noise_model=noise_model(spec["p"], spec["gamma"]), **backend_options)
    measurement = Expectation([Z(i) for i in range(n)])
    real = torch.float64 if backend_options.get("dtype") == torch.complex128 else torch.float32
    weights = torch.nn.Parameter(w.clone().to(real))
    xb = x.clone().to(real)
    generator = torch.Generator().manual_seed(spec["seed"])  # the trajectories' draws

    def forward(rows: slice = slice(None)) -> torch.Tensor:
        return backend.run(circuit, {"x": xb[rows], "w": weights}, measurement=measurement, generator=generator)

    return Runner(forward, [weights], lambda: weights.grad.detach().clone(), note=repr(backend))


def ours_dm(spec, x, w):
    return _ours(spec, x, w, method="density_matrix")


def ours_dm_c128(spec, x, w):
    import torch

    return _ours(spec, x, w, method="density_matrix", dtype=torch.complex128)


def ours_trajectory(spec, x, w):
    return _ours(spec, x, w, method="trajectory", trajectories=spec["trajectories"])


def _pennylane(spec: dict[str, Any], x, w, device: str, note: str):
    import pennylane as qp
    import torch
    from _peers import Runner, widx

    n, layers, p, gamma = spec["n"], spec["layers"], spec["p"], spec["gamma"]
    dev = qp.device(device, wires=n)

    def noise(*wires: int) -> None:
        for wire in wires:
            qp.DepolarizingChannel(0.75 * p, wires=wire)  # PennyLane's p is 3/4 of Qiskit's (ours)
            qp.AmplitudeDamping(gamma, wires=wire)

    @qp.qnode(dev, interface="torch", diff_method="backprop")
    def circuit(xb, weights):
        for layer in range(layers):
            for i in range(n):
                qp.RY(xb[:, i], wires=i)
                noise(i)
                qp.RY(weights[widx(n, layer, i, 0)], wires=i)
                noise(i)
                qp.RZ(weights[widx(n, layer, i, 1)], wires=i)
                noise(i)
            for i in range(n):
                qp.CNOT(wires=[i, (i + 1) % n])
                noise(i, (i + 1) % n)
        return [qp.expval(qp.PauliZ(i)) for i in range(n)]

    weights = torch.nn.Parameter(w.clone().double())
    xb = x.clone().double()

    def forward(rows: slice = slice(None)) -> torch.Tensor:
        part = xb[rows]
        return torch.stack(list(circuit(part, weights)), dim=-1).reshape(part.shape[0], n)

    return Runner(forward, [weights], lambda: weights.grad.detach().clone(), note=note)


def pl_default_mixed(spec, x, w):
    return _pennylane(spec, x, w, "default.mixed", "default.mixed backprop, broadcast, complex128")


def ours_pennylane_mixed(spec, x, w):
    import importlib.metadata

    from pennylane.devices import device_constructor

    if "qml_hybrid.mixed" not in device_constructor.plugin_devices:  # before `pip install -e .` registers it
        device_constructor.plugin_devices["qml_hybrid.mixed"] = importlib.metadata.EntryPoint(
            name="qml_hybrid.mixed",
            value="circuits.backends.pennylane_device:QmlHybridMixed",
            group="pennylane.plugins",
        )
    return _pennylane(spec, x, w, "qml_hybrid.mixed", "QNode on qml_hybrid.mixed, backprop, complex128")


def aer_dm_shift(spec, x, w):
    import torch
    from _peers import Runner

    from circuits import Z
    from circuits.backends.aer import AerBackend

    n, layers = spec["n"], spec["layers"]
    circuit = _our_circuit(n, layers)
    backend = AerBackend(method="density_matrix", noise_model=noise_model(spec["p"], spec["gamma"]))
    observables = [Z(i) for i in range(n)]
    weights = torch.nn.Parameter(w.clone().double())
    xb = x.clone().double()

    def forward(rows: slice = slice(None)) -> torch.Tensor:
        return backend.expval(circuit, observables, {"x": xb[rows], "w": weights})

    note = f"AerBackend density_matrix, parameter shift: {x.shape[0] * (1 + 4 * n * layers)} circuits a step"
    return Runner(forward, [weights], lambda: weights.grad.detach().clone(), note=note)


def tq_pauli_sampling(spec, x, w):
    import numpy as np
    import torch
    import torchquantum as tq
    from _peers import Runner, widx
    from torchquantum.noise_model.noise_models import NoiseCounter, NoiseModelTQ

    n, layers, p = spec["n"], spec["layers"], spec["p"]
    np.random.seed(spec["seed"])  # TorchQuantum samples its errors from numpy's global generator
    model = NoiseModelTQ.__new__(NoiseModelTQ)  # its __init__ downloads a device's noise model: set the fields
    pauli = {"instructions": [[{"name": g, "qubits": [0]}] for g in "xyz"], "probabilities": [p / 4] * 3}
    one = {(q,): {**pauli, "instructions": [[{"name": g, "qubits": [q]}] for g in "xyz"]} for q in range(n)}
    two = {}
    for q in range(n):
        a, b = q, (q + 1) % n
        words = [f"{s}{t}" for s in "IXYZ" for t in "IXYZ"][1:]
        weight = [(1 - 3 * p / 4) * p / 4 if "I" in word else (p / 4) ** 2 for word in words]
        instructions = [[{"name": "pauli", "params": [word], "qubits": [a, b]}] for word in words]
        two[(a, b)] = {"instructions": instructions, "probabilities": weight}
    model.parsed_dict = {"ry": one, "cx": two}
    model.mode, model.is_add_noise, model.factor, model.noise_total_prob = "train", True, None, None
    model.p_v_reg_mapping = {"v2p": {q: q for q in range(n)}, "p2v": {q: q for q in range(n)}}
    model.noise_counter = NoiseCounter()
    try:  # TorchQuantum logs a warning per gate without a rule ("ry" counts as such): silence it
        from torchpack.utils.logging import logger

        logger.remove()
    except Exception:  # only the log level is at stake
        pass

    ry = torch.nn.ModuleList([tq.RY(has_params=True, trainable=True) for _ in range(n * layers)])
    rz = torch.nn.ModuleList([tq.RZ(has_params=True, trainable=True) for _ in range(n * layers)])
    data = torch.nn.ModuleList([tq.RY() for _ in range(n * layers)])
    cnots = torch.nn.ModuleList([tq.CNOT() for _ in range(n * layers)])
    for module in (*ry, *rz, *data, *cnots):
        module.noise_model_tq = model
    with torch.no_grad():
        for layer in range(layers):
            for i in range(n):
                ry[layer * n + i].params.fill_(float(w[widx(n, layer, i, 0)]))
                rz[layer * n + i].params.fill_(float(w[widx(n, layer, i, 1)]))
    measure = tq.MeasureAll(tq.PauliZ)
    xb = x.clone()

    def forward(rows: slice = slice(None)) -> torch.Tensor:
        part = xb[rows]
        qdev = tq.QuantumDevice(n_wires=n, bsz=part.shape[0], device="cpu")
        for layer in range(layers):
            for i in range(n):
                data[layer * n + i](qdev, wires=i, params=part[:, i])
                ry[layer * n + i](qdev, wires=i)
                rz[layer * n + i](qdev, wires=i)
            for i in range(n):
                cnots[layer * n + i](qdev, wires=[i, (i + 1) % n])
        return measure(qdev)

    params = [q for m in (*ry, *rz) for q in m.parameters()]
    return Runner(forward, params, None, note="NoiseModelTQ: one sampled Pauli error per gate for the batch")


BUILDERS = {
    "ours_dm": ours_dm,
    "ours_dm_c128": ours_dm_c128,
    "ours_trajectory": ours_trajectory,
    "ours_pennylane_mixed": ours_pennylane_mixed,
    "pl_default_mixed": pl_default_mixed,
    "aer_dm_shift": aer_dm_shift,
    "tq_pauli_sampling": tq_pauli_sampling,
}


def kept_bytes_per_sample(peer: str, n: int, layers: int, trajectories: int) -> float:
    """Rough peak memory of one sample's step: the density matrices (or states) autograd keeps."""
    dm = 4**n
    if peer in ("ours_dm", "ours_pennylane_mixed", "ours_dm_c128"):
        itemsize = 8 if peer == "ours_dm" else 16
        steps = n * layers + 4  # one fused block per CNOT with the gates and channels around it
        return steps * dm * itemsize * 2
    if peer == "ours_trajectory":
        return (14 * n * layers + 4) * trajectories * 2**n * 8 * 2  # every gate and sampled Kraus operator
    if peer == "pl_default_mixed":
        return (14 * n * layers + 4) * dm * 16 * 2  # each gate and channel separately
    if peer == "tq_pauli_sampling":
        return (8 * n * layers + 4) * 2**n * 8
    return 0.0


def _inputs(n: int, batch: int, layers: int, seed: int):
    import torch

    gen = torch.Generator().manual_seed(seed)
    x = (torch.rand(batch, n, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
    w = (torch.rand(2 * n * layers, generator=gen, dtype=torch.float64) * 2 - 1) * math.pi
    return x, w


def _chunked_step(runner, batch: int, chunk: int):
    """One step over the batch in chunks: each chunk's mean, weighted by its share, backpropagated."""

    def step():
        runner.zero_grad()
        total = 0.0
        for start in range(0, batch, chunk):
            rows = slice(start, min(start + chunk, batch))
            loss = runner.forward(rows).mean() * ((rows.stop - rows.start) / batch)
            loss.backward()
            total += float(loss)
        return total

    return step


def worker_time(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(spec["threads"])
    peer, n, batch, layers = spec["peer"], spec["n"], spec["batch"], spec["layers"]
    x, w = _inputs(n, batch, layers, spec["seed"])
    rec: dict[str, Any] = {"versions": package_versions(VERSIONS[peer] + ["pennylane", "qiskit-aer"])}
    rec["threads"] = torch.get_num_threads()
    started = time.perf_counter()
    runner = BUILDERS[peer](spec, x, w)
    rec["build_s"] = time.perf_counter() - started
    rec["peer_note"] = runner.note
    per_sample = kept_bytes_per_sample(peer, n, layers, spec["trajectories"])
    if per_sample > spec["chunk_gib"] * GIB:
        rec["skipped"] = (
            f"one sample's step keeps about {per_sample / GIB:.1f} GiB for the backward pass (estimate), more "
            f"than the {spec['chunk_gib']:g} GiB budget (--chunk-gib)"
        )
        return rec
    chunk = batch if per_sample == 0 else max(1, min(batch, int(spec["chunk_gib"] * GIB // per_sample)))
    rec["chunk"] = chunk
    rec["est_peak_gib"] = per_sample * chunk / GIB
    step = _chunked_step(runner, batch, chunk)
    started = time.perf_counter()
    step()
    first = time.perf_counter() - started
    rec["first_iter_s"] = first
    print(f"FIRST {first:.6f}", flush=True)
    if first > spec["first_limit_s"]:
        rec["skipped"] = f"first step took {first:.1f} s > {spec['first_limit_s']:.0f} s limit"
        return rec
    est = first
    if first < 0.5:
        started = time.perf_counter()
        step()
        est = time.perf_counter() - started
    rec["fwdbwd"] = _timed_loop(step, spec["budget_s"], spec["min_reps"], spec["max_reps"], est)
    return rec


def worker_check(spec: dict[str, Any]) -> dict[str, Any]:
    import torch

    torch.set_num_threads(spec["threads"])
    x, w = _inputs(spec["n"], spec["batch"], spec["layers"], spec["seed"])
    runner = BUILDERS[spec["peer"]](spec, x, w)
    runner.zero_grad()
    out = runner.forward()
    out.mean().backward()
    return {"out": out.detach().double().tolist(), "grad": runner.flat_grad().double().tolist()}


MODES = {"time": worker_time, "check": worker_check}


# =========================================================================== parent side


def run_worker(peer: str, spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    python = args.tq_python if peer in TQ_PEERS else sys.executable
    if python is None:
        return {"skipped": "no --tq-python given"}
    return hea_run_worker(python, spec, args, script=HERE / "noise_bench.py")


def _spec(args: argparse.Namespace, peer: str, n: int, batch: int, mode: str) -> dict[str, Any]:
    return {
        "mode": mode,
        "peer": peer,
        "n": n,
        "batch": batch,
        "layers": args.layers,
        "p": args.p,
        "gamma": args.gamma,
        "seed": args.seed,
        "threads": args.threads,
        "budget_s": args.budget_s,
        "min_reps": args.min_reps,
        "max_reps": args.max_reps,
        "first_limit_s": args.first_limit_s,
        "chunk_gib": args.chunk_gib,
        "trajectories": args.trajectories,
    }


def run_check(args: argparse.Namespace) -> int:
    n, batch = 4, 3
    reference = run_worker("ours_dm_c128", _spec(args, "ours_dm_c128", n, batch, "check"), args)
    if "error" in reference:
        print(f"ours_dm_c128 failed: {reference['error']}")
        return 1
    failed = 0
    print(f"# noise check: n={n}, B={batch}, L={args.layers}: outputs and d(mean)/dw against ours_dm_c128")
    for peer in [p for p in args.peers if p in EXACT and p != "ours_dm_c128"]:
        rec = run_worker(peer, _spec(args, peer, n, batch, "check"), args)
        if "error" in rec:
            print(f"{peer:<22} error: {rec['error']}")
            failed += 1
            continue
        pairs = zip(rec["out"], reference["out"], strict=True)
        d_out = max(abs(a - b) for ra, rb in pairs for a, b in zip(ra, rb, strict=True))
        d_grad = max(abs(a - b) for a, b in zip(rec["grad"], reference["grad"], strict=True))
        tol = 1e-4 if peer == "ours_dm" else 1e-7
        ok = d_out < tol and d_grad < tol
        failed += not ok
        print(f"{peer:<22} max |out diff| {d_out:.2e}  max |grad diff| {d_grad:.2e}  {'ok' if ok else 'MISMATCH'}")
    return 1 if failed else 0


def _load() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return "uptime unavailable"


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "machine": machine_info(),
        "layers": args.layers,
        "noise": {"depolarizing_p": args.p, "amplitude_damping_gamma": args.gamma},
        "trajectories": args.trajectories,
        "threads": args.threads,
        "budget_s": args.budget_s,
        "chunk_gib": args.chunk_gib,
        "first_limit_s": args.first_limit_s,
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
        "load_before": _load(),
        "command": " ".join(sys.argv),
    }
    points = []
    for n in args.sizes:
        for batch in args.batches:
            for peer in args.peers:
                rec = {"peer": peer, "n": n, "batch": batch} | run_worker(
                    peer, _spec(args, peer, n, batch, "time"), args
                )
                points.append(rec)
                print("  " + _line(rec), flush=True)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    meta["load_after"] = _load()
    return {"meta": meta, "points": points}


def _ms(rec: dict[str, Any]) -> float | None:
    value = rec.get("fwdbwd")
    return None if value is None else value["median_s"] * 1e3


def _line(rec: dict[str, Any]) -> str:
    head = f"{rec['peer']:<22} n={rec['n']:<2} B={rec['batch']:<3}"
    if "error" in rec or "skipped" in rec:
        return f"{head} {rec.get('error') or rec.get('skipped')}"
    chunk = f" (chunks of {rec['chunk']})" if rec["chunk"] < rec["batch"] else ""
    return f"{head} {_fmt(_ms(rec))} ms{chunk}"


def to_markdown(data: dict[str, Any]) -> str:
    meta = data["meta"]
    peers = list(dict.fromkeys(p["peer"] for p in data["points"]))
    lines = [
        f"Machine: {meta['machine']['cpu']} ({meta['machine']['cpu_count']} CPUs), {meta['threads']} threads per "
        f"point; {meta['started']} to {meta['finished']}; load before: `{meta['load_before']}`; after: "
        f"`{meta['load_after']}`.",
        f"Workload: `hea.py`'s circuit, L = {meta['layers']}, depolarizing p = {meta['noise']['depolarizing_p']} and "
        f"amplitude damping gamma = {meta['noise']['amplitude_damping_gamma']} after every gate on each of its qubits. "
        f"`ours_trajectory`: {meta['trajectories']} trajectories per sample. Median ms per training step (forward + "
        "backward); the last column is `pl_default_mixed` time / `ours_dm` time. `(k/chunk)`: the batch ran in "
        "chunks of k samples (forward and backward per chunk) to stay within the memory budget.",
        "",
        "| n | B | " + " | ".join(peers) + " | default.mixed / ours_dm |",
        "|---:|---:|" + "---:|" * len(peers) + "---:|",
    ]
    by_point: dict[tuple[int, int], dict[str, dict[str, Any]]] = {}
    for rec in data["points"]:
        by_point.setdefault((rec["n"], rec["batch"]), {})[rec["peer"]] = rec
    notes: list[str] = []
    for (n, batch), recs in by_point.items():
        cells = []
        for peer in peers:
            rec = recs.get(peer, {})
            value = _ms(rec)
            if value is None:
                why = rec.get("error") or rec.get("skipped") or "-"
                notes.append(f"n={n}, B={batch}, {peer}: {why}")
                cells.append(f"[{len(notes)}]")
                continue
            cells.append(_fmt(value) + (f" ({rec['chunk']}/chunk)" if rec["chunk"] < batch else ""))
        ours, theirs = _ms(recs.get("ours_dm", {})), _ms(recs.get("pl_default_mixed", {}))
        ratio = f"{theirs / ours:.1f}x" if ours and theirs else "-"
        lines.append(f"| {n} | {batch} | " + " | ".join(cells) + f" | {ratio} |")
    if notes:
        lines += ["", *[f"[{k}] {note}" for k, note in enumerate(notes, 1)]]
    versions: dict[str, str] = {}
    for rec in data["points"]:
        versions.update(rec.get("versions", {}))
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))]
    return "\n".join(lines) + "\n"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--worker", help=argparse.SUPPRESS)
    p.add_argument("--check", action="store_true", help="every exact peer against ours_dm_c128 (n=4, B=3)")
    p.add_argument("--quick", action="store_true", help="smoke run: n = 4, 6, short budgets")
    p.add_argument("--sizes", default="4,6,8,10")
    p.add_argument("--batches", default="1,64")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--peers", default=",".join(PEERS), help="comma-separated subset of: " + ",".join(PEERS))
    p.add_argument("--p", type=float, default=0.01, help="depolarizing probability (Qiskit's convention)")
    p.add_argument("--gamma", type=float, default=0.005, help="amplitude damping")
    p.add_argument("--trajectories", type=int, default=100, help="trajectories per sample of ours_trajectory")
    p.add_argument("--tq-python", default=None, help="python of the TorchQuantum environment")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--budget-s", type=float, default=3.0, help="timing budget per point, seconds")
    p.add_argument("--min-reps", type=int, default=3)
    p.add_argument("--max-reps", type=int, default=20)
    p.add_argument("--chunk-gib", type=float, default=3.0, help="peak memory per chunk of the batch (estimate)")
    p.add_argument("--first-limit-s", type=float, default=120.0, help="skip a point whose first step is slower")
    p.add_argument("--startup-s", type=float, default=120.0)
    p.add_argument("--point-timeout-s", type=float, default=600.0)
    p.add_argument("--mem-cap-gib", type=float, default=12.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="JSON with every record")
    p.add_argument("--markdown", help="the table as markdown")
    args = p.parse_args(argv)
    args.peers = args.peers.split(",")
    unknown = sorted(set(args.peers) - set(PEERS))
    if unknown:
        p.error(f"unknown peers {unknown}; choose from {PEERS}")
    if args.quick:
        args.sizes, args.budget_s, args.max_reps, args.first_limit_s = "4,6", 1.0, 5, 30.0
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.batches = [int(b) for b in args.batches.split(",")]
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        hea_worker_main(args.worker, MODES)
        return 0
    if args.check:
        return run_check(args)
    data = run_bench(args)
    text = to_markdown(data)
    print()
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=1) + "\n")
    if args.markdown:
        Path(args.markdown).write_text(text)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    sys.exit(main())
