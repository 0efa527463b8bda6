"""Train a hybrid quantum-classical classifier on handwritten digits, on the torch engine.

The model is ``Linear(64 -> n) -> QuantumLayer -> Linear(n -> classes)``:

* the classical front end maps the 8x8 pixels to ``n`` angles (``pi * tanh``, so each lies in ``(-pi, pi)``);
* the quantum layer is a data re-uploading circuit (Pérez-Salinas et al. 2020) on ``n`` qubits,
  read out as ``<Z_i>`` on every qubit (see ``circuits.library.data_reuploading``);
* a linear head turns the ``n`` expectation values into class logits.

Data: scikit-learn's digits (1797 images shipped with scikit-learn, nothing downloaded), the
digits ``0 .. classes-1``, standardized on the training split. Everything trains end to end with
Adam; gradients flow through the circuit by the engine's autograd.

Run (about a minute on 2 CPU cores)::

    python examples/train_classifier.py
    python examples/train_classifier.py --epochs 40 --qubits 8 --layers 3 --plot outputs/run.png
    python examples/train_classifier.py --quick          # a few seconds, for the test suite
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from matplotlib.ticker import MaxNLocator
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from tqdm import tqdm

from circuits import TorchBackend, Z
from circuits.library import data_reuploading
from qml import QuantumLayer


class HybridClassifier(nn.Module):
    """``Linear(num_features -> num_qubits) -> pi * tanh -> QuantumLayer -> Linear(num_qubits -> num_classes)``.

    Shape:
        - Input: ``(batch_size, num_features)``.
        - Output: ``(batch_size, num_classes)`` logits.
    """

    def __init__(
        self, num_features: int, num_classes: int, num_qubits: int, num_layers: int, generator: torch.Generator
    ) -> None:
        super().__init__()
        self.encoder = nn.Linear(num_features, num_qubits)
        circuit = data_reuploading(num_qubits, num_layers, inputs="x", weights="w")
        self.quantum = QuantumLayer(circuit, [Z(i) for i in range(num_qubits)], TorchBackend(), generator=generator)
        self.head = nn.Linear(num_qubits, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        angles = math.pi * torch.tanh(self.encoder(x))
        return self.head(self.quantum(angles))


def load_data(num_classes: int, seed: int, max_samples: int | None) -> tuple[torch.Tensor, ...]:
    """Digits ``0 .. num_classes-1``, a stratified 75/25 split, standardized on the training part."""
    digits = load_digits()
    keep = digits.target < num_classes
    features, labels = digits.data[keep], digits.target[keep]
    if max_samples is not None:
        features, labels = features[:max_samples], labels[:max_samples]
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.25, random_state=seed, stratify=labels
    )
    scaler = StandardScaler().fit(x_train)
    x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    as_float = lambda a: torch.tensor(a, dtype=torch.float32)  # noqa: E731
    as_long = lambda a: torch.tensor(a, dtype=torch.long)  # noqa: E731
    return as_float(x_train), as_long(y_train), as_float(x_test), as_long(y_test)


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(dim=1) == y).float().mean().item()


def plot_history(history: dict[str, list[float]], path: Path, title: str) -> None:
    epochs = range(1, len(history["loss"]) + 1)
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(10, 4))
    ax_loss.plot(epochs, history["loss"], marker="o")
    ax_loss.set(xlabel="epoch", ylabel="training loss (cross-entropy)", title="loss")
    ax_acc.plot(epochs, history["train_acc"], marker="o", label="train")
    ax_acc.plot(epochs, history["test_acc"], marker="s", label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", title="accuracy", ylim=(0.0, 1.02))
    ax_acc.legend(loc="lower right")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=20, help="passes over the training set (default 20)")
    parser.add_argument("--batch-size", type=int, default=32, help="samples per optimizer step (default 32)")
    parser.add_argument("--qubits", type=int, default=8, help="qubits of the quantum layer (default 8)")
    parser.add_argument("--layers", type=int, default=3, help="re-uploading layers of the circuit (default 3)")
    parser.add_argument("--classes", type=int, default=4, help="classify the digits 0 .. classes-1 (default 4)")
    parser.add_argument("--lr", type=float, default=0.02, help="Adam learning rate, cosine-decayed (default 0.02)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the initial weights and shuffling")
    parser.add_argument(
        "--plot", type=Path, default=Path("outputs/train_classifier.png"), help="where to write the plot (PNG)"
    )
    parser.add_argument("--quick", action="store_true", help="tiny settings for the test suite (a few seconds)")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.qubits, args.layers, args.classes = 2, 4, 1, 2
    for name in ("epochs", "batch_size", "qubits", "layers"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if not 2 <= args.classes <= 10:
        parser.error(f"--classes must be between 2 and 10, got {args.classes}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    torch.manual_seed(args.seed)  # the script owns its randomness; library code never seeds
    generator = torch.Generator().manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_data(args.classes, args.seed, 200 if args.quick else None)
    model = HybridClassifier(x_train.shape[1], args.classes, args.qubits, args.layers, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = math.ceil(len(x_train) / args.batch_size)
    # cosine decay to zero: a large step early, a settled model at the end
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    print(
        f"digits 0-{args.classes - 1}: {len(x_train)} train / {len(x_test)} test samples; "
        f"{args.qubits} qubits, {args.layers} re-uploading layer(s), "
        f"{sum(p.numel() for p in model.parameters())} trainable parameters "
        f"({model.quantum.weights['w'].numel()} in the circuit)"
    )

    history: dict[str, list[float]] = {"loss": [], "train_acc": [], "test_acc": []}
    start = time.perf_counter()
    with tqdm(total=args.epochs * steps_per_epoch, desc="training", unit="step", file=sys.stdout) as bar:
        for epoch in range(args.epochs):
            model.train()
            order = torch.randperm(len(x_train), generator=generator)
            total_loss = 0.0
            for step in range(steps_per_epoch):
                batch = order[step * args.batch_size : (step + 1) * args.batch_size]
                loss = loss_fn(model(x_train[batch]), y_train[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                schedule.step()
                total_loss += loss.item() * len(batch)
                bar.update()
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)
            model.eval()
            history["loss"].append(total_loss / len(x_train))
            history["train_acc"].append(accuracy(model, x_train, y_train))
            history["test_acc"].append(accuracy(model, x_test, y_test))
            bar.set_postfix(
                epoch=epoch + 1,
                loss=f"{history['loss'][-1]:.3f}",
                train_acc=f"{history['train_acc'][-1]:.3f}",
                test_acc=f"{history['test_acc'][-1]:.3f}",
            )
    elapsed = time.perf_counter() - start

    title = f"hybrid classifier, digits 0-{args.classes - 1}, {args.qubits} qubits x {args.layers} layers"
    plot_history(history, args.plot, title)
    print(
        f"test accuracy {history['test_acc'][-1]:.3f} (n={len(x_test)}), train accuracy "
        f"{history['train_acc'][-1]:.3f}, {args.epochs} epochs in {elapsed:.1f} s; plot written to {args.plot}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
