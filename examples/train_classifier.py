"""Train a hybrid quantum-classical classifier on handwritten digits, on the torch engine.

The model (:class:`qml.models.HybridClassifier`) is ``Linear(64 -> n) -> QuantumLayer -> Linear(n -> classes)``:
the classical front end maps the 8x8 pixels to ``n`` angles, a data re-uploading circuit on ``n``
qubits (Pérez-Salinas et al. 2020) is read out as ``<Z_i>`` on every qubit, and a linear head gives
the class logits. Data: scikit-learn's digits (bundled, nothing downloaded) through
:func:`qml.data.images.digits`, standardised on the training part. Training uses the toolkit's
:func:`qml.training.fit` (progress bar, per-epoch lines) and its plots.

The same experiment is the ``classifier`` recipe (``qml train classifier``); this script shows the
library calls a recipe makes. Run (a few seconds on 2 CPU cores)::

    python examples/train_classifier.py
    python examples/train_classifier.py --epochs 30 --qubits 8 --layers 3 --plot outputs/run.png
    python examples/train_classifier.py --quick          # a few seconds, for the test suite
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch import nn

from circuits import TorchBackend
from qml.data.images import digits
from qml.models import HybridClassifier
from qml.training import FitConfig, accuracy, fit, plot_history


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per optimizer step (default 32)")
    parser.add_argument("--qubits", type=int, default=8, help="qubits of the quantum layer (default 8)")
    parser.add_argument("--layers", type=int, default=3, help="re-uploading layers of the circuit (default 3)")
    parser.add_argument("--classes", type=int, default=4, help="classify the digits 0 .. classes-1 (default 4)")
    parser.add_argument("--lr", type=float, default=0.02, help="Adam learning rate, decayed 10%% per epoch")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the initial weights and shuffling")
    parser.add_argument("--plot", type=Path, default=Path("outputs/train_classifier.png"), help="PNG to write")
    parser.add_argument("--quick", action="store_true", help="tiny settings for the test suite (a few seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.qubits, args.layers, args.classes = 4, 4, 1, 2
    for name in ("epochs", "batch_size", "qubits", "layers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not 2 <= args.classes <= 10:
        parser.error(f"--classes must be between 2 and 10, got {args.classes}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    data = digits(classes=range(args.classes), seed=args.seed)
    x_train, x_test = data.x_train.flatten(1), data.x_test.flatten(1)
    mean, std = x_train.mean(0), x_train.std(0)
    std = torch.where(std > 1e-6, std, torch.ones_like(std))
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std

    generator = torch.Generator().manual_seed(args.seed)
    model = HybridClassifier(x_train.shape[1], args.classes, args.qubits, args.layers, TorchBackend(), generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    print(
        f"digits 0-{args.classes - 1}: {len(x_train)} train / {len(x_test)} test samples; {args.qubits} qubits, "
        f"{args.layers} re-uploading layer(s), {sum(p.numel() for p in model.parameters())} trainable parameters"
    )
    result = fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        (x_train, data.y_train),
        validation=(x_test, data.y_test),
        metrics={"accuracy": accuracy},
        scheduler=torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9),
        config=FitConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed),
    )
    plot_history(result.history, args.plot, title=f"hybrid classifier, digits 0-{args.classes - 1}")
    final = result.history[-1]
    print(f"test accuracy {final['val_accuracy']:.3f} (n={len(x_test)}) after {args.epochs} epochs; plot: {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
