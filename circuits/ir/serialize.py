"""Canonical JSON form of circuits and observables, with a schema version and a stable content hash.

The form is a plain dict (``circuit_to_dict``) dumped with sorted keys and no
whitespace, floats written with Python's shortest round-trip ``repr``. Equal
circuits give byte-identical JSON, so :func:`content_hash` (SHA-256 of it) is
stable across processes and machines; the hardware job journal keys on it.

Schema (version 1)::

    {"schema": "qml-hybrid.circuit", "version": 1, "num_qubits": n,
     "operations": [{"gate": "rz", "qubits": [0], "params": [ANGLE], "data": DATA}, ...]}
    ANGLE = {"constant": c, "terms": [[coeff, [["theta", index, size], ...]], ...]}
    DATA  = null | {"pauli": "XZ"} | {"matrix": [[[re, im], ...], ...]} | {"kraus": [MATRIX, ...]}

Noise channels (:mod:`circuits.ir.channels`) are operations like gates: ``"gate"`` holds the
channel's name (``"depolarizing"``, ``"kraus"`` ...).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from circuits.errors import CircuitError
from circuits.ir.channels import KrausData
from circuits.ir.circuit import Circuit
from circuits.ir.gates import MatrixData, PauliLabel
from circuits.ir.observables import PauliString, PauliSum, Projector
from circuits.ir.operation import Operation, OperationData
from circuits.ir.parameters import Angle, Symbol

__all__ = [
    "SCHEMA_VERSION",
    "circuit_from_dict",
    "circuit_from_json",
    "circuit_to_dict",
    "circuit_to_json",
    "content_hash",
    "observable_to_dict",
]

SCHEMA_VERSION = 1
_SCHEMA = "qml-hybrid.circuit"


def _angle_to_dict(angle: Angle) -> dict[str, Any]:
    return {
        "constant": angle.constant,
        "terms": [[c, [[s.vector, s.index, s.size] for s in syms]] for c, syms in angle.terms],
    }


def _angle_from_dict(d: dict[str, Any]) -> Angle:
    terms = tuple((float(c), tuple(Symbol(v, int(i), int(n)) for v, i, n in syms)) for c, syms in d["terms"])
    return Angle._canonical(list(terms), float(d["constant"]))


def _matrix_to_list(array: np.ndarray) -> list[list[list[float]]]:
    return [[[float(z.real), float(z.imag)] for z in row] for row in array]


def _matrix_from_list(rows: list[list[list[float]]]) -> np.ndarray:
    return np.array([[complex(re, im) for re, im in row] for row in rows])


def _data_to_dict(data: OperationData) -> dict[str, Any] | None:
    if data is None:
        return None
    if isinstance(data, PauliLabel):
        return {"pauli": data.label}
    if isinstance(data, KrausData):
        return {"kraus": [_matrix_to_list(m) for m in data.matrices]}
    return {"matrix": _matrix_to_list(data.array)}


def _data_from_dict(d: dict[str, Any] | None) -> OperationData:
    if d is None:
        return None
    if "pauli" in d:
        return PauliLabel(d["pauli"])
    if "kraus" in d:
        return KrausData(np.stack([_matrix_from_list(m) for m in d["kraus"]]))
    return MatrixData(_matrix_from_list(d["matrix"]))


def circuit_to_dict(circuit: Circuit) -> dict[str, Any]:
    """The canonical dict form of a circuit (see the module docstring for the schema)."""
    return {
        "schema": _SCHEMA,
        "version": SCHEMA_VERSION,
        "num_qubits": circuit.num_qubits,
        "operations": [
            {
                "gate": op.name,
                "qubits": list(op.qubits),
                "params": [_angle_to_dict(p) for p in op.params],
                "data": _data_to_dict(op.data),
            }
            for op in circuit.operations
        ],
    }


def circuit_from_dict(d: dict[str, Any]) -> Circuit:
    """Rebuild a circuit from :func:`circuit_to_dict` output.

    Raises:
        CircuitError: the dict is not a circuit of a schema version this code reads.
    """
    if d.get("schema") != _SCHEMA:
        raise CircuitError(f"Not a serialized circuit: schema is {d.get('schema')!r}, expected {_SCHEMA!r}.")
    if d.get("version") != SCHEMA_VERSION:
        raise CircuitError(
            f"Serialized circuit has schema version {d.get('version')!r}; this qml-hybrid reads version "
            f"{SCHEMA_VERSION}. Upgrade qml-hybrid or re-export the circuit."
        )
    ops = [
        Operation(
            o["gate"],
            tuple(o["qubits"]),
            tuple(_angle_from_dict(p) for p in o["params"]),
            _data_from_dict(o["data"]),
        )
        for o in d["operations"]
    ]
    return Circuit(d["num_qubits"], ops)


def circuit_to_json(circuit: Circuit) -> str:
    """Canonical JSON text: sorted keys, no whitespace."""
    return json.dumps(circuit_to_dict(circuit), sort_keys=True, separators=(",", ":"), allow_nan=False)


def circuit_from_json(text: str) -> Circuit:
    """Inverse of :func:`circuit_to_json`."""
    return circuit_from_dict(json.loads(text))


def observable_to_dict(observable: PauliSum | Projector) -> dict[str, Any]:
    """Canonical dict form of an observable."""
    if isinstance(observable, Projector):
        return {"projector": {"qubits": list(observable.qubits), "bits": list(observable.bits)}}
    return {"pauli_sum": [[t.coeff, [[q, p] for q, p in t.paulis]] for t in observable.terms]}


def observable_from_dict(d: dict[str, Any]) -> PauliSum | Projector:
    """Inverse of :func:`observable_to_dict`."""
    if "projector" in d:
        return Projector(tuple(d["projector"]["qubits"]), tuple(d["projector"]["bits"]))
    return PauliSum(tuple(PauliString(float(c), tuple((int(q), p) for q, p in ps)) for c, ps in d["pauli_sum"]))


def content_hash(*objects: Circuit | PauliSum | Projector | Any) -> str:
    """SHA-256 hex digest of the canonical JSON of circuits, observables and plain JSON values."""
    parts = []
    for obj in objects:
        if isinstance(obj, Circuit):
            parts.append(circuit_to_dict(obj))
        elif isinstance(obj, (PauliSum, Projector)):
            parts.append(observable_to_dict(obj))
        else:
            parts.append(obj)
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()
