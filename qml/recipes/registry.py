"""The registry of named experiments (recipes) that ``qml train RECIPE`` runs.

A recipe is a model, a dataset, hyperparameters and a metric, built from :class:`RecipeOptions`
(the backend, the seed, and the command line's overrides) into an :class:`Experiment` the fit loop
trains. Later model issues add their paper experiments with :func:`register`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from circuits.backend import Backend
from qml.training.metrics import MetricFn

__all__ = ["RECIPES", "Experiment", "Recipe", "RecipeOptions", "UnknownRecipeError", "get_recipe", "register"]


class UnknownRecipeError(KeyError):
    """A recipe name that is not registered; the message lists the known ones."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


@dataclass(frozen=True)
class RecipeOptions:
    """What a recipe is built with.

    Attributes:
        backend: where the circuits run (a :class:`~circuits.backend.Backend` object).
        seed: seeds the model's initial weights (the fit loop's seed is the same number).
        quick: a few-second variant for tests and smoke runs (fewer samples, smaller model).
    """

    backend: Backend
    seed: int = 0
    quick: bool = False


@dataclass
class Experiment:
    """A recipe, built: everything :func:`~qml.training.fit.fit` needs, plus the held-out test data.

    Attributes:
        model: the module to train.
        loss_fn: ``loss(outputs, targets) -> scalar``.
        optimizer: on ``model.parameters()``.
        train: ``(inputs, targets)`` training tensors.
        validation: ``(inputs, targets)`` evaluated every epoch.
        test: ``(inputs, targets)`` evaluated once at the end.
        task: ``"classification"`` (confusion matrix, accuracy) or ``"regression"`` (predictions plot, MSE).
        metrics: ``{name: metric(outputs, targets)}`` for validation and test.
        scheduler: a learning-rate scheduler, or ``None``.
        class_names: labels of the classes (classification).
        series: for time-series regression, ``(inputs, targets, split_index)`` over the whole series in time
            order, plotted as predictions against targets.
    """

    model: nn.Module
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    optimizer: torch.optim.Optimizer
    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    task: Literal["classification", "regression"]
    metrics: Mapping[str, MetricFn] = field(default_factory=dict)
    scheduler: Any = None
    class_names: list[str] | None = None
    series: tuple[torch.Tensor, torch.Tensor, int] | None = None


@dataclass(frozen=True)
class Recipe:
    """A named experiment.

    Attributes:
        name: what ``qml train NAME`` calls it.
        summary: one line for ``qml recipes``.
        build: makes the :class:`Experiment` from the options.
        epochs: default number of epochs (``--epochs`` overrides).
        batch_size: default global batch size.
        quick_epochs: epochs of the ``--quick`` variant.
        monitor: the history key that marks the best epoch (``None``: validation loss).
    """

    name: str
    summary: str
    build: Callable[[RecipeOptions], Experiment]
    epochs: int
    batch_size: int
    quick_epochs: int = 2
    monitor: str | None = None


RECIPES: dict[str, Recipe] = {}
"""Every registered recipe by name."""


def register(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to :data:`RECIPES` (a name can be registered once)."""
    if recipe.name in RECIPES:
        raise ValueError(f"a recipe named {recipe.name!r} is already registered.")
    RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``.

    Raises:
        UnknownRecipeError: no such recipe; the message lists the known names.
    """
    if name not in RECIPES:
        raise UnknownRecipeError(f"unknown recipe {name!r}; known recipes: {', '.join(sorted(RECIPES))}")
    return RECIPES[name]
