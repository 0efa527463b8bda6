"""The HNN recipes: quick runs write the energy metric and the physical facts into summary.json."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

from circuits import TorchBackend
from qml.physics import HNN
from qml.recipes import get_recipe, run_recipe
from qml.recipes import hnn as hnn_recipes

NAMES = [
    "hnn-spring", "baseline-spring", "hnn-pendulum", "baseline-pendulum",
    "hnn-two-body", "baseline-two-body", "hnn-spring-qkan",
]  # fmt: skip


def test_a_quick_hnn_run_writes_energy_mse_facts_and_plots(tmp_path):
    summary = run_recipe("hnn-spring", backend=TorchBackend(), quick=True, epochs=3, out_dir=tmp_path, progress=False)
    written = json.loads((tmp_path / "summary.json").read_text())
    test = written["test"]
    assert set(test) == {
        "test_loss", "train_loss", "energy_mse", "state_mse", "energy_mse_leapfrog", "energy_mse_test_starts"
    }  # fmt: skip
    assert all(math.isfinite(v) and v >= 0 for v in test.values())
    assert test == pytest.approx(summary.test)
    assert written["system"]["hamiltonian"] == "H = q^2 + p^2" and written["system"]["noise_std"] == 0.1
    assert written["system"]["time_span"] == [0.0, 3.0]
    assert written["rollout"]["rk45"] == {"method": "RK45 (scipy solve_ivp)", "rtol": 1e-9, "atol": 1e-9}
    assert written["rollout"]["time_span"] == [0.0, 2.0] and "failures" not in written["rollout"]
    assert written["rollout"]["initial_states"].startswith("5 states drawn as the reference notebooks do")
    for name in ("rollout.png", "rollout_leapfrog.png", "history.png"):
        assert (tmp_path / name).stat().st_size > 10_000
    assert not (tmp_path / "predictions.png").exists()


def test_the_two_body_baseline_scores_energy_in_eight_dimensions():
    summary = run_recipe("baseline-two-body", backend=TorchBackend(), quick=True, epochs=1, progress=False)
    assert math.isfinite(summary.test["energy_mse"]) and summary.test["energy_mse"] > 0
    assert summary.facts["system"]["hamiltonian"] == "H = (|p1|^2 + |p2|^2) / 2 - 1 / |q1 - q2|"
    assert summary.facts["system"]["orbit_noise"] == 0.05
    assert "energy_mse_test_starts" not in summary.test  # the energy metric already starts from test orbits
    assert summary.facts["rollout"]["initial_states"] == "the first state of the first 2 test orbits"


def test_the_notebook_starts_are_the_reference_s_distribution():
    starts = hnn_recipes.notebook_starts(2000, seed=0)
    magnitude = np.abs(starts)
    assert starts.shape == (2000, 2) and magnitude.min() >= 0.2 and magnitude.max() < 1.0
    assert abs((starts > 0).mean() - 0.5) < 0.03 and abs(magnitude.mean() - 0.6) < 0.02  # symmetric, |x| ~ U[0.2, 1]
    np.testing.assert_array_equal(hnn_recipes.notebook_starts(15, seed=3), hnn_recipes.notebook_starts(15, seed=3))


def test_the_recipes_use_the_paper_hyperparameters():
    spring = get_recipe("hnn-spring").build(_options())
    assert isinstance(spring.model, HNN) and spring.model.dim == 2
    linears = [m for m in spring.model.hamiltonian if isinstance(m, nn.Linear)]
    assert [tuple(m.weight.shape) for m in linears] == [(200, 2), (200, 200), (1, 200)]
    assert spring.optimizer.defaults["lr"] == 1e-3 and spring.optimizer.defaults["weight_decay"] == 1e-4
    assert spring.train[0].shape == (750, 2) and get_recipe("hnn-spring").batch_size == 750
    assert get_recipe("hnn-spring").epochs == 2000  # full batch: 2000 steps
    baseline = get_recipe("baseline-pendulum").build(_options())
    assert [m.out_features for m in baseline.model if isinstance(m, nn.Linear)] == [200, 200, 2]
    two_body = get_recipe("hnn-two-body")
    assert two_body.batch_size == 200 and two_body.epochs * 40_000 // 200 == 10_000  # 10 000 steps of 200
    assert two_body.build(_options()).optimizer.defaults["weight_decay"] == 0.0


def test_a_rollout_that_diverges_is_reported_as_nan_not_raised():
    class Explodes(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return 1e3 * x**3

    task = hnn_recipes.TASKS["spring"]
    start = np.array([[1.0, 1.0]])
    jobs = {"rk45": (start, "rk45"), "leapfrog": (start, "leapfrog")}
    runs, failures = hnn_recipes._rollouts(task, Explodes(), jobs, np.linspace(0, 10, 11), 2)
    assert runs == {} and set(failures) == {"rk45", "leapfrog"}
    assert "stopped at t" in failures["rk45"] and "Störmer-Verlet" in failures["leapfrog"]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_every_quick_recipe_runs(name, tmp_path):
    summary = run_recipe(name, backend=TorchBackend(), quick=True, out_dir=tmp_path, progress=False)
    assert math.isfinite(summary.test["energy_mse"]) and (tmp_path / "rollout.png").exists()


@pytest.mark.slow
def test_the_hnn_conserves_energy_far_better_than_the_baseline_after_short_training():
    scores = {
        name: run_recipe(name, backend=TorchBackend(), epochs=400, progress=False).test["energy_mse"]
        for name in ("hnn-spring", "baseline-spring")
    }
    assert scores["hnn-spring"] * 20 < scores["baseline-spring"], scores


def _options():
    from qml.recipes import RecipeOptions

    return RecipeOptions(backend=TorchBackend(), seed=0)
