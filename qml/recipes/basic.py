"""The toolkit's own recipes: the variational classifier, a time-series regression, and the demo.

Paper experiments (QRNN, QKAN, ...) have their recipes in their own modules.
"""

from __future__ import annotations

import torch
from torch import nn

from qml.models import HybridClassifier, VQCRegressor
from qml.recipes.common import classification_experiment, series_experiment
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions
from qml.training.data import holdout

__all__ = ["RECIPES", "classifier", "regression"]


def digits_data(
    options: RecipeOptions, classes: int, generator: torch.Generator
) -> tuple[tuple[torch.Tensor, torch.Tensor], ...]:
    """The digits ``0 .. classes-1``, standardised on the training part: ``(train, validation, test)``.

    20 % of the training part validates, drawn with ``generator`` (which goes on to draw the model's weights);
    ``quick`` keeps 160 training and 64 test samples.
    """
    from qml.data.images import digits

    data = digits(classes=range(classes), seed=options.seed)
    x_train, x_test = data.x_train.reshape(data.num_train, -1), data.x_test.reshape(data.num_test, -1)
    y_train, y_test = data.y_train, data.y_test
    if options.quick:
        x_train, y_train, x_test, y_test = x_train[:160], y_train[:160], x_test[:64], y_test[:64]
    mean, std = x_train.mean(0), x_train.std(0)  # standardised on the training part only
    std = torch.where(std > 1e-6, std, torch.ones_like(std))  # constant pixels stay as they are
    x_train, x_test = (x_train - mean) / std, (x_test - mean) / std
    train, validation = holdout(x_train, y_train, 0.2, "random", generator=generator)
    return train, validation, (x_test, y_test)


def _digits_experiment(options: RecipeOptions, classes: int, qubits: int, layers: int, lr: float) -> Experiment:
    generator = torch.Generator().manual_seed(options.seed)
    train, validation, test = digits_data(options, classes, generator)  # the split first, then the weights
    model = HybridClassifier(train[0].shape[1], classes, qubits, layers, options.backend, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.9)
    names = [str(c) for c in range(classes)]
    return classification_experiment(model, nn.CrossEntropyLoss(), optimizer, train, validation, test, names, scheduler)


def classifier(options: RecipeOptions) -> Experiment:
    """Hybrid classifier (Linear -> 8-qubit, 3-layer re-uploading circuit -> Linear) on the digits 0-3.

    scikit-learn's 8x8 digits (bundled, offline), standardised; 20 % of the training part validates.
    ``quick``: 4 qubits, 1 layer, 2 classes, 160 training samples.
    """
    if options.quick:
        return _digits_experiment(options, classes=2, qubits=4, layers=1, lr=0.02)
    return _digits_experiment(options, classes=4, qubits=8, layers=3, lr=0.02)


def regression(options: RecipeOptions) -> Experiment:
    """Next-value regression of the Bessel function J2 with a 4-qubit re-uploading circuit.

    Windows of 4 past values (scaled to [-1, 1]) predict the next one (``qml.data.bessel_j2``, the
    QLSTM/QRNN papers' task); the first 67 % in time trains, its last 20 % validates, the rest tests.
    ``quick``: 1 layer and the first 64 training windows.
    """
    from qml.data.timeseries import bessel_j2

    generator = torch.Generator().manual_seed(options.seed)
    model = VQCRegressor(4, 1 if options.quick else 2, options.backend, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    return series_experiment(bessel_j2(window=4), model, optimizer, quick_rows=64 if options.quick else None)


RECIPES = (
    Recipe(
        "classifier",
        "hybrid classifier: Linear -> 8-qubit data re-uploading circuit -> Linear, digits 0-3 (accuracy)",
        classifier,
        epochs=15,
        batch_size=32,
        quick_epochs=6,
        monitor="val_accuracy",
    ),
    Recipe(
        "regression",
        "4-qubit re-uploading regressor: next value of Bessel J2 from the previous 4 (MSE)",
        regression,
        epochs=30,
        batch_size=16,
    ),
    Recipe(
        "demo",
        "the README's main job: the classifier recipe, 10 epochs, written to outputs/demo",
        classifier,
        epochs=10,
        batch_size=32,
        quick_epochs=6,
        monitor="val_accuracy",
    ),
)
"""The recipes of this module (listed in :func:`qml.recipes.registry._shipped`)."""
