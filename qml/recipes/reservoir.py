"""Reservoir computing against full training: VQC-based QRNN, QLSTM, QGRU and classical RNN, LSTM, GRU.

Chen, Fry, Deshmukh, Rastunkov, Stefanski, "Reservoir computing via quantum recurrent neural
networks" (arXiv 2211.02612; ``docs/papers.md`` §2): a recurrent cell frozen at random weights is a
dynamical system, and only a final linear layer is trained. The tasks are those of
:mod:`qml.recipes.lstm` (next value of damped SHM, Bessel J2 or NARMA-5 from the previous 4, the first
67 % of the windows in time order for training, its last 20 % validating).

* ``<cell>-reservoir-<series>`` for ``cell`` in ``qrnn``, ``qlstm``, ``qgru`` (the VQC cells of
  :mod:`qml.recurrent`, 4 qubits, VQC depth 4, hidden 3) and ``rnn``, ``lstm``, ``gru`` (classical,
  hidden 4: the same state width). The cell is a :class:`~qml.recurrent.Reservoir`: frozen
  (no trainable parameter), its outputs at all 4 steps concatenated as the features
  (``features="all"``). The quantum cells' angles are redrawn uniformly in ``[-pi, pi]`` (Chen's
  ``0.01 N(0, 1)`` draw leaves every VQC close to the identity circuit, and its features close to the
  encoding alone); the classical cells keep PyTorch's default draw ``U(-1/sqrt(h), 1/sqrt(h))``.
  **The features are collected once**, in one pass without gradients over every window, when the
  experiment is built (part of the run's wall time); the model the fit loop trains is the linear
  read-out on them (Adam, lr :data:`READOUT_LEARNING_RATE`, batch 16, :data:`READOUT_EPOCHS` epochs,
  MSE). Its trainable parameters are the read-out's.
* ``qrnn-<series>``, ``qgru-<series>``: the same quantum cells fully trained (initialisation
  ``0.01 N(0, 1)``, as Chen's code), and ``rnn-<series>``, ``gru-<series>``: classical cells of hidden
  36 (as ``lstm-<series>``), with :mod:`qml.recipes.lstm`'s settings (RMSprop lr 0.01 decayed x0.9 per
  epoch, batch 16, 30 epochs). ``qlstm-<series>`` and ``lstm-<series>`` are in :mod:`qml.recipes.lstm`.

``quick``: the first 48 training windows, one epoch, VQC depth 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from circuits.backend import Backend
from qml.data.base import Split
from qml.layers.init import seeded_linear
from qml.recipes.common import series_experiment
from qml.recipes.lstm import QUICK_WINDOWS, SERIES, sequence_experiment
from qml.recipes.recipe import Experiment, Recipe, RecipeOptions
from qml.recurrent import (
    GRUCell,
    LSTMCell,
    QGRUCell,
    QLSTMCell,
    QRNNCell,
    RecurrentCell,
    Reservoir,
    RNNCell,
    collect_features,
)

__all__ = [
    "READOUT_EPOCHS",
    "READOUT_LEARNING_RATE",
    "RECIPES",
    "RESERVOIRS",
    "TRAINED",
    "LinearReadout",
    "reservoir_cell",
    "reservoir_experiment",
    "trained_cell",
    "trained_experiment",
]

READOUT_LEARNING_RATE = 0.05
"""Adam's learning rate for the reservoirs' linear read-out."""

READOUT_LR_DECAY = 0.95
"""The read-out's learning rate is multiplied by this after every epoch."""

READOUT_EPOCHS = 60
"""Epochs of the read-out (as many as the fully trained recipes)."""

QUANTUM_RESERVOIR_SCALE = math.pi
"""The quantum reservoirs' angles are drawn uniformly in ``[-scale, scale]``."""

RESERVOIRS: dict[str, str] = {
    "qrnn": "QRNN reservoir (VQC cell, 4 qubits)",
    "qlstm": "QLSTM reservoir (6 VQCs, 4 qubits)",
    "qgru": "QGRU reservoir (3 VQCs, 4 qubits)",
    "rnn": "classical RNN reservoir (hidden 4)",
    "lstm": "classical LSTM reservoir (hidden 4)",
    "gru": "classical GRU reservoir (hidden 4)",
}
"""Reservoir cell name -> summary."""

TRAINED: dict[str, str] = {
    "qrnn": "QRNN of Chen et al. (VQC cell, 4 qubits, depth 4), fully trained",
    "qgru": "QGRU of Chen et al. (3 VQCs, 4 qubits, depth 4), fully trained",
    "rnn": "classical RNN (hidden 36), fully trained",
    "gru": "classical GRU (hidden 36), fully trained",
}
"""Fully trained cell name -> summary (``qlstm`` and ``lstm`` are in :mod:`qml.recipes.lstm`)."""


def _quantum_cell(model: str, *, quick: bool, backend: Backend, generator: torch.Generator) -> RecurrentCell | None:
    layers = 1 if quick else 4
    if model == "qrnn":
        return QRNNCell(1, 3, num_layers=layers, backend=backend, generator=generator)
    if model == "qgru":
        return QGRUCell(1, 3, num_layers=layers, backend=backend, generator=generator)
    if model == "qlstm":
        return QLSTMCell(1, 3, num_qubits=4, num_layers=layers, backend=backend, generator=generator)
    return None


def reservoir_cell(model: str, *, quick: bool, backend: Backend, generator: torch.Generator) -> Reservoir:
    """The frozen reservoir of ``<model>-reservoir-<series>`` (see the module docstring).

    Raises:
        ValueError: an unknown model name.
    """
    cell = _quantum_cell(model, quick=quick, backend=backend, generator=generator)
    if cell is not None:
        return Reservoir(cell, features="all", redraw_scale=QUANTUM_RESERVOIR_SCALE, generator=generator)
    classical = {"rnn": RNNCell, "lstm": LSTMCell, "gru": GRUCell}
    if model not in classical:
        raise ValueError(f"unknown reservoir {model!r}; expected one of {', '.join(RESERVOIRS)}.")
    return Reservoir(classical[model](1, 4, generator=generator), features="all")


def trained_cell(model: str, *, quick: bool, backend: Backend, generator: torch.Generator) -> RecurrentCell:
    """The cell of the fully trained ``<model>-<series>`` (see the module docstring).

    Raises:
        ValueError: an unknown model name.
    """
    cell = _quantum_cell(model, quick=quick, backend=backend, generator=generator)
    if cell is not None:
        return cell
    hidden = 8 if quick else 36
    if model == "rnn":
        return RNNCell(1, hidden, generator=generator)
    if model == "gru":
        return GRUCell(1, hidden, generator=generator)
    raise ValueError(f"unknown trained model {model!r}; expected one of {', '.join(TRAINED)}.")


class LinearReadout(nn.Module):
    r"""``Linear(F -> 1)`` on fixed reservoir features, standardised with the training features' statistics.

    ``y = w^T (f - mu) / sigma + b``, with ``mu`` and ``sigma`` the per-feature mean and standard
    deviation of the training features (buffers, fixed when the read-out is built): the features of
    a reservoir can differ in scale by orders of magnitude, and gradient descent on the raw ones
    converges slowly.

    Args:
        train_features: the training features, for ``mu`` and ``sigma`` (a feature with
            ``sigma < 1e-8`` is only centred).
        generator: draws the initial weights (PyTorch's default uniform bounds).

    Shape:
        - Input: ``(B, F)``. Output: ``(B,)``.
    """

    def __init__(self, train_features: torch.Tensor, *, generator: torch.Generator) -> None:
        super().__init__()
        mean, std = train_features.mean(dim=0), train_features.std(dim=0)
        self.register_buffer("mean", mean)
        self.register_buffer("scale", torch.where(std > 1e-8, std, torch.ones_like(std)))
        self.linear = seeded_linear(train_features.shape[1], 1, generator)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """The read-out's predictions."""
        return self.linear((features - self.mean) / self.scale).squeeze(-1)


def reservoir_experiment(model: str, series: str, options: RecipeOptions) -> Experiment:
    """Build ``<model>-reservoir-<series>``: collect the reservoir's features of every window once, then a read-out.

    The experiment's data are the features (``(N, 4 * output_size)``), in the windows' order, so
    that the series plot shows the whole series.
    """
    generator = torch.Generator().manual_seed(options.seed)
    reservoir = reservoir_cell(model, quick=options.quick, backend=options.backend, generator=generator)
    data = SERIES[series][0]()
    features = collect_features(reservoir, torch.cat([data.x_train, data.x_test]))
    train_features, test_features = features[: data.num_train], features[data.num_train :]
    rows = QUICK_WINDOWS if options.quick else data.num_train
    readout = LinearReadout(train_features[: int(0.8 * rows)], generator=generator)  # the fitted part only
    optimizer = torch.optim.Adam(readout.parameters(), lr=READOUT_LEARNING_RATE)
    name = f"{data.name}_reservoir_features"
    split = Split(name, train_features, data.y_train, test_features, data.y_test, data.info)
    quick_rows = QUICK_WINDOWS if options.quick else None
    return series_experiment(split, readout, optimizer, quick_rows=quick_rows, lr_decay=READOUT_LR_DECAY)


def trained_experiment(model: str, series: str, options: RecipeOptions) -> Experiment:
    """Build the fully trained ``<model>-<series>`` (:mod:`qml.recipes.lstm`'s settings)."""
    return sequence_experiment(model, series, options, cell_builder=trained_cell)


def _recipe(
    name: str,
    summary: str,
    experiment: Callable[[str, str, RecipeOptions], Experiment],
    model: str,
    series: str,
    epochs: int,
) -> Recipe:
    def build(options: RecipeOptions) -> Experiment:
        return experiment(model, series, options)

    build.__doc__ = f"{summary}: next value of {SERIES[series][1]} from the previous 4."
    return Recipe(
        name,
        f"{summary}: next value of {SERIES[series][1]} from the previous 4 (MSE)",
        build,
        epochs=epochs,
        batch_size=16,
        quick_epochs=1,
    )


RECIPES = (
    *(
        _recipe(f"{m}-reservoir-{s}", f"{RESERVOIRS[m]}, linear read-out", reservoir_experiment, m, s, READOUT_EPOCHS)
        for m in RESERVOIRS
        for s in SERIES
    ),
    *(_recipe(f"{m}-{s}", TRAINED[m], trained_experiment, m, s, 30) for m in TRAINED for s in SERIES),
)
"""The recipes of this module (listed in :func:`qml.recipes.registry._shipped`)."""
