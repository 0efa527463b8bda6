"""Chen's QLSTM VQC block: the circuit gate for gate, outputs against PennyLane default.qubit, init, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from circuits import TorchBackend
from qml.recurrent import VQC, vqc_circuit


def seeded(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_circuit_is_the_spec_gate_for_gate():
    circuit = vqc_circuit(3, 2, 2)
    assert circuit.num_qubits == 3
    assert circuit.parameters == {"x": 4, "w": 18}
    ops = [(op.name, op.qubits, tuple(str(p) for p in op.params)) for op in circuit]
    encoding = [
        ("h", (0,), ()),
        ("h", (1,), ()),
        ("ry", (0,), ("x[0]",)),
        ("rz", (0,), ("x[1]",)),
        ("ry", (1,), ("x[2]",)),
        ("rz", (1,), ("x[3]",)),
    ]
    assert ops[:6] == encoding
    for layer in range(2):
        block = ops[6 + layer * 15 : 6 + (layer + 1) * 15]
        rings = [("cx", (0, 1), ()), ("cx", (1, 2), ()), ("cx", (2, 0), ())]
        rings += [("cx", (0, 2), ()), ("cx", (1, 0), ()), ("cx", (2, 1), ())]
        assert block[:6] == rings
        rotations = []
        for q in range(3):
            k = (layer * 3 + q) * 3
            rotations += [("rz", (q,), (f"w[{k}]",)), ("ry", (q,), (f"w[{k + 1}]",)), ("rz", (q,), (f"w[{k + 2}]",))]
        assert block[6:] == rotations
    assert len(ops) == 6 + 2 * 15


def test_without_more_entangle_only_the_nearest_neighbour_ring_remains():
    circuit = vqc_circuit(2, 1, 2, more_entangle=False)
    assert [(op.name, op.qubits) for op in circuit if op.name == "cx"] == [("cx", (0, 1)), ("cx", (1, 0))]


def _pennylane_vqc(v: np.ndarray, weights: np.ndarray, num_outputs: int, more_entangle: bool) -> np.ndarray:
    """Chen's VQCVariationalLoadingFlex(hadamard_gate=True) written directly in PennyLane (the oracle)."""
    qp = pytest.importorskip("pennylane")
    layers, n, _ = weights.shape
    dev = qp.device("default.qubit", wires=n)

    @qp.qnode(dev)
    def circuit():
        for i in range(len(v)):
            qp.Hadamard(wires=i)
        for i in range(len(v)):
            qp.RY(np.arctan(v[i]), wires=i)
            qp.RZ(np.arctan(v[i] ** 2), wires=i)
        for layer in range(layers):
            for i in range(n):
                qp.CNOT(wires=[i, (i + 1) % n])
            if more_entangle:
                for i in range(n):
                    qp.CNOT(wires=[i, (i + 2) % n])
            for i in range(n):
                qp.Rot(*weights[layer, i], wires=i)
        return [qp.expval(qp.PauliZ(k)) for k in range(num_outputs)]

    return np.array(circuit(), dtype=np.float64)


@pytest.mark.parametrize(
    ("num_inputs", "num_outputs", "num_qubits", "more_entangle"),
    [(4, 4, 4, True), (4, 3, 4, True), (2, 3, 3, True), (2, 1, 2, False)],
)
@pytest.mark.parametrize(
    ("state_dtype", "dtype", "atol"), [(torch.complex64, torch.float32, 1e-5), (torch.complex128, torch.float64, 1e-10)]
)
def test_outputs_match_pennylane_default_qubit(
    num_inputs, num_outputs, num_qubits, more_entangle, state_dtype, dtype, atol
):
    vqc = VQC(
        num_inputs,
        num_outputs,
        num_qubits=num_qubits,
        num_layers=2,
        more_entangle=more_entangle,
        backend=TorchBackend(dtype=state_dtype),
        generator=seeded(3),
        init_scale=1.0,  # large angles, so the oracle sees every gate
        dtype=dtype,
    )
    v = torch.randn(3, num_inputs, generator=seeded(4), dtype=dtype) * 1.5
    out = vqc(v)
    assert out.shape == (3, num_outputs)
    assert out.dtype == dtype
    weights = vqc.weights.detach().double().numpy()
    for row in range(3):
        expected = _pennylane_vqc(v[row].double().numpy(), weights, num_outputs, more_entangle)
        np.testing.assert_allclose(out[row].detach().double().numpy(), expected, rtol=0, atol=atol)


def test_weights_are_0_01_normal_from_the_generator_and_the_view_is_layer_qubit_angle():
    vqc = VQC(4, 4, num_layers=4, generator=seeded(7))
    expected = torch.empty(48).normal_(0.0, 0.01, generator=seeded(7))
    torch.testing.assert_close(vqc.quantum.weights["w"].detach(), expected, rtol=0, atol=0)
    assert vqc.weights.shape == (4, 4, 3)
    assert float(vqc.weights.detach()[1, 2, 0]) == float(expected[(1 * 4 + 2) * 3])
    assert [name for name, _ in vqc.named_parameters()] == ["quantum.weights.w"]


def test_leading_axes_are_kept():
    vqc = VQC(2, 2, num_qubits=3, num_layers=1, generator=seeded())
    assert vqc(torch.zeros(5, 2, 2)).shape == (5, 2, 2)


def test_zero_weights_give_the_encoding_closed_form():
    # Two qubits, only qubit 0 encoded: H RY(arctan v) RZ(arctan v^2) |0> has <Z> = -sin(arctan v) = -v / sqrt(1 + v^2).
    # With Rot(0, 0, 0), CNOT(0 -> 1) then CNOT(1 -> 0) moves qubit 0's state onto qubit 1 and leaves qubit 0 in |0>.
    vqc = VQC(
        1,
        2,
        num_qubits=2,
        num_layers=1,
        more_entangle=False,
        generator=seeded(),
        backend=TorchBackend(dtype=torch.complex128),
        dtype=torch.float64,
    )
    with torch.no_grad():
        vqc.quantum.weights["w"].zero_()
    v = torch.tensor([[-2.0], [0.0], [0.3], [5.0]], dtype=torch.float64)
    expected = torch.cat([torch.ones_like(v), -v / torch.sqrt(1 + v**2)], dim=1)
    torch.testing.assert_close(vqc(v), expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        (
            {"num_qubits": 2, "num_layers": 1, "num_inputs": 3},
            ValueError,
            r"num_inputs=3 needs num_qubits >= 3, got num_qubits=2",
        ),
        (
            {"num_qubits": 2, "num_layers": 1, "num_inputs": 1},
            ValueError,
            r"needs num_qubits >= 3, got 2; pass more_entangle=False",
        ),
        ({"num_qubits": 1, "num_layers": 1, "num_inputs": 1}, ValueError, r"num_qubits must be at least 2, got 1"),
        ({"num_qubits": 3, "num_layers": 0, "num_inputs": 1}, ValueError, r"num_layers must be at least 1, got 0"),
        ({"num_qubits": 3.0, "num_layers": 1, "num_inputs": 1}, TypeError, r"num_qubits must be an int, got float"),
    ],
)
def test_bad_circuit_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        vqc_circuit(**kwargs)


def test_bad_block_arguments_and_inputs():
    with pytest.raises(ValueError, match=r"num_outputs=4 needs num_qubits >= 4, got num_qubits=3"):
        VQC(2, 4, num_qubits=3, generator=seeded())
    with pytest.raises(TypeError, match=r"generator must be a torch.Generator .* got int"):
        VQC(2, 2, num_qubits=3, generator=0)
    vqc = VQC(2, 2, num_qubits=3, num_layers=1, generator=seeded())
    with pytest.raises(ValueError, match=r"VQC expects inputs of shape \(\*, 2\) .* got \(4, 3\)"):
        vqc(torch.zeros(4, 3))
    with pytest.raises(TypeError, match=r"VQC expects a torch.Tensor input, got list"):
        vqc([[0.0, 0.0]])
