"""Image classification recipes of the Hamiltonian-embedding paper and of Farhi and Neven (issue 12).

* ``hamemb-digits`` / ``qcnn-digits``: scikit-learn's 8x8 digits 0-7 (grey levels / 16), the paper's set-up
  (arXiv 2407.14055, docs/papers.md §4): exactly 1 200 training images, full-batch Adam, 500 epochs; the
  Hamiltonian-embedding classifier on 3 qubits with 15 layers of a brickwall of SU(4) blocks, against the QCNN
  baseline on 6 qubits (amplitude encoding, one convolution + pooling layer).
* ``hamemb-mnist`` / ``qcnn-mnist``: the MNIST digits 0-7 of the 5 000-image subset (``qml-hybrid[mnist]``),
  padded to 32x32: the classifier on 5 qubits with 10 layers of full SU(32) unitaries and the paper's read-out
  (projectors on the first 4 qubits), against the QCNN on 10 qubits with two layers.
* ``readout-qnn-mnist36``: Farhi and Neven's readout-qubit QNN on MNIST 3 vs 6 at 4x4, binarised, contradicting
  images removed (TensorFlow Quantum's tutorial, docs/papers.md §5): 16 data qubits and a readout, hinge loss.

Splits: the datasets' stratified test parts (``seed`` decides them); the validation rows come from the
training part with :func:`qml.training.data.holdout` (``"random"``, drawn before the weights). Every model
trains on its closed form (``backend=None``): the recipes' numbers do not depend on ``--backend``; the models
themselves run their circuits on any backend (docs/image-classifiers.md).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from qml.models import HamiltonianEmbeddingClassifier, HingeLoss, QCNNClassifier, ReadoutCrossEntropy, ReadoutQNN
from qml.recipes.common import classification_experiment
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions
from qml.training.data import holdout

__all__ = ["DIGITS_TRAIN_SIZE", "RECIPES"]

DIGITS_TRAIN_SIZE = 1200
"""Training images of the digits recipes (the paper's ``n_train``)."""

_DIGIT_CLASSES = tuple(range(8))
_QUICK_TRAIN, _QUICK_TEST = 160, 64
_DIGITS_EPOCHS = 500
_QCNN_MNIST_EPOCHS = 40


def _first(pair: tuple[torch.Tensor, torch.Tensor], rows: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``rows`` inputs and labels (the ``quick`` variants)."""
    return pair[0][:rows], pair[1][:rows]


def _digits_data(options: RecipeOptions, generator: torch.Generator) -> tuple[tuple, tuple, tuple]:
    """Digits 0-7: 1 200 training images, the rest of the training part validates, 10 % of each class tests."""
    from qml.data.images import digits

    data = digits(classes=_DIGIT_CLASSES, seed=options.seed, test_fraction=0.1)
    held_out = (data.num_train - DIGITS_TRAIN_SIZE) / data.num_train
    train, validation = holdout(data.x_train, data.y_train, held_out, "random", generator=generator)
    test = (data.x_test, data.y_test)
    if options.quick:
        train = _first(train, _QUICK_TRAIN)
        test = _first(test, _QUICK_TEST)
    return train, validation, test


def _mnist_data(options: RecipeOptions, generator: torch.Generator) -> tuple[tuple, tuple, tuple]:
    """MNIST-subset digits 0-7 padded to 32x32: 3 000 training images (10 % of them validate), 1 000 test."""
    from qml.data.images import mnist_subset, pad

    data = mnist_subset(classes=_DIGIT_CLASSES, seed=options.seed)
    train, validation = holdout(pad(data.x_train, 32), data.y_train, 0.1, "random", generator=generator)
    test = (pad(data.x_test, 32), data.y_test)
    if options.quick:
        train = _first(train, _QUICK_TRAIN)
        validation = _first(validation, _QUICK_TEST)
        test = _first(test, _QUICK_TEST)
    return train, validation, test


def _eight_digits(
    options: RecipeOptions,
    data: Callable[[RecipeOptions, torch.Generator], tuple[tuple, tuple, tuple]],
    model: Callable[[torch.Generator], nn.Module],
    lr: float,
    cosine_epochs: int | None = None,
) -> Experiment:
    """Digits 0-7: the data split (drawn first), the model, Adam (with cosine decay over ``cosine_epochs``)."""
    generator = torch.Generator().manual_seed(options.seed)
    train, validation, test = data(options, generator)
    network = model(generator)
    optimizer = torch.optim.Adam(network.parameters(), lr=lr)
    scheduler = None
    if cosine_epochs is not None:
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cosine_epochs)
    names = [str(c) for c in _DIGIT_CLASSES]
    loss = ReadoutCrossEntropy(8)
    return classification_experiment(network, loss, optimizer, train, validation, test, names, scheduler)


def hamemb_digits(options: RecipeOptions) -> Experiment:
    """The paper's digits model: 3 qubits, 15 layers of a brickwall of two SU(4) blocks, Adam 0.01, full batch.

    ``quick``: 3 layers, 160 training and 64 test images.
    """
    layers = 3 if options.quick else 15

    def model(generator: torch.Generator) -> nn.Module:
        return HamiltonianEmbeddingClassifier(3, layers, 8, unitary="brickwall", generator=generator)

    return _eight_digits(options, _digits_data, model, lr=0.01)


def qcnn_digits(options: RecipeOptions) -> Experiment:
    """The paper's QCNN baseline on the digits: 6 qubits, one layer, Adam from 0.1 with cosine decay, full batch.

    ``quick``: 160 training and 64 test images.
    """
    return _eight_digits(
        options, _digits_data, lambda g: QCNNClassifier(6, 1, 8, generator=g), lr=0.1, cosine_epochs=_DIGITS_EPOCHS
    )


def hamemb_mnist(options: RecipeOptions) -> Experiment:
    """The paper's MNIST model: 5 qubits, 10 layers of full SU(32), projectors on the first 4 qubits, Adam 0.01.

    ``quick``: 2 layers, 160 training and 64 test images.
    """
    layers = 2 if options.quick else 10

    def model(generator: torch.Generator) -> nn.Module:
        return HamiltonianEmbeddingClassifier(
            5, layers, 8, unitary="full", readout_qubits=(0, 1, 2, 3), generator=generator
        )

    return _eight_digits(options, _mnist_data, model, lr=0.01)


def qcnn_mnist(options: RecipeOptions) -> Experiment:
    """The paper's QCNN baseline on MNIST: 10 qubits (1 024 amplitudes), two layers, Adam from 0.1, cosine decay.

    ``quick``: 160 training and 64 test images.
    """
    return _eight_digits(
        options, _mnist_data, lambda g: QCNNClassifier(10, 2, 8, generator=g), lr=0.1, cosine_epochs=_QCNN_MNIST_EPOCHS
    )


def readout_qnn_mnist36(options: RecipeOptions) -> Experiment:
    """Farhi-Neven on MNIST 3 vs 6: 4x4 (bilinear, as ``tf.image.resize``), binarised at 0.5, hinge loss, Adam.

    TensorFlow Quantum's pipeline, in its order: contradicting images (one 4x4 image with both labels) are
    removed from the training part before binarising, keeping one copy of each image; then every image is
    binarised, so the training set keeps the patterns that binarising makes repeated or contradictory (TFQ
    notes them and keeps them). The test images are binarised, nothing removed. ``quick``: 160 training and
    64 test images.
    """
    from qml.data.images import binarize, mnist_subset, remove_contradicting

    data = mnist_subset(classes=(3, 6), size=4, seed=options.seed)
    x_train, y_train = remove_contradicting(data.x_train, data.y_train)
    x_train = binarize(x_train)
    generator = torch.Generator().manual_seed(options.seed)
    train, validation = holdout(x_train, y_train, 0.2, "random", generator=generator)
    test = (binarize(data.x_test), data.y_test)
    if options.quick:
        train = _first(train, _QUICK_TRAIN)
        test = _first(test, _QUICK_TEST)
    model = ReadoutQNN(16, generator=generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    return classification_experiment(model, HingeLoss(), optimizer, train, validation, test, ["3", "6"])


RECIPES = (
    Recipe(
        "hamemb-digits",
        "Hamiltonian-embedding re-uploading classifier, 3 qubits, 15 brickwall SU(4) layers, digits 0-7 (accuracy)",
        hamemb_digits,
        epochs=_DIGITS_EPOCHS,
        batch_size=DIGITS_TRAIN_SIZE,
        quick_epochs=2,
        monitor="val_accuracy",
    ),
    Recipe(
        "qcnn-digits",
        "QCNN baseline of the Hamiltonian-embedding paper, 6 qubits, amplitude encoding, digits 0-7 (accuracy)",
        qcnn_digits,
        epochs=_DIGITS_EPOCHS,
        batch_size=DIGITS_TRAIN_SIZE,
        quick_epochs=2,
        monitor="val_accuracy",
    ),
    Recipe(
        "hamemb-mnist",
        "Hamiltonian-embedding re-uploading classifier, 5 qubits, 10 full SU(32) layers, MNIST 0-7 32x32 (accuracy)",
        hamemb_mnist,
        epochs=100,
        batch_size=100,
        quick_epochs=1,
        monitor="val_accuracy",
    ),
    Recipe(
        "qcnn-mnist",
        "QCNN baseline of the Hamiltonian-embedding paper, 10 qubits, two layers, MNIST 0-7 32x32 (accuracy)",
        qcnn_mnist,
        epochs=_QCNN_MNIST_EPOCHS,
        batch_size=100,
        quick_epochs=1,
        monitor="val_accuracy",
    ),
    Recipe(
        "readout-qnn-mnist36",
        "Farhi-Neven readout-qubit QNN, 17 qubits, MNIST 3 vs 6 at 4x4 binarised, hinge loss (accuracy)",
        readout_qnn_mnist36,
        epochs=30,
        batch_size=32,
        quick_epochs=2,
        monitor="val_accuracy",
    ),
)
"""The recipes of this module (listed in :func:`qml.recipes.registry._shipped`)."""
