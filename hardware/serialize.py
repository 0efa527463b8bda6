"""Results as bytes for the journal: :class:`~hardware.providers.base.SubmissionResult` <-> JSON.

The form is plain JSON (UTF-8), readable without qml-hybrid::

    {"format": "qml-hybrid/submission-result", "version": 1,
     "counts": [[{"00": 510, "11": 490}, ...], ...] | null,
     "expectations": [{"shape": [N, k], "data": [[...], ...]}, ...] | null,
     "metadata": {...}}

Expectation arrays keep their shape (an ``(N, 0)`` array survives) and round-trip exactly as
float64 (JSON numbers are written with the shortest repr that reads back to the same double;
``NaN`` and ``Infinity`` are written as Python's :mod:`json` does). Metadata values that JSON lacks
become JSON: numpy scalars and arrays as numbers and lists, datetimes as ISO 8601 strings,
anything else as its ``str``.
"""

from __future__ import annotations

import datetime as _dt
import json
from typing import Any

import numpy as np

from hardware.providers.base import SubmissionResult

__all__ = ["RESULT_FORMAT", "RESULT_VERSION", "dump_result", "load_result", "result_to_json"]

RESULT_FORMAT = "qml-hybrid/submission-result"
"""The ``"format"`` field of a serialized result."""

RESULT_VERSION = 1
"""The ``"version"`` field this code writes and reads."""


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def result_to_json(result: SubmissionResult) -> dict[str, Any]:
    """The JSON object (a dict of plain Python values) :func:`dump_result` writes.

    Raises:
        TypeError: ``result`` is not a :class:`SubmissionResult`.
    """
    if not isinstance(result, SubmissionResult):
        raise TypeError(f"expected a SubmissionResult, got {type(result).__name__}")
    counts = None
    if result.counts is not None:
        counts = [
            [{str(bits): int(count) for bits, count in binding.items()} for binding in batch] for batch in result.counts
        ]
    expectations = None
    if result.expectations is not None:
        expectations = []
        for array in result.expectations:
            values = np.asarray(array)
            if np.iscomplexobj(values):
                raise ValueError("expectation values must be real; got a complex array")
            values = values.astype(np.float64)
            expectations.append({"shape": list(values.shape), "data": values.tolist()})
    return {
        "format": RESULT_FORMAT,
        "version": RESULT_VERSION,
        "counts": counts,
        "expectations": expectations,
        "metadata": json.loads(json.dumps(dict(result.metadata), default=_jsonable)),
    }


def dump_result(result: SubmissionResult) -> bytes:
    """``result`` as UTF-8 JSON bytes (see the module docstring for the form)."""
    return json.dumps(result_to_json(result), sort_keys=True, separators=(",", ":")).encode("utf-8")


def _bad(what: str) -> ValueError:
    return ValueError(
        f"not a serialized qml-hybrid result: {what}; expected the bytes hardware.serialize.dump_result wrote"
    )


def load_result(data: bytes) -> SubmissionResult:
    """Read bytes written by :func:`dump_result`.

    Raises:
        TypeError: ``data`` is not bytes.
        ValueError: not JSON, another format or version, or a malformed field.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"expected bytes, got {type(data).__name__}")
    try:
        obj = json.loads(bytes(data).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _bad(f"not UTF-8 JSON ({exc})") from None
    if not isinstance(obj, dict) or obj.get("format") != RESULT_FORMAT:
        raise _bad("no 'format' field naming it")
    if obj.get("version") != RESULT_VERSION:
        raise ValueError(
            f"serialized result version {obj.get('version')!r}, this qml-hybrid reads version {RESULT_VERSION}; "
            "upgrade qml-hybrid to read it"
        )
    counts = obj.get("counts")
    if counts is not None:
        if not isinstance(counts, list) or not all(
            isinstance(batch, list) and all(isinstance(binding, dict) for binding in batch) for batch in counts
        ):
            raise _bad("'counts' is not a list of lists of {bitstring: count}")
        counts = [[{str(k): int(v) for k, v in binding.items()} for binding in batch] for batch in counts]
    expectations = obj.get("expectations")
    if expectations is not None:
        arrays = []
        try:
            for entry in expectations:
                shape = tuple(int(n) for n in entry["shape"])
                arrays.append(np.asarray(entry["data"], dtype=np.float64).reshape(shape))
        except (TypeError, KeyError, ValueError) as exc:
            raise _bad(f"malformed 'expectations' ({exc})") from None
        expectations = arrays
    metadata = obj.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise _bad("'metadata' is not an object")
    return SubmissionResult(counts=counts, expectations=expectations, metadata=metadata)
