"""The job protocol against a scripted provider: pay once, re-attach, retry only what is transient."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter

from hardware.errors import JobFailedError, JobTimeoutError, TransientProviderError
from hardware.journal import Journal
from hardware.providers.base import CircuitBatch, Submission
from hardware.providers.scripted import ScriptedProvider
from hardware.runner import JobRunner


def _submission(values=((0.3,), (1.2,)), seed: int = 5, shots: int = 2000) -> Submission:
    theta = Parameter("theta")
    qc = QuantumCircuit(2, 2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return Submission("sample", (CircuitBatch(qc, np.array(values, dtype=np.float64)),), shots=shots, seed=seed)


def _runner(tmp_path, **provider_options) -> tuple[JobRunner, ScriptedProvider]:
    provider = ScriptedProvider(state_dir=tmp_path / "service", **provider_options)
    journal = Journal(tmp_path / "journal.sqlite")
    return JobRunner(provider, journal, poll_interval=0.001, log=None, sleep=lambda s: None), provider


def test_counts_follow_the_circuit_and_the_bit_order(tmp_path):
    runner, _ = _runner(tmp_path)
    result = runner.run(_submission())
    counts = result.counts[0]
    assert [sum(c.values()) for c in counts] == [2000, 2000]
    assert set(counts[0]) <= {"00", "11"}  # Bell-like: both bits agree
    p11 = counts[1].get("11", 0) / 2000
    assert abs(p11 - np.sin(1.2 / 2) ** 2) < 5 * np.sqrt(0.25 / 2000)


def test_same_submission_is_paid_once(tmp_path):
    runner, provider = _runner(tmp_path)
    first = runner.run(_submission())
    again = runner.run(_submission())
    assert again.counts == first.counts and len(provider.submissions()) == 1
    other = runner.run(_submission(seed=6))
    assert other.counts != first.counts and len(provider.submissions()) == 2
    assert len(runner.journal.list(status="done")) == 2


def test_transient_errors_are_retried_and_lost_replies_are_not_resent(tmp_path):
    runner, provider = _runner(
        tmp_path, faults={"submit": ["transient", "lost_reply"], "status": ["transient", "transient"]}
    )
    result = runner.run(_submission())
    assert result.counts is not None
    assert len(provider.submissions()) == 1  # the lost reply's job was found by its tag, not sent again


def test_failed_jobs_are_final(tmp_path):
    runner, provider = _runner(tmp_path, fail_jobs=True)
    with pytest.raises(JobFailedError, match="ended failed at the provider"):
        runner.run(_submission())
    with pytest.raises(JobFailedError, match="ended failed"):
        runner.run(_submission())
    assert len(provider.submissions()) == 1


def test_timeout_leaves_the_job_to_resume(tmp_path):
    provider = ScriptedProvider(state_dir=tmp_path / "service", polls_until_done=10**6)
    runner = JobRunner(provider, Journal(tmp_path / "j.sqlite"), poll_interval=0.001, timeout=0.05, log=None)
    with pytest.raises(JobTimeoutError, match="stays in the journal"):
        runner.run(_submission())
    record = runner.journal.list()[0]
    assert record.state in ("submitted", "running") and record.remote_id is not None
    provider.polls_until_done = 0
    resumed = JobRunner(provider, Journal(tmp_path / "j.sqlite"), poll_interval=0.001, log=None).run(_submission())
    assert resumed.counts is not None and len(provider.submissions()) == 1


def test_non_transient_errors_are_not_retried(tmp_path):
    runner, provider = _runner(tmp_path)
    calls = []

    def broken(submission):
        calls.append(1)
        raise RuntimeError("bad request")

    provider.submit = broken
    with pytest.raises(RuntimeError, match="bad request"):
        runner.run(_submission())
    assert len(calls) == 1


def test_transient_errors_give_up_at_the_deadline(tmp_path):
    provider = ScriptedProvider(state_dir=tmp_path / "service", faults={"submit": ["transient"] * 100})
    runner = JobRunner(provider, Journal(tmp_path / "j.sqlite"), retry_deadline=0.0, log=None, sleep=lambda s: None)
    with pytest.raises(TransientProviderError):
        runner.run(_submission())


def test_a_sample_submission_needs_shots(tmp_path):
    runner, provider = _runner(tmp_path)
    with pytest.raises(ValueError, match="a sampled submission needs shots >= 1, got None"):
        runner.run(_submission(shots=None))
    assert provider.submissions() == [] and runner.journal.list() == []


# -- the key: our own content, not an exporter's text (issue 10, item 9) ---------------------------


def test_the_key_of_qiskit_circuits_does_not_depend_on_the_exporter(monkeypatch):
    from qiskit import qasm3, qpy

    from hardware.providers.base import DeviceTarget
    from hardware.submission import KEY_PREFIX, submission_key

    target = DeviceTarget("scripted", "sim", 5)
    key = submission_key(_submission(), target)
    assert key.startswith(KEY_PREFIX) and len(key) == len(KEY_PREFIX) + 64

    def broken(*args, **kwargs):
        raise AssertionError("the key must not call an exporter")

    monkeypatch.setattr(qasm3, "dumps", broken)
    monkeypatch.setattr(qpy, "dump", broken)
    assert submission_key(_submission(), target) == key
    # ... and it still tells different work apart
    assert submission_key(_submission(values=((0.3,), (1.2000001,))), target) != key
    assert submission_key(_submission(seed=6), target) != key
    assert submission_key(_submission(shots=2001), target) != key
    assert submission_key(_submission(), DeviceTarget("scripted", "other", 5)) != key
    other = _submission()
    other.batches[0].circuit.x(1)
    assert submission_key(other, target) != key


def test_jobs_recorded_under_version_1_keys_are_found_and_not_paid_again(tmp_path):
    """A journal written before key version 2: the run finds the old row by its old key."""
    from hardware.serialize import dump_result
    from hardware.submission import dump_submission, legacy_submission_key

    runner, provider = _runner(tmp_path)
    fresh, other_provider = _runner(tmp_path / "elsewhere")
    stored = fresh.run(_submission())  # a result to plant
    target = provider.target()
    legacy = legacy_submission_key(_submission(), target)
    assert legacy.startswith("qmlh-") and not legacy.startswith("qmlh-v2-")
    runner.journal.record(legacy, provider="scripted", device="sim", payload=dump_submission(_submission()), summary={})
    runner.journal.set_submitted(legacy, "scripted-old")
    runner.journal.store_result(legacy, dump_result(stored))
    again = runner.run(_submission())
    assert again.counts == stored.counts
    assert provider.submissions() == [] and len(runner.journal.list()) == 1
    runner.run(_submission(seed=9))  # new work is keyed with version 2
    assert len(provider.submissions()) == 1 and runner.journal.list()[-1].key.startswith("qmlh-v2-")
    assert len(other_provider.submissions()) == 1
