"""The cost estimate printed before a submission goes out: counts, dollars, and the one-line summary."""

from __future__ import annotations

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
