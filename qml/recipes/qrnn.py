"""Bausch's QRNN recipes: Elman's XOR and letter streams, and pixel-by-pixel MNIST 0 vs 1 and 3 vs 6.

Bausch, "Recurrent Quantum Neural Networks" (NeurIPS 2020, arXiv 2006.14619); reference code
``CLEconomides/RVQE`` (``main.py``, ``experiment-*.sh``, ``RVQE/datasets/{elman,mnist}.py``); spec
``docs/papers.md`` §1. The model is :class:`~qml.recurrent.QuantumNeuronRNN` behind
:class:`~qml.recurrent.PackedQRNN`, so that the generic fit loop trains it: teacher forcing by
postselection on every step in training; at evaluation the steps that are not scored are
postselected on their targets and the scored steps are **sampled** (RVQE's protocol), so
``test_accuracy`` is ``1 -`` RVQE's character error rate on the scored steps. Also reported:
``expected_accuracy`` (the mean probability of the target on the scored steps: the sampled
accuracy without its sampling noise) and ``min_postselection``. Loss: the paper's cross-entropy of
the probabilities minus its floor (:func:`~qml.recurrent.qrnn_loss`); gradient-norm clip 0.5
(RVQE); initial spreads as RVQE (weights 0.01, biases 0.1, unitaries 0.01, bias offset ``pi/2``).

* ``qrnn-elman-xor``: bit triples ``a b (a XOR b)`` as a stream (:func:`qml.data.elman_xor`),
  every third bit scored; RVQE's cell (``experiment-2-elman-xor.sh``): workspace 6, 3 stages,
  order 2, degree 4, RMSprop lr 0.01, sentences of 36 bits. RVQE feeds a second lane that marks
  the unpredictable steps; here the scored mask does that, so the cell has one lane (9 qubits).
* ``qrnn-elman-letters``: ``ba``/``dii``/``guuu`` (:func:`qml.data.elman_letters`), the vowels
  scored, 3 lanes; RVQE's grid (``experiment-2-elman-letter.sh``) at workspace 4, 2 stages, order 2,
  degree 3, RMSprop lr 0.002 (10 qubits).
* ``qrnn-mnist01``, ``qrnn-mnist36``: 10x10 binarised images of the MNIST subset
  (:func:`qml.data.mnist_subset`, area resize, threshold 0.5) fed pixel by pixel on two lanes, a
  row-major and a column-major scan (:func:`qml.data.pixel_scan_sequences`), the label read at the
  last step; the paper's 12-qubit cell (workspace 8, 2 lanes, 2 stages, order 2, degree 2; 1212
  parameters). Optimiser: see :data:`MNIST_LEARNING_RATE` (why it is far below RVQE's).

Training sets are fixed (drawn from fixed seeds, the same for every run seed); the run seed draws the
initial weights and the batch order. ``quick``: a smaller cell and a few sequences, seconds per run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import torch

from qml.recipes.recipe import Experiment, Recipe, RecipeOptions
from qml.recurrent import (
    GRADIENT_CLIP_NORM,
    PackedQRNN,
    QuantumNeuronRNN,
    expected_accuracy,
    min_postselection,
    pack_sequences,
    packed_qrnn_loss,
    scored_accuracy,
    scored_predictions,
)
from qml.training.data import holdout

__all__ = ["MNIST_LEARNING_RATE", "MNIST_LR_DECAY", "RECIPES", "CellSize", "mnist_sequences"]

MNIST_LEARNING_RATE = 3e-4
"""Adam's learning rate of the MNIST recipes (multiplied by :data:`MNIST_LR_DECAY` after every epoch).

RVQE's MNIST runs use Adam at 0.005 (``experiment-3-mnist01.sh``) for up to 5 000 steps of 24
sequences. With RVQE's initialisation every neuron sits at ``eta = pi/4``, where its rotation angle
changes 4x as fast as ``eta``, and a bias or work-stage angle acts at every one of the 99 steps, so
the final state's angles move about 400x as fast as such a parameter (1 200x when the three neurons
of a workspace qubit move together, as in an Adam step): at 0.005 a single Adam step turns them by
radians and the loss stays at chance for hundreds of steps (docs/results.md). At 3e-4 the test
accuracy rises within the first 100 steps."""

MNIST_LR_DECAY = 0.98
"""Per-epoch factor of the MNIST recipes' learning rate."""


@dataclass(frozen=True)
class CellSize:
    """A QRNN cell: lanes ``I``, workspace ``H``, work stages, neuron order and degree."""

    lanes: int
    workspace: int
    stages: int
    order: int
    degree: int

    def network(self, generator: torch.Generator) -> QuantumNeuronRNN:
        """The QRNN with RVQE's initial spreads (weights 0.01, biases 0.1, unitaries 0.01)."""
        return QuantumNeuronRNN(
            self.lanes,
            self.workspace,
            stages=self.stages,
            order=self.order,
            degree=self.degree,
            generator=generator,
            weight_std=0.01,
            bias_std=0.1,
            angle_std=0.01,
        )


def _experiment(
    options: RecipeOptions,
    size: CellSize,
    train: tuple[torch.Tensor, torch.Tensor],
    validation: tuple[torch.Tensor, torch.Tensor],
    test: tuple[torch.Tensor, torch.Tensor],
    optimizer: Callable[..., torch.optim.Optimizer],
    class_names: list[str],
    lr_decay: float | None = None,
) -> Experiment:
    model = PackedQRNN(size.network(torch.Generator().manual_seed(options.seed)), sample_seed=options.seed)
    optim = optimizer(model.parameters())
    return Experiment(
        model=model,
        loss_fn=packed_qrnn_loss,
        optimizer=optim,
        scheduler=torch.optim.lr_scheduler.ExponentialLR(optim, lr_decay) if lr_decay is not None else None,
        train=train,
        validation=validation,
        test=test,
        task="classification",
        metrics={
            "accuracy": scored_accuracy,
            "expected_accuracy": expected_accuracy,
            "min_postselection": min_postselection,
        },
        class_names=class_names,
        predictions=scored_predictions,
    )


# ---------------------------------------------------------------------------------------------
# Elman
# ---------------------------------------------------------------------------------------------

ELMAN_SENTENCES = {"train": 512, "validation": 64, "test": 256}
"""Sentences of 36 symbols per part (RVQE draws fresh sentences every step; ours are fixed sets)."""

_ELMAN_SEEDS = {"train": 1001, "validation": 1002, "test": 1003}


def _elman(
    task: str, options: RecipeOptions, size: CellSize, quick_size: CellSize, lr: float, class_names: list[str]
) -> Experiment:
    from qml.data import elman_letters, elman_xor

    make = elman_xor if task == "xor" else elman_letters
    counts = {part: (16 if options.quick else n) for part, n in ELMAN_SENTENCES.items()}
    parts = {}
    for part, count in counts.items():
        batch = make(count, length=36, generator=_ELMAN_SEEDS[part])
        parts[part] = pack_sequences(batch.inputs, batch.targets, batch.mask)
    return _experiment(
        options,
        quick_size if options.quick else size,
        parts["train"],
        parts["validation"],
        parts["test"],
        lambda params: torch.optim.RMSprop(params, lr=lr),
        class_names,
    )


ELMAN_XOR = CellSize(lanes=1, workspace=6, stages=3, order=2, degree=4)
"""RVQE's XOR cell (``experiment-2-elman-xor.sh``), with one lane: 9 qubits with the ancillas."""

ELMAN_LETTERS = CellSize(lanes=3, workspace=4, stages=2, order=2, degree=3)
"""A cell of RVQE's letter grid (workspace 3-8, stages 1-4, degree 3): 10 qubits with the ancillas."""


def elman_xor_experiment(options: RecipeOptions) -> Experiment:
    """Elman's XOR stream with RVQE's cell; accuracy on the predictable (every third) bits."""
    quick = CellSize(lanes=1, workspace=2, stages=1, order=2, degree=2)
    return _elman("xor", options, ELMAN_XOR, quick, 0.01, ["0", "1"])


def elman_letters_experiment(options: RecipeOptions) -> Experiment:
    """Elman's letter stream (3-bit letters); accuracy on the vowels."""
    quick = CellSize(lanes=3, workspace=2, stages=1, order=2, degree=2)
    names = ["a", "i", "u", "011", "b", "d", "g", "111"]
    return _elman("letters", options, ELMAN_LETTERS, quick, 0.002, names)


# ---------------------------------------------------------------------------------------------
# MNIST
# ---------------------------------------------------------------------------------------------

MNIST_CELL = CellSize(lanes=2, workspace=8, stages=2, order=2, degree=2)
"""The paper's 12-qubit MNIST cell: workspace 8 + 2 lanes + 2 ancillas (``papers.md`` §1)."""

MNIST_SIDE = 10
"""Image side after resizing (RVQE's 10x10)."""


@functools.lru_cache(maxsize=2)
def mnist_sequences(
    digits: tuple[int, int], *, side: int = MNIST_SIDE, threshold: float = 0.5
) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Packed pixel-scan sequences of two MNIST digits: ``{"train", "validation", "test"}``.

    The 5 000-image subset (:func:`qml.data.mnist_subset`, 500 per digit, split seed 0: 375 train
    and 125 test per digit), resized by block averaging (``resize(..., mode="area")``), binarised at
    ``threshold``, scanned by :func:`qml.data.pixel_scan_sequences` (digit ``digits[k]`` is class
    ``k``); 10 % of the training images validate (a fixed random draw).

    Returns:
        ``{part: (packed, loss_targets)}`` from :func:`qml.recurrent.pack_sequences` (cached: the same
        tensors for every call with the same arguments; do not modify them).
    """
    from qml.data import binarize, mnist_subset, pixel_scan_sequences, resize

    data = mnist_subset(classes=digits, seed=0)
    train, validation = holdout(data.x_train, data.y_train, 0.1, "random", generator=torch.Generator().manual_seed(0))
    parts = {"train": train, "validation": validation, "test": (data.x_test, data.y_test)}
    packed = {}
    for name, (images, labels) in parts.items():
        sequences = pixel_scan_sequences(binarize(resize(images, side, mode="area"), threshold), labels)
        packed[name] = pack_sequences(sequences.inputs, sequences.targets, sequences.mask)
    return packed


def _mnist(digits: tuple[int, int], options: RecipeOptions) -> Experiment:
    parts = mnist_sequences(digits)
    size = MNIST_CELL
    if options.quick:
        parts = {name: (x[:16], y[:16]) for name, (x, y) in parts.items()}
        size = CellSize(lanes=2, workspace=2, stages=1, order=2, degree=2)
    return _experiment(
        options,
        size,
        parts["train"],
        parts["validation"],
        parts["test"],
        lambda params: torch.optim.Adam(params, lr=MNIST_LEARNING_RATE),
        [str(d) for d in digits],
        lr_decay=MNIST_LR_DECAY,
    )


def mnist01_experiment(options: RecipeOptions) -> Experiment:
    """Pixel-by-pixel MNIST 0 vs 1 with the paper's 12-qubit QRNN."""
    return _mnist((0, 1), options)


def mnist36_experiment(options: RecipeOptions) -> Experiment:
    """Pixel-by-pixel MNIST 3 vs 6 with the paper's 12-qubit QRNN."""
    return _mnist((3, 6), options)


RECIPES = (
    Recipe(
        "qrnn-elman-xor",
        "Bausch's QRNN (9 qubits): Elman's XOR stream, accuracy on the predictable bits",
        elman_xor_experiment,
        epochs=30,
        batch_size=24,
        quick_epochs=1,
        grad_clip_norm=GRADIENT_CLIP_NORM,
    ),
    Recipe(
        "qrnn-elman-letters",
        "Bausch's QRNN (10 qubits): Elman's letter stream (ba, dii, guuu), accuracy on the vowels",
        elman_letters_experiment,
        epochs=30,
        batch_size=24,
        quick_epochs=1,
        grad_clip_norm=GRADIENT_CLIP_NORM,
    ),
    Recipe(
        "qrnn-mnist01",
        "Bausch's QRNN (12 qubits): MNIST 0 vs 1 pixel by pixel, 10x10 binarised (accuracy)",
        mnist01_experiment,
        epochs=60,
        batch_size=24,
        quick_epochs=1,
        grad_clip_norm=GRADIENT_CLIP_NORM,
    ),
    Recipe(
        "qrnn-mnist36",
        "Bausch's QRNN (12 qubits): MNIST 3 vs 6 pixel by pixel, 10x10 binarised (accuracy)",
        mnist36_experiment,
        epochs=60,
        batch_size=24,
        quick_epochs=1,
        grad_clip_norm=GRADIENT_CLIP_NORM,
    ),
)
"""The recipes of this module (listed in :func:`qml.recipes.registry._shipped`)."""
