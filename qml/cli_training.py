"""The training commands of ``qml``: ``qml recipes``, ``qml train RECIPE``, ``qml demo``.

Kept apart from :mod:`qml.cli` so that the OpenQASM commands do not load the training toolkit.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import TextIO

__all__ = ["DEMO_OUT", "TRAIN_BACKENDS", "compare_command", "recipes_command", "train_command"]

TRAIN_BACKENDS = ("torch", "aer")
"""Values of ``qml train --backend``."""

DEMO_OUT = "outputs/demo"
"""Where ``qml demo`` writes its run."""


def recipes_command(out: TextIO) -> int:
    """Print every registered recipe with its defaults."""
    from qml.recipes import all_recipes

    recipes = all_recipes()
    width = max(len(name) for name in recipes)
    for name in sorted(recipes):
        recipe = recipes[name]
        print(f"{name:<{width}}  {recipe.summary} [{recipe.epochs} epochs, batch {recipe.batch_size}]", file=out)
    return 0


def _backend(name: str, seed: int):
    if name == "torch":
        from circuits.sim.torch_backend import TorchBackend

        return TorchBackend()
    from circuits.backends.aer import AerBackend

    return AerBackend(method="statevector", seed=seed)


def train_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``qml train`` (and ``qml demo``); return the exit status.

    Status 0 on success; 1 when training diverged (NaN loss; the last good checkpoint is kept);
    user errors (unknown recipe, an output directory holding a run, a foreign checkpoint) raise
    :class:`~qml.training.errors.TrainingError` or :class:`~qml.recipes.UnknownRecipeError`, which
    :func:`qml.cli.main` prints as one line with status 2.
    """
    from qml.recipes import run_recipe
    from qml.training import NonFiniteLossError, init_distributed

    ctx = None
    if args.distributed:
        import torch

        ctx = init_distributed()
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", ctx.world_size))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))  # ranks share the machine's cores
    try:
        summary = run_recipe(
            args.recipe,
            backend=_backend(args.backend, args.seed),
            seed=args.seed,
            epochs=args.epochs,
            batch_size=args.batch_size,
            out_dir=args.out,
            resume=args.resume,
            overwrite=args.overwrite,
            quick=args.quick,
            progress=not args.no_progress,
            distributed=ctx,
        )
        if ctx is not None:
            ctx.barrier()  # no rank tears the group down while rank 0 still plots (gloo aborts on a half-closed pair)
    except NonFiniteLossError as exc:
        print(f"qml {args.command}: training stopped: {exc}", file=sys.stderr)
        return 1
    finally:
        if ctx is not None:
            import torch.distributed as dist

            dist.destroy_process_group()
    if ctx is None or ctx.is_main:
        print(summary.line(), file=out)
    return 0


def compare_command(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``qml compare``: every recipe over every seed (a line per run on stderr), then one markdown table."""
    from pathlib import Path

    from qml.recipes.compare import compare_recipes, markdown_table

    seeds = [int(s) for s in args.seeds.split(",")]
    rows = compare_recipes(
        args.recipes,
        seeds,
        backend=_backend(args.backend, seeds[0]),
        epochs=args.epochs,
        quick=args.quick,
        report=lambda line: print(f"qml compare: {line}", file=sys.stderr, flush=True),
    )
    table = markdown_table(rows)
    print(table, file=out)
    if args.markdown:
        Path(args.markdown).write_text(table + "\n")
    return 0


def _seed_list(text: str) -> str:
    parts = text.split(",")
    if not all(p.strip().isdigit() for p in parts):
        raise argparse.ArgumentTypeError(f"expected comma-separated non-negative integers, got {text!r}")
    return text


def add_training_commands(commands: argparse._SubParsersAction, positive_int, seed) -> None:
    """Add ``recipes``, ``train`` and ``demo`` to the ``qml`` parser."""
    commands.add_parser("recipes", help="list the experiments 'qml train' runs", description="List the recipes.")
    train = commands.add_parser(
        "train",
        help="train a recipe: progress, metrics, checkpoints, plots in --out",
        description=(
            "Train a named experiment. Writes checkpoint.pt (every epoch), best.pt, metrics.jsonl, "
            "summary.json and plots to --out; --resume continues a run that was stopped."
        ),
    )
    train.add_argument("recipe", metavar="RECIPE", help="a recipe name ('qml recipes' lists them)")
    demo = commands.add_parser(
        "demo",
        help="the main job: train the demo recipe (hybrid classifier) and write plots to outputs/demo",
        description="Train the demo recipe on the torch engine; outputs go to outputs/demo (replaced each run).",
    )
    compare = commands.add_parser(
        "compare",
        help="train several recipes over several seeds and print a table of test metrics",
        description="Train every RECIPE with every seed (nothing written) and print one markdown table.",
    )
    compare.add_argument("recipes", metavar="RECIPE", nargs="+", help="recipe names ('qml recipes' lists them)")
    compare.add_argument("--seeds", type=_seed_list, default="0,1,2", metavar="S,S,...", help="default 0,1,2")
    compare.add_argument("--epochs", type=positive_int, default=None, metavar="N", help="override the epochs")
    compare.add_argument("--backend", choices=TRAIN_BACKENDS, default="torch", help="where circuits run")
    compare.add_argument("--quick", action="store_true", help="the recipes' few-second variants")
    compare.add_argument("--markdown", metavar="FILE", help="also write the table to FILE")
    for parser, out_default in ((train, None), (demo, DEMO_OUT)):
        parser.add_argument(
            "--backend",
            choices=TRAIN_BACKENDS,
            default="torch",
            help="where circuits run: 'torch' (our engine, default) or 'aer' (Qiskit Aer, parameter-shift gradients)",
        )
        parser.add_argument("--epochs", type=positive_int, default=None, metavar="N", help="override the epochs")
        parser.add_argument("--batch-size", type=positive_int, default=None, metavar="B", help="global batch size")
        parser.add_argument("--seed", type=seed, default=0, metavar="S", help="model initialisation and data order")
        parser.add_argument(
            "--out",
            default=out_default,
            metavar="DIR",
            help="output directory" + (" (default outputs/demo)" if out_default else " (default: runs/RECIPE)"),
        )
        parser.add_argument("--quick", action="store_true", help="the recipe's few-second variant")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar or epoch lines")
        if parser is train:
            parser.add_argument("--resume", action="store_true", help="continue the run in --out")
            parser.add_argument("--overwrite", action="store_true", help="replace the run in --out")
            parser.add_argument(
                "--distributed",
                action="store_true",
                help="data-parallel under torchrun: torchrun --nproc-per-node N -m qml train RECIPE --distributed",
            )
        else:
            parser.set_defaults(recipe="demo", resume=False, overwrite=True, distributed=False)
