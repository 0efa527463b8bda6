"""The noisy-classifier recipe: its native circuit, the twins' training, and a quick run with its report."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from torch import nn

from circuits import TorchBackend
from circuits.library import data_reuploading
from circuits.sim.reference import reference_unitary
from qml.models import HybridClassifier
from qml.recipes import run_recipe
from qml.recipes.noisy import NoiseTwins, TwinLoss, native_reuploading, noisy_classifier
from qml.recipes.recipe import RecipeOptions


@pytest.mark.parametrize(("qubits", "layers"), [(2, 1), (3, 2), (5, 1)])
def test_native_circuit_is_the_reuploading_circuit_up_to_a_global_phase(qubits: int, layers: int) -> None:
    native = native_reuploading(qubits, layers)
    reference = data_reuploading(qubits, layers, "x", "w", entangler="cx", ring=False)
    assert native.parameters == reference.parameters
    assert set(native.count_ops()) == {"sx", "rz", "cx"} if qubits > 1 else {"sx", "rz"}
    rng = np.random.default_rng(qubits * 10 + layers)
    for _ in range(3):
        values = {"x": rng.uniform(-np.pi, np.pi, qubits), "w": rng.uniform(-np.pi, np.pi, 3 * layers * qubits)}
        a, b = reference_unitary(native, values), reference_unitary(reference, values)
        phase = np.vdot(b.ravel(), a.ravel()) / np.vdot(b.ravel(), b.ravel())
        assert abs(abs(phase) - 1) < 1e-12
        np.testing.assert_allclose(a, phase * b, atol=1e-12, rtol=0)


def test_the_twin_loss_trains_each_twin_as_if_alone() -> None:
    """Adam's steps are per parameter: the summed loss gives each twin exactly its own training."""
    gen = torch.Generator().manual_seed(3)
    x, y = torch.randn(24, 6, generator=gen), torch.randint(0, 2, (24,), generator=gen)
    make = lambda seed: HybridClassifier(6, 2, 2, 1, TorchBackend(), torch.Generator().manual_seed(seed))  # noqa: E731
    twins = NoiseTwins(make(0), make(1))
    alone = [copy.deepcopy(twins.noisy), copy.deepcopy(twins.noiseless)]
    optimizer = torch.optim.Adam(twins.parameters(), lr=0.05)
    solo_optimizers = [torch.optim.Adam(m.parameters(), lr=0.05) for m in alone]
    loss_fn = TwinLoss()
    for start in range(0, 24, 8):
        batch = slice(start, start + 8)
        optimizer.zero_grad()
        loss_fn(twins, x[batch], y[batch]).backward()
        optimizer.step()
        for model, solo in zip(alone, solo_optimizers, strict=True):
            solo.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            solo.step()
    for trained, reference in zip((twins.noisy, twins.noiseless), alone, strict=True):
        for a, b in zip(trained.parameters(), reference.parameters(), strict=True):
            torch.testing.assert_close(a, b, atol=1e-6, rtol=0)
    torch.testing.assert_close(twins(x), twins.noisy(x))


def test_both_twins_start_from_the_same_weights_on_their_backends() -> None:
    pytest.importorskip("qiskit_ibm_runtime")
    experiment = noisy_classifier(RecipeOptions(backend=TorchBackend(), seed=4, quick=True))
    noisy, noiseless = experiment.model.noisy, experiment.model.noiseless
    for a, b in zip(noisy.parameters(), noiseless.parameters(), strict=True):
        assert torch.equal(a, b)
    assert noisy.quantum.backend.options.noise_model is not None
    assert noiseless.quantum.backend.options.noise_model is None
    assert set(noisy.quantum.circuit.count_ops()) == {"sx", "rz", "cx"}


def test_quick_run_reports_both_twins_on_the_noisy_aer_target(tmp_path) -> None:
    pytest.importorskip("qiskit_ibm_runtime")
    summary = run_recipe(
        "noisy-classifier",
        backend=TorchBackend(),
        seed=0,
        epochs=1,
        quick=True,
        progress=False,
        out_dir=tmp_path / "run",
    )
    test = summary.test
    for key in (
        "noisy_target_accuracy",
        "noisy_target_accuracy_noiseless_trained",
        "noiseless_target_accuracy",
        "noiseless_target_accuracy_noiseless_trained",
        "noisy_target_accuracy_fine_tuned",
        "noisy_target_accuracy_noiseless_fine_tuned",
        "test_accuracy",
    ):
        assert 0.0 <= test[key] <= 1.0
    # our noisy engine and Aer with the same snapshot compute the same logits (complex64 here)
    assert summary.facts["engine_vs_aer"]["max_abs_logit_difference"] < 1e-4
    assert test["test_accuracy"] == pytest.approx(test["noisy_target_accuracy"])
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert written["device_noise"]["device"] == "fake_manila"
    assert written["device_noise"]["backend"] == "FakeManilaV2"
    assert "AerBackend.from_backend(FakeManilaV2())" in written["noisy_target"]


def test_the_recipe_needs_our_engine() -> None:
    from circuits.backends.aer import AerBackend

    with pytest.raises(TypeError, match=r"noisy-classifier trains on our engine .* got AerBackend; run it with"):
        noisy_classifier(RecipeOptions(backend=AerBackend(), seed=0, quick=True))


def test_importing_the_recipe_loads_no_vendor_sdk() -> None:
    """The Qiskit parts are imported when the recipe is built (qml's vendor contract, pyproject.toml)."""
    import subprocess
    import sys

    code = (
        "import sys, qml.recipes.noisy\n"
        "print([m for m in ('qiskit', 'qiskit_aer', 'qiskit_ibm_runtime', 'pennylane') if m in sys.modules])"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
