"""QKAN layer benchmark (issue 5, item 5): ``qml.kan.QKANLayer`` against the reference ``qkan`` package, one run.

Workload 2 of ``docs/peer-baselines.md``: one layer with ``in = out = width`` (8, 32, 128), ``reps`` 2 and 4,
batch 256, the input with ``requires_grad=True``, ``loss = output.mean()``; one iteration is forward plus
``loss.backward()`` with the gradients cleared. Peers (``_qkan_peers.py``): ``ours`` (default backend, the fast
path), ``qkan_exact`` and ``qkan_cutn`` (qkan 0.2.3 with ``fast_measure=False``, the Born-rule ``<Z>`` ours
computes). qkan lives in its own virtualenv (``setup_qkan_env.sh``); its points run with that interpreter
(``--qkan-python``). Every (peer, width, reps) point runs in a fresh subprocess, one after another, with the
harness of ``hea.py`` (warm-up, median of N timed iterations, other-process CPU share). See
``benchmarks/README.md``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/qkan_bench.py --check --qkan-python .scratch/bench/qkan-venv/bin/python
    .venv/bin/python benchmarks/qkan_bench.py --quick --qkan-python .scratch/bench/qkan-venv/bin/python
    .venv/bin/python benchmarks/qkan_bench.py --out qkan.json --markdown qkan.md --qkan-python PATH

This file imports only the standard library (and ``hea.py``'s helpers, which do the same) at the top, so the
qkan environment runs its workers (``--worker``) too.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))

from hea import _fmt, _ms, _timed_loop, machine_info, package_versions  # noqa: E402
from hea import run_worker as hea_run_worker  # noqa: E402
from hea import worker_main as hea_worker_main  # noqa: E402

ALL_PEERS = ["ours", "qkan_exact", "qkan_cutn", "qkan_exact_fm", "qkan_cutn_fm"]
DEFAULT_PEERS = ["ours", "qkan_exact", "qkan_cutn"]
CHECK_SOLVERS = ("exact", "cutn")


def _is_qkan_peer(peer: str) -> bool:
    return peer.startswith("qkan_")


# =========================================================================== worker side


def _reps_for(est_s: float, budget_s: float, min_reps: int, max_reps: int, max_point_s: float) -> int:
    """N = budget / iteration clamped to [min_reps, max_reps], but at most ``max_point_s`` of timing (>= 1 rep)."""
    reps = max(min_reps, min(max_reps, int(budget_s / max(est_s, 1e-6))))
    if est_s * reps > max_point_s:
        reps = max(1, min(reps, int(max_point_s / max(est_s, 1e-6))))
    return reps


def worker_time(spec: dict[str, Any]) -> dict[str, Any]:
    import torch
    from _qkan_peers import PEERS, VERSION_PACKAGES

    torch.set_num_threads(spec["threads"])
    peer = spec["peer"]
    rec: dict[str, Any] = {"versions": package_versions(VERSION_PACKAGES[peer]), "threads": torch.get_num_threads()}
    t0 = time.perf_counter()
    runner = PEERS[peer](spec["width"], spec["reps"], spec["batch"], spec["seed"], spec["preact_trainable"])
    rec["build_s"] = time.perf_counter() - t0
    rec["peer_note"] = runner.note
    rec["trainable_params"] = runner.trainable

    t0 = time.perf_counter()
    runner.step()
    first = time.perf_counter() - t0
    rec["first_iter_s"] = first
    print(f"FIRST {first:.6f}", flush=True)
    if first > spec["first_limit_s"]:
        rec["skipped"] = f"first iteration took {first:.1f} s > {spec['first_limit_s']:.0f} s limit"
        return rec
    est = first  # warm-up: the first iteration, plus 1 to 2 more when fast
    for _ in range(2 if first < 0.2 else 1 if first < 1.0 else 0):
        t0 = time.perf_counter()
        runner.step()
        est = time.perf_counter() - t0
    n = _reps_for(est, spec["budget_s"], spec["min_reps"], spec["max_reps"], spec["max_point_s"])
    rec["fwdbwd"] = _timed_loop(runner.step, 0.0, n, n, est)
    if spec["measure_fwd"]:
        runner.zero_grad()
        t0 = time.perf_counter()
        runner.forward()
        est = time.perf_counter() - t0
        n = _reps_for(est, spec["budget_s"] / 4, 3, spec["max_reps"], spec["max_point_s"] / 4)
        rec["fwd"] = _timed_loop(runner.forward, 0.0, n, n, est)
    return rec


def _randomize_reference(layer: Any, gen: Any) -> None:
    """Random values for every qkan parameter (so the mapping is tested on all of them, not on ones/zeros)."""
    import torch

    def uniform(t: torch.Tensor, lo: float, hi: float) -> None:
        t.copy_(torch.rand(t.shape, generator=gen) * (hi - lo) + lo)

    with torch.no_grad():
        uniform(layer.theta, -math.pi, math.pi)
        uniform(layer.preacts_weight, 0.5, 2.0)
        uniform(layer.preacts_bias, -1.0, 1.0)
        uniform(layer.postact_weights, -1.5, 1.5)
        uniform(layer.postact_bias, -0.5, 0.5)
        uniform(layer.base_weight, -1.0, 1.0)


CHECK_CONFIGS = {
    # every parameter trainable and random: tests the whole mapping
    "all-trainable": {"preact_trainable": True, "postact_weight_trainable": True, "postact_bias_trainable": True},
    # the timing configuration: qkan's defaults (Xavier theta, preacts and postacts frozen), fast_measure=False
    "timing-defaults": {"preact_trainable": False, "postact_weight_trainable": False, "postact_bias_trainable": False},
}


def worker_ref_check(spec: dict[str, Any]) -> dict[str, Any]:
    """Reference side of --check (qkan environment): weights, inputs, outputs and gradients to a .pt file."""
    import torch
    from _qkan_peers import VERSION_PACKAGES, build_qkan, qkan_grads, qkan_weights

    torch.set_num_threads(spec["threads"])
    in_dim, out_dim, reps, batch, seed = spec["in_dim"], spec["out_dim"], spec["reps"], spec["batch"], spec["seed"]
    cases = []
    for config, flags in CHECK_CONFIGS.items():
        gen = torch.Generator().manual_seed(seed)
        x = ((torch.rand(batch, in_dim, generator=gen) * 4) - 2).requires_grad_(True)
        c = torch.randn(batch, out_dim, generator=gen)  # loss = sum(c * y): every output gets its own weight
        layer = build_qkan(in_dim, out_dim, reps, spec["solver"], False, seed, **flags)
        if config == "all-trainable":
            _randomize_reference(layer, gen)
        y = layer(x)
        (c * y).sum().backward()
        with torch.no_grad():
            try:
                act = layer._run_solver(
                    x.detach(), layer._theta_natural(), layer._preacts_w_natural(), layer._preacts_b_natural()
                ).float()
            except Exception:  # a private API of qkan 0.2.3; the outputs are checked anyway
                act = None
        cases.append(
            {
                "config": config,
                "flags": flags,
                "x": x.detach().clone(),
                "c": c,
                "weights": qkan_weights(layer),
                "out": y.detach().float().clone(),
                "act": act,
                "grad_x": x.grad.detach().float().clone(),
                "grads": qkan_grads(layer),
            }
        )
    torch.save({"solver": spec["solver"], "cases": cases}, spec["path"])
    return {"versions": package_versions(VERSION_PACKAGES["qkan_exact"]), "path": spec["path"]}


def worker_main(spec_json: str) -> None:
    """hea.py's worker runner with this file's modes."""
    hea_worker_main(spec_json, {"time": worker_time, "ref_check": worker_ref_check})


# =========================================================================== parent side


def run_worker(python: str, spec: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """One worker of this script in a fresh process, under hea.py's limits and bookkeeping."""
    return hea_run_worker(python, spec, args, script=HERE / "qkan_bench.py")


def resolve_qkan_python(args: argparse.Namespace) -> str | None:
    """``--qkan-python``, else this interpreter when it can import qkan, else None (qkan rows are skipped)."""
    if args.qkan_python:
        return args.qkan_python
    if importlib.util.find_spec("qkan") is not None:
        return sys.executable
    return None


def peer_python(peer: str, args: argparse.Namespace) -> str | None:
    return args.qkan_python_resolved if _is_qkan_peer(peer) else sys.executable


# --------------------------------------------------------------------------- check


def _max_abs(a: Any, b: Any) -> float:
    return float((a.double() - b.double()).abs().max())


def _ours_case(case: dict[str, Any], in_dim: int, out_dim: int, reps: int) -> dict[str, Any]:
    """Our layer with the reference's weights on the reference's input: outputs, activations, gradients."""
    import torch
    from _qkan_peers import OUR_PARAMETERS, load_weights

    from qml.kan import QKANLayer

    flags = case["flags"]
    ours = QKANLayer(
        in_dim,
        out_dim,
        reps=reps,
        ansatz="pz",
        preact_trainable=flags["preact_trainable"],
        postact_weight_trainable=flags["postact_weight_trainable"],
        postact_bias_trainable=flags["postact_bias_trainable"],
        base_trainable=True,
        backend=None,
        generator=torch.Generator().manual_seed(0),
    )
    load_weights(ours, case["weights"])
    x = case["x"].clone().requires_grad_(True)
    y = ours(x)
    (case["c"] * y).sum().backward()
    with torch.no_grad():
        act = ours.activations(x.detach())
    grads = {}
    for name in OUR_PARAMETERS:
        g = getattr(ours, name).grad
        grads[name] = None if g is None else g.detach().float()
    return {"out": y.detach().float(), "act": act.float(), "grad_x": x.grad.detach().float(), "grads": grads}


def run_check(args: argparse.Namespace) -> int:
    import torch

    in_dim, out_dim, reps, batch = 3, 2, 2, 5
    qpy = args.qkan_python_resolved
    print(f"# QKAN check: in={in_dim}, out={out_dim}, reps={reps}, B={batch}, tolerance {args.tol:g}")
    print("# reference: qkan.QKANLayer(fast_measure=False), solvers exact and cutn; ours: qml.kan.QKANLayer with")
    print("# the reference's weights (_qkan_peers.qkan_weights). Compared: outputs y (B, out), activations")
    print("# phi (B, out, in), dL/dx and dL/dparam for L = sum(c * y) with random c.\n")
    if qpy is None:
        print("no qkan environment: pass --qkan-python (bash benchmarks/setup_qkan_env.sh builds one)")
        return 1
    refs: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="qkan_check_") as tmp:
        for solver in CHECK_SOLVERS:
            path = str(Path(tmp) / f"ref_{solver}.pt")
            spec = {
                "mode": "ref_check",
                "solver": solver,
                "in_dim": in_dim,
                "out_dim": out_dim,
                "reps": reps,
                "batch": batch,
                "seed": args.seed,
                "threads": args.threads,
                "path": path,
            }
            rec = run_worker(qpy, spec, args)
            if "error" in rec:
                print(f"reference ({solver}) failed: {rec['error']}")
                return 1
            refs[solver] = torch.load(path, weights_only=False)
            refs[solver]["versions"] = rec["versions"]
    print("reference versions:", ", ".join(f"{k} {v}" for k, v in refs["exact"]["versions"].items()), "\n")

    ok = True
    print("| solver | config | max abs y | max abs phi | max abs dL/dx | max abs dL/dparam | result |")
    print("|---|---|---:|---:|---:|---:|---|")
    for solver, ref in refs.items():
        for case in ref["cases"]:
            try:
                mine = _ours_case(case, in_dim, out_dim, reps)
            except Exception as exc:
                print(f"| {solver} | {case['config']} | - | - | - | - | FAILED (ours): {type(exc).__name__}: {exc} |")
                ok = False
                continue
            d_out = _max_abs(mine["out"], case["out"])
            d_act = None if case["act"] is None else _max_abs(mine["act"], case["act"])
            d_x = _max_abs(mine["grad_x"], case["grad_x"])
            d_par, problems = 0.0, []
            for name, g_ref in case["grads"].items():
                g_ours = mine["grads"][name]
                if (g_ref is None) != (g_ours is None):
                    state = "trainable in ours only" if g_ref is None else "trainable in qkan only"
                    problems.append(f"{name} {state}")
                elif g_ref is not None:
                    d = _max_abs(g_ours, g_ref)
                    d_par = max(d_par, d)
                    if d > args.tol:
                        problems.append(f"{name} grad off by {d:.1e}")
            good = d_out <= args.tol and (d_act is None or d_act <= args.tol) and d_x <= args.tol and not problems
            ok &= good
            act_s = "-" if d_act is None else f"{d_act:.1e}"
            status = "ok" if good else "MISMATCH" + (f" ({'; '.join(problems)})" if problems else "")
            print(f"| {solver} | {case['config']} | {d_out:.1e} | {act_s} | {d_x:.1e} | {d_par:.1e} | {status} |")
    # the two reference solvers against each other
    for a, b in zip(refs["exact"]["cases"], refs["cutn"]["cases"], strict=True):
        print(f"\nqkan exact vs cutn ({a['config']}): max abs y {_max_abs(a['out'], b['out']):.1e}", end="")
    first = refs["exact"]["cases"][0]["out"][0]
    print("\n\nqkan exact y[0] (all-trainable):", [round(float(v), 6) for v in first])
    print("check", "passed" if ok else "FAILED")
    return 0 if ok else 1


# --------------------------------------------------------------------------- timing


def _parse_skip(text: str) -> list[tuple[str, int | None, int | None]]:
    rules = []
    for item in filter(None, (s.strip() for s in text.split(","))):
        parts = item.split(":")
        if parts[0] not in ALL_PEERS or len(parts) > 3:
            raise ValueError(f"--skip item {item!r}: expected PEER[:WIDTH[:REPS]] with PEER one of {ALL_PEERS}")
        width = int(parts[1]) if len(parts) > 1 and parts[1] else None
        reps = int(parts[2]) if len(parts) > 2 and parts[2] else None
        rules.append((parts[0], width, reps))
    return rules


def _skipped(rules: list[tuple[str, int | None, int | None]], peer: str, width: int, reps: int) -> bool:
    return any(p == peer and w in (None, width) and r in (None, reps) for p, w, r in rules)


def run_bench(args: argparse.Namespace, peers: list[str]) -> dict[str, Any]:
    widths = [int(s) for s in args.widths.split(",")]
    reps_list = [int(s) for s in args.reps.split(",")]
    skip = _parse_skip(args.skip)
    meta: dict[str, Any] = {
        "machine": machine_info(),
        "batch": args.batch,
        "threads": args.threads,
        "preact_trainable": args.preact_trainable,
        "budget_s": args.budget_s,
        "reps_range": [args.min_reps, args.max_reps],
        "max_point_s": args.max_point_s,
        "first_limit_s": args.first_limit_s,
        "mem_cap_gib": args.mem_cap_gib,
        "qkan_python": args.qkan_python_resolved,
        "command": " ".join(sys.argv),
        "started": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    points = []
    for width in widths:
        for reps in reps_list:
            for peer in peers:
                python = peer_python(peer, args)
                if _skipped(skip, peer, width, reps):
                    rec: dict[str, Any] = {"error": "skipped (--skip)"}
                elif python is None:
                    rec = {"error": "skipped: no --qkan-python given"}
                else:
                    spec = {
                        "mode": "time",
                        "peer": peer,
                        "width": width,
                        "reps": reps,
                        "batch": args.batch,
                        "seed": args.seed,
                        "preact_trainable": args.preact_trainable,
                        "threads": args.threads,
                        "budget_s": args.budget_s,
                        "min_reps": args.min_reps,
                        "max_reps": args.max_reps,
                        "max_point_s": args.max_point_s,
                        "first_limit_s": args.first_limit_s,
                        "measure_fwd": not args.no_fwd,
                    }
                    rec = run_worker(python, spec, args)
                rec.update({"peer": peer, "width": width, "reps": reps, "batch": args.batch})
                points.append(rec)
                print("  " + _progress_line(rec), flush=True)
    meta["finished"] = time.strftime("%Y-%m-%d %H:%M:%S")
    return {"meta": meta, "points": points}


def _progress_line(rec: dict[str, Any]) -> str:
    head = f"width={rec['width']:>3} reps={rec['reps']} {rec['peer']:<14}"
    if "error" in rec or "skipped" in rec:
        return f"{head} {rec.get('error') or rec.get('skipped')}"
    parts = [head, f"fwd+bwd {_fmt(_ms(rec, 'fwdbwd')):>8} ms ({rec['fwdbwd']['reps']} reps)"]
    if rec.get("fwd"):
        parts.append(f"fwd {_fmt(_ms(rec, 'fwd')):>8} ms")
    return "  ".join(parts)


def _notes(rec: dict[str, Any]) -> str:
    if "error" in rec:
        return rec["error"].replace("|", "/")
    if "skipped" in rec:
        return rec["skipped"]
    r = rec["fwdbwd"]
    share = r.get("other_cpu_share", float("nan"))
    flag = " (NOISY: re-measure)" if share > 0.10 else ""
    spread = f"min {_fmt(r['min_s'] * 1e3)}, max {_fmt(r['max_s'] * 1e3)}"
    return f"{r['reps']} reps ({spread}), other CPU {share * 100:.0f}%{flag}"


def to_markdown(data: dict[str, Any], peers: list[str]) -> str:
    meta, points = data["meta"], data["points"]
    m = meta["machine"]
    out = ["# QKAN layer benchmark (issue 5, item 5): ours vs the qkan package, same run", ""]
    out.append(
        f"Machine: {m['cpu']} ({m['cpu_count']} CPUs), {m['platform']}, Python {m['python']}; "
        f"{meta['threads']} torch/OpenMP threads per worker. Started {meta['started']}."
    )
    out.append(f"Command: `{meta['command']}`")
    versions: dict[str, str] = {}
    for p in points:
        for k, v in p.get("versions", {}).items():
            key = f"{k} (qkan env)" if _is_qkan_peer(p["peer"]) and k not in ("qkan", "opt_einsum") else k
            versions.setdefault(key, v)
    if versions:
        out += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in sorted(versions.items()))]
    out += [
        "",
        f"Workload: one layer in = out = width, batch {meta['batch']}, pz ansatz, input requires_grad, "
        f"loss = mean(output); preacts {'trainable' if meta['preact_trainable'] else 'frozen (w=1, b=0)'}, "
        "postacts frozen, base weight trainable. Times are medians in ms per iteration (forward + "
        "`loss.backward()`); `fwd` is the forward alone with the autograd graph built. `peer/ours` = peer time / "
        "ours: how many times faster ours is. qkan peers use `fast_measure=False` (Born-rule <Z>, as ours) "
        "unless the name ends in `_fm` (the package default |a|-|b|, a different function).",
    ]
    by_point: dict[tuple[int, int], list[dict[str, Any]]] = {}
    for p in points:
        by_point.setdefault((p["width"], p["reps"]), []).append(p)
    others = [p for p in peers if p != "ours"]
    out += ["", "## Summary", ""]
    head = "| width | reps | ours fwd (ms) | ours fwd+bwd (ms) |"
    rule = "|---:|---:|---:|---:|"
    for p in others:
        head += f" {p} fwd+bwd (ms) | {p}/ours |"
        rule += "---:|---:|"
    out += [head, rule]
    for (width, reps), recs in by_point.items():
        get = {r["peer"]: r for r in recs}
        o_fb = _ms(get.get("ours", {}), "fwdbwd")
        row = f"| {width} | {reps} | {_fmt(_ms(get.get('ours', {}), 'fwd'))} | {_fmt(o_fb)} |"
        for p in others:
            t = _ms(get.get(p, {}), "fwdbwd")
            ratio = f"{t / o_fb:.1f}x" if t is not None and o_fb else "-"
            row += f" {_fmt(t)} | {ratio} |"
        out.append(row)
    out += ["", "## Per point", ""]
    for (width, reps), recs in by_point.items():
        circuits = width * width * meta["batch"]
        out.append(f"### width={width}, reps={reps}, batch={meta['batch']} ({circuits:,} one-qubit circuits)")
        out += ["", "| peer | fwd+bwd (ms) | peer/ours | fwd only (ms) | trainable params | notes |"]
        out.append("|---|---:|---:|---:|---:|---|")
        get = {r["peer"]: r for r in recs}
        o_fb = _ms(get.get("ours", {}), "fwdbwd")
        for r in sorted(recs, key=lambda r: (r["peer"] != "ours", _ms(r, "fwdbwd") or math.inf)):
            fb = _ms(r, "fwdbwd")
            ratio = f"{fb / o_fb:.1f}x" if fb is not None and o_fb else "-"
            out.append(
                f"| {r['peer']} | {_fmt(fb)} | {ratio} | {_fmt(_ms(r, 'fwd'))} | "
                f"{r.get('trainable_params', '-')} | {_notes(r)} |"
            )
        out.append("")
    return "\n".join(out)


# --------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--check", action="store_true", help="verify ours = qkan exact/cutn (in=3, out=2, reps=2, B=5)")
    ap.add_argument("--quick", action="store_true", help="smoke run: width 8 only, ~1 s per point, 3..10 reps")
    ap.add_argument("--qkan-python", metavar="PATH", help="python of the qkan environment (setup_qkan_env.sh)")
    ap.add_argument("--widths", default="8,32,128", help="in = out widths (default 8,32,128)")
    ap.add_argument("--reps", default="2,4", help="DARUAN repetitions (default 2,4)")
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument(
        "--peers", default=",".join(DEFAULT_PEERS), help="comma-separated subset of: " + ",".join(ALL_PEERS)
    )
    ap.add_argument("--skip", default="", help="points to leave out: PEER[:WIDTH[:REPS]],... e.g. qkan_exact:128")
    ap.add_argument("--preact-trainable", action="store_true", help="trainable w*x+b data angles in every peer")
    ap.add_argument("--out", metavar="FILE", help="write all records as JSON")
    ap.add_argument("--markdown", metavar="FILE", help="write the tables as markdown (they are printed anyway)")
    ap.add_argument("--threads", type=int, default=2, help="torch / OpenMP threads per worker (default 2)")
    ap.add_argument("--budget-s", type=float, default=3.5, help="timing budget per point, seconds (default 3.5)")
    ap.add_argument("--min-reps", type=int, default=3)
    ap.add_argument("--max-reps", type=int, default=50)
    ap.add_argument(
        "--max-point-s",
        type=float,
        default=30.0,
        help="slow points get fewer than --min-reps (>= 1) to stay under this",
    )
    ap.add_argument("--no-fwd", action="store_true", help="do not time the forward alone")
    ap.add_argument("--first-limit-s", type=float, default=60.0, help="skip a point whose first iteration exceeds this")
    ap.add_argument("--startup-s", type=float, default=120.0, help="allowance for imports and building the layer")
    ap.add_argument("--point-timeout-s", type=float, default=600.0, help="hard limit per point, seconds")
    ap.add_argument("--mem-cap-gib", type=float, default=15.0, help="address-space cap per worker (0: none)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--tol", type=float, default=1e-5, help="--check tolerance (default 1e-5)")
    ap.add_argument("--worker", metavar="JSON", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.quick:
        if args.widths == "8,32,128":
            args.widths = "8"
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
    if args.qkan_python and not Path(args.qkan_python).exists():
        print(
            f"--qkan-python {args.qkan_python} does not exist; build it with benchmarks/setup_qkan_env.sh",
            file=sys.stderr,
        )
        return 2
    try:
        _parse_skip(args.skip)
    except ValueError as exc:
        print(exc, file=sys.stderr)
        return 2
    args.qkan_python_resolved = resolve_qkan_python(args)
    if args.check:
        return run_check(args)
    data = run_bench(args, peers)
    text = to_markdown(data, peers)
    print()
    print(text)
    if args.out:
        Path(args.out).write_text(json.dumps(data, indent=1))
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
