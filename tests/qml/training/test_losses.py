"""Losses that see the model: fit and evaluate call them with (model, inputs, targets)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qml.training import FitConfig, ModelLoss, evaluate, fit, model_loss


@model_loss
def slope_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """MSE between du/dx of the model and the targets: needs the model, not only its outputs."""
    x = inputs.clone().requires_grad_(True)
    (slope,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    return (slope.squeeze(-1) - targets).pow(2).mean()


def test_fit_trains_on_a_loss_of_the_models_input_derivative() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(1, 1))
    x = torch.linspace(-1, 1, 32).unsqueeze(-1)
    targets = torch.full((32,), 3.0)  # du/dx = 3 everywhere: only the weight can match it
    config = FitConfig(epochs=60, batch_size=8, progress=False, verbose=False)
    result = fit(
        model,
        slope_loss,
        torch.optim.Adam(model.parameters(), lr=0.1),
        (x, targets),
        config=config,
        validation=(x, targets),
    )
    assert model[0].weight.item() == pytest.approx(3.0, abs=1e-2)
    assert result.history[-1]["val_loss"] < 1e-3
    assert result.history[-1]["train_loss"] < result.history[0]["train_loss"]


def test_evaluate_averages_a_model_loss_over_rows_with_gradients_on() -> None:
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(2.0)
    x = torch.linspace(0, 1, 10).unsqueeze(-1)
    targets = torch.arange(10, dtype=torch.float32)
    expected = (2.0 - targets).pow(2).mean().item()
    for batch_size in (3, 10):  # uneven batches are weighted by their rows
        scores, outputs = evaluate(model, slope_loss, (x, targets), {}, prefix="val_", batch_size=batch_size)
        assert scores["val_loss"] == pytest.approx(expected, rel=1e-6)
        assert outputs.shape == (10, 1)
    assert model.training  # the mode is restored


def test_a_subclass_is_called_with_model_inputs_and_targets() -> None:
    seen: list[tuple[type, tuple[int, ...], tuple[int, ...]]] = []

    class Recording(ModelLoss):
        def __call__(self, model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
            seen.append((type(model), tuple(inputs.shape), tuple(targets.shape)))
            return model(inputs).pow(2).mean()

    model = nn.Linear(2, 1)
    fit(
        model,
        Recording(),
        torch.optim.SGD(model.parameters(), lr=0.01),
        (torch.ones(4, 2), torch.zeros(4)),
        config=FitConfig(epochs=1, batch_size=2, progress=False, verbose=False),
    )
    assert seen == [(nn.Linear, (2, 2), (2,)), (nn.Linear, (2, 2), (2,))]


def test_model_loss_refuses_what_is_not_callable() -> None:
    with pytest.raises(TypeError, match="model_loss wraps a function"):
        model_loss(3)  # type: ignore[arg-type]
