"""The ``qml run`` command: output in Qiskit's bit order, backends agree, errors are one line with exit status 2.

Oracle: ``qiskit.quantum_info.Statevector(qiskit.qasm2.loads(text)).probabilities_dict()``,
which keys bitstrings with qubit 0 rightmost, the order the command promises.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import qiskit.qasm2
from qiskit.quantum_info import Statevector

from circuits import Circuit, ParameterVector
from qml.cli import PROBABILITY_CUTOFF, bitstring, main

HEADER = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'

BELL = HEADER + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0],q[1];\n"
X_ON_QUBIT_0 = HEADER + "qreg q[2];\nx q[0];\n"
# asymmetric in every qubit, so any bit-order mistake changes the answer
ROTATIONS = HEADER + (
    "qreg q[3];\nry(0.3) q[0];\nrx(1.1) q[2];\ncx q[0],q[1];\nu3(0.7,0.2,-0.4) q[1];\ncrz(0.9) q[1],q[2];\nh q[2];\n"
)


def write(tmp_path: Path, text: str, name: str = "circuit.qasm") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def run_json(capsys, *argv: str) -> dict:
    assert main(["run", *argv, "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""
    lines = captured.out.strip().splitlines()
    assert len(lines) == 1, "--json prints exactly one JSON object"
    return json.loads(lines[0])


def qiskit_probabilities(text: str) -> dict[str, float]:
    circuit = qiskit.qasm2.loads(text)
    circuit.remove_final_measurements(inplace=True)
    probs = Statevector(circuit).probabilities_dict()
    return {str(k): float(v) for k, v in probs.items() if v > PROBABILITY_CUTOFF}


def assert_probabilities_equal(got: dict[str, float], expected: dict[str, float], atol: float = 1e-10) -> None:
    assert sorted(got) == sorted(expected)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, abs=atol), key


def test_bitstring_puts_qubit_0_rightmost():
    assert bitstring(0b100, 3) == "001"  # qubit 0 (most significant in our index) is 1
    assert bitstring(0b011, 3) == "110"
    assert bitstring(0, 1) == "0"


@pytest.mark.parametrize("backend", ["torch", "aer"])
def test_bell_probabilities(tmp_path, capsys, backend):
    result = run_json(capsys, write(tmp_path, BELL), "--backend", backend)
    assert result["num_qubits"] == 2
    assert set(result) == {"num_qubits", "probabilities"}
    assert_probabilities_equal(result["probabilities"], {"00": 0.5, "11": 0.5})


@pytest.mark.parametrize("backend", ["torch", "aer"])
def test_x_on_qubit_0_is_rightmost_bit_as_in_qiskit(tmp_path, capsys, backend):
    result = run_json(capsys, write(tmp_path, X_ON_QUBIT_0), "--backend", backend)
    assert result["probabilities"] == pytest.approx({"01": 1.0}, abs=1e-12)
    assert_probabilities_equal(result["probabilities"], qiskit_probabilities(X_ON_QUBIT_0))


@pytest.mark.parametrize("backend", ["torch", "aer"])
def test_asymmetric_circuit_matches_qiskit(tmp_path, capsys, backend):
    result = run_json(capsys, write(tmp_path, ROTATIONS), "--backend", backend)
    assert result["num_qubits"] == 3
    assert list(result["probabilities"]) == sorted(result["probabilities"]), "keys are sorted"
    assert_probabilities_equal(result["probabilities"], qiskit_probabilities(ROTATIONS))


def test_aer_agrees_with_torch(tmp_path, capsys):
    path = write(tmp_path, ROTATIONS)
    torch_result = run_json(capsys, path, "--backend", "torch")
    aer_result = run_json(capsys, path, "--backend", "aer")
    assert_probabilities_equal(torch_result["probabilities"], aer_result["probabilities"])


def test_openqasm3_file(tmp_path, capsys):
    text = 'OPENQASM 3.0;\ninclude "stdgates.inc";\nqubit[2] q;\nbit[2] c;\nx q[0];\nh q[1];\nc = measure q;\n'
    result = run_json(capsys, write(tmp_path, text))
    assert_probabilities_equal(result["probabilities"], {"01": 0.5, "11": 0.5})


def test_zero_probability_states_are_omitted(tmp_path, capsys):
    result = run_json(capsys, write(tmp_path, BELL))
    assert "01" not in result["probabilities"] and "10" not in result["probabilities"]


@pytest.mark.parametrize("backend", ["torch", "aer"])
def test_shots_with_seed_are_reproducible(tmp_path, capsys, backend):
    path = write(tmp_path, ROTATIONS)
    first = run_json(capsys, path, "--backend", backend, "--shots", "2000", "--seed", "11")
    second = run_json(capsys, path, "--backend", backend, "--shots", "2000", "--seed", "11")
    assert first == second
    assert set(first) == {"num_qubits", "counts"}
    counts = first["counts"]
    assert sum(counts.values()) == 2000
    assert all(isinstance(c, int) and c > 0 for c in counts.values())
    assert list(counts) == sorted(counts)
    exact = qiskit_probabilities(ROTATIONS)
    assert set(counts) <= set(exact)
    for key, p in exact.items():  # 5 sigma of a binomial with 2000 shots
        sigma = (p * (1 - p) / 2000) ** 0.5
        assert abs(counts.get(key, 0) / 2000 - p) <= 5 * sigma + 1e-3, key


def test_different_seeds_give_different_counts(tmp_path, capsys):
    path = write(tmp_path, ROTATIONS)
    first = run_json(capsys, path, "--shots", "2000", "--seed", "1")
    second = run_json(capsys, path, "--shots", "2000", "--seed", "2")
    assert first != second


def test_counts_of_a_deterministic_circuit_use_qiskit_order(tmp_path, capsys):
    for backend in ("torch", "aer"):
        result = run_json(capsys, write(tmp_path, X_ON_QUBIT_0), "--backend", backend, "--shots", "50", "--seed", "0")
        assert result == {"num_qubits": 2, "counts": {"01": 50}}


def test_table_output_names_the_bit_order(tmp_path, capsys):
    assert main(["run", write(tmp_path, BELL)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# 2 qubit(s), backend torch, probabilities (p > 1e-12)"
    assert lines[1] == "# qubit 0 is the rightmost bit, as in Qiskit"
    assert lines[2].split() == ["bitstring", "probability"]
    assert [line.split()[0] for line in lines[3:]] == ["00", "11"]
    assert [float(line.split()[1]) for line in lines[3:]] == pytest.approx([0.5, 0.5], abs=1e-9)


def test_table_output_with_shots(tmp_path, capsys):
    assert main(["run", write(tmp_path, X_ON_QUBIT_0), "--shots", "7", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "# 2 qubit(s), backend torch, counts of 7 shots"
    assert lines[2].split() == ["bitstring", "count"]
    assert lines[3].split() == ["01", "7"]


# -- errors: one line on stderr, exit status 2 ----------------------------------------------


def run_error(capsys, *argv: str) -> str:
    assert main(list(argv)) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    return lines[0]


def test_missing_file(tmp_path, capsys):
    missing = str(tmp_path / "nope.qasm")
    message = run_error(capsys, "run", missing)
    assert message == f"qml run: error: no such file: {missing!r}"


def test_directory_instead_of_file(tmp_path, capsys):
    message = run_error(capsys, "run", str(tmp_path))
    assert message.startswith("qml run: error: not a file:")


def test_malformed_qasm_names_the_line(tmp_path, capsys):
    text = HEADER + "qreg q[2];\nh q[0];\nthis is not qasm;\n"
    message = run_error(capsys, "run", write(tmp_path, text))
    assert message.startswith("qml run: error: ")
    assert "line 5" in message


def test_qubit_out_of_range_names_the_line(tmp_path, capsys):
    text = HEADER + "qreg q[2];\ncx q[0],q[2];\n"
    message = run_error(capsys, "run", write(tmp_path, text))
    assert "line 4" in message


@pytest.mark.parametrize("shots", ["0", "-5"])
def test_shots_must_be_positive(tmp_path, capsys, shots):
    message = run_error(capsys, "run", write(tmp_path, BELL), f"--shots={shots}")
    assert message == (
        f"qml run: error: argument --shots: expected a positive integer, got {shots}; "
        "omit --shots for exact probabilities (see 'qml run --help')"
    )


def test_shots_must_be_an_integer(tmp_path, capsys):
    message = run_error(capsys, "run", write(tmp_path, BELL), "--shots", "ten")
    assert message == "qml run: error: argument --shots: expected a positive integer, got 'ten' (see 'qml run --help')"


def test_unknown_backend(tmp_path, capsys):
    message = run_error(capsys, "run", write(tmp_path, BELL), "--backend", "cirq")
    assert message == (
        "qml run: error: argument --backend: unknown backend 'cirq'; choose one of: torch, aer "
        "or PROVIDER:DEVICE (e.g. ibm:ibm_torino) (see 'qml run --help')"
    )


def test_negative_seed(tmp_path, capsys):
    message = run_error(capsys, "run", write(tmp_path, BELL), "--shots", "5", "--seed", "-1")
    assert "argument --seed: expected an integer in [0, 2**63), got -1" in message


def test_unbound_parameters_are_a_user_error(tmp_path, capsys, monkeypatch):
    import circuits.export.qasm as qasm

    theta = ParameterVector("theta", 2)
    monkeypatch.setattr(qasm, "load_qasm_file", lambda path: Circuit(1).rx(theta[0], 0).ry(theta[1], 0))
    message = run_error(capsys, "run", write(tmp_path, BELL))
    assert message.endswith(
        "has unbound parameters (theta); 'qml run' simulates circuits with numeric angles only: "
        "give them values in the file"
    )


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "run" in capsys.readouterr().err


def test_help_exits_zero(capsys):
    assert main(["run", "--help"]) == 0
    assert "qubit 0 is the rightmost bit" in capsys.readouterr().out.replace("\n", " ")


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["train", "--help"], ["jobs", "--help"]])
def test_help_loads_no_torch_and_no_vendor_sdk(args):
    """``qml --help`` is instant (docs/cli.md): torch and the SDKs load when a command runs, not before."""
    code = (
        "import runpy, sys\n"
        f"sys.argv = ['qml', *{args!r}]\n"
        "try:\n"
        "    runpy.run_module('qml', run_name='__main__')\n"
        "except SystemExit as exc:\n"
        "    assert exc.code == 0, exc.code\n"
        "heavy = ('torch', 'numpy', 'scipy', 'qiskit', 'qiskit_aer', 'pennylane', 'matplotlib', 'sklearn')\n"
        "print(sorted(name for name in heavy if name in sys.modules), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "usage: qml" in done.stdout
    assert done.stderr.strip() == "[]"


def test_console_entry_point_in_a_fresh_process(tmp_path):
    path = write(tmp_path, BELL)
    done = subprocess.run(
        [sys.executable, "-m", "qml.cli", "run", path, "--json"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["probabilities"] == pytest.approx({"00": 0.5, "11": 0.5}, abs=1e-12)
    failed = subprocess.run(
        [sys.executable, "-m", "qml.cli", "run", path, "--shots", "0"], capture_output=True, text=True, timeout=120
    )
    assert failed.returncode == 2
    assert failed.stdout == ""
    assert failed.stderr.count("\n") == 1


def test_run_on_a_provider_device(tmp_path, capsys, monkeypatch):
    """``--backend PROVIDER:DEVICE`` goes through the hardware plugin (entry point), journal and all."""
    monkeypatch.setenv("QML_HYBRID_JOURNAL", str(tmp_path / "journal.sqlite"))
    monkeypatch.setenv("QML_HYBRID_SCRIPTED_DIR", str(tmp_path / "service"))
    assert (
        main(["run", write(tmp_path, BELL), "--backend", "scripted:sim", "--shots", "400", "--seed", "3", "--json"])
        == 0
    )
    counts = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["counts"]
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 400
    assert main(["jobs", "list", "--journal", str(tmp_path / "journal.sqlite")]) == 0
    assert "scripted:sim" in capsys.readouterr().out
    message = run_error(capsys, "run", write(tmp_path, BELL), "--backend", "nowhere:x")
    assert "unknown provider 'nowhere'; known providers: braket, ibm, qiskit, scripted" in message
