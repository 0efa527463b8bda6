r"""Recurrent cells with one interface: the classical LSTM, Chen's QLSTM, QKAN-LSTM and HQKAN-LSTM.

Every cell is a :class:`RecurrentCell`: ``cell(x_t, state) -> (output_t, new_state)`` for one time
step, with ``state = None`` meaning the zero initial state. ``output_t`` is what a sequence model
reads out: ``h_t`` for the LSTM, QKAN-LSTM and HQKAN-LSTM cells, and Chen's output VQC applied to
``o_t * tanh(c_t)`` for the QLSTM cell. :class:`~qml.recurrent.SequenceRegressor` runs any cell over a
window.

All four share the LSTM equations; they differ in the map ``G_g`` behind each gate
``g in {f, i, C~, o}``, applied to ``v_t = [x_t, h_{t-1}]``:

.. math::
    f_t = \sigma(G_f(v_t)),\quad i_t = \sigma(G_i(v_t)),\quad \tilde C_t = \tanh(G_C(v_t)),\quad
    o_t = \sigma(G_o(v_t)),\qquad c_t = f_t \odot c_{t-1} + i_t \odot \tilde C_t.

* :class:`LSTMCell`: ``G_g`` affine, ``h_t = o_t * tanh(c_t)`` (Hochreiter & Schmidhuber; PyTorch's
  ``nn.LSTMCell`` equations and weight layout).
* :class:`QLSTMCell`: ``G_g`` a :class:`~qml.recurrent.VQC`, and two more VQCs map ``o_t * tanh(c_t)`` to
  ``h_t`` and to the output (Chen, Yoo, Fang, arXiv 2009.01783; ``docs/papers.md`` §2 "QLSTM cell").
* :class:`QKANLSTMCell`: ``G_g`` a ``QKANLayer`` (Hsu et al., arXiv 2512.05049; ``docs/papers.md`` §3 "QKAN-LSTM",
  a reconstruction), ``h_t = o_t * tanh(c_t)``.
* :class:`HQKANLSTMCell`: ``G_g`` an HQKAN, ``Linear(d -> e) -> QKAN([e, e']) -> Linear(e' -> hidden)``
  (the JHCG encoder/decoder around each gate's QKAN; ``docs/papers.md`` §3 "HQKAN / JHCG Net").

The QKAN cells import :mod:`qml.kan` when they are built, so this module imports without it.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from circuits.backend import Backend
from qml.recurrent.vqc import VQC, _check_generator, _check_int, _concat_qubits

__all__ = ["HQKANLSTMCell", "LSTMCell", "QKANLSTMCell", "QLSTMCell", "RecurrentCell", "State"]

State = tuple[torch.Tensor, torch.Tensor]
"""``(h, c)``: the hidden state ``(B, hidden_size)`` and the cell state ``(B, cell_size)``."""

GATES = ("forget", "input", "candidate", "output")
"""The four gate maps, in the order ``f, i, C~, o``."""


class RecurrentCell(nn.Module):
    """One time step of a recurrent model: ``(x_t, state) -> (output_t, new_state)``.

    Subclasses set :attr:`input_size`, :attr:`hidden_size`, :attr:`cell_size` and :attr:`output_size`
    and implement :meth:`step`; :meth:`forward` checks the input and fills in the zero state.

    Attributes:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t``.
        cell_size: size of ``c_t`` (``hidden_size`` except in the QLSTM cell).
        output_size: size of ``output_t``, what a head reads (``hidden_size`` except in the QLSTM cell).
    """

    input_size: int
    hidden_size: int
    cell_size: int
    output_size: int

    def initial_state(
        self, batch_size: int, *, dtype: torch.dtype | None = None, device: torch.device | None = None
    ) -> State:
        """The zero state ``(h_0, c_0)`` for ``batch_size`` rows (dtype/device of the weights by default).

        Shape:
            - Output: ``((batch_size, hidden_size), (batch_size, cell_size))``.
        """
        reference = next(self.parameters())
        dtype = reference.dtype if dtype is None else dtype
        device = reference.device if device is None else device
        h = torch.zeros(batch_size, self.hidden_size, dtype=dtype, device=device)
        c = torch.zeros(batch_size, self.cell_size, dtype=dtype, device=device)
        return h, c

    def forward(self, x: torch.Tensor, state: State | None = None) -> tuple[torch.Tensor, State]:
        """One time step.

        Args:
            x: the input at time ``t``.
            state: ``(h_{t-1}, c_{t-1})``; ``None`` is the zero state.

        Returns:
            ``(output_t, (h_t, c_t))``.

        Shape:
            - ``x``: ``(B, input_size)``.
            - ``state``: ``((B, hidden_size), (B, cell_size))``.
            - Output: ``(B, output_size)`` and the new state.

        Raises:
            TypeError: ``x`` is not a tensor or ``state`` is not a pair of tensors.
            ValueError: ``x`` or the state has the wrong shape.
        """
        name = type(self).__name__
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} expects a torch.Tensor input x_t, got {type(x).__name__}.")
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(
                f"{name} expects x_t of shape (batch_size, input_size) = (B, {self.input_size}), got "
                f"{tuple(x.shape)}; for a whole window use SequenceRegressor, which takes (B, T, input_size)."
            )
        if state is None:
            state = self.initial_state(x.shape[0], dtype=x.dtype, device=x.device)
        else:
            self._check_state(state, x.shape[0])
        return self.step(x, state)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The cell's equations on checked inputs (see :meth:`forward` for shapes)."""
        raise NotImplementedError

    def _check_state(self, state: object, batch_size: int) -> None:
        name = type(self).__name__
        if not (
            isinstance(state, tuple | list) and len(state) == 2 and all(isinstance(s, torch.Tensor) for s in state)
        ):
            raise TypeError(f"{name} expects state=(h, c), a pair of tensors, or None; got {type(state).__name__}.")
        expected = ((batch_size, self.hidden_size), (batch_size, self.cell_size))
        got = tuple(tuple(s.shape) for s in state)
        if got != expected:
            raise ValueError(f"{name} expects state shapes (h, c) = {expected}, got {got}.")


def _lstm_update(
    f: torch.Tensor, i: torch.Tensor, candidate: torch.Tensor, o: torch.Tensor, c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """``c_t = f * c + i * C~`` and ``o * tanh(c_t)`` from the gates' pre-activations."""
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(candidate)
    return c_new, torch.sigmoid(o) * torch.tanh(c_new)


class LSTMCell(RecurrentCell):
    r"""The classical LSTM cell, with PyTorch's ``nn.LSTMCell`` equations and weight layout.

    .. math::
        (i, f, g, o) = W_{ih} x_t + b_{ih} + W_{hh} h_{t-1} + b_{hh},\quad
        c_t = \sigma(f) c_{t-1} + \sigma(i) \tanh(g),\quad h_t = \sigma(o) \tanh(c_t).

    The rows of ``weight_ih``/``weight_hh``/``bias_*`` are the blocks ``i, f, g, o`` (in that order), so
    ``nn.LSTMCell(input_size, hidden_size).state_dict()`` loads into this cell unchanged. Written out
    (not a wrapped ``nn.LSTMCell``) so that it shares the interface and state checks of the other cells.

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t`` and ``c_t``.
        generator: draws every weight ``U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))``, PyTorch's default.
        dtype: dtype of the weights.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, hidden_size))`` or ``None``.
        - Output: ``h_t`` ``(B, hidden_size)`` and ``(h_t, c_t)``.
    """

    def __init__(
        self, input_size: int, hidden_size: int, *, generator: torch.Generator, dtype: torch.dtype = torch.float32
    ) -> None:
        super().__init__()
        self.input_size = _check_int("input_size", input_size, 1)
        self.hidden_size = self.cell_size = self.output_size = _check_int("hidden_size", hidden_size, 1)
        _check_generator(generator)
        h = self.hidden_size
        self.weight_ih = nn.Parameter(torch.empty(4 * h, self.input_size, dtype=dtype))
        self.weight_hh = nn.Parameter(torch.empty(4 * h, h, dtype=dtype))
        self.bias_ih = nn.Parameter(torch.empty(4 * h, dtype=dtype))
        self.bias_hh = nn.Parameter(torch.empty(4 * h, dtype=dtype))
        bound = 1.0 / math.sqrt(h)
        with torch.no_grad():
            for weight in (self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh):
                weight.uniform_(-bound, bound, generator=generator)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The LSTM equations (see the class docstring)."""
        h, c = state
        gates = nn.functional.linear(x, self.weight_ih, self.bias_ih) + nn.functional.linear(
            h, self.weight_hh, self.bias_hh
        )
        i, f, g, o = gates.chunk(4, dim=1)
        c_new, h_new = _lstm_update(f, i, g, o, c)
        return h_new, (h_new, c_new)

    def extra_repr(self) -> str:
        """Sizes, shown inside ``repr(cell)``."""
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class QLSTMCell(RecurrentCell):
    r"""Chen, Yoo and Fang's quantum LSTM cell: six VQC blocks (arXiv 2009.01783, Fig. 5; ``VQLSTM._forward``).

    With ``v_t = [x_t, h_{t-1}]`` and :class:`~qml.recurrent.VQC` blocks ``VQC_1 .. VQC_6``
    (``docs/papers.md`` §2 "QLSTM cell (spec)"):

    .. math::
        f_t = \sigma(\mathrm{VQC}_1(v_t)),\ i_t = \sigma(\mathrm{VQC}_2(v_t)),\
        \tilde C_t = \tanh(\mathrm{VQC}_3(v_t)),\ o_t = \sigma(\mathrm{VQC}_4(v_t)),\quad
        c_t = f_t \odot c_{t-1} + i_t \odot \tilde C_t,

        h_t = \mathrm{VQC}_5(o_t \odot \tanh c_t),\qquad y_t = \mathrm{VQC}_6(o_t \odot \tanh c_t).

    The cell returns ``y_t`` (``output_size`` values) as its output; the paper's final ``Linear`` on
    ``y_t`` is the head of :class:`~qml.recurrent.SequenceRegressor`. Gate VQCs take
    ``input_size + hidden_size`` inputs and give ``cell_size`` outputs; ``VQC_5``/``VQC_6`` take
    ``cell_size`` inputs and give ``hidden_size``/``output_size`` outputs. All six run on
    ``num_qubits`` qubits. The paper's demo: input 1, hidden 3, 4 qubits, cell 4, output 4, 4 layers.

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t``.
        num_qubits: width of every VQC; ``None`` uses ``input_size + hidden_size`` (one qubit per component of ``v_t``).
        cell_size: size of ``c_t``; ``None`` uses ``num_qubits``.
        output_size: size of ``y_t``; ``None`` uses ``num_qubits``.
        num_layers: variational layers of every VQC (4 in the paper's code).
        more_entangle: the second CNOT ring of the VQC (the paper's setting).
        reservoir: freeze the six VQCs (``requires_grad=False``), Chen et al.'s QLSTM reservoir
            (arXiv 2211.02612, the reference's ``as_reservoir``): only the head then trains.
        backend: where the circuits run; ``None`` gives ``TorchBackend()``.
        generator: draws every initial weight (``0.01 * N(0, 1)``, as the reference).
        dtype: dtype of the weights.

    Attributes:
        forget, input, candidate, output: the gate VQCs 1-4.
        to_hidden, to_output: VQC 5 and VQC 6.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, cell_size))`` or ``None``.
        - Output: ``y_t`` ``(B, output_size)`` and ``(h_t, c_t)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        num_qubits: int | None = None,
        cell_size: int | None = None,
        output_size: int | None = None,
        num_layers: int = 4,
        more_entangle: bool = True,
        reservoir: bool = False,
        backend: Backend | None = None,
        generator: torch.Generator,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.input_size = _check_int("input_size", input_size, 1)
        self.hidden_size = _check_int("hidden_size", hidden_size, 1)
        concat = self.input_size + self.hidden_size
        n = _concat_qubits("QLSTMCell", self.input_size, self.hidden_size, num_qubits)
        self.cell_size = n if cell_size is None else _check_int("cell_size", cell_size, 1)
        self.output_size = n if output_size is None else _check_int("output_size", output_size, 1)
        for name, size in (
            ("cell_size", self.cell_size),
            ("hidden_size", hidden_size),
            ("output_size", self.output_size),
        ):
            if size > n:
                raise ValueError(f"QLSTMCell needs {name} <= num_qubits (one qubit per value), got {size} > {n}.")
        _check_generator(generator)
        self.num_qubits, self.num_layers, self.reservoir = n, num_layers, bool(reservoir)
        options: dict[str, Any] = {
            "num_qubits": n,
            "num_layers": num_layers,
            "more_entangle": more_entangle,
            "backend": backend,
            "generator": generator,
            "dtype": dtype,
        }
        self.forget = VQC(concat, self.cell_size, **options)
        self.input = VQC(concat, self.cell_size, **options)
        self.candidate = VQC(concat, self.cell_size, **options)
        self.output = VQC(concat, self.cell_size, **options)
        self.to_hidden = VQC(self.cell_size, self.hidden_size, **options)
        self.to_output = VQC(self.cell_size, self.output_size, **options)
        if self.reservoir:
            self.requires_grad_(False)

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The QLSTM equations (see the class docstring)."""
        h, c = state
        v = torch.cat([x, h], dim=1)
        c_new, gated = _lstm_update(self.forget(v), self.input(v), self.candidate(v), self.output(v), c)
        return self.to_output(gated), (self.to_hidden(gated), c_new)

    def extra_repr(self) -> str:
        """Sizes, shown inside ``repr(cell)``."""
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, cell_size={self.cell_size}, "
            f"output_size={self.output_size}, num_qubits={self.num_qubits}, num_layers={self.num_layers}, "
            f"reservoir={self.reservoir}"
        )


class _GateMapCell(RecurrentCell):
    """An LSTM whose four gate maps ``forget, input, candidate, output`` are modules of ``v_t = [x_t, h_{t-1}]``."""

    reps: int

    def step(self, x: torch.Tensor, state: State) -> tuple[torch.Tensor, State]:
        """The LSTM update with the gate maps (see the subclass docstrings)."""
        h, c = state
        v = torch.cat([x, h], dim=1)
        c_new, h_new = _lstm_update(self.forget(v), self.input(v), self.candidate(v), self.output(v), c)
        return h_new, (h_new, c_new)

    def extra_repr(self) -> str:
        """Sizes, shown inside ``repr(cell)``."""
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}, reps={self.reps}"


class QKANLSTMCell(_GateMapCell):
    r"""QKAN-LSTM (Hsu et al., arXiv 2512.05049): every gate's affine map becomes a ``QKANLayer``.

    With ``v_t = [x_t, h_{t-1}]`` (``d = input_size + hidden_size`` values) and four layers
    ``QKAN_g = qml.kan.QKANLayer(d, hidden_size, reps)`` (``docs/papers.md`` §3 "QKAN-LSTM", the
    reconstruction ``g_t = act_g(QKANLayer_g([x_t, h_{t-1}]))``):

    .. math::
        f_t = \sigma(\mathrm{QKAN}_f(v_t)),\ i_t = \sigma(\mathrm{QKAN}_i(v_t)),\
        \tilde C_t = \tanh(\mathrm{QKAN}_C(v_t)),\ o_t = \sigma(\mathrm{QKAN}_o(v_t)),

        c_t = f_t \odot c_{t-1} + i_t \odot \tilde C_t,\qquad h_t = o_t \odot \tanh c_t.

    Each ``QKAN_g`` sums one DARUAN activation per edge (``y_j = sum_i phi_ji(v_i) + base_ji silu(v_i)``,
    ``docs/papers.md`` §3 "QKAN layer"): the "sums of quantum subfunctions" that replace ``W v + b``.

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t`` and ``c_t``.
        reps: DARUAN data re-uploading repetitions of every edge.
        generator: draws every initial weight.
        backend: handed to every ``QKANLayer`` (``None``: the layer's default).
        **layer_options: more ``QKANLayer`` keywords (``ansatz``, ``preact_trainable``, ...).

    Attributes:
        forget, input, candidate, output: the four ``QKANLayer``\ s.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, hidden_size))`` or ``None``.
        - Output: ``h_t`` ``(B, hidden_size)`` and ``(h_t, c_t)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        reps: int = 3,
        generator: torch.Generator,
        backend: Backend | None = None,
        **layer_options: Any,
    ) -> None:
        super().__init__()
        from qml.kan import QKANLayer

        self.input_size = _check_int("input_size", input_size, 1)
        self.hidden_size = self.cell_size = self.output_size = _check_int("hidden_size", hidden_size, 1)
        self.reps = _check_int("reps", reps, 1)
        _check_generator(generator)
        d = self.input_size + self.hidden_size
        for gate in GATES:
            layer = QKANLayer(d, self.hidden_size, self.reps, backend=backend, generator=generator, **layer_options)
            setattr(self, gate, layer)


class HQKANLSTMCell(_GateMapCell):
    r"""HQKAN-LSTM (Hsu et al., arXiv 2512.05049): each gate's QKAN inside a JHCG encoder/decoder.

    As :class:`QKANLSTMCell`, with each gate map ``G_g`` an HQKAN
    (``docs/papers.md`` §3 "HQKAN / JHCG Net", "QKAN-LSTM"):

    .. math::
        G_g(v) = D_g\,\mathrm{QKAN}_g([e, e'])(E_g v),\qquad
        E_g: \mathbb R^d \to \mathbb R^e,\ D_g: \mathbb R^{e'} \to \mathbb R^{\mathrm{hidden}}\ \text{linear},

    with ``d = input_size + hidden_size`` and ``e = ceil(log2 d)`` by default (``e' = e`` unless given).

    Args:
        input_size: features of ``x_t``.
        hidden_size: size of ``h_t`` and ``c_t``.
        latent: ``e``; ``None`` uses ``qml.kan.HQKAN``'s default ``ceil(log2 d)``.
        latent_out: ``e'``; ``None`` uses ``qml.kan.HQKAN``'s default.
        reps: DARUAN repetitions of every edge.
        generator: draws every initial weight (the linear maps too).
        backend: handed to the QKAN layers (``None``: their default).
        **layer_options: more ``QKANLayer`` keywords.

    Attributes:
        forget, input, candidate, output: the four ``qml.kan.HQKAN`` gate maps.

    Shape:
        - Input: ``(B, input_size)`` and ``state`` ``((B, hidden_size), (B, hidden_size))`` or ``None``.
        - Output: ``h_t`` ``(B, hidden_size)`` and ``(h_t, c_t)``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        *,
        latent: int | None = None,
        latent_out: int | None = None,
        reps: int = 3,
        generator: torch.Generator,
        backend: Backend | None = None,
        **layer_options: Any,
    ) -> None:
        super().__init__()
        from qml.kan import HQKAN

        self.input_size = _check_int("input_size", input_size, 1)
        self.hidden_size = self.cell_size = self.output_size = _check_int("hidden_size", hidden_size, 1)
        self.reps = _check_int("reps", reps, 1)
        if latent is not None:
            _check_int("latent", latent, 1)
        if latent_out is not None:
            _check_int("latent_out", latent_out, 1)
        _check_generator(generator)
        d = self.input_size + self.hidden_size
        for gate in GATES:
            block = HQKAN(
                d,
                self.hidden_size,
                latent=latent,
                latent_out=latent_out,
                reps=self.reps,
                generator=generator,
                backend=backend,
                **layer_options,
            )
            setattr(self, gate, block)
