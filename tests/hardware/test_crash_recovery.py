"""The journal's promise under SIGKILL: a script sending 20 jobs, killed at random points 50 times and run
again each time, ends with every result, no job paid twice and nothing lost (issue 6's crash test).

The provider is the scripted one, whose "service" is a directory that outlives the client, and which
logs every accepted submission: that log is the bill the test counts.
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
JOBS = 20
KILLS = 50

CLIENT = """
import json, sys
import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from hardware.journal import Journal
from hardware.providers.base import CircuitBatch, Submission
from hardware.providers.scripted import ScriptedProvider
from hardware.runner import JobRunner

state, journal_path, out = sys.argv[1], sys.argv[2], sys.argv[3]
provider = ScriptedProvider(state_dir=state, delay_s=0.003, polls_until_done=2)
runner = JobRunner(provider, Journal(journal_path), poll_interval=0.002, log=None)
theta = Parameter("theta")
qc = QuantumCircuit(1, 1)
qc.ry(theta, 0)
qc.measure(0, 0)
results = {}
for job in range(JOBS):
    submission = Submission("sample", (CircuitBatch(qc, np.array([[0.1 * job]])),), shots=500, seed=job)
    results[job] = runner.run(submission).counts[0][0]
with open(out, "w") as f:
    json.dump(results, f)
""".replace("range(JOBS)", f"range({JOBS})")


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


def test_sigkill_at_random_points_loses_nothing_and_pays_once(tmp_path):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    state, journal, out = tmp_path / "service", tmp_path / "journal.sqlite", tmp_path / "results.json"
    command = [sys.executable, str(script), str(state), str(journal), str(out)]
    rng = random.Random(20261127)

    started = time.monotonic()
    clean = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr[-2000:]
    full_run = time.monotonic() - started
    reference = json.loads(out.read_text())
    out.unlink()
    (tmp_path / "service").rename(tmp_path / "reference-service")
    journal.unlink()

    kills = 0
    for _ in range(KILLS):
        process = subprocess.Popen(command, env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path)
        time.sleep(rng.uniform(0.0, full_run * 0.6))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        process.wait(timeout=60)
    final = subprocess.run(command, env=_env(), capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert final.returncode == 0, final.stderr[-2000:]

    assert kills >= KILLS // 2  # most runs really were killed mid-way
    assert json.loads(out.read_text()) == reference  # every result, the same as an uninterrupted run
    bill = [line.split(" ") for line in (state / "submissions.log").read_text().splitlines()]
    tags = [tag for _, tag in bill]
    assert len(bill) == JOBS and len(set(tags)) == JOBS  # each job paid exactly once


@pytest.mark.parametrize("stage", ["after_record", "after_send"])
def test_killed_between_send_and_id_is_found_by_tag(tmp_path, stage):
    """The narrowest window, by hand: the job was sent but its id never written down."""
    import numpy as np
    from qiskit import QuantumCircuit

    from hardware.journal import Journal
    from hardware.providers.base import CircuitBatch, Submission
    from hardware.providers.scripted import ScriptedProvider
    from hardware.runner import JobRunner
    from hardware.submission import dump_submission, submission_key, submission_summary

    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    submission = Submission("sample", (CircuitBatch(qc, np.zeros((1, 0))),), shots=100, seed=0)
    provider = ScriptedProvider(state_dir=tmp_path / "service")
    journal = Journal(tmp_path / "j.sqlite")
    target = provider.target()
    key = submission_key(submission, target)
    tagged = Submission(submission.kind, submission.batches, shots=100, seed=0, tags=(key,))
    journal.record(key, provider="scripted", device="sim", payload=dump_submission(tagged),
                   summary=submission_summary(tagged, target))  # fmt: skip
    journal.claim(key, f"{socket.gethostname()}:999999")  # a process of this host... that then died
    if stage == "after_send":
        provider.submit(tagged)  # it sent the job, then died before recording the id
    result = JobRunner(provider, journal, poll_interval=0.001, log=None).run(submission)
    assert result.counts == [[{"1": 100}]]
    assert len(provider.submissions()) == 1
