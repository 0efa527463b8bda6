"""The catalogue of recipes: the named experiments ``qml train NAME`` runs.

Registration is explicit. A recipe module defines a tuple ``RECIPES`` of :class:`~qml.recipes.recipe.Recipe`
and does nothing else on import; :func:`_shipped` below names every such module, and the catalogue
is built from them on the first lookup. To add recipes, write ``qml/recipes/<topic>.py`` with its
``RECIPES`` and add the module to :func:`_shipped` (a test fails while a recipe module is missing
there). A script's own recipes are added with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from qml.recipes.recipe import Recipe

__all__ = ["UnknownRecipeError", "all_recipes", "get_recipe", "recipe_names", "register"]


class UnknownRecipeError(KeyError):
    """A recipe name that is not registered; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


def _shipped() -> tuple[Recipe, ...]:
    """Every recipe qml-hybrid ships, module by module (imported here, on the first lookup)."""
    from qml.recipes import basic, hnn, images, kan, lstm, noisy, pinn, qrnn, reservoir

    return (
        *basic.RECIPES,
        *kan.RECIPES,
        *lstm.RECIPES,
        *qrnn.RECIPES,
        *reservoir.RECIPES,
        *images.RECIPES,
        *hnn.RECIPES,
        *noisy.RECIPES,
        *pinn.RECIPES,
    )


_catalogue: dict[str, Recipe] = {}


def _recipes() -> dict[str, Recipe]:
    if not _catalogue:
        shipped: dict[str, Recipe] = {}
        for recipe in _shipped():
            _add(shipped, recipe)
        _catalogue.update(shipped)
    return _catalogue


def _add(catalogue: dict[str, Recipe], recipe: Recipe) -> Recipe:
    if not isinstance(recipe, Recipe):
        raise TypeError(f"register() takes a Recipe, got {type(recipe).__name__}.")
    if recipe.name in catalogue:
        raise ValueError(f"a recipe named {recipe.name!r} is already registered; choose another name.")
    catalogue[recipe.name] = recipe
    return recipe


def register(recipe: Recipe) -> Recipe:
    """Add a recipe of your own to the catalogue (a name can be registered once).

    Returns:
        ``recipe``.

    Raises:
        TypeError: not a :class:`~qml.recipes.recipe.Recipe`.
        ValueError: the name is taken (by a shipped recipe or an earlier :func:`register`).
    """
    return _add(_recipes(), recipe)


def all_recipes() -> Mapping[str, Recipe]:
    """Every recipe by name (a read-only view)."""
    return MappingProxyType(_recipes())


def recipe_names() -> list[str]:
    """The names of every recipe, sorted."""
    return sorted(_recipes())


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``.

    Raises:
        UnknownRecipeError: no such recipe; the message lists the known names.
    """
    recipes = _recipes()
    if name not in recipes:
        raise UnknownRecipeError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(recipes))}")
    return recipes[name]
