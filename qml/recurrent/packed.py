r"""Bausch's QRNN in any ``model(inputs) -> outputs`` training loop: inputs, targets and scored steps in one tensor.

:class:`~qml.recurrent.QuantumNeuronRNN` needs the targets inside its forward pass: in training it
postselects the lanes on the target of every step (teacher forcing), at evaluation on the target of
every step that is not scored. A generic loop such as :func:`qml.training.fit` only calls
``model(inputs)`` and ``loss(outputs, targets)``, so :func:`pack_sequences` puts the input bits,
the target class and the scored flag of every step into one input tensor, and the loss targets are
the target classes with ``-1`` where a step is not scored (the ``ignore_index`` convention of
``nn.CrossEntropyLoss``).

:class:`PackedQRNN` returns, per step, the read-out distribution ``p_t`` and the class the lanes were
projected onto with its probability; :func:`packed_qrnn_loss` is the paper's loss on the scored
steps and the metrics read the same outputs:

* :func:`scored_accuracy`: the fraction of scored steps whose projected class is the target. At
  evaluation the scored steps are **sampled** from ``p_t`` (RVQE's protocol; ``1 -`` its character
  error rate), so this is the paper's test accuracy.
* :func:`expected_accuracy`: the mean of ``p_t(target)`` over the scored steps, what the sampled
  accuracy is on average (no sampling noise).
* :func:`min_postselection`: the smallest probability of a postselection on a target among the
  steps that are not scored (RVQE's ``min_postsel_prob`` at evaluation).
"""

from __future__ import annotations

import torch
from torch import nn

from qml.recurrent.qrnn import QuantumNeuronRNN, qrnn_loss
from qml.recurrent.vqc import _check_int

__all__ = [
    "PackedQRNN",
    "expected_accuracy",
    "min_postselection",
    "pack_sequences",
    "packed_qrnn_loss",
    "scored_accuracy",
    "scored_predictions",
]


def pack_sequences(
    inputs: torch.Tensor, targets: torch.Tensor, scored: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Pack input bits, targets and scored steps for :class:`PackedQRNN` and :func:`packed_qrnn_loss`.

    Args:
        inputs: the input bits of every step (0 or 1).
        targets: the target class of every step (postselected on where it is not scored, and in training).
        scored: ``True`` where the step is scored (in the loss and the metrics).

    Returns:
        ``(packed, loss_targets)``: ``packed[..., :I]`` the bits, ``packed[..., I]`` the target,
        ``packed[..., I + 1]`` the scored flag (all ``float32``); ``loss_targets`` the targets with
        ``-1`` where not scored (``int64``).

    Shape:
        - Input: ``inputs`` ``(B, T, I)``; ``targets``, ``scored`` ``(B, T)``.
        - Output: ``(B, T, I + 2)`` and ``(B, T)``.

    Raises:
        TypeError: an argument that is not a tensor, or targets that are not integers.
        ValueError: shapes that do not match, or ``scored`` that is not boolean.
    """
    for name, value in (("inputs", inputs), ("targets", targets), ("scored", scored)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"pack_sequences expects {name} as a torch.Tensor, got {type(value).__name__}.")
    if inputs.ndim != 3 or tuple(targets.shape) != tuple(inputs.shape[:2]) or targets.shape != scored.shape:
        raise ValueError(
            "pack_sequences expects inputs (B, T, I), targets (B, T) and scored (B, T), got "
            f"{tuple(inputs.shape)}, {tuple(targets.shape)} and {tuple(scored.shape)}."
        )
    if targets.is_floating_point() or targets.is_complex():
        raise TypeError(f"targets must be integer class labels, got dtype {targets.dtype}.")
    if scored.dtype != torch.bool:
        raise ValueError(f"scored must be a bool tensor, got dtype {scored.dtype}.")
    packed = torch.cat([inputs.float(), targets.unsqueeze(-1).float(), scored.unsqueeze(-1).float()], dim=-1)
    return packed, torch.where(scored, targets.long(), torch.full_like(targets, -1, dtype=torch.long))


class PackedQRNN(nn.Module):
    """A :class:`~qml.recurrent.QuantumNeuronRNN` that reads packed sequences and returns one tensor.

    Training mode postselects every step on its target (teacher forcing); evaluation mode
    postselects the steps that are not scored and samples the scored ones, each forward pass with a
    fresh ``torch.Generator().manual_seed(sample_seed)`` (so that an evaluation is repeatable).

    Args:
        network: the QRNN.
        sample_seed: seeds the draws of the scored steps at evaluation.

    Attributes:
        network: the QRNN.
        sample_seed: the seed of the draws.

    Shape:
        - Input: :func:`pack_sequences`'s ``(B, T, I + 2)``.
        - Output: ``(B, T, C + 2)`` with ``C = 2^I``: ``p_t`` (``[..., :C]``), the projected class
          (``[..., C]``, as a float) and its probability (``[..., C + 1]``).
    """

    def __init__(self, network: QuantumNeuronRNN, *, sample_seed: int = 0) -> None:
        super().__init__()
        if not isinstance(network, QuantumNeuronRNN):
            raise TypeError(f"PackedQRNN wraps a qml.recurrent.QuantumNeuronRNN, got {type(network).__name__}.")
        self.network = network
        self.sample_seed = _check_int("sample_seed", sample_seed, 0)

    def forward(self, packed: torch.Tensor) -> torch.Tensor:
        """Run the QRNN over packed sequences (see the class docstring for the modes)."""
        lanes = self.network.cell.lanes
        if not isinstance(packed, torch.Tensor) or packed.ndim != 3 or packed.shape[2] != lanes + 2:
            got = tuple(packed.shape) if isinstance(packed, torch.Tensor) else type(packed).__name__
            raise ValueError(
                f"PackedQRNN expects packed sequences (B, T, lanes + 2) = (B, T, {lanes + 2}) from pack_sequences "
                f"(bits, target, scored flag per step), got {got}."
            )
        inputs = packed[..., :lanes]
        targets = packed[..., lanes].round().long()
        scored = packed[..., lanes + 1] > 0.5
        generator = None if self.training else torch.Generator().manual_seed(self.sample_seed)
        out = self.network(inputs, targets, scored, generator=generator)
        chosen = torch.stack([out.outcomes.to(out.probabilities.dtype), out.postselection], dim=-1)
        return torch.cat([out.probabilities, chosen], dim=-1)

    def extra_repr(self) -> str:
        """The seed of the draws, shown inside ``repr(model)``."""
        return f"sample_seed={self.sample_seed}"


def _split(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(probabilities, outcomes, scored mask)`` of :class:`PackedQRNN` outputs and loss targets."""
    if outputs.ndim != 3 or outputs.shape[2] < 4 or tuple(outputs.shape[:2]) != tuple(targets.shape):
        raise ValueError(
            f"expected PackedQRNN outputs (B, T, C + 2) and loss targets (B, T), got {tuple(outputs.shape)} and "
            f"{tuple(targets.shape)}."
        )
    classes = outputs.shape[2] - 2
    return outputs[..., :classes], outputs[..., classes].round().long(), targets >= 0


def packed_qrnn_loss(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """:func:`~qml.recurrent.qrnn_loss` on the scored steps (``targets >= 0``) of :class:`PackedQRNN` outputs.

    Shape:
        - Input: ``outputs`` ``(B, T, C + 2)``; ``targets`` ``(B, T)`` with ``-1`` where not scored.
        - Output: ``()``.
    """
    probabilities, _, scored = _split(outputs, targets)
    return qrnn_loss(probabilities, targets.clamp_min(0), scored)


def scored_accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Fraction of scored steps whose projected (at evaluation: sampled) class is the target."""
    _, outcomes, scored = _split(outputs, targets)
    return float((outcomes[scored] == targets[scored]).float().mean())


def expected_accuracy(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """Mean of ``p_t(target)`` over the scored steps: the expected value of :func:`scored_accuracy`."""
    probabilities, _, scored = _split(outputs, targets)
    chosen = probabilities.gather(-1, targets.clamp_min(0).unsqueeze(-1)).squeeze(-1)
    return float(chosen[scored].mean())


def min_postselection(outputs: torch.Tensor, targets: torch.Tensor) -> float:
    """The smallest probability of a postselection on a target at the steps not scored (1 if there are none)."""
    _, _, scored = _split(outputs, targets)
    chosen = outputs[..., -1][~scored]
    return float(chosen.min()) if chosen.numel() else 1.0


def scored_predictions(outputs: torch.Tensor, targets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(targets, projected classes)`` of the scored steps, flattened: what a confusion matrix counts.

    Shape:
        - Output: ``(S,)`` and ``(S,)`` for ``S`` scored steps.
    """
    _, outcomes, scored = _split(outputs, targets)
    return targets[scored], outcomes[scored]
