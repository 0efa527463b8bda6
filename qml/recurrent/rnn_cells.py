r"""Vanilla RNN and GRU cells, classical and with Chen's VQC blocks in place of their affine maps.

All four are :class:`~qml.recurrent.RecurrentCell`\ s with ``output_t = h_t``. They carry no cell
state: their ``cell_size`` is 0 and ``c`` is an empty ``(B, 0)`` tensor, so that every cell of
:mod:`qml.recurrent` shares the state ``(h, c)``.

* :class:`RNNCell`: ``h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`` (``torch.nn.RNNCell``).
* :class:`GRUCell`: ``torch.nn.GRUCell``'s equations and weight layout.
* :class:`QRNNCell`: ``h_t = tanh(VQC([x_t, h_{t-1}]))``.
* :class:`QGRUCell`: a GRU whose three maps are VQCs, the reset gate applied before the candidate's VQC.

The quantum cells are the QRNN and QGRU of Chen, Fry, Deshmukh, Rastunkov and Stefanski, "Reservoir
computing via quantum recurrent neural networks" (arXiv 2211.02612), built, as their QLSTM, from the VQC
block of Chen, Yoo and Fang (arXiv 2009.01783) (``papers.md`` §2 "QRNN-RC / QGRU-RC cells"; the paper's
exact wiring was not retrieved, these are the equations of the classical cells with each affine map of
``[x_t, h_{t-1}]`` replaced by a VQC). Freeze them with ``reservoir=True`` or :class:`qml.recurrent.Reservoir`.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from circuits.backend import Backend
from qml.recurrent.cells import RecurrentCell, State
from qml.recurrent.vqc import VQC, _check_generator, _check_int, _concat_qubits

__all__ = ["GRUCell", "QGRUCell", "QRNNCell", "RNNCell"]


class _HiddenOnlyCell(RecurrentCell):
    """A cell whose state is ``h`` alone: ``cell_size = 0`` and ``output_t = h_t``."""

    cell_size = 0

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """Update ``h`` (see the subclass docstrings); ``c`` passes through empty."""
        h, c = state
        h_new = self.update(x, h)
        return h_new, (h_new, c)

    def update(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``h_t`` from ``x_t`` and ``h_{t-1}``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        """Sizes, shown inside ``repr(cell)``."""
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class _AffineCell(_HiddenOnlyCell):
    """A classical cell with ``torch.nn``'s ``weight_ih, weight_hh, bias_ih, bias_hh`` of ``blocks`` gate blocks."""

    blocks: int

    def __init__(
        self, input_size: int, hidden_size: int, *, generator: torch.Generator, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        self.input_size = _check_int("input_size", input_size, 1)
        self.hidden_size = self.output_size = _check_int("hidden_size", hidden_size, 1)
        _check_generator(generator)
        rows = self.blocks * self.hidden_size
        bound = 1.0 / math.sqrt(self.hidden_size)  # PyTorch's default U(-1/sqrt(hidden), 1/sqrt(hidden))
        shapes = {
            "weight_ih": (rows, self.input_size),
            "weight_hh": (rows, self.hidden_size),
            "bias_ih": (rows,),
            "bias_hh": (rows,),
        }
        for name, shape in shapes.items():
            weight = torch.empty(shape, dtype=dtype).uniform_(-bound, bound, generator=generator)
            setattr(self, name, nn.Parameter(weight))


class RNNCell(_AffineCell):
    r"""The Elman RNN cell, ``torch.nn.RNNCell`` (tanh) with its weight layout.

    .. math::
        h_t = \tanh(W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh}).

    ``nn.RNNCell(input_size, hidden_size).state_dict()`` loads into this cell unchanged.

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t``.
        generator: draws every weight from PyTorch's default ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.
        dtype: dtype of the weights.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, 0))`` or ``None``.
        - Output: ``h_t`` ``(B, hidden_size)`` and ``(h_t, c)``.
    """

    blocks = 1

    def update(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The RNN equation (see the class docstring)."""
        return torch.tanh(
            nn.functional.linear(x, self.weight_ih, self.bias_ih)
            + nn.functional.linear(h, self.weight_hh, self.bias_hh)
        )


class GRUCell(_AffineCell):
    r"""The GRU cell, with ``torch.nn.GRUCell``'s equations and weight layout (blocks ``r, z, n``).

    .. math::
        r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}),\quad z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}),

        n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})),\quad h_t = (1 - z) \odot n + z \odot h_{t-1}.

    ``nn.GRUCell(input_size, hidden_size).state_dict()`` loads into this cell unchanged.

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t``.
        generator: draws every weight from PyTorch's default ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``.
        dtype: dtype of the weights.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, 0))`` or ``None``.
        - Output: ``h_t`` ``(B, hidden_size)`` and ``(h_t, c)``.
    """

    blocks = 3

    def update(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The GRU equations (see the class docstring)."""
        xr, xz, xn = nn.functional.linear(x, self.weight_ih, self.bias_ih).chunk(3, dim=1)
        hr, hz, hn = nn.functional.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=1)
        r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
        n = torch.tanh(xn + r * hn)
        return (1 - z) * n + z * h


class _VQCCell(_HiddenOnlyCell):
    """Shared set-up of the VQC cells: sizes, qubit count, the VQCs (:meth:`build`) and the reservoir flag."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        num_qubits: int | None = None,
        num_layers: int = 4,
        more_entangle: bool = True,
        reservoir: bool = False,
        backend: Backend | None = None,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.input_size = _check_int("input_size", input_size, 1)
        self.hidden_size = self.output_size = _check_int("hidden_size", hidden_size, 1)
        n = _concat_qubits(type(self).__name__, self.input_size, self.hidden_size, num_qubits)
        _check_generator(generator)
        self.num_qubits, self.num_layers = n, num_layers
        options: dict[str, Any] = {
            "num_qubits": n,
            "num_layers": num_layers,
            "more_entangle": more_entangle,
            "backend": backend,
            "generator": generator,
            "dtype": dtype,
        }
        self.build(self.input_size + self.hidden_size, options)
        self.reservoir = bool(reservoir)
        if self.reservoir:
            self.requires_grad_(False)

    def build(self, num_inputs: int, options: dict[str, Any]) -> None:
        """Create the cell's VQCs, each ``VQC(num_inputs, hidden_size, **options)``."""
        raise NotImplementedError

    def extra_repr(self) -> str:
        """Sizes, shown inside ``repr(cell)``."""
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, num_qubits={self.num_qubits}, "
            f"num_layers={self.num_layers}, reservoir={self.reservoir}"
        )


class QRNNCell(_VQCCell):
    r"""A vanilla RNN whose affine map is a VQC: the QRNN of Chen et al.'s reservoir paper (arXiv 2211.02612).

    With ``v_t = [x_t, h_{t-1}]`` and a :class:`~qml.recurrent.VQC` of ``input_size + hidden_size``
    inputs and ``hidden_size`` outputs (``papers.md`` §2):

    .. math::
        h_t = \tanh\big(\mathrm{VQC}(v_t)\big).

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t``.
        num_qubits: width of the VQC; ``None`` uses ``input_size + hidden_size``.
        num_layers: variational layers of the VQC (4 in Chen's code).
        more_entangle: the VQC's second CNOT ring (needs 3 qubits or more).
        reservoir: freeze the VQC (``requires_grad=False``): the QRNN reservoir of arXiv 2211.02612.
        backend: where the circuit runs; ``None`` gives ``TorchBackend()``.
        generator: draws the initial weights (``0.01 * N(0, 1)``, as Chen's code).
        dtype: dtype of the weights.

    Attributes:
        vqc: the VQC.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, 0))`` or ``None``.
        - Output: ``h_t`` ``(B, hidden_size)`` and ``(h_t, c)``.
    """

    def build(self, num_inputs: int, options: dict[str, Any]) -> None:
        """The one VQC."""
        self.vqc = VQC(num_inputs, self.hidden_size, **options)

    def update(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """``tanh(VQC([x_t, h_{t-1}]))``."""
        return torch.tanh(self.vqc(torch.cat([x, h], dim=1)))


class QGRUCell(_VQCCell):
    r"""A GRU whose three maps are VQCs: the QGRU of Chen et al.'s reservoir paper (arXiv 2211.02612).

    With ``v_t = [x_t, h_{t-1}]`` and three :class:`~qml.recurrent.VQC`\ s of ``hidden_size``
    outputs (``papers.md`` §2):

    .. math::
        z_t = \sigma(\mathrm{VQC}_z(v_t)),\quad r_t = \sigma(\mathrm{VQC}_r(v_t)),\quad
        \tilde h_t = \tanh\big(\mathrm{VQC}_h([x_t,\ r_t \odot h_{t-1}])\big),

        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t.

    A VQC cannot split its input into an ``x`` part and an ``h`` part, so the reset gate acts on
    ``h_{t-1}`` before the candidate's VQC (Cho et al.'s original GRU), not after the ``h``
    map as in ``torch.nn.GRUCell``; ``z`` weighs the candidate (``1 - z`` there).

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t``.
        num_qubits: width of every VQC; ``None`` uses ``input_size + hidden_size``.
        num_layers: variational layers of every VQC (4 in Chen's code).
        more_entangle: the VQCs' second CNOT ring (needs 3 qubits or more).
        reservoir: freeze the three VQCs: the QGRU reservoir of arXiv 2211.02612.
        backend: where the circuits run; ``None`` gives ``TorchBackend()``.
        generator: draws every initial weight (``0.01 * N(0, 1)``).
        dtype: dtype of the weights.

    Attributes:
        update_gate, reset_gate, candidate: the three VQCs.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, 0))`` or ``None``.
        - Output: ``h_t`` ``(B, hidden_size)`` and ``(h_t, c)``.
    """

    def build(self, num_inputs: int, options: dict[str, Any]) -> None:
        """The three VQCs, drawn in the order update gate, reset gate, candidate."""
        self.update_gate = VQC(num_inputs, self.hidden_size, **options)
        self.reset_gate = VQC(num_inputs, self.hidden_size, **options)
        self.candidate = VQC(num_inputs, self.hidden_size, **options)

    def update(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        """The QGRU equations (see the class docstring)."""
        v = torch.cat([x, h], dim=1)
        z, r = torch.sigmoid(self.update_gate(v)), torch.sigmoid(self.reset_gate(v))
        candidate = torch.tanh(self.candidate(torch.cat([x, r * h], dim=1)))
        return (1 - z) * h + z * candidate
