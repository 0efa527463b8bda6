"""``qml bench``: the engine's per-machine tuning (``qml bench tune``).

Kept apart from :mod:`qml.cli` so that ``qml --help`` loads neither torch nor the engine.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, TextIO

__all__ = ["add_bench_commands", "bench_command", "format_report"]

DTYPES = ("complex64", "complex128", "float32", "float64")
"""Values of ``qml bench tune --dtype`` (float32/float64: the real-arithmetic path)."""


def _dtype_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in DTYPES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of {', '.join(DTYPES)}, got {text!r}")
    return names


def add_bench_commands(commands: argparse._SubParsersAction) -> None:
    """Add ``bench`` (with ``bench tune``) to the ``qml`` parser."""
    bench = commands.add_parser(
        "bench",
        help="engine performance tools ('qml bench tune')",
        description="Performance tools for the torch engine.",
    )
    actions = bench.add_subparsers(dest="bench_command", metavar="ACTION", parser_class=type(bench))
    tune = actions.add_parser(
        "tune",
        help="measure this machine's kernel choices and chunk size now, save and print them",
        description=(
            "Measure the torch engine's kernel formulations and batch chunk size on this machine (a few "
            "seconds), save them in the per-machine tuning file and print what was chosen. Without this "
            "command the engine measures each choice at its first use. Run it on an otherwise idle machine."
        ),
    )
    tune.add_argument(
        "--dtype",
        type=_dtype_list,
        default=["complex64"],
        metavar="D[,D...]",
        help=f"state dtypes to tune: {', '.join(DTYPES)} (default complex64)",
    )
    tune.add_argument(
        "--threads", type=int, default=None, metavar="N", help="torch threads to tune for (default: torch's default)"
    )
    tune.add_argument("--show", action="store_true", help="print the saved choices without measuring")
    tune.add_argument("--all", action="store_true", help="list every choice, not only those off the built-in rules")
    tune.add_argument("--json", action="store_true", help="print the full report as one JSON object")


def bench_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``qml bench ACTION``; return the exit status."""
    if args.bench_command != "tune":
        raise ValueError("'qml bench' needs an action: 'qml bench tune' (see 'qml bench --help')")
    import torch

    from circuits.sim import tuning

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be a positive integer, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.show:
        reports = {name: tuning.current_choices(getattr(torch, name)) for name in args.dtype}
        first = next(iter(reports.values()))
        report = {
            "machine": first["machine"],
            "path": first["path"],
            "chunk_bytes": first["chunk_bytes"],
            "fusion": first["fusion"],
            "kernels": {name: r["kernels"] for name, r in reports.items()},
            "fallbacks": {name: r["fallbacks"] for name, r in reports.items()},
        }
    else:
        report = tuning.tune([getattr(torch, name) for name in args.dtype])
    if args.json:
        print(json.dumps(report, indent=1, default=str), file=out)
    else:
        print(format_report(report, every=args.all, enabled=tuning.enabled()), file=out)
    return 0


def format_report(report: dict[str, Any], *, every: bool = False, enabled: bool = True) -> str:
    """A tuning report (:func:`circuits.sim.tuning.tune` or the saved choices) as text."""
    from circuits.sim import engine, tuning

    m = report["machine"]
    lines = [
        f"# engine tuning for {m['cpu']} ({m['cores']} cores, {m['threads']} torch threads, torch {m['torch']}, "
        f"{m['device']})" + (f": measured in {report['seconds']:.1f} s" if "seconds" in report else "")
    ]
    if report.get("path"):
        lines.append(f"# file: {report['path']} (safe to delete: the engine measures again at first use)")
    elif "seconds" in report:
        lines.append(f"# not saved: {tuning.cache_path()} could not be written")
    if not enabled:
        lines.append(f"# note: {tuning.ENV_SWITCH}=off in this environment: the engine uses the built-in rules")
    chunk = report.get("chunk_bytes")
    built_in = engine._CACHE_TARGET_BYTES >> 20
    shown = "not measured yet" if chunk is None else f"{chunk >> 20} MiB of state per chunk"
    line = f"batch chunk: {shown} (built-in {built_in} MiB)"
    if report.get("chunk_times"):
        line += "; " + ", ".join(f"{size >> 20} MiB {t * 1e3:.1f} ms" for size, t in report["chunk_times"].items())
    lines.append(line)
    lines.append(fusion_line(report.get("fusion")))
    for name, table in report["kernels"].items():
        fallbacks = report["fallbacks"][name]
        times = report.get("times", {}).get(name, {})
        differ = [key for key, choice in table.items() if choice != fallbacks.get(key)]
        lines.append(f"{name}: {len(table)} of {len(fallbacks)} choices measured, {len(differ)} off the built-in rules")
        keys = list(table) if every else differ
        if keys:
            width = max(len(key) for key in keys)
            lines.append(f"  {'call shape':<{width}}  {'choice':<11}  {'built-in':<11}  fastest time per form (us)")
            for key in keys:
                spread = ", ".join(f"{form} {t * 1e6:.0f}" for form, t in times.get(key, {}).items())
                lines.append(f"  {key:<{width}}  {table[key]:<11}  {fallbacks.get(key, '-'):<11}  {spread}")
        noisy = report.get("unsteady", {}).get(name, [])
        if noisy:
            lines.append(f"  too noisy to keep (built-in used, measured again later): {', '.join(noisy)}")
    for what in ("chunk", "fusion"):
        if report.get("unsteady", {}).get(what):
            lines.append(f"  {UNSTEADY_NAMES[what]}: too noisy to keep (built-in used, measured again later)")
    return "\n".join(lines)


UNSTEADY_NAMES = {"chunk": "batch chunk", "fusion": "constant-gate fusion costs"}


def fusion_line(measured: dict[str, Any] | None) -> str:
    """The constant-gate fuser's cost model (a saved or fresh measurement) as one line."""
    from circuits.sim.fusion import DEFAULT_COSTS, FusionCosts

    built_in = f"built-in: dense blocks up to {DEFAULT_COSTS.dense_max_qubits} qubits"
    if measured is None:
        return f"constant-gate fusion: not measured yet ({built_in})"
    return f"constant-gate fusion: {FusionCosts.from_measurement(**measured).summary()} ({built_in})"
