r"""Reservoir computing with any recurrent cell: frozen random dynamics, a trained linear read-out.

Chen, Fry, Deshmukh, Rastunkov and Stefanski, "Reservoir computing via quantum recurrent neural
networks" (arXiv 2211.02612; ``papers.md`` §2 "Reservoir set-up"): a QRNN, QLSTM or QGRU with randomly
initialised, frozen weights is a dynamical system, and only the final linear layer is trained (Chen's
``VQLSTM(as_reservoir=True)``). Because the reservoir never changes, its features can be collected
once, in one pass without gradients, and the read-out fitted on them:

* by gradient descent: :func:`train_linear_readout` (Adam on the MSE of an ``nn.Linear``), or a
  :class:`ReservoirRegressor` trained end to end by any training loop (only the read-out has gradients);
* in closed form: :class:`RidgeReadout`, ridge regression with the regularisation chosen on a
  validation split.

Classical RNN, LSTM and GRU cells (:class:`~qml.recurrent.RNNCell`, :class:`~qml.recurrent.LSTMCell`,
:class:`~qml.recurrent.GRUCell`) make the classical reservoirs of the same interface.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from qml.layers.init import seeded_linear
from qml.recurrent.cells import RecurrentCell
from qml.recurrent.layer import sequence_input
from qml.recurrent.vqc import _check_generator, _check_int

__all__ = [
    "DEFAULT_RIDGE_ALPHAS",
    "Reservoir",
    "ReservoirRegressor",
    "RidgeFit",
    "RidgeReadout",
    "collect_features",
    "train_linear_readout",
]

DEFAULT_RIDGE_ALPHAS = tuple(10.0**e for e in range(-8, 3))
"""The regularisation strengths :meth:`RidgeReadout.fit` tries: ``1e-8, 1e-7, ..., 1e2``."""

Features = Literal["last", "all"]


class Reservoir(nn.Module):
    r"""A recurrent cell frozen at seeded random weights, mapping sequences to features.

    Every parameter of ``cell`` gets ``requires_grad=False``, and :meth:`forward` runs under
    ``torch.no_grad()``: no optimiser step can change the reservoir, even one handed all the
    model's parameters. The weights are the cell's own seeded initialisation (Chen's reservoirs keep
    the VQCs' ``0.01 * N(0, 1)`` draw), or, with ``redraw_scale``, a fresh ``U(-scale, scale)`` draw of
    every weight from ``generator`` (for example ``pi`` for angles spread over the whole circle).

    Args:
        cell: any :class:`~qml.recurrent.RecurrentCell` (quantum or classical).
        features: ``"last"``: the cell's output at the last step (what Chen's linear layer reads);
            ``"all"``: the outputs of every step, concatenated (oldest first).
        redraw_scale: redraw every weight uniformly in ``[-redraw_scale, redraw_scale]``; ``None`` keeps them.
        generator: draws the redrawn weights (required with ``redraw_scale``).

    Attributes:
        cell: the frozen cell.

    Shape:
        - Input: ``(B, T, input_size)`` (or ``(B, T)`` for one feature).
        - Output: ``(B, output_size)`` for ``"last"``, ``(B, T * output_size)`` for ``"all"``.
    """

    def __init__(
        self,
        cell: RecurrentCell,
        *,
        features: Features = "last",
        redraw_scale: float | None = None,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(
                f"Reservoir needs a qml.recurrent.RecurrentCell (QRNNCell, QLSTMCell, QGRUCell, RNNCell, LSTMCell, "
                f"GRUCell, ...), got {type(cell).__name__}."
            )
        if features not in ("last", "all"):
            raise ValueError(f"features must be 'last' or 'all', got {features!r}.")
        if redraw_scale is not None:
            _check_generator(generator)
            scale = float(redraw_scale)
            if not math.isfinite(scale) or scale <= 0:
                raise ValueError(f"redraw_scale must be a positive finite number, got {redraw_scale!r}.")
            with torch.no_grad():
                for weight in cell.parameters():
                    weight.uniform_(-scale, scale, generator=generator)
        cell.requires_grad_(False)
        self.cell = cell
        self.features = features

    def feature_size(self, steps: int) -> int:
        """Features per sequence of ``steps`` steps."""
        size = self.cell.output_size
        return size if self.features == "last" else _check_int("steps", steps, 1) * size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The reservoir's features of every sequence (no gradients).

        Args:
            x: sequences, oldest step first.

        Returns:
            The features.

        Shape:
            - Input: ``(B, T, input_size)`` or ``(B, T)``.
            - Output: ``(B, F)``.
        """
        x = sequence_input(x, self.cell.input_size, "Reservoir", "sequences")
        with torch.no_grad():
            state = None
            outputs = []
            for t in range(x.shape[1]):
                output, state = self.cell(x[:, t], state)
                outputs.append(output)
        return outputs[-1] if self.features == "last" else torch.cat(outputs, dim=1)

    def extra_repr(self) -> str:
        """The feature mode, shown inside ``repr(reservoir)``."""
        return f"features={self.features!r}"


def collect_features(reservoir: Reservoir, x: torch.Tensor, *, batch_size: int = 256) -> torch.Tensor:
    """Run the reservoir once over a whole dataset, ``batch_size`` sequences at a time.

    Args:
        reservoir: the frozen reservoir.
        x: all sequences.
        batch_size: sequences per call (memory only; the features do not depend on it).

    Returns:
        The features, detached.

    Shape:
        - Input: ``(N, T, input_size)`` or ``(N, T)``. Output: ``(N, F)``.
    """
    if not isinstance(reservoir, Reservoir):
        raise TypeError(f"collect_features needs a qml.recurrent.Reservoir, got {type(reservoir).__name__}.")
    batch_size = _check_int("batch_size", batch_size, 1)
    x = sequence_input(x, reservoir.cell.input_size, "collect_features", "sequences")
    return torch.cat([reservoir(x[i : i + batch_size]) for i in range(0, x.shape[0], batch_size)]).detach()


@dataclass(frozen=True)
class RidgeFit:
    """What :meth:`RidgeReadout.fit` chose.

    Attributes:
        alpha: the regularisation strength kept.
        validation_mse: the validation MSE of every strength tried (``alpha -> mse``); empty without a
            validation split.
        train_mse: the training MSE at ``alpha``.
    """

    alpha: float
    validation_mse: dict[float, float]
    train_mse: float


class RidgeReadout(nn.Module):
    r"""A linear read-out fitted in closed form by ridge regression; the strength chosen on a validation split.

    For features ``X`` (``N x F``) and targets ``Y``, with the means ``x_bar, y_bar`` removed so that the
    intercept is not penalised:

    .. math::
        W_\alpha = (X_c^\top X_c + \alpha I)^{-1} X_c^\top Y_c,\qquad b = \bar y - W_\alpha^\top \bar x,

    for every ``alpha`` of ``alphas`` (one eigendecomposition of ``X_c^T X_c`` in float64 serves them
    all), keeping the one with the smallest validation MSE. Works for any reservoir's features.

    Args:
        in_features: ``F``.
        out_features: outputs per sample; 1 gives ``(B,)`` predictions when fitted on ``(N,)`` targets.
        dtype: dtype of the fitted weights.

    Attributes:
        weight: ``(out_features, in_features)``; ``bias``: ``(out_features,)`` (buffers, saved in the state dict).
        fit_result: the last :class:`RidgeFit`, or ``None`` before :meth:`fit`.

    Shape:
        - Input: ``(B, in_features)``.
        - Output: ``(B,)`` after a fit on ``(N,)`` targets, else ``(B, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int = 1, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.in_features = _check_int("in_features", in_features, 1)
        self.out_features = _check_int("out_features", out_features, 1)
        self.register_buffer("weight", torch.zeros(self.out_features, self.in_features, dtype=dtype))
        self.register_buffer("bias", torch.zeros(self.out_features, dtype=dtype))
        self.register_buffer("squeeze_output", torch.tensor(False))
        self.fit_result: RidgeFit | None = None

    def fit(
        self,
        features: torch.Tensor,
        targets: torch.Tensor,
        *,
        validation: tuple[torch.Tensor, torch.Tensor] | None = None,
        alphas: Sequence[float] = DEFAULT_RIDGE_ALPHAS,
    ) -> RidgeFit:
        """Fit the read-out; with several ``alphas``, keep the one with the best validation MSE.

        Args:
            features: training features.
            targets: training targets.
            validation: ``(features, targets)`` of the validation split (needed with more than one alpha).
            alphas: regularisation strengths ``>= 0`` to try.

        Returns:
            The :class:`RidgeFit`.

        Shape:
            - Input: ``features`` ``(N, in_features)``; ``targets`` ``(N,)`` or ``(N, out_features)``.

        Raises:
            ValueError: shapes that do not match, no or negative alphas, several alphas without a validation split.
        """
        x, y, squeeze = self._check_pair(features, targets, "training")
        alphas = _check_alphas(alphas)
        if validation is None and len(alphas) > 1:
            raise ValueError(
                f"RidgeReadout chooses alpha on a validation split: pass validation=(features, targets), or a single "
                f"alpha, e.g. alphas=[1e-4]; got {len(alphas)} alphas and no validation split."
            )
        mean_x, mean_y = x.mean(dim=0), y.mean(dim=0)
        xc, yc = x - mean_x, y - mean_y
        eigenvalues, eigenvectors = torch.linalg.eigh(xc.T @ xc)
        projected = eigenvectors.T @ (xc.T @ yc)  # (F, out)

        def solve(alpha: float) -> tuple[torch.Tensor, torch.Tensor]:
            weight = eigenvectors @ (projected / (eigenvalues.clamp_min(0.0) + alpha).unsqueeze(1))
            return weight, mean_y - mean_x @ weight

        scores: dict[float, float] = {}
        if validation is not None:
            xv, yv, _ = self._check_pair(*validation, "validation")
            for alpha in alphas:
                weight, bias = solve(alpha)
                scores[alpha] = float(((xv @ weight + bias - yv) ** 2).mean())
            best = min(scores, key=lambda a: (scores[a], -a))
        else:
            best = alphas[0]
        weight, bias = solve(best)
        with torch.no_grad():
            self.weight.copy_(weight.T)
            self.bias.copy_(bias)
            self.squeeze_output.fill_(squeeze)
        train_mse = float(((x @ weight + bias - y) ** 2).mean())
        self.fit_result = RidgeFit(best, scores, train_mse)
        return self.fit_result

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """Predictions ``features @ weight.T + bias``."""
        if not isinstance(features, torch.Tensor) or features.ndim != 2 or features.shape[1] != self.in_features:
            got = tuple(features.shape) if isinstance(features, torch.Tensor) else type(features).__name__
            raise ValueError(f"RidgeReadout expects features of shape (B, {self.in_features}), got {got}.")
        out = nn.functional.linear(features.to(self.weight.dtype), self.weight, self.bias)
        return out.squeeze(1) if bool(self.squeeze_output) else out

    def _check_pair(self, features: object, targets: object, part: str) -> tuple[torch.Tensor, torch.Tensor, bool]:
        if not isinstance(features, torch.Tensor) or not isinstance(targets, torch.Tensor):
            raise TypeError(f"RidgeReadout.fit needs {part} features and targets as torch.Tensors.")
        if features.ndim != 2 or features.shape[1] != self.in_features:
            raise ValueError(
                f"RidgeReadout.fit expects {part} features of shape (N, {self.in_features}), "
                f"got {tuple(features.shape)}."
            )
        squeeze = targets.ndim == 1
        y = targets.unsqueeze(1) if squeeze else targets
        if y.ndim != 2 or y.shape != (features.shape[0], self.out_features) or (squeeze and self.out_features != 1):
            raise ValueError(
                f"RidgeReadout.fit expects {part} targets of shape ({features.shape[0]},) or "
                f"({features.shape[0]}, {self.out_features}), got {tuple(targets.shape)}."
            )
        return features.detach().double(), y.detach().double(), squeeze


def train_linear_readout(
    features: torch.Tensor,
    targets: torch.Tensor,
    *,
    epochs: int = 200,
    lr: float = 0.01,
    batch_size: int | None = None,
    generator: torch.Generator,
) -> tuple[nn.Linear, list[float]]:
    """Fit an ``nn.Linear`` read-out on fixed features by gradient descent (Adam on the MSE).

    Args:
        features: the reservoir's features (collected once with :func:`collect_features`).
        targets: the targets.
        epochs: passes over the features.
        lr: Adam's learning rate.
        batch_size: samples per step; ``None``: full batch.
        generator: draws the initial weights (PyTorch's default ranges) and the batch order.

    Returns:
        ``(readout, losses)``: the layer (``out_features = 1`` for ``(N,)`` targets; apply it and
        squeeze to get ``(B,)``), and the mean training MSE of every epoch.

    Shape:
        - Input: ``features`` ``(N, F)``; ``targets`` ``(N,)`` or ``(N, out)``.
    """
    _check_generator(generator)
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise ValueError(
            f"train_linear_readout expects features of shape (N, F), got {getattr(features, 'shape', None)}."
        )
    if not isinstance(targets, torch.Tensor) or targets.shape[0] != features.shape[0] or targets.ndim not in (1, 2):
        raise ValueError(
            f"train_linear_readout expects targets of shape ({features.shape[0]},) or ({features.shape[0]}, out), "
            f"got {getattr(targets, 'shape', None)}."
        )
    epochs = _check_int("epochs", epochs, 1)
    n = features.shape[0]
    size = n if batch_size is None else _check_int("batch_size", batch_size, 1)
    y = targets.unsqueeze(1) if targets.ndim == 1 else targets
    x = features.detach()
    readout = seeded_linear(x.shape[1], y.shape[1], generator).to(x.dtype)
    optimizer = torch.optim.Adam(readout.parameters(), lr=float(lr))
    losses = []
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for i in range(0, n, size):
            rows = order[i : i + size]
            loss = nn.functional.mse_loss(readout(x[rows]), y[rows].to(x.dtype))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(rows)
        losses.append(total / n)
    return readout, losses


class ReservoirRegressor(nn.Module):
    """A :class:`Reservoir` followed by a trainable linear read-out: next-value regression end to end.

    The reservoir has no gradients, so any training loop that steps ``model.parameters()`` trains the
    read-out alone (Chen's ``as_reservoir`` set-up). Faster: collect the features once and fit the
    read-out with :func:`train_linear_readout` or :class:`RidgeReadout`, then put it here as ``readout``.

    Args:
        reservoir: the frozen reservoir.
        readout: a module mapping ``(B, F)`` features to ``(B, 1)`` or ``(B,)``; ``None`` builds an
            ``nn.Linear(F, 1)`` from ``generator`` (``features="last"`` only: ``F`` must not depend on ``T``).
        generator: draws the default read-out's weights.

    Attributes:
        reservoir, readout: the parts.

    Shape:
        - Input: ``(B, T, input_size)`` or ``(B, T)``.
        - Output: ``(B,)``.
    """

    def __init__(
        self, reservoir: Reservoir, readout: nn.Module | None = None, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        if not isinstance(reservoir, Reservoir):
            raise TypeError(f"ReservoirRegressor needs a qml.recurrent.Reservoir, got {type(reservoir).__name__}.")
        if readout is None:
            if reservoir.features != "last":
                raise ValueError(
                    "ReservoirRegressor builds its default nn.Linear(F, 1) for features='last' only; with "
                    "features='all' pass readout=nn.Linear(T * output_size, 1)."
                )
            _check_generator(generator)
            reference = next(reservoir.cell.parameters(), None)
            readout = seeded_linear(reservoir.cell.output_size, 1, generator)
            if reference is not None:
                readout = readout.to(reference.dtype)
        elif not isinstance(readout, nn.Module):
            raise TypeError(f"readout must be a torch.nn.Module, got {type(readout).__name__}.")
        self.reservoir = reservoir
        self.readout = readout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict the value after each sequence."""
        out = self.readout(self.reservoir(x))
        return out.squeeze(-1) if out.ndim == 2 and out.shape[1] == 1 else out


def _check_alphas(alphas: object) -> list[float]:
    if isinstance(alphas, (str, bytes)) or not isinstance(alphas, Sequence):
        raise TypeError(f"alphas must be a sequence of numbers, got {type(alphas).__name__}.")
    values = [float(a) for a in alphas]
    if not values or any(not math.isfinite(a) or a < 0 for a in values):
        raise ValueError(f"alphas must be one or more finite numbers >= 0, got {list(alphas)}.")
    return values
