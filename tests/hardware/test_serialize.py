"""Results as bytes: exact round trips, shapes kept, foreign bytes refused."""

from __future__ import annotations

import datetime
import json

import numpy as np
import pytest

from hardware.providers.base import SubmissionResult
from hardware.serialize import RESULT_FORMAT, dump_result, load_result


def test_counts_round_trip():
    result = SubmissionResult(
        counts=[[{"00": 510, "11": 490}, {"01": np.int64(3)}], [{}]],
        metadata={"device": "fake", "time_s": np.float32(0.25), "when": datetime.datetime(2026, 1, 2, 3, 4, 5)},
    )
    back = load_result(dump_result(result))
    assert back.counts == [[{"00": 510, "11": 490}, {"01": 3}], [{}]]
    assert back.expectations is None
    assert back.metadata == {"device": "fake", "time_s": 0.25, "when": "2026-01-02T03:04:05"}
    assert isinstance(back.counts[0][1]["01"], int)


def test_expectations_round_trip_exactly_with_shapes():
    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((3, 2)), np.zeros((4, 0)), np.array([[np.nan, np.inf, -0.0]])]
    back = load_result(dump_result(SubmissionResult(expectations=arrays)))
    assert back.counts is None and back.metadata == {}
    for got, want in zip(back.expectations, arrays, strict=True):
        assert got.dtype == np.float64 and got.shape == want.shape
        np.testing.assert_array_equal(got, want)  # bit-exact: JSON floats use the shortest round-trip repr
    assert np.signbit(back.expectations[2][0, 2])


def test_dump_is_plain_deterministic_json():
    result = SubmissionResult(counts=[[{"1": 2, "0": 1}]], metadata={"b": 1, "a": [1, 2]})
    data = dump_result(result)
    assert data == dump_result(result)
    obj = json.loads(data)
    assert obj["format"] == RESULT_FORMAT and obj["version"] == 1 and obj["counts"] == [[{"0": 1, "1": 2}]]


def test_bad_input():
    with pytest.raises(TypeError, match="expected a SubmissionResult, got dict"):
        dump_result({"counts": []})
    with pytest.raises(ValueError, match="expectation values must be real"):
        dump_result(SubmissionResult(expectations=[np.array([[1j]])]))
    with pytest.raises(TypeError, match="expected bytes, got str"):
        load_result("{}")
    with pytest.raises(ValueError, match="not a serialized qml-hybrid result: not UTF-8 JSON"):
        load_result(b"\xff\x00")
    with pytest.raises(ValueError, match="not a serialized qml-hybrid result: no 'format' field"):
        load_result(b'{"counts": []}')
    newer = json.dumps({"format": RESULT_FORMAT, "version": 9}).encode()
    with pytest.raises(ValueError, match="serialized result version 9, this qml-hybrid reads version 1; upgrade"):
        load_result(newer)
    broken = json.dumps({"format": RESULT_FORMAT, "version": 1, "expectations": [{"shape": [2, 2], "data": [1]}]})
    with pytest.raises(ValueError, match="malformed 'expectations'"):
        load_result(broken.encode())
