"""QuantumLayer: shapes, weights, closed-form outputs, gradients against finite differences, errors."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from circuits import Circuit, ParameterVector, TorchBackend, X, Z
from circuits.errors import QubitIndexError
from circuits.library import data_reuploading, reuploading_hea
from qml import QuantumLayer


def z_readout(num_qubits: int) -> list:
    return [Z(i) for i in range(num_qubits)]


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_is_exported_from_qml_and_qml_layers():
    import qml.layers

    assert qml.QuantumLayer is qml.layers.QuantumLayer is QuantumLayer


@pytest.mark.parametrize("leading", [(5,), (2, 3), ()])
def test_output_shape_follows_the_input(leading):
    layer = QuantumLayer(reuploading_hea(3, 2, "x", "w"), [*z_readout(3), X(0) @ X(1)], TorchBackend())
    out = layer(torch.rand(*leading, 3))
    assert out.shape == (*leading, 4)
    assert out.dtype == torch.float32


def test_every_other_vector_becomes_a_weight_drawn_uniform_in_0_2pi():
    circuit = data_reuploading(3, 2, "x", "w", input_scaling="s")
    layer = QuantumLayer(circuit, Z(0), TorchBackend(), generator=seeded())
    assert {name: tuple(w.shape) for name, w in layer.weights.items()} == {"s": (6,), "w": (18,)}
    assert sorted(layer.state_dict()) == ["weights.s", "weights.w"]
    assert sum(p.numel() for p in layer.parameters()) == 24
    for w in layer.weights.values():
        assert w.requires_grad
        assert bool(((w >= 0) & (w < 2 * math.pi)).all())


def test_initialization_is_reproducible_from_a_generator_and_never_touches_the_global_rng():
    circuit = reuploading_hea(3, 2, "x", "w")
    state = torch.get_rng_state()
    a = QuantumLayer(circuit, Z(0), TorchBackend(), generator=seeded(5))
    b = QuantumLayer(circuit, Z(0), TorchBackend(), generator=seeded(5))
    assert torch.equal(torch.get_rng_state(), state)
    torch.testing.assert_close(a.weights["w"], b.weights["w"], rtol=0, atol=0)
    a.reset_parameters(seeded(6))
    assert not torch.equal(a.weights["w"], b.weights["w"])
    b.reset_parameters(seeded(6))
    torch.testing.assert_close(a.weights["w"], b.weights["w"], rtol=0, atol=0)


def test_output_matches_the_closed_form():
    # RY(x0) RY(w0) on qubit 0, RX(w1 * x1) on qubit 1:  <Z0> = cos(x0 + w0),  <Z1> = cos(w1 * x1)
    x, w = ParameterVector("x", 2), ParameterVector("w", 2)
    circuit = Circuit(2).ry(x[0], 0).ry(w[0], 0).rx(w[1] * x[1], 1)
    layer = QuantumLayer(circuit, [Z(0), Z(1), Z(0) @ Z(1)], TorchBackend(dtype=torch.complex128), dtype=torch.float64)
    with torch.no_grad():
        layer.weights["w"].copy_(torch.tensor([0.4, -1.3], dtype=torch.float64))
    inputs = torch.tensor([[0.1, 0.2], [2.0, -0.7], [-3.0, 1.5]], dtype=torch.float64)
    z0 = torch.cos(inputs[:, 0] + 0.4)
    z1 = torch.cos(-1.3 * inputs[:, 1])
    torch.testing.assert_close(layer(inputs), torch.stack([z0, z1, z0 * z1], dim=1), atol=1e-12, rtol=0)


def central_difference(f, tensor: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """d f / d tensor by central differences, entry by entry (f returns a scalar)."""
    grad = torch.zeros_like(tensor)
    flat, out = tensor.detach().view(-1), grad.view(-1)
    for i in range(flat.numel()):
        saved = flat[i].item()
        flat[i] = saved + eps
        plus = f().item()
        flat[i] = saved - eps
        minus = f().item()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return grad


@pytest.mark.parametrize("diff_method", ["adjoint", "backprop"])
def test_gradients_reach_weights_and_inputs_and_match_finite_differences(diff_method):
    circuit = data_reuploading(3, 2, "x", "w", entangler="cx", input_scaling="s")
    backend = TorchBackend(dtype=torch.complex128, diff_method=diff_method)
    layer = QuantumLayer(circuit, [Z(0), X(1) @ Z(2), Z(2)], backend, generator=seeded(1), dtype=torch.float64)
    inputs = torch.rand(4, 3, generator=seeded(2), dtype=torch.float64).mul(2 * math.pi).requires_grad_()
    mix = torch.tensor([0.7, -1.1, 0.5], dtype=torch.float64)  # weight the outputs so no gradient cancels

    def loss() -> torch.Tensor:
        return (layer(inputs) * mix).square().sum()

    loss().backward()
    assert inputs.grad is not None and layer.weights["w"].grad is not None and layer.weights["s"].grad is not None
    with torch.no_grad():
        for tensor in (inputs, layer.weights["w"], layer.weights["s"]):
            expected = central_difference(loss, tensor)
            assert float(expected.abs().max()) > 1e-3  # the check is not vacuous
            torch.testing.assert_close(tensor.grad, expected, atol=1e-8, rtol=0)


def test_trains_inside_a_model():
    torch.manual_seed(0)  # the test owns its randomness (nn.Linear init)
    model = nn.Sequential(
        nn.Linear(4, 3), QuantumLayer(reuploading_hea(3, 1, "x", "w"), z_readout(3), TorchBackend(), generator=seeded())
    )
    inputs, targets = torch.randn(16, 4), torch.rand(16, 3) - 0.5
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(15):
        loss = nn.functional.mse_loss(model(inputs), targets)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0]


def test_module_to_float64_changes_the_weight_dtype():
    layer = QuantumLayer(reuploading_hea(2, 1, "x", "w"), Z(0), TorchBackend(dtype=torch.complex128))
    layer.to(torch.float64)
    assert layer.weights["w"].dtype == torch.float64
    assert layer(torch.rand(3, 2, dtype=torch.float64)).dtype == torch.float64
    assert layer(torch.tensor([[1, 2]])).dtype == torch.float64  # integer input follows the weights


def test_weight_shapes_is_a_checked_declaration():
    circuit = data_reuploading(2, 1, "x", "w", input_scaling="s")
    layer = QuantumLayer(circuit, Z(0), TorchBackend(), weight_shapes={"w": 6, "s": 2})
    assert sorted(layer.weights) == ["s", "w"]
    expected = r"weight_shapes=\{'w': 6\} does not match the circuit: expected \{'s': 2, 'w': 6\}"
    with pytest.raises(ValueError, match=expected):
        QuantumLayer(circuit, Z(0), TorchBackend(), weight_shapes={"w": 6})


def test_custom_input_name():
    circuit = reuploading_hea(2, 1, "features", "theta")
    layer = QuantumLayer(circuit, Z(1), TorchBackend(), input_name="features")
    assert list(layer.weights) == ["theta"]
    assert layer(torch.rand(3, 2)).shape == (3, 1)


def test_repr_shows_circuit_sizes_and_backend():
    layer = QuantumLayer(reuploading_hea(3, 2, "x", "w"), z_readout(3), TorchBackend())
    text = repr(layer)
    assert "num_qubits=3, input_name='x', input_size=3, weights={'w': 12}, num_observables=3" in text
    assert "backend=TorchBackend(dtype=torch.complex64" in text


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"backend": "torch"}, TypeError, r"needs a circuits.Backend object .* got str \('torch'\); .* never a name"),
        ({"circuit": "ry(x) q0"}, TypeError, r"QuantumLayer needs a circuits.Circuit, got str"),
        ({"input_name": "inputs"}, ValueError, r"input_name='inputs' is not a parameter vector of the circuit"),
        ({"observables": [Z(5)]}, QubitIndexError, r"acts on qubit\(s\) \[5\], outside the 2-qubit circuit"),
        ({"observables": ["Z0"]}, TypeError, r"Observables are PauliSum or Projector, got str"),
        ({"dtype": torch.complex64}, TypeError, r"dtype must be a real floating-point torch.dtype"),
    ],
)
def test_constructor_errors(kwargs, error, match):
    arguments = {"circuit": reuploading_hea(2, 1, "x", "w"), "observables": [Z(0)], "backend": TorchBackend()}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        QuantumLayer(arguments.pop("circuit"), arguments.pop("observables"), arguments.pop("backend"), **arguments)


def test_forward_errors():
    layer = QuantumLayer(reuploading_hea(2, 1, "x", "w"), Z(0), TorchBackend())
    with pytest.raises(ValueError, match=r"inputs of shape \(\*, 2\) for the circuit's 'x' vector, got \(4, 3\)"):
        layer(torch.rand(4, 3))
    with pytest.raises(ValueError, match=r"got \(\)"):
        layer(torch.tensor(1.0))
    with pytest.raises(TypeError, match=r"expects a torch.Tensor input, got list"):
        layer([[0.1, 0.2]])


def test_qiskit_inputs_name_the_converter_and_sparse_pauli_ops_are_observables():
    from qiskit import QuantumCircuit
    from qiskit.quantum_info import SparsePauliOp

    with pytest.raises(
        TypeError, match=r"QuantumLayer needs a circuits.Circuit, got QuantumCircuit\..*circuit_from_qiskit"
    ):
        QuantumLayer(QuantumCircuit(2), [Z(0)], TorchBackend())
    circuit = reuploading_hea(2, 1, "x", "w")
    ours = QuantumLayer(circuit, 0.5 * Z(1) - X(0), TorchBackend(), generator=seeded(1))
    theirs = QuantumLayer(
        circuit, SparsePauliOp.from_list([("ZI", 0.5), ("IX", -1.0)]), TorchBackend(), generator=seeded(1)
    )
    x = torch.rand(3, 2, generator=seeded(2))
    assert theirs.num_observables == 1
    torch.testing.assert_close(theirs(x), ours(x), atol=0, rtol=0)
