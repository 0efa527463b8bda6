"""The evaluation loop: a model's outputs on a whole dataset, and the loss and metrics computed from them.

The fit loop validates with it every epoch (``val_`` keys) and :func:`qml.recipes.run_recipe` tests
with it once at the end (``test_`` keys), so both see the same numbers for the same data.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

from qml.training.data import DataSource, as_dataset
from qml.training.losses import LossFn, ModelLoss
from qml.training.metrics import MetricFn

__all__ = ["evaluate", "predict"]


def _model_device(model: nn.Module) -> torch.device:
    return next((p.device for p in model.parameters()), torch.device("cpu"))


def _forward(model: nn.Module, dataset: Dataset, batch_size: int, device: torch.device) -> list[torch.Tensor]:
    """``[outputs, *other columns]`` over all rows: the model runs on the first column of each row."""
    if len(dataset) == 0:  # type: ignore[arg-type]
        raise ValueError("cannot evaluate on an empty dataset; give at least one row.")
    was_training = model.training
    model.eval()
    columns: list[list[torch.Tensor]] = []
    try:
        with torch.no_grad():
            for inputs, *others in DataLoader(dataset, batch_size=batch_size, shuffle=False):
                batch = [model(inputs.to(device)), *(column.to(device) for column in others)]
                columns = columns or [[] for _ in batch]
                for gathered, part in zip(columns, batch, strict=True):
                    gathered.append(part)
    finally:
        model.train(was_training)
    return [torch.cat(parts) for parts in columns]


def predict(
    model: nn.Module, inputs: torch.Tensor, *, batch_size: int = 1024, device: torch.device | None = None
) -> torch.Tensor:
    """``model(inputs)`` in evaluation mode without gradients, ``batch_size`` rows at a time.

    The model's training mode is restored afterwards.

    Shape:
        inputs: ``(N, ...)``; returns ``(N, ...)`` on ``device``.

    Args:
        model: any module.
        inputs: the rows to run.
        batch_size: rows per forward pass.
        device: where the model runs (default: the device of its first parameter, else the CPU).
    """
    device = device or _model_device(model)
    (outputs,) = _forward(model, TensorDataset(inputs), batch_size, device)
    return outputs


def _model_loss(model: nn.Module, loss_fn: ModelLoss, dataset: Dataset, batch_size: int, device: torch.device) -> float:
    """The row-weighted mean of a :class:`ModelLoss` over ``dataset``.

    Runs in evaluation mode with gradients on (the loss may differentiate the model with respect to its
    inputs); nothing is kept for a backward.
    """
    was_training = model.training
    model.eval()
    total, rows = 0.0, 0
    try:
        with torch.enable_grad():
            for inputs, targets in DataLoader(dataset, batch_size=batch_size, shuffle=False):
                value = loss_fn(model, inputs.to(device), targets.to(device))
                total += float(value.detach()) * inputs.shape[0]
                rows += inputs.shape[0]
    finally:
        model.train(was_training)
    return total / rows


def evaluate(
    model: nn.Module,
    loss_fn: LossFn,
    data: DataSource,
    metrics: Mapping[str, MetricFn],
    *,
    prefix: str,
    batch_size: int = 1024,
    device: torch.device | None = None,
) -> tuple[dict[str, float], torch.Tensor]:
    """Loss and metrics of ``model`` on the whole of ``data``, from the concatenated outputs.

    Args:
        model: evaluated in evaluation mode without gradients (its training mode is restored).
        loss_fn: ``loss(outputs, targets) -> scalar``, a mean over the rows; a
            :class:`~qml.training.losses.ModelLoss` is evaluated batch by batch with gradients enabled
            (it may differentiate with respect to the inputs) and averaged over the rows.
        data: ``(inputs, targets)`` tensors or a dataset of such pairs.
        metrics: ``{name: metric(outputs, targets)}``.
        prefix: put before every key: ``"val_"`` gives ``val_loss``, ``val_<metric>``.
        batch_size: rows per forward pass.
        device: where the model runs (default: the device of its first parameter, else the CPU).

    Returns:
        ``({prefix + "loss": ..., prefix + name: ...}, outputs)`` with the outputs on ``device``.
    """
    device = device or _model_device(model)
    dataset = as_dataset(data)
    output, target = _forward(model, dataset, batch_size, device)
    if isinstance(loss_fn, ModelLoss):
        scores = {f"{prefix}loss": _model_loss(model, loss_fn, dataset, batch_size, device)}
    else:
        scores = {f"{prefix}loss": float(loss_fn(output, target))}
    for name, metric in metrics.items():
        scores[f"{prefix}{name}"] = float(metric(output, target))
    return scores, output
