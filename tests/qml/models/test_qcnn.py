"""The QCNN baseline: shapes and errors, gradients, fast path against its circuit on our engine and on Aer."""

from __future__ import annotations

import pytest
import torch

from qml.models import QCNNClassifier


def _model(num_qubits=6, num_layers=1, num_classes=8, seed=0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    return QCNNClassifier(num_qubits, num_layers, num_classes, generator=generator, dtype=dtype)


def _images(seed, batch, side, dtype=torch.float64):
    return torch.rand(batch, side, side, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def test_shapes_and_the_papers_parameter_counts():
    digits = _model(dtype=torch.float32)
    out = digits(_images(0, 4, 8, torch.float32))
    assert out.shape == (4, 8) and out.dtype == torch.float32
    torch.testing.assert_close(out.sum(-1), torch.ones(4), atol=1e-5, rtol=0)
    assert digits(_images(0, 1, 8, torch.float32)).shape == (1, 8)
    # the demo's weights (18 per layer) and ArbitraryUnitary on the 3 qubits left (4**3 - 1)
    assert sum(p.numel() for p in digits.parameters()) == 18 + 63 and digits.readout_qubits == (0, 2, 4)
    mnist = _model(10, 2)
    assert sum(p.numel() for p in mnist.parameters()) == 36 + 63 and mnist.readout_qubits == (0, 4, 8)
    assert _model(num_classes=2)(_images(1, 3, 7)).shape == (3, 2)  # 49 pixels, zero-padded to 64


def test_constructor_and_input_errors():
    with pytest.raises(ValueError, match="has 1 active qubit\\(s\\) before layer 3"):
        _model(4, 3)
    with pytest.raises(ValueError, match="1 read-out qubits hold 2 classes, fewer than 8"):
        _model(4, 2)
    model = _model()
    with pytest.raises(ValueError, match="a 9x9 image has 81 pixels, more than the 2\\*\\*6 = 64 amplitudes"):
        model(torch.rand(1, 9, 9))
    with pytest.raises(ValueError, match="image 1 is blank"):
        model(torch.stack([torch.rand(8, 8), torch.zeros(8, 8)]))
    with pytest.raises(ValueError, match=r"QCNNClassifier expects grey levels in \[0, 1\], but image 0"):
        model(torch.full((1, 8, 8), 2.0))
    with pytest.raises(ValueError, match="square images"):
        model(torch.rand(1, 8, 4))


def test_gradients_match_finite_differences(matches_finite_differences):
    model = _model(seed=3)
    images = _images(4, 3, 8)
    target = torch.randn(3, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))

    def loss():
        return (model(images) * target).sum()

    matches_finite_differences(loss, model.weights, [0, 7, 16, 17])
    matches_finite_differences(loss, model.dense_weights, [0, 7, 16, 62])


@pytest.mark.parametrize(("num_qubits", "num_layers", "side"), [(6, 1, 8), (10, 2, 32)])
def test_fast_path_equals_the_amplitude_encoded_circuit_on_our_engine(
    num_qubits, num_layers, side, matches_its_circuit
):
    model = _model(num_qubits, num_layers, seed=5)
    matches_its_circuit(model, _images(6, 3, side), model.weights, 1)
    assert model.circuit().parameters == {"v": 63, "w": 18 * num_layers, "x": 2**num_qubits - 1}


def test_fast_path_equals_aer_exact_and_sampled(matches_aer):
    matches_aer(_model(seed=7), _images(8, 2, 8), seed=3)
