"""Tests of OpenQASM 2/3 reading and writing."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import qasm2
from qiskit.quantum_info import Statevector

from circuits import GATES, Circuit, ParameterVector, TorchBackend
from circuits.errors import QasmError
from circuits.export.qasm import (
    circuit_to_qasm2,
    circuit_to_qasm3,
    load_qasm_file,
    qasm2_to_circuit,
    qasm3_to_circuit,
    qasm_version,
)
from circuits.sim.reference import reference_unitary as dense_unitary
from circuits.testing import random_circuit

SEEDS = st.integers(0, 2**32 - 1)
HEADER2 = 'OPENQASM 2.0;\ninclude "qelib1.inc";\n'
HEADER3 = 'OPENQASM 3.0;\ninclude "stdgates.inc";\n'
NO_PHASE_GATES = [g for g in GATES if g != "global_phase"]


def assert_equal_up_to_global_phase(actual: np.ndarray, expected: np.ndarray, atol: float = 1e-10) -> None:
    anchor = np.unravel_index(np.argmax(np.abs(expected)), expected.shape)
    phase = expected[anchor] / actual[anchor]
    assert abs(abs(phase) - 1) < atol
    np.testing.assert_allclose(actual * phase, expected, atol=atol, rtol=0)


def qelib1_program(seed: int) -> tuple[str, set[str]]:
    """A 5-qubit program applying every gate qiskit.qasm2 knows for qelib1.inc (legacy set) with random angles."""
    rng = np.random.default_rng(seed)
    lines = [HEADER2 + "qreg q[5];", "creg c[5];", "h q[0]; h q[1]; h q[2]; h q[3]; h q[4];"]
    names = set()
    for instruction in (*qasm2.LEGACY_CUSTOM_INSTRUCTIONS, qasm2.CustomInstruction("U", 3, 1, None, builtin=True)):
        if instruction.name == "delay":
            continue
        names.add(instruction.name)
        qubits = ",".join(f"q[{int(i)}]" for i in rng.permutation(5)[: instruction.num_qubits])
        angles = ",".join(repr(float(a)) for a in rng.uniform(-np.pi, np.pi, instruction.num_params))
        if instruction.name == "u0":  # legacy idle gate: its argument counts idle cycles, an integer
            angles = "2"
        lines.append(f"{instruction.name}({angles}) {qubits};" if angles else f"{instruction.name} {qubits};")
    lines.append("CX q[0],q[4];")
    lines.append("barrier q;")
    lines.append("measure q -> c;")
    return "\n".join(lines) + "\n", names


# -- reading OpenQASM 2 -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_qelib1_gate_loads_and_agrees_with_qiskit(seed):
    program, names = qelib1_program(seed)
    assert {"u3", "cu", "rxx", "rzz", "rccx", "rc3x", "c3x", "c3sqrtx", "c4x", "csx", "U"} <= names
    circuit = qasm2_to_circuit(program)
    assert circuit.num_qubits == 5
    reference = qasm2.loads(program, custom_instructions=qasm2.LEGACY_CUSTOM_INSTRUCTIONS)
    reference.remove_final_measurements()
    expected = Statevector(reference).reverse_qargs().data
    ours = TorchBackend(dtype=torch.complex128).state(circuit)[0].numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-10, rtol=0)  # global phase included


def test_custom_gate_definition_loads():
    program = HEADER2 + (
        "gate mine(a, b) x, y { rx(a) x; cry(b / 2) x, y; h y; }\nqreg q[3];\nmine(0.3, pi) q[2], q[0];\n"
    )
    circuit = qasm2_to_circuit(program)
    assert [(op.name, op.qubits) for op in circuit] == [("rx", (2,)), ("cry", (2, 0)), ("h", (0,))]
    assert circuit.operations[0].params[0].value() == pytest.approx(0.3)
    assert circuit.operations[1].params[0].value() == pytest.approx(np.pi / 2)
    expected = Circuit(3).rx(0.3, 2).cry(np.pi / 2, 2, 0).h(0)
    np.testing.assert_allclose(dense_unitary(circuit), dense_unitary(expected), atol=1e-12)


def test_registers_are_concatenated_in_declaration_order():
    circuit = qasm2_to_circuit(HEADER2 + "qreg a[1];\nqreg b[2];\nx b[1];\ncx a[0], b[0];\n")
    assert circuit.num_qubits == 3
    assert [(op.name, op.qubits) for op in circuit] == [("x", (2,)), ("cx", (0, 1))]


def test_final_measurements_are_dropped():
    circuit = qasm2_to_circuit(HEADER2 + "qreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n")
    assert [op.name for op in circuit] == ["h", "cx"]


def test_mid_circuit_measurement_raises():
    program = HEADER2 + "qreg q[1];\ncreg c[1];\nmeasure q[0] -> c[0];\nx q[0];\n"
    with pytest.raises(QasmError, match="after they were measured"):
        qasm2_to_circuit(program)


def test_initial_resets_are_dropped_and_later_ones_raise():
    program = HEADER2 + "qreg q[2];\nreset q;\nh q[0];\nreset q[1];\ncx q[0], q[1];\n"
    assert qasm2_to_circuit(program) == Circuit(2).h(0).cx(0, 1)
    with pytest.raises(QasmError, match="a reset after an operation on the qubit is not supported"):
        qasm2_to_circuit(HEADER2 + "qreg q[1];\nx q[0];\nreset q[0];\n")


def test_classical_if_raises():
    program = HEADER2 + "qreg q[1];\ncreg c[1];\nif (c == 1) x q[0];\n"
    with pytest.raises(QasmError, match="classical"):
        qasm2_to_circuit(program)


@pytest.mark.parametrize(
    ("line3", "detail"),
    [("qreg q[2;", "needed ']'"), ("qreg q[2]; foo q[0];", "'foo' is not defined"), ("qreg q[2]; h q[0] q[1];", "")],
    ids=["bracket", "unknown-gate", "missing-comma"],
)
def test_malformed_qasm2_names_the_line(line3, detail):
    program = HEADER2 + line3 + "\nh q[0];\n"
    with pytest.raises(QasmError, match=r"OpenQASM 2 parse error, line 3, column \d+:") as info:
        qasm2_to_circuit(program)
    assert detail in str(info.value)


def test_qasm2_type_error():
    with pytest.raises(TypeError, match="expects the program as a str, got bytes"):
        qasm2_to_circuit(b"OPENQASM 2.0;")


# -- writing OpenQASM 2 -----------------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(seed=SEEDS)
def test_qasm2_round_trip_keeps_the_unitary_up_to_global_phase(seed):
    circuit = random_circuit(4, 3, seed)
    text = circuit_to_qasm2(circuit)
    assert text.startswith("OPENQASM 2.0;")
    assert_equal_up_to_global_phase(dense_unitary(qasm2_to_circuit(text)), dense_unitary(circuit), atol=1e-10)


def test_qasm2_of_a_symbolic_circuit_raises():
    theta = ParameterVector("theta", 2)
    circuit = Circuit(1).rx(theta[0], 0).ry(theta[1], 0)
    with pytest.raises(ValueError, match=r"uses the parameter vectors 'theta' \(size 2\)\. Bind them first"):
        circuit_to_qasm2(circuit)
    assert "rx(0.5) q[0];" in circuit_to_qasm2(circuit.bind({"theta": [0.5, 0.25]}))


def test_qasm2_drops_global_phase():
    text = circuit_to_qasm2(Circuit(1).h(0).append("global_phase", (), (0.3,)))
    assert "global_phase" not in text
    assert [op.name for op in qasm2_to_circuit(text)] == ["h"]


# -- OpenQASM 3 -------------------------------------------------------------------------------------

needs_qasm3_import = pytest.mark.skipif(
    importlib.util.find_spec("qiskit_qasm3_import") is None, reason="qiskit-qasm3-import not installed"
)


@needs_qasm3_import
@settings(max_examples=12, deadline=None)
@given(seed=SEEDS)
def test_qasm3_round_trip_keeps_parameters_and_unitary(seed):
    circuit = random_circuit(3, 3, seed, NO_PHASE_GATES, parameter_name="theta")
    text = circuit_to_qasm3(circuit)
    back = qasm3_to_circuit(text)
    # a Pauli rotation on identities only is a global phase, which OpenQASM drops (with its parameter)
    phase_only = any(op.name == "pauli_rot" and set(op.data.label) == {"I"} for op in circuit)
    if not phase_only:
        assert back.parameters == circuit.parameters
    if circuit.parameters:
        values = np.random.default_rng(seed).uniform(-2, 2, circuit.parameters["theta"])
        ours, theirs = {"theta": values}, {"theta": values[: back.parameters["theta"]]} if back.parameters else {}
    else:
        ours = theirs = {}
    assert_equal_up_to_global_phase(dense_unitary(back.bind(theirs)), dense_unitary(circuit.bind(ours)))


@needs_qasm3_import
def test_qasm3_parameters_are_inputs_and_expressions_survive():
    theta, x = ParameterVector("theta", 3), ParameterVector("x", 1)
    circuit = Circuit(2).rx(0.5 * theta[2] * x[0] + 0.1, 0).pauli_rot(theta[0], "XY", (1, 0)).crz(theta[1], 0, 1)
    text = circuit_to_qasm3(circuit)
    assert "input float[64] _theta_2_;" in text
    assert "input float[64] _x_0_;" in text
    back = qasm3_to_circuit(text)
    assert back.parameters == {"theta": 3, "x": 1}
    assert back.operations[0] == circuit.operations[0]
    values = {"theta": [0.3, -0.7, 1.9], "x": [0.4]}
    assert_equal_up_to_global_phase(dense_unitary(back.bind(values)), dense_unitary(circuit.bind(values)))


@needs_qasm3_import
def test_qasm3_plain_input_becomes_a_vector_of_size_one():
    circuit = qasm3_to_circuit(HEADER3 + "input float[64] alpha;\nqubit[1] q;\nrx(2 * alpha) q[0];\n")
    assert circuit.parameters == {"alpha": 1}
    assert str(circuit.operations[0].params[0]) == "2.0*alpha[0]"


@needs_qasm3_import
@pytest.mark.parametrize(
    ("line3", "detail"),
    [
        ("qubit[2 q;", "syntax error"),
        ("qubit[2] q; foo q[0];", "gate 'foo' is not defined"),
        ("qubit[2] q; h q[0] $;", ""),
    ],
    ids=["bracket", "unknown-gate", "bad-token"],
)
def test_malformed_qasm3_names_the_line(line3, detail):
    program = HEADER3 + line3 + "\nh q[0];\n"
    with pytest.raises(QasmError, match=r"OpenQASM 3 parse error, line 3, column \d+:") as info:
        qasm3_to_circuit(program)
    assert detail in str(info.value)


def test_qasm3_without_the_importer_package_says_how_to_install(monkeypatch):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "qiskit_qasm3_import" else real_find_spec(name, *a),
    )
    with pytest.raises(ImportError, match="pip install qiskit-qasm3-import"):
        qasm3_to_circuit(HEADER3 + "qubit[1] q;\n")


# -- files and headers ------------------------------------------------------------------------------


@needs_qasm3_import
def test_load_qasm_file_detects_the_version(tmp_path):
    v2 = tmp_path / "bell2.qasm"
    v2.write_text("// a comment\n" + HEADER2 + "qreg q[2];\nh q[0];\ncx q[0], q[1];\n")
    v3 = tmp_path / "bell3.qasm"
    v3.write_text("/* block\n comment */\n" + HEADER3 + "qubit[2] q;\nh q[0];\ncx q[0], q[1];\n")
    expected = Circuit(2).h(0).cx(0, 1)
    assert load_qasm_file(v2) == expected
    assert load_qasm_file(str(v3)) == expected


def test_load_qasm_file_resolves_includes_next_to_the_file(tmp_path):
    (tmp_path / "mygates.inc").write_text("gate flip a { x a; }\n")
    program = tmp_path / "main.qasm"
    program.write_text(HEADER2 + 'include "mygates.inc";\nqreg q[1];\nflip q[0];\n')
    assert [op.name for op in load_qasm_file(program)] == ["x"]


def test_load_qasm_file_errors_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.qasm"
    bad.write_text(HEADER2 + "qreg q[1];\nh q[0]\n")
    with pytest.raises(QasmError, match=r"bad\.qasm: OpenQASM 2 parse error, line \d+"):
        load_qasm_file(bad)
    with pytest.raises(FileNotFoundError):
        load_qasm_file(tmp_path / "missing.qasm")


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("qreg q[1];", "has no 'OPENQASM 2.0;' or 'OPENQASM 3.0;' header"),
        ("OPENQASM 4.0;", "'OPENQASM 4.0;' is not supported"),
    ],
)
def test_qasm_version_errors(text, match):
    with pytest.raises(QasmError, match=match):
        qasm_version(text)
    assert qasm_version("OPENQASM 3;\n") == 3


@pytest.mark.parametrize("version", [2, 3])
def test_a_leading_byte_order_mark_is_ignored(tmp_path, version):
    if version == 3 and importlib.util.find_spec("qiskit_qasm3_import") is None:
        pytest.skip("OpenQASM 3 reading needs qiskit-qasm3-import")
    header = HEADER2 if version == 2 else HEADER3
    body = "qreg q[2];\nh q[0];\ncx q[0], q[1];\n" if version == 2 else "qubit[2] q;\nh q[0];\ncx q[0], q[1];\n"
    path = tmp_path / "bell.qasm"
    path.write_bytes(b"\xef\xbb\xbf" + (header + body).encode("utf-8"))  # as Windows editors save "UTF-8 with BOM"
    expected = Circuit(2).h(0).cx(0, 1)
    assert load_qasm_file(path) == expected
    text = path.read_text(encoding="utf-8")  # keeps the mark as U+FEFF
    assert text.startswith("\ufeff")
    assert qasm_version(text) == version
    assert (qasm2_to_circuit(text) if version == 2 else qasm3_to_circuit(text)) == expected
