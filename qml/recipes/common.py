"""Pieces the recipe modules share: the training part of a split, the classification and time-series experiments."""

from __future__ import annotations

import torch
from torch import nn

from qml.data.base import Split
from qml.recipes.recipe import Experiment
from qml.training.data import holdout
from qml.training.metrics import accuracy, mean_absolute_error, mean_squared_error

__all__ = ["classification_experiment", "series_experiment", "training_part"]


def training_part(data: Split, quick_rows: int | None) -> tuple[torch.Tensor, torch.Tensor]:
    """The training tensors, cut to their first ``quick_rows`` rows when given."""
    if quick_rows is None:
        return data.x_train, data.y_train
    return data.x_train[:quick_rows], data.y_train[:quick_rows]


def classification_experiment(
    model: nn.Module,
    loss_fn: nn.Module,
    optimizer: torch.optim.Optimizer,
    train: tuple[torch.Tensor, torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    class_names: list[str],
    scheduler: object = None,
) -> Experiment:
    """A classification experiment scored by accuracy (and the loss), with a confusion matrix over ``class_names``."""
    return Experiment(
        model=model,
        loss_fn=loss_fn,
        optimizer=optimizer,
        train=train,
        validation=validation,
        test=test,
        task="classification",
        metrics={"accuracy": accuracy},
        scheduler=scheduler,
        class_names=class_names,
    )


def series_experiment(
    data: Split,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    quick_rows: int | None = None,
    lr_decay: float | None = None,
) -> Experiment:
    """Next-value regression on a windowed series.

    The tail 20 % of the training part validates, the loss is MSE, and the whole series (train then
    test, in time order) is plotted as predictions against targets. ``lr_decay`` multiplies the
    learning rate by that factor after every epoch.
    """
    train, validation = holdout(*training_part(data, quick_rows), 0.2, "tail")
    return Experiment(
        model=model,
        loss_fn=nn.MSELoss(),
        optimizer=optimizer,
        train=train,
        validation=validation,
        test=(data.x_test, data.y_test),
        task="regression",
        metrics={"mse": mean_squared_error, "mae": mean_absolute_error},
        scheduler=torch.optim.lr_scheduler.ExponentialLR(optimizer, lr_decay) if lr_decay is not None else None,
        series=(torch.cat([data.x_train, data.x_test]), torch.cat([data.y_train, data.y_test]), data.num_train),
    )
