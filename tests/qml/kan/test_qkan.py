"""DARUAN and QKAN: the fast path against the same circuits on our engine and on Aer, the layer equation,
layer extension, the frequency spectrum, and bad input."""

from __future__ import annotations

import math

import pytest
import torch

from circuits import TorchBackend, Z
from circuits.library import DARUAN_ANSATZES, daruan_circuit
from qml.kan import DARUAN, HQKAN, JHCG, QKAN, QKANLayer

ANSATZES = DARUAN_ANSATZES


def _layer(ansatz: str = "pz", reps: int = 2, in_dim: int = 3, out_dim: int = 2, seed: int = 0, **options):
    """A float64 layer with every parameter randomised (not the identity-like initial values)."""
    gen = torch.Generator().manual_seed(seed)
    layer = QKANLayer(in_dim, out_dim, reps, ansatz=ansatz, generator=gen, dtype=torch.float64, **options)
    with torch.no_grad():
        layer.preact_weight.copy_(torch.randn(layer.preact_weight.shape, generator=gen, dtype=torch.float64))
        layer.preact_bias.copy_(torch.randn(layer.preact_bias.shape, generator=gen, dtype=torch.float64))
        layer.postact_weight.copy_(torch.randn(layer.postact_weight.shape, generator=gen, dtype=torch.float64))
        layer.postact_bias.copy_(torch.randn(layer.postact_bias.shape, generator=gen, dtype=torch.float64))
        layer.base_weight.copy_(torch.randn(layer.base_weight.shape, generator=gen, dtype=torch.float64))
    return layer


def _inputs(batch: int = 4, in_dim: int = 3, seed: int = 1, scale: float = 0.4) -> torch.Tensor:
    return scale * torch.randn(batch, in_dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _on(layer: QKANLayer, backend) -> QKANLayer:
    twin = QKANLayer(layer.in_dim, layer.out_dim, layer.reps, ansatz=layer.ansatz, backend=backend, dtype=torch.float64)
    twin.load_state_dict(layer.state_dict())
    return twin


@pytest.mark.parametrize("ansatz", ANSATZES)
def test_fast_path_equals_the_circuit_on_our_engine(ansatz):
    layer = _layer(ansatz)
    x = _inputs(scale=0.3 if ansatz == "px" else 1.5)
    circuit_layer = _on(layer, TorchBackend(dtype=torch.complex128))
    torch.testing.assert_close(layer.activations(x), circuit_layer.activations(x), atol=1e-12, rtol=0)
    torch.testing.assert_close(layer(x), circuit_layer(x), atol=1e-12, rtol=0)


@pytest.mark.parametrize("ansatz", ["pz", "rpz", "mix"])
def test_fast_path_gradients_equal_the_circuit_gradients(ansatz):
    layer = _layer(ansatz)
    circuit_layer = _on(layer, TorchBackend(dtype=torch.complex128))
    grads = []
    for module in (layer, circuit_layer):
        x = _inputs().requires_grad_()
        module(x).square().sum().backward()
        grads.append([x.grad] + [p.grad for p in module.parameters() if p.requires_grad])
    for fast, slow in zip(*grads, strict=True):
        torch.testing.assert_close(fast, slow, atol=1e-10, rtol=0)


def test_gradients_match_finite_differences():
    layer = _layer("pz", reps=3)
    x = _inputs().requires_grad_()

    def loss() -> torch.Tensor:
        return (layer(x) * torch.tensor([1.0, -0.5], dtype=torch.float64)).sum()

    loss().backward()
    for tensor in (x, layer.theta, layer.preact_weight, layer.preact_bias, layer.base_weight):
        flat, grad = tensor.data.view(-1), tensor.grad.view(-1)
        for index in (0, flat.numel() // 2, flat.numel() - 1):
            original = float(flat[index])
            with torch.no_grad():
                flat[index] = original + 1e-6
                up = float(loss())
                flat[index] = original - 1e-6
                down = float(loss())
                flat[index] = original
            assert float(grad[index]) == pytest.approx((up - down) / 2e-6, abs=1e-7)


def test_fast_path_equals_aer_exact_and_sampled():
    pytest.importorskip("qiskit_aer")
    from circuits.backends.aer import AerBackend

    layer = _layer("pz", reps=2, in_dim=2, out_dim=2)
    x = _inputs(batch=3, in_dim=2)
    exact = _on(layer, AerBackend(method="statevector")).activations(x)
    torch.testing.assert_close(exact.to(torch.float64), layer.activations(x), atol=1e-6, rtol=0)
    shots = 20000
    sampled = _on(layer, AerBackend(method="statevector", shots=shots, seed=11)).activations(x).to(torch.float64)
    fast = layer.activations(x).detach()
    sigma = torch.sqrt((1 - fast.square()).clamp_min(1e-12) / shots)
    assert bool(((sampled - fast).abs() <= 5 * sigma + 1e-9).all())


def test_layer_equation():
    layer = _layer("pz")
    x = _inputs()
    phi = layer.activations(x)
    expected = torch.einsum("boi,oi->bo", phi + layer.postact_bias, layer.postact_weight)
    expected = expected + torch.nn.functional.silu(x) @ layer.base_weight.T
    torch.testing.assert_close(layer(x), expected, atol=1e-12, rtol=0)


def test_single_daruan_against_a_hand_computed_state(pz_one_repetition_state):
    """pz, one repetition, edge (0, 0): H, RZ(t00) RY(t01) RZ(w x + b), RZ(t10) RY(t11), then <Z>, by 2x2 matrices."""
    layer = _layer("pz", reps=1, in_dim=1, out_dim=1)
    x = torch.tensor([[0.7]], dtype=torch.float64)
    w, b = float(layer.preact_weight[0, 0, 0].detach()), float(layer.preact_bias[0, 0, 0].detach())
    state = pz_one_repetition_state(layer.theta[0, 0], w * 0.7 + b)
    expected = float(state[0].abs() ** 2 - state[1].abs() ** 2)
    assert float(layer.activations(x)[0, 0, 0].detach()) == pytest.approx(expected, abs=1e-12)


def test_trainable_preprocessing_widens_the_spectrum():
    """With r = 3 and w = (1, 2, 4) the activation holds frequency 7 = 2**r - 1; with w = (1, 1, 1) at most 3."""
    for weights, top in (((1.0, 1.0, 1.0), 3), ((1.0, 2.0, 4.0), 7)):
        activation = DARUAN(1, reps=3, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
        with torch.no_grad():
            activation.preact_weight.copy_(torch.tensor([weights], dtype=torch.float64))
        grid = torch.arange(64, dtype=torch.float64)[:, None] * (2 * math.pi / 64)
        spectrum = torch.fft.rfft(activation(grid)[:, 0]).abs() / 64
        present = [k for k in range(33) if spectrum[k] > 1e-9]
        assert max(present) == top


def test_daruan_module_equals_the_layer_activation():
    layer = _layer("pz", in_dim=3, out_dim=1)
    activation = DARUAN(3, reps=2, dtype=torch.float64)
    with torch.no_grad():
        activation.theta.copy_(layer.theta[0])
        activation.preact_weight.copy_(layer.preact_weight[0])
        activation.preact_bias.copy_(layer.preact_bias[0])
    x = _inputs()
    torch.testing.assert_close(activation(x), layer.activations(x)[:, 0, :], atol=1e-12, rtol=0)


@pytest.mark.parametrize("ansatz", ["pz", "rpz"])
def test_extension_preserves_the_function(ansatz):
    network = QKAN([3, 4, 2], reps=2, ansatz=ansatz, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    with torch.no_grad():
        for p in network.parameters():
            p.add_(0.3 * torch.randn(p.shape, generator=torch.Generator().manual_seed(p.numel()), dtype=p.dtype))
    x = _inputs(batch=6)
    grown = network.extend(5)
    assert grown.reps == 5 and all(layer.reps == 5 for layer in grown.layers)
    width = network.layers[0].theta.shape[-1]
    assert grown.layers[0].theta.shape == (4, 3, 6, width) and network.layers[0].theta.shape == (4, 3, 3, width)
    torch.testing.assert_close(grown(x), network(x), atol=1e-12, rtol=0)
    # and it trains on: the new angles receive gradients
    grown(x).sum().backward()
    assert float(grown.layers[0].theta.grad[:, :, 3:].abs().sum()) > 0


def test_hqkan_and_jhcg_shapes():
    model = HQKAN(64, 10, reps=2, generator=torch.Generator().manual_seed(0))
    assert model.encoder.out_features == 6 and model.decoder.in_features == 6  # ceil(log2 64)
    assert model(torch.randn(5, 64)).shape == (5, 10)
    jhcg = JHCG(8, 3, QKAN([4, 5], reps=1), latent=4, latent_out=5, norm="layer")
    assert jhcg(torch.randn(2, 8)).shape == (2, 3)


def test_bad_input():
    layer = QKANLayer(3, 2, 2)
    with pytest.raises(ValueError, match=r"expects input of shape \(batch_size, 3\), got \(4, 5\).*got 5"):
        layer(torch.zeros(4, 5))
    with pytest.raises(ValueError, match="NaN or infinite"):
        layer(torch.tensor([[0.0, float("nan"), 1.0]]))
    with pytest.raises(ValueError, match=r"reps >= 1 \(data re-uploadings\), got 0"):
        QKANLayer(3, 2, 0)
    with pytest.raises(ValueError, match=r"need reps > 2, got 1"):
        layer.extend(1)
    with pytest.raises(ValueError, match="'mix' cannot grow"):
        QKANLayer(2, 2, 1, ansatz="mix").extend(2)
    with pytest.raises(ValueError, match="unknown DARUAN ansatz 'zz'"):
        QKANLayer(2, 2, 1, ansatz="zz")


def test_circuit_template_parameters():
    circuit = daruan_circuit(3, "pz")
    assert circuit.num_qubits == 1 and circuit.parameters == {"theta": 8, "angle": 3}
    values = {"theta": torch.zeros(8, dtype=torch.float64), "angle": torch.zeros(3, dtype=torch.float64)}
    # all angles zero: H|0> = |+>, <Z> = 0
    assert float(TorchBackend(dtype=torch.complex128).expval(circuit, [Z(0)], values)) == pytest.approx(0.0, abs=1e-12)
