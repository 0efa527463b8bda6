"""Readout mitigation: calibration circuits, confusion matrices from counts, inversion, projection, parities.

Oracles: a readout-error model sampled with numpy from known confusion matrices (so the truth is
known), exact arithmetic on noise-free counts, the KKT conditions of the simplex projection, hand
computed parities, and qiskit-aer with a noise model that holds only readout errors.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from qiskit import QuantumCircuit
from qiskit_aer import AerSimulator
from qiskit_aer.noise import NoiseModel, ReadoutError

from circuits.errors import QubitIndexError
from hardware.mitigation import (
    CALIBRATION_FORMAT,
    ReadoutCalibration,
    calibration_batches,
    calibration_circuits,
    expectation_from_counts,
    measured_physical_qubits,
    mitigate_counts,
    mitigate_probabilities,
    nearest_probability_distribution,
)

# Per-qubit confusion matrices [measured, prepared], deliberately asymmetric and different per qubit:
# (P(1|0), P(0|1)) = (0.02, 0.10), (0.12, 0.03), (0.05, 0.20).
FLIPS = [(0.02, 0.10), (0.12, 0.03), (0.05, 0.20)]
MATRICES = [np.array([[1 - e0, e1], [e0, 1 - e1]]) for e0, e1 in FLIPS]
# A truth with no symmetry between the bits (and two exact zeros), index = int(key, 2).
TRUTH = np.array([0.30, 0.05, 0.15, 0.0, 0.25, 0.05, 0.02, 0.18])


def joint_confusion(matrices: list[np.ndarray]) -> np.ndarray:
    """The 2^m x 2^m matrix of independent per-bit errors, written entry by entry (bit i of the index = bit i)."""
    m = len(matrices)
    a = np.ones((2**m, 2**m))
    for measured in range(2**m):
        for prepared in range(2**m):
            for i, mat in enumerate(matrices):
                a[measured, prepared] *= mat[(measured >> i) & 1, (prepared >> i) & 1]
    return a


def sample_counts(rng: np.random.Generator, truth: np.ndarray, confusion: np.ndarray, shots: int) -> dict[str, int]:
    """Draw true outcomes from ``truth``, then readout outcomes from the confusion matrix's columns."""
    m = int(np.log2(truth.size))
    measured = np.zeros(truth.size, dtype=np.int64)
    for prepared, n in enumerate(rng.multinomial(shots, truth)):
        if n:
            measured += rng.multinomial(n, confusion[:, prepared])
    return {format(k, f"0{m}b"): int(c) for k, c in enumerate(measured) if c}


def basis_counts(rng: np.random.Generator, confusion: np.ndarray, prepared: int, shots: int) -> dict[str, int]:
    truth = np.zeros(confusion.shape[0])
    truth[prepared] = 1.0
    return sample_counts(rng, truth, confusion, shots)


def as_vector(distribution: dict[str, float], m: int) -> np.ndarray:
    v = np.zeros(2**m)
    for key, value in distribution.items():
        v[int(key, 2)] = value
    return v


def l1(distribution: dict[str, float], truth: np.ndarray) -> float:
    return float(np.abs(as_vector(distribution, int(np.log2(truth.size))) - truth).sum())


def assert_valid_distribution(distribution: dict[str, float]) -> None:
    values = np.array(list(distribution.values()))
    assert np.all(values >= 0)
    assert values.sum() == pytest.approx(1.0, abs=1e-12)


# ---------------------------------------------------------------------------------------------- circuits


def test_tensored_calibration_circuits_prepare_zeros_and_ones_and_measure_in_order():
    circuits = calibration_circuits([3, 0, 4], 5)
    assert len(circuits) == 2
    for circuit, prepared in zip(circuits, (0, 1), strict=True):
        assert circuit.num_qubits == 5
        assert circuit.num_clbits == 3
        ops = circuit.count_ops()
        assert set(ops) <= {"x", "measure"}
        assert ops["measure"] == 3
        assert ops.get("x", 0) == 3 * prepared
        xs = sorted(circuit.find_bit(i.qubits[0]).index for i in circuit.data if i.operation.name == "x")
        assert xs == ([0, 3, 4] if prepared else [])
        pairs = [
            (circuit.find_bit(i.qubits[0]).index, circuit.find_bit(i.clbits[0]).index)
            for i in circuit.data
            if i.operation.name == "measure"
        ]
        assert sorted(pairs, key=lambda p: p[1]) == [(3, 0), (0, 1), (4, 2)]
    assert measured_physical_qubits(circuits[0]) == (3, 0, 4)


def test_full_calibration_circuits_give_their_index_as_outcome_on_an_ideal_simulator():
    qubits = (3, 0, 2)
    circuits = calibration_circuits(qubits, 4, method="full")
    assert len(circuits) == 8
    result = AerSimulator(seed_simulator=5).run(circuits, shots=16).result()
    for k, circuit in enumerate(circuits):
        # circuit k prepares bit i of k on qubits[i]; classical bit i is the i-th character from the right.
        assert result.get_counts(k) == {format(k, "03b"): 16}
        x_qubits = {circuit.find_bit(i.qubits[0]).index for i in circuit.data if i.operation.name == "x"}
        assert x_qubits == {q for i, q in enumerate(qubits) if (k >> i) & 1}


def test_calibration_batches_hold_one_binding_per_circuit():
    batches = calibration_batches([1, 0], 2, method="full")
    assert len(batches) == 4
    assert all(b.parameter_values.shape == (1, 0) for b in batches)


@pytest.mark.parametrize(
    ("qubits", "n", "method", "error", "match"),
    [
        ([], 3, "tensored", ValueError, "physical_qubits is empty"),
        ([1, 1], 3, "tensored", ValueError, "must be distinct, got \\[1, 1\\]"),
        ([0, 3], 3, "tensored", QubitIndexError, "physical qubits \\[3\\] are outside the device's 0..2"),
        ([0, 1.0], 3, "tensored", TypeError, "must hold ints, got 1.0"),
        ([0, 1], 3, "local", ValueError, "method must be 'tensored' or 'full', got 'local'"),
        (list(range(6)), 8, "full", ValueError, "needs 2\\*\\*6 circuits; the limit is 5 qubits"),
    ],
)
def test_calibration_circuits_reject_bad_arguments(qubits, n, method, error, match):
    with pytest.raises(error, match=match):
        calibration_circuits(qubits, n, method=method)


def test_measured_physical_qubits_rejects_unmeasured_bits():
    circuit = QuantumCircuit(3, 2)
    circuit.measure(2, 1)
    with pytest.raises(ValueError, match=r"classical bits \[0\] of circuit .* are never measured"):
        measured_physical_qubits(circuit)


# ---------------------------------------------------------------------------------------------- sampled model


def tensored_calibration(rng: np.random.Generator, matrices: list[np.ndarray], shots: int) -> ReadoutCalibration:
    joint = joint_confusion(matrices)
    m = len(matrices)
    counts = [basis_counts(rng, joint, 0, shots), basis_counts(rng, joint, 2**m - 1, shots)]
    return ReadoutCalibration.from_counts(counts, (5, 1, 7), "tensored", shots, "fake:model")


def test_tensored_mitigation_removes_readout_bias_and_respects_bit_order():
    rng = np.random.default_rng(1234)
    calibration = tensored_calibration(rng, MATRICES, 100_000)
    counts = sample_counts(rng, TRUTH, joint_confusion(MATRICES), 100_000)

    raw_error = l1({k: v / 1e5 for k, v in counts.items()}, TRUTH)
    mitigated = mitigate_counts(counts, calibration)
    assert_valid_distribution(mitigated)
    assert l1(mitigated, TRUTH) * 5 < raw_error

    # The same matrices assigned to the wrong classical bits must not pass the same test.
    swapped = ReadoutCalibration((5, 1, 7), "tensored", calibration.matrices[::-1], 100_000, "t")
    assert l1(mitigate_counts(counts, swapped), TRUTH) * 5 > raw_error
    np.testing.assert_allclose(np.stack(calibration.matrices), np.stack(MATRICES), atol=4e-3)


def correlated_confusion() -> np.ndarray:
    """Independent errors plus a correlated one: bit 0 flips when bit 2 is 1 (crosstalk-like)."""
    independent = joint_confusion(MATRICES)
    crosstalk = np.zeros((8, 8))
    for prepared in range(8):
        crosstalk[prepared ^ 1 if prepared & 4 else prepared, prepared] = 1.0
    return 0.85 * independent + 0.15 * (independent @ crosstalk)


def test_full_mitigation_removes_correlated_readout_bias_and_respects_bit_order():
    rng = np.random.default_rng(99)
    confusion = correlated_confusion()
    cal_counts = [basis_counts(rng, confusion, k, 100_000) for k in range(8)]
    calibration = ReadoutCalibration.from_counts(cal_counts, (0, 1, 2), "full", device="fake:model")
    assert calibration.shots == 100_000
    counts = sample_counts(rng, TRUTH, confusion, 100_000)

    raw_error = l1({k: v / 1e5 for k, v in counts.items()}, TRUTH)
    mitigated = mitigate_counts(counts, calibration)
    assert_valid_distribution(mitigated)
    assert l1(mitigated, TRUTH) * 5 < raw_error

    # Relabel the calibration with bits 0 and 2 exchanged: the result must be clearly worse.
    perm = np.array([int(format(k, "03b")[::-1], 2) for k in range(8)])
    swapped = ReadoutCalibration((0, 1, 2), "full", (calibration.matrices[0][np.ix_(perm, perm)],), 100_000, "t")
    assert l1(mitigate_counts(counts, swapped), TRUTH) * 5 > raw_error
    # A tensored calibration cannot model the crosstalk: the full one is clearly better here.
    tensored = ReadoutCalibration.from_counts([cal_counts[0], cal_counts[7]], (0, 1, 2))
    assert l1(mitigate_counts(counts, tensored), TRUTH) > 2 * l1(mitigated, TRUTH)


@pytest.mark.parametrize("method", ["tensored", "full"])
def test_noise_free_counts_are_inverted_exactly(method):
    # Matrix entries are multiples of 1e-3, so with 1e9 calibration shots the expected counts are integers.
    joint = correlated_confusion() if method == "full" else joint_confusion(MATRICES)
    preparations = range(8) if method == "full" else (0, 7)
    cal_counts = [{format(j, "03b"): round(joint[j, k] * 1e9) for j in range(8)} for k in preparations]
    calibration = ReadoutCalibration.from_counts(cal_counts, (2, 0, 1), method, timestamp="2026-01-01T00:00:00+00:00")
    if method == "tensored":
        np.testing.assert_allclose(np.stack(calibration.matrices), np.stack(MATRICES), rtol=0, atol=1e-12)
    else:
        np.testing.assert_allclose(calibration.matrices[0], joint, rtol=0, atol=1e-12)

    measured = {format(j, "03b"): p for j, p in enumerate(joint @ TRUTH)}
    for project in (True, False):
        result = as_vector(mitigate_counts(measured, calibration, project=project), 3)
        np.testing.assert_allclose(result, TRUTH, rtol=0, atol=1e-12)


def test_unprojected_quasi_probabilities_sum_to_one_and_can_be_negative():
    rng = np.random.default_rng(7)
    calibration = tensored_calibration(rng, MATRICES, 20_000)
    counts = sample_counts(rng, TRUTH, joint_confusion(MATRICES), 500)
    quasi = mitigate_counts(counts, calibration, project=False)
    assert sum(quasi.values()) == pytest.approx(1.0, abs=1e-12)
    assert min(quasi.values()) < 0  # TRUTH has zeros: the statistical noise around them goes both ways
    projected = mitigate_counts(counts, calibration)
    assert_valid_distribution(projected)
    np.testing.assert_allclose(
        as_vector(projected, 3), nearest_probability_distribution(as_vector(quasi, 3)), rtol=0, atol=1e-15
    )


# ---------------------------------------------------------------------------------------------- projection


@pytest.mark.parametrize(
    ("quasi", "expected"),
    [
        ([0.6, 0.5, -0.1], [0.55, 0.45, 0.0]),
        ([0.9, 0.3, -0.05, -0.15], [0.8, 0.2, 0.0, 0.0]),
        ([1.2, 0.05, -0.25], [1.0, 0.0, 0.0]),  # a positive entry is zeroed too
        ([0.25, 0.25, 0.5], [0.25, 0.25, 0.5]),  # already a distribution: unchanged
    ],
)
def test_projection_hand_examples(quasi, expected):
    np.testing.assert_allclose(nearest_probability_distribution(np.array(quasi)), expected, rtol=0, atol=1e-15)


def test_projection_satisfies_the_simplex_projection_optimality_conditions():
    rng = np.random.default_rng(3)
    for _ in range(50):
        q = rng.normal(size=16) * 0.1
        q += (1 - q.sum()) / q.size
        p = nearest_probability_distribution(q)
        assert np.all(p >= 0)
        assert p.sum() == pytest.approx(1.0, abs=1e-12)
        # Euclidean projection onto the simplex <=> p = max(q - theta, 0) for one theta.
        support = p > 0
        theta = float(np.mean(q[support] - p[support]))
        np.testing.assert_allclose(q[support] - p[support], theta, rtol=0, atol=1e-12)
        assert np.all(q[~support] <= theta + 1e-12)


# ---------------------------------------------------------------------------------------------- records, errors


def test_calibration_round_trips_through_json():
    rng = np.random.default_rng(11)
    for calibration in (
        tensored_calibration(rng, MATRICES, 1000),
        ReadoutCalibration.from_counts(
            [basis_counts(rng, joint_confusion(MATRICES[:2]), k, 1000) for k in range(4)],
            [4, 2],
            "full",
            device="ibm:fake_manila",
        ),
    ):
        record = json.loads(json.dumps(calibration.to_dict(), allow_nan=False))
        assert record["format"] == CALIBRATION_FORMAT
        back = ReadoutCalibration.from_dict(record)
        assert (back.qubits, back.method, back.shots, back.timestamp, back.device) == (
            calibration.qubits,
            calibration.method,
            calibration.shots,
            calibration.timestamp,
            calibration.device,
        )
        assert len(back.matrices) == len(calibration.matrices)
        for a, b in zip(back.matrices, calibration.matrices, strict=True):
            np.testing.assert_array_equal(a, b)


def test_from_dict_rejects_foreign_records():
    with pytest.raises(ValueError, match=r"expected a 'qml-hybrid\.readout-calibration' record of version 1"):
        ReadoutCalibration.from_dict({"format": "other", "version": 1})
    record = ReadoutCalibration((0,), "tensored", (MATRICES[0],), 10, "t").to_dict()
    record["matrices"] = [[[0.9, 0.1], [0.2, 0.9]]]
    with pytest.raises(ValueError, match="columns summing to 1"):
        ReadoutCalibration.from_dict(record)


def test_assignment_fidelities_of_both_methods_agree_for_independent_errors():
    tensored = ReadoutCalibration((0, 1, 2), "tensored", tuple(MATRICES), 1, "t")
    full = ReadoutCalibration((0, 1, 2), "full", (joint_confusion(MATRICES),), 1, "t")
    expected = [1 - (e0 + e1) / 2 for e0, e1 in FLIPS]
    np.testing.assert_allclose(tensored.assignment_fidelities(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(full.assignment_fidelities(), expected, rtol=0, atol=1e-12)


def test_mitigation_rejects_mismatched_counts_and_singular_calibrations():
    calibration = ReadoutCalibration((0, 1), "tensored", tuple(MATRICES[:2]), 10, "t")
    with pytest.raises(ValueError, match="key '101' has 3 bits but the calibration covers 2 qubits"):
        mitigate_counts({"101": 3}, calibration)
    with pytest.raises(ValueError, match="counts are empty"):
        mitigate_counts({"01": 0}, calibration)
    with pytest.raises(ValueError, match="takes the counts of 2 circuits, got 3"):
        ReadoutCalibration.from_counts([{"0": 1}] * 3, [0])
    dead = ReadoutCalibration((3,), "tensored", (np.full((2, 2), 0.5),), 10, "t")
    with pytest.raises(ValueError, match="confusion matrix of qubit 3 cannot be inverted"):
        mitigate_counts({"0": 4, "1": 6}, dead)
    with pytest.raises(ValueError, match="expected a probability vector of shape \\(4,\\)"):
        mitigate_probabilities(np.ones(8) / 8, calibration)


# ---------------------------------------------------------------------------------------------- parities


def test_expectation_parities_on_hand_examples():
    counts = {"00": 30, "11": 50, "01": 20}  # classical bit 0 is the rightmost character
    assert expectation_from_counts(counts, 0b11) == pytest.approx(0.6, abs=1e-15)
    assert expectation_from_counts(counts, "ZZ") == pytest.approx(0.6, abs=1e-15)
    assert expectation_from_counts(counts, [0]) == pytest.approx(-0.4, abs=1e-15)
    assert expectation_from_counts(counts, "IZ") == pytest.approx(-0.4, abs=1e-15)
    assert expectation_from_counts(counts, 0b10) == pytest.approx(0.0, abs=1e-15)
    assert expectation_from_counts(counts, "ZI") == pytest.approx(0.0, abs=1e-15)
    assert expectation_from_counts(counts, 0) == 1.0
    assert expectation_from_counts({"0": 1.1, "1": -0.1}, 1) == pytest.approx(1.2, abs=1e-15)
    assert expectation_from_counts({0: 0.25, 3: 0.75}, [0, 1]) == pytest.approx(1.0, abs=1e-15)
    assert expectation_from_counts({"1 0": 5, "0 1": 5}, [1]) == pytest.approx(0.0, abs=1e-15)


def test_expectation_rejects_bad_masks():
    with pytest.raises(ValueError, match="the label 'ZZZ' has 3 letters but the keys have 2 bits"):
        expectation_from_counts({"01": 1}, "ZZZ")
    with pytest.raises(ValueError, match="selects classical bits up to 2 but the keys have only 2 bits"):
        expectation_from_counts({"01": 1}, [2])
    with pytest.raises(ValueError, match="only 'Z' and 'I'"):
        expectation_from_counts({"01": 1}, "XZ")
    with pytest.raises(TypeError, match="got float"):
        expectation_from_counts({"01": 1}, 1.0)
    with pytest.raises(ValueError, match="is empty"):
        expectation_from_counts({}, 1)


# ---------------------------------------------------------------------------------------------- qiskit-aer


def readout_noise_model() -> NoiseModel:
    model = NoiseModel()
    # rows: prepared 0, prepared 1; columns: measured 0, measured 1
    model.add_readout_error(ReadoutError([[0.96, 0.04], [0.10, 0.90]]), [0])
    model.add_readout_error(ReadoutError([[0.99, 0.01], [0.02, 0.98]]), [1])
    model.add_readout_error(ReadoutError([[0.92, 0.08], [0.03, 0.97]]), [2])
    return model


def bootstrap_sigma(rng, counts, cal_counts, qubits, method, reps=200) -> float:
    """Standard deviation of the mitigated <ZZ> over parametric resamples of all counts."""

    def resample(c: dict[str, int]) -> dict[str, int]:
        keys = list(c)
        n = sum(c.values())
        draws = rng.multinomial(n, np.array([c[k] for k in keys]) / n)
        return {k: int(d) for k, d in zip(keys, draws, strict=True) if d}

    values = []
    for _ in range(reps):
        cal = ReadoutCalibration.from_counts([resample(c) for c in cal_counts], qubits, method)
        values.append(expectation_from_counts(mitigate_counts(resample(counts), cal), 0b11))
    return float(np.std(values))


def test_bell_zz_on_aer_with_readout_errors_is_restored_by_mitigation():
    qubits = (2, 0)  # qubit 2 -> classical bit 0, qubit 0 -> classical bit 1
    bell = QuantumCircuit(3, 2)
    bell.h(2)
    bell.cx(2, 0)
    bell.measure(2, 0)
    bell.measure(0, 1)
    basis = QuantumCircuit(3, 2)  # qubit 2 in |1>, qubit 0 in |0>: ideal key "01"
    basis.x(2)
    basis.measure(2, 0)
    basis.measure(0, 1)
    assert measured_physical_qubits(bell) == qubits
    tensored_circuits = calibration_circuits(qubits, 3)
    full_circuits = calibration_circuits(qubits, 3, method="full")
    shots = 100_000
    simulator = AerSimulator(noise_model=readout_noise_model(), seed_simulator=2024)
    result = simulator.run([bell, basis, *tensored_circuits, *full_circuits], shots=shots).result()
    bell_counts, basis_counts_ = result.get_counts(0), result.get_counts(1)
    cal_counts = {"tensored": [result.get_counts(2 + k) for k in range(2)]}
    cal_counts["full"] = [result.get_counts(4 + k) for k in range(4)]

    raw = expectation_from_counts(bell_counts, "ZZ")
    raw_sigma = np.sqrt((1 - raw**2) / shots)
    assert 1 - raw > 20 * raw_sigma  # the readout errors bias <ZZ> far beyond the shot noise

    rng = np.random.default_rng(0)
    for method in ("tensored", "full"):
        calibration = ReadoutCalibration.from_counts(cal_counts[method], qubits, method, shots, "aer:readout-only")
        if method == "tensored":
            # P(measured | prepared) per qubit, against the noise model (qubit 2 first: classical bit 0).
            np.testing.assert_allclose(calibration.matrices[0], [[0.92, 0.03], [0.08, 0.97]], atol=3e-3)
            np.testing.assert_allclose(calibration.matrices[1], [[0.96, 0.10], [0.04, 0.90]], atol=3e-3)
        mitigated = expectation_from_counts(mitigate_counts(bell_counts, calibration), "ZZ")
        sigma = bootstrap_sigma(rng, bell_counts, cal_counts[method], qubits, method)
        assert abs(mitigated - 1.0) < 3 * sigma, (method, raw, mitigated, sigma)
        # Bit order: the unprojected quasi-distribution of |q0=0, q2=1> must be a spike at "01".
        quasi = as_vector(mitigate_counts(basis_counts_, calibration, project=False), 2)
        np.testing.assert_allclose(quasi, [0, 1, 0, 0], atol=5e-3)
        assert expectation_from_counts(basis_counts_, [0]) > -0.95  # raw Z on qubit 2 is visibly biased
