"""NoiseModel: where channels go (Aer's rules), what a mismatched model does (warns, documented), readout errors."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from circuits import Channel, Circuit, NoiseModel, ParameterVector, ReadoutError
from circuits.errors import GateArityError, InvalidChannelError, NoiseModelWarning, UnknownGateError
from circuits.noise import apply_readout_errors


def _names(circuit: Circuit) -> list[tuple[str, tuple[int, ...]]]:
    return [(op.name, op.qubits) for op in circuit]


def test_channels_follow_their_gates_and_specific_rules_replace_all_qubit_rules() -> None:
    model = (
        NoiseModel()
        .add_all_qubit_error(Channel.depolarizing(0.01), ["x", "sx"])
        .add_all_qubit_error(Channel.depolarizing(0.02, num_qubits=2), "cx")
        .add_error([Channel.amplitude_damping(0.1), Channel.phase_flip(0.05)], "cx", (1, 0))
    )
    circuit = Circuit(2).x(0).cx(0, 1).cx(1, 0).sx(1)
    assert _names(model.apply(circuit)) == [
        ("x", (0,)),
        ("depolarizing", (0,)),
        ("cx", (0, 1)),
        ("depolarizing", (0, 1)),  # the all-qubit rule
        ("cx", (1, 0)),
        ("amplitude_damping", (1,)),  # the specific rule replaces it; one-qubit channels on each qubit
        ("amplitude_damping", (0,)),
        ("phase_flip", (1,)),
        ("phase_flip", (0,)),
        ("sx", (1,)),
        ("depolarizing", (1,)),
    ]


def test_adding_to_a_rule_appends_and_models_are_immutable() -> None:
    base = NoiseModel().add_all_qubit_error(Channel.bit_flip(0.1), "x")
    more = base.add_all_qubit_error(Channel.phase_flip(0.2), "x")
    assert _names(base.apply(Circuit(1).x(0))) == [("x", (0,)), ("bit_flip", (0,))]
    assert _names(more.apply(Circuit(1).x(0))) == [("x", (0,)), ("bit_flip", (0,)), ("phase_flip", (0,))]
    assert base != more and base == NoiseModel().add_all_qubit_error(Channel.bit_flip(0.1), ["x"])
    assert hash(base) == hash(NoiseModel().add_all_qubit_error(Channel.bit_flip(0.1), "x"))
    assert NoiseModel().is_empty and not base.is_empty


def test_symbolic_noise_strengths_become_circuit_parameters() -> None:
    p = ParameterVector("p", 1)
    model = NoiseModel().add_all_qubit_error(Channel.depolarizing(p[0]), "h")
    noisy = model.apply(Circuit(1).h(0))
    assert noisy.parameters == {"p": 1}
    with pytest.raises(InvalidChannelError, match=r"got 2\.0"):
        noisy.bind({"p": [2.0]})


def test_gates_without_rules_warn_and_ideal_gates_do_not() -> None:
    model = NoiseModel(ideal_gates=["rz"]).add_all_qubit_error(Channel.depolarizing(0.01), ["sx", "x"])
    with pytest.warns(
        NoiseModelWarning, match=r"gates \['ry'\] have no rule in the noise model: they run without noise"
    ):
        model.apply(Circuit(1).rz(0.1, 0).sx(0).ry(0.2, 0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model.apply(Circuit(1).rz(0.1, 0).sx(0))  # rz is ideal on purpose
        model.apply(Circuit(1).ry(0.1, 0), warn=False)
        NoiseModel().add_readout_error([[0.9, 0.1], [0.1, 0.9]]).apply(Circuit(1).ry(0.1, 0))  # readout only


def test_a_model_naming_gates_and_qubits_the_circuit_lacks_is_fine_but_uncovered_qubits_warn() -> None:
    # a device's model: cx on its coupling map, qubits beyond the circuit
    model = (
        NoiseModel()
        .add_all_qubit_error(Channel.depolarizing(0.01), ["sx", "x", "h"])
        .add_error(Channel.depolarizing(0.02, 2), "cx", (0, 1))
        .add_error(Channel.depolarizing(0.02, 2), "cx", (3, 4))
        .add_readout_error([[0.9, 0.1], [0.2, 0.8]], 4)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        noisy = model.apply(Circuit(2).sx(0).cx(0, 1))  # no h, no qubits 3-4: nothing to say
    assert len(noisy) == 4
    with pytest.warns(
        NoiseModelWarning, match=r"'cx' on qubits \[\(1, 0\)\] has no rule \(the model has 'cx' rules on"
    ):
        model.apply(Circuit(2).cx(1, 0))


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: NoiseModel().add_all_qubit_error(Channel.bit_flip(0.1), "measure"), UnknownGateError, "measure"),
        (lambda: NoiseModel().add_all_qubit_error(Channel.bit_flip(0.1), "bit_flip"), ValueError, "is a noise channel"),
        (lambda: NoiseModel().add_all_qubit_error(0.1, "x"), TypeError, r"takes a circuits.noise.Channel"),
        (lambda: NoiseModel().add_all_qubit_error(Channel.depolarizing(0.1, 2), "x"), ValueError, "cannot follow 'x'"),
        (lambda: NoiseModel().add_error(Channel.bit_flip(0.1), "cx", (0,)), ValueError, r"'cx' acts on 2 qubit"),
        (lambda: NoiseModel().add_error(Channel.bit_flip(0.1), "x", (0, 0)), ValueError, "repeated qubits"),
        (lambda: NoiseModel(ideal_gates=["foo"]), UnknownGateError, "'foo'"),
        (lambda: Channel.bit_flip(1.5), InvalidChannelError, r"got 1.5"),
        (lambda: Channel.depolarizing(0.1, num_qubits=3), GateArityError, r"1 or 2 qubit"),
        (lambda: Channel("nope"), ValueError, "Unknown noise channel 'nope'"),
        (lambda: ReadoutError([[0.9, 0.2], [0.1, 0.9]]), ValueError, r"sums to 1; got rows summing to \[1.1"),
        (lambda: ReadoutError([[1.1, -0.1], [0.0, 1.0]]), ValueError, r"must be in \[0, 1\]"),
        (lambda: ReadoutError(np.eye(4)), ValueError, r"2 x 2 matrix .* got shape \(4, 4\)"),
    ],
)
def test_bad_noise_models_are_refused(build, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        build()


def test_readout_errors_are_per_qubit_with_an_all_qubit_default() -> None:
    a = np.array([[0.9, 0.1], [0.2, 0.8]])
    b = np.array([[0.97, 0.03], [0.05, 0.95]])
    model = NoiseModel().add_readout_error(a).add_readout_error(ReadoutError(b), [1])
    assert model.has_readout_errors
    matrices = model.readout_matrices([0, 1, 2])
    np.testing.assert_array_equal(matrices[0], a)
    np.testing.assert_array_equal(matrices[1], b)
    probs = torch.tensor(np.random.default_rng(0).dirichlet(np.ones(8), size=3))
    recorded = apply_readout_errors(probs, matrices)
    expected = probs.numpy() @ np.kron(np.kron(a, b), a)  # qubit 0 most significant
    np.testing.assert_allclose(recorded.numpy(), expected, atol=1e-14)
    np.testing.assert_allclose(recorded.sum(1).numpy(), 1.0, atol=1e-14)
    assert apply_readout_errors(probs, [None, None, None]) is probs
