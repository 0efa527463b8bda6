"""The recipe catalogue: explicit registration (no import side effects), every recipe module listed, names kept."""

from __future__ import annotations

import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import qml.recipes
from qml.recipes import Recipe, UnknownRecipeError, all_recipes, get_recipe, recipe_names, register
from qml.recipes import registry as registry_module

ROOT = Path(__file__).resolve().parents[3]

SHIPPED = [
    "baseline-pendulum", "baseline-spring", "baseline-two-body",
    "classifier", "cnn-mlp-digits", "cnn-qkan-digits", "demo", "fkan-expsin", "fkan-sinc20",
    "gru-bessel", "gru-damped", "gru-narma", "gru-reservoir-bessel", "gru-reservoir-damped", "gru-reservoir-narma",
    "hamemb-digits", "hamemb-mnist", "hnn-pendulum", "hnn-spring", "hnn-spring-qkan", "hnn-two-body",
    "hqkan-lstm-bessel", "hqkan-lstm-damped", "hqkan-lstm-narma", "lstm-bessel", "lstm-damped", "lstm-narma",
    "lstm-reservoir-bessel", "lstm-reservoir-damped", "lstm-reservoir-narma",
    "mlp-expsin", "mlp-sinc20", "noisy-classifier",
    "pinn-allen-cahn", "pinn-allen-cahn-causal", "pinn-barrier", "pinn-finite-well", "pinn-infinite-well",
    "pinn-infinite-well-quantum",
    "qcnn-digits", "qcnn-mnist",
    "qgru-bessel", "qgru-damped", "qgru-narma", "qgru-reservoir-bessel", "qgru-reservoir-damped",
    "qgru-reservoir-narma",
    "qkan-expsin", "qkan-lstm-bessel", "qkan-lstm-damped", "qkan-lstm-narma",
    "qkan-sinc20", "qlstm-bessel", "qlstm-damped", "qlstm-narma",
    "qlstm-reservoir-bessel", "qlstm-reservoir-damped", "qlstm-reservoir-narma",
    "qrnn-bessel", "qrnn-damped", "qrnn-elman-letters", "qrnn-elman-xor", "qrnn-mnist01", "qrnn-mnist36",
    "qrnn-narma", "qrnn-reservoir-bessel", "qrnn-reservoir-damped", "qrnn-reservoir-narma",
    "readout-qnn-mnist36", "regression",
    "rnn-bessel", "rnn-damped", "rnn-narma", "rnn-reservoir-bessel", "rnn-reservoir-damped", "rnn-reservoir-narma",
]  # fmt: skip


def _build(options):
    raise AssertionError("not built in these tests")


def test_the_shipped_recipe_names_are_kept():
    assert [name for name in recipe_names() if name in SHIPPED] == SHIPPED
    assert all(get_recipe(name).name == name for name in SHIPPED)


def test_every_recipe_module_is_listed_in_the_registry():
    """A module of qml/recipes with a RECIPES tuple that _shipped() does not name would be silently missing."""
    shipped = {recipe.name for recipe in registry_module._shipped()}
    found = set()
    for module_info in pkgutil.iter_modules(qml.recipes.__path__):
        module = importlib.import_module(f"qml.recipes.{module_info.name}")
        recipes = getattr(module, "RECIPES", None)
        if recipes is None:
            continue
        assert isinstance(recipes, tuple) and all(isinstance(r, Recipe) for r in recipes), module_info.name
        names = {recipe.name for recipe in recipes}
        assert names <= shipped, f"qml.recipes.{module_info.name} is missing from registry._shipped()"
        found |= names
    assert found == shipped == set(SHIPPED)


def test_importing_recipes_registers_nothing_and_loads_no_model():
    code = (
        "import sys, qml.recipes, qml.recipes.registry as r\n"
        "loaded = sorted(m for m in sys.modules if m in ('qml.recipes.basic', 'qml.recipes.kan', "
        "'qml.recipes.lstm', 'qml.recipes.qrnn', 'qml.recipes.reservoir', 'qml.kan', 'qml.models', "
        "'qml.recurrent'))\n"
        "print(loaded, len(r._catalogue))\n"
        "import qml.recipes.kan\n"
        "print(len(r._catalogue), len(qml.recipes.recipe_names()))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.splitlines() == ["[] 0", f"0 {len(SHIPPED)}"]


def test_register_adds_a_recipe_of_ones_own(monkeypatch):
    monkeypatch.setattr(registry_module, "_catalogue", dict(all_recipes()))
    mine = register(Recipe("my-experiment", "mine", _build, epochs=3, batch_size=4))
    assert get_recipe("my-experiment") is mine and "my-experiment" in recipe_names()
    with pytest.raises(ValueError, match="a recipe named 'my-experiment' is already registered; choose another"):
        register(Recipe("my-experiment", "again", _build, epochs=3, batch_size=4))
    with pytest.raises(ValueError, match="a recipe named 'classifier' is already registered"):
        register(Recipe("classifier", "clash", _build, epochs=3, batch_size=4))
    with pytest.raises(TypeError, match="register\\(\\) takes a Recipe, got dict"):
        register({"name": "x"})  # type: ignore[arg-type]


def test_unknown_names_list_the_known_ones():
    with pytest.raises(
        UnknownRecipeError,
        match=r"unknown recipe 'nope'; known recipes: baseline-pendulum, .*classifier, cnn-mlp-digits,",
    ):
        get_recipe("nope")


def test_recipe_fields_are_checked():
    with pytest.raises(ValueError, match=r"lowercase letters and digits joined by single hyphens .*got 'My Recipe'"):
        Recipe("My Recipe", "x", _build, epochs=1, batch_size=1)
    with pytest.raises(ValueError, match=r"Recipe 'r': epochs must be a positive int, got 0"):
        Recipe("r", "x", _build, epochs=0, batch_size=1)
    with pytest.raises(TypeError, match="Recipe 'r': build must be callable, got str"):
        Recipe("r", "x", "build", epochs=1, batch_size=1)  # type: ignore[arg-type]
