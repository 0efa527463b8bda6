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
    qc = circuit_to_qiskit(circuit)
    qc = qiskit.transpile(qc, basis_gates=["u", "cx"], optimization_level=0)
    qc.save_statevector()
    result = qiskit_aer.AerSimulator(method="statevector", precision="double").run(qc).result()
    little = np.asarray(result.get_statevector())
    n = circuit.num_qubits
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
