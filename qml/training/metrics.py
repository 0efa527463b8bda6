"""Metrics of a run: the per-epoch record written as JSON lines, and common metric functions.

Each line of ``metrics.jsonl`` is one epoch: ``{"epoch": 3, "train_loss": ..., "val_loss": ...,
"val_accuracy": ..., "lr": ..., "time_s": ...}``. Non-finite values are written as ``null`` so every
line is strict JSON.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from qml.training.files import write_atomic

__all__ = ["MetricFn", "accuracy", "mean_absolute_error", "mean_squared_error", "read_metrics", "write_metrics"]

MetricFn = Callable[[torch.Tensor, torch.Tensor], float]
"""``metric(predictions, targets) -> float``, on a whole validation set."""


def accuracy(logits: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of rows whose largest logit is the label.

    Shape:
        logits: ``(N, num_classes)``; labels: ``(N,)`` integers.
    """
    return float((logits.argmax(dim=-1) == labels).float().mean())


def mean_squared_error(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean of the squared differences (same shapes, or ``(N, 1)`` against ``(N,)``)."""
    return float((predictions.reshape(targets.shape) - targets).square().mean())


def mean_absolute_error(predictions: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean of the absolute differences (same shapes, or ``(N, 1)`` against ``(N,)``)."""
    return float((predictions.reshape(targets.shape) - targets).abs().mean())


def _strict(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_metrics(path: str | Path, history: Sequence[Mapping[str, Any]]) -> None:
    """Write every epoch record of ``history`` to ``path`` as JSON lines (replacing the file atomically)."""
    text = "".join(json.dumps({k: _strict(v) for k, v in record.items()}) + "\n" for record in history)
    write_atomic(path, lambda file: file.write(text.encode()))


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """The epoch records of a ``metrics.jsonl`` file (``null`` values read back as NaN)."""
    records = []
    for line in Path(path).read_text().splitlines():
        if line.strip():
            records.append({k: math.nan if v is None else v for k, v in json.loads(line).items()})
    return records
