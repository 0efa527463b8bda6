"""Run several recipes over several seeds and tabulate them: what ``qml compare`` prints.

Each row: the recipe, its trainable parameters, every test metric as mean ± standard deviation over
the seeds, and the mean wall time of a run. The table is how docs/results.md is made.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from circuits.backend import Backend
from qml.recipes.recipe import RecipeOptions
from qml.recipes.registry import get_recipe
from qml.recipes.runner import run_recipe

__all__ = ["ComparisonRow", "compare_recipes", "markdown_table"]


@dataclass(frozen=True)
class ComparisonRow:
    """One recipe over all seeds.

    Attributes:
        recipe: its name.
        parameters: trainable parameters of its model.
        seeds: the seeds run.
        test: ``{metric: [value per seed]}``.
        seconds: wall time per seed.
    """

    recipe: str
    parameters: int
    seeds: tuple[int, ...]
    test: dict[str, list[float]]
    seconds: list[float]


def _trainable(recipe: str, backend: Backend, quick: bool) -> int:
    model = get_recipe(recipe).build(RecipeOptions(backend=backend, seed=0, quick=quick)).model
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def compare_recipes(
    recipes: Sequence[str],
    seeds: Sequence[int],
    *,
    backend: Backend,
    epochs: int | None = None,
    quick: bool = False,
    report: Callable[[str], object] | None = None,
) -> list[ComparisonRow]:
    """Train every recipe with every seed (nothing written to disk) and collect the test metrics.

    Args:
        recipes: recipe names, in the order of the rows.
        seeds: the seeds every recipe runs with.
        backend: where the circuits run.
        epochs: overrides every recipe's default.
        quick: the recipes' few-second variants.
        report: called with one line before the first run and one after each run (``None``: silent).

    Raises:
        UnknownRecipeError: a name that is not registered (checked before anything runs).
    """
    for name in recipes:
        get_recipe(name)
    say = report or (lambda line: None)
    total = len(recipes) * len(seeds)
    say(f"{len(recipes)} recipe(s) x {len(seeds)} seed(s): {total} run(s)")
    rows, done = [], 0
    for name in recipes:
        test: dict[str, list[float]] = {}
        seconds = []
        for seed in seeds:
            summary = run_recipe(name, backend=backend, seed=seed, epochs=epochs, quick=quick, progress=False)
            for key, value in summary.test.items():
                test.setdefault(key, []).append(value)
            seconds.append(summary.seconds)
            done += 1
            scores = ", ".join(f"{key} {value:.4g}" for key, value in summary.test.items())
            say(f"[{done}/{total}] {name}, seed {seed}: {scores} ({summary.seconds:.1f} s)")
        rows.append(ComparisonRow(name, _trainable(name, backend, quick), tuple(seeds), test, seconds))
    return rows


def _mean_std(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.4g}"
    return f"{statistics.mean(values):.4g} ± {statistics.stdev(values):.2g}"


def markdown_table(rows: Sequence[ComparisonRow]) -> str:
    """The rows as a markdown table (metrics: the union over rows, ``-`` where a recipe lacks one)."""
    metrics = sorted({key for row in rows for key in row.test if key != "test_loss"})
    header = ["recipe", "trainable parameters", *metrics, "seconds per run", "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|---|" + "---:|" * (len(header) - 2) + "---|"]
    for row in rows:
        cells = [row.recipe, str(row.parameters)]
        cells += [_mean_std(row.test[m]) if m in row.test else "-" for m in metrics]
        cells += [f"{statistics.mean(row.seconds):.1f}", ",".join(str(s) for s in row.seeds)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
