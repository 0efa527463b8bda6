"""Parameter-shift gradients (circuits.gradients) against torch autograd, and the shift rules themselves."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from circuits import Expectation, Probabilities, TorchBackend, X, Y, Z
from circuits.backend import bind_parameters
from circuits.gradients import in_training_step, parameter_shift_run, shift_rule, training_step
from circuits.testing import random_circuit


class _CountingExecutor:
    """A non-differentiable executor: TorchBackend under no_grad, counting its calls."""

    def __init__(self) -> None:
        self.backend = TorchBackend(dtype=torch.complex128)
        self.calls = 0
        self.rows: list[int] = []
        self.gradient_rows: list[int] = []

    def __call__(self, circuit, values, batch_size, measurement, **eager):
        self.calls += 1
        self.rows.append(batch_size)
        self.gradient_rows.append(eager.get("gradient_rows"))
        with torch.no_grad():
            return self.backend._run(circuit, values, batch_size, measurement, None)


def test_two_term_rule_for_single_frequency():
    assert shift_rule((1.0,)) == ((0.5, math.pi / 2), (-0.5, -math.pi / 2))


def test_four_term_rule_for_controlled_rotations():
    """Frequencies {1/2, 1}: the rule of Wierichs et al. (2022), eq. (31), for controlled rotations."""
    rule = dict((round(s, 12), c) for c, s in shift_rule((0.5, 1.0)))
    c_plus = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
    c_minus = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
    assert rule[round(math.pi / 2, 12)] == pytest.approx(c_plus, abs=1e-12)
    assert rule[round(3 * math.pi / 2, 12)] == pytest.approx(-c_minus, abs=1e-12)


@pytest.mark.parametrize("frequencies", [(1.0,), (0.5, 1.0), (1.0, 2.0, 3.0), (0.3, 1.7), (0.25, 0.9, 2.2)])
def test_shift_rules_differentiate_trigonometric_polynomials_exactly(frequencies):
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=len(frequencies)), rng.normal(size=len(frequencies))

    def f(theta: float) -> float:
        return float(
            sum(ai * np.cos(w * theta) + bi * np.sin(w * theta) for ai, bi, w in zip(a, b, frequencies, strict=True))
        )

    def df(theta: float) -> float:
        return float(
            sum(
                w * (-ai * np.sin(w * theta) + bi * np.cos(w * theta))
                for ai, bi, w in zip(a, b, frequencies, strict=True)
            )
        )

    for theta in (0.0, 0.7, -2.1):
        shifted = sum(c * f(theta + s) for c, s in shift_rule(frequencies))
        assert shifted == pytest.approx(df(theta), abs=1e-10)


def test_no_frequencies_means_no_dependence():
    assert shift_rule(()) == ()


@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_parameter_shift_equals_autograd_with_one_call_per_backward(seed):
    circuit = random_circuit(3, depth=8, seed=seed, parameter_name="theta")
    rng = np.random.default_rng(seed)
    theta = torch.tensor(rng.uniform(-np.pi, np.pi, size=(2, circuit.parameters["theta"])), requires_grad=True)
    measurement = Expectation((Z(0), X(1) @ Y(2), 0.5 * Z(2) + 0.1))
    executor = _CountingExecutor()
    values, batch = bind_parameters(circuit, {"theta": theta}, dtype=torch.float64)
    shifted = parameter_shift_run(executor, circuit, values, batch, measurement)
    assert executor.calls == 1
    weights = torch.tensor([[1.0, -2.0, 0.5], [0.3, 0.2, -1.0]], dtype=torch.float64)
    (grad_shift,) = torch.autograd.grad((shifted * weights).sum(), theta)
    assert executor.calls == 2, "the backward pass must evaluate every shifted circuit in one call"

    exact = TorchBackend(dtype=torch.complex128).run(circuit, {"theta": theta}, measurement=measurement)
    torch.testing.assert_close(shifted, exact, atol=1e-12, rtol=0)
    (grad_auto,) = torch.autograd.grad((exact * weights).sum(), theta)
    torch.testing.assert_close(grad_shift, grad_auto, atol=1e-9, rtol=0, msg=f"seed={seed}")


def test_parameter_shift_through_probabilities_and_shared_weights():
    circuit = random_circuit(2, depth=6, seed=4, parameter_name="w")
    w = torch.linspace(-1, 1, circuit.parameters["w"], dtype=torch.float64, requires_grad=True)
    measurement = Probabilities((1, 0))
    executor = _CountingExecutor()
    values, batch = bind_parameters(circuit, {"w": w}, dtype=torch.float64)
    probs = parameter_shift_run(executor, circuit, values, batch, measurement)
    (g_shift,) = torch.autograd.grad(probs[0, 1] - probs[0, 2], w)
    exact = TorchBackend(dtype=torch.complex128).run(circuit, {"w": w}, measurement=measurement)
    (g_auto,) = torch.autograd.grad(exact[0, 1] - exact[0, 2], w)
    torch.testing.assert_close(g_shift, g_auto, atol=1e-10, rtol=0)


def _eager_case():
    circuit = random_circuit(3, depth=8, seed=4, parameter_name="theta")
    theta = torch.tensor(
        np.random.default_rng(4).uniform(-np.pi, np.pi, size=(2, circuit.parameters["theta"])), requires_grad=True
    )
    measurement = Expectation((Z(0), X(1) @ Y(2)))
    values, batch = bind_parameters(circuit, {"theta": theta}, dtype=torch.float64)
    return circuit, theta, measurement, values, batch


def test_eager_parameter_shift_is_one_call_per_training_step():
    """Inside ``training_step`` an eager backend sends forward and all shifted circuits in one call."""
    circuit, theta, measurement, values, batch = _eager_case()
    lazy, eager = _CountingExecutor(), _CountingExecutor()
    out_lazy = parameter_shift_run(lazy, circuit, values, batch, measurement)
    with training_step():
        out_eager = parameter_shift_run(eager, circuit, values, batch, measurement, eager=True)
        assert eager.calls == 1 and eager.rows[0] > batch  # the shifted bindings rode along
        assert eager.gradient_rows == [eager.rows[0] - batch]  # and the backend is told which rows they are
        (grad_eager,) = torch.autograd.grad(out_eager.sum(), theta)
    (grad_lazy,) = torch.autograd.grad(out_lazy.sum(), theta)
    assert eager.calls == 1 and lazy.calls == 2
    assert lazy.gradient_rows == [None, None]  # a plain executor is never handed the keyword
    torch.testing.assert_close(out_eager, out_lazy, atol=1e-12, rtol=0)
    torch.testing.assert_close(grad_eager, grad_lazy, atol=1e-12, rtol=0)
    exact = TorchBackend(dtype=torch.complex128).run(circuit, {"theta": theta}, measurement=measurement)
    (grad_auto,) = torch.autograd.grad(exact.sum(), theta)
    torch.testing.assert_close(grad_eager, grad_auto, atol=1e-9, rtol=0)


def test_an_eager_forward_outside_a_training_step_sends_no_shifted_circuit():
    """A prediction with weights that require grad (eval mode, no ``torch.no_grad()``): forward circuits only."""
    circuit, theta, measurement, values, batch = _eager_case()
    executor = _CountingExecutor()
    out = parameter_shift_run(executor, circuit, values, batch, measurement, eager=True)
    assert executor.rows == [batch] and executor.gradient_rows == [0]
    (grad,) = torch.autograd.grad(out.sum(), theta)  # a backward that does follow sends the shifted ones, once
    assert executor.calls == 2 and executor.gradient_rows[1] == executor.rows[1] > batch
    assert bool(grad.abs().sum() > 0)


def test_a_training_step_forward_without_backward_has_paid_for_its_shifted_circuits():
    """Documented cost of marking a step that never calls backward: the shifted circuits went out anyway."""
    circuit, _, measurement, values, batch = _eager_case()
    executor = _CountingExecutor()
    with training_step():
        parameter_shift_run(executor, circuit, values, batch, measurement, eager=True)
    assert executor.calls == 1 and executor.rows[0] > batch and executor.gradient_rows[0] == executor.rows[0] - batch


def test_training_step_nests_and_resets_on_errors():
    assert not in_training_step()
    with training_step():
        with training_step():
            assert in_training_step()
        assert in_training_step()
    assert not in_training_step()
    with pytest.raises(RuntimeError, match="boom"), training_step():
        raise RuntimeError("boom")
    assert not in_training_step()


def test_no_grad_and_constant_values_never_shift_even_in_a_training_step():
    circuit, _, measurement, values, batch = _eager_case()
    executor = _CountingExecutor()
    with training_step(), torch.no_grad():
        parameter_shift_run(executor, circuit, values, batch, measurement, eager=True)
    detached = {k: v.detach() for k, v in values.items()}
    with training_step():
        parameter_shift_run(executor, circuit, detached, batch, measurement, eager=True)
    assert executor.rows == [batch, batch] and executor.gradient_rows == [0, 0]


def test_a_plain_four_argument_executor_still_works():
    """Backends written against the plain ``Execute`` signature (docs/extending.md) are unaffected."""
    circuit, theta, measurement, values, batch = _eager_case()
    engine = TorchBackend(dtype=torch.complex128)

    def plain(circuit, values, batch_size, measurement):
        with torch.no_grad():
            return engine._run(circuit, values, batch_size, measurement, None)

    with training_step():
        out = parameter_shift_run(plain, circuit, values, batch, measurement)
        (grad,) = torch.autograd.grad(out.sum(), theta)
    assert bool(grad.abs().sum() > 0)
