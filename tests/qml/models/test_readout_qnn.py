"""Farhi-Neven's readout QNN: the closed form against the 17-qubit circuit (our engine, Aer), gradients, hinge loss."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from circuits.backends.aer import AerBackend
from circuits.ir.observables import Z
from circuits.library import readout_qnn_circuit
from circuits.sim.reference import reference_expectation, reference_state
from qml.models import HingeLoss, ReadoutQNN


def _model(n=16, seed=0, dtype=torch.float64):
    return ReadoutQNN(n, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _bits(seed, batch, n):
    return torch.randint(0, 2, (batch, n), generator=torch.Generator().manual_seed(seed)).double()


def test_the_tfq_circuit_and_the_papers_parameter_count():
    circuit = readout_qnn_circuit(16)
    assert circuit.num_qubits == 17 and circuit.parameters == {"w": 32, "x": 16}
    assert circuit.count_ops() == {"ry": 16, "x": 1, "h": 2, "rxx": 16, "rzz": 16}
    assert sum(p.numel() for p in _model().parameters()) == 32  # TFQ's model: 32 parameters


def test_closed_form_equals_the_dense_oracle_on_every_bit_string_of_three_qubits():
    model = _model(3, seed=1)
    bits = torch.tensor([[(i >> k) & 1 for k in (2, 1, 0)] for i in range(8)], dtype=torch.float64)
    values = {"w": model.weights.detach().numpy()}
    expected = [
        reference_expectation(reference_state(readout_qnn_circuit(3), {**values, "x": row.numpy()}), Z(3), 4)
        for row in bits
    ]
    np.testing.assert_allclose(model(bits)[:, 1].detach().numpy(), expected, atol=1e-13)


def test_closed_form_equals_the_seventeen_qubit_circuit_on_our_engine_and_on_aer(matches_its_circuit):
    model = _model(seed=2)
    images = _bits(3, 4, 16).reshape(4, 4, 4)
    fast = matches_its_circuit(model, images, model.weights, 1)
    model.backend = AerBackend()
    torch.testing.assert_close(model(images[:2]).detach().double(), fast[:2], atol=1e-10, rtol=0)


def test_gradients_match_finite_differences(matches_finite_differences):
    model = _model(6, seed=4)
    bits = _bits(5, 5, 6)
    labels = torch.tensor([0, 1, 1, 0, 1])

    def loss():
        return HingeLoss()(model(bits), labels) + model(bits)[:, 1].sum()

    matches_finite_differences(loss, model.weights, range(12))


def test_hinge_loss_and_logits():
    logits = torch.tensor([[-0.5, 0.5], [0.2, -0.2], [-1.0, 1.0]])
    labels = torch.tensor([1, 1, 0])
    # y z = 0.5, -0.2, -1.0: losses 0.5, 1.2, 2.0
    assert float(HingeLoss()(logits, labels)) == pytest.approx((0.5 + 1.2 + 2.0) / 3)
    with pytest.raises(ValueError, match=r"label 2 is outside the read-out's 2 classes \(0 \.\. 1\)"):
        HingeLoss()(logits, torch.tensor([0, 2, 1]))
    out = _model(dtype=torch.float32)(_bits(0, 3, 16).float())
    assert out.shape == (3, 2) and out.dtype == torch.float32 and torch.equal(out[:, 0], -out[:, 1])
    assert bool((out.abs() <= 1 + 1e-6).all())


def test_input_errors():
    model = _model()
    with pytest.raises(ValueError, match=r"image 1 has a pixel 0.3.*qml.data.binarize"):
        model(torch.tensor([[0.0] * 16, [0.3] + [1.0] * 15]))
    with pytest.raises(
        ValueError, match=r"16 data qubits: it expects \(batch_size, 16\) bits .* got shape \(2, 5, 5\)"
    ):
        model(torch.zeros(2, 5, 5))
    with pytest.raises(TypeError, match=r"torch.Tensor of binarised images"):
        model([[0] * 16])
    with pytest.raises(TypeError, match=r"needs generator=torch.Generator"):
        ReadoutQNN(16, generator=None)
    weights = _model(seed=9).weights
    assert bool(((weights >= 0) & (weights < 2 * math.pi)).all())
