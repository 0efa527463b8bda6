"""The engine against Qiskit Aer's statevector simulator, an independent C++ oracle (issue 2's bar).

Random circuits over every registered gate, drawn by seed, bound to random angles, run on
AerSimulator(method="statevector") directly (not through our AerBackend): states agree to
1e-10 in complex128 and 1e-5 in complex64, after reversing Aer's little-endian order.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import TorchBackend
from circuits.export.qiskit import circuit_to_qiskit
from circuits.testing import random_circuit

qiskit_aer = pytest.importorskip("qiskit_aer")
qiskit = pytest.importorskip("qiskit")


def _aer_state(circuit) -> np.ndarray:
    return _aer_state_of(qiskit.transpile(circuit_to_qiskit(circuit), basis_gates=["u", "cx"], optimization_level=0))


def _aer_state_of(qc) -> np.ndarray:
    """Aer's final state of a Qiskit circuit, in our qubit order (qubit 0 most significant)."""
    qc = qc.copy()
    qc.save_statevector()
    result = qiskit_aer.AerSimulator(method="statevector", precision="double").run(qc).result()
    little = np.asarray(result.get_statevector())
    n = qc.num_qubits
    return little.reshape([2] * n).transpose(list(range(n - 1, -1, -1))).reshape(-1)  # qubit 0 first


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), num_qubits=st.integers(1, 7))
def test_random_circuits_agree_with_aer_statevector(seed, num_qubits):
    symbolic = random_circuit(num_qubits, depth=12, seed=seed, parameter_name="theta")
    rng = np.random.default_rng(seed)
    theta = rng.uniform(-np.pi, np.pi, size=symbolic.parameters.get("theta", 1))
    circuit = symbolic.bind({"theta": theta}) if symbolic.parameters else symbolic
    expected = _aer_state(circuit)
    for dtype, atol in ((torch.complex128, 1e-10), (torch.complex64, 1e-5)):
        ours = TorchBackend(dtype=dtype).state(circuit)[0].numpy()
        np.testing.assert_allclose(ours, expected, atol=atol, err_msg=f"seed={seed}, {dtype}")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_transpiled_circuits_agree_with_aer(seed):
    """Deep circuits as a transpiler writes them (hundreds of rz / sx / x / cx gates): the fused plan against Aer."""
    from qiskit.circuit.library import QFTGate
    from qiskit.circuit.random import random_circuit

    from circuits.export.qiskit import circuit_from_qiskit

    if seed == 0:
        qc = qiskit.QuantumCircuit(9)
        qc.h(range(9))
        qc.append(QFTGate(9), range(9))
    else:
        qc = random_circuit(8, 40, max_operands=3, seed=seed)
    qc = qiskit.transpile(qc, basis_gates=["rz", "sx", "x", "cx"], optimization_level=1, seed_transpiler=seed)
    circuit = circuit_from_qiskit(qc)
    assert len(circuit) > 200
    expected = _aer_state_of(qc)
    for dtype, atol in ((torch.complex128, 1e-10), (torch.complex64, 2e-5)):
        ours = TorchBackend(dtype=dtype).state(circuit)[0].numpy()
        np.testing.assert_allclose(ours, expected, atol=atol, err_msg=f"seed={seed}, {dtype}")
