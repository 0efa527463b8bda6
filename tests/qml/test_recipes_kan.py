"""The QKAN recipes build and train (quick variants), and ``qml compare`` tabulates recipes over seeds."""

from __future__ import annotations

import pytest

from circuits import TorchBackend
from qml.cli import main
from qml.recipes import recipe_names, run_recipe
from qml.recipes.compare import compare_recipes, markdown_table

KAN_RECIPES = [name for name in recipe_names() if name.startswith(("qkan-", "fkan-", "mlp-", "cnn-"))]


def test_the_issue_5_recipes_are_registered():
    assert {"qkan-sinc20", "fkan-sinc20", "mlp-sinc20", "qkan-expsin", "cnn-qkan-digits", "cnn-mlp-digits"} <= set(
        KAN_RECIPES
    )


@pytest.mark.parametrize("name", KAN_RECIPES)
def test_quick_variant_trains_one_epoch(name):
    summary = run_recipe(name, backend=TorchBackend(), quick=True, epochs=1, progress=False)
    assert summary.epochs_run == 1 and all(v == v for v in summary.test.values())  # finite, not NaN


def test_compare_table(capsys):
    rows = compare_recipes(["qkan-sinc20", "mlp-sinc20"], [0, 1], backend=TorchBackend(), epochs=1, quick=True)
    assert [r.recipe for r in rows] == ["qkan-sinc20", "mlp-sinc20"] and rows[1].parameters == 1153
    assert len(rows[0].test["test_mse"]) == 2
    table = markdown_table(rows)
    assert table.splitlines()[0] == "| recipe | trainable parameters | test_mae | test_mse | seconds per run | seeds |"
    assert " ± " in table.splitlines()[2]
    assert main(["compare", "mlp-sinc20", "--seeds", "0,1", "--quick", "--epochs", "1"]) == 0
    captured = capsys.readouterr()
    assert "| mlp-sinc20 | 1153 |" in captured.out and "qml compare" not in captured.out
    progress = captured.err.splitlines()  # one line before the runs, one per run
    assert progress[0] == "qml compare: 1 recipe(s) x 2 seed(s): 2 run(s)"
    assert [line.split(":")[1] for line in progress[1:]] == [" [1/2] mlp-sinc20, seed 0", " [2/2] mlp-sinc20, seed 1"]
    assert all("test_mse" in line and line.endswith(" s)") for line in progress[1:])
    assert main(["compare", "nope"]) == 2
