"""``qml bench tune``: the engine's tuning measured on purpose, saved and printed."""

from __future__ import annotations

import io
import json

from circuits.sim import native, tuning
from qml import cli_bench
from qml.cli import build_parser, main

PROBE_KEY = "apply:k1:R8:batched:nograd"


def _args(argv):
    return build_parser().parse_args(["bench", *argv])


def test_qml_bench_tune_measures_saves_and_prints(tuned, monkeypatch):
    monkeypatch.setattr(native, "available", lambda: True)  # measured by the fake below, never built
    monkeypatch.setattr(tuning, "_measure_chunk", lambda: (4 << 20, True, {4 << 20: 0.01, 8 << 20: 0.02}))
    fusion = {"launch_ns": 2e4, "dense_ns": [1.3, 1.1, 1.4, 2.1, 3.2], "permute_ns": 2.7, "diagonal_ns": 0.4}
    monkeypatch.setattr(tuning, "_measure_fusion", lambda: ({**fusion, "gather_ns": 1.2}, True, {}))
    monkeypatch.setattr(
        tuning,
        "_measure_probe",
        lambda probe, dtype: (probe.candidates()[0], probe.key != PROBE_KEY, {probe.candidates()[0]: 1e-4}),
    )
    out = io.StringIO()
    args = _args(["tune", "--dtype", "complex64,float32"])
    assert cli_bench.bench_command(args, out) == 0
    text = out.getvalue()
    assert f"file: {tuning.cache_path()}" in text
    assert "batch chunk: 4 MiB of state per chunk (built-in 8 MiB); 4 MiB 10.0 ms, 8 MiB 20.0 ms" in text
    assert "complex64: " in text and "float32: " in text
    assert (
        "constant-gate fusion: dense blocks up to 5 qubits; ns per amplitude: dense k=1..5 1.30/1.10/1.40/2.10/3.20, "
        "non-contiguous +2.70, diagonal 0.40, gather 1.20; 20.0 us fixed per pass (built-in: dense blocks up to 4 "
        "qubits)"
    ) in text
    assert f"too noisy to keep (built-in used, measured again later): {PROBE_KEY}" in text
    entry = next(iter(json.loads(tuning.cache_path().read_text())["machines"].values()))
    assert entry["chunk_bytes"] == 4 << 20
    assert PROBE_KEY not in entry["kernels"]["complex64"]  # the unsteady one is not saved
    assert len(entry["kernels"]["float32"]) == len(tuning.all_probes()) + len(tuning.layer_probes()) - 1

    out = io.StringIO()
    assert cli_bench.bench_command(_args(["tune", "--show"]), out) == 0
    assert "batch chunk: 4 MiB of state per chunk" in out.getvalue()
    assert "constant-gate fusion: dense blocks up to 5 qubits" in out.getvalue()


def test_qml_bench_without_an_action_is_a_user_error(capsys):
    assert main(["bench"]) == 2
    assert "'qml bench' needs an action: 'qml bench tune'" in capsys.readouterr().err
    assert main(["bench", "tune", "--dtype", "complex32"]) == 2
    assert "expected a comma-separated list of complex64" in capsys.readouterr().err
