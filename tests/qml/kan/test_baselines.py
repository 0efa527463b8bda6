"""Classical baselines (FourierKAN, MLP), the CNN classifier, and the function-regression datasets."""

from __future__ import annotations

import math

import pytest
import torch

from qml.data.functions import function_regression
from qml.kan import QKAN
from qml.kan.classical import FourierKAN, FourierKANLayer, mlp
from qml.models.cnn import CNNClassifier


def test_fourier_kan_layer_is_its_formula():
    layer = FourierKANLayer(2, 3, grid=4, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        layer.bias.copy_(torch.tensor([0.1, -0.2, 0.3]))
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1))
    a, b = layer.coefficients.detach()
    expected = torch.zeros(5, 3)
    for j in range(3):
        for i in range(2):
            for k in range(1, 5):
                expected[:, j] += a[j, i, k - 1] * torch.cos(k * x[:, i]) + b[j, i, k - 1] * torch.sin(k * x[:, i])
        expected[:, j] += layer.bias[j].detach()
    torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=0)
    assert FourierKAN([2, 4, 1], grid=3)(x).shape == (5, 1)


def test_mlp_shapes_and_seed():
    first = mlp([3, 8, 2], generator=torch.Generator().manual_seed(4))
    second = mlp([3, 8, 2], generator=torch.Generator().manual_seed(4))
    x = torch.randn(6, 3)
    torch.testing.assert_close(first(x), second(x), atol=0, rtol=0)
    assert [type(m).__name__ for m in first] == ["Linear", "SiLU", "Linear"]


def test_cnn_classifier_shapes():
    model = CNNClassifier(8, 10, QKAN([10, 10], reps=1), generator=torch.Generator().manual_seed(0))
    assert model(torch.rand(4, 8, 8)).shape == (4, 10)
    assert model(torch.rand(4, 1, 8, 8)).shape == (4, 10)


def test_function_regression_values_and_split():
    data = function_regression("exp_sin", num_train=50, num_test=30, seed=3)
    assert data.x_train.shape == (50, 2) and data.x_test.shape == (30, 2)
    assert float(data.x_train.abs().max()) <= 1.0
    x = data.x_train[7].double()
    assert float(data.y_train[7]) == pytest.approx(math.exp(math.sin(math.pi * x[0]) + x[1] ** 2), rel=1e-6)
    sinc = function_regression("sinc20", num_train=10, num_test=10, seed=0)
    x0 = float(sinc.x_train[0, 0])
    assert float(sinc.y_train[0]) == pytest.approx(math.sin(20 * x0) / (20 * x0), abs=1e-6)
    again = function_regression("sinc20", num_train=10, num_test=10, seed=0)
    assert torch.equal(again.x_test, sinc.x_test)
    with pytest.raises(ValueError, match="unknown function 'cos'; choose one of sinc20, exp_sin"):
        function_regression("cos")
