"""A submission's content key and its serialised form (the journal's payload).

The key is a SHA-256 over everything that decides what the provider computes and bills: the
provider and device, the kind, the shots, the seed, every circuit (as OpenQASM 3 text, which is
canonical for a given circuit), every binding (float64 bytes) and every observable. The same
submission sent again (a re-run after a crash, a script started twice) has the same key, which the
journal uses to re-attach to the job or return its stored result instead of paying twice.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np

from hardware.providers.base import DeviceTarget, Submission

__all__ = ["KEY_PREFIX", "dump_submission", "submission_key", "submission_summary"]

KEY_PREFIX = "qmlh-"
"""Keys start with this, so a job tag is recognisably ours (``qmlh-<64 hex digits>``)."""


def _circuit_text(circuit: Any) -> str:
    from qiskit import qasm3

    try:
        return qasm3.dumps(circuit)
    except Exception:  # a gate QASM 3 cannot express: fall back to Qiskit's own binary form
        from qiskit import qpy

        buffer = io.BytesIO()
        qpy.dump(circuit, buffer)
        return buffer.getvalue().hex()


def _observable_text(observable: Any) -> str:
    return json.dumps([[label, [c.real, c.imag]] for label, c in observable.to_list()])


def submission_key(submission: Submission, target: DeviceTarget) -> str:
    """The content key of ``submission`` on ``target`` (``qmlh-`` + 64 hex digits)."""
    digest = hashlib.sha256()
    head = {
        "provider": target.provider,
        "device": target.name,
        "kind": submission.kind,
        "shots": submission.shots,
        "seed": submission.seed,
        "observables": [_observable_text(o) for o in submission.observables],
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    for batch in submission.batches:
        digest.update(_circuit_text(batch.circuit).encode())
        values = np.ascontiguousarray(batch.parameter_values, dtype=np.float64)
        digest.update(str(values.shape).encode())
        digest.update(values.tobytes())
    return KEY_PREFIX + digest.hexdigest()


def submission_summary(submission: Submission, target: DeviceTarget) -> dict[str, Any]:
    """Small JSON facts for the journal's listing: kind, circuits, bindings, shots, seed, width."""
    bindings = [int(b.parameter_values.shape[0]) for b in submission.batches]
    return {
        "kind": submission.kind,
        "circuits": len(submission.batches),
        "bindings": sum(bindings),
        "shots": submission.shots,
        "seed": submission.seed,
        "width": max((b.circuit.num_qubits for b in submission.batches), default=0),
        "device": f"{target.provider}:{target.name}",
        "tags": list(submission.tags),
    }


def dump_submission(submission: Submission) -> bytes:
    """The submission as bytes: Qiskit QPY for the circuits, ``.npz`` for the bindings, JSON for the rest."""
    from qiskit import qpy

    circuits = io.BytesIO()
    qpy.dump([b.circuit for b in submission.batches], circuits)
    arrays = io.BytesIO()
    np.savez(arrays, *[np.asarray(b.parameter_values, dtype=np.float64) for b in submission.batches])
    meta = {
        "kind": submission.kind,
        "shots": submission.shots,
        "seed": submission.seed,
        "tags": list(submission.tags),
        "observables": [_observable_text(o) for o in submission.observables],
    }
    parts = [json.dumps(meta).encode(), circuits.getvalue(), arrays.getvalue()]
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)
