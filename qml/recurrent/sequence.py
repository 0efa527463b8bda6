"""Run a recurrent cell over a window and read the next value out of its last output."""

from __future__ import annotations

import torch
from torch import nn

from qml.layers.init import seeded_linear
from qml.recurrent.cells import RecurrentCell
from qml.recurrent.layer import sequence_input
from qml.recurrent.vqc import _check_generator

__all__ = ["SequenceRegressor", "count_trainable"]


class SequenceRegressor(nn.Module):
    r"""Next-value regression with any :class:`~qml.recurrent.RecurrentCell`.

    For a window ``x_1 .. x_T`` (oldest first), from the zero state:

    .. math::
        (y_t, s_t) = \mathrm{cell}(x_t, s_{t-1}),\qquad \hat x_{T+1} = w^\top y_T + b,

    the set-up of the QLSTM / QKAN-LSTM papers' "predict the next value from the previous 4"
    (``docs/papers.md`` §2 "Tasks / datasets"). ``y_t`` is the cell's output (``h_t``, or ``VQC_6``'s
    output for the QLSTM cell), so the linear head is Chen's ``classical_nn_linear``.

    Args:
        cell: the recurrent cell.
        generator: draws the head's initial weights (PyTorch's default uniform bounds).

    Attributes:
        cell: the cell.
        head: ``nn.Linear(cell.output_size, 1)``.

    Shape:
        - Input: ``(B, T)`` (one feature per step; needs ``cell.input_size == 1``) or ``(B, T, input_size)``.
        - Output: ``(B,)``.

    Raises:
        TypeError: ``cell`` is not a :class:`~qml.recurrent.RecurrentCell` or ``generator`` not a ``torch.Generator``.
    """

    def __init__(self, cell: RecurrentCell, *, generator: torch.Generator) -> None:
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(
                f"SequenceRegressor needs a qml.recurrent.RecurrentCell (LSTMCell, QLSTMCell, QKANLSTMCell, "
                f"HQKANLSTMCell), got {type(cell).__name__}."
            )
        _check_generator(generator)
        self.cell = cell
        head = seeded_linear(cell.output_size, 1, generator)
        reference = next(cell.parameters(), None)
        self.head = head if reference is None else head.to(reference.dtype)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Predict the value after each window.

        Args:
            x: windows, oldest step first.

        Returns:
            One prediction per window.

        Shape:
            - Input: ``(B, T)`` or ``(B, T, input_size)``.
            - Output: ``(B,)``.
        """
        x = sequence_input(x, self.cell.input_size, "SequenceRegressor", "windows")
        state = None
        output = x.new_zeros(0)
        for t in range(x.shape[1]):
            output, state = self.cell(x[:, t], state)
        return self.head(output).squeeze(-1)


def count_trainable(model: nn.Module) -> int:
    """Number of trainable scalars: entries of the parameters with ``requires_grad``, each shared one counted once.

    Args:
        model: any module.

    Returns:
        The count.

    Raises:
        TypeError: ``model`` is not an ``nn.Module``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"count_trainable needs a torch.nn.Module, got {type(model).__name__}.")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
