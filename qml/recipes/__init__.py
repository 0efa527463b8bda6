"""Named experiments for ``qml train``: what a recipe is, the catalogue, and running one.

Importing this package registers nothing and loads no model: the catalogue
(:mod:`qml.recipes.registry`) imports the recipe modules it lists on the first lookup.
"""

from __future__ import annotations

from qml.recipes.recipe import Experiment, Recipe, RecipeOptions, Report
from qml.recipes.registry import UnknownRecipeError, all_recipes, get_recipe, recipe_names, register
from qml.recipes.runner import RunSummary, run_recipe

__all__ = [
    "Experiment",
    "Recipe",
    "RecipeOptions",
    "Report",
    "RunSummary",
    "UnknownRecipeError",
    "all_recipes",
    "get_recipe",
    "recipe_names",
    "register",
    "run_recipe",
]
