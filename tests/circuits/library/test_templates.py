"""Circuit templates: structure, parameter layouts, errors, and states against PennyLane."""

from __future__ import annotations

import numpy as np
import pennylane as qp
import pytest
import torch

from circuits import Circuit, ParameterVector, TorchBackend
from circuits.library import (
    angle_encoding,
    data_reuploading,
    hardware_efficient_ansatz,
    reuploading_hea,
    strongly_entangling_layers,
)

ATOL = 1e-10


def gates(circuit: Circuit) -> list[tuple[str, tuple[int, ...], tuple[str, ...]]]:
    """(name, qubits, angle strings) of every operation, for structural comparisons."""
    return [(op.name, op.qubits, tuple(str(p) for p in op.params)) for op in circuit]


def our_state(circuit: Circuit, values: dict[str, np.ndarray]) -> np.ndarray:
    params = {name: torch.tensor(v, dtype=torch.float64) for name, v in values.items()}
    return TorchBackend(dtype=torch.complex128).state(circuit, params)[0].numpy()


def pennylane_state(num_qubits: int, qfunc) -> np.ndarray:
    @qp.qnode(qp.device("default.qubit", wires=num_qubits))
    def run():
        qfunc()
        return qp.state()

    return np.asarray(run())


# -- angle_encoding ------------------------------------------------------------------------


@pytest.mark.parametrize("rotation", ["rx", "ry", "rz"])
def test_angle_encoding_puts_x_i_on_qubit_i(rotation):
    circuit = angle_encoding(3, ParameterVector("x", 3), rotation=rotation)
    assert circuit.num_qubits == 3
    assert circuit.parameters == {"x": 3}
    assert gates(circuit) == [(rotation, (i,), (f"x[{i}]",)) for i in range(3)]


def test_angle_encoding_state_is_the_product_state():
    x = np.array([0.3, -1.2, 2.5])
    expected = np.array([1.0])
    for angle in x:
        expected = np.kron(expected, [np.cos(angle / 2), np.sin(angle / 2)])  # qubit 0 most significant
    np.testing.assert_allclose(our_state(angle_encoding(3, "x"), {"x": x}), expected, atol=ATOL)


def test_a_name_creates_the_vector_with_the_needed_size():
    assert angle_encoding(4, "feat").parameters == {"feat": 4}
    assert strongly_entangling_layers(3, 2, "theta").parameters == {"theta": 18}


# -- hardware_efficient_ansatz ------------------------------------------------------------


def test_hardware_efficient_ansatz_layout():
    circuit = hardware_efficient_ansatz(3, 2, ParameterVector("w", 12))

    def layer(index: int) -> list:
        names = ("ry", "rz")
        rotations = [(g, (i,), (f"w[{(index * 3 + i) * 2 + k}]",)) for i in range(3) for k, g in enumerate(names)]
        return [*rotations, ("cx", (0, 1), ()), ("cx", (1, 2), ()), ("cx", (2, 0), ())]

    assert gates(circuit) == layer(0) + layer(1)
    assert circuit.parameters == {"w": 12}


@pytest.mark.parametrize(
    ("num_qubits", "ring", "pairs"),
    [
        (1, True, []),
        (2, True, [(0, 1)]),
        (4, True, [(0, 1), (1, 2), (2, 3), (3, 0)]),
        (4, False, [(0, 1), (1, 2), (2, 3)]),
    ],
)
def test_hardware_efficient_ansatz_entanglers(num_qubits, ring, pairs):
    circuit = hardware_efficient_ansatz(num_qubits, 1, "w", rotations=("rx",), entangler="cz", ring=ring)
    assert [op.qubits for op in circuit if op.name == "cz"] == pairs
    assert [op.name for op in circuit if op.num_qubits == 1] == ["rx"] * num_qubits


def test_hardware_efficient_ansatz_matches_pennylane():
    rng = np.random.default_rng(7)
    n, layers = 4, 3
    w = rng.uniform(-np.pi, np.pi, (layers, n, 2))

    def qfunc():
        for layer in range(layers):
            for i in range(n):
                qp.RY(w[layer, i, 0], wires=i)
                qp.RZ(w[layer, i, 1], wires=i)
            for i in range(n):
                qp.CNOT(wires=[i, (i + 1) % n])

    ours = our_state(hardware_efficient_ansatz(n, layers, "w"), {"w": w.reshape(-1)})
    np.testing.assert_allclose(ours, pennylane_state(n, qfunc), atol=ATOL)


# -- strongly_entangling_layers -----------------------------------------------------------


@pytest.mark.parametrize(
    ("num_qubits", "num_layers", "ranges", "entangler"),
    [
        (1, 2, None, "cx"),
        (2, 2, None, "cx"),
        (3, 4, None, "cx"),  # default ranges 1, 2, 1, 2
        (4, 5, None, "cx"),  # default ranges 1, 2, 3, 1, 2
        (5, 3, (2, 4, 7), "cx"),  # 7 wraps to 2
        (4, 2, None, "cz"),
    ],
)
def test_strongly_entangling_layers_matches_pennylane(num_qubits, num_layers, ranges, entangler):
    rng = np.random.default_rng(num_qubits * 100 + num_layers)
    weights = rng.uniform(0, 2 * np.pi, (num_layers, num_qubits, 3))
    imprimitive = {"cx": qp.CNOT, "cz": qp.CZ}[entangler]

    def qfunc():
        qp.StronglyEntanglingLayers(weights, wires=range(num_qubits), ranges=ranges, imprimitive=imprimitive)

    circuit = strongly_entangling_layers(num_qubits, num_layers, "w", ranges=ranges, entangler=entangler)
    ours = our_state(circuit, {"w": weights.reshape(-1)})
    np.testing.assert_allclose(ours, pennylane_state(num_qubits, qfunc), atol=ATOL)


def test_strongly_entangling_layers_rot_order_and_default_ranges():
    circuit = strongly_entangling_layers(3, 2, ParameterVector("w", 18))
    assert gates(circuit)[:3] == [("rz", (0,), ("w[0]",)), ("ry", (0,), ("w[1]",)), ("rz", (0,), ("w[2]",))]
    cnots = [op.qubits for op in circuit if op.name == "cx"]
    assert cnots == [(0, 1), (1, 2), (2, 0), (0, 2), (1, 0), (2, 1)]


# -- re-uploading templates ---------------------------------------------------------------


def test_reuploading_hea_is_the_benchmark_workload():
    n, layers = 5, 4
    circuit = reuploading_hea(n, layers, ParameterVector("x", n), ParameterVector("w", 2 * n * layers))
    assert len(circuit) == 4 * n * layers
    assert circuit.parameters == {"w": 2 * n * layers, "x": n}
    rng = np.random.default_rng(3)
    x, w = rng.uniform(-np.pi, np.pi, n), rng.uniform(-np.pi, np.pi, (layers, n, 2))

    def qfunc():
        for layer in range(layers):
            for i in range(n):
                qp.RY(x[i], wires=i)
            for i in range(n):
                qp.RY(w[layer, i, 0], wires=i)
                qp.RZ(w[layer, i, 1], wires=i)
            for i in range(n):
                qp.CNOT(wires=[i, (i + 1) % n])

    ours = our_state(circuit, {"x": x, "w": w.reshape(-1)})
    np.testing.assert_allclose(ours, pennylane_state(n, qfunc), atol=ATOL)


def test_data_reuploading_layout_with_input_scaling():
    circuit = data_reuploading(2, 2, "x", "w", rotations=("ry",), entangler="cx", input_scaling="s")
    assert circuit.parameters == {"s": 4, "w": 4, "x": 2}
    assert gates(circuit) == [
        ("ry", (0,), ("s[0]*x[0]",)),
        ("ry", (1,), ("s[1]*x[1]",)),
        ("ry", (0,), ("w[0]",)),
        ("ry", (1,), ("w[1]",)),
        ("cx", (0, 1), ()),
        ("ry", (0,), ("s[2]*x[0]",)),
        ("ry", (1,), ("s[3]*x[1]",)),
        ("ry", (0,), ("w[2]",)),
        ("ry", (1,), ("w[3]",)),
        ("cx", (0, 1), ()),
    ]


def test_data_reuploading_matches_pennylane():
    n, layers = 3, 2
    rng = np.random.default_rng(11)
    x, w = rng.uniform(-np.pi, np.pi, n), rng.uniform(-np.pi, np.pi, (layers, n, 3))
    s = rng.uniform(0.5, 2.0, (layers, n))

    def qfunc():
        for layer in range(layers):
            for i in range(n):
                qp.RY(s[layer, i] * x[i], wires=i)
            for i in range(n):
                qp.Rot(*w[layer, i], wires=i)
            for i in range(n):
                qp.CZ(wires=[i, (i + 1) % n])

    circuit = data_reuploading(n, layers, "x", "w", input_scaling="s")
    ours = our_state(circuit, {"x": x, "w": w.reshape(-1), "s": s.reshape(-1)})
    np.testing.assert_allclose(ours, pennylane_state(n, qfunc), atol=ATOL)


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: angle_encoding(2.0, "x"), TypeError, r"num_qubits must be an int >= 1, got 2\.0 \(float\)"),
        (lambda: angle_encoding(True, "x"), TypeError, r"num_qubits must be an int >= 1, got True"),
        (lambda: angle_encoding(0, "x"), ValueError, r"num_qubits must be an int >= 1, got 0"),
        (lambda: hardware_efficient_ansatz(2, -1, "w"), ValueError, r"num_layers must be an int >= 1, got -1"),
        (
            lambda: angle_encoding(3, ParameterVector("x", 4)),
            ValueError,
            r"inputs ParameterVector 'x' must have num_qubits = 3 entries, got 4\. "
            r"Create it as ParameterVector\('x', 3\)",
        ),
        (
            lambda: strongly_entangling_layers(4, 2, ParameterVector("w", 16)),
            ValueError,
            r"weights ParameterVector 'w' must have num_layers \* num_qubits \* 3 = 2 \* 4 \* 3 = 24 entries, got 16",
        ),
        (
            lambda: reuploading_hea(3, 2, "x", ParameterVector("w", 6)),
            ValueError,
            r"must have num_layers \* num_qubits \* 2 = 2 \* 3 \* 2 = 12 entries, got 6",
        ),
        (
            lambda: data_reuploading(2, 1, "x", "w", input_scaling=ParameterVector("s", 3)),
            ValueError,
            r"input_scaling ParameterVector 's' must have num_layers \* num_qubits = 1 \* 2 = 2 entries, got 3",
        ),
        (lambda: angle_encoding(2, [0.1, 0.2]), TypeError, r"inputs must be a ParameterVector \(or a name"),
        (lambda: angle_encoding(2, "x", rotation="rot"), ValueError, r"rotation must be one of \['rx', 'ry', 'rz'\]"),
        (
            lambda: hardware_efficient_ansatz(2, 1, "w", rotations="ry"),
            TypeError,
            r"rotations must be a sequence of gate names",
        ),
        (lambda: hardware_efficient_ansatz(2, 1, "w", rotations=()), ValueError, r"rotations needs at least one"),
        (lambda: hardware_efficient_ansatz(2, 1, "w", entangler="swap"), ValueError, r"entangler must be one of"),
        (lambda: reuploading_hea(2, 1, "x", "x"), ValueError, r"need distinct names, got \['x', 'x'\]"),
        (
            lambda: strongly_entangling_layers(3, 2, "w", ranges=(1,)),
            ValueError,
            r"ranges needs one int per layer: expected 2, got 1",
        ),
        (
            lambda: strongly_entangling_layers(3, 2, "w", ranges=(1, 6)),
            ValueError,
            r"ranges must not be multiples of num_qubits=3 .* got \[6\]",
        ),
        (lambda: strongly_entangling_layers(3, 1, "w", ranges=2), TypeError, r"ranges must be a sequence of 1 ints"),
    ],
)
def test_invalid_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match):
        call()
