r"""Bausch's recurrent quantum neural network: a cell of quantum neurons, unrolled with postselection.

Bausch, "Recurrent Quantum Neural Networks" (NeurIPS 2020, arXiv 2006.14619); reference code
``CLEconomides/RVQE`` (``RVQE/model.py``: ``RVQECell``, ``RVQE``; ``main.py``: loss, clipping,
initialisation); spec ``papers.md`` §1 "QRNN cell".

Qubits: ``I`` in/out **lanes** (the token width in bits; lane 0 is the most significant bit of a class
label), ``H`` **workspace** qubits (the cell state) and the neurons' ancillas. One time step, with every
neuron reading all lanes and workspace qubits except the one it writes (:func:`apply_quantum_neuron`):

1. write the input: ``X`` on every lane whose input bit is 1 (the lanes start in ``|0>``);
2. input stage: one neuron per workspace qubit;
3. ``stages`` work stages: ``RY(alpha_{s,j})`` on every workspace qubit, then one neuron per workspace qubit;
4. un-write the input (the same ``X`` gates);
5. output stage: one neuron per lane;
6. read-out: the marginal distribution of the lanes, ``p_t(y)`` over the ``2^I`` classes.

Between steps the lanes are measured: **postselected** on the target class (teacher forcing; every step
in training, the unscored steps at evaluation) or **sampled** from ``p_t`` (the scored steps at
evaluation), then flipped back to ``|0>``. Only the workspace carries over.

How it is simulated (:class:`QuantumNeuronCell`): the lanes hold a basis state from step 1 to step 4
(the neurons of steps 2-3 only read them), so those stages act on the workspace alone, ``(B, 2^H)``,
with each neuron's rotation taken at the sample's input bits; the output stage acts on the joint
``(B, 2^I, 2^H)`` state. Every neuron is the postselected fast path (no ancillas); the state is real,
renormalised once per stage, and the product of the stages' norms is the probability that every
neuron's postselection of the step succeeded. Neuron factors depend only on the weights, so they are
computed once per forward pass for all steps (:meth:`QuantumNeuronCell.tables`).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from circuits.backend import available_memory_bytes, check_state_memory
from circuits.errors import SimulationMemoryError
from circuits.library.quantum_neuron import DEFAULT_NEURON_OFFSET, neuron_weight_count
from qml.recurrent.errors import PostselectionError
from qml.recurrent.quantum_neuron import (
    check_order,
    neuron_factors,
    neuron_pre_activation,
    subset_indicator,
)
from qml.recurrent.vqc import _check_generator, _check_int

__all__ = [
    "GRADIENT_CLIP_NORM",
    "CellStep",
    "NeuronTables",
    "QRNNOutput",
    "QuantumNeuronCell",
    "QuantumNeuronRNN",
    "clip_gradients",
    "qrnn_loss",
    "qrnn_loss_floor",
    "qrnn_parameter_count",
]

GRADIENT_CLIP_NORM = 0.5
"""RVQE's gradient-norm clip (``main.py``: ``clip_grad_norm_(rvqe.parameters(), 0.5)``)."""


def qrnn_parameter_count(lanes: int, workspace: int, stages: int, degree: int) -> int:
    r"""The trainable parameters of the QRNN, as the paper counts them.

    Every neuron reads ``m = I + H - 1`` qubits and has ``sum_{j=1..d} C(m, j)`` weights and one bias;
    there are ``H`` (input stage) ``+ stages * H`` (work stages) ``+ I`` (output stage) neurons, and
    ``H`` angles per work stage:

    .. math::
        N = \big(H (1 + S) + I\big)\Big(1 + \sum_{j=1}^{d}\binom{I + H - 1}{j}\Big) + S H.

    Example: RVQE's DNA model (``I = 3, H = 5, S = 1, d = 3``) has 837 parameters
    (``papers.md`` §1); the 12-qubit MNIST model (``I = 2, H = 8, S = 2, d = 2``) has 1212.
    """
    i, h = _check_int("lanes", lanes, 1), _check_int("workspace", workspace, 1)
    s = _check_int("stages", stages, 0)
    per_neuron = neuron_weight_count(i + h - 1, degree) + 1
    return (h * (1 + s) + i) * per_neuron + s * h


@dataclass(frozen=True)
class NeuronTables:
    """Every neuron's factors ``(cos^(2^k) eta, sin^(2^k) eta)`` over its source basis states, and the ``RY`` layers.

    Attributes:
        workspace_cos: ``cos^(2^k) eta`` of the input- and work-stage neurons (stage-major, then workspace
            qubit), indexed by the lanes' class ``x`` and the workspace basis state (repeated over the
            neuron's own qubit).
        workspace_sin: the matching ``sin^(2^k) eta``, negated where the neuron's qubit is 0 (the ``-iY``).
        output_cos: the same for the output-stage neurons, indexed by all ``I + H`` qubits.
        output_sin: the matching signed ``sin`` factors.
        rotations: per work stage, the transposed matrix of ``RY(alpha_0) x ... x RY(alpha_{H-1})``
            (right-multiplies ``(B, 2^H)`` states).

    Shape:
        - ``workspace_cos``, ``workspace_sin``: ``(H * (1 + stages), 2^I, 2^H)``.
        - ``output_cos``, ``output_sin``: ``(I, 2^(I+H))``.
        - ``rotations``: ``(stages, 2^H, 2^H)``.
    """

    workspace_cos: torch.Tensor
    workspace_sin: torch.Tensor
    output_cos: torch.Tensor
    output_sin: torch.Tensor
    rotations: torch.Tensor


@dataclass(frozen=True)
class CellStep:
    """One step of :class:`QuantumNeuronCell`.

    Attributes:
        state: the joint state of lanes and workspace after the output stage (renormalised, real);
            ``state[b, y]`` is the workspace's (unnormalised) state given lane class ``y``.
        probabilities: ``p(y)``, the read-out distribution of the lanes.
        success: the probability that every neuron's postselection of the step succeeded.

    Shape:
        - ``state``: ``(B, 2^I, 2^H)``; ``probabilities``: ``(B, 2^I)``; ``success``: ``(B,)``.
    """

    state: torch.Tensor
    probabilities: torch.Tensor
    success: torch.Tensor


class QuantumNeuronCell(nn.Module):
    r"""One QRNN cell (RVQE's ``RVQECell``): input stage, work stages, output stage of quantum neurons.

    See the module docstring for the step. Every neuron has ``neuron_weight_count(I + H - 1, degree)``
    weights ``phi_S`` and a bias ``theta``, and the activation of order ``order``
    (:mod:`qml.recurrent.quantum_neuron`). The circuit needs ``I + H + order`` qubits with mid-circuit
    measurement and reset (the paper's count), which must fit ``num_qubits`` when given.

    Args:
        lanes: ``I``, the in/out lanes (token width in bits); ``2^I`` classes.
        workspace: ``H``, the workspace qubits; ``None`` takes what ``num_qubits`` leaves: ``num_qubits - I - order``.
        num_qubits: the qubit budget (optional when ``workspace`` is given).
        stages: work stages ``S >= 0`` (the paper's MNIST model: 2).
        order: the neurons' order ``k``, ``1 .. MAX_ORDER`` (the paper: 2).
        degree: the neurons' degree, ``1 .. I + H - 1`` (the paper's MNIST model: 2).
        offset: the constant ``beta`` in every pre-activation (``pi/2``).
        generator: draws the initial parameters.
        weight_std: ``phi ~ N(0, weight_std)`` (RVQE's ``--initial-weights-spread``, 0.01).
        bias_std: ``theta ~ N(0, bias_std)`` (``--initial-bias-spread``, 0.1).
        angle_std: work-stage ``RY`` angles ``~ N(0, angle_std)`` (``--initial-unitaries-spread``, 0.01).
        dtype: real dtype of parameters and states (``torch.float32``).

    Attributes:
        input_weights, input_bias: the input stage, ``(H, W)`` and ``(H,)``.
        work_angles, work_weights, work_bias: the work stages, ``(S, H)``, ``(S, H, W)`` and ``(S, H)``.
        output_weights, output_bias: the output stage, ``(I, W)`` and ``(I,)``.

    Shape:
        - Input: ``state`` ``(B, 2^H)`` (the workspace, lanes in ``|0>``), ``inputs`` ``(B, I)`` bits.
        - Output: a :class:`CellStep`.
    """

    def __init__(
        self,
        lanes: int,
        workspace: int | None = None,
        *,
        num_qubits: int | None = None,
        stages: int = 2,
        order: int = 2,
        degree: int = 2,
        offset: float = DEFAULT_NEURON_OFFSET,
        generator: torch.Generator,
        weight_std: float = 0.01,
        bias_std: float = 0.1,
        angle_std: float = 0.01,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.lanes = _check_int("lanes", lanes, 1)
        self.order = check_order(order)
        self.workspace = _workspace_size(self.lanes, workspace, num_qubits, self.order)
        self.stages = _check_int("stages", stages, 0)
        sources = self.lanes + self.workspace - 1
        if isinstance(degree, bool) or not isinstance(degree, int):
            raise TypeError(f"degree must be an int, got {degree!r} ({type(degree).__name__}).")
        if not 1 <= degree <= sources:
            raise ValueError(
                f"degree must be in 1..{sources}: every neuron reads lanes + workspace - 1 = {sources} qubits, "
                f"got degree={degree}."
            )
        self.degree = degree
        self.offset = float(offset)
        _check_generator(generator)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64 (the state is real), got {dtype}.")
        h, i, s = self.workspace, self.lanes, self.stages
        w = neuron_weight_count(sources, degree)
        _check_table_memory(i, h, s, w, dtype)

        def normal(*shape: int, std: float) -> nn.Parameter:
            return nn.Parameter(torch.randn(*shape, generator=generator, dtype=dtype) * float(std))

        self.input_weights = normal(h, w, std=weight_std)
        self.input_bias = normal(h, std=bias_std)
        self.work_angles = normal(s, h, std=angle_std)
        self.work_weights = normal(s, h, w, std=weight_std)
        self.work_bias = normal(s, h, std=bias_std)
        self.output_weights = normal(i, w, std=weight_std)
        self.output_bias = normal(i, std=bias_std)
        self.register_buffer("indicator", subset_indicator(sources, degree, dtype=dtype), persistent=False)

    @property
    def num_qubits(self) -> int:
        """``I + H + order``: the qubits of the circuit with mid-circuit measurement and reset (the paper's count)."""
        return self.lanes + self.workspace + self.order

    @property
    def num_classes(self) -> int:
        """``2^I``."""
        return 2**self.lanes

    def tables(self) -> NeuronTables:
        """Every neuron's factors and the ``RY`` layers, from the current parameters (differentiable)."""
        h, i = self.workspace, self.lanes
        weights = torch.cat([self.input_weights.unsqueeze(0), self.work_weights]).reshape(-1, self.indicator.shape[1])
        bias = torch.cat([self.input_bias.unsqueeze(0), self.work_bias]).reshape(-1)
        cos, sin = neuron_factors(neuron_pre_activation(weights, bias, self.indicator, offset=self.offset), self.order)
        lanes = [i + j for _ in range(1 + self.stages) for j in range(h)]
        cos, sin = _paired_factors(cos, sin, lanes, i + h)
        out_cos, out_sin = neuron_factors(
            neuron_pre_activation(self.output_weights, self.output_bias, self.indicator, offset=self.offset), self.order
        )
        out_cos, out_sin = _paired_factors(out_cos, out_sin, list(range(i)), i + h)
        shape = (weights.shape[0], 2**i, 2**h)
        return NeuronTables(cos.reshape(shape), sin.reshape(shape), out_cos, out_sin, self._ry_layers())

    def _ry_layers(self) -> torch.Tensor:
        half = 0.5 * self.work_angles
        c, s = torch.cos(half), torch.sin(half)
        ry = torch.stack([torch.stack([c, -s], -1), torch.stack([s, c], -1)], -2)  # (S, H, 2, 2)
        layers = []
        for stage in range(self.stages):
            matrix = ry[stage, 0]
            for j in range(1, self.workspace):
                matrix = torch.kron(matrix, ry[stage, j])
            layers.append(matrix.T)
        if not layers:
            return self.work_angles.new_zeros(0, 2**self.workspace, 2**self.workspace)
        return torch.stack(layers)

    def forward(
        self, state: torch.Tensor, inputs: torch.Tensor, tables: NeuronTables | None = None, *, step: int | None = None
    ) -> CellStep:
        """One time step from a workspace state and the input bits.

        Args:
            state: the workspace state (normalised, real), lanes in ``|0>``.
            inputs: the input bits of the step (0 or 1).
            tables: :meth:`tables`, computed once per sequence; ``None`` computes them.
            step: the time step, for error messages.

        Returns:
            The :class:`CellStep`.

        Raises:
            PostselectionError: the neurons' postselection probability of a stage underflowed.
        """
        h, i = self.workspace, self.lanes
        if state.ndim != 2 or state.shape[1] != 2**h or inputs.shape != (state.shape[0], i):
            raise ValueError(
                f"QuantumNeuronCell expects a workspace state (B, 2**workspace) = (B, {2**h}) and input bits (B, {i}), "
                f"got {tuple(state.shape)} and {tuple(inputs.shape)}."
            )
        batch = state.shape[0]
        tables = self.tables() if tables is None else tables
        x = _class_index(inputs)
        lefts = tuple(2**j for j in range(h))
        psi, success = state, None
        for stage in range(1 + self.stages):
            if stage:
                psi = psi @ tables.rotations[stage - 1]
            rows = slice(stage * h, (stage + 1) * h)
            # the stage's neuron factors at each sample's input bits: (H, B, 2^H)
            cos = torch.index_select(tables.workspace_cos[rows], 1, x)
            sin = torch.index_select(tables.workspace_sin[rows], 1, x)
            psi = _NeuronStage.apply(psi, cos, sin, lefts)
            psi, kept = _renormalise(psi, step, "the input stage" if stage == 0 else f"work stage {stage}")
            success = kept if success is None else success * kept
        joint = torch.cat([psi, psi.new_zeros(batch, (2**i - 1) * 2**h)], dim=1)
        lanes = tuple(2**lane for lane in range(i))
        joint = _NeuronStage.apply(joint, tables.output_cos.unsqueeze(1), tables.output_sin.unsqueeze(1), lanes)
        joint, kept = _renormalise(joint, step, "the output stage")
        joint = joint.view(batch, 2**i, 2**h)
        return CellStep(joint, joint.square().sum(dim=2), success * kept)

    def extra_repr(self) -> str:
        """Sizes, shown inside ``repr(cell)``."""
        return (
            f"lanes={self.lanes}, workspace={self.workspace}, stages={self.stages}, order={self.order}, "
            f"degree={self.degree}, num_qubits={self.num_qubits}"
        )


@dataclass(frozen=True)
class QRNNOutput:
    """What :class:`QuantumNeuronRNN` returns for a batch of sequences.

    Attributes:
        probabilities: ``p_t(y)``, the read-out distribution at every step (differentiable).
        outcomes: the class the lanes were projected onto: the target where postselected, the draw where sampled.
        postselection: ``p_t(outcome_t)``, the probability of that projection.
        forced: ``True`` where the step was postselected on its target (teacher forcing).
        neuron_success: the probability that every neuron's postselection of the step succeeded.

    Shape:
        - ``probabilities``: ``(B, T, 2^I)``; the others ``(B, T)``.
    """

    probabilities: torch.Tensor
    outcomes: torch.Tensor
    postselection: torch.Tensor
    forced: torch.Tensor
    neuron_success: torch.Tensor

    @property
    def min_postselection(self) -> float:
        """The smallest probability of a postselection on a target (RVQE's ``min_postsel_prob``; 1 if none)."""
        chosen = self.postselection.detach()[self.forced]
        return float(chosen.min()) if chosen.numel() else 1.0

    @property
    def min_neuron_success(self) -> float:
        """The smallest probability, over samples and steps, that all neurons of a step succeeded."""
        return float(self.neuron_success.detach().min())


class QuantumNeuronRNN(nn.Module):
    r"""Bausch's QRNN (RVQE's ``RVQE``): a :class:`QuantumNeuronCell` unrolled over a sequence.

    From the workspace in ``|0...0>``, at every step ``t`` the cell reads the input bits ``x_t`` and
    gives ``p_t``; then the lanes are projected onto a class ``y_t`` and reset:

    * training (``model.train()``): ``y_t`` is the target at every step (teacher forcing by postselection);
    * evaluation (``model.eval()``): ``y_t`` is the target at the steps not ``scored`` and a sample of
      ``p_t`` (drawn with ``generator``) at the scored ones; without targets every step is sampled.

    Train with :func:`qrnn_loss` on ``probabilities`` at the scored steps and :func:`clip_gradients`;
    log :attr:`QRNNOutput.min_postselection`.

    Args:
        lanes: ``I``, the in/out lanes.
        workspace: ``H``; ``None`` takes ``num_qubits - I - order``.
        num_qubits: the qubit budget (12 in the paper's MNIST model: ``H = 8, I = 2, order = 2``).
        **cell_options: ``stages``, ``order``, ``degree``, ``offset``, ``generator`` (required), the
            initial spreads and ``dtype``, as :class:`QuantumNeuronCell`.

    Attributes:
        cell: the :class:`QuantumNeuronCell`.

    Shape:
        - Input: ``inputs`` ``(B, T, I)`` bits; ``targets`` ``(B, T)`` class labels in ``0 .. 2^I - 1``
          (lane 0 the most significant bit); ``scored`` ``(B, T)`` bool.
        - Output: a :class:`QRNNOutput`.
    """

    def __init__(
        self, lanes: int, workspace: int | None = None, *, num_qubits: int | None = None, **cell_options: Any
    ) -> None:
        super().__init__()
        self.cell = QuantumNeuronCell(lanes, workspace, num_qubits=num_qubits, **cell_options)

    def forward(
        self,
        inputs: torch.Tensor,
        targets: torch.Tensor | None = None,
        scored: torch.Tensor | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> QRNNOutput:
        """Run the network over a batch of bit sequences.

        Args:
            inputs: the input bits of every step.
            targets: the class to postselect on at every step (required in training).
            scored: where the prediction is scored: sampled at evaluation; ``None``: no step is scored.
            generator: draws the sampled outcomes (required when a step is sampled).

        Returns:
            The :class:`QRNNOutput`.

        Raises:
            TypeError: a tensor argument of the wrong type, or a sampled step without a ``generator``.
            ValueError: inputs that are not bits, shapes that do not match, targets out of range, or
                training without targets.
            PostselectionError: a postselection probability underflowed (the message gives the step).
        """
        cell = self.cell
        batch, steps = _check_sequences(inputs, targets, scored, cell.lanes)
        if targets is None and self.training:
            raise ValueError(
                "QuantumNeuronRNN in training mode postselects every step on its target (teacher forcing), so it "
                "needs targets of shape (B, T); call model.eval() to sample without targets."
            )
        if targets is None:
            forced = torch.zeros(batch, steps, dtype=torch.bool)
        elif self.training or scored is None:
            forced = torch.ones(batch, steps, dtype=torch.bool)
        else:
            forced = ~scored.to("cpu", torch.bool)
        if not bool(forced.all()) and not isinstance(generator, torch.Generator):
            raise TypeError(
                "QuantumNeuronRNN samples the scored steps at evaluation and needs generator=torch.Generator() "
                f"(for example torch.Generator().manual_seed(0)), got {type(generator).__name__}."
            )
        reference = cell.input_weights
        # training keeps about one state per neuron and step for the backward pass
        neurons = cell.workspace * (1 + cell.stages) + cell.lanes
        kept = neurons * steps if torch.is_grad_enabled() else 4
        check_state_memory(cell.lanes + cell.workspace, batch, reference.element_size(), reference.device, copies=kept)
        bits = inputs.to(device=reference.device, dtype=torch.long)
        tables = cell.tables()
        psi = reference.new_zeros(batch, 2**cell.workspace)
        psi[:, 0] = 1.0
        rows = torch.arange(batch, device=reference.device)
        probabilities, outcomes, chosen, success = [], [], [], []
        for t in range(steps):
            result = cell(psi, bits[:, t], tables, step=t)
            p = result.probabilities
            outcome = _outcomes(p, None if targets is None else targets[:, t], forced[:, t], generator)
            p_outcome = p[rows, outcome]
            _check_postselection(p_outcome, outcome, t, forced[:, t])
            psi = result.state[rows, outcome] / p_outcome.sqrt().unsqueeze(1)
            probabilities.append(p)
            outcomes.append(outcome)
            chosen.append(p_outcome)
            success.append(result.success)
        return QRNNOutput(
            torch.stack(probabilities, dim=1),
            torch.stack(outcomes, dim=1),
            torch.stack(chosen, dim=1),
            forced.to(reference.device),
            torch.stack(success, dim=1),
        )

    def extra_repr(self) -> str:
        """The parameter count, shown inside ``repr(model)``."""
        c = self.cell
        return f"parameters={qrnn_parameter_count(c.lanes, c.workspace, c.stages, c.degree)}"


def qrnn_loss_floor(num_classes: int) -> float:
    """``-1 + ln(C - 1 + e)``: the smallest value of cross-entropy with probabilities as logits (one-hot ``p``)."""
    return -1.0 + math.log(_check_int("num_classes", num_classes, 2) - 1 + math.e)


def qrnn_loss(probabilities: torch.Tensor, targets: torch.Tensor, scored: torch.Tensor | None = None) -> torch.Tensor:
    r"""The paper's loss: cross-entropy of the read-out distributions taken as logits, minus its minimum.

    RVQE (``main.py``) passes the probabilities ``p_t`` to ``nn.CrossEntropyLoss`` as logits and
    subtracts the best value it can reach, ``-1 + ln(2^I - 1 + e)``, so a perfect model scores 0:

    .. math::
        L = \frac{1}{|\mathcal S|}\sum_{(b,t)\in\mathcal S}
            \Big(-p_{bt}(y_{bt}) + \ln\sum_y e^{p_{bt}(y)}\Big) + 1 - \ln(2^I - 1 + e).

    Args:
        probabilities: :attr:`QRNNOutput.probabilities`.
        targets: the target classes.
        scored: the steps in the loss (``None``: all).

    Returns:
        The scalar loss.

    Shape:
        - Input: ``probabilities`` ``(B, T, C)``; ``targets``, ``scored`` ``(B, T)``.
        - Output: ``()``.

    Raises:
        ValueError: shapes that do not match, or no scored step.
    """
    if probabilities.ndim != 3 or tuple(targets.shape) != tuple(probabilities.shape[:2]):
        raise ValueError(
            f"qrnn_loss needs probabilities (B, T, C) and targets (B, T), got {tuple(probabilities.shape)} and "
            f"{tuple(targets.shape)}."
        )
    if scored is None:
        logits, labels = probabilities.flatten(0, 1), targets.flatten()
    else:
        if tuple(scored.shape) != tuple(targets.shape):
            raise ValueError(f"qrnn_loss needs scored of shape {tuple(targets.shape)}, got {tuple(scored.shape)}.")
        mask = scored.to(device=probabilities.device, dtype=torch.bool)
        if not bool(mask.any()):
            raise ValueError("qrnn_loss got no scored step (scored is all False); there is nothing to train on.")
        logits, labels = probabilities[mask], targets.to(probabilities.device)[mask]
    loss = nn.functional.cross_entropy(logits, labels.long())
    return loss - qrnn_loss_floor(probabilities.shape[2])


def clip_gradients(model: nn.Module, max_norm: float = GRADIENT_CLIP_NORM) -> torch.Tensor:
    """Clip the gradient norm of ``model``'s parameters to ``max_norm`` (RVQE: 0.5); call after ``backward()``.

    Returns:
        The total gradient norm before clipping.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"clip_gradients needs a torch.nn.Module, got {type(model).__name__}.")
    return torch.nn.utils.clip_grad_norm_(model.parameters(), float(max_norm))


def _workspace_size(lanes: int, workspace: int | None, num_qubits: int | None, order: int) -> int:
    if workspace is None and num_qubits is None:
        raise ValueError("give workspace (the number of workspace qubits) or num_qubits (the qubit budget).")
    if num_qubits is not None:
        budget = _check_int("num_qubits", num_qubits, 1)
        if workspace is None:
            workspace = budget - lanes - order
            if workspace < 1:
                raise ValueError(
                    f"{lanes} lane(s) and order {order} ({order} ancillas) leave no workspace in num_qubits={budget}: "
                    f"the cell needs lanes + workspace + order qubits, at least {lanes + order + 1}."
                )
            return workspace
        needed = lanes + _check_int("workspace", workspace, 1) + order
        if needed > budget:
            raise ValueError(
                f"the cell needs lanes + workspace + order = {lanes} + {workspace} + {order} = {needed} qubits, "
                f"which do not fit num_qubits={budget}; use at most {budget - lanes - order} workspace qubits "
                f"or a budget of {needed}."
            )
    return _check_int("workspace", workspace, 1)


def _paired_factors(
    cos: torch.Tensor, sin: torch.Tensor, targets: list[int], num_qubits: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Neuron factors over all qubits for ``out = cos * psi + sin * flip_target(psi)``.

    Row ``r`` of ``cos``/``sin`` is indexed by the basis states of the qubits other than ``targets[r]``
    (in increasing order); the result is indexed by all ``num_qubits`` qubits: ``cos`` is repeated
    over the target's two values, ``sin`` gets the sign of ``-iY``: ``-sin`` where the target is 0
    (``new_0 = cos psi_0 - sin psi_1``) and ``+sin`` where it is 1.
    """
    rows = []
    for factors, signed in ((cos, False), (sin, True)):
        full = []
        for row, target in zip(factors, targets, strict=True):
            view = row.reshape(2**target, 1, 2 ** (num_qubits - 1 - target))
            if signed:
                view = torch.cat([-view, view], dim=1)
            full.append(view.expand(-1, 2, -1).reshape(-1))
        rows.append(torch.stack(full))
    return rows[0], rows[1]


class _NeuronStage(torch.autograd.Function):
    """Neurons one after the other, ``psi <- cos_j * psi + sin_j * flip_j(psi)``, as one autograd node.

    ``flip_j`` swaps the two values of neuron ``j``'s qubit (``lefts[j] = 2^(qubits before it)``).
    With :func:`_paired_factors`, ``flip_j(sin_j) = -sin_j``, so each backward step is the transposed
    rotation ``grad <- cos_j * grad - sin_j * flip_j(grad)``: three tensor operations per neuron forward
    and six backward, in one autograd node per stage instead of three per neuron. The flip is an
    ``index_select`` with a cached permutation (faster than ``torch.flip`` on these small states). The
    states entering every neuron are kept for the backward pass (one state per neuron).

    Shape:
        - ``psi``: ``(B, D)``; ``cos``, ``sin``: ``(n, B, D)`` or ``(n, 1, D)``; output ``(B, D)``.
    """

    @staticmethod
    def forward(ctx, psi: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor, lefts: tuple[int, ...]) -> torch.Tensor:  # type: ignore[override]
        flips = [_flip_index(left, psi.shape[1], psi.device) for left in lefts]
        states = []
        for j, flip in enumerate(flips):
            states.append(psi)
            psi = torch.addcmul(cos[j] * psi, sin[j], torch.index_select(psi, 1, flip))
        ctx.flips = flips
        ctx.save_for_backward(cos, sin, *states)
        return psi

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        cos, sin, *states = ctx.saved_tensors
        want_cos, want_sin = ctx.needs_input_grad[1], ctx.needs_input_grad[2]
        grad_cos = [None] * len(states)
        grad_sin = [None] * len(states)
        for j in range(len(states) - 1, -1, -1):
            flip = ctx.flips[j]
            if want_cos:
                grad_cos[j] = _reduce_to(grad * states[j], cos)
            if want_sin:
                grad_sin[j] = _reduce_to(grad * torch.index_select(states[j], 1, flip), sin)
            grad = torch.addcmul(grad * cos[j], sin[j], torch.index_select(grad, 1, flip), value=-1.0)
        return (
            grad if ctx.needs_input_grad[0] else None,
            torch.stack(grad_cos) if want_cos else None,
            torch.stack(grad_sin) if want_sin else None,
            None,
        )


@functools.lru_cache(maxsize=64)
def _flip_index(left: int, size: int, device: torch.device) -> torch.Tensor:
    """The basis-state permutation that flips the qubit with ``left = 2^(qubits before it)``."""
    return torch.arange(size, device=device).view(left, 2, -1).flip(1).reshape(-1)


def _reduce_to(grad: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Sum ``grad`` ``(B, D)`` over the batch when the factor ``like`` ``(n, 1, D)`` was broadcast."""
    return grad.sum(dim=0, keepdim=True) if like.shape[1] == 1 and grad.shape[0] != 1 else grad


def _check_table_memory(lanes: int, workspace: int, stages: int, weights: int, dtype: torch.dtype) -> None:
    """Refuse a cell whose neuron tables (every neuron over every basis state) would not fit in memory."""
    n = lanes + workspace
    neurons = workspace * (1 + stages) + lanes
    needed = (2 ** (n - 1) * weights + 2 * neurons * 2**n) * torch.finfo(dtype).bits // 8
    if needed <= 64 << 20:
        return
    available = available_memory_bytes(torch.device("cpu"))
    if needed > available:
        raise SimulationMemoryError(
            f"a QRNN cell with {lanes} lane(s) and {workspace} workspace qubits tabulates each of its {neurons} "
            f"neurons over 2**{n} basis states: about {needed / 2**30:.1f} GiB, more than the {available / 2**30:.1f} "
            "GiB available. Use fewer workspace qubits or a lower degree."
        )


def _class_index(bits: torch.Tensor) -> torch.Tensor:
    """Big-endian class labels of bit rows (lane 0 the most significant bit)."""
    width = bits.shape[1]
    weights = 2 ** torch.arange(width - 1, -1, -1, device=bits.device)
    return (bits.long() * weights).sum(dim=1)


def _renormalise(psi: torch.Tensor, step: int | None, where: str) -> tuple[torch.Tensor, torch.Tensor]:
    kept = psi.square().sum(dim=1)
    tiny = torch.finfo(psi.dtype).tiny
    low = kept.detach() <= tiny
    if bool(low.any()):
        sample = int(low.nonzero()[0, 0])
        at = "a step" if step is None else f"step {step}"
        raise PostselectionError(
            f"postselection underflow at {at}, sample {sample}: the neurons of {where} keep a probability of "
            f"{float(kept.detach()[sample]):.3g} ({psi.dtype} cannot renormalise below {tiny:.3g}). Use "
            "dtype=torch.float64, a lower order, or smaller neuron weights."
        )
    return psi / kept.sqrt().unsqueeze(1), kept


def _outcomes(
    p: torch.Tensor, target: torch.Tensor | None, forced: torch.Tensor, generator: torch.Generator | None
) -> torch.Tensor:
    """The class each sample's lanes are projected onto: its target where ``forced``, a draw from ``p`` elsewhere."""
    if bool(forced.all()):
        assert target is not None
        return target.to(device=p.device, dtype=torch.long)
    draw = torch.multinomial(p.detach().cpu(), 1, generator=generator).squeeze(1).to(p.device)
    if target is None:
        return draw
    return torch.where(forced.to(p.device), target.to(device=p.device, dtype=torch.long), draw)


def _check_postselection(p: torch.Tensor, outcome: torch.Tensor, step: int, forced: torch.Tensor) -> None:
    tiny = torch.finfo(p.dtype).tiny
    low = p.detach() <= tiny
    if bool(low.any()):
        sample = int(low.nonzero()[0, 0])
        kind = "postselected on the target" if bool(forced[sample]) else "sampled"
        raise PostselectionError(
            f"postselection underflow at step {step}, sample {sample}: the lanes were {kind} class "
            f"{int(outcome[sample])}, whose probability {float(p.detach()[sample]):.3g} is below what {p.dtype} can "
            f"renormalise ({tiny:.3g}). Check that the target is reachable, or use dtype=torch.float64."
        )


def _check_sequences(inputs: object, targets: object, scored: object, lanes: int) -> tuple[int, int]:
    for name, value in (("inputs", inputs), ("targets", targets), ("scored", scored)):
        if value is not None and not isinstance(value, torch.Tensor):
            raise TypeError(f"QuantumNeuronRNN expects {name} as a torch.Tensor, got {type(value).__name__}.")
    assert isinstance(inputs, torch.Tensor)
    if inputs.ndim != 3 or inputs.shape[2] != lanes or inputs.shape[0] < 1 or inputs.shape[1] < 1:
        raise ValueError(
            f"QuantumNeuronRNN expects inputs of shape (B, T, lanes) = (B, T, {lanes}) with B, T >= 1 (one bit per "
            f"lane and step), got {tuple(inputs.shape)}."
        )
    if inputs.is_complex() or not bool(((inputs == 0) | (inputs == 1)).all()):
        values = torch.unique(inputs.detach().flatten())[:6].tolist()
        raise ValueError(
            f"QuantumNeuronRNN writes its inputs as basis states, so they must be bits (0 or 1), got values {values}; "
            "binarise them first (for example qml.data.images.binarize)."
        )
    batch, steps = inputs.shape[:2]
    if targets is not None:
        assert isinstance(targets, torch.Tensor)
        if tuple(targets.shape) != (batch, steps):
            raise ValueError(
                f"QuantumNeuronRNN expects targets of shape (B, T) = ({batch}, {steps}) (one class per step), "
                f"got {tuple(targets.shape)}."
            )
        if targets.is_floating_point() or targets.is_complex():
            raise TypeError(f"targets must be integer class labels, got dtype {targets.dtype}.")
        classes = 2**lanes
        if bool(((targets < 0) | (targets >= classes)).any()):
            raise ValueError(
                f"targets are class labels of {lanes} lane(s), so they must be in 0..{classes - 1}, got values "
                f"{torch.unique(targets)[:6].tolist()}."
            )
    if scored is not None:
        assert isinstance(scored, torch.Tensor)
        if tuple(scored.shape) != (batch, steps) or scored.dtype != torch.bool:
            raise ValueError(
                f"QuantumNeuronRNN expects scored as a bool tensor of shape ({batch}, {steps}), got "
                f"{scored.dtype} {tuple(scored.shape)}."
            )
    return batch, steps
