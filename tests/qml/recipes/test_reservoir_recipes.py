"""Reservoir and fully trained recurrent recipes (qml.recipes.reservoir): names, what is frozen, quick runs."""

from __future__ import annotations

import math

import pytest
import torch

import qml.recipes.reservoir as reservoir_recipes
from circuits import TorchBackend
from qml.recipes import RecipeOptions, get_recipe, recipe_names, run_recipe
from qml.recipes.lstm import SERIES
from qml.recurrent import GRUCell, QGRUCell, QLSTMCell, QRNNCell, Reservoir, RNNCell, collect_features

RESERVOIR_NAMES = [f"{m}-reservoir-{s}" for m in reservoir_recipes.RESERVOIRS for s in SERIES]
TRAINED_NAMES = [f"{m}-{s}" for m in reservoir_recipes.TRAINED for s in SERIES]


def test_every_reservoir_and_trained_recipe_is_registered():
    for name in ["qrnn-reservoir-damped", "qlstm-reservoir-damped", "qgru-reservoir-damped", "qrnn-reservoir-bessel",
                 "qgru-reservoir-narma", "rnn-reservoir-damped", "lstm-reservoir-narma", "gru-reservoir-bessel",
                 "qrnn-damped", "qgru-damped", "qrnn-narma", "qgru-bessel", "rnn-damped", "gru-narma"]:  # fmt: skip
        assert name in RESERVOIR_NAMES + TRAINED_NAMES
    assert set(RESERVOIR_NAMES + TRAINED_NAMES) <= set(recipe_names())


@pytest.mark.parametrize(
    "name", ["qrnn-reservoir-damped", "qlstm-reservoir-bessel", "qgru-reservoir-narma", "gru-reservoir-damped"]
)
def test_reservoir_quick_variant_trains_the_read_out(name):
    summary = run_recipe(name, backend=TorchBackend(), quick=True, out_dir=None, progress=False)
    assert summary.epochs_run == 1
    assert set(summary.test) == {"test_loss", "test_mse", "test_mae"}
    assert all(math.isfinite(v) for v in summary.test.values())


@pytest.mark.parametrize("name", ["qrnn-damped", "qgru-bessel", "rnn-narma", "gru-damped"])
def test_trained_quick_variant_trains(name):
    summary = run_recipe(name, backend=TorchBackend(), quick=True, out_dir=None, progress=False)
    assert summary.epochs_run == 1 and math.isfinite(summary.test["test_mse"])


@pytest.mark.parametrize("model", list(reservoir_recipes.RESERVOIRS))
def test_the_reservoir_is_frozen_and_only_the_read_out_trains(model):
    options = RecipeOptions(backend=TorchBackend(), seed=3, quick=True)
    experiment = get_recipe(f"{model}-reservoir-damped").build(options)
    readout = experiment.model
    assert isinstance(readout, reservoir_recipes.LinearReadout)
    # the features are the reservoir's outputs at all 4 steps, rebuilt from the same seed
    generator = torch.Generator().manual_seed(3)
    reservoir = reservoir_recipes.reservoir_cell(model, quick=True, backend=TorchBackend(), generator=generator)
    assert isinstance(reservoir, Reservoir) and reservoir.features == "all"
    assert not any(p.requires_grad for p in reservoir.parameters())
    windows = SERIES["damped"][0]()
    expected = collect_features(reservoir, windows.x_train[:38])
    torch.testing.assert_close(experiment.train[0], expected)
    assert experiment.train[0].shape == (38, 4 * reservoir.cell.output_size)
    assert sum(p.numel() for p in readout.parameters() if p.requires_grad) == expected.shape[1] + 1
    torch.testing.assert_close(readout.mean, expected.mean(dim=0))  # standardised on the fitted part only
    if model.startswith("q"):  # quantum angles redrawn over the whole circle
        angles = torch.cat([p.flatten() for p in reservoir.parameters()])
        assert float(angles.abs().max()) <= math.pi and float(angles.abs().max()) > 1.0


def test_cells_and_sizes():
    backend, g = TorchBackend(), torch.Generator().manual_seed(0)
    kinds = {"qrnn": QRNNCell, "qlstm": QLSTMCell, "qgru": QGRUCell, "rnn": RNNCell, "gru": GRUCell}
    for model, kind in kinds.items():
        assert isinstance(reservoir_recipes.reservoir_cell(model, quick=False, backend=backend, generator=g).cell, kind)
    assert reservoir_recipes.reservoir_cell("rnn", quick=False, backend=backend, generator=g).cell.hidden_size == 4
    assert reservoir_recipes.trained_cell("gru", quick=False, backend=backend, generator=g).hidden_size == 36
    qrnn = reservoir_recipes.trained_cell("qrnn", quick=False, backend=backend, generator=g)
    assert (qrnn.num_qubits, qrnn.num_layers, qrnn.hidden_size) == (4, 4, 3)
    with pytest.raises(ValueError, match="unknown reservoir 'transformer'; expected one of qrnn, qlstm, qgru"):
        reservoir_recipes.reservoir_cell("transformer", quick=True, backend=backend, generator=g)
    with pytest.raises(ValueError, match="unknown trained model 'lstm'; expected one of qrnn, qgru, rnn, gru"):
        reservoir_recipes.trained_cell("lstm", quick=True, backend=backend, generator=g)
