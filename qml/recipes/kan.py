"""QKAN experiments (issue 5): function regression (QKAN vs FourierKAN vs MLP) and CNN heads (QKAN vs MLP).

Function regression follows the KAN/QKAN papers' examples (``qml.data.functions``): 1000 training
and 1000 test points of ``sinc(20 x)`` or ``exp(sin(pi x1) + x2^2)``; every model is trained with
Adam and MSE. The CNN recipes put a QKAN([10, 10]) head or an MLP head on the same small CNN,
as the QKAN repository's MNIST example does, on scikit-learn's 8x8 digits (all ten classes).
The first 20 % of the training rows validate (``holdout(..., "head")``), the numbers of docs/results.md.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from qml.kan import QKAN
from qml.kan.classical import FourierKAN, mlp
from qml.models.cnn import CNNClassifier
from qml.recipes.common import classification_experiment
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions
from qml.training.data import holdout
from qml.training.metrics import mean_absolute_error, mean_squared_error

__all__ = ["RECIPES", "Scalar"]


class Scalar(nn.Module):
    """``module(x)[:, 0]``: a one-output network as a regressor returning ``(batch_size,)``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.module = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The first output column."""
        return self.module(x)[:, 0]


def _function_models(dim: int, generator: torch.Generator, quick: bool) -> dict[str, nn.Module]:
    hidden = 3 if quick else 5
    return {
        "qkan": QKAN([dim, hidden, 1], reps=2 if quick else 3, generator=generator),
        "fkan": FourierKAN([dim, hidden, 1], grid=5, generator=generator),
        "mlp": mlp([dim, 32, 32, 1], generator=generator),
    }


def _function_recipe(function: str, model_name: str) -> Callable[[RecipeOptions], Experiment]:
    def build(options: RecipeOptions) -> Experiment:
        from qml.data.functions import function_regression

        count = 200 if options.quick else 1000
        data = function_regression(function, num_train=count, num_test=count, seed=options.seed)
        generator = torch.Generator().manual_seed(options.seed)
        dim = data.x_train.shape[1]
        model = Scalar(_function_models(dim, generator, options.quick)[model_name])
        train, validation = holdout(data.x_train, data.y_train, 0.2, "head")
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        return Experiment(
            model=model,
            loss_fn=nn.MSELoss(),
            optimizer=optimizer,
            train=train,
            validation=validation,
            test=(data.x_test, data.y_test),
            task="regression",
            metrics={"mse": mean_squared_error, "mae": mean_absolute_error},
            scheduler=torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.97),
        )

    return build


def _digits_cnn(head_name: str) -> Callable[[RecipeOptions], Experiment]:
    def build(options: RecipeOptions) -> Experiment:
        from qml.data.images import digits

        data = digits(classes=range(10), seed=options.seed)
        x_train, y_train, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
        if options.quick:
            x_train, y_train, x_test, y_test = x_train[:300], y_train[:300], x_test[:100], y_test[:100]
        generator = torch.Generator().manual_seed(options.seed)
        if head_name == "qkan":
            head: nn.Module = QKAN([10, 10], reps=2 if options.quick else 3, generator=generator)
        else:
            head = mlp([10, 48, 10], generator=generator)
        model = CNNClassifier(8, 10, head, generator=generator)
        train, validation = holdout(x_train, y_train, 0.2, "head")
        optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
        scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=0.95)
        names = [str(c) for c in range(10)]
        return classification_experiment(
            model, nn.CrossEntropyLoss(), optimizer, train, validation, (x_test, y_test), names, scheduler
        )

    return build


_MODEL_NAMES = {
    "qkan": "QKAN([d, 5, 1], reps 3)",
    "fkan": "FourierKAN([d, 5, 1], 5 frequencies)",
    "mlp": "MLP([d, 32, 32, 1])",
}
_FUNCTIONS = {"sinc20": "sin(20x)/(20x)", "exp_sin": "exp(sin(pi x1) + x2^2)"}
_HEADS = {"qkan": "QKAN([10, 10]) head", "mlp": "MLP([10, 48, 10]) head"}

RECIPES = (
    *(
        Recipe(
            f"{model}-{function.replace('_', '')}",
            f"{description} regression of {formula} (MSE)",
            _function_recipe(function, model),
            epochs=60,
            batch_size=64,
        )
        for function, formula in _FUNCTIONS.items()
        for model, description in _MODEL_NAMES.items()
    ),
    *(
        Recipe(
            f"cnn-{head}-digits",
            f"small CNN + {description} on the 8x8 digits, 10 classes (accuracy)",
            _digits_cnn(head),
            epochs=30,
            batch_size=64,
            quick_epochs=2,
            monitor="val_accuracy",
        )
        for head, description in _HEADS.items()
    ),
)
"""The recipes of this module (listed in :func:`qml.recipes.registry._shipped`)."""
