"""Training data: what the fit loop accepts, and the one hold-out split every caller uses.

::

    train, validation = holdout(x, y, 0.2, "random", generator=generator)   # a seeded random 20 %
    train, validation = holdout(x, y, 0.2, "tail")                         # the last 20 % (time series)
    train, validation = holdout(x, y, 0.2, "head")                         # the first 20 %

:func:`holdout` splits tensors, :func:`~qml.training.fit.validation_split` splits any dataset; both
take their indices from :func:`holdout_indices`.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
from torch.utils.data import Dataset, TensorDataset

__all__ = ["HOLDOUT_STRATEGIES", "DataSource", "HoldoutStrategy", "as_dataset", "holdout", "holdout_indices"]

DataSource = Dataset | tuple[torch.Tensor, ...]
"""A dataset yielding ``(inputs, targets)``, or a tuple of tensors sharing their first axis."""

HoldoutStrategy = Literal["random", "tail", "head"]
"""Which rows are held out: a seeded random subset, the last rows, or the first rows."""

HOLDOUT_STRATEGIES: tuple[str, ...] = get_args(HoldoutStrategy)


def as_dataset(data: DataSource) -> Dataset:
    """``data`` as a :class:`~torch.utils.data.Dataset` (a tuple of tensors becomes a ``TensorDataset``).

    Raises:
        TypeError: neither a dataset nor a tuple of tensors.
        ValueError: tensors whose first (sample) axes differ.
    """
    if isinstance(data, tuple):
        if not data or not all(isinstance(t, torch.Tensor) for t in data):
            raise TypeError("training data as a tuple must hold tensors, e.g. (inputs, targets).")
        lengths = {t.shape[0] for t in data}
        if len(lengths) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in data)
            raise ValueError(f"the tensors of a dataset need the same first (sample) axis, got shapes {shapes}.")
        return TensorDataset(*data)
    if not isinstance(data, Dataset):
        raise TypeError(f"data must be a torch Dataset or a tuple of tensors, got {type(data).__name__}.")
    return data


def holdout_indices(
    num_samples: int,
    fraction: float,
    strategy: HoldoutStrategy,
    *,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The row indices ``(train, held_out)`` of a hold-out split of ``num_samples`` rows.

    ``round(fraction * num_samples)`` rows are held out:

    * ``"random"``: the last rows of ``torch.randperm(num_samples, generator=generator)`` (the draw
      advances ``generator``; callers that go on to initialise a model from it get the same weights
      as before only if they split first, as the shipped recipes do);
    * ``"tail"``: the last rows, in order (a time series stays chronological);
    * ``"head"``: the first rows, in order.

    Args:
        num_samples: rows to split.
        fraction: share held out, in ``(0, 1)``.
        strategy: ``"random"``, ``"tail"`` or ``"head"``.
        generator: draws the permutation of ``"random"`` (required there, unused otherwise).

    Returns:
        ``(train, held_out)`` int64 index tensors; ``train`` in permutation (``"random"``) or row order.

    Raises:
        ValueError: a fraction outside ``(0, 1)``, one that leaves a part empty, or an unknown strategy.
        TypeError: ``"random"`` without a ``torch.Generator``.
    """
    if strategy not in HOLDOUT_STRATEGIES:
        raise ValueError(f"hold-out strategy must be one of {', '.join(HOLDOUT_STRATEGIES)}, got {strategy!r}.")
    if not 0 < fraction < 1:
        raise ValueError(f"the held-out fraction must lie in (0, 1), got {fraction!r}.")
    held = round(fraction * num_samples)
    if held < 1 or held >= num_samples:
        raise ValueError(
            f"holding out {fraction} of {num_samples} samples leaves an empty part; use more samples or "
            "another fraction."
        )
    if strategy == "random":
        if not isinstance(generator, torch.Generator):
            raise TypeError(
                f"a random hold-out split needs a torch.Generator (generator=...), got {type(generator).__name__}."
            )
        order = torch.randperm(num_samples, generator=generator)
        return order[:-held], order[-held:]
    order = torch.arange(num_samples)
    if strategy == "tail":
        return order[:-held], order[-held:]
    return order[held:], order[:held]


def holdout(
    x: torch.Tensor,
    y: torch.Tensor,
    fraction: float,
    strategy: HoldoutStrategy,
    *,
    generator: torch.Generator | None = None,
) -> tuple[tuple[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]:
    """``((x_train, y_train), (x_held, y_held))``: the rows :func:`holdout_indices` picks.

    Shape:
        x: ``(N, ...)``; y: ``(N, ...)``. The parts keep the trailing shapes.

    Raises:
        ValueError: ``x`` and ``y`` of different lengths, or as :func:`holdout_indices`.
    """
    if len(x) != len(y):
        raise ValueError(f"inputs and targets need the same number of rows, got {len(x)} and {len(y)}.")
    train, held = holdout_indices(len(x), fraction, strategy, generator=generator)
    return (x[train], y[train]), (x[held], y[held])
