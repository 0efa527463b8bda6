"""Run any recurrent cell over whole sequences, batch first, like ``torch.nn.GRU(batch_first=True)``."""

from __future__ import annotations

import torch
from torch import nn

from qml.recurrent.cells import RecurrentCell, State

__all__ = ["RecurrentLayer"]


class RecurrentLayer(nn.Module):
    """A :class:`~qml.recurrent.RecurrentCell` unrolled over a batch of sequences.

    ``RecurrentLayer(QGRUCell(...))(x)`` returns what ``nn.GRU(..., batch_first=True)(x)`` returns for a
    classical GRU: every step's output and the final state (here the pair ``(h_T, c_T)`` of the cell
    interface; ``c`` is empty for RNN and GRU cells).

    Args:
        cell: the cell applied at every step.

    Attributes:
        cell: the cell.

    Shape:
        - Input: ``x`` ``(B, T, input_size)`` (or ``(B, T)`` when ``input_size == 1``) and ``state``
          ``((B, hidden_size), (B, cell_size))`` or ``None`` (zeros).
        - Output: ``(B, T, output_size)`` and ``((B, hidden_size), (B, cell_size))``.

    Raises:
        TypeError: ``cell`` is not a :class:`~qml.recurrent.RecurrentCell`.
    """

    def __init__(self, cell: RecurrentCell) -> None:
        super().__init__()
        if not isinstance(cell, RecurrentCell):
            raise TypeError(f"RecurrentLayer needs a qml.recurrent.RecurrentCell, got {type(cell).__name__}.")
        self.cell = cell

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """Run the cell over every step of ``x``.

        Args:
            x: sequences, oldest step first.
            state: the initial state; ``None`` is the zero state.

        Returns:
            ``(outputs, final_state)``.

        Raises:
            TypeError: ``x`` is not a tensor.
            ValueError: ``x`` has the wrong shape (the message gives the accepted shapes).
        """
        x = sequence_input(x, self.cell.input_size, type(self).__name__, "sequences")
        outputs = []
        for t in range(x.shape[1]):
            output, state = self.cell(x[:, t], state)
            outputs.append(output)
        assert state is not None
        return torch.stack(outputs, dim=1), state


def sequence_input(x: object, input_size: int, caller: str, noun: str) -> torch.Tensor:
    """Check a batch of sequences and return it as ``(B, T, input_size)`` (``(B, T)`` allowed for one feature).

    Args:
        x: the sequences.
        input_size: features per step the cell takes.
        caller: the class named in messages.
        noun: what the sequences are called in messages (``"windows"``, ``"sequences"``).

    Raises:
        TypeError: ``x`` is not a tensor.
        ValueError: any other shape, or ``T < 1``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{caller} expects a torch.Tensor, got {type(x).__name__}.")
    given = tuple(x.shape)
    if x.ndim == 2 and input_size == 1:
        x = x.unsqueeze(-1)
    if x.ndim != 3 or x.shape[1] < 1 or x.shape[2] != input_size:
        accepted = f"(B, T) or (B, T, {input_size})" if input_size == 1 else f"(B, T, {input_size})"
        raise ValueError(
            f"{caller} expects {noun} of shape {accepted} with T >= 1 for a cell with input_size={input_size}, "
            f"got {given}."
        )
    return x
