"""What a recipe is: the options it is built with, the experiment it builds, and its defaults.

A recipe is a model, a dataset, hyperparameters and a metric, built from :class:`RecipeOptions`
(the backend, the seed, and the command line's overrides) into an :class:`Experiment` the fit loop
trains. :mod:`qml.recipes.registry` lists the recipes ``qml train NAME`` knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from circuits.backend import Backend
from qml.training.metrics import MetricFn

__all__ = ["Experiment", "Recipe", "RecipeOptions"]

_NAME = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


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
        predictions: for classification, ``(outputs, targets) -> (labels, predicted)`` of the test data,
            both ``(N,)``, for the confusion matrix; ``None``: ``targets`` and ``outputs.argmax(-1)``.
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
    predictions: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None


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
        grad_clip_norm: clip the gradients' 2-norm to this before every step (``None``: no clipping).
    """

    name: str
    summary: str
    build: Callable[[RecipeOptions], Experiment]
    epochs: int
    batch_size: int
    quick_epochs: int = 2
    monitor: str | None = None
    grad_clip_norm: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                "a recipe name is lowercase letters and digits joined by single hyphens (like 'qkan-sinc20'), "
                f"got {self.name!r}."
            )
        for option in ("epochs", "batch_size", "quick_epochs"):
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Recipe {self.name!r}: {option} must be a positive int, got {value!r}.")
        if not callable(self.build):
            raise TypeError(f"Recipe {self.name!r}: build must be callable, got {type(self.build).__name__}.")
