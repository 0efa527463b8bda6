"""The Hamiltonian embedding against scipy's expm, finite differences, Qiskit Aer, and its Trotter error bound."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import StateVector, TorchBackend
from circuits.backends.aer import AerBackend
from circuits.backends.pennylane import PennyLaneBackend
from circuits.library import (
    HamiltonianSpectra,
    embedding_qubits,
    hamiltonian_embedding,
    hamiltonian_embedding_circuit,
    image_hamiltonians,
    pauli_coefficients,
    real_symmetric_pauli_words,
    trotter_embedding_circuit,
    trotter_error_bound,
)
from circuits.sim.reference import reference_unitary

REF = TorchBackend(dtype=torch.complex128)
_PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


def _images(seed: int, batch: int, side: int) -> torch.Tensor:
    return torch.rand(batch, side, side, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _word_matrix(word: str) -> np.ndarray:
    out = np.ones((1, 1), dtype=np.complex128)
    for letter in word:
        out = np.kron(out, _PAULI[letter])
    return out


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), side=st.sampled_from([2, 3, 7, 8, 16, 28]), time=st.floats(-20, 20))
def test_unitary_equals_scipy_expm_of_the_padded_symmetrised_image(seed, side, time):
    images = _images(seed, 3, side)
    unitaries = hamiltonian_embedding(images, torch.tensor(time, dtype=torch.float64))
    dim = 2 ** embedding_qubits(side)
    top = (dim - side) // 2
    for image, unitary in zip(images.numpy(), unitaries.numpy(), strict=True):
        padded = np.zeros((dim, dim))
        padded[top : top + side, top : top + side] = image
        expected = scipy.linalg.expm(-0.5j * time * (padded + padded.T) / 2)
        np.testing.assert_allclose(unitary, expected, atol=1e-6, rtol=0)
        np.testing.assert_allclose(unitary @ unitary.conj().T, np.eye(dim), atol=1e-10)


def test_mnist_padding_is_two_pixels_per_side_and_the_matrix_is_symmetric():
    image = torch.zeros(1, 28, 28, dtype=torch.float64)
    image[0, 0, 5] = 1.0
    hamiltonian = image_hamiltonians(image)[0]
    assert hamiltonian.shape == (32, 32) and embedding_qubits(28) == 5
    assert hamiltonian[2, 7] == hamiltonian[7, 2] == 0.5 and float(hamiltonian.abs().sum()) == 1.0
    assert embedding_qubits(1) == 1 and embedding_qubits(8) == 3 and embedding_qubits(9) == 4


def test_gradient_in_time_matches_finite_differences():
    spectra = HamiltonianSpectra.from_images(_images(3, 4, 8))
    weights = torch.randn(4, 8, 8, dtype=torch.complex128, generator=torch.Generator().manual_seed(1))
    state = torch.randn(4, 8, dtype=torch.complex128, generator=torch.Generator().manual_seed(2))

    def loss(t: torch.Tensor, how: str) -> torch.Tensor:
        if how == "unitary":
            return (spectra.unitary(t) * weights).real.sum()
        return (spectra.apply(state, t) * weights[:, 0]).imag.sum()

    for how in ("unitary", "apply"):
        for value in (0.3, -2.1, 7.0):
            t = torch.tensor(value, dtype=torch.float64, requires_grad=True)
            (grad,) = torch.autograd.grad(loss(t, how), t)
            step = 1e-6
            numeric = (loss(t.detach() + step, how) - loss(t.detach() - step, how)) / (2 * step)
            assert abs(float(grad) - float(numeric)) < 1e-7 * max(1.0, abs(float(numeric)))


def test_per_image_times_and_apply_equal_the_unitaries():
    spectra = HamiltonianSpectra.from_images(_images(4, 5, 6))
    times = torch.linspace(-1, 3, 5, dtype=torch.float64)
    state = torch.randn(5, 8, dtype=torch.complex128, generator=torch.Generator().manual_seed(0))
    expected = (spectra.unitary(times) @ state[..., None])[..., 0]
    torch.testing.assert_close(spectra.apply(state, times), expected, atol=1e-13, rtol=0)
    assert spectra.batch_size == 5 and spectra.num_qubits == 3
    with pytest.raises(ValueError, match=r"one value per image \(5\), got shape \(3,\)"):
        spectra.phases(torch.zeros(3))
    with pytest.raises(ValueError, match="one state of 8 amplitudes per image"):
        spectra.apply(state[:, :4], 0.5)


def test_bad_images_get_errors_that_say_what_is_wrong():
    with pytest.raises(ValueError, match=r"square images .* got 8x6 \(height x width\)"):
        image_hamiltonians(torch.rand(2, 8, 6))
    bad = torch.rand(4, 8, 8)
    bad[2, 1, 1] = 3.0
    with pytest.raises(ValueError, match=r"grey levels in \[0, 1\], but image 2 has pixels in \[.*, 3\] \(1 of 4"):
        image_hamiltonians(bad)
    with pytest.raises(ValueError, match="image 0 has pixels in"):
        image_hamiltonians(-torch.rand(1, 4, 4) - 0.1)
    with pytest.raises(ValueError, match=r"a 32x32 image needs at least 5 qubits .* got num_qubits=3"):
        image_hamiltonians(torch.rand(1, 32, 32), num_qubits=3)
    with pytest.raises(ValueError, match=r"add the batch axis with images\[None\]"):
        image_hamiltonians(torch.rand(8, 8))
    nan = torch.rand(2, 4, 4)
    nan[1, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="image 1 contains NaN"):
        image_hamiltonians(nan)
    with pytest.raises(TypeError, match=r"torch.Tensor or numpy array"):
        image_hamiltonians([[0.0]])
    assert image_hamiltonians(np.full((1, 2, 2), 255, dtype=np.uint8) // 255).dtype == torch.float32


def test_the_evolution_circuit_runs_on_our_engine_aer_and_pennylane():
    images = _images(7, 2, 8)
    spectra = HamiltonianSpectra.from_images(images)
    for image, expected in zip(images, spectra.unitary(torch.tensor(0.9, dtype=torch.float64)), strict=True):
        circuit = hamiltonian_embedding_circuit(image)
        assert circuit.parameters == {"t": 1} and circuit.count_ops() == {"evolution": 1}
        np.testing.assert_allclose(reference_unitary(circuit, {"t": [0.9]}), expected.numpy(), atol=1e-12)
        t = torch.tensor([0.9], dtype=torch.float64)
        ours = REF.run(circuit, {"t": t}, measurement=StateVector())
        torch.testing.assert_close(ours[0], expected[:, 0], atol=1e-12, rtol=0)
        aer = AerBackend().state(circuit, {"t": t.numpy()})
        torch.testing.assert_close(aer[0].to(torch.complex128), expected[:, 0], atol=1e-10, rtol=0)
        pennylane = PennyLaneBackend().state(circuit, {"t": t.numpy()})
        torch.testing.assert_close(pennylane[0].to(torch.complex128), expected[:, 0], atol=1e-10, rtol=0)


def test_the_circuit_gradient_in_time_equals_the_batched_one():
    image = _images(8, 1, 4)
    spectra = HamiltonianSpectra.from_images(image)
    target = torch.zeros(4, dtype=torch.complex128)
    target[1] = 1.0
    t = torch.tensor([1.7], dtype=torch.float64, requires_grad=True)
    state = REF.run(hamiltonian_embedding_circuit(image[0]), {"t": t}, measurement=StateVector())[0]
    (via_circuit,) = torch.autograd.grad((state.conj() @ target).abs().square(), t)
    t2 = torch.tensor(1.7, dtype=torch.float64, requires_grad=True)
    (batched,) = torch.autograd.grad((spectra.unitary(t2)[0, :, 0].conj() @ target).abs().square(), t2)
    assert abs(float(via_circuit[0]) - float(batched)) < 1e-12


@pytest.mark.parametrize("num_qubits", [1, 2, 3])
def test_pauli_words_and_coefficients_reconstruct_the_hamiltonian(num_qubits):
    words = real_symmetric_pauli_words(num_qubits)
    assert len(words) == (4**num_qubits + 2**num_qubits) // 2 - 1 and len(set(words)) == len(words)
    assert all(np.allclose(_word_matrix(w).imag, 0) for w in words)
    hamiltonians = image_hamiltonians(_images(num_qubits, 3, 2**num_qubits))
    identity, coefficients = pauli_coefficients(hamiltonians)
    for h, c_i, c in zip(hamiltonians.numpy(), identity.numpy(), coefficients.numpy(), strict=True):
        rebuilt = c_i * np.eye(2**num_qubits) + sum(ck * _word_matrix(w) for ck, w in zip(c, words, strict=True))
        np.testing.assert_allclose(rebuilt, h, atol=1e-14)
    assert len(real_symmetric_pauli_words(5)) == 527


@pytest.mark.parametrize("seed", range(3))
def test_trotter_circuit_stays_within_its_bound_and_converges_at_first_order(seed):
    images = _images(seed, 2, 8)
    hamiltonians = image_hamiltonians(images)
    identity, coefficients = pauli_coefficients(hamiltonians)
    time = 2.5
    exact = HamiltonianSpectra.from_hamiltonians(hamiltonians).unitary(torch.tensor(time, dtype=torch.float64))
    errors = {}
    for steps in (1, 4, 16, 64):
        circuit = trotter_embedding_circuit(3, steps)
        bounds = trotter_error_bound(coefficients, time, steps)
        for k in range(2):
            values = {"x": coefficients[k].numpy(), "t": [time]}
            unitary = reference_unitary(circuit, values) * np.exp(-0.5j * time * float(identity[k]))
            error = np.linalg.norm(unitary - exact[k].numpy(), 2)
            assert error <= float(bounds[k]) * (1 + 1e-9)
            errors[steps, k] = error
    for k in range(2):
        assert errors[64, k] < 0.05 * errors[1, k]
        assert 3.0 < errors[16, k] / errors[64, k] < 5.0  # first order: error ~ 1 / steps
        assert float(trotter_error_bound(coefficients, time, 64)[k]) < 20 * errors[64, k]  # the bound is not vacuous


def test_five_qubit_trotter_circuit_is_one_circuit_for_a_batch_on_our_engine_and_aer():
    images = _images(11, 3, 28)
    hamiltonians = image_hamiltonians(images)
    _, coefficients = pauli_coefficients(hamiltonians)
    circuit = trotter_embedding_circuit(5, 2, time=0.4)
    assert circuit.parameters == {"x": 527} and len(circuit) == 2 * 527
    assert {op.name for op in circuit} == {"pauli_rot"} and max(op.num_qubits for op in circuit) == 5
    states = REF.state(circuit, {"x": coefficients})
    exact = HamiltonianSpectra.from_hamiltonians(hamiltonians).unitary(torch.tensor(0.4, dtype=torch.float64))
    bound = trotter_error_bound(coefficients, 0.4, 2)
    overlap = (states.conj() * exact[:, :, 0]).sum(-1).abs()  # phase-free distance of the first columns
    assert bool((torch.sqrt(2 - 2 * overlap) <= bound + 1e-9).all())
    aer = AerBackend().state(circuit, {"x": coefficients[:1].numpy()})
    assert float((aer[0].to(torch.complex128).conj() @ states[0]).abs()) == pytest.approx(1.0, abs=1e-9)


def test_template_arguments_are_checked():
    with pytest.raises(ValueError, match="inputs ParameterVector 'x' must have"):
        from circuits import ParameterVector

        trotter_embedding_circuit(2, inputs=ParameterVector("x", 3))
    with pytest.raises(ValueError, match="steps must be an int >= 1"):
        trotter_embedding_circuit(2, 0)
    with pytest.raises(ValueError, match="is not \\(4\\*\\*n \\+ 2\\*\\*n\\) / 2 - 1"):
        trotter_error_bound(torch.zeros(1, 6), 1.0, 1)
    with pytest.raises(TypeError, match="time must be a ParameterVector of size 1"):
        hamiltonian_embedding_circuit(torch.rand(4, 4), time=[1.0])
    circuit = hamiltonian_embedding_circuit(torch.rand(3, 3), time=0.5)
    assert circuit.num_qubits == 2 and circuit.parameters == {}
