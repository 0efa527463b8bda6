"""Named experiments for ``qml train``: a registry, and the toolkit's own recipes.

Importing this package registers the recipes of :mod:`qml.recipes.basic` and :mod:`qml.recipes.kan`.
"""

from __future__ import annotations

from qml.recipes import basic as _basic  # noqa: F401  (registers its recipes)
from qml.recipes import kan as _kan  # noqa: F401
from qml.recipes.registry import (
    RECIPES,
    Experiment,
    Recipe,
    RecipeOptions,
    UnknownRecipeError,
    get_recipe,
    register,
)
from qml.recipes.runner import RunSummary, run_recipe

__all__ = [
    "RECIPES",
    "Experiment",
    "Recipe",
    "RecipeOptions",
    "RunSummary",
    "UnknownRecipeError",
    "get_recipe",
    "register",
    "run_recipe",
]
