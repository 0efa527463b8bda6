"""Training toolkit: a fit loop with progress, checkpoints and resume, metrics, plots, data-parallel runs.

Works with any ``torch.nn.Module``, quantum or not. See :func:`qml.training.fit.fit` and docs/training.md.
"""

from __future__ import annotations

from qml.training.checkpoint import load_checkpoint, save_checkpoint
from qml.training.data import holdout, holdout_indices
from qml.training.distributed import DistributedContext, init_distributed, single_process
from qml.training.errors import CheckpointError, NonFiniteLossError, OutputDirectoryError, TrainingError
from qml.training.evaluate import evaluate, predict
from qml.training.fit import BEST, CHECKPOINT, METRICS, FitConfig, FitResult, fit, validation_split
from qml.training.losses import ModelLoss, model_loss
from qml.training.metrics import accuracy, mean_absolute_error, mean_squared_error, read_metrics
from qml.training.plots import confusion_matrix, plot_confusion_matrix, plot_history, plot_predictions

__all__ = [
    "BEST",
    "CHECKPOINT",
    "METRICS",
    "ModelLoss",
    "CheckpointError",
    "DistributedContext",
    "FitConfig",
    "FitResult",
    "NonFiniteLossError",
    "OutputDirectoryError",
    "TrainingError",
    "accuracy",
    "confusion_matrix",
    "evaluate",
    "fit",
    "holdout",
    "holdout_indices",
    "init_distributed",
    "load_checkpoint",
    "mean_absolute_error",
    "mean_squared_error",
    "model_loss",
    "plot_confusion_matrix",
    "plot_history",
    "plot_predictions",
    "predict",
    "read_metrics",
    "save_checkpoint",
    "single_process",
    "validation_split",
]
