"""Named experiments for ``qml train``: a registry, and the toolkit's own recipes.

Importing this package registers the recipes of :mod:`qml.recipes.basic`, :mod:`qml.recipes.kan` and
:mod:`qml.recipes.lstm`.
"""

from __future__ import annotations

from qml.recipes import basic as _basic  # noqa: F401  (registers its recipes)
from qml.recipes import kan as _kan  # noqa: F401
from qml.recipes import lstm as _lstm  # noqa: F401
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
