"""``Circuit.draw()`` (exact strings), ``depth()`` and ``count_ops()`` against Qiskit's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit.circuit.library import get_standard_gate_name_mapping

from circuits import GATES, Circuit, ParameterVector
from circuits.export.qiskit import circuit_to_qiskit
from circuits.testing import random_circuit

THETA = ParameterVector("theta", 2)
QISKIT_NAMED = [name for name in GATES if name in get_standard_gate_name_mapping()]
"""Gates whose Qiskit instruction has the same name (``count_ops`` compares names)."""


def test_draw_controls_crossings_swaps_and_pi_multiples():
    circuit = Circuit(3).h(0).cx(0, 2).crx(THETA[0], 1, 2).swap(0, 1).rz(-math.pi / 4, 0)
    assert circuit.draw() == "\n".join(
        [
            "q0: ──H─╭●───────────────╭×──RZ(-π/4)─",
            "q1: ────│──╭●────────────╰×───────────",
            "q2: ────╰X─╰RX(theta[0])──────────────",
        ]
    )


def test_draw_unsorted_multi_qubit_gates_and_global_phase():
    # rzx on (2, 0): qubit 2 is the first (most significant) of the gate, marked [0]; ccx controls 2 and 0
    circuit = (
        Circuit(3)
        .append("rzx", (2, 0), (0.3,))
        .ccx(2, 0, 1)
        .append("global_phase", (), (0.5 * THETA[1],))
        .append("global_phase", (), (0.25,))
    )
    assert circuit.draw() == "\n".join(
        [
            "q0: ─╭RZX(0.3)[1]─╭●─",
            "q1: ─│────────────├X─",
            "q2: ─╰RZX(0.3)[0]─╰●─",
            "global phase: 0.5*theta[1] + 0.25",
        ]
    )


def test_draw_expressions_and_precision():
    circuit = (
        Circuit(2).ry(1.23456, 0).ry(2 * THETA[0] * THETA[1] - 1.0, 1).u(math.pi, -math.pi / 2, 3 * math.pi / 4, 0)
    )
    assert circuit.draw(precision=2) == "\n".join(
        [
            "q0: ──RY(1.2)──────────────────────U(π, -π/2, 3π/4)─",
            "q1: ──RY(2*theta[0]*theta[1] - 1)───────────────────",
        ]
    )
    assert "RY(1.23)" in circuit.draw(precision=3)


def test_draw_wraps_long_circuits_into_blocks():
    circuit = Circuit(2)
    for i in range(6):
        circuit = circuit.rx(0.5, i % 2).cx(0, 1)
    block = ["q0: {}──RX(0.5)─╭●──────────╭●{}", "q1: {}──────────╰X──RX(0.5)─╰X{}"]
    expected = []
    for b, (start, end) in enumerate([("", "»"), ("«", "»"), ("«", "─")]):
        if b:
            expected.append("")
        expected.extend(line.format(start, end) for line in block)
    drawing = circuit.draw(max_width=30)
    assert drawing == "\n".join(expected)
    assert max(len(line) for line in drawing.splitlines()) <= 30
    assert "\n\n" not in circuit.draw()  # wide enough: one block


def test_draw_docstring_example_and_bad_options():
    assert Circuit(2).h(0).cx(0, 1).rz(0.5, 1).draw() == "q0: ──H─╭●──────────\nq1: ────╰X──RZ(0.5)─"
    assert Circuit(1).draw() == "q0: ─"
    with pytest.raises(ValueError, match="precision must be an int >= 1"):
        Circuit(1).draw(precision=0)
    with pytest.raises(ValueError, match="max_width must be an int >= 20"):
        Circuit(1).draw(max_width=5)


def test_draw_is_deterministic():
    circuit = random_circuit(5, depth=30, seed=3, parameter_name="theta")
    assert circuit.draw() == circuit.draw()
    assert len(circuit.draw().splitlines()) >= 5


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), num_qubits=st.integers(1, 5))
def test_depth_and_count_ops_equal_qiskit(seed, num_qubits):
    circuit = random_circuit(num_qubits, depth=15, seed=seed, gates=QISKIT_NAMED, parameter_name="theta")
    rng = np.random.default_rng(seed)
    if rng.random() < 0.5:  # a global phase takes no layer in either
        circuit = circuit.append("global_phase", (), (0.3,))
    qc = circuit_to_qiskit(circuit)
    assert circuit.depth() == qc.depth()
    ours, theirs = circuit.count_ops(), qc.count_ops()
    assert dict(ours) == dict(theirs)
    assert list(ours.values()) == sorted(ours.values(), reverse=True)


def test_depth_and_count_ops_by_hand():
    circuit = Circuit(3).h(0).h(1).cx(0, 1).x(2).cx(1, 2).h(0)
    assert circuit.depth() == 3
    assert list(circuit.count_ops().items()) == [("h", 3), ("cx", 2), ("x", 1)]
    assert Circuit(2).depth() == 0 and Circuit(2).count_ops() == {}


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_depth_equals_qiskit_for_every_gate(seed):
    circuit = random_circuit(4, depth=12, seed=seed, parameter_name="theta")
    assert circuit.depth() == circuit_to_qiskit(circuit).depth()
