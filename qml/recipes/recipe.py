"""What a recipe is: the options it is built with, the experiment it builds, and its defaults.

A recipe is a model, a dataset, hyperparameters and a metric, built from :class:`RecipeOptions`
(the backend, the seed, and the command line's overrides) into an :class:`Experiment` the fit loop
trains. :mod:`qml.recipes.registry` lists the recipes ``qml train NAME`` knows.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from circuits.backend import Backend
from qml.training.losses import LossFn
from qml.training.metrics import MetricFn

__all__ = ["Experiment", "Recipe", "RecipeOptions", "Report"]

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


@dataclass(frozen=True)
class Report:
    """What a recipe measures itself on the trained model, beyond the test loss and metrics.

    Attributes:
        test: more numbers for ``summary.json``'s ``"test"`` (a physics recipe's ``energy_mse`` from
            rollouts, a PINN's trained ``energy``), plain floats.
        facts: more top-level keys of ``summary.json`` (plain JSON values: the physical parameters a
            result is checked against, reference values), e.g. ``{"potential": {"depth": 50.0, ...}}``.
    """

    test: Mapping[str, float] = field(default_factory=dict)
    facts: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Experiment:
    """A recipe, built: everything :func:`~qml.training.fit.fit` needs, plus the held-out test data.

    Attributes:
        model: the module to train.
        loss_fn: ``loss(outputs, targets) -> scalar``, or a :class:`~qml.training.losses.ModelLoss`.
        optimizer: on ``model.parameters()``.
        train: ``(inputs, targets)`` training tensors.
        validation: ``(inputs, targets)`` evaluated every epoch.
        test: ``(inputs, targets)`` evaluated once at the end.
        task: ``"classification"`` (confusion matrix, accuracy), ``"regression"`` (predictions plot, MSE),
            or ``"physics"`` (no default plot: ``report`` draws its own).
        metrics: ``{name: metric(outputs, targets)}`` for validation and test.
        scheduler: a learning-rate scheduler, or ``None``.
        class_names: labels of the classes (classification).
        series: for time-series regression, ``(inputs, targets, split_index)`` over the whole series in time
            order, plotted as predictions against targets.
        predictions: for classification, ``(outputs, targets) -> (labels, predicted)`` of the test data,
            both ``(N,)``, for the confusion matrix; ``None``: ``targets`` and ``outputs.argmax(-1)``.
        report: called once after the test evaluation as ``report(model, out_dir)`` (``out_dir`` is
            ``None`` when no files are written; otherwise the report may save its own plots there), on
            every rank; its :class:`Report` joins ``summary.json``.
    """

    model: nn.Module
    loss_fn: LossFn
    optimizer: torch.optim.Optimizer
    train: tuple[torch.Tensor, torch.Tensor]
    validation: tuple[torch.Tensor, torch.Tensor]
    test: tuple[torch.Tensor, torch.Tensor]
    task: Literal["classification", "regression", "physics"]
    metrics: Mapping[str, MetricFn] = field(default_factory=dict)
    scheduler: Any = None
    class_names: list[str] | None = None
    series: tuple[torch.Tensor, torch.Tensor, int] | None = None
    predictions: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]] | None = None
    report: Callable[[nn.Module, Path | None], Report] | None = None


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
        checkpoint_every: write the run's checkpoint every this many epochs (see
            :class:`~qml.training.FitConfig`; recipes of thousands of one-step epochs write every 100).
    """

    name: str
    summary: str
    build: Callable[[RecipeOptions], Experiment]
    epochs: int
    batch_size: int
    quick_epochs: int = 2
    monitor: str | None = None
    grad_clip_norm: float | None = None
    checkpoint_every: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.fullmatch(self.name):
            raise ValueError(
                "a recipe name is lowercase letters and digits joined by single hyphens (like 'qkan-sinc20'), "
                f"got {self.name!r}."
            )
        for option in ("epochs", "batch_size", "quick_epochs", "checkpoint_every"):
            value = getattr(self, option)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"Recipe {self.name!r}: {option} must be a positive int, got {value!r}.")
        if not callable(self.build):
            raise TypeError(f"Recipe {self.name!r}: build must be callable, got {type(self.build).__name__}.")
