"""The Hamiltonian-embedding classifier: shapes and errors, gradients, fast path against its circuits, the paper."""

from __future__ import annotations

import numpy as np
import pennylane as qp
import pytest
import scipy.linalg
import torch

from circuits import TorchBackend
from circuits.library import image_hamiltonians
from qml.models import HamiltonianEmbeddingClassifier, ReadoutCrossEntropy
from qml.models.hamiltonian_embedding import brickwall_pairs

REF = TorchBackend(dtype=torch.complex128)


def _model(seed=0, **kwargs):
    options = {"num_qubits": 3, "num_layers": 2, "num_classes": 8, "dtype": torch.float64}
    options.update(kwargs)
    return HamiltonianEmbeddingClassifier(
        options.pop("num_qubits"),
        options.pop("num_layers"),
        options.pop("num_classes"),
        generator=torch.Generator().manual_seed(seed),
        **options,
    )


def _images(seed, batch, side, dtype=torch.float64):
    return torch.rand(batch, side, side, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_shapes_dtypes_and_parameter_counts_of_the_papers_models():
    digits = HamiltonianEmbeddingClassifier(3, 15, 8, generator=torch.Generator().manual_seed(0))
    assert digits(_images(0, 1, 8, torch.float32)).shape == (1, 8)
    out = digits(_images(0, 5, 8, torch.float32))
    assert out.shape == (5, 8) and out.dtype == torch.float32
    torch.testing.assert_close(out.sum(-1), torch.ones(5), atol=1e-4, rtol=0)  # all 8 states: norm, float32
    # paper (docs/papers.md §4): digits 30 weights per layer (two SU(4) blocks) + one t, MNIST 1 023 L + L
    assert sum(p.numel() for p in digits.parameters()) == 15 * 30 + 15
    mnist = HamiltonianEmbeddingClassifier(
        5, 10, 8, unitary="full", readout_qubits=(0, 1, 2, 3), generator=torch.Generator().manual_seed(0)
    )
    assert sum(p.numel() for p in mnist.parameters()) == 1023 * 10 + 10
    assert brickwall_pairs(3) == ((0, 1), (1, 2)) and len(brickwall_pairs(5)) == 4  # the paper's CT model: four
    small = _model(num_classes=3)
    assert small.readout_qubits == (0, 1) and small(_images(1, 2, 5)).shape == (2, 3)


def test_constructor_and_input_errors():
    g = torch.Generator().manual_seed(0)
    with pytest.raises(ValueError, match="unitary must be 'brickwall' or 'full', got 'su4'"):
        HamiltonianEmbeddingClassifier(3, 1, 8, unitary="su4", generator=g)
    with pytest.raises(TypeError, match="num_layers must be an int, got float"):
        HamiltonianEmbeddingClassifier(3, 1.0, 8, generator=g)
    with pytest.raises(ValueError, match="9 classes need 4 read-out qubits, but the model has 3"):
        HamiltonianEmbeddingClassifier(3, 1, 9, generator=g)
    with pytest.raises(ValueError, match="2 read-out qubits hold 4 basis states, fewer than the 8 classes"):
        HamiltonianEmbeddingClassifier(3, 1, 8, readout_qubits=(0, 1), generator=g)
    with pytest.raises(TypeError, match=r"needs generator=torch.Generator"):
        HamiltonianEmbeddingClassifier(3, 1, 8, generator=None)
    with pytest.raises(TypeError, match=r"backend must be a circuits.Backend object"):
        HamiltonianEmbeddingClassifier(3, 1, 8, backend="torch", generator=g)
    with pytest.raises(ValueError, match="trotter_steps applies to the circuits on a backend"):
        HamiltonianEmbeddingClassifier(3, 1, 8, trotter_steps=2, generator=g)
    model = _model()
    with pytest.raises(ValueError, match=r"square images .* got 8x7"):
        model(torch.rand(2, 8, 7))
    raw = torch.zeros(3, 8, 8)
    raw[1, 2, 2] = 16.0  # scikit-learn's digits before the division by 16
    with pytest.raises(ValueError, match=r"HamiltonianEmbeddingClassifier expects .* image 1 has pixels in \[0, 16\]"):
        model(raw)
    with pytest.raises(ValueError, match=r"has 3 qubits, which embed images of at most 8x8, got 16x16.* 4 qubits"):
        model(torch.rand(1, 16, 16))
    loss = ReadoutCrossEntropy(8)
    with pytest.raises(ValueError, match=r"label 9 is outside the read-out's 8 classes \(0 \.\. 7\)"):
        loss(torch.rand(2, 8), torch.tensor([1, 9]))
    with pytest.raises(TypeError, match="labels must be an integer tensor"):
        loss(torch.rand(2, 8), torch.tensor([1.0, 2.0]))


def test_brickwall_blocks_are_pennylanes_special_unitary_and_the_forward_is_the_papers_state():
    model = _model(seed=3, num_layers=2)
    image = _images(5, 1, 8)
    hamiltonian = image_hamiltonians(image)[0].numpy()
    weights = model.weights.detach().numpy()
    state = np.full(8, 1 / np.sqrt(8), dtype=np.complex128)
    for layer in range(2):
        state = scipy.linalg.expm(-0.5j * float(model.times[layer].detach()) * hamiltonian) @ state
        for k, pair in enumerate(brickwall_pairs(3)):
            block = qp.matrix(
                qp.SpecialUnitary(weights[layer, 15 * k : 15 * k + 15], wires=list(pair)), wire_order=[0, 1, 2]
            )
            state = block @ state
    expected = np.abs(state) ** 2
    np.testing.assert_allclose(model(image)[0].detach().numpy(), expected, atol=1e-12)


def test_full_unitary_model_uses_the_first_four_qubits_for_eight_classes():
    model = _model(seed=1, num_qubits=5, num_layers=1, unitary="full", readout_qubits=(0, 1, 2, 3))
    image = _images(6, 1, 28)
    hamiltonian = image_hamiltonians(image)[0].numpy()
    generator = sum(
        w * qp.matrix(qp.pauli.string_to_pauli_word(word), wire_order=range(5))
        for w, word in zip(
            model.weights[0].detach().numpy(), qp.ops.qubit.special_unitary.pauli_basis_strings(5), strict=True
        )
    )
    state = scipy.linalg.expm(1j * generator) @ scipy.linalg.expm(-0.5j * float(model.times[0].detach()) * hamiltonian)
    state = state @ np.full(32, 1 / np.sqrt(32))
    probs = (np.abs(state) ** 2).reshape(16, 2).sum(-1)[:8]  # |b><b| (x) I on qubits 0-3, b = 0 .. 7
    np.testing.assert_allclose(model(image)[0].detach().numpy(), probs, atol=1e-12)


@pytest.mark.parametrize("unitary", ["brickwall", "full"])
def test_gradients_match_finite_differences(unitary, matches_finite_differences):
    model = _model(seed=2, num_layers=2, unitary=unitary)
    images = _images(7, 3, 8)
    target = torch.randn(3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def loss():
        return (model(images) * target).sum()

    matches_finite_differences(loss, model.times, [0, 1])
    matches_finite_differences(loss, model.weights, [(0, 0), (1, 4), (1, 14)])


def test_fast_path_equals_the_circuits_on_our_engine_with_the_same_time_gradients(matches_its_circuit):
    model = _model(seed=4, num_layers=3)
    images = _images(8, 3, 8)
    matches_its_circuit(model, images, model.times, 2)
    circuit = model.circuit(images[0])
    assert circuit.count_ops() == {"h": 3, "evolution": 3, "unitary": 6} and circuit.parameters == {"t": 3}


def test_fast_path_equals_aer_exact_and_sampled(matches_aer):
    matches_aer(_model(seed=5, num_layers=2, num_classes=4), _images(9, 2, 6), seed=1)


def test_trotterised_model_runs_as_one_circuit_and_converges_to_the_exact_one():
    model = _model(seed=6, num_layers=2)
    images = _images(10, 4, 8)
    fast = model(images).detach()
    errors = []
    for steps in (2, 8, 32):
        model.backend, model.trotter_steps = REF, steps
        errors.append(float((model(images).detach() - fast).abs().max()))
    assert errors[2] < errors[1] < errors[0] and errors[2] < 2e-2
    circuit = model.circuit(trotter_steps=2)
    assert circuit.parameters == {"t": 2, "x": 35} and circuit.count_ops()["pauli_rot"] == 2 * 2 * 35


def test_seeded_weights_are_reproducible_and_the_global_generator_is_untouched():
    state = torch.random.get_rng_state()
    a, b, c = _model(seed=11), _model(seed=11), _model(seed=12)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert torch.equal(a.weights, b.weights) and torch.equal(a.times, b.times)
    assert not torch.equal(a.weights, c.weights)
