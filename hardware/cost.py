"""What a submission will cost, worked out (and printed) before it is sent.

One :class:`~hardware.providers.base.Submission` is always one provider job. Its cost under the
device's :class:`~hardware.providers.base.PriceModel` is::

    per_task * 1  +  per_shot * shots_total  +  per_second * seconds_per_shot * shots_total

The first two terms are exact for per-task / per-shot pricing (Amazon Braket's QPUs). The third
(IBM's pay-as-you-go QPU time) is a **rough** estimate: the time a device spends per shot depends
on the circuit, the repetition delay and per-circuit loading overheads that we cannot see ahead of
time. :data:`DEFAULT_SECONDS_PER_SHOT` is the default; pass ``seconds_per_shot`` for a better one
(for example ``job.usage_estimation`` or a finished job's ``usage`` divided by its shots).

Forward and gradient apart: a submission's last ``Submission.gradient_rows`` bindings of each batch
are parameter-shift circuits (sent with the forward ones inside a training step, or alone by a
backward pass). The estimate counts, shoots and prices them separately: the gradient's share is
the shot-proportional price of its circuits, plus the per-task fee when the job holds nothing else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hardware.providers.base import DeviceTarget, Submission, batch_sizes

__all__ = ["DEFAULT_SECONDS_PER_SHOT", "CostEstimate", "estimate_cost", "format_cost"]

DEFAULT_SECONDS_PER_SHOT = 1e-3
"""Rough QPU seconds per shot for per-second pricing: a superconducting device's repetition delay
(about 250 microseconds by default on IBM devices) plus gates, measurement and reset, with the
per-circuit loading overhead amortised over typical shot counts, rounded up to 1 ms. Real usage also
has a fixed per-job overhead of a few seconds, which this does not include; the estimate is only
good to a factor of a few."""


@dataclass(frozen=True)
class CostEstimate:
    """The size and price of one submission.

    Attributes:
        num_jobs: provider jobs (always 1: a submission is sent as one job).
        num_circuits: circuit executions, the bindings summed over all batches.
        shots_total: ``num_circuits * shots`` (0 for an ``"estimate"`` submission, which has no shots).
        usd: the estimated price in US dollars; ``None`` when the device's price is unknown.
        breakdown: how ``usd`` was computed, one line.
        shots_per_circuit: shots per binding; ``None`` for ``"estimate"``.
        device: ``provider:name`` of the target.
        price_source: where the price comes from (``PriceModel.source``); empty when unknown.
        rough: ``True`` when a per-second price was turned into dollars with an assumed time per shot.
        seconds_per_shot: the time per shot assumed when ``rough``; ``None`` otherwise.
        gradient_circuits: of ``num_circuits``, the parameter-shift (gradient) executions.
        gradient_usd: the gradient's share of ``usd`` (``None`` when the price is unknown).
    """

    num_jobs: int
    num_circuits: int
    shots_total: int
    usd: float | None
    breakdown: str
    shots_per_circuit: int | None = None
    device: str = ""
    price_source: str = ""
    rough: bool = False
    seconds_per_shot: float | None = None
    gradient_circuits: int = 0
    gradient_usd: float | None = None

    @property
    def forward_circuits(self) -> int:
        """Circuit executions of the forward pass: ``num_circuits - gradient_circuits``."""
        return self.num_circuits - self.gradient_circuits

    @property
    def forward_usd(self) -> float | None:
        """The forward pass's share of ``usd`` (the per-task fee included when it has circuits)."""
        return None if self.usd is None or self.gradient_usd is None else self.usd - self.gradient_usd


def _money(usd: float) -> str:
    if usd == 0:
        return "$0.00"
    if abs(usd) < 0.01:
        return f"${usd:.2g}"
    return f"${usd:,.2f}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def estimate_cost(
    submission: Submission, target: DeviceTarget, *, seconds_per_shot: float | None = None
) -> CostEstimate:
    """Count the jobs, circuit executions and shots of ``submission`` and price them on ``target``.

    Args:
        submission: what will be sent (one job).
        target: the device, with its :class:`~hardware.providers.base.PriceModel` (or ``None``).
        seconds_per_shot: QPU seconds per shot for per-second prices; ``None`` uses
            :data:`DEFAULT_SECONDS_PER_SHOT`. Ignored when the price is not per second.

    Returns:
        The estimate; ``usd`` is ``None`` when ``target.price`` is ``None``.

    Raises:
        TypeError: arguments of the wrong types.
        ValueError: a ``"sample"`` submission without positive shots, or a ``seconds_per_shot``
            that is not a positive finite number.
    """
    if not isinstance(submission, Submission):
        raise TypeError(f"submission must be a hardware Submission, got {type(submission).__name__}.")
    if not isinstance(target, DeviceTarget):
        raise TypeError(f"target must be a DeviceTarget, got {type(target).__name__}.")
    if seconds_per_shot is not None and (
        isinstance(seconds_per_shot, bool)
        or not isinstance(seconds_per_shot, int | float)
        or not math.isfinite(seconds_per_shot)
        or seconds_per_shot <= 0
    ):
        raise ValueError(f"seconds_per_shot must be a positive number of seconds, got {seconds_per_shot!r}.")
    shots = submission.shots
    if submission.kind == "sample" and (shots is None or isinstance(shots, bool) or shots < 1):
        raise ValueError(f"a 'sample' submission needs a positive number of shots, got {shots!r}.")
    sizes = batch_sizes(submission.batches)
    num_circuits = sum(sizes)
    gradient_circuits = sum(min(max(int(submission.gradient_rows), 0), n) for n in sizes)
    shots_total = num_circuits * int(shots) if shots is not None else 0
    device = f"{target.provider}:{target.name}"
    price = target.price
    if price is None:
        return CostEstimate(
            num_jobs=1,
            num_circuits=num_circuits,
            shots_total=shots_total,
            usd=None,
            breakdown=f"price unknown for {device}",
            shots_per_circuit=shots,
            device=device,
            gradient_circuits=gradient_circuits,
        )
    terms = [f"{_money(price.per_task)} per task x 1"]
    usd = price.per_task
    if price.per_shot:
        usd += price.per_shot * shots_total
        terms.append(f"${price.per_shot:g} per shot x {shots_total}")
    per_shot_s: float | None = None
    if price.per_second is not None:
        per_shot_s = DEFAULT_SECONDS_PER_SHOT if seconds_per_shot is None else float(seconds_per_shot)
        seconds = per_shot_s * shots_total
        usd += price.per_second * seconds
        terms.append(f"${price.per_second:g} per second x {seconds:g} s (rough: {per_shot_s:g} s/shot assumed)")
    variable = usd - price.per_task
    gradient_usd = variable * gradient_circuits / num_circuits if num_circuits else 0.0
    if num_circuits and gradient_circuits == num_circuits:
        gradient_usd += price.per_task  # a job of gradient circuits only: its fee is the gradient's too
    return CostEstimate(
        num_jobs=1,
        num_circuits=num_circuits,
        shots_total=shots_total,
        usd=usd,
        breakdown=" + ".join(terms) + f" = {_money(usd)}",
        shots_per_circuit=shots,
        device=device,
        price_source=price.source,
        rough=per_shot_s is not None,
        seconds_per_shot=per_shot_s,
        gradient_circuits=gradient_circuits,
        gradient_usd=gradient_usd,
    )


def format_cost(estimate: CostEstimate) -> str:
    """One line for the user, printed before submitting.

    Example: ``1 job, 384 circuit executions x 1000 shots = 384000 shots on ibm:ibm_torino;
    est. $614.40 (rough: per-second price at 0.001 s/shot assumed; price source: ...)``. With
    gradient circuits the forward and gradient parts follow:
    ``...; forward: 4 circuits, 4000 shots, $6.40; gradient (parameter shift): 128 circuits,
    128000 shots, $204.80``.
    """
    if not isinstance(estimate, CostEstimate):
        raise TypeError(f"estimate must be a CostEstimate, got {type(estimate).__name__}.")
    head = f"{_plural(estimate.num_jobs, 'job')}, {_plural(estimate.num_circuits, 'circuit execution')}"
    if estimate.shots_per_circuit is None:
        head += " (exact expectation values, no shots)"
    else:
        head += f" x {_plural(estimate.shots_per_circuit, 'shot')} = {_plural(estimate.shots_total, 'shot')}"
    if estimate.device:
        head += f" on {estimate.device}"
    split = _split(estimate)
    if estimate.usd is None:
        return f"{head}; price unknown{split}"
    notes = []
    if estimate.rough:
        notes.append(f"rough: per-second price at {estimate.seconds_per_shot:g} s/shot assumed")
    notes.append(f"price source: {estimate.price_source or 'not given'}")
    return f"{head}; est. {_money(estimate.usd)} ({'; '.join(notes)}){split}"


def _split(estimate: CostEstimate) -> str:
    """``; forward: ...; gradient (parameter shift): ...`` when the job holds gradient circuits, else empty."""
    if not estimate.gradient_circuits:
        return ""
    shots = estimate.shots_per_circuit
    parts = []
    for name, circuits, usd in (
        ("forward", estimate.forward_circuits, estimate.forward_usd),
        ("gradient (parameter shift)", estimate.gradient_circuits, estimate.gradient_usd),
    ):
        if not circuits:
            continue
        text = f"{name}: {_plural(circuits, 'circuit')}"
        if shots is not None:
            text += f", {_plural(circuits * shots, 'shot')}"
        if usd is not None:
            text += f", {_money(usd)}"
        parts.append(text)
    return "; " + "; ".join(parts)
