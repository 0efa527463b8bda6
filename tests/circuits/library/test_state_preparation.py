"""Amplitude encoding prepares the normalised vector (dense oracle, our engine, Aer)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import TorchBackend
from circuits.backends.aer import AerBackend
from circuits.library import amplitude_encoding, amplitude_encoding_angles
from circuits.sim.reference import reference_state


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), num_qubits=st.integers(1, 6), signed=st.booleans())
def test_the_circuit_prepares_the_normalised_vector(seed, num_qubits, signed):
    g = torch.Generator().manual_seed(seed)
    vectors = torch.randn(3, 2**num_qubits, generator=g, dtype=torch.float64)
    if not signed:
        vectors = vectors.abs()
    vectors[1, : 2 ** (num_qubits - 1)] = 0.0  # a zero half: atan2(0, 0) branches
    circuit = amplitude_encoding(num_qubits)
    angles = amplitude_encoding_angles(vectors)
    assert angles.shape == (3, 2**num_qubits - 1) and circuit.parameters == {"x": 2**num_qubits - 1}
    expected = vectors / vectors.norm(dim=-1, keepdim=True)
    for row in range(3):
        state = reference_state(circuit, {"x": angles[row].numpy()})
        np.testing.assert_allclose(state, expected[row].numpy(), atol=1e-12)


def test_one_circuit_for_a_batch_on_our_engine_and_aer():
    vectors = torch.rand(4, 32, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    circuit = amplitude_encoding(5)
    assert set(circuit.count_ops()) == {"ry", "cx"} and circuit.count_ops()["cx"] == 30
    angles = amplitude_encoding_angles(vectors)
    expected = (vectors / vectors.norm(dim=-1, keepdim=True)).to(torch.complex128)
    ours = TorchBackend(dtype=torch.complex128).state(circuit, {"x": angles})
    torch.testing.assert_close(ours, expected, atol=1e-12, rtol=0)
    aer = AerBackend().state(circuit, {"x": angles.numpy()})
    torch.testing.assert_close(aer.to(torch.complex128), expected, atol=1e-10, rtol=0)


def test_bad_vectors_are_refused():
    with pytest.raises(ValueError, match="needs 2\\*\\*n amplitudes per row"):
        amplitude_encoding_angles(torch.ones(2, 6))
    with pytest.raises(ValueError, match="row 1 is all zeros"):
        amplitude_encoding_angles(torch.tensor([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(TypeError, match=r"real torch.Tensor"):
        amplitude_encoding_angles(torch.ones(1, 2, dtype=torch.complex64))
    with pytest.raises(ValueError, match="inputs ParameterVector 'y' must have 2\\*\\*num_qubits - 1"):
        from circuits import ParameterVector

        amplitude_encoding(2, ParameterVector("y", 4))
