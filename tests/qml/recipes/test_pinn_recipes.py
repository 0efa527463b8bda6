"""PINN recipes (qml.recipes.pinn): quick runs write numbers, facts and plots; the quantum one needs the engine."""

from __future__ import annotations

import json
import math

import pytest
import torch

from circuits import Backend, TorchBackend
from qml.recipes import RecipeOptions, get_recipe, run_recipe
from qml.recipes.pinn import relative_l2, wavefunction_error

WELLS = ["pinn-infinite-well", "pinn-finite-well", "pinn-barrier", "pinn-infinite-well-quantum"]


@pytest.mark.parametrize("name", WELLS)
def test_a_well_recipe_reports_its_energy_and_references(name, tmp_path):
    summary = run_recipe(name, backend=TorchBackend(), quick=True, out_dir=tmp_path, progress=False)
    written = json.loads((tmp_path / "summary.json").read_text())
    test = written["test"]
    for key in (
        "energy",
        "energy_exact",
        "energy_fd",
        "energy_rel_error",
        "psi_error",
        "energy_rayleigh",
        "test_energy",
    ):
        assert math.isfinite(test[key]), key
    assert test["energy"] == pytest.approx(test["test_energy"])
    assert test["energy_exact"] == pytest.approx(test["energy_fd"], rel=1e-4)  # the quick FD grid is coarse
    assert written["potential"]["domain"] == [0.0, 1.0]
    assert written["reference"]["exact_energy"] == pytest.approx(test["energy_exact"])
    assert (tmp_path / "wavefunction.png").exists() and (tmp_path / "history.png").exists()
    assert summary.facts["pinn"]["dtype"] == "float64"


def test_the_well_recipes_carry_their_potentials():
    finite = get_recipe("pinn-finite-well").build(RecipeOptions(backend=TorchBackend(), quick=True))
    facts = finite.report(finite.model, None).facts
    assert facts["potential"]["depth"] == 100.0 and facts["potential"]["width"] == 0.5
    assert facts["reference"]["exact_energy"] == pytest.approx(19.954818911, rel=1e-9)
    assert facts["reference"]["exact_energy_without_walls"] == pytest.approx(19.731737257, rel=1e-9)
    barrier = get_recipe("pinn-barrier").build(RecipeOptions(backend=TorchBackend(), quick=True))
    potential = barrier.report(barrier.model, None).facts["potential"]
    assert potential["height"] == 50.0 and potential["width"] == 0.2 and potential["kind"] == "barrier"


@pytest.mark.parametrize("name", ["pinn-allen-cahn", "pinn-allen-cahn-causal"])
def test_the_allen_cahn_recipes_report_the_relative_error(name, tmp_path):
    summary = run_recipe(name, backend=TorchBackend(), quick=True, out_dir=tmp_path, progress=False)
    assert 0 < summary.test["test_rel_l2"] < 2 and math.isfinite(summary.test["rel_l2_final_time"])
    assert (tmp_path / "solution.png").exists()
    causal = name.endswith("causal")
    assert (tmp_path / "causal_weights.png").exists() == causal
    assert ("min_causal_weight" in summary.test) == causal
    written = json.loads((tmp_path / "summary.json").read_text())
    assert written["equation"]["diffusion"] == 1e-4 and (written["causal"] is not None) == causal


def test_the_quantum_recipe_needs_the_torch_engine():
    class NotTheEngine(Backend):
        name = "other"

        def _run(self, circuit, values, batch_size, measurement, generator):
            raise AssertionError("never run")

    with pytest.raises(ValueError, match=r"differentiates the circuit twice .* Run it with --backend torch"):
        get_recipe("pinn-infinite-well-quantum").build(RecipeOptions(backend=NotTheEngine(), quick=True))


def test_the_error_measures():
    reference = torch.tensor([1.0, 2.0, 2.0])
    assert relative_l2(reference * 1.1, reference) == pytest.approx(0.1)
    assert wavefunction_error(-reference, reference) == 0.0
    assert wavefunction_error(reference.reshape(3, 1) * 0.9, reference) == pytest.approx(0.1)


@pytest.mark.slow
@pytest.mark.parametrize(("name", "tolerance"), [("pinn-infinite-well", 1e-3), ("pinn-finite-well", 1e-2)])
def test_the_bar_the_trained_energy_is_within_tolerance_of_the_exact_one(name, tolerance):
    summary = run_recipe(name, backend=TorchBackend(), seed=0, out_dir=None, progress=False)
    assert summary.test["energy_rel_error"] < tolerance
