"""A recipe's own report: extra test numbers and facts in summary.json, a ModelLoss through run_recipe."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from circuits import TorchBackend
from qml.recipes import Experiment, Recipe, Report, run_recipe
from qml.recipes import registry as registry_module
from qml.recipes.runner import RunSummary
from qml.training import model_loss


@model_loss
def _slope_loss(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    x = inputs.clone().requires_grad_(True)
    (slope,) = torch.autograd.grad(model(x).sum(), x, create_graph=True)
    return (slope.squeeze(-1) - targets).pow(2).mean()


def _build(options):
    torch.manual_seed(options.seed)
    model = nn.Linear(1, 1)
    x = torch.linspace(-1, 1, 16).unsqueeze(-1)
    data = (x, torch.full((16,), 2.0))
    seen_dirs = []

    def report(trained: nn.Module, out_dir):
        seen_dirs.append(out_dir)
        if out_dir is not None:
            (out_dir / "slope.txt").write_text(f"{trained.weight.item():.6f}\n")
        return Report(test={"slope": trained.weight.item()}, facts={"target": {"slope": 2.0}})

    return Experiment(
        model, _slope_loss, torch.optim.Adam(model.parameters(), lr=0.1), data, data, data, "physics",
        report=report,
    )  # fmt: skip


def test_a_reports_numbers_and_facts_reach_summary_json(monkeypatch, tmp_path):
    monkeypatch.setattr(registry_module, "_catalogue", dict(registry_module.all_recipes()))
    registry_module.register(Recipe("slope-check", "a ModelLoss recipe with a report", _build, epochs=40, batch_size=8))
    summary = run_recipe("slope-check", backend=TorchBackend(), out_dir=tmp_path, progress=False)
    assert summary.test["slope"] == pytest.approx(2.0, abs=0.02)
    assert summary.test["test_loss"] < 1e-3
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["target"] == {"slope": 2.0}
    assert written["test"]["slope"] == pytest.approx(summary.test["slope"])
    assert float((tmp_path / "slope.txt").read_text()) == pytest.approx(summary.test["slope"], abs=1e-6)
    assert not (tmp_path / "predictions.png").exists() and (tmp_path / "history.png").exists()


def test_facts_may_not_overwrite_the_summarys_own_keys():
    summary = RunSummary("r", 1, "val_loss", 1, 0.0, {}, None, 0.0, 1, 0.0, facts={"test": 1})
    with pytest.raises(ValueError, match="facts may not reuse the summary's own keys: test"):
        summary.to_json()
