"""The dataset container :class:`Split` and the helpers every time-series task shares.

The time-series tasks of our source papers (Chen et al.'s QLSTM / QRNN reservoir computing,
arXiv 2009.01783 and 2211.02612, and QKAN-LSTM, arXiv 2512.05049) all follow one recipe, taken
from the authors' data code (``ycchen1989``'s generators, ``MatthewPeng57/Gated-QKAN-FWP``):

1. min-max scale the whole series to ``[-1, 1]`` (:func:`minmax_scale`);
2. cut it into windows "predict the next value from the previous ``k``" (:func:`window_series`);
3. keep the first ``int(0.67 * N)`` windows for training, the rest for testing
   (:func:`chronological_split`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import torch
from numpy.typing import ArrayLike

__all__ = ["ReadOnlyDict", "Split", "chronological_split", "minmax_scale", "window_series"]

_T = TypeVar("_T", np.ndarray, torch.Tensor)


class ReadOnlyDict(Mapping[str, Any]):
    """A read-only copy of a mapping (unlike ``types.MappingProxyType`` it pickles, so datasets can go to workers)."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] = ()) -> None:
        object.__setattr__(self, "_data", dict(data))

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is read-only")

    def __getstate__(self) -> dict[str, Any]:
        return self._data

    def __setstate__(self, state: dict[str, Any]) -> None:
        object.__setattr__(self, "_data", dict(state))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


@dataclass(frozen=True)
class Split:
    """A dataset with its fixed train/test split.

    Every dataset function of :mod:`qml.data` returns one. Rows are samples: the first axis of
    every tensor is the sample axis.

    Attributes:
        name: the dataset's name, e.g. ``"bessel_j2"``.
        x_train: training features, ``float32``.
        y_train: training targets: ``float32`` for regression, ``int64`` class labels
            ``0 .. num_classes - 1`` for classification.
        x_test: test features, same trailing shape and dtype as ``x_train``.
        y_test: test targets, same trailing shape and dtype as ``y_train``.
        info: read-only metadata. Common keys: ``"task"`` (``"regression"`` or ``"classification"``),
            ``"source"`` (paper and code the dataset follows), ``"scale"`` (the ``(min, max)`` that
            :func:`minmax_scale` mapped to ``[-1, 1]``), ``"window"``, ``"train_fraction"``,
            ``"num_classes"``, ``"class_names"``. Each dataset function documents its own keys.

    Shape:
        - ``x_train``: ``(num_train, *feature_shape)``; ``y_train``: ``(num_train, *target_shape)``.
        - ``x_test``: ``(num_test, *feature_shape)``; ``y_test``: ``(num_test, *target_shape)``.

    Raises:
        TypeError: a field that should be a tensor is not one.
        ValueError: features and targets of a part have different numbers of rows.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    info: Mapping[str, Any]

    def __post_init__(self) -> None:
        for field_name in ("x_train", "y_train", "x_test", "y_test"):
            value = getattr(self, field_name)
            if not isinstance(value, torch.Tensor):
                raise TypeError(
                    f"Split.{field_name} must be a torch.Tensor, got {type(value).__name__}; "
                    "convert with torch.as_tensor(...)"
                )
        for part in ("train", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            if x.shape[0] != y.shape[0]:
                raise ValueError(
                    f"Split {self.name!r}: x_{part} has {x.shape[0]} rows but y_{part} has {y.shape[0]}; "
                    "features and targets need one row per sample"
                )
        object.__setattr__(self, "info", ReadOnlyDict(self.info))

    @property
    def num_train(self) -> int:
        """Number of training samples."""
        return int(self.x_train.shape[0])

    @property
    def num_test(self) -> int:
        """Number of test samples."""
        return int(self.x_test.shape[0])

    def __repr__(self) -> str:
        def describe(t: torch.Tensor) -> str:
            return f"{tuple(t.shape)} {str(t.dtype).removeprefix('torch.')}"

        return (
            f"Split(name={self.name!r}, x_train={describe(self.x_train)}, y_train={describe(self.y_train)}, "
            f"x_test={describe(self.x_test)}, y_test={describe(self.y_test)}, info keys={sorted(self.info)})"
        )


def window_series(series: ArrayLike, window: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into "predict the next value from the previous ``window``" samples.

    ``x[i] = series[i : i + window]`` and ``y[i] = series[i + window]`` for every ``i`` with a
    next value, so ``N - window`` samples from ``N`` values. (The papers' code loops over
    ``range(N - window - 1)`` and so drops the last possible sample; we keep it.)

    Args:
        series: a 1-D series of ``N`` values.
        window: the number of past values per sample, ``k >= 1`` (the papers use 4).

    Returns:
        ``(x, y)``, float64 numpy arrays.

    Shape:
        - Input: ``(N,)``.
        - Output: ``x`` ``(N - k, k)``, ``y`` ``(N - k,)``.

    Raises:
        TypeError: ``window`` is not an int.
        ValueError: ``series`` is not 1-D, or ``window`` is not in ``1 .. N - 1``.
    """
    values = np.asarray(series, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"window_series expects a 1-D series, got shape {values.shape}; flatten it first")
    window = _check_window(window, len(values))
    x = np.lib.stride_tricks.sliding_window_view(values, window)[:-1].copy()
    y = values[window:].copy()
    return x, y


def minmax_scale(series: ArrayLike, low: float = -1.0, high: float = 1.0) -> tuple[np.ndarray, tuple[float, float]]:
    """Min-max scale a series onto ``[low, high]`` (sklearn's ``MinMaxScaler(feature_range=(low, high))``).

    ``scaled = (series - min) / (max - min) * (high - low) + low``, computed in this order so that
    the minimum maps exactly to ``low`` and the maximum exactly to ``high``. The papers fit the
    scaler on the whole series (train and test together); so does :mod:`qml.data`.

    Args:
        series: the values, any shape; min and max are over all of them.
        low: the value the minimum maps to.
        high: the value the maximum maps to; must be greater than ``low``.

    Returns:
        ``(scaled, (min, max))``: a float64 array and the original range, so that
        ``series = (scaled - low) / (high - low) * (max - min) + min``.

    Shape:
        - Input: ``(*)``. Output: ``(*)``, same shape.

    Raises:
        ValueError: an empty or constant series, a non-finite value, or ``high <= low``.
    """
    values = np.asarray(series, dtype=np.float64)
    if values.size == 0:
        raise ValueError("minmax_scale got an empty series; give at least two distinct values")
    if not np.all(np.isfinite(values)):
        raise ValueError("minmax_scale got NaN or infinite values; clean the series first")
    if not high > low:
        raise ValueError(f"minmax_scale needs high > low, got low={low}, high={high}")
    vmin, vmax = float(values.min()), float(values.max())
    if vmax == vmin:
        raise ValueError(f"minmax_scale got a constant series (every value is {vmin}); it has no range to scale")
    scaled = (values - vmin) / (vmax - vmin) * (high - low) + low
    return scaled, (vmin, vmax)


def chronological_split(x: _T, y: _T, train_fraction: float = 0.67) -> tuple[_T, _T, _T, _T]:
    """Split samples in time order: the first ``int(train_fraction * len(x))`` train, the rest test.

    The index is ``int(train_fraction * len(x))`` exactly as the papers' code computes it
    (``int(0.67 * len(x))``), with no shuffling.

    Args:
        x: features, samples along the first axis (numpy array or torch tensor).
        y: targets, one per sample.
        train_fraction: the fraction of samples for training, in ``(0, 1)``.

    Returns:
        ``(x_train, y_train, x_test, y_test)``, slices of the inputs (views, not copies).

    Shape:
        - Input: ``x`` ``(N, *)``, ``y`` ``(N, *)``.
        - Output: ``(n, *)``, ``(n, *)``, ``(N - n, *)``, ``(N - n, *)`` with ``n = int(train_fraction * N)``.

    Raises:
        TypeError: ``train_fraction`` is not a number.
        ValueError: ``x`` and ``y`` differ in length, or ``train_fraction`` is not in ``(0, 1)``.
    """
    if len(x) != len(y):
        raise ValueError(f"chronological_split: x has {len(x)} samples but y has {len(y)}; give one target per sample")
    train_fraction = _check_fraction("train_fraction", train_fraction)
    n = int(train_fraction * len(x))
    return x[:n], y[:n], x[n:], y[n:]


def _check_window(window: int, length: int) -> int:
    if isinstance(window, bool) or not isinstance(window, int | np.integer):
        raise TypeError(f"window must be an int, got {type(window).__name__}")
    if not 1 <= window < length:
        raise ValueError(
            f"window must be in 1 .. {length - 1} for a series of {length} values, got {window}; "
            "use a shorter window or a longer series"
        )
    return int(window)


def _check_fraction(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{name} must be a float, got {type(value).__name__}")
    if not 0.0 < value < 1.0 or math.isnan(value):
        raise ValueError(f"{name} must be in (0, 1), got {value}")
    return float(value)


def _as_float32(array: ArrayLike) -> torch.Tensor:
    return torch.from_numpy(np.array(array, dtype=np.float32))  # np.array copies: the tensor owns its memory
