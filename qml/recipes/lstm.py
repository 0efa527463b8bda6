"""Recurrent-model recipes: LSTM, QLSTM, QKAN-LSTM and HQKAN-LSTM on the papers' time series.

Each recipe is ``<model>-<series>`` with ``model`` in ``lstm``, ``qlstm``, ``qkan-lstm``, ``hqkan-lstm``
and ``series`` in ``damped`` (damped SHM), ``bessel`` (Bessel J2), ``narma`` (NARMA-5): predict the next
value from the previous 4 (``docs/papers.md`` §2 "Tasks / datasets"; :mod:`qml.data.timeseries`), the
first 67 % of the windows in time order for training (its last 20 % validates), the rest tests. The
model is a :class:`~qml.recurrent.SequenceRegressor` (cell over the window, linear head).

Hyperparameters (all models alike, so that they compare):

* **optimizer**: RMSprop, ``lr = 0.01``, ``alpha = 0.99``, ``eps = 1e-8``: the setting of Chen et al.'s
  QLSTM experiments (arXiv 2009.01783, from the paper's text; not in ``docs/papers.md``, so check it),
  with the learning rate multiplied by 0.9 after every epoch (ours: it removes the seed-dependent
  oscillation the constant rate showed on Bessel J2, for every model alike).
  MSE loss, batch 16, 30 epochs (the QKAN-LSTM damped-SHM numbers of ``docs/papers.md`` §3 are "after 30 epochs").
* **QLSTM**: the paper's demo sizes (``docs/papers.md`` §2 "QLSTM cell"): input 1, hidden 3, 4 qubits,
  cell 4, output 4, VQC depth 4: six VQCs of 48 angles and a ``Linear(4 -> 1)`` head, 293 parameters.
* **QKAN-LSTM**: hidden 4, ``reps = 3`` (the ``qkan`` default, ``docs/papers.md`` §3 "QKAN layer"); the
  QKAN-LSTM paper's hidden size was not retrieved, 4 is our choice (Chen's cell size). Each of the
  ``4 * 5 * 4 = 80`` edges has 15 trainable scalars (``theta`` 4x2, ``w``/``b`` 3 each, base weight),
  1 205 parameters with the head.
* **LSTM**: hidden 36, 5 653 parameters, so that QKAN-LSTM has 79 % fewer, the reduction the QKAN-LSTM
  paper reports against its classical LSTM (``docs/papers.md`` §3 "Reported numbers"): the recipes test
  whether QKAN-LSTM matches this LSTM at that budget.
* **HQKAN-LSTM**: hidden 4, ``e = ceil(log2 5) = 3`` (``docs/papers.md`` §3 "HQKAN"), ``reps = 3``: per gate
  ``Linear(5 -> 3) -> QKAN([3, 3]) -> Linear(3 -> 4)``, 681 parameters.

``quick`` (a few seconds): the first 48 training windows, 2 epochs, and smaller models (LSTM hidden 8,
QLSTM depth 1, QKAN-LSTM and HQKAN-LSTM hidden 2 with ``reps = 2``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from circuits.backend import Backend
from qml.data.base import Split
from qml.recipes.common import series_experiment
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions
from qml.recurrent import (
    HQKANLSTMCell,
    LSTMCell,
    QKANLSTMCell,
    QLSTMCell,
    RecurrentCell,
    SequenceRegressor,
)

__all__ = ["MODELS", "RECIPES", "SERIES", "build_cell", "sequence_experiment"]

LEARNING_RATE = 0.01
"""RMSprop learning rate of every recurrent recipe."""

LR_DECAY = 0.9
"""Learning-rate factor per epoch of every recurrent recipe (without it, RMSprop at 0.01 leaves some
seeds oscillating on Bessel J2; see docs/results.md)."""

QUICK_WINDOWS = 48
"""Training windows of the ``quick`` variants."""


def _damped() -> Split:
    from qml.data.timeseries import damped_oscillator

    return damped_oscillator(window=4)


def _bessel() -> Split:
    from qml.data.timeseries import bessel_j2

    return bessel_j2(window=4)


def _narma() -> Split:
    from qml.data.timeseries import narma

    return narma(order=5, window=4)


SERIES: dict[str, tuple[Callable[[], Split], str]] = {
    "damped": (_damped, "damped SHM (angular velocity)"),
    "bessel": (_bessel, "Bessel J2"),
    "narma": (_narma, "NARMA-5 (target from the last 4 inputs)"),
}
"""Series name -> (split builder, description)."""


def build_cell(model: str, *, quick: bool, backend: Backend, generator: torch.Generator) -> RecurrentCell:
    """The recipe's cell for ``model`` (see the module docstring for the sizes).

    Args:
        model: ``"lstm"``, ``"qlstm"``, ``"qkan-lstm"`` or ``"hqkan-lstm"``.
        quick: the small variant.
        backend: where the QLSTM circuits run (the QKAN cells use the QKAN fast path).
        generator: draws every initial weight.

    Raises:
        ValueError: an unknown model name.
    """
    if model == "lstm":
        return LSTMCell(1, 8 if quick else 36, generator=generator)
    if model == "qlstm":
        return QLSTMCell(1, 3, num_qubits=4, num_layers=1 if quick else 4, backend=backend, generator=generator)
    if model == "qkan-lstm":
        return QKANLSTMCell(1, 2 if quick else 4, reps=2 if quick else 3, generator=generator)
    if model == "hqkan-lstm":
        return HQKANLSTMCell(1, 2 if quick else 4, reps=2 if quick else 3, generator=generator)
    raise ValueError(f"unknown recurrent model {model!r}; expected one of {', '.join(MODELS)}.")


def sequence_experiment(
    model: str, series: str, options: RecipeOptions, cell_builder: Callable[..., RecurrentCell] | None = None
) -> Experiment:
    """Build the ``<model>-<series>`` experiment (see the module docstring).

    Args:
        model: a key of :data:`MODELS` (or a name ``cell_builder`` knows).
        series: a key of :data:`SERIES`.
        options: backend, seed, quick.
        cell_builder: makes the cell, with :func:`build_cell`'s signature (``None``: :func:`build_cell`).
    """
    generator = torch.Generator().manual_seed(options.seed)
    make = build_cell if cell_builder is None else cell_builder
    cell = make(model, quick=options.quick, backend=options.backend, generator=generator)
    regressor = SequenceRegressor(cell, generator=generator)
    optimizer = torch.optim.RMSprop(regressor.parameters(), lr=LEARNING_RATE, alpha=0.99, eps=1e-8)
    quick_rows = QUICK_WINDOWS if options.quick else None
    return series_experiment(SERIES[series][0](), regressor, optimizer, quick_rows=quick_rows, lr_decay=LR_DECAY)


MODELS: dict[str, str] = {
    "lstm": "classical LSTM (hidden 36)",
    "qlstm": "QLSTM of Chen et al. (6 VQCs, 4 qubits, depth 4)",
    "qkan-lstm": "QKAN-LSTM (a QKANLayer per gate, hidden 4, reps 3)",
    "hqkan-lstm": "HQKAN-LSTM (Linear -> QKAN -> Linear per gate, hidden 4)",
}
"""Model name -> summary."""


def _recipe(model: str, series: str) -> Recipe:
    def build(options: RecipeOptions) -> Experiment:
        return sequence_experiment(model, series, options)

    build.__doc__ = f"{MODELS[model]} on {SERIES[series][1]}: next value from the previous 4."
    return Recipe(
        f"{model}-{series}",
        f"{MODELS[model]}: next value of {SERIES[series][1]} from the previous 4 (MSE)",
        build,
        epochs=30,
        batch_size=16,
        quick_epochs=2,
    )


RECIPES = tuple(_recipe(model, series) for model in MODELS for series in SERIES)
"""The recipes of this module, ``<model>-<series>`` (listed in :func:`qml.recipes.registry._shipped`)."""
