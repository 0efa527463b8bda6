"""Our Qiskit V2 primitives and BackendV2 against Qiskit's reference primitives and exact probabilities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister, transpile
from qiskit.circuit import Parameter, ParameterVector
from qiskit.circuit.random import random_circuit as qiskit_random_circuit
from qiskit.primitives import BackendEstimatorV2, BackendSamplerV2, StatevectorEstimator, StatevectorSampler
from qiskit.quantum_info import SparsePauliOp, Statevector
from qiskit.transpiler import generate_preset_pass_manager

from circuits import PauliSum, X, Z
from circuits.backends.qiskit_primitives import Estimator, Sampler, TorchBackendV2, pauli_sum_from_qiskit
from circuits.errors import ConversionError
from circuits.export.qiskit import circuit_to_qiskit
from circuits.testing import random_circuit

SEEDS = st.integers(0, 2**32 - 1)
FAST = settings(max_examples=8, deadline=None)


def _parametric_circuit(seed: int) -> QuantumCircuit:
    """Our random circuit (vector ``theta``), a Qiskit random circuit, and a plain Parameter ``phi``."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 5))
    qc = circuit_to_qiskit(random_circuit(n, 5, seed, parameter_name="theta"))
    qc.compose(qiskit_random_circuit(n, 2, max_operands=min(n, 3), seed=seed), inplace=True)
    phi = Parameter("phi")
    qc.ry(phi, n - 1)
    qc.rz(0.5 * phi, 0)
    return qc


def _random_observable(n: int, rng: np.random.Generator, terms: int = 3) -> SparsePauliOp:
    labels = ["".join(rng.choice(list("IXYZ"), size=n)) for _ in range(terms)]
    return SparsePauliOp(labels, rng.normal(size=terms))


def _values(qc: QuantumCircuit, shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-np.pi, np.pi, size=(*shape, qc.num_parameters))


# -- Estimator ----------------------------------------------------------------------------------


@FAST
@given(SEEDS)
def test_estimator_matches_statevector_estimator_with_broadcasting(seed: int) -> None:
    qc = _parametric_circuit(seed)
    rng = np.random.default_rng(seed)
    n = qc.num_qubits
    values = _values(qc, (2, 3), rng)
    pubs = [
        (qc, [_random_observable(n, rng) for _ in range(3)], values),  # (3,) against (2, 3)
        (qc, [[_random_observable(n, rng)], [_random_observable(n, rng)]], values),  # (2, 1) against (2, 3)
        (qc, [[_random_observable(n, rng) for _ in range(3)]], values[:, :1]),  # (1, 3) against (2, 1)
        (qc, "Z" * n, values[0, 0]),  # one binding, one observable: shape ()
    ]
    ours = Estimator().run(pubs).result()
    reference = StatevectorEstimator().run(pubs).result()
    for mine, ref in zip(ours, reference, strict=True):
        assert mine.data.evs.shape == ref.data.evs.shape
        np.testing.assert_allclose(mine.data.evs, ref.data.evs, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(mine.data.stds, 0.0)
    assert ours[0].data.evs.shape == (2, 3) and ours[3].data.evs.shape == ()
    assert ours[0].metadata["target_precision"] == 0.0


def test_estimator_complex64_and_parameter_order() -> None:
    """Plain Parameters and vector elements bound by ``qc.parameters`` order (alphabetical, not insertion)."""
    b, a, v = Parameter("b"), Parameter("a"), ParameterVector("v", 2)
    qc = QuantumCircuit(2)
    qc.ry(b, 0)
    qc.rx(v[1], 1)
    qc.ry(a * v[0], 1)
    qc.cx(0, 1)
    qc.rz(a, 0)
    values = np.random.default_rng(3).uniform(-3, 3, size=(4, 4))
    pub = (qc, ["ZI", "IZ", "XX", "YZ"], values[:, None, :])
    reference = StatevectorEstimator().run([pub]).result()[0].data.evs
    for dtype, tol in ((torch.complex128, 1e-10), (torch.complex64, 1e-5)):
        evs = Estimator(dtype=dtype).run([pub]).result()[0].data.evs
        assert evs.shape == (4, 4) and evs.dtype == np.float64
        np.testing.assert_allclose(evs, reference, rtol=0, atol=tol)


@FAST
@given(SEEDS)
def test_estimator_precision_adds_seeded_noise(seed: int) -> None:
    qc = _parametric_circuit(seed)
    rng = np.random.default_rng(seed)
    pub = (qc, [_random_observable(qc.num_qubits, rng) for _ in range(3)], _values(qc, (2, 3), rng))
    exact = Estimator().run([pub]).result()[0].data.evs
    noisy = Estimator(seed=seed).run([pub], precision=0.05).result()[0]
    again = Estimator(seed=seed).run([pub], precision=0.05).result()[0]
    reference = StatevectorEstimator(seed=seed).run([pub], precision=0.05).result()[0]
    np.testing.assert_array_equal(noisy.data.evs, again.data.evs)
    np.testing.assert_allclose(noisy.data.evs, reference.data.evs, rtol=0, atol=1e-10)  # same draws as Qiskit
    assert np.all(np.abs(noisy.data.evs - exact) < 5 * 0.05)
    assert not np.allclose(noisy.data.evs, exact)
    np.testing.assert_array_equal(noisy.data.stds, 0.05)
    assert noisy.metadata["target_precision"] == 0.05


def test_estimator_seed_zero_and_default_precision() -> None:
    qc = QuantumCircuit(1)
    qc.h(0)
    first = Estimator(default_precision=0.1, seed=0).run([(qc, ["Z", "X"])]).result()[0].data.evs
    second = Estimator(default_precision=0.1, seed=0).run([(qc, ["Z", "X"])]).result()[0].data.evs
    np.testing.assert_array_equal(first, second)
    expected = np.random.default_rng(0).normal([0.0, 1.0], 0.1)
    np.testing.assert_allclose(first, expected, rtol=0, atol=1e-12)


def test_empty_bindings_identity_observables_and_parameter_free_circuits() -> None:
    a = Parameter("a")
    qc = QuantumCircuit(2)
    qc.rx(a, 0)
    qc.cx(0, 1)
    pubs = [(qc, "ZZ", np.zeros((0, 1))), (qc, ["II", "ZI", 0.5 * SparsePauliOp("XY")], np.ones((3, 1, 1)))]
    for mine, ref in zip(Estimator().run(pubs).result(), StatevectorEstimator().run(pubs).result(), strict=True):
        assert mine.data.evs.shape == ref.data.evs.shape
        np.testing.assert_allclose(mine.data.evs, ref.data.evs, rtol=0, atol=1e-10)
    measured = qc.measure_all(inplace=False)
    empty = Sampler(seed=0).run([(measured, np.zeros((0, 1)))], shots=5).result()[0].data.meas
    assert empty.shape == (0,) and empty.array.shape == (0, 5, 1)
    fixed = QuantumCircuit(2)
    fixed.x(1)
    evs = Estimator().run([(fixed, [["ZI"], ["IZ"]])]).result()[0].data.evs  # Qiskit label: qubit 1 on the left
    np.testing.assert_allclose(evs, [[-1.0], [1.0]], rtol=0, atol=1e-12)


def test_pauli_labels_are_little_endian() -> None:
    assert pauli_sum_from_qiskit({"XIZ": 2.0}, 3) == 2.0 * (Z(0) @ X(2))
    assert pauli_sum_from_qiskit(SparsePauliOp(["XIZ", "III"], [1.0, 0.5]), 3) == PauliSum.from_label("ZIX") + 0.5
    assert pauli_sum_from_qiskit("ZI", 2) == Z(1)


def test_estimator_errors() -> None:
    with pytest.raises(ValueError, match=r"must be real \(observables are Hermitian\), got the complex value \(1\+1j"):
        pauli_sum_from_qiskit({"XZ": 1 + 1j}, 2)
    with pytest.raises(ValueError, match="has 2 letters, expected 3"):
        pauli_sum_from_qiskit({"XZ": 1.0}, 3)
    with pytest.raises(TypeError, match="Expected a Pauli observable"):
        pauli_sum_from_qiskit(np.eye(2), 1)
    with pytest.raises(ValueError, match=r"dtype must be torch\.complex64 or torch\.complex128"):
        Estimator(dtype=torch.float64)
    with pytest.raises(ValueError, match="Estimator seed must be >= 0"):
        Estimator(seed=-1)
    measured = QuantumCircuit(1, 1)
    measured.measure(0, 0)
    with pytest.raises(ConversionError, match=r"measurements are not part of a circuits\.Circuit"):
        Estimator().run([(measured, "Z")]).result()


# -- Sampler ------------------------------------------------------------------------------------


def _measured_circuit(seed: int) -> tuple[QuantumCircuit, dict[str, list[int | None]]]:
    """A random parametric circuit measured into two registers: ``alpha`` and ``beta`` (one clbit unmeasured)."""
    body = _parametric_circuit(seed)
    n = body.num_qubits
    rng = np.random.default_rng(seed + 1)
    qr = QuantumRegister(n, "q")
    alpha, beta = ClassicalRegister(n, "alpha"), ClassicalRegister(2, "beta")
    qc = QuantumCircuit(qr, alpha, beta)
    qc.compose(body, inplace=True)
    order = [int(q) for q in rng.permutation(n)]
    qc.barrier()
    for i, q in enumerate(order):
        qc.measure(qr[q], alpha[i])
    qc.measure(qr[order[0]], beta[1])  # a qubit measured twice; beta[0] never measured
    return qc, {"alpha": order, "beta": [None, order[0]]}


def _register_probabilities(state: Statevector, qubits: list[int | None]) -> np.ndarray:
    """Exact distribution of a register's integer value (clbit i = bit i; ``None``: always 0)."""
    measured = [q for q in qubits if q is not None]
    marginal = state.probabilities(qargs=measured)  # index bit j = measured[j]
    out = np.zeros(2 ** len(qubits))
    for index, p in enumerate(marginal):
        value = 0
        for j, q in enumerate(measured):
            if index >> j & 1:
                value |= 1 << qubits.index(q)
        out[value] += p
    return out


def _assert_within_5_sigma(counts: dict[int, int], probabilities: np.ndarray, shots: int) -> None:
    """Binomial counts within 5 sigma of ``shots * p``, plus 3 counts where the normal approximation fails (p ~ 0)."""
    assert sum(counts.values()) == shots
    assert set(counts) <= {k for k, p in enumerate(probabilities) if p > 1e-12}
    for k, p in enumerate(probabilities):
        sigma = np.sqrt(shots * p * (1 - p))
        assert abs(counts.get(k, 0) - shots * p) <= 5 * sigma + 3, (k, counts.get(k, 0), shots * p)


@FAST
@given(SEEDS)
def test_sampler_matches_exact_probabilities_and_statevector_sampler_layout(seed: int) -> None:
    qc, registers = _measured_circuit(seed)
    values = _values(qc, (2, 3), np.random.default_rng(seed))
    shots = 2000
    ours = Sampler(seed=seed).run([(qc, values)], shots=shots).result()[0]
    reference = StatevectorSampler(seed=seed).run([(qc, values)], shots=shots).result()[0]
    assert set(ours.data.keys()) == set(reference.data.keys()) == {"alpha", "beta"}
    assert ours.metadata["shots"] == shots
    body = qc.remove_final_measurements(inplace=False)
    for name, qubits in registers.items():
        mine, ref = ours.data[name], reference.data[name]
        assert mine.shape == ref.shape == (2, 3)
        assert mine.num_bits == ref.num_bits and mine.num_shots == ref.num_shots == shots
        assert mine.array.shape == ref.array.shape and mine.array.dtype == np.uint8
        for index in np.ndindex(2, 3):
            state = Statevector(body.assign_parameters(values[index]))
            _assert_within_5_sigma(mine.get_int_counts(index), _register_probabilities(state, qubits), shots)
    again = Sampler(seed=seed).run([(qc, values)], shots=shots).result()[0]
    np.testing.assert_array_equal(again.data.alpha.array, ours.data.alpha.array)


@FAST
@given(SEEDS)
def test_sampler_on_qiskit_random_circuits(seed: int) -> None:
    n = int(np.random.default_rng(seed).integers(1, 5))
    qc = qiskit_random_circuit(n, 4, max_operands=min(n, 3), measure=True, seed=seed)
    shots = 1000
    ours = Sampler(seed=0).run([qc], shots=shots).result()[0].data
    reference = StatevectorSampler(seed=0).run([qc], shots=shots).result()[0].data
    assert list(ours.keys()) == list(reference.keys()) == ["c"]
    assert ours.c.shape == () and ours.c.array.shape == reference.c.array.shape == (shots, (n + 7) // 8)
    state = Statevector(qc.remove_final_measurements(inplace=False))
    _assert_within_5_sigma(ours.c.get_int_counts(), state.probabilities(), shots)


def test_sampler_default_shots_seed_zero_and_bell() -> None:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    first = Sampler(seed=0).run([qc]).result()[0].data.meas
    second = Sampler(seed=0).run([qc]).result()[0].data.meas
    other = Sampler(seed=1).run([qc]).result()[0].data.meas
    assert first.num_shots == 1024 and first.num_bits == 2
    np.testing.assert_array_equal(first.array, second.array)
    assert not np.array_equal(first.array, other.array)
    assert set(first.get_counts()) == {"00", "11"}
    assert Sampler(default_shots=7).run([qc]).result()[0].data.meas.num_shots == 7


def test_sampler_errors() -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    qc.h(0)
    with pytest.raises(ConversionError, match=r"after they were measured.*mid-circuit measurements"):
        Sampler().run([qc]).result()
    with pytest.raises(ValueError, match="default_shots must be an int >= 1, got 0"):
        Sampler(default_shots=0)
    with pytest.raises(TypeError, match="Sampler seed must be an int >= 0"):
        Sampler(seed=1.5)
    bare = QuantumCircuit(1)
    with pytest.warns(UserWarning, match="no output classical registers"):
        result = Sampler(seed=0).run([bare]).result()[0]
    assert len(result.data) == 0


# -- BackendV2 ----------------------------------------------------------------------------------


def _bell(measure: bool = True) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    if measure:
        qc.measure_all()
    return qc


def test_backend_bell_counts_and_seed() -> None:
    backend = TorchBackendV2()
    assert backend.name == "qml_hybrid_torch" and backend.max_circuits is None
    assert {"rx", "cx", "ecr", "ccx", "measure"} <= set(backend.target.operation_names)
    circuit = transpile(_bell(), backend, optimization_level=1)
    result = backend.run(circuit, shots=1000, seed_simulator=0).result()
    counts = result.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 1000
    assert abs(counts["00"] - 500) <= 5 * np.sqrt(250)
    again = backend.run(circuit, shots=1000, seed_simulator=0, memory=True).result()
    assert again.get_counts() == counts and len(again.get_memory()) == 1000


@FAST
@given(SEEDS)
def test_backend_runs_transpiled_random_circuits(seed: int) -> None:
    n = int(np.random.default_rng(seed).integers(1, 5))
    qc = qiskit_random_circuit(n, 4, max_operands=min(n, 3), measure=True, seed=seed)
    backend = TorchBackendV2(num_qubits=8)
    transpiled = generate_preset_pass_manager(optimization_level=1, backend=backend).run(qc)
    assert set(transpiled.count_ops()) <= set(backend.target.operation_names) | {"barrier"}
    shots = 1000
    counts = backend.run(transpiled, shots=shots, seed_simulator=seed).result().get_counts()
    state = Statevector(qc.remove_final_measurements(inplace=False))
    _assert_within_5_sigma({int(k, 2): v for k, v in counts.items()}, state.probabilities(), shots)


def test_generic_backend_primitives_on_our_backend() -> None:
    backend = TorchBackendV2()
    sampler = BackendSamplerV2(backend=backend, options={"default_shots": 400, "seed_simulator": 0})
    counts = sampler.run([_bell()]).result()[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 400
    estimator = BackendEstimatorV2(backend=backend, options={"default_precision": 0.02, "seed_simulator": 0})
    evs = estimator.run([(_bell(measure=False), ["ZZ", "XX", "YY"])]).result()[0].data.evs
    np.testing.assert_allclose(evs, [1.0, 1.0, -1.0], rtol=0, atol=1e-12)


def test_backend_errors() -> None:
    backend = TorchBackendV2(num_qubits=2)
    qc = QuantumCircuit(1, 1)
    qc.rx(Parameter("a"), 0)
    qc.measure(0, 0)
    with pytest.raises(ValueError, match=r"unbound parameters \['a'\]; bind them"):
        backend.run(qc)
    with pytest.raises(TypeError, match=r"unknown option\(s\) \['meas_level'\]"):
        backend.run(_bell(), meas_level=1)
    with pytest.raises(ValueError, match="shots must be an int >= 1, got 0"):
        backend.run(_bell(), shots=0)
    with pytest.raises(TypeError, match="expects QuantumCircuit"):
        backend.run(["not a circuit"])
    with pytest.raises(ValueError, match="num_qubits must be an int >= 1"):
        TorchBackendV2(num_qubits=0)
