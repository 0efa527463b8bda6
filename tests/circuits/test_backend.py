"""The ``Backend`` seam: binding validation (no silent casts), circuit type errors, the Samples memory check."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from qiskit import QuantumCircuit

import circuits.backend as backend_module
from circuits import Backend, Circuit, ParameterVector, Samples, TorchBackend, Z
from circuits.backend import bind_parameters, check_sample_memory
from circuits.errors import SimulationMemoryError

X_VEC = ParameterVector("x", 2)
CIRCUIT = Circuit(1).rx(X_VEC[0], 0).ry(X_VEC[1], 0)


class _Refusing(Backend):
    """A backend whose execution must not be reached."""

    name = "refusing"

    def _run(self, circuit, values, batch_size, measurement, generator):
        raise AssertionError("the backend ran although validation should have refused the request")


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (torch.tensor([0.1, 1 + 1j]), r"complex \(torch\.complex64\)"),
        (np.array([[0.1, 2j]]), r"complex \(complex128\)"),
        ([0.1, 1 + 0j], r"complex \(complex128\)"),
        (torch.tensor([True, False]), r"booleans \(torch\.bool\)"),
        (np.array([True, False]), r"booleans \(bool\)"),
    ],
)
def test_complex_and_bool_values_are_refused_before_any_cast(values, kind):
    with pytest.raises(TypeError, match=rf"Parameter values for 'x' are {kind}"):
        bind_parameters(CIRCUIT, {"x": values})
    with pytest.raises(TypeError, match=rf"Parameter values for 'x' are {kind}"):
        _Refusing().expval(CIRCUIT, Z(0), {"x": values})


def test_text_is_refused_and_integers_are_angles():
    with pytest.raises(TypeError, match=r"Parameter values for 'x' must be numbers, got text"):
        bind_parameters(CIRCUIT, {"x": ["a", "b"]})
    values, batch = bind_parameters(CIRCUIT, {"x": torch.tensor([[1, 2], [3, 4]])})
    assert batch == 2 and values["x"].dtype == torch.float32
    torch.testing.assert_close(values["x"], torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    exact = TorchBackend(dtype=torch.complex128).expval(CIRCUIT, Z(0), {"x": np.array([0, 1])})
    np.testing.assert_allclose(exact.item(), np.cos(0) * np.cos(1), atol=1e-12)


def test_a_qiskit_circuit_error_names_the_converter():
    qc = QuantumCircuit(1)
    qc.h(0)
    with pytest.raises(
        TypeError,
        match=r"TorchBackend\.run needs a circuits\.Circuit, got QuantumCircuit\. .*circuit_from_qiskit\(qc\)",
    ):
        TorchBackend().expval(qc, Z(0))
    with pytest.raises(TypeError, match=r"_Refusing\.run needs a circuits\.Circuit, got str\. For OpenQASM text"):
        _Refusing().state("OPENQASM 2.0;")


def test_samples_memory_is_checked_before_any_backend_allocates(monkeypatch):
    monkeypatch.setattr(backend_module, "available_memory_bytes", lambda device: 64 << 20)
    circuit = Circuit(3).h(0)
    # 8 bytes * 1 binding * 3e6 shots * (3 measured + draw + index) = 120 MB > 64 MiB
    expected = (
        r"Samples\(shots=3000000\) of 3 qubit\(s\) for a batch of 1 returns a \(1, 3000000, 3\) int64 tensor: "
        r"about 114\.4 MiB with the draws and outcome indices, but only 64\.0 MiB is available on cpu\. "
        r"Use fewer shots"
    )
    for backend in (_Refusing(), TorchBackend()):
        with pytest.raises(SimulationMemoryError, match=expected) as info:
            backend.sample(circuit, shots=3 * 10**6)
        assert isinstance(info.value, MemoryError)
    # the batch counts: 4 bindings of 200000 shots on 1 qubit = 8 * 4 * 2e5 * 3 = 19.2 MB fits, 16 bindings do not
    theta = ParameterVector("theta", 1)
    batched = Circuit(1).ry(theta[0], 0)
    assert TorchBackend().sample(batched, {"theta": torch.zeros(4, 1)}, shots=200_000).shape == (4, 200_000, 1)
    with pytest.raises(SimulationMemoryError, match=r"for a batch of 16 returns a \(16, 200000, 1\) int64 tensor"):
        _Refusing().sample(batched, {"theta": torch.zeros(16, 1)}, shots=200_000)


def test_small_sample_requests_do_not_read_the_free_memory(monkeypatch):
    def unreachable(device):
        raise AssertionError("reading the free memory for a small request")

    monkeypatch.setattr(backend_module, "available_memory_bytes", unreachable)
    check_sample_memory(batch_size=16, shots=1000, num_measured=8, device=torch.device("cpu"))
    assert isinstance(Samples(10), Samples)
