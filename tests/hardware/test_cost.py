"""The cost estimate printed before a submission goes out: counts, dollars, and the one-line summary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from qiskit import QuantumCircuit

from hardware.cost import DEFAULT_SECONDS_PER_SHOT, CostEstimate, estimate_cost, format_cost
from hardware.providers.base import CircuitBatch, DeviceTarget, PriceModel, Submission

BRAKET_SOURCE = "https://aws.amazon.com/braket/pricing/ (read 2026-08)"
IBM_SOURCE = "https://www.ibm.com/quantum/pricing (read 2026-08)"


def submission(sizes: list[int], shots: int | None = 1000, kind: str = "sample") -> Submission:
    circuit = QuantumCircuit(2)
    batches = tuple(CircuitBatch(circuit, np.zeros((n, 1))) for n in sizes)
    return Submission(kind=kind, batches=batches, shots=shots)


def test_per_task_and_per_shot_price_gives_the_exact_dollars():
    target = DeviceTarget("braket", "Aria-1", 25, price=PriceModel(per_task=0.30, per_shot=0.03, source=BRAKET_SOURCE))
    estimate = estimate_cost(submission([2, 5, 1]), target)
    assert (estimate.num_jobs, estimate.num_circuits, estimate.shots_total) == (1, 8, 8000)
    assert estimate.usd == pytest.approx(0.30 + 8000 * 0.03, rel=0, abs=1e-12)
    assert not estimate.rough
    assert estimate.breakdown == "$0.30 per task x 1 + $0.03 per shot x 8000 = $240.30"
    assert format_cost(estimate) == (
        f"1 job, 8 circuit executions x 1000 shots = 8000 shots on braket:Aria-1; est. $240.30 "
        f"(price source: {BRAKET_SOURCE})"
    )


def test_per_second_price_is_a_rough_estimate_with_the_default_or_given_time_per_shot():
    target = DeviceTarget("ibm", "ibm_torino", 133, price=PriceModel(per_second=1.60, source=IBM_SOURCE))
    sub = submission([128, 128, 128])
    estimate = estimate_cost(sub, target)
    assert (estimate.num_circuits, estimate.shots_total) == (384, 384_000)
    assert estimate.rough
    assert estimate.seconds_per_shot == DEFAULT_SECONDS_PER_SHOT
    assert estimate.usd == pytest.approx(1.60 * 384_000 * DEFAULT_SECONDS_PER_SHOT, rel=1e-12)
    assert format_cost(estimate) == (
        "1 job, 384 circuit executions x 1000 shots = 384000 shots on ibm:ibm_torino; est. $614.40 "
        f"(rough: per-second price at 0.001 s/shot assumed; price source: {IBM_SOURCE})"
    )
    faster = estimate_cost(sub, target, seconds_per_shot=2.5e-4)
    assert faster.usd == pytest.approx(1.60 * 384_000 * 2.5e-4, rel=1e-12)
    assert "at 0.00025 s/shot assumed" in format_cost(faster)


def test_unknown_price_gives_no_dollars_and_says_so():
    target = DeviceTarget("qiskit", "aer_simulator", 30, price=None)
    estimate = estimate_cost(submission([3], shots=1), target)
    assert estimate.usd is None
    assert estimate.breakdown == "price unknown for qiskit:aer_simulator"
    assert (
        format_cost(estimate) == "1 job, 3 circuit executions x 1 shot = 3 shots on qiskit:aer_simulator; price unknown"
    )


def test_estimate_submissions_have_no_shots():
    target = DeviceTarget("qiskit", "statevector", 20, exact=True, price=PriceModel(source="free simulator"))
    estimate = estimate_cost(submission([1], shots=None, kind="estimate"), target)
    assert (estimate.num_circuits, estimate.shots_total, estimate.usd) == (1, 0, 0.0)
    assert format_cost(estimate) == (
        "1 job, 1 circuit execution (exact expectation values, no shots) on qiskit:statevector; "
        "est. $0.00 (price source: free simulator)"
    )


def test_bad_arguments_are_rejected():
    target = DeviceTarget("braket", "sv1", 34)
    with pytest.raises(ValueError, match="'sample' submission needs a positive number of shots, got None"):
        estimate_cost(submission([1], shots=None), target)
    with pytest.raises(ValueError, match="seconds_per_shot must be a positive number of seconds, got -1"):
        estimate_cost(submission([1]), target, seconds_per_shot=-1)
    with pytest.raises(TypeError, match="target must be a DeviceTarget, got str"):
        estimate_cost(submission([1]), "braket:sv1")
    with pytest.raises(TypeError, match="estimate must be a CostEstimate, got dict"):
        format_cost({})
    assert isinstance(estimate_cost(submission([1]), target), CostEstimate)


def test_forward_and_gradient_circuits_are_counted_and_priced_apart():
    """A training step's job: 4 forward bindings and 128 parameter-shift ones per batch."""
    target = DeviceTarget("braket", "Aria-1", 25, price=PriceModel(per_task=0.30, per_shot=0.03, source=BRAKET_SOURCE))
    circuit = QuantumCircuit(2)
    sub = Submission("sample", (CircuitBatch(circuit, np.zeros((132, 1))),), shots=100, gradient_rows=128)
    estimate = estimate_cost(sub, target)
    assert (estimate.num_circuits, estimate.forward_circuits, estimate.gradient_circuits) == (132, 4, 128)
    assert estimate.usd == pytest.approx(0.30 + 13_200 * 0.03, abs=1e-9)
    assert estimate.gradient_usd == pytest.approx(12_800 * 0.03, abs=1e-9)
    assert estimate.forward_usd == pytest.approx(0.30 + 400 * 0.03, abs=1e-9)
    assert format_cost(estimate) == (
        "1 job, 132 circuit executions x 100 shots = 13200 shots on braket:Aria-1; est. $396.30 "
        f"(price source: {BRAKET_SOURCE}); forward: 4 circuits, 400 shots, $12.30; "
        "gradient (parameter shift): 128 circuits, 12800 shots, $384.00"
    )
    backward = estimate_cost(dataclasses.replace(sub, gradient_rows=132), target)  # a backward's own job
    assert backward.gradient_usd == pytest.approx(backward.usd, abs=1e-12) and backward.forward_usd == 0.0
    assert "forward" not in format_cost(backward)
    unknown = estimate_cost(sub, DeviceTarget("qiskit", "aer", 5))
    assert format_cost(unknown).endswith(
        "price unknown; forward: 4 circuits, 400 shots; gradient (parameter shift): 128 circuits, 12800 shots"
    )
    forward_only = estimate_cost(dataclasses.replace(sub, gradient_rows=0), target)
    assert forward_only.gradient_circuits == 0 and "gradient" not in format_cost(forward_only)
