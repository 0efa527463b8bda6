"""Reservoir mode: frozen cells stay frozen under training, features once, ridge and gradient-descent read-outs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from qml.recurrent import (
    DEFAULT_RIDGE_ALPHAS,
    GRUCell,
    LSTMCell,
    QGRUCell,
    QLSTMCell,
    QRNNCell,
    Reservoir,
    ReservoirRegressor,
    RidgeReadout,
    RNNCell,
    collect_features,
    count_trainable,
    train_linear_readout,
)


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


CELLS = {
    "qrnn": lambda g: QRNNCell(1, 3, num_layers=1, generator=g),
    "qgru": lambda g: QGRUCell(1, 3, num_layers=1, generator=g),
    "qlstm": lambda g: QLSTMCell(1, 2, num_layers=1, generator=g),
    "rnn": lambda g: RNNCell(1, 3, generator=g),
    "lstm": lambda g: LSTMCell(1, 3, generator=g),
    "gru": lambda g: GRUCell(1, 3, generator=g),
}


@pytest.mark.parametrize("name", list(CELLS))
def test_training_a_reservoir_regressor_changes_only_the_readout(name):
    reservoir = Reservoir(CELLS[name](seeded(1)))
    model = ReservoirRegressor(reservoir, generator=seeded(2))
    before = {k: v.clone() for k, v in reservoir.state_dict().items()}
    readout_before = [p.clone() for p in model.readout.parameters()]
    assert count_trainable(model) == reservoir.cell.output_size + 1
    model.requires_grad_(True)  # even a careless caller cannot unfreeze the dynamics: forward has no graph
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.1, weight_decay=0.1)
    x, y = torch.rand(8, 4, generator=seeded(3)), torch.rand(8, generator=seeded(4))
    for _ in range(3):
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    assert all(torch.equal(before[k], v) for k, v in reservoir.state_dict().items())
    assert all(p.grad is None for p in reservoir.parameters())
    assert not any(torch.equal(a, b) for a, b in zip(readout_before, model.readout.parameters(), strict=True))


def test_features_are_the_last_output_or_every_output():
    cell = QRNNCell(1, 3, num_layers=1, generator=seeded(5))
    x = torch.rand(6, 4, generator=seeded(6))
    state, outputs = None, []
    with torch.no_grad():
        for t in range(4):
            out, state = cell(x[:, t : t + 1], state)
            outputs.append(out)
    last, every = Reservoir(cell), Reservoir(cell, features="all")
    torch.testing.assert_close(last(x), outputs[-1], rtol=0, atol=0)
    torch.testing.assert_close(every(x), torch.cat(outputs, dim=1), rtol=0, atol=0)
    assert (last.feature_size(4), every.feature_size(4)) == (3, 12)
    assert not last(x).requires_grad


def test_collect_features_in_batches_equals_one_pass():
    reservoir = Reservoir(QGRUCell(1, 2, num_layers=1, generator=seeded(7)))
    x = torch.rand(10, 3, generator=seeded(8))
    torch.testing.assert_close(collect_features(reservoir, x, batch_size=3), reservoir(x), rtol=0, atol=1e-7)


def test_redrawn_weights_are_seeded_and_uniform():
    a = Reservoir(QRNNCell(1, 3, generator=seeded(0)), redraw_scale=math.pi, generator=seeded(9))
    b = Reservoir(QRNNCell(1, 3, generator=seeded(1)), redraw_scale=math.pi, generator=seeded(9))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    weights = torch.cat([p.flatten() for p in a.parameters()])
    assert float(weights.abs().max()) <= math.pi and float(weights.std()) > 1.0  # U(-pi, pi): std 1.81
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator"):
        Reservoir(QRNNCell(1, 3, generator=seeded()), redraw_scale=1.0)
    with pytest.raises(ValueError, match=r"redraw_scale must be a positive finite number, got -1"):
        Reservoir(QRNNCell(1, 3, generator=seeded()), redraw_scale=-1, generator=seeded())


def _ridge_reference(x: np.ndarray, y: np.ndarray, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Ridge with an unpenalised intercept, by least squares on the augmented system."""
    n, f = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    penalty = np.sqrt(alpha) * np.hstack([np.eye(f), np.zeros((f, 1))])
    solution = np.linalg.lstsq(np.vstack([design, penalty]), np.vstack([y, np.zeros((f, y.shape[1]))]), rcond=None)[0]
    return solution[:f].T, solution[f]


def test_ridge_readout_is_the_closed_form_and_picks_alpha_on_validation():
    rng = np.random.default_rng(10)
    x = rng.normal(size=(40, 6))
    true = rng.normal(size=(6, 2))
    y = x @ true + 0.3 + rng.normal(scale=0.5, size=(40, 2))
    xv = rng.normal(size=(20, 6))
    yv = xv @ true + 0.3 + rng.normal(scale=0.5, size=(20, 2))
    readout = RidgeReadout(6, 2, dtype=torch.float64)
    fit = readout.fit(torch.from_numpy(x), torch.from_numpy(y), validation=(torch.from_numpy(xv), torch.from_numpy(yv)))
    assert set(fit.validation_mse) == set(DEFAULT_RIDGE_ALPHAS)
    assert fit.alpha == min(fit.validation_mse, key=fit.validation_mse.get)
    weight, bias = _ridge_reference(x, y, fit.alpha)
    np.testing.assert_allclose(readout.weight.numpy(), weight, atol=1e-9)
    np.testing.assert_allclose(readout.bias.numpy(), bias, atol=1e-9)
    for alpha, mse in fit.validation_mse.items():
        w, b = _ridge_reference(x, y, alpha)
        assert mse == pytest.approx(float(((xv @ w.T + b - yv) ** 2).mean()), rel=1e-8)
    prediction = readout(torch.from_numpy(xv))
    assert prediction.shape == (20, 2)


def test_ridge_regularisation_wins_on_validation_when_features_are_noise():
    rng = np.random.default_rng(11)
    x, xv = rng.normal(size=(12, 10)), rng.normal(size=(200, 10))
    y, yv = rng.normal(size=12), rng.normal(size=200)  # targets unrelated to the features
    readout = RidgeReadout(10)
    fit = readout.fit(torch.from_numpy(x), torch.from_numpy(y), validation=(torch.from_numpy(xv), torch.from_numpy(yv)))
    assert fit.alpha == max(DEFAULT_RIDGE_ALPHAS)  # the most shrinkage generalises best
    assert readout(torch.from_numpy(xv).float()).shape == (200,)


def test_ridge_readout_state_dict_round_trip_and_errors():
    readout = RidgeReadout(3)
    readout.fit(torch.rand(5, 3), torch.rand(5), alphas=[1e-3])
    again = RidgeReadout(3)
    again.load_state_dict(readout.state_dict())
    x = torch.rand(4, 3)
    torch.testing.assert_close(again(x), readout(x))
    with pytest.raises(ValueError, match=r"chooses alpha on a validation split: pass validation=\(features, targets\)"):
        readout.fit(torch.rand(5, 3), torch.rand(5))
    with pytest.raises(ValueError, match=r"training features of shape \(N, 3\), got \(5, 2\)"):
        readout.fit(torch.rand(5, 2), torch.rand(5), alphas=[1.0])
    with pytest.raises(ValueError, match=r"training targets of shape \(5,\) or \(5, 1\), got \(4,\)"):
        readout.fit(torch.rand(5, 3), torch.rand(4), alphas=[1.0])
    with pytest.raises(ValueError, match=r"alphas must be one or more finite numbers >= 0"):
        readout.fit(torch.rand(5, 3), torch.rand(5), alphas=[-1.0])
    with pytest.raises(ValueError, match=r"expects features of shape \(B, 3\), got \(4, 2\)"):
        readout(torch.rand(4, 2))


def test_gradient_descent_readout_approaches_the_least_squares_fit():
    generator = seeded(12)
    x = torch.randn(64, 4, generator=generator, dtype=torch.float64)
    y = x @ torch.tensor([0.5, -1.0, 2.0, 0.1], dtype=torch.float64) + 0.7
    readout, losses = train_linear_readout(x, y, epochs=400, lr=0.05, generator=seeded(13))
    assert losses[-1] < 1e-6 < losses[0]
    torch.testing.assert_close(
        readout.weight[0], torch.tensor([0.5, -1.0, 2.0, 0.1], dtype=torch.float64), atol=1e-3, rtol=0
    )
    batched, _ = train_linear_readout(x, y, epochs=50, batch_size=16, generator=seeded(13))
    assert batched.out_features == 1


def test_reservoir_pipeline_fits_a_series_with_a_ridge_readout():
    """Features once, ridge on them, the read-out inside a ReservoirRegressor: predicts a sine's next value."""
    t = torch.linspace(0, 12 * math.pi, 300)
    series = torch.sin(t)
    windows = torch.stack([series[i : i + 4] for i in range(295)])
    targets = series[4:299]
    reservoir = Reservoir(GRUCell(1, 8, generator=seeded(14)), features="all")
    features = collect_features(reservoir, windows)
    readout = RidgeReadout(features.shape[1])
    readout.fit(features[:200], targets[:200], validation=(features[200:250], targets[200:250]))
    model = ReservoirRegressor(reservoir, readout)
    prediction = model(windows[250:])
    assert float(((prediction - targets[250:]) ** 2).mean()) < 1e-3


def test_bad_arguments_are_named():
    with pytest.raises(TypeError, match=r"Reservoir needs a qml.recurrent.RecurrentCell .* got GRUCell"):
        Reservoir(nn.GRUCell(1, 2))
    with pytest.raises(ValueError, match=r"features must be 'last' or 'all', got 'mean'"):
        Reservoir(GRUCell(1, 2, generator=seeded()), features="mean")
    with pytest.raises(ValueError, match=r"features='all' pass readout=nn.Linear"):
        ReservoirRegressor(Reservoir(GRUCell(1, 2, generator=seeded()), features="all"), generator=seeded())
    with pytest.raises(TypeError, match=r"collect_features needs a qml.recurrent.Reservoir"):
        collect_features(GRUCell(1, 2, generator=seeded()), torch.rand(2, 3))
    with pytest.raises(ValueError, match=r"Reservoir expects sequences of shape \(B, T\) or \(B, T, 1\)"):
        Reservoir(GRUCell(1, 2, generator=seeded()))(torch.rand(2, 3, 2))
