"""The recurrent recipes (qml.recipes.lstm): registered, quick variants train, the documented parameter counts."""

from __future__ import annotations

import math

import pytest
import torch

import qml.recipes.lstm as lstm_recipes
from circuits import TorchBackend
from qml.recipes import RecipeOptions, get_recipe, recipe_names, run_recipe
from qml.recurrent import HQKANLSTMCell, LSTMCell, QKANLSTMCell, QLSTMCell, SequenceRegressor, count_trainable


def _has_kan() -> bool:
    try:
        from qml.kan import HQKAN, QKANLayer  # noqa: F401
    except ImportError:
        return False
    return True


NAMES = [f"{model}-{series}" for model in lstm_recipes.MODELS for series in lstm_recipes.SERIES]


def _skip_without_kan(name: str) -> None:
    if "qkan" in name and not _has_kan():
        pytest.skip("qml.kan is not available yet")


def test_every_model_and_series_is_registered():
    for name in [
        "lstm-damped",
        "qlstm-damped",
        "qkan-lstm-damped",
        "lstm-bessel",
        "qlstm-bessel",
        "qkan-lstm-bessel",
        "hqkan-lstm-bessel",
        "lstm-narma",
    ]:
        assert name in NAMES
    assert set(NAMES) <= set(recipe_names())
    assert get_recipe("qlstm-bessel").batch_size == 16


@pytest.mark.parametrize("name", NAMES)
def test_quick_variant_builds_and_one_epoch_trains(name):
    _skip_without_kan(name)
    summary = run_recipe(name, backend=TorchBackend(), quick=True, epochs=1, out_dir=None, progress=False)
    assert summary.epochs_run == 1
    assert set(summary.test) == {"test_loss", "test_mse", "test_mae"}
    assert all(math.isfinite(v) for v in summary.test.values())


@pytest.mark.parametrize("series", list(lstm_recipes.SERIES))
def test_experiment_is_a_time_ordered_regression_over_the_whole_series(series):
    experiment = get_recipe(f"lstm-{series}").build(RecipeOptions(backend=TorchBackend(), quick=True))
    assert experiment.task == "regression"
    assert isinstance(experiment.model, SequenceRegressor)
    (x_train, y_train), (x_val, y_val) = experiment.train, experiment.validation
    assert (len(x_train), len(x_val)) == (38, 10)  # 48 quick windows, the last 20 % validate
    x_all, y_all, split = experiment.series
    assert x_all.shape == (len(y_all), 4)
    torch.testing.assert_close(x_all[:38], x_train, rtol=0, atol=0)  # training windows come first, in time order
    torch.testing.assert_close(x_all[38:48], x_val, rtol=0, atol=0)
    torch.testing.assert_close(y_all[:48], torch.cat([y_train, y_val]), rtol=0, atol=0)
    torch.testing.assert_close(x_all[split:], experiment.test[0], rtol=0, atol=0)
    assert isinstance(experiment.optimizer, torch.optim.RMSprop)
    assert experiment.optimizer.defaults["lr"] == 0.01


def test_full_models_have_the_documented_sizes_and_the_papers_parameter_ratio():
    backend = TorchBackend()
    counts = {}
    for model in lstm_recipes.MODELS:
        if "qkan" in model and not _has_kan():
            continue
        cell = lstm_recipes.build_cell(model, quick=False, backend=backend, generator=torch.Generator().manual_seed(0))
        counts[model] = count_trainable(SequenceRegressor(cell, generator=torch.Generator().manual_seed(0)))
        expected_type = {"lstm": LSTMCell, "qlstm": QLSTMCell, "qkan-lstm": QKANLSTMCell, "hqkan-lstm": HQKANLSTMCell}
        assert isinstance(cell, expected_type[model])
    assert counts["lstm"] == 4 * 36 * (1 + 36 + 2) + 36 + 1 == 5653
    assert counts["qlstm"] == 6 * (4 * 4 * 3) + 4 + 1 == 293  # Chen's demo: six VQCs, Linear(4 -> 1)
    if _has_kan():
        assert counts["qkan-lstm"] == 4 * (5 * 4) * (4 * 2 + 2 * 3 + 1) + 4 + 1 == 1205
        # per gate: Linear(5 -> 3), QKAN([3, 3]) with 15 per edge, Linear(3 -> 4)
        assert counts["hqkan-lstm"] == 4 * ((5 * 3 + 3) + 9 * 15 + (3 * 4 + 4)) + 4 + 1 == 681
        assert 1 - counts["qkan-lstm"] / counts["lstm"] == pytest.approx(0.79, abs=0.01)  # the paper's "79 % fewer"


def test_unknown_model_name():
    with pytest.raises(ValueError, match=r"unknown recurrent model 'gru'; expected one of lstm, qlstm"):
        lstm_recipes.build_cell("gru", quick=True, backend=TorchBackend(), generator=torch.Generator())
