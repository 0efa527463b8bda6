"""The one evaluation loop (qml.training.evaluate): numbers equal a direct computation, batching does not matter."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from qml.training import accuracy, evaluate, predict


def _classifier() -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 2))
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=generator, dtype=p.dtype))
    return model


def _data(n: int = 37) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, 3, generator=torch.Generator().manual_seed(1))
    return x, (x[:, 0] > 0).long()


@pytest.mark.parametrize("batch_size", [1, 5, 37, 1024])
def test_scores_equal_the_direct_computation_at_any_batch_size(batch_size):
    model, (x, y) = _classifier(), _data()
    model.eval()
    with torch.no_grad():
        direct = model(x)
    model.train()
    loss = nn.CrossEntropyLoss()
    scores, outputs = evaluate(model, loss, (x, y), {"accuracy": accuracy}, prefix="test_", batch_size=batch_size)
    assert set(scores) == {"test_loss", "test_accuracy"}
    torch.testing.assert_close(outputs, direct, rtol=1e-6, atol=1e-6)  # dropout off: evaluation mode
    assert scores["test_loss"] == pytest.approx(float(loss(direct, y)), rel=1e-6)
    assert scores["test_accuracy"] == pytest.approx(accuracy(direct, y))
    assert model.training  # the mode is restored


def test_predict_runs_in_evaluation_mode_and_restores_it():
    model, (x, _) = _classifier(), _data()
    model.eval()
    with torch.no_grad():
        direct = model(x)
    model.train()
    torch.testing.assert_close(predict(model, x, batch_size=4), direct, rtol=1e-6, atol=1e-6)
    assert model.training
    model.eval()
    predict(model, x)
    assert not model.training


def test_empty_data_is_refused():
    model = _classifier()
    with pytest.raises(ValueError, match="cannot evaluate on an empty dataset"):
        evaluate(model, nn.CrossEntropyLoss(), (torch.zeros(0, 3), torch.zeros(0)), {}, prefix="val_")
