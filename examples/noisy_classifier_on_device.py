"""Train the demo classifier against a fake IBM device's noise, then run it on that (fake) device.

The ``noisy-classifier`` recipe (``qml train noisy-classifier``) trains two copies of the demo classifier on the
5 qubits of ``FakeManilaV2``: one on our density-matrix engine with the device's calibrated noise (gate errors,
thermal relaxation, readout errors), one noiselessly. This script builds that recipe, trains it, and scores both
models three ways on the test digits:

* on the noiseless engine;
* on the noisy target of the recipe's report: ``AerBackend.from_backend(FakeManilaV2())``, exact density matrix,
  readout errors folded into the observables;
* on the device itself through the hardware layer: ``ProviderBackend("ibm:fake_manila")``, qiskit-ibm-runtime's
  local testing mode (the circuits transpiled for the device, ``--shots`` measurements each, the device's noise
  simulated by Aer, every job in the journal). The device records its readout errors itself, so there the
  models read plain ``<Z_i>``; ``optimization_level=0`` keeps our qubit ``q`` on the device's qubit ``q``, whose
  noise the model was trained with.

Run (minutes on 2 CPU cores; ``--quick`` takes about a minute)::

    python examples/noisy_classifier_on_device.py
    python examples/noisy_classifier_on_device.py --seed 1 --shots 4000 --plot outputs/noisy_on_device.png
    python examples/noisy_classifier_on_device.py --quick
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch

from circuits import TorchBackend, Z
from hardware.backend import ProviderBackend
from hardware.journal import Journal
from qml.recipes import get_recipe
from qml.recipes.noisy import on_backend
from qml.recipes.recipe import RecipeOptions
from qml.training import FitConfig, fit
from qml.training.evaluate import predict


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the weights and the shots")
    parser.add_argument("--epochs", type=int, default=None, help="default: the recipe's (10; 4 with --quick)")
    parser.add_argument("--shots", type=int, default=2000, help="measurements per circuit on the device")
    parser.add_argument("--journal", type=Path, default=Path("outputs/noisy_classifier_jobs.sqlite"))
    parser.add_argument("--plot", type=Path, default=Path("outputs/noisy_classifier_on_device.png"))
    parser.add_argument("--quick", action="store_true", help="the recipe's quick variant, 500 shots")
    args = parser.parse_args(argv)
    if args.quick:
        args.shots = 500
    if args.shots < 1:
        parser.error(f"--shots must be >= 1, got {args.shots}")
    return args


def accuracy(model: torch.nn.Module, test: tuple[torch.Tensor, torch.Tensor]) -> float:
    return float((predict(model, test[0]).argmax(-1) == test[1]).double().mean())


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    recipe = get_recipe("noisy-classifier")
    experiment = recipe.build(RecipeOptions(backend=TorchBackend(), seed=args.seed, quick=args.quick))
    epochs = args.epochs or (recipe.quick_epochs if args.quick else recipe.epochs)
    fit(
        experiment.model,
        experiment.loss_fn,
        experiment.optimizer,
        experiment.train,
        validation=experiment.validation,
        scheduler=experiment.scheduler,
        metrics=experiment.metrics,
        config=FitConfig(epochs=epochs, batch_size=recipe.batch_size, seed=args.seed, progress=False),
    )
    report = experiment.report(experiment.model, None)
    args.journal.parent.mkdir(parents=True, exist_ok=True)
    device = ProviderBackend(
        "ibm:fake_manila", shots=args.shots, seed=args.seed, optimization_level=0, journal=Journal(args.journal)
    )
    twins = {"noise-trained": experiment.model.noisy, "noiselessly trained": experiment.model.noiseless}
    plain = [Z(q) for q in range(5)]
    scores: dict[str, dict[str, float]] = {}
    for name, twin in twins.items():
        suffix = "" if name == "noise-trained" else "_noiseless_trained"
        scores[name] = {
            "noiseless engine": report.test[f"noiseless_target_accuracy{suffix}"],
            "Aer, device noise (exact)": report.test[f"noisy_target_accuracy{suffix}"],
            f"fake_manila ({args.shots} shots)": accuracy(on_backend(twin, device, plain), experiment.test),
        }
    targets = list(scores["noise-trained"])
    print(f"test accuracy on {len(experiment.test[1])} digits (seed {args.seed}, {epochs} epochs):")
    print(f"{'':<22}" + "".join(f"{t:>30}" for t in targets))
    for name, row in scores.items():
        print(f"{name:<22}" + "".join(f"{row[t]:>30.3f}" for t in targets))

    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.38
    for k, (name, row) in enumerate(scores.items()):
        positions = [i + (k - 0.5) * width for i in range(len(targets))]
        ax.bar(positions, [row[t] for t in targets], width, label=name)
    ax.set_xticks(range(len(targets)), targets)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.set_title("demo classifier on FakeManilaV2: trained with the device's noise vs without")
    ax.legend(loc="lower right")
    fig.tight_layout()
    args.plot.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.plot, dpi=120)
    plt.close(fig)
    print(f"plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
