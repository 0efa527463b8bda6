"""Tests of qml.data.base: the Split container and the window/scale/split helpers."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pytest
import torch
from sklearn.preprocessing import MinMaxScaler

from qml.data import Split, chronological_split, elman_letters, minmax_scale, window_series


def make_split(**overrides) -> Split:
    fields = {
        "name": "toy",
        "x_train": torch.zeros(3, 2),
        "y_train": torch.zeros(3),
        "x_test": torch.zeros(1, 2),
        "y_test": torch.zeros(1),
        "info": {"task": "regression"},
    }
    fields.update(overrides)
    return Split(**fields)


def test_window_series_matches_definition():
    series = np.arange(10.0) ** 2
    x, y = window_series(series, window=4)
    assert x.shape == (6, 4) and y.shape == (6,)
    for i in range(6):
        np.testing.assert_array_equal(x[i], series[i : i + 4])
        assert y[i] == series[i + 4]


def test_window_series_window_one_and_copies():
    series = np.array([1.0, 2.0, 3.0])
    x, y = window_series(series, window=1)
    np.testing.assert_array_equal(x, [[1.0], [2.0]])
    np.testing.assert_array_equal(y, [2.0, 3.0])
    x[0, 0] = 99.0  # a copy, writable, not a view of the input
    assert series[0] == 1.0


@pytest.mark.parametrize(
    ("window", "error", "match"),
    [
        (0, ValueError, r"window must be in 1 \.\. 4 for a series of 5 values, got 0"),
        (5, ValueError, r"window must be in 1 \.\. 4 for a series of 5 values, got 5"),
        (2.0, TypeError, "window must be an int, got float"),
        (True, TypeError, "window must be an int, got bool"),
    ],
)
def test_window_series_rejects_bad_windows(window, error, match):
    with pytest.raises(error, match=match):
        window_series(np.arange(5.0), window=window)


def test_window_series_rejects_2d():
    with pytest.raises(ValueError, match=r"expects a 1-D series, got shape \(2, 3\)"):
        window_series(np.zeros((2, 3)))


def test_minmax_scale_is_exact_at_the_ends_and_invertible():
    rng = np.random.default_rng(3)
    series = rng.normal(size=257) * 3.7 + 1.1
    scaled, (lo, hi) = minmax_scale(series)
    assert scaled.min() == -1.0 and scaled.max() == 1.0
    assert (lo, hi) == (series.min(), series.max())
    np.testing.assert_allclose((scaled + 1.0) / 2.0 * (hi - lo) + lo, series, rtol=0, atol=1e-13)
    sklearn_scaled = MinMaxScaler(feature_range=(-1, 1)).fit_transform(series.reshape(-1, 1)).ravel()
    np.testing.assert_allclose(scaled, sklearn_scaled, rtol=0, atol=1e-14)


def test_minmax_scale_other_range():
    scaled, _ = minmax_scale([2.0, 4.0, 3.0], low=0.0, high=10.0)
    np.testing.assert_array_equal(scaled, [0.0, 10.0, 5.0])


@pytest.mark.parametrize(
    ("series", "kwargs", "match"),
    [
        ([1.0, 1.0, 1.0], {}, r"constant series \(every value is 1\.0\)"),
        ([], {}, "empty series"),
        ([0.0, np.nan], {}, "NaN or infinite"),
        ([0.0, 1.0], {"low": 1.0, "high": 1.0}, "needs high > low, got low=1.0, high=1.0"),
    ],
)
def test_minmax_scale_errors(series, kwargs, match):
    with pytest.raises(ValueError, match=match):
        minmax_scale(series, **kwargs)


@pytest.mark.parametrize(("n", "n_train"), [(252, 168), (236, 158), (2196, 1471), (296, 198), (100, 67), (3, 2)])
def test_chronological_split_uses_int_of_067(n, n_train):
    x = torch.arange(n)
    x_train, y_train, x_test, y_test = chronological_split(x, x * 2)
    assert len(x_train) == len(y_train) == n_train
    assert len(x_test) == len(y_test) == n - n_train
    assert torch.equal(torch.cat([x_train, x_test]), x)  # time order kept, nothing shuffled
    assert torch.equal(y_test, x_test * 2)


def test_chronological_split_works_on_numpy_and_checks_inputs():
    x_train, _, x_test, _ = chronological_split(np.arange(10), np.arange(10), train_fraction=0.5)
    np.testing.assert_array_equal(x_train, np.arange(5))
    np.testing.assert_array_equal(x_test, np.arange(5, 10))
    with pytest.raises(ValueError, match="x has 3 samples but y has 2"):
        chronological_split(np.arange(3), np.arange(2))
    with pytest.raises(ValueError, match=r"train_fraction must be in \(0, 1\), got 1.0"):
        chronological_split(np.arange(3), np.arange(3), train_fraction=1.0)
    with pytest.raises(TypeError, match="train_fraction must be a float, got str"):
        chronological_split(np.arange(3), np.arange(3), train_fraction="0.5")


def test_split_is_frozen_with_read_only_info_and_a_short_repr():
    split = make_split()
    with pytest.raises(dataclasses.FrozenInstanceError):
        split.name = "other"
    with pytest.raises(TypeError):
        split.info["task"] = "classification"
    assert split.num_train == 3 and split.num_test == 1
    text = repr(split)
    assert "x_train=(3, 2) float32" in text and "info keys=['task']" in text
    assert "tensor(" not in text


def test_split_validates_its_fields():
    with pytest.raises(ValueError, match="x_test has 1 rows but y_test has 2"):
        make_split(y_test=torch.zeros(2))
    with pytest.raises(TypeError, match=r"Split\.y_train must be a torch\.Tensor, got ndarray"):
        make_split(y_train=np.zeros(3))


def test_split_and_sequence_batch_pickle():
    split = make_split(info={"task": "regression", "scale": (0.0, 2.0)})
    copy = pickle.loads(pickle.dumps(split))
    assert copy.name == "toy" and torch.equal(copy.x_train, split.x_train)
    assert copy.info == {"task": "regression", "scale": (0.0, 2.0)}
    with pytest.raises(TypeError):
        copy.info["task"] = "other"
    batch = elman_letters(2, generator=0)
    assert torch.equal(pickle.loads(pickle.dumps(batch)).symbols, batch.symbols)
