"""A submission's content key and its serialised form (the journal's payload).

The key (schema :data:`KEY_SCHEMA`, version :data:`KEY_VERSION`) is a SHA-256 over our own canonical
JSON of everything that decides what the provider computes and bills: the provider and device, the
kind, the shots, the seed, and the work itself:

* a submission built from our circuits (``Submission.source``, what :class:`~hardware.backend.ProviderBackend`
  sends): each circuit's :func:`~circuits.ir.serialize.content_hash` with its measured qubits, our
  parameter values (float64 bytes), our observables and the options (transpiler level and seed);
  the transpiled Qiskit circuits are **not** part of it, so a new Qiskit whose transpiler or
  exporter writes other circuits still finds the job;
* a hand-made submission of Qiskit circuits (no source): a canonical walk of each circuit (gate
  names, qubit and clbit indices, parameters, registers), the binding arrays and the observables'
  Pauli labels: no exporter is involved either.

The transpiled circuits travel as the payload (:func:`dump_submission`, Qiskit QPY), which is what is
sent, never what is keyed on.

Journals written before key version 2 keyed jobs on the transpiled circuits' OpenQASM 3 text (with a
QPY fallback); :func:`legacy_submission_key` still computes that key, and the runner looks it up when
the journal holds such rows, so a re-run after upgrading qml-hybrid (with the same Qiskit) finds the
jobs recorded before. After a Qiskit upgrade as well the legacy lookup may miss (that is what version
2 fixes); those old rows stay readable with ``qml jobs``.
"""

from __future__ import annotations

import hashlib
import io
import json
from typing import Any

import numpy as np

from circuits.ir.serialize import content_hash, observable_to_dict
from hardware.providers.base import DeviceTarget, Submission, SubmissionSource

__all__ = [
    "KEY_PREFIX",
    "KEY_SCHEMA",
    "KEY_VERSION",
    "LEGACY_KEY_GLOB",
    "dump_submission",
    "legacy_submission_key",
    "submission_key",
    "submission_summary",
]

KEY_PREFIX = "qmlh-v2-"
"""Keys start with this, so a job tag is recognisably ours (``qmlh-v2-<64 hex digits>``)."""

KEY_SCHEMA = "qml-hybrid.submission-key"
KEY_VERSION = 2
"""The version of the key's canonical content; a change of what is hashed gets a new one."""

LEGACY_KEY_GLOB = "qmlh-[0-9a-f]*"
"""SQLite ``GLOB`` pattern of the version-1 keys (``qmlh-<64 hex digits>``)."""


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _array_digest(values: Any) -> str:
    array = np.ascontiguousarray(values, dtype=np.float64)
    digest = hashlib.sha256(str(array.shape).encode())
    digest.update(array.tobytes())
    return digest.hexdigest()


def _source_content(source: SubmissionSource) -> dict[str, Any]:
    return {
        "circuits": [[content_hash(circuit), list(measured)] for circuit, measured in source.circuits],
        "bindings": [{name: _array_digest(values[name]) for name in sorted(values)} for values in source.bindings],
        "observables": [observable_to_dict(o) for o in source.observables],
        "options": dict(source.options),
    }


def _qiskit_value(value: Any) -> Any:
    """A gate parameter or phase as JSON: numbers as floats, matrices by digest, expressions as text."""
    if isinstance(value, (bool, int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, complex):
        return [value.real, value.imag]
    if isinstance(value, np.ndarray):
        if np.iscomplexobj(value):
            return {"shape": list(value.shape), "re": _array_digest(value.real), "im": _array_digest(value.imag)}
        return {"shape": list(value.shape), "digest": _array_digest(value)}
    return str(value)


def _qiskit_circuit_content(circuit: Any) -> dict[str, Any]:
    """Our canonical walk of a Qiskit circuit: independent of Qiskit's exporters."""
    instructions = []
    for instruction in circuit.data:
        operation = instruction.operation
        instructions.append(
            [
                operation.name,
                [circuit.find_bit(q).index for q in instruction.qubits],
                [circuit.find_bit(c).index for c in instruction.clbits],
                [_qiskit_value(p) for p in operation.params],
            ]
        )
    return {
        "num_qubits": circuit.num_qubits,
        "registers": [[register.name, register.size] for register in circuit.cregs],
        "num_clbits": circuit.num_clbits,
        "global_phase": _qiskit_value(circuit.global_phase),
        "parameters": [str(p) for p in circuit.parameters],
        "instructions": instructions,
    }


def _qiskit_observable(observable: Any) -> Any:
    return [[label, [complex(c).real, complex(c).imag]] for label, c in observable.to_list()]


def submission_key(submission: Submission, target: DeviceTarget) -> str:
    """The content key of ``submission`` on ``target`` (``qmlh-v2-`` + 64 hex digits); see the module docstring."""
    content: dict[str, Any] = {
        "schema": KEY_SCHEMA,
        "version": KEY_VERSION,
        "provider": target.provider,
        "device": target.name,
        "kind": submission.kind,
        "shots": submission.shots,
        "seed": submission.seed,
    }
    if submission.source is not None:
        content["source"] = _source_content(submission.source)
    else:
        content["circuits"] = [_qiskit_circuit_content(b.circuit) for b in submission.batches]
        content["bindings"] = [_array_digest(b.parameter_values) for b in submission.batches]
        content["observables"] = [_qiskit_observable(o) for o in submission.observables]
    return KEY_PREFIX + hashlib.sha256(_canonical(content).encode()).hexdigest()


def _legacy_circuit_text(circuit: Any) -> str:
    from qiskit import qasm3

    try:
        return qasm3.dumps(circuit)
    except Exception:  # a gate QASM 3 cannot express: fall back to Qiskit's own binary form
        from qiskit import qpy

        buffer = io.BytesIO()
        qpy.dump(circuit, buffer)
        return buffer.getvalue().hex()


def _legacy_observable_text(observable: Any) -> str:
    return json.dumps([[label, [c.real, c.imag]] for label, c in observable.to_list()])


def legacy_submission_key(submission: Submission, target: DeviceTarget) -> str:
    """The version-1 key (``qmlh-`` + 64 hex digits): the transpiled circuits as OpenQASM 3 text.

    Only for finding jobs recorded by qml-hybrid before key version 2; its value changes with
    Qiskit's exporter and transpiler.
    """
    digest = hashlib.sha256()
    head = {
        "provider": target.provider,
        "device": target.name,
        "kind": submission.kind,
        "shots": submission.shots,
        "seed": submission.seed,
        "observables": [_legacy_observable_text(o) for o in submission.observables],
    }
    digest.update(json.dumps(head, sort_keys=True).encode())
    for batch in submission.batches:
        digest.update(_legacy_circuit_text(batch.circuit).encode())
        values = np.ascontiguousarray(batch.parameter_values, dtype=np.float64)
        digest.update(str(values.shape).encode())
        digest.update(values.tobytes())
    return "qmlh-" + digest.hexdigest()


def submission_summary(submission: Submission, target: DeviceTarget) -> dict[str, Any]:
    """Small JSON facts for the journal's listing: kind, circuits, bindings, shots, seed, width."""
    bindings = [int(b.parameter_values.shape[0]) for b in submission.batches]
    summary = {
        "kind": submission.kind,
        "circuits": len(submission.batches),
        "bindings": sum(bindings),
        "shots": submission.shots,
        "seed": submission.seed,
        "width": max((b.circuit.num_qubits for b in submission.batches), default=0),
        "device": f"{target.provider}:{target.name}",
        "tags": list(submission.tags),
    }
    if submission.gradient_rows:
        summary["gradient_bindings"] = sum(min(submission.gradient_rows, n) for n in bindings)
    return summary


def dump_submission(submission: Submission) -> bytes:
    """The submission as bytes: Qiskit QPY for the circuits, ``.npz`` for the bindings, JSON for the rest.

    The JSON part carries the key schema version and, for a submission with a source, our own circuits
    (canonical JSON) and observables, so the job can be rebuilt without the Qiskit that transpiled it.
    """
    from qiskit import qpy

    from circuits.ir.serialize import circuit_to_dict

    circuits = io.BytesIO()
    qpy.dump([b.circuit for b in submission.batches], circuits)
    arrays = io.BytesIO()
    np.savez(arrays, *[np.asarray(b.parameter_values, dtype=np.float64) for b in submission.batches])
    meta: dict[str, Any] = {
        "key_schema": KEY_SCHEMA,
        "key_version": KEY_VERSION,
        "kind": submission.kind,
        "shots": submission.shots,
        "seed": submission.seed,
        "tags": list(submission.tags),
        "gradient_rows": submission.gradient_rows,
        "observables": [_qiskit_observable(o) for o in submission.observables],
    }
    source = submission.source
    if source is not None:
        meta["source"] = {
            "circuits": [[circuit_to_dict(c), list(measured)] for c, measured in source.circuits],
            "observables": [observable_to_dict(o) for o in source.observables],
            "options": dict(source.options),
        }
    parts = [json.dumps(meta).encode(), circuits.getvalue(), arrays.getvalue()]
    return b"".join(len(p).to_bytes(8, "big") + p for p in parts)
