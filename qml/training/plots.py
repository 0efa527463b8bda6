"""Training plots: loss curves, predictions against targets, confusion matrices, written as PNG files.

Every function here draws on a fresh :class:`matplotlib.figure.Figure` attached to the
headless Agg canvas (the object-oriented API): no ``pyplot`` state is touched, no global
backend is selected, so the functions are safe in threads, on machines without a display,
and inside a user's interactive session. Matplotlib is imported only when a plot is drawn,
so ``import qml`` stays light. Models never plot; scripts and the training loop call these.

Each ``plot_*`` function writes one PNG to ``path`` (its parent folders are created),
closes the figure and returns the path. The image is exactly ``figsize * dpi`` pixels.

Example:
    >>> from qml.training.plots import plot_history
    >>> history = [{"epoch": 1, "train_loss": 0.9, "val_loss": 1.0}, {"epoch": 2, "train_loss": 0.5, "val_loss": 0.7}]
    >>> plot_history(history, "runs/demo/history.png")  # doctest: +SKIP
    PosixPath('runs/demo/history.png')
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["confusion_matrix", "plot_confusion_matrix", "plot_history", "plot_predictions"]

ArrayLike = torch.Tensor | np.ndarray | Sequence[float]
"""What the plotting functions accept as data: a torch tensor (any device), a numpy array or a list."""

#: Keys of a history entry that are bookkeeping, not metrics: never given a panel by default.
_NOT_METRICS = frozenset({"epoch", "time_s", "lr"})
#: Prefixes that name the split a metric was measured on; ``train_acc`` and ``val_acc`` share a panel.
_SPLIT_PREFIXES = ("train_", "val_", "test_")
#: Above this many classes the confusion-matrix cells are not annotated (the numbers would not fit).
_MAX_ANNOTATED_CLASSES = 30


# --------------------------------------------------------------------------------------------------
# history


def plot_history(
    history: Sequence[Mapping[str, Any]],
    path: str | Path,
    *,
    metrics: Sequence[str] | None = None,
    title: str | None = None,
    log_scale: bool | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Path:
    """Plot per-epoch training curves: one panel for the losses, one per other metric.

    ``history`` is the list of per-epoch records as written to ``metrics.jsonl``, e.g.
    ``{"epoch": 1, "train_loss": 0.9, "val_loss": 1.0, "val_accuracy": 0.5, "lr": 0.01, "time_s": 3.2}``.
    Every key ending in ``"loss"`` goes on the first panel (train and validation on one axis).
    Each other metric gets a panel; ``train_X``, ``val_X`` and ``test_X`` share the panel ``X``.
    A key missing from some records (validation every few epochs) or a NaN/inf value leaves
    a gap in its curve. The x axis is the ``"epoch"`` value of each record (the record's
    1-based position where a record has none), with integer ticks.

    Args:
        history: per-epoch records, each a mapping from metric name to number.
        path: where to write the PNG (``.png`` suffix); parent folders are created.
        metrics: the non-loss metrics to plot, in order. ``None`` (default): every numeric key
            except ``epoch``, ``time_s``, ``lr`` and the losses. Loss keys listed here are
            ignored (the loss panel always shows every loss); ``"lr"`` may be asked for.
        title: a title above the panels.
        log_scale: log y axis for the loss panel. ``None`` (default): log when every finite
            loss value is positive and they span more than one decade.
        figsize: figure size in inches, ``(width, height)``. ``None``: 5.5 x 4 inches per panel,
            at most two panels per row.
        dpi: pixels per inch of the PNG.

    Returns:
        The path of the PNG written.

    Raises:
        TypeError: ``history`` is not a sequence of mappings, or ``metrics`` holds a non-string.
        ValueError: ``history`` is empty, a requested metric is in no record, there is nothing
            numeric to plot, or ``path`` does not end in ``.png``.
    """
    records = _check_history(history)
    path = _check_png_path(path)
    _check_dpi(dpi)
    keys = _numeric_keys(records)
    loss_keys = [key for key in keys if key.endswith("loss")]
    if metrics is None:
        chosen = [key for key in keys if key not in _NOT_METRICS and key not in loss_keys]
    else:
        if isinstance(metrics, str):
            metrics = [metrics]
        chosen = []
        for name in metrics:
            if not isinstance(name, str):
                raise TypeError(f"metrics must be a sequence of metric names (str), got an item {name!r}.")
            if name not in keys:
                raise ValueError(
                    f"metric {name!r} is in no history record; the numeric keys are {keys}. "
                    "Pass metrics= a subset of those, or None for all of them."
                )
            if name not in loss_keys and name not in chosen:
                chosen.append(name)
    panels: list[tuple[str, list[str]]] = []
    if loss_keys:
        panels.append(("loss", loss_keys))
    groups: dict[str, list[str]] = {}
    for key in chosen:
        groups.setdefault(_metric_base(key), []).append(key)
    panels.extend(groups.items())
    if not panels:
        raise ValueError(
            f"nothing to plot: the history records have no loss and no metric (numeric keys: {keys}). "
            "Each record needs at least one numeric value such as 'train_loss'."
        )

    x = _epochs(records)
    series = {key: _column(records, key) for key in {k for _, group in panels for k in group}}
    ncols = min(len(panels), 2)
    nrows = math.ceil(len(panels) / ncols)
    fig = _new_figure(figsize or (5.5 * ncols, 4.0 * nrows))
    try:
        from matplotlib.ticker import MaxNLocator

        for index, (name, group) in enumerate(panels):
            ax = fig.add_subplot(nrows, ncols, index + 1)
            for key in group:
                ax.plot(x, series[key], marker="o" if len(x) <= 30 else None, markersize=3, label=key)
            ax.set_title(name)
            ax.set_xlabel("epoch")
            ax.set_ylabel(name)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            ax.grid(True, alpha=0.3)
            if len(group) > 1 or group[0] != name:
                ax.legend()
            if name == "loss":
                use_log = _auto_log_scale([series[key] for key in group]) if log_scale is None else log_scale
                if use_log:
                    ax.set_yscale("log")
        if title is not None:
            fig.suptitle(title)
        return _save(fig, path, dpi)
    finally:
        fig.clear()


def _check_history(history: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The records of ``history`` as a list, after checking their types."""
    if isinstance(history, (str, bytes, Mapping)) or not isinstance(history, Iterable):
        raise TypeError(
            f"history must be a sequence of per-epoch dicts (as in metrics.jsonl), got {type(history).__name__}. "
            "Read a metrics.jsonl file with qml.training.read_metrics(path)."
        )
    records = list(history)
    if not records:
        raise ValueError("history is empty: expected at least one per-epoch record such as {'epoch': 1, 'loss': 0.5}.")
    for index, record in enumerate(records):
        if not isinstance(record, Mapping):
            raise TypeError(f"history[{index}] must be a dict of metric values, got {type(record).__name__}.")
    return records


def _is_number(value: object) -> bool:
    """Whether ``value`` is a real number (not a bool) or a one-element real tensor/array."""
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Real):
        return True
    if isinstance(value, torch.Tensor):
        return value.numel() == 1 and not value.is_complex() and value.dtype != torch.bool
    if isinstance(value, np.ndarray):
        return value.size == 1 and value.dtype.kind in "iuf"
    return False


def _numeric_keys(records: list[Mapping[str, Any]]) -> list[str]:
    """Keys holding a number in at least one record, in order of first appearance."""
    keys: dict[str, None] = {}
    for record in records:
        for key, value in record.items():
            if isinstance(key, str) and _is_number(value):
                keys.setdefault(key)
    return list(keys)


def _metric_base(key: str) -> str:
    """The metric a key measures, without its split prefix: ``val_accuracy`` -> ``accuracy``."""
    for prefix in _SPLIT_PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix) :]
    return key


def _epochs(records: list[Mapping[str, Any]]) -> np.ndarray:
    """The x value of every record: its ``epoch``, or its 1-based position where it has none."""
    epochs = _column(records, "epoch")
    missing = np.isnan(epochs)
    epochs[missing] = np.flatnonzero(missing) + 1.0
    return epochs


def _column(records: list[Mapping[str, Any]], key: str) -> np.ndarray:
    """The values of ``key`` across the records; NaN where missing, not numeric or not finite."""
    values = np.full(len(records), np.nan, dtype=np.float64)
    for i, record in enumerate(records):
        value = record.get(key)
        if _is_number(value):
            values[i] = float(value.item() if isinstance(value, (torch.Tensor, np.ndarray)) else value)
    values[~np.isfinite(values)] = np.nan
    return values


def _auto_log_scale(columns: list[np.ndarray]) -> bool:
    """Log scale when every finite value is positive and they span more than one decade."""
    values = np.concatenate(columns)
    values = values[np.isfinite(values)]
    if values.size == 0 or values.min() <= 0.0:
        return False
    return bool(values.max() / values.min() > 10.0)


# --------------------------------------------------------------------------------------------------
# predictions


def plot_predictions(
    targets: ArrayLike,
    predictions: ArrayLike,
    path: str | Path,
    *,
    split_index: int | None = None,
    title: str | None = None,
    x: ArrayLike | None = None,
    figsize: tuple[float, float] = (12.0, 4.0),
    dpi: int = 100,
) -> Path:
    """Plot a regression or sequence model's predictions against the targets.

    The wide left panel draws targets and predictions as lines against the step index (or
    ``x``, e.g. times or dates). For a time series with a chronological split, ``split_index``
    is the first test step: a dashed vertical line is drawn between the last training step
    and the first test step, and the test part is shaded. The small right panel scatters
    prediction against target with the line ``y = x`` (test points in a second colour when
    ``split_index`` is given), titled with the root-mean-square error (of the test part when
    there is one).

    Args:
        targets: the true values.
        predictions: the model's values, same length as ``targets``.
        path: where to write the PNG (``.png`` suffix); parent folders are created.
        split_index: index of the first test step, ``0 <= split_index <= N``; ``None``: no split.
        title: a title above the panels.
        x: the abscissa of each step (numbers or numpy ``datetime64``); ``None``: ``0 .. N-1``.
        figsize: figure size in inches, ``(width, height)``.
        dpi: pixels per inch of the PNG.

    Returns:
        The path of the PNG written.

    Shape:
        - targets: ``(N,)`` or ``(N, 1)``.
        - predictions: ``(N,)`` or ``(N, 1)``.
        - x: ``(N,)``.

    Raises:
        TypeError: an input is not a tensor, array or list of real numbers, or ``split_index``
            is not an int.
        ValueError: an input has another shape, the lengths differ, ``N`` is 0, ``split_index``
            is out of range, or ``path`` does not end in ``.png``.
    """
    y_true = _as_series(targets, "targets")
    y_pred = _as_series(predictions, "predictions")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(
            f"targets and predictions must have the same length, got targets of shape {_shape_of(targets)} "
            f"and predictions of shape {_shape_of(predictions)}. Pass the predictions for exactly the target steps."
        )
    n = y_true.shape[0]
    if n == 0:
        raise ValueError("targets and predictions are empty: expected at least one step to plot.")
    steps = np.arange(n, dtype=np.float64) if x is None else _as_abscissa(x, n)
    if split_index is not None:
        if isinstance(split_index, bool) or not isinstance(split_index, numbers.Integral):
            raise TypeError(f"split_index must be an int (the first test step), got {type(split_index).__name__}.")
        split_index = int(split_index)
        if not 0 <= split_index <= n:
            raise ValueError(
                f"split_index must lie in [0, {n}] for {n} steps (the index of the first test step), got {split_index}."
            )
    path = _check_png_path(path)
    _check_dpi(dpi)

    fig = _new_figure(figsize)
    try:
        grid = fig.add_gridspec(1, 2, width_ratios=(3, 1))
        ax = fig.add_subplot(grid[0, 0])
        ax.plot(steps, y_true, label="target", color="C0", linewidth=1.5)
        ax.plot(steps, y_pred, label="prediction", color="C1", linewidth=1.5, linestyle="--")
        if split_index is not None and 0 < split_index < n:
            boundary = steps[split_index - 1] + (steps[split_index] - steps[split_index - 1]) / 2
            ax.axvline(boundary, color="0.3", linestyle=":", linewidth=1.2, label="train | test")
            ax.axvspan(boundary, steps[-1], color="0.5", alpha=0.08)
        ax.set_xlabel("step" if x is None else "x")
        ax.set_ylabel("value")
        ax.grid(True, alpha=0.3)
        ax.legend()
        ax.set_title("targets and predictions")

        scatter = fig.add_subplot(grid[0, 1])
        _scatter_panel(scatter, y_true, y_pred, split_index)
        if title is not None:
            fig.suptitle(title)
        return _save(fig, path, dpi)
    finally:
        fig.clear()


def _scatter_panel(ax: Axes, y_true: np.ndarray, y_pred: np.ndarray, split_index: int | None) -> None:
    """Predicted against target, the line ``y = x``, and the RMSE (of the test part if split) as title."""
    n = y_true.shape[0]
    if split_index is None:
        scored, label = slice(None), "RMSE"
        ax.scatter(y_true, y_pred, s=8, color="C1", alpha=0.6)
    else:
        if split_index > 0:
            ax.scatter(y_true[:split_index], y_pred[:split_index], s=8, color="C0", alpha=0.6, label="train")
        if split_index < n:
            ax.scatter(y_true[split_index:], y_pred[split_index:], s=8, color="C1", alpha=0.6, label="test")
        # score the test part; with no test part (split_index == N), the training part
        scored, label = (slice(split_index, None), "RMSE (test)") if split_index < n else (slice(None), "RMSE (train)")
    finite = np.concatenate([y_true, y_pred])
    finite = finite[np.isfinite(finite)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    pad = 0.05 * (high - low) if high > low else 0.5
    ax.plot([low - pad, high + pad], [low - pad, high + pad], color="0.3", linewidth=1.0, label="y = x")
    ax.set_xlim(low - pad, high + pad)
    ax.set_ylim(low - pad, high + pad)
    ax.set_aspect("equal", adjustable="box")
    ax.set_xlabel("target")
    ax.set_ylabel("prediction")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    errors = (y_pred[scored] - y_true[scored]) ** 2
    errors = errors[np.isfinite(errors)]
    rmse = float(np.sqrt(errors.mean())) if errors.size else float("nan")
    ax.set_title(f"{label} = {rmse:.4g}")


def _shape_of(data: object) -> tuple[int, ...]:
    """The shape of a tensor, array or nested list, for error messages."""
    if isinstance(data, torch.Tensor):
        return tuple(data.shape)
    try:
        return tuple(np.shape(data))
    except (TypeError, ValueError):
        return ()


def _to_numpy(data: object, name: str) -> np.ndarray:
    """A tensor (any device, with or without grad), array or list as a numpy array."""
    if isinstance(data, torch.Tensor):
        return data.detach().cpu().numpy()
    if isinstance(data, (str, bytes, Mapping)):
        raise TypeError(f"{name} must be a torch.Tensor, numpy array or list of numbers, got {type(data).__name__}.")
    try:
        return np.asarray(data)
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{name} must be a torch.Tensor, numpy array or list of numbers, got {type(data).__name__}."
        ) from error


def _as_series(data: ArrayLike, name: str) -> np.ndarray:
    """Real values of shape ``(N,)`` or ``(N, 1)`` as a float64 vector."""
    array = _to_numpy(data, name)
    if array.dtype.kind not in "biuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {array.dtype}.")
    if array.ndim == 2 and array.shape[1] == 1:
        array = array[:, 0]
    if array.ndim != 1:
        raise ValueError(
            f"{name} must have shape (N,) or (N, 1), got {_shape_of(data)}. "
            "Plot one output at a time, e.g. predictions[:, k]."
        )
    return array.astype(np.float64)


def _as_abscissa(x: ArrayLike, n: int) -> np.ndarray:
    """``x`` as a length-``n`` vector of floats or datetime64 values."""
    array = _to_numpy(x, "x")
    if array.dtype.kind not in "biufM":
        raise TypeError(f"x must hold real numbers or numpy datetime64 values, got dtype {array.dtype}.")
    if array.ndim != 1 or array.shape[0] != n:
        raise ValueError(f"x must have shape ({n},), one value per step, got {_shape_of(x)}.")
    return array if array.dtype.kind == "M" else array.astype(np.float64)


# --------------------------------------------------------------------------------------------------
# confusion matrix


def confusion_matrix(labels: ArrayLike, predictions: ArrayLike, num_classes: int) -> torch.Tensor:
    """Count, for each true class, how often each class was predicted.

    ``matrix[i, j]`` is the number of samples of true class ``i`` predicted as class ``j``
    (rows true, columns predicted, as :func:`sklearn.metrics.confusion_matrix`). The counts
    are exact (one :func:`torch.bincount`). Class indices may be integers, booleans or
    integral floats; for a classifier's logits pass ``logits.argmax(dim=-1)``.

    Args:
        labels: true class of each sample, in ``[0, num_classes)``.
        predictions: predicted class of each sample, in ``[0, num_classes)``.
        num_classes: number of classes ``C``.

    Returns:
        The ``int64`` confusion matrix, on the CPU. All zeros when ``N`` is 0.

    Shape:
        - labels: ``(N,)`` or ``(N, 1)``.
        - predictions: ``(N,)`` or ``(N, 1)``.
        - Output: ``(C, C)``.

    Raises:
        TypeError: ``num_classes`` is not an int, or an input does not hold real numbers.
        ValueError: ``num_classes < 1``, an input has another shape, the lengths differ, or a
            value is not an integer in ``[0, num_classes)``.

    Example:
        >>> confusion_matrix([0, 1, 1, 2], [0, 2, 1, 2], num_classes=3)
        tensor([[1, 0, 0],
                [0, 1, 1],
                [0, 0, 1]])
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, numbers.Integral):
        raise TypeError(f"num_classes must be an int, got {type(num_classes).__name__} ({num_classes!r}).")
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError(f"num_classes must be at least 1, got {num_classes}.")
    true = _as_classes(labels, "labels")
    pred = _as_classes(predictions, "predictions")
    if true.shape[0] != pred.shape[0]:
        raise ValueError(
            f"labels and predictions must have the same length, got labels of shape {_shape_of(labels)} "
            f"and predictions of shape {_shape_of(predictions)}."
        )
    _check_class_range(true, "labels", num_classes)
    _check_class_range(pred, "predictions", num_classes)
    counts = torch.bincount(true * num_classes + pred, minlength=num_classes * num_classes)
    return counts.reshape(num_classes, num_classes)


def _as_classes(data: ArrayLike, name: str) -> torch.Tensor:
    """Class indices of shape ``(N,)`` or ``(N, 1)`` as an int64 CPU vector."""
    if isinstance(data, torch.Tensor):
        tensor = data.detach().cpu()
    else:
        array = _to_numpy(data, name)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name} must hold class indices (integers), got dtype {array.dtype}.")
        tensor = torch.from_numpy(np.ascontiguousarray(array))
    if tensor.is_complex():
        raise TypeError(f"{name} must hold class indices (integers), got dtype {tensor.dtype}.")
    if tensor.ndim == 2 and tensor.shape[1] == 1:
        tensor = tensor[:, 0]
    if tensor.ndim != 1:
        hint = " For logits or probabilities pass .argmax(dim=-1)." if tensor.ndim == 2 else ""
        raise ValueError(f"{name} must have shape (N,) or (N, 1) of class indices, got {_shape_of(data)}.{hint}")
    if tensor.is_floating_point():
        bad = ~torch.isfinite(tensor) | (tensor != torch.round(tensor))
        if bool(bad.any()):
            value = tensor[bad][0].item()
            raise ValueError(
                f"{name} must hold integer class indices, got the value {value!r}. "
                "Round or threshold predictions first, or pass logits.argmax(dim=-1)."
            )
    return tensor.to(torch.int64)


def _check_class_range(classes: torch.Tensor, name: str, num_classes: int) -> None:
    """Raise if a class index lies outside ``[0, num_classes)``, naming the first bad value."""
    bad = (classes < 0) | (classes >= num_classes)
    if bool(bad.any()):
        index = int(torch.nonzero(bad)[0, 0])
        raise ValueError(
            f"{name} must lie in [0, {num_classes}) for num_classes={num_classes}, got the value "
            f"{int(classes[index])} at position {index}. Pass the right num_classes or map the labels to 0..C-1."
        )


def plot_confusion_matrix(
    labels: ArrayLike,
    predictions: ArrayLike,
    path: str | Path,
    *,
    num_classes: int | None = None,
    class_names: Sequence[str] | None = None,
    normalize: bool = False,
    title: str | None = None,
    figsize: tuple[float, float] | None = None,
    dpi: int = 100,
) -> Path:
    """Draw a classifier's confusion matrix as an annotated heatmap, with the accuracy in the title.

    Rows are true classes, columns predicted classes (see :func:`confusion_matrix`). Each cell
    shows its count, or with ``normalize=True`` the fraction of its row (the recall of the true
    class on the diagonal; a class with no samples shows a row of zeros). Cells are not
    annotated above 30 classes.

    Args:
        labels: true class of each sample.
        predictions: predicted class of each sample (for logits pass ``logits.argmax(dim=-1)``).
        path: where to write the PNG (``.png`` suffix); parent folders are created.
        num_classes: number of classes ``C``. ``None``: ``len(class_names)`` if given, otherwise
            one more than the largest class index seen.
        class_names: tick labels, one per class; ``None``: ``0 .. C-1``.
        normalize: show each row divided by its total instead of counts.
        title: the first line of the title (default ``"Confusion matrix"``); the accuracy and the
            number of samples follow on a second line.
        figsize: figure size in inches; ``None``: square, growing with ``C`` (4 to 20 inches wide).
        dpi: pixels per inch of the PNG.

    Returns:
        The path of the PNG written.

    Shape:
        - labels: ``(N,)`` or ``(N, 1)``, with ``N >= 1``.
        - predictions: ``(N,)`` or ``(N, 1)``.

    Raises:
        TypeError: as :func:`confusion_matrix`, or ``class_names`` is not a sequence of strings.
        ValueError: as :func:`confusion_matrix`, ``N`` is 0, ``class_names`` has the wrong length,
            or ``path`` does not end in ``.png``.
    """
    if class_names is not None:
        if isinstance(class_names, str) or not all(isinstance(name, str) for name in class_names):
            raise TypeError(f"class_names must be a sequence of strings, one per class, got {class_names!r}.")
        class_names = list(class_names)
    if num_classes is None:
        if class_names is not None:
            num_classes = len(class_names)
        else:
            seen = torch.cat([_as_classes(labels, "labels"), _as_classes(predictions, "predictions")])
            if seen.numel() == 0:
                raise ValueError("labels and predictions are empty: expected at least one sample to plot.")
            num_classes = max(int(seen.max()) + 1, 1)
    matrix = confusion_matrix(labels, predictions, num_classes)
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(
            f"class_names has {len(class_names)} names but there are num_classes={num_classes} classes; "
            "give exactly one name per class."
        )
    total = int(matrix.sum())
    if total == 0:
        raise ValueError("labels and predictions are empty: expected at least one sample to plot.")
    path = _check_png_path(path)
    _check_dpi(dpi)
    accuracy = int(matrix.diagonal().sum()) / total
    counts = matrix.numpy()
    if normalize:
        rows = counts.sum(axis=1, keepdims=True)
        values = np.divide(counts, rows, out=np.zeros(counts.shape, dtype=np.float64), where=rows > 0)
    else:
        values = counts.astype(np.float64)
    names = class_names if class_names is not None else [str(i) for i in range(num_classes)]
    side = min(max(4.0, 0.6 * num_classes + 2.0), 20.0)

    fig = _new_figure(figsize or (side + 1.0, side))
    try:
        ax = fig.add_subplot(1, 1, 1)
        image = ax.imshow(values, cmap="Blues", vmin=0.0, vmax=1.0 if normalize else max(float(values.max()), 1.0))
        fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04, label="fraction of true class" if normalize else "count")
        ticks = np.arange(num_classes)
        if max(len(name) for name in names) > 3:
            ax.set_xticks(ticks, labels=names, rotation=45, ha="right", rotation_mode="anchor")
        else:
            ax.set_xticks(ticks, labels=names)
        ax.set_yticks(ticks, labels=names)
        ax.set_xlabel("predicted class")
        ax.set_ylabel("true class")
        if num_classes <= _MAX_ANNOTATED_CLASSES:
            threshold = 0.5 * float(image.norm.vmax)
            fontsize = 10 if num_classes <= 10 else 7
            for i in range(num_classes):
                for j in range(num_classes):
                    text = f"{values[i, j]:.2f}" if normalize else str(int(counts[i, j]))
                    color = "white" if values[i, j] > threshold else "black"
                    ax.text(j, i, text, ha="center", va="center", color=color, fontsize=fontsize)
        heading = title if title is not None else "Confusion matrix"
        ax.set_title(f"{heading}\naccuracy {accuracy:.2%} ({int(matrix.diagonal().sum())}/{total})")
        return _save(fig, path, dpi)
    finally:
        fig.clear()


# --------------------------------------------------------------------------------------------------
# figure plumbing


def _check_png_path(path: str | Path) -> Path:
    """``path`` as a Path, after checking it names a PNG file."""
    if not isinstance(path, (str, Path)):
        raise TypeError(f"path must be a str or pathlib.Path, got {type(path).__name__}.")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"path must name a PNG file (ending in .png), got {str(path)!r}. Add the .png suffix.")
    return path


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A figure on the headless Agg canvas, outside pyplot (no global state, thread-safe)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _check_dpi(dpi: float) -> None:
    """Raise unless ``dpi`` is a positive number."""
    if isinstance(dpi, bool) or not isinstance(dpi, numbers.Real):
        raise TypeError(f"dpi must be a number (pixels per inch), got {type(dpi).__name__}.")
    if not dpi > 0:
        raise ValueError(f"dpi must be positive (pixels per inch, e.g. 100), got {dpi!r}.")


def _save(fig: Figure, path: Path, dpi: float) -> Path:
    """Write ``fig`` as a PNG of exactly ``figsize * dpi`` pixels, creating the parent folders."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="png", dpi=dpi)
    return path
